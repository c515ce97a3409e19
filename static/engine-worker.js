// engine-worker.js — a dedicated module Web Worker holding one long-lived Go
// engine (wasm/engine compiled to js/wasm). It downloads the catalogue's
// assets once, checks each against the sha256 in manifest.json, hands the
// bytes to Go, then answers search and similar requests. Protocol: see
// static/README.md. Nothing here sends the shopper's photo anywhere: the only
// requests are for the engine and the catalogue's own files.

// Go's format constants (generated; docs/formats.md), fetched while the
// manifest is (a static import would delay the start by a round trip).
// assetFiles and indexTail are checked against Go's golden assets by e2e/js/.
export const formats = import('./lookalike/gen_formats.js');
formats.catch(() => {}); // a failure is init's to report

const ASSET_CACHE = 'lookalike-assets-v1'; // content-hashed files: never change
const META_CACHE = 'lookalike-meta-v1';    // manifest.json, build.json: latest seen

// The asset plan too: the worker takes its 'init' message (and so starts
// fetching the manifest) only once its static imports have arrived.
const assetPlan = import('./asset-plan.js');
assetPlan.catch(() => {});

let engine = null;       // globalThis.lookalike once Go runs
let modelIn;             // resolves modelLoaded
// Resolves once Go has decoded the model: a photo chosen while loading is
// run through it then (Go's prepare), while the rest is still arriving.
const modelLoaded = new Promise((r) => { modelIn = r; });
let readyInfo = null;
let initPromise = null;
const here = import.meta.url;
let assetsBase = '';

class EngineError extends Error {
  constructor(code, message, extra = {}) {
    super(message);
    this.code = code;
    Object.assign(this, extra);
  }
}

self.onmessage = (e) => {
  const m = e.data || {};
  switch (m.type) {
    case 'init':
      if (!initPromise) {
        // boot.js sends manifest.json and build.json in a 'meta' message
        // that follows (metaFollows); they are fetched here otherwise.
        initPromise = init(m.assets || 'assets/', m.metaFollows ? metaGiven : Promise.resolve({}), { laterMaxBytes: Number(m.laterMaxBytes) || undefined }).catch((err) => {
          post({ type: 'error', ...loadErrorFields(err) });
          throw err;
        });
        // Reported to the page above; requests that await it see it too.
        initPromise.catch(() => {});
      }
      break;
    case 'meta':
      giveMeta(m.meta || {});
      break;
    case 'later':
      startLater();
      break;
    case 'search':
    case 'similar':
    case 'vector':
      handle(m);
      break;
    default:
      break;
  }
};

function post(m, transfer) { self.postMessage(m, transfer || []); }

function errorFields(err) {
  if (err instanceof EngineError) return { code: err.code, message: err.message, ...(err.format ? { format: err.format } : {}) };
  if (err instanceof RangeError && /memory|allocation|buffer/i.test(err.message)) return { code: 'oom', message: err.message };
  if (err instanceof WebAssembly.CompileError || err instanceof WebAssembly.LinkError) return { code: 'internal', message: `engine: ${err.message}` };
  const msg = String(err?.message || err);
  if (/out of memory|Cannot allocate|Out of memory/i.test(msg)) return { code: 'oom', message: msg };
  return { code: 'internal', message: msg };
}

/**
 * A loading failure is never the shopper's photo: codes that would blame
 * it ("corrupt", "too-large", …: a malformed manifest or a damaged asset
 * from another build) become "bad-assets".
 */
function loadErrorFields(err) {
  const f = errorFields(err);
  if (!['network', 'integrity', 'no-wasm', 'oom', 'internal'].includes(f.code)) f.code = 'bad-assets';
  return f;
}

// ---------------------------------------------------------------- loading

// The page's copies of manifest.json and build.json (boot.js), by URL; if
// they do not come within META_WAIT_MS the worker fetches them itself.
const META_WAIT_MS = 3000;
let giveMeta;
const metaGiven = new Promise((r) => { giveMeta = r; setTimeout(() => r({}), META_WAIT_MS); });

async function init(base, preMeta, { laterMaxBytes } = {}) {
  const pre = await preMeta;
  if (typeof WebAssembly !== 'object') throw new EngineError('no-wasm', 'WebAssembly is not available');
  // Resolved against this module's own URL, not the worker's location: the
  // embed may start it through a blob: or wrapper module (lookalike/worker.js).
  assetsBase = new URL(base, here).href;
  const buildURL = new URL('build/build.json', here).href;
  const manifestURL = new URL('manifest.json', assetsBase).href;
  // boot.js fetches both while this script is still on its way (one round
  // trip earlier) and hands them over, by URL; what it could not get is
  // fetched here.
  const given = (url, what) => fetchMeta(url, what, pre[url] instanceof ArrayBuffer ? new Uint8Array(pre[url]) : null);
  const [build, manifestBytes] = await Promise.all([
    given(buildURL, 'engine build'),
    given(manifestURL, 'catalogue manifest'),
  ]);
  let buildInfo, manifest;
  try { buildInfo = JSON.parse(new TextDecoder().decode(build)); } catch { throw new EngineError('corrupt', 'build/build.json is not valid JSON'); }
  try { manifest = JSON.parse(new TextDecoder().decode(manifestBytes)); } catch { throw new EngineError('corrupt', 'manifest.json is not valid JSON'); }
  post({ type: 'progress', stage: 'manifest', loaded: manifestBytes.length, total: manifestBytes.length });
  const engineFile = buildInfo.engine;
  if (!engineFile) throw new EngineError('corrupt', 'build/build.json names no engine');
  const engineSize = buildInfo.sizes?.[engineFile] || 0;

  // Byte progress over everything in flight, with the rate so far and the
  // time left at that rate (the total is known once the plan is).
  const loaded = new Map();
  let overallTotal = 0;
  const started = performance.now();
  let lastPost = 0;
  const progress = (stage, file, n, force = false) => {
    loaded.set(file, n);
    const now = performance.now();
    if (!force && now - lastPost < 100) return;
    lastPost = now;
    let overallLoaded = 0;
    for (const v of loaded.values()) overallLoaded += v;
    overallLoaded = Math.min(overallLoaded, overallTotal || overallLoaded);
    const secs = (now - started) / 1000;
    const rate = secs > 0.3 ? overallLoaded / secs : 0;
    const secondsLeft = rate > 0 && overallTotal > overallLoaded ? (overallTotal - overallLoaded) / rate : null;
    post({ type: 'progress', stage, loaded: n, overallLoaded, overallTotal, bytesPerSecond: Math.round(rate), secondsLeft });
  };

  // 1. The engine downloads now (it does not depend on the plan: on a slow
  // link every round trip the link idles is bandwidth lost), the model
  // (asset-plan.js FIRST) as soon as the plan is read; the rest
  // (projection, codes, heads, catalogue) once the model's bytes are in.
  // On a slow link they would otherwise share it with the model and delay
  // its end, and the model is what Go spends longest on: this way Go
  // decodes it while the rest arrives.
  const buildBase = new URL('build/', here);
  const engineURL = new URL(engineFile, buildBase).href;
  const wasmJob = fetchBytes(engineURL, { stage: 'engine', size: engineSize, immutable: true,
    progress: (stage, n) => progress(stage, engineURL, n) });
  wasmJob.catch(() => {}); // reported where it is awaited
  const [{ INDEX_NODE }, { planStages, FIRST }] = await Promise.all([formats, assetPlan]);
  let stages, later;
  try {
    const conn = self.navigator?.connection;
    ({ stages, later } = planStages(manifest, INDEX_NODE, { saveData: !!conn?.saveData, cellular: conn?.type === 'cellular', laterMaxBytes }));
  } catch (err) {
    throw new EngineError('corrupt', err.message);
  }
  overallTotal = engineSize + stages.reduce((t, s) => t + s.parts.reduce((u, p) => u + (p.size || 0), 0), 0);
  const first = stages.map((st) => FIRST.has(st.kind));
  // Bytes of FIRST still to come; the rest starts when they are all read
  // (before their sha256 is checked and before Go decodes them).
  const firstLeft = new Set(stages.flatMap((st, i) => (first[i] ? st.parts.map((p) => new URL(p.file, assetsBase).href) : [])));
  let startRest;
  const restStarted = new Promise((r) => { startRest = r; });
  // Resolves once every request of the rest has been handed to the network
  // (its cache lookup done): Go's decoding of the model blocks this thread,
  // so it waits for that, or the rest would be requested only after it.
  const restAsked = [];
  const fetchParts = (st) => st.parts.map((p) => {
    const url = new URL(p.file, assetsBase).href;
    let asked;
    if (!firstLeft.has(url)) restAsked.push(new Promise((r) => { asked = r; }));
    const job = fetchBytes(url, { stage: st.kind, size: p.size, sha256: p.sha256, name: p.file, immutable: true, asked,
      progress: (stage, n, _total, done) => {
        progress(stage, url, n);
        if (firstLeft.has(url) && (done || (p.size && n >= p.size))) {
          firstLeft.delete(url);
          if (firstLeft.size === 0) startRest();
        }
      } });
    // A failed FIRST file must not hold the rest back (reported when Go takes it, in order).
    job.catch(() => { if (firstLeft.delete(url) && firstLeft.size === 0) startRest(); });
    return job;
  });
  const jobs = stages.map((st, i) => (first[i] ? fetchParts(st) : null));
  lookAhead(stages.flatMap((st, i) => (first[i] ? [] : st.parts.map((p) => new URL(p.file, assetsBase).href))));
  if (firstLeft.size === 0) startRest();
  const rest = restStarted.then(() => stages.map((st, i) => jobs[i] || (jobs[i] = fetchParts(st))));
  const restRequested = rest.then(() => Promise.race([Promise.all(restAsked), new Promise((r) => setTimeout(r, 250))]));

  // 2. Go starts as soon as its own bytes are in, then takes each file in
  // order as it arrives; each part goes into Go as soon as it is verified
  // and is dropped here (never joined in JS, no asset held twice).
  await startGo(await wasmJob, buildInfo, buildBase);
  checkGo(engine.load('manifest', manifestBytes), 'manifest.json');
  for (const [si, st] of stages.entries()) {
    if (!jobs[si]) await rest;
    for (const [i, p] of st.parts.entries()) {
      let bytes = await jobs[si][i];
      if (st.kind === 'model') await restRequested;
      jobs[si][i] = null;
      checkGo(engine.load(st.kind, bytes, i, st.parts.length, st.from), p.file);
      bytes = null;
    }
    if (st.kind === 'model') modelIn();
    progress(st.kind, '', 0, true);
  }

  readyInfo = parseGo(engine.ready(), 'ready');
  post({ type: 'ready', ...readyInfo, seconds: Math.round(performance.now() - started) / 1000 });
  const keep = [engineURL, ...[...stages, ...later].flatMap((s) => s.parts.map((p) => new URL(p.file, assetsBase).href))];
  // 3. What the first search does without, in the background, once the
  // page says its first results (and their thumbnails) are in, or
  // LATER_FALLBACK_MS after ready: on a slow link the shopper's first
  // thumbnails do not share it with megabytes they do not need yet.
  setTimeout(startLater, LATER_FALLBACK_MS);
  laterGo.then(() => loadLater(later)).finally(() => pruneCaches(keep).catch(() => {}));
}

// The background downloads start at the page's 'later' message (after its
// first results' thumbnails), at the latest this long after ready.
const LATER_FALLBACK_MS = 8000;
let startLater;
const laterGo = new Promise((r) => { startLater = r; });

/**
 * Fetches the LATER assets (all requested at once, so none of them starts
 * later than the others: what is requested never depends on a search) and
 * attaches them to the running engine in order.
 */
async function loadLater(later) {
  const disk = later.filter((st) => st.disk).map((st) => storeOnDisk(st).catch(() => {}));
  later = later.filter((st) => !st.disk);
  const jobs = later.map((st) => st.parts.map((p) => {
    const job = fetchBytes(new URL(p.file, assetsBase).href, { stage: st.kind, size: p.size, sha256: p.sha256, name: p.file, immutable: true });
    job.catch(() => {});
    return job;
  }));
  for (const [si, st] of later.entries()) {
    try {
      for (const [i, p] of st.parts.entries()) {
        let bytes = await jobs[si][i];
        jobs[si][i] = null;
        // Between two requests (this worker runs one thing at a time).
        await (chain = chain.then(() => checkGo(engine.load(st.kind, bytes, i, st.parts.length, st.from), p.file)).catch(() => {}));
        bytes = null;
      }
    } catch { /* optional: searches work without it */ }
  }
  await Promise.all(disk);
}

// ---------------------------------------------------------------- on disk

// The folder of the origin-private file system (OPFS) holding the files
// kept on disk; each file is named after its content (the first part's
// sha256) and has a `.done` sibling once every part is written and checked.
const DISK_DIR = 'lookalike';

/**
 * A later file too big for memory (asset-plan.js DISK_MAX_BYTES: the
 * vector file at a million products): its parts are fetched one after the
 * other, each checked against its sha256 and written into a file of the
 * origin-private file system, never held whole; a repeat visit reuses the
 * finished file. Go then reads the records of each search's shortlist from
 * it synchronously (engine attachStored): no request about a search ever
 * leaves the device.
 * Needs a dedicated worker with FileSystemSyncAccessHandle and room in the
 * storage quota; without them the codes keep answering alone.
 */
async function storeOnDisk(st) {
  const total = st.parts.reduce((n, p) => n + p.size, 0);
  const root = await self.navigator?.storage?.getDirectory?.().catch(() => null);
  if (!root || !engine?.attachStored || typeof FileSystemFileHandle === 'undefined' || !FileSystemFileHandle.prototype.createSyncAccessHandle) {
    return;
  }
  const dir = await root.getDirectoryHandle(DISK_DIR, { create: true });
  const name = `${st.kind}-${st.parts[0].sha256.slice(0, 24)}.bin`;
  let handle = await openStored(dir, name, total);
  if (!handle) {
    const est = await self.navigator.storage.estimate?.().catch(() => null);
    if (est && est.quota - est.usage < total) return;
    // Files of other builds go first: one copy of each kind on disk.
    for await (const [other] of dir.entries()) {
      if (other.startsWith(`${st.kind}-`) && other !== name) await dir.removeEntry(other).catch(() => {});
    }
    const file = await dir.getFileHandle(name, { create: true });
    handle = await file.createSyncAccessHandle();
    try {
      handle.truncate(0);
      // One part in memory at a time (a round trip a part is nothing
      // beside 25 MB; two in flight cost the renderer 25 MB more).
      let at = 0;
      for (const p of st.parts) {
        let bytes = await fetchBytes(new URL(p.file, assetsBase).href, { stage: st.kind, size: p.size, sha256: p.sha256, name: p.file });
        if (handle.write(bytes, { at }) !== bytes.length) throw new EngineError('internal', `${p.file}: short write to the private file system`);
        at += bytes.length;
        bytes = null;
      }
      handle.flush();
      await dir.getFileHandle(`${name}.done`, { create: true });
    } catch (err) {
      handle.close();
      await dir.removeEntry(name).catch(() => {});
      throw err;
    }
  }
  const { VECTORS } = await formats; // record i is at VECTORS.header + i·size
  const header = new Uint8Array(VECTORS.header);
  handle.read(header, { at: 0 });
  const read = (itemBytes, size) => {
    try {
      const items = new Int32Array(itemBytes.buffer, itemBytes.byteOffset, itemBytes.byteLength >> 2);
      const out = new Uint8Array(items.length * size);
      for (let j = 0; j < items.length; j++) {
        if (handle.read(out.subarray(j * size, (j + 1) * size), { at: VECTORS.header + items[j] * size }) !== size) return null;
      }
      return out;
    } catch { return null; } // the file was evicted or the handle closed: the codes answer
  };
  let attached = false;
  await (chain = chain.then(() => { checkGo(engine.attachStored(header, read), name); attached = true; }).catch(() => {}));
  if (!attached) return;
  // The page's engine line says so (app.js).
  post({ type: 'info', stored: { kind: st.kind, bytes: total } });
}

/**
 * The finished stored file's sync handle (read-only where the browser lets
 * tabs share it), or null when it is not finished; throws, leaving the
 * files alone, when another tab holds it.
 */
async function openStored(dir, name, total) {
  let file;
  try {
    await dir.getFileHandle(`${name}.done`);
    file = await dir.getFileHandle(name);
  } catch { return null; }
  let handle;
  try {
    handle = await file.createSyncAccessHandle({ mode: 'read-only' });
  } catch {
    try { handle = await file.createSyncAccessHandle(); } catch { throw new EngineError('internal', `${name}: in use by another tab`); }
  }
  if (handle.getSize() === total) return handle;
  handle.close();
  await dir.removeEntry(`${name}.done`).catch(() => {});
  return null;
}

async function startGo(wasmBytes, buildInfo, buildBase) {
  if (!globalThis.Go) {
    if (!buildInfo.wasmExec) throw new EngineError('corrupt', 'build/build.json names no wasm_exec.js');
    const url = new URL(buildInfo.wasmExec, buildBase).href;
    await import(url);
    cacheCopy(url).catch(() => {});
    if (!globalThis.Go) throw new EngineError('internal', 'wasm_exec.js did not define Go');
  }
  const go = new globalThis.Go();
  const kernels = await setupKernels(go, buildInfo, buildBase);
  let instance;
  try {
    ({ instance } = await WebAssembly.instantiate(wasmBytes, go.importObject));
  } catch (err) {
    if (err instanceof RangeError) throw new EngineError('oom', `engine: ${err.message}`);
    throw err;
  }
  const kernelInfo = await kernels.attach(instance);
  let exited = false;
  go.run(instance).then(() => { exited = true; }, () => { exited = true; });
  // Go's main registers globalThis.lookalike before it blocks; wait a tick
  // in case it yields first.
  for (let i = 0; i < 100 && !globalThis.lookalike && !exited; i++) await new Promise((r) => setTimeout(r, 10));
  if (!globalThis.lookalike) throw new EngineError('internal', 'the engine did not start');
  engine = globalThis.lookalike;
  post({ type: 'info', engine: `Engine: Go ${buildInfo.go || ''} js/wasm, ${kernelInfo}.` });
}

/**
 * The SIMD kernels (wasm/kernels/loader.js setupKernels): Go imports
 * `lookalike.*`, which answer "not handled" until a kernel is loaded, so Go
 * runs its portable path when the browser has no wasm SIMD or the loader
 * is missing. Where the page is cross-origin isolated the loader also starts
 * a pool of helper workers sharing the int8 GEMMs; elsewhere one worker.
 * Returns { attach(instance) → Promise<description> }.
 */
async function setupKernels(go, buildInfo, buildBase) {
  const files = buildInfo.kernels || {};
  if (files['loader.js']) {
    try {
      const loaderURL = new URL(files['loader.js'], buildBase).href;
      const mod = await import(loaderURL);
      cacheCopy(loaderURL).catch(() => {});
      return mod.setupKernels(go.importObject, {
        files, base: buildBase, cores: self.navigator?.hardwareConcurrency || 1,
        fetchBytes: (url) => fetchBytes(url, { stage: 'engine', immutable: true }),
      });
    } catch { /* no loader: portable Go below */ }
  }
  // Every `lookalike` import answers 0: Go's portable path.
  go.importObject.lookalike = new Proxy({}, { get: () => () => 0 });
  return { attach: async () => 'portable Go (no SIMD kernel)' };
}

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Fetches a file as bytes with byte progress. Content-hashed files are read
 * from (and, once verified, written to) the asset cache, so a second visit
 * needs no network even before the service worker controls this worker.
 */
async function fetchBytes(url, { stage, size = 0, sha256 = '', name = '', progress = null, immutable = false, asked = null }) {
  try { return await fetchBytesInner(url, { stage, size, sha256, name, progress, immutable, asked }); } finally { asked?.(); }
}

// The asset cache and its lookups, memoised: the rest's lookups are made
// while the model downloads (lookAhead), so that when its turn comes its
// request goes out at once instead of after two Cache Storage round trips.
let assetCache = null;
const lookups = new Map();
function openAssetCache() {
  assetCache ??= caches.open(ASSET_CACHE);
  return assetCache;
}
function lookup(url) {
  if (!lookups.has(url)) lookups.set(url, openAssetCache().then((c) => c.match(url)));
  const p = lookups.get(url);
  p.catch(() => {});
  return p;
}
/** Starts the cache lookups of urls now (their fetchBytes uses them). */
function lookAhead(urls) {
  if (self.caches) for (const u of urls) lookup(u);
}

/** fetchBytes; asked() is called once the request is on its way (or answered from the cache). */
async function fetchBytesInner(url, { stage, size, sha256, name, progress, immutable, asked }) {
  const label = name || url.split('/').pop();
  let cache = null;
  if (immutable && self.caches) {
    try {
      cache = await openAssetCache();
      const hit = await lookup(url);
      lookups.delete(url); // one use: a later fetch looks again
      if (hit) {
        const b = new Uint8Array(await hit.arrayBuffer());
        if (!sha256 || hex(await crypto.subtle.digest('SHA-256', b)) === sha256) {
          progress?.(stage, b.length, size || b.length, true);
          return b;
        }
        await cache.delete(url); // damaged copy: fetch it again
      }
    } catch { cache = null; }
  }
  let res;
  try {
    const req = fetch(url, { credentials: 'same-origin' });
    asked?.();
    res = await req;
  } catch (err) {
    throw new EngineError('network', `${label}: ${err.message}`);
  }
  if (!res.ok) throw new EngineError('network', `${label}: HTTP ${res.status}`);
  // Without a listed size, Content-Length is only a hint (for the buffer
  // and the progress): of a precompressed sibling it counts the encoded
  // bytes, not the decoded ones the body yields.
  const hint = size || Number(res.headers.get('Content-Length')) || 0;
  let bytes;
  try {
    bytes = await readWithProgress(res, size, hint, (n, done) => progress?.(stage, size ? n : Math.min(n, hint), hint, done));
  } catch (err) {
    if (err instanceof EngineError) throw err;
    if (err instanceof RangeError) throw new EngineError('oom', `${label}: ${err.message}`);
    throw new EngineError('network', `${label}: ${err.message}`);
  }
  if (size && bytes.length !== size) {
    throw new EngineError('integrity', `${label}: ${bytes.length} bytes, the manifest says ${size}`);
  }
  if (sha256) {
    const got = hex(await crypto.subtle.digest('SHA-256', bytes));
    if (got !== sha256) throw new EngineError('integrity', `${label}: sha256 ${got.slice(0, 12)}… does not match the manifest's ${sha256.slice(0, 12)}…`);
  }
  if (cache) {
    const headers = { 'Content-Type': res.headers.get('Content-Type') || 'application/octet-stream' };
    // new Response() copies the bytes synchronously: no copy of our own.
    cache.put(url, new Response(bytes, { headers })).catch(() => {});
  }
  return bytes;
}

/** The body's bytes; more than limit (the manifest's size, 0: none) is refused; hint sizes the buffer. */
async function readWithProgress(res, limit, hint, onBytes) {
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const total = limit;
  let buf = new Uint8Array(limit > 0 ? limit : hint > 0 ? hint : 1 << 20);
  let n = 0;
  let last = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.length > buf.length) {
      if (total > 0 && n + value.length > total) {
        reader.cancel().catch(() => {});
        throw new EngineError('integrity', `${res.url.split('/').pop()}: longer than the ${total} bytes the manifest lists`);
      }
      const bigger = new Uint8Array(Math.max(buf.length * 2, n + value.length));
      bigger.set(buf.subarray(0, n));
      buf = bigger;
    }
    buf.set(value, n);
    n += value.length;
    const now = performance.now();
    if (now - last > 80) { last = now; onBytes(n); }
  }
  onBytes(n, true);
  return n === buf.length ? buf : buf.slice(0, n);
}

/** manifest.json and build.json: the page's copy or the network first, the last copy offline. */
async function fetchMeta(url, what, given = null) {
  let cache = null;
  try { cache = self.caches ? await caches.open(META_CACHE) : null; } catch { cache = null; }
  try {
    let bytes = given; // the page's copy (boot.js), else the network's
    if (!bytes) {
      const res = await fetch(url, { cache: 'no-cache', credentials: 'same-origin' });
      if (res.status === 404) throw new EngineError('network', `${what} not found at ${new URL(url).pathname}`);
      if (!res.ok) throw new EngineError('network', `${what}: HTTP ${res.status}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    }
    cache?.put(url, new Response(bytes.slice(), { headers: { 'Content-Type': 'application/json' } })).catch(() => {});
    return bytes;
  } catch (err) {
    const hit = await cache?.match(url).catch(() => null);
    if (hit) return new Uint8Array(await hit.arrayBuffer());
    if (err instanceof EngineError) throw err;
    throw new EngineError('network', `${what}: ${err.message}`);
  }
}

async function cacheCopy(url) {
  if (!self.caches) return;
  const cache = await openAssetCache();
  if (!(await cache.match(url))) await cache.add(url);
}

/** Drops cached content-hashed files that the current build no longer uses. */
async function pruneCaches(keepData) {
  if (!self.caches) return;
  const cache = await openAssetCache();
  const keep = new Set(keepData);
  for (const req of await cache.keys()) {
    const u = req.url;
    if (keep.has(u)) continue;
    // Only prune catalogue data and engine builds; thumbnails and scripts
    // are small and the service worker manages them.
    if (u.startsWith(assetsBase) && /\/(model|projection|index|vectors|neighbors|neighbours|cf|catalog|codes|heads|objectness)-[0-9a-f]{8,}/.test(u)) await cache.delete(req);
    if (/\/build\/engine-[0-9a-f]{8,}\.wasm$/.test(u)) await cache.delete(req);
  }
}

// ---------------------------------------------------------------- requests

function parseGo(s, what) {
  let v;
  try { v = typeof s === 'string' ? JSON.parse(s) : s; } catch { throw new EngineError('internal', `${what}: unreadable answer from the engine`); }
  if (v && v.error) throw new EngineError(v.error.code || 'internal', v.error.message || what, v.error);
  return v;
}

function checkGo(s, file) {
  try {
    parseGo(s, file);
  } catch (err) {
    if (err.code === 'internal' || err.code === 'corrupt') err.message = `${file}: ${err.message}`;
    throw err;
  }
}

async function toBytes(image) {
  if (image instanceof ArrayBuffer) return new Uint8Array(image);
  if (ArrayBuffer.isView(image)) return new Uint8Array(image.buffer, image.byteOffset, image.byteLength);
  if (typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap) {
    const c = new OffscreenCanvas(image.width, image.height);
    c.getContext('2d').drawImage(image, 0, 0);
    image.close();
    const blob = await c.convertToBlob({ type: 'image/png' });
    return new Uint8Array(await blob.arrayBuffer());
  }
  if (image instanceof Blob) return new Uint8Array(await image.arrayBuffer());
  throw new EngineError('unsupported', 'no image in the request');
}

/**
 * A search sent while the catalogue loads: as soon as the model is in (and
 * before the rest has arrived), Go runs the photo through it (prepare), so
 * that once everything is in, the search only projects and scans. Any
 * failure here is left to the search itself to report.
 */
async function early(m) {
  const settled = initPromise.then(() => false, () => false);
  if (!(await Promise.race([modelLoaded.then(() => true), settled])) || readyInfo || !engine?.prepare) return;
  try {
    const { bytes, crop } = await searchInput(m);
    engine.prepare(bytes, crop);
  } catch { /* the search reports it */ }
}

/** A search request's photo bytes and crop JSON for Go, read once per request. */
function searchInput(m) {
  m.input ??= toBytes(m.image).then((bytes) => ({
    bytes, crop: m.crop ? JSON.stringify({ x: m.crop.x | 0, y: m.crop.y | 0, w: m.crop.w | 0, h: m.crop.h | 0 }) : '',
  }));
  return m.input;
}

// Requests run one at a time, in order; Go is single-threaded anyway.
let chain = Promise.resolve();
function handle(m) {
  chain = chain.then(() => run(m)).catch(() => {});
}

async function run(m) {
  try {
    if (!initPromise) throw new EngineError('internal', 'the engine was not initialised');
    if (m.type === 'search' && !readyInfo) await early(m);
    await initPromise;
  } catch (err) {
    post({ type: 'error', id: m.id, ...errorFields(err) });
    return;
  }
  const k = Math.max(1, Math.min(200, Number(m.k) || 24));
  const section = m.section || '';
  const filters = JSON.stringify(m.filters || {});
  try {
    // The shopper's on-device history ({likes, views, searches, w_cf?,
    // w_personal?}); it goes to Go in this worker and nowhere else.
    const personal = m.personal && typeof m.personal === 'object' ? JSON.stringify(m.personal) : '';
    let out;
    if (m.type === 'vector') {
      // A product's stored vector (the page keeps it with a heart).
      out = parseGo(engine.vector(String(m.productId)), 'vector');
      post({ type: 'vector', id: m.id, productId: out.id, vector: out.vector });
      return;
    }
    if (m.type === 'search') {
      const { bytes, crop } = await searchInput(m);
      out = parseGo(engine.search(bytes, crop, k, section, filters, personal), 'search');
    } else {
      out = parseGo(engine.similar(String(m.productId), k, section, filters, personal), 'similar');
    }
    post({ type: 'results', id: m.id, query: out.query || {}, results: out.results || [], ms: out.ms || {} });
  } catch (err) {
    const f = errorFields(err);
    if (/Go program has already exited/.test(f.message)) f.code = 'oom';
    post({ type: 'error', id: m.id, ...f });
  }
}
