// The vector file kept on disk (issue #16), in real headless Chromium. At a
// million products the vector file (273 MB) is more than the page's memory
// budget, so the engine worker streams it into the origin-private file
// system after the first results and re-scores every search's shortlist
// from records read back there (static/asset-plan.js DISK_MAX_BYTES). Here
// the 3,000-product fixture takes that path through the developer's knob
// localStorage 'lookalike.laterMaxBytes' = 1, and:
//   - searches after the file is stored rank as `builder query
//     --stored-vectors` (Go natively, reading the file on disk);
//   - a repeat visit reuses the stored copy without fetching it again;
//   - what goes over the network is the whole file, part by part, each
//     part once, whatever the photo: no request names a record.
//
//   cd e2e && node --test --test-concurrency=1 stored.test.mjs
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { buildFixture, readManifest } from './lib/fixture.mjs';
import { startServe, startRecordingProxy } from './lib/server.mjs';
import { launchChromium, collectErrors, waitReady, searchFile } from './lib/browser.mjs';
import { repoRoot } from './lib/paths.mjs';

let fx;
let srv;
let proxy;
let browser;
let ctx;
let page;
let pageErrors = [];
let vectorParts = []; // the vector file's part names, from the manifest

const STORED = /stored on this device/;
const ARTIFACTS = path.join(repoRoot(), 'e2e', 'artifacts');

before(async () => {
  fx = await buildFixture({ size: 3000, log: () => {} });
  const vec = readManifest(fx.assets).assets.find((a) => a.kind === 'vectors');
  assert.ok(vec, 'the fixture has no vector file');
  vectorParts = (vec.parts?.length ? vec.parts : [vec]).map((p) => p.file);
  srv = await startServe({ assets: fx.assets });
  proxy = await startRecordingProxy(srv.url);
  browser = await launchChromium();
  ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.addInitScript(() => {
    localStorage.setItem('lookalike.personal', 'off');
    localStorage.setItem('lookalike.laterMaxBytes', '1');
  });
  page = await ctx.newPage();
  pageErrors = collectErrors(page);
}, { timeout: 1_800_000 });

after(async () => {
  await ctx?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await proxy?.stop();
  await srv?.stop();
});

const vectorRequests = () => proxy.requests.filter((r) => /\/vectors-[0-9a-f]+\.bin(\.part\d+)?$/.test(r.url.split('?')[0]));
const engineInfo = () => page.$eval('#engine-info', (e) => e.textContent).catch(() => '');
const photo = () => fx.queries.find((r) => r.articleType === 'Watches' && fs.existsSync(r.imagePath));

async function waitStored() {
  await page.waitForFunction((re) => new RegExp(re).test(document.getElementById('engine-info')?.textContent || ''), STORED.source, { timeout: 180_000, polling: 200 });
}

test('the vector file goes to the private file system, and searches then rank as builder query --stored-vectors', { timeout: 600_000 }, async () => {
  await page.goto(proxy.url);
  await waitReady(page);
  const q = photo();
  const first = await searchFile(page, q.imagePath);
  assert.equal(first.error, '');
  await waitStored();
  assert.ok(await page.evaluate(async () => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('lookalike');
    const names = [];
    for await (const [n] of dir.entries()) names.push(n);
    return names.some((n) => /^vectors-[0-9a-f]+\.bin$/.test(n)) && names.some((n) => n.endsWith('.bin.done'));
  }), 'no finished vector file in the origin-private file system');
  const res = await searchFile(page, q.imagePath);
  assert.equal(res.error, '');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'stored-vectors-1280.png'), fullPage: true });
  const cli = JSON.parse(execFileSync('go', ['run', './builder', 'query', '--assets', fx.assets, '--stored-vectors', '--k', '24', q.imagePath],
    { cwd: repoRoot(), encoding: 'utf8', maxBuffer: 1 << 24 }).trim().split('\n').pop());
  assert.deepEqual(res.ids.slice(0, 10), cli.results.slice(0, 10).map((r) => r.id), 'top 10: page (records from its private file) vs builder query --stored-vectors');
  assert.deepEqual(vectorRequests().map((r) => r.url.split('/').pop()).sort(), vectorParts.slice().sort(), 'each part of the vector file fetched once');
});

test('a repeat visit reuses the stored copy without fetching it again', { timeout: 300_000 }, async () => {
  const before = vectorRequests().length;
  await page.reload();
  await waitReady(page);
  const res = await searchFile(page, photo().imagePath);
  assert.equal(res.error, '');
  await waitStored();
  assert.equal(vectorRequests().length, before, 'the vector file was fetched again');
  assert.match(await engineInfo(), STORED);
});

test('no request carries the photo: GETs of whole files, no query strings or bodies', { timeout: 60_000 }, () => {
  const bad = [];
  for (const r of proxy.requests) {
    const u = new URL(r.url, proxy.url);
    if (!['GET', 'HEAD'].includes(r.method)) bad.push(`${r.method} ${r.url}`);
    if (r.bodyBytes.length) bad.push(`body of ${r.bodyBytes.length} B: ${r.url}`);
    if (u.search) bad.push(`query string: ${r.url}`);
    if (r.headers.range) bad.push(`range request: ${r.url} ${r.headers.range}`);
  }
  assert.deepEqual(bad, []);
  assert.deepEqual(pageErrors.filter((e) => !/Failed to load resource/.test(e)), [], 'page errors');
});
