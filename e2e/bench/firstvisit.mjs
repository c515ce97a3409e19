#!/usr/bin/env node
// A first-time shopper on a slow mobile link: the page is opened in a fresh
// Chromium profile through a loopback link of 20 Mbit/s and 40 ms round
// trips (e2e/lib/throttle.mjs: every request of the page, its engine worker
// and its service worker shares it), a photo is chosen the moment the page
// has loaded, and we time navigation → first results. Then the same shopper
// comes back (same profile: service worker + Cache Storage) and searches
// again. Prints one JSON piece (see collect.mjs):
//
//   node e2e/bench/firstvisit.mjs [--assets DIR] [--full-assets DIR] [--mbit 20] [--rtt 40]
//
//   first_results_ms_20mbit_3k     navigation start → #results[data-state=results]
//   first_visit_bytes_3k           bytes on the link until then (headers + encoded bodies)
//   repeat_results_ms_20mbit_3k    the next visit: navigation → results
//   repeat_visit_bytes_3k          bytes on the link for it
//   model_response_end_ms_20mbit_3k  when the model's last byte crossed the link
//                                  (ms after navigation): proof the engine
//                                  worker's fetches are throttled
//   vectors_response_end_ms_20mbit_3k  when the vector file (fetched after the
//                                  first results) was in: later searches exact
//   background_bytes_3k            bytes on the link after the first results
//                                  until it was quiet (thumbnails, LATER files)
//   …_40k                          the same on the full catalogue, when its
//                                  assets exist (--full-assets, default .cache/full-assets)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from '../ref/common.mjs';
import { report, round } from './bench_common.mjs';
import { buildFixture, readCatalog } from '../lib/fixture.mjs';
import { startServe } from '../lib/server.mjs';
import { startThrottle } from '../lib/throttle.mjs';
import { launchPersistent } from '../lib/browser.mjs';
import { repoRoot } from '../lib/paths.mjs';

const USAGE = 'usage: node e2e/bench/firstvisit.mjs [--assets DIR] [--full-assets DIR] [--mbit 20] [--rtt 40] [--only 3k|40k]';
const { opts } = parseArgs(process.argv.slice(2),
  { assets: '', 'full-assets': path.join(repoRoot(), '.cache', 'full-assets'), mbit: 20, rtt: 40, only: '' }, USAGE);
const log = (s) => process.stderr.write(`first-visit bench: ${s}\n`);

// In the page: ms since navigation start when results were first shown.
const INIT = () => {
  window.__fv = { results: [] };
  new MutationObserver((muts) => {
    for (const m of muts) {
      if (m.target.id === 'results' && m.target.dataset.state === 'results') {
        requestAnimationFrame(() => window.__fv.results.push(performance.now()));
      }
    }
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-state'] });
};

/** One visit: navigate, choose the photo as soon as the input exists, wait for results. */
async function visit(page, url, photo, link) {
  link.reset();
  const t0 = performance.now();
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForSelector('#file-input', { state: 'attached', timeout: 120_000 });
  await page.setInputFiles('#file-input', photo);
  await page.waitForFunction(() => window.__fv.results.length > 0, null, { timeout: 600_000 });
  const inPage = await page.evaluate(() => window.__fv.results[0]);
  const bytes = link.bytes();
  const files = link.log.filter((e) => e.end > 0).map((e) => ({
    file: e.url.split('?')[0].split('/').pop(), bytes: e.bytes, encoding: e.encoding, status: e.status,
    end_ms: round(e.end - t0, 0),
  }));
  return { ms: inPage, bytes, files, acceptEncoding: link.log.find((e) => /assets\//.test(e.url))?.acceptEncoding || '' };
}

async function run(assets, photo, label) {
  const srv = await startServe({ assets });
  const link = await startThrottle(srv.url, { mbit: opts.mbit, rttMs: opts.rtt });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lookalike-fv-'));
  const ctx = await launchPersistent(profile, { viewport: { width: 390, height: 844 } });
  try {
    await ctx.addInitScript(INIT);
    const page = ctx.pages()[0] || await ctx.newPage();
    log(`${label}: first visit at ${opts.mbit} Mbit/s, ${opts.rtt} ms …`);
    const first = await visit(page, link.url, photo, link);
    // Let the background downloads (the vector file, the neighbours:
    // asset-plan.js LATER) and the cache writes finish: no request in
    // flight for 2 s (at most 60 s).
    const t0 = performance.now() - first.ms;
    for (let quiet = 0, i = 0; quiet < 20 && i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      quiet = link.log.some((e) => !(e.end > 0)) ? 0 : quiet + 1;
    }
    const vectors = link.log.find((e) => /\/vectors-[0-9a-f]+\.bin$/.test(e.url.split('?')[0]) && e.end > 0);
    first.vectorsEnd = vectors ? round(vectors.end - t0, 0) : null;
    first.laterBytes = link.bytes() - first.bytes;
    log(`${label}: first results after ${round(first.ms, 0)} ms, ${(first.bytes / 1e6).toFixed(1)} MB; repeat visit …`);
    const again = await visit(page, link.url, photo, link);
    log(`${label}: repeat results after ${round(again.ms, 0)} ms, ${(again.bytes / 1e6).toFixed(2)} MB`);
    const model = first.files.find((f) => /^model-/.test(f.file) && !/\.part[1-9]/.test(f.file));
    return { first, again, modelEnd: model ? model.end_ms : null, version: ctx.browser()?.version() || '' };
  } finally {
    await ctx.close();
    await link.stop();
    await srv.stop();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const metrics = {};
const detail = { link: `${opts.mbit} Mbit/s shared by every request, ${opts.rtt} ms round trip before each response's first byte (a loopback proxy in front of builder serve); fresh Chromium profile; the photo is chosen as soon as the page's file input exists; results = #results[data-state=results] and the next frame; viewport 390×844` };
const sets = [];
if (opts.only !== '40k') {
  let assets = opts.assets;
  let photo;
  if (!assets) {
    const fx = await buildFixture({ log: () => {} });
    assets = fx.assets;
    photo = fx.queries.find((q) => q.imagePath && fs.existsSync(q.imagePath)).imagePath;
  }
  sets.push({ label: '3k', assets, photo });
}
if (opts.only !== '3k' && fs.existsSync(path.join(opts['full-assets'], 'manifest.json'))) {
  const cat = readCatalog(path.join(repoRoot(), '..', 'shared', 'fashion', 'catalog.csv'));
  sets.push({ label: '40k', assets: opts['full-assets'], photo: sets[0]?.photo || cat[0].imagePath });
}
for (const s of sets) {
  const r = await run(s.assets, s.photo, s.label);
  metrics[`first_results_ms_20mbit_${s.label}`] = round(r.first.ms, 0);
  metrics[`first_visit_bytes_${s.label}`] = r.first.bytes;
  metrics[`repeat_results_ms_20mbit_${s.label}`] = round(r.again.ms, 0);
  metrics[`repeat_visit_bytes_${s.label}`] = r.again.bytes;
  if (r.modelEnd !== null) metrics[`model_response_end_ms_20mbit_${s.label}`] = r.modelEnd;
  if (r.first.vectorsEnd !== null) metrics[`vectors_response_end_ms_20mbit_${s.label}`] = r.first.vectorsEnd;
  metrics[`background_bytes_${s.label}`] = r.first.laterBytes;
  detail[`files_${s.label}`] = r.first.files;
  detail[`repeat_files_${s.label}`] = r.again.files;
  detail.accept_encoding = r.first.acceptEncoding;
  detail.browser = `Debian Chromium ${r.version}, headless`;
}
report(metrics, detail);
