#!/usr/bin/env node
// The shopper's page in headless Chromium: load and search times, our
// engine's embed time against onnxruntime-web in the same browser, memory.
// Prints one JSON piece (see collect.mjs):
//
//   node e2e/bench/page.mjs [--assets DIR] [--full-assets DIR] [--runs 7] [--warmup 2]
//
//   page_ready_cold_ms     fresh profile: navigation start → body[data-state=ready]
//   page_ready_warm_ms     same profile, next navigations (service worker + Cache
//                          Storage); median of 3
//   drop_to_results_ms     'change' on #file-input → #results[data-state=results]
//                          and the next animation frame; median of 5 different photos
//   embed_chromium_ms      our engine's own ms.embed (preprocessed image → vector)
//                          reported by its worker, median of --runs after --warmup
//   ortweb_chromium_1t_ms  onnxruntime-web, wasm backend, SIMD, 1 thread, same model
//                          file, 1×3×224×224, median of --runs after --warmup
//   embed_chromium_cpu_ms, ortweb_chromium_1t_cpu_ms
//                          the same two, as CPU time of all Chromium processes per
//                          image over the timed runs (robust on a busy machine;
//                          10 ms resolution over the sum)
//   chromium_peak_mb       peak summed PSS of every Chromium process of this run
//                          (browser, GPU/utility, renderers), sampled every 100 ms
//                          from navigation to the last search
//   chromium_renderer_peak_mb  the same for renderer processes only (page,
//                          its engine worker and the service worker)
//   chromium_peak_mb_40k   chromium_peak_mb on the full catalogue, when an asset
//                          folder for it exists (--full-assets, default .cache/full-assets)
//   drop_to_results_stored_ms_1m, page_stored_after_ms_1m (--full-only --wait-stored)
//                          after the drops, wait until the vector file too big for
//                          memory is in the private file system (engine info line),
//                          then the same drops again, re-scored from it
//
// Without --assets the e2e fixture is built (3,000 catalogue items, 300
// held-out photos; see e2e/lib/fixture.mjs). Query photos are held-out rows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { parseArgs, fail, median } from '../ref/common.mjs';
import { report, round } from './bench_common.mjs';
import { buildFixture, readCatalog, assetFile } from '../lib/fixture.mjs';
import { startServe } from '../lib/server.mjs';
import { launchPersistent, waitReady } from '../lib/browser.mjs';
import { sampleMemory, chromiumCpuMs } from '../lib/procmem.mjs';
import { repoRoot, sharedDir } from '../lib/paths.mjs';

const USAGE = 'usage: node e2e/bench/page.mjs [--assets DIR] [--queries CSV] [--full-assets DIR] [--full-only [--wait-stored]] [--suffix _40k] [--runs 7] [--warmup 2]';
const { opts } = parseArgs(process.argv.slice(2),
  { assets: '', queries: '', 'full-assets': path.join(repoRoot(), '.cache', 'full-assets'), runs: 7, warmup: 2, 'full-only': false, 'wait-stored': false, suffix: '_40k' }, USAGE);
if (opts.runs < 5) fail('--runs must be at least 5');
const log = (s) => process.stderr.write(`page bench: ${s}\n`);
const MEMORY_NOTE = 'peaks of PSS (/proc smaps_rollup) sampled every 100 ms from the first navigation to the last search: chromium_peak_mb = all Chromium processes (browser, GPU, utility, zygotes, renderers); renderer = all renderer processes; page_renderer = the largest single renderer, the one holding the page, its engine worker and the service worker (the page\'s own memory, as Chrome\'s task manager shows it); chromium_idle_mb = the same Chromium on about:blank';

// Chromium can measure the page's and its workers' memory at once only on
// request (measureUserAgentSpecificMemory otherwise waits for a GC).
const ARGS = ['--enable-blink-features=ForceEagerMeasureMemory'];

let assets = opts.assets;
let photos;
if (!assets) {
  const fx = await buildFixture({ log: () => {} });
  assets = fx.assets;
  photos = fx.queries;
} else {
  const q = opts.queries || path.join(sharedDir(), 'fashion', 'catalog.csv');
  photos = readCatalog(q);
}
// Photos of different kinds, in a fixed order: one per articleType until enough.
function pickPhotos(rows, n) {
  const out = [];
  const types = new Set();
  for (const r of rows) {
    if (out.length === n) break;
    if (!r.imagePath || types.has(r.articleType) || !fs.existsSync(r.imagePath)) continue;
    types.add(r.articleType);
    out.push(r);
  }
  if (out.length < n) fail(`only ${out.length} usable photos`);
  return out;
}
const drops = pickPhotos(photos, 5);
const embedPhotos = pickPhotos(photos.slice().reverse(), opts.warmup + opts.runs);

// Timestamps inside the page (ms since navigation start), so the driver's
// own round trips are not counted.
const INIT = () => {
  window.__bench = { ready: [], change: [], results: [] };
  document.addEventListener('change', (e) => { if (e.target?.id === 'file-input') window.__bench.change.push(performance.now()); }, true);
  new MutationObserver((muts) => {
    for (const m of muts) {
      const t = m.target;
      if (t === document.body && t.dataset.state === 'ready' && !window.__bench.ready.length) window.__bench.ready.push(performance.now());
      if (t.id === 'results' && t.dataset.state === 'results') {
        requestAnimationFrame(() => window.__bench.results.push(performance.now()));
      }
    }
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-state'] });
};

async function pageLoad(page, url) {
  await page.goto(url);
  await waitReady(page);
  return page.evaluate(() => window.__bench.ready[0]);
}

async function dropTimes(page, rows) {
  const out = [];
  for (const r of rows) {
    const n = await page.evaluate(() => window.__bench.results.length);
    await page.setInputFiles('#file-input', r.imagePath);
    await page.waitForFunction((k) => window.__bench.results.length > k, n, { timeout: 120_000 });
    const t = await page.evaluate(() => ({ c: window.__bench.change.at(-1), r: window.__bench.results.at(-1) }));
    out.push(t.r - t.c);
  }
  return out;
}

/** Peak memory and load/search times of the page on one asset folder, fresh profile. */
async function pageRun(assetDir, { warm = 3, dropRows = drops, waitStored = false } = {}) {
  const srv = await startServe({ assets: assetDir });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lookalike-bench-'));
  const ctx = await launchPersistent(profile, { args: ARGS, viewport: { width: 1280, height: 900 } });
  try {
    await ctx.addInitScript(INIT);
    const page = ctx.pages()[0] || await ctx.newPage();
    const mem = sampleMemory(100);
    const cold = await pageLoad(page, srv.url);
    const warmMs = [];
    for (let i = 0; i < warm; i++) warmMs.push(await pageLoad(page, srv.url));
    const dropMs = await dropTimes(page, dropRows);
    // A vector file too big for memory goes to the private file system
    // after the first results (asset-plan.js DISK_MAX_BYTES); the searches
    // after it is in re-score from it. The peak includes storing it.
    let storedMs = null;
    let storedAfterMs = null;
    if (waitStored) {
      const t0 = Date.now();
      await page.waitForFunction(() => /stored on this device/.test(document.getElementById('engine-info')?.textContent || ''), null, { timeout: 900_000, polling: 500 });
      storedAfterMs = Date.now() - t0;
      storedMs = await dropTimes(page, dropRows);
    }
    const peak = mem.stop();
    const ua = await page.evaluate(async () => {
      if (!self.crossOriginIsolated || !performance.measureUserAgentSpecificMemory) return null;
      const m = await performance.measureUserAgentSpecificMemory();
      return { bytes: m.bytes, breakdown: m.breakdown.filter((b) => b.bytes > 1 << 20).map((b) => ({ mb: Math.round(b.bytes / 1048576), types: b.types, scope: b.attribution.map((a) => a.scope).join(',') })) };
    }).catch((e) => ({ error: String(e) }));
    const items = await page.evaluate(() => document.querySelector('#sections .chip[data-section=""] .count')?.textContent || '');
    const version = ctx.browser()?.version() || '';
    return { ctx, page, srv, profile, version, cold, warmMs, dropMs, storedMs, storedAfterMs, peak, ua, items };
  } catch (e) {
    await ctx.close();
    await srv.stop();
    throw e;
  }
}

/** Memory of an idle headless Chromium on about:blank: the floor every figure above includes. */
async function idleBaseline() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lookalike-bench-idle-'));
  const ctx = await launchPersistent(profile, { args: ARGS });
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    await page.goto('about:blank');
    await new Promise((r) => setTimeout(r, 3000));
    const m = sampleMemory(100);
    await new Promise((r) => setTimeout(r, 500));
    return m.stop();
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

async function closeRun(r) {
  await r.ctx.close();
  await r.srv.stop();
  fs.rmSync(r.profile, { recursive: true, force: true });
}

/**
 * Our engine's own embed times: a second engine worker in the page, driven
 * directly with the worker protocol (the page's own worker stays idle).
 * Warm-up photos first, then the timed ones; the browser's CPU time is read
 * around the timed ones. Every photo is different (the engine caches the
 * last photo's embedding).
 */
async function engineEmbed(page, rows) {
  const images = rows.map((r) => fs.readFileSync(r.imagePath).toString('base64'));
  const info = await page.evaluate(async () => {
    const w = new Worker('engine-worker.js', { type: 'module' });
    let id = 0;
    const next = (pred) => new Promise((res, rej) => {
      const on = (e) => {
        const m = e.data;
        if (m.type === 'error') { w.removeEventListener('message', on); rej(new Error(`${m.code}: ${m.message}`)); }
        if (pred(m)) { w.removeEventListener('message', on); res(m); }
      };
      w.addEventListener('message', on);
    });
    window.__embed = async (b64list) => {
      const out = [];
      for (const b64 of b64list) {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const my = ++id;
        const done = next((m) => m.type === 'results' && m.id === my);
        w.postMessage({ type: 'search', id: my, image: bytes.buffer, crop: null, k: 10, section: '', filters: {} }, [bytes.buffer]);
        out.push((await done).ms);
      }
      return out;
    };
    window.__embedStop = () => w.terminate();
    let engine = '';
    w.addEventListener('message', (e) => { if (e.data?.type === 'info' && e.data.engine) engine = e.data.engine; });
    const ready = next((m) => m.type === 'ready');
    w.postMessage({ type: 'init', assets: new URL('assets/', document.baseURI).href });
    const r = await ready;
    return { items: r.items, dim: r.dim, engine, isolated: self.crossOriginIsolated };
  });
  await page.evaluate((l) => window.__embed(l), images.slice(0, opts.warmup));
  const cpu0 = chromiumCpuMs();
  const ms = await page.evaluate((l) => window.__embed(l), images.slice(opts.warmup));
  const cpuMs = (chromiumCpuMs() - cpu0) / ms.length;
  await page.evaluate(() => window.__embedStop());
  return { ...info, ms, cpuMs };
}

/** A static server for the onnxruntime-web page: the bench page, ORT's dist folder and the model. */
function ortServer(modelFile) {
  const dist = path.join(repoRoot(), 'node_modules', 'onnxruntime-web', 'dist');
  const here = path.dirname(new URL(import.meta.url).pathname);
  const types = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    let file = '';
    if (u.pathname === '/' || u.pathname === '/chromium_ortweb.html') file = path.join(here, 'chromium_ortweb.html');
    else if (u.pathname === '/chromium_ortweb.mjs') file = path.join(here, 'chromium_ortweb.mjs');
    else if (u.pathname === '/model.onnx') file = modelFile;
    else if (/^\/ort\/[\w.-]+$/.test(u.pathname)) file = path.join(dist, u.pathname.slice(5));
    if (!file || !fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}/`, stop: () => new Promise((r) => server.close(r)),
  })));
}

/** The *_40k figures of a page run on the full catalogue. */
function fullMetrics(r) {
  // --suffix _1m: the same figures on the synthetic million (docs/scale.md).
  const x = opts.suffix;
  return {
    [`chromium_page_renderer_peak_mb${x}`]: r.peak.pageRendererMB,
    [`chromium_renderer_peak_mb${x}`]: r.peak.rendererMB,
    [`chromium_peak_mb${x}`]: r.peak.totalMB,
    [`page_ready_cold_ms${x}`]: round(r.cold, 0),
    [`drop_to_results_ms${x}`]: round(median(r.dropMs), 0),
    ...(r.storedMs ? {
      [`drop_to_results_stored_ms${x}`]: round(median(r.storedMs), 0),
      [`page_stored_after_ms${x}`]: r.storedAfterMs,
    } : {}),
  };
}

// --full-only: just the full catalogue's memory and load figures (the
// 3,000-item fixture, the embed timing and onnxruntime-web are skipped).
if (opts['full-only']) {
  const fullDir = opts['full-assets'];
  if (!fs.existsSync(path.join(fullDir, 'manifest.json'))) fail(`no manifest.json in ${fullDir}`);
  log(`full catalogue ${fullDir}`);
  const r = await pageRun(fullDir, { warm: 1, waitStored: !!opts['wait-stored'] });
  await closeRun(r);
  const idle = await idleBaseline();
  log(`full: cold ${round(r.cold)} ms, drops ${r.dropMs.map((x) => round(x)).join(', ')} ms, peak ${r.peak.totalMB} MB (renderers ${r.peak.rendererMB} MB, page renderer ${r.peak.pageRendererMB} MB; idle Chromium ${idle.totalMB} MB)`);
  report({ ...fullMetrics(r), chromium_idle_mb: idle.totalMB }, {
    browser: `Debian Chromium ${r.version}, headless, driven by playwright-core`,
    catalogue_items: r.items,
    drop_to_results_all_ms: r.dropMs.map((x) => round(x, 0)),
    measure_ua_memory: r.ua,
    idle_chromium: idle,
    memory_note: MEMORY_NOTE,
  });
  process.exit(0);
}

// 1. Page load, searches, memory (fixture catalogue).
log(`assets ${path.relative(repoRoot(), assets)}`);
const run = await pageRun(assets);
log(`cold ${round(run.cold)} ms, warm ${run.warmMs.map((x) => round(x)).join(', ')} ms, drops ${run.dropMs.map((x) => round(x)).join(', ')} ms, peak ${run.peak.totalMB} MB`);

// 2. Our engine's embed time in the same browser (the page's own worker is idle).
const emb = await engineEmbed(run.page, embedPhotos);
const embedMs = emb.ms.map((m) => m.embed);
log(`embed ${embedMs.map((x) => round(x)).join(', ')} ms`);

// 3. onnxruntime-web on the same model file, same browser.
const modelFile = path.join(assets, assetFile(assets, 'model'));
const osrv = await ortServer(modelFile);
const opage = await run.ctx.newPage();
await opage.goto(osrv.url);
await opage.waitForFunction(() => document.body.dataset.state === 'ready');
const ortInfo = await opage.evaluate((o) => window.ortSetup(o), { threads: 1, warmup: opts.warmup });
const ortCpu0 = chromiumCpuMs();
const ortMs = await opage.evaluate((n) => window.ortTime(n), opts.runs);
const ortCpuMs = (chromiumCpuMs() - ortCpu0) / ortMs.length;
const ortRes = { ...ortInfo, ms: ortMs };
log(`ortweb ${ortRes.ms.map((x) => round(x)).join(', ')} ms`);
await opage.close();
await osrv.stop();
await closeRun(run);

// 4. Memory on the full catalogue, if its assets exist.
let full = null;
const fullDir = opts['full-assets'];
if (fullDir && fs.existsSync(path.join(fullDir, 'manifest.json'))) {
  log(`full catalogue ${fullDir}`);
  const r = await pageRun(fullDir, { warm: 1 });
  full = { peak: r.peak, cold: r.cold, dropMs: r.dropMs, items: r.items, ua: r.ua };
  await closeRun(r);
}

const metrics = {
  page_ready_cold_ms: round(run.cold, 0),
  page_ready_warm_ms: round(median(run.warmMs), 0),
  drop_to_results_ms: round(median(run.dropMs), 0),
  embed_chromium_ms: round(median(embedMs)),
  ortweb_chromium_1t_ms: round(median(ortRes.ms)),
  embed_chromium_cpu_ms: round(emb.cpuMs, 0),
  ortweb_chromium_1t_cpu_ms: round(ortCpuMs, 0),
  chromium_peak_mb: run.peak.totalMB,
  chromium_renderer_peak_mb: run.peak.rendererMB,
};
metrics.chromium_page_renderer_peak_mb = run.peak.pageRendererMB;
if (full) Object.assign(metrics, fullMetrics(full));
const idle = await idleBaseline();
metrics.chromium_idle_mb = idle.totalMB;
report(metrics, {
  browser: `Debian Chromium ${run.version}, headless, driven by playwright-core`,
  catalogue_items: run.items,
  engine_items: emb.items,
  engine: emb.engine, // the worker's own description: kernel build, GEMM pool
  engine_cross_origin_isolated: emb.isolated,
  page_ready_warm_all_ms: run.warmMs.map((x) => round(x, 0)),
  drop_to_results_all_ms: run.dropMs.map((x) => round(x, 0)),
  drop_photos: drops.map((r) => `${r.id} (${r.articleType})`),
  embed_chromium_all_ms: embedMs.map((x) => round(x)),
  engine_decode_ms: round(median(emb.ms.map((m) => m.decode || 0))),
  engine_search_ms: round(median(emb.ms.map((m) => m.search || 0))),
  ortweb: { version: ortRes.version, threads: 1, simd: true, load_ms: round(ortRes.loadMs, 0), all_ms: ortRes.ms.map((x) => round(x)), output: ortRes.output, model: path.basename(modelFile) },
  warmup: opts.warmup,
  runs: opts.runs,
  memory_note: MEMORY_NOTE,
  idle_chromium: idle,
  measure_ua_memory: run.ua,
  measure_ua_memory_note: 'performance.measureUserAgentSpecificMemory() after the last search (page + workers, JS heaps and DOM; the Go wasm linear memory does not appear in it)',
  full_catalogue: full ?? `not measured: no manifest.json in ${path.relative(repoRoot(), fullDir) || fullDir}`,
});
