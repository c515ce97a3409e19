// static/lookalike/card.js safeURL on the cases models/catalog tests SafeURL on
// (models/catalog/testdata/safeurl.json): the page, the embed and the
// builder apply one rule. (e2e/hardening.test.mjs checks it in Chromium.)
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { safeURL } from '../../static/lookalike/card.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { cases } = JSON.parse(fs.readFileSync(path.join(repo, 'models', 'catalog', 'testdata', 'safeurl.json'), 'utf8'));
const base = 'https://shop.example/products/1';

test('safeURL keeps what Go keeps, and only http(s) URLs come out', () => {
  assert.ok(cases.length >= 20);
  for (const [input, goOut, kept] of cases) {
    const got = safeURL(input, base);
    if (!kept) {
      assert.equal(got, '', `safeURL(${JSON.stringify(input)}) must refuse it`);
      continue;
    }
    if (input.trim() === '') { assert.equal(got, ''); continue; } // empty: no link
    assert.match(got, /^https?:\/\//, `safeURL(${JSON.stringify(input)}) = ${JSON.stringify(got)}`);
    assert.equal(got, new URL(goOut, base).href, `safeURL(${JSON.stringify(input)}) resolves as the browser resolves Go's ${JSON.stringify(goOut)}`);
  }
});

test('relative URLs resolve against the base; a non-http base gives nothing', () => {
  assert.equal(safeURL('/p/2', base), 'https://shop.example/p/2');
  assert.equal(safeURL('p/2', 'file:///srv/page.html'), '');
});
