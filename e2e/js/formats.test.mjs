// The browser's asset readers against Go's golden assets (issue 13: Go owns
// every format and ranking rule). models/jsformat writes the golden folder
// with the real Go writers and, in expected.json, what the Go readers
// decode from it and the carousel's answers (search.Engine.SimilarFromLists);
// these tests run the JavaScript on the same bytes:
//
//   static/asset-plan.js       assetFiles (manifest parts), indexTail (the index parts the page skips)
//   static/lookalike/assets.js the catalogue, thumbnail references, neighbours (uint16 scores),
//                              vectors (int8 and float32), CF rows (binary16), the "more like this"
//                              rule, and the carousel's blend through similar() over HTTP-like reads
//
//   node --test e2e/js/
//
// A Go change regenerates the fixture (go test ./models/jsformat -update);
// a reader that does not follow fails here.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../lib/paths.mjs';

const dir = path.join(repoRoot(), 'models', 'jsformat', 'testdata', 'golden');
const want = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
const read = (f) => new Uint8Array(fs.readFileSync(path.join(dir, f)));
const manifestJSON = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));

// The golden folder served as https://golden.test/<manifest>/: manifest.json
// there is that manifest file, every other name a file of the folder;
// Range requests are answered 206 with just those bytes. Every request is
// recorded.
const requests = [];
globalThis.fetch = async (url, init = {}) => {
  const u = new URL(url);
  const [, which, name] = /^\/([^/]+)\/(.+)$/.exec(u.pathname) || [];
  requests.push({ url: u.href, range: init.headers?.Range || '' });
  const file = name === 'manifest.json' ? which : decodeURIComponent(name);
  if (u.host !== 'golden.test' || !file || !fs.existsSync(path.join(dir, file))) return new Response('not found', { status: 404 });
  const b = read(file);
  const m = /^bytes=(\d+)-(\d+)$/.exec(init.headers?.Range || '');
  if (m) return new Response(b.subarray(Number(m[1]), Number(m[2]) + 1), { status: 206 });
  return new Response(b, { status: 200 });
};
globalThis.self = globalThis; // engine-worker.js sets self.onmessage when imported
const A = await import('../../static/lookalike/assets.js');
const W = await import('../../static/engine-worker.js');
const P = await import('../../static/asset-plan.js');

const near = (got, exp, what, tol = 1e-6) => assert.ok(Math.abs(got - exp) <= tol, `${what}: ${got}, Go says ${exp}`);
const nearRows = (got, exp, what, tol) => {
  assert.equal(got.length, exp.length, `${what}: ${got.length} entries, Go has ${exp.length}`);
  got.forEach((g, i) => {
    assert.equal(g[0], exp[i][0], `${what}[${i}]: item ${g[0]}, Go says ${exp[i][0]}`);
    near(g[1], exp[i][1], `${what}[${i}] score`, tol);
  });
};
/** An asset's bytes, its parts joined in manifest order (JS filesOf). */
const assetBytes = (kind) => {
  const a = manifestJSON.assets.find((x) => x.kind === kind);
  return new Uint8Array(Buffer.concat(A.filesOf(a).map((p) => read(p.file))));
};

test('manifest: each kind\'s files, the first asset of a kind, the index parts the page fetches', async () => {
  const files = P.assetFiles(manifestJSON);
  assert.deepEqual(files, want.files);
  assert.deepEqual(P.indexTail(manifestJSON, files.index, (await W.formats).INDEX_NODE), want.index_tail);
  // The embed's reader of the same rule.
  for (const a of manifestJSON.assets.filter((x, i, all) => all.findIndex((y) => y.kind === x.kind) === i)) {
    assert.deepEqual(A.filesOf(a).map((p) => p.file), want.files[a.kind].map((p) => p.file), a.kind);
  }
  // Only the format Go writes: no aliases.
  assert.deepEqual(P.assetFiles({ files: { model: { file: 'm', sha256: 'a'.repeat(64) } } }), {});
  assert.throws(() => P.assetFiles({ assets: [{ kind: 'model', path: 'm', hash: 'a'.repeat(64) }] }), /no file name/);
});

test('catalogue: items, dictionary columns, thumbnail references and patterns', () => {
  const base = 'https://golden.test/manifest.json/';
  const check = (cat, items) => {
    assert.equal(cat.count, items.length);
    items.forEach((w, i) => {
      const it = cat.item(i);
      assert.equal(cat.byId.get(w.id), i);
      for (const k of ['id', 'title', 'url', 'price', 'currency', 'section']) assert.equal(it[k], w[k], `item ${i} ${k}`);
      if (!w.thumb) return assert.equal(it.thumb, null, `item ${i} thumb`);
      assert.equal(it.thumb.url, new URL(w.thumb.file, base).href, `item ${i} thumb url`);
      assert.deepEqual([it.thumb.x, it.thumb.y, it.thumb.w, it.thumb.h], w.thumb.tile ? [w.thumb.x || 0, w.thumb.y || 0, w.thumb.w, w.thumb.h] : [undefined, undefined, undefined, undefined], `item ${i} tile`);
    });
  };
  const catFile = manifestJSON.assets.find((a) => a.kind === 'catalog').file;
  check(A.parseCatalog(JSON.parse(fs.readFileSync(path.join(dir, catFile), 'utf8')), base), want.catalog);
  check(A.parseCatalog(JSON.parse(fs.readFileSync(path.join(dir, want.catalog_pattern.file), 'utf8')), base), want.catalog_pattern.items);
  for (const r of want.thumb_refs) {
    const t = A.parseThumb(r.ref, base);
    if (!r.ref) { assert.equal(t, null); continue; }
    assert.equal(t.url, new URL(r.file, base).href, r.ref);
    assert.deepEqual([t.x, t.y, t.w, t.h], r.tile ? [r.x || 0, r.y || 0, r.w, r.h] : [undefined, undefined, undefined, undefined], r.ref);
  }
});

test('neighbours: header, both lists, empty slots, dequantised scores', () => {
  const b = assetBytes('neighbors');
  const h = A.neighborsHeader(b);
  assert.deepEqual([h.count, h.k, h.lists], [want.neighbors.count, want.neighbors.k, want.neighbors.lists]);
  want.neighbors.items.forEach((w, i) => {
    const r = A.neighborsRecord(h, b.subarray(32 + i * h.record, 32 + (i + 1) * h.record));
    nearRows(r.section, w.Section, `item ${i} section list`);
    nearRows(r.global, w.Global, `item ${i} global list`);
  });
  const bad = b.slice(0, 32);
  bad[4] = 2; // another version
  assert.throws(() => A.neighborsHeader(bad), /not a Lookalike/);
});

test('vectors: int8 with padding and float32 records at unit length', () => {
  for (const [w, b] of [[want.vectors, assetBytes('vectors')], [want.vectors_float32, read(want.vectors_float32.file)]]) {
    const h = A.vectorsHeader(b);
    assert.deepEqual([h.count, h.dim, h.int8], [w.count, w.dim, w.int8]);
    assert.equal(b.length, 32 + h.count * h.record, 'record size');
    w.items.forEach((v, i) => {
      const got = A.vectorRecord(h, b.subarray(32 + i * h.record, 32 + (i + 1) * h.record));
      v.forEach((x, c) => near(got[c], x, `${w.int8 ? 'int8' : 'float32'} vector ${i}[${c}]`));
    });
  }
});

test('CF: rows and binary16 scores, exactly', () => {
  for (const [w, b] of [[want.cf, assetBytes('cf')], [want.cf_edges, read(want.cf_edges.file)]]) {
    const h = A.cfHeader(b);
    assert.deepEqual([h.count, h.k], [w.count, w.k]);
    w.rows.forEach((row, i) => {
      const got = [...A.cfRecord(h, b.subarray(16 + i * h.k * 6, 16 + (i + 1) * h.k * 6))];
      assert.deepStrictEqual(got, row, `CF row ${i}`);
    });
  }
});

test('"more like this": the list rule of models/vecfile/testdata/similar-rule.json', () => {
  const f = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'models', 'vecfile', 'testdata', 'similar-rule.json'), 'utf8'));
  const names = { 0: 'section', 1: 'global' };
  for (const q of f.queries) {
    const c = A.chooseList(q.lists, f.sections[q.item], q.section);
    const stored = c.list < 0 ? [] : (c.list ? f.global : f.section)[q.item];
    const got = stored.filter((j) => j !== 4294967295 && j !== q.item && (!c.only || f.sections[j] === c.only)).slice(0, q.k);
    const what = JSON.stringify({ item: q.item, section: q.section, k: q.k, lists: q.lists });
    assert.deepEqual(got, q.results, what);
    assert.equal(c.only ? (c.list < 0 ? 'section' : 'global, filtered by section') : names[c.list], q.list, what);
    assert.equal(!!c.only, q.can_be_short, what);
  }
});

test('the carousel: similar() gives search.Engine.SimilarFromLists\' order and blend scores (CF and taste terms)', async () => {
  for (const c of want.similar) {
    const base = `https://golden.test/${c.manifest}/`;
    const warnings = [];
    const got = await A.similar(base, c.product, c.count, c.section, c.personal, { warn: (m) => warnings.push(m) });
    assert.deepEqual(warnings, [], c.doc);
    assert.deepEqual(got.map((x) => x.id), c.results.map((r) => r[0]), `${c.doc}: order`);
    got.forEach((x, i) => near(x.score, c.results[i][1], `${c.doc}: score of ${x.id}`, 1e-5));
  }
  // Only ranged reads of per-item records (and the small whole files).
  const whole = requests.filter((r) => !r.range).map((r) => r.url.split('/').pop());
  assert.ok(whole.every((n) => n === 'manifest.json' || n.startsWith('catalog-')), `whole-file reads: ${whole}`);
});
