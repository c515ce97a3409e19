#!/usr/bin/env node
// The edge worker under load, in real workerd (`wrangler dev` on loopback),
// and its bundle as `wrangler deploy --dry-run` would upload it. Prints one
// piece for collect.mjs:
//
//   node e2e/bench/edge.mjs [--requests 10000] [--concurrency 50] [--uncached 1000]
//                           [--uncached-concurrency 20] [--per-request 1000] [--limit 1000] [--assets DIR]
//   → edge_uncached_{similar,products}_cpu_{p50,p99}_ms   CPU of single requests whose URL was never
//                                                          asked, in the workerd process that runs the
//                                                          worker (wrangler dev's runtime)
//     edge_uncached_{similar,products}_cpu_{p50,p99}_dev_ms  the same with wrangler dev's proxy workerd
//                                                          added (the accounting before; no deployment has it)
//     edge_floor_cpu_{p50,p99}_ms                          the same for a static 404 (entry.mjs and the
//                                                          asset store, no Go): the local machinery's share
//     edge_uncached_{p50,p99}_ms, edge_uncached_errors     distinct URLs under load
//     edge_similar_{p50,p99,cpu}_ms, edge_errors           random known ids (repeats cached)
//     worker_bundle_bytes                                  gzip of wrangler's dry-run output
//
// Also the helpers e2e/worker.test.mjs uses: prepareSite (worker build,
// asset build, stage, a wrangler config for the staged folder) and
// startWrangler.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { repoRoot, sharedDir, parseArgs } from '../ref/common.mjs';
import { freePort, startWrangler } from '../../wasm/worker/wrangler.mjs';
import { report, round } from './bench_common.mjs';

const root = repoRoot();

function run(cmd, args, { log = () => {}, env = {} } = {}) {
  log(`$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${(r.stderr || '').slice(-4000)}${(r.stdout || '').slice(-2000)}`);
  }
  log(r.stdout);
  return r.stdout;
}

/**
 * Builds everything `wrangler dev` needs into .cache/<name>/: the worker
 * (wasm/worker/build.sh), assets for the first `limit` items of
 * ../shared/fashion (unless `assets` names a built folder), the staged site
 * and a wrangler.toml that is the top-level one with main and the assets
 * folder pointed there (wrangler's --assets flag would drop the ASSETS
 * binding). Returns the paths and the worker's compressed size.
 */
export function prepareSite({ name = 'e2e-worker', limit = 200, assets = '', siblings = false, log = () => {} } = {}) {
  const dir = path.join(root, '.cache', name);
  fs.mkdirSync(dir, { recursive: true });
  const out = run('bash', ['wasm/worker/build.sh'], { log });
  const bundleBytes = Number(fs.readFileSync(path.join(root, 'wasm/worker/build/bundle-gzip-bytes'), 'utf8'));
  if (!assets) {
    assets = path.join(dir, 'assets');
    const model = path.join(root, '.cache', 'model-out', 'resnet50-int8.onnx');
    const args = ['run', './builder', 'build', '--catalog', path.join(sharedDir(), 'fashion', 'catalog.csv'),
      '--out', assets, '--limit', String(limit)];
    if (fs.existsSync(model)) args.push('--model', model);
    run('go', args, { log });
  }
  if (siblings) writeSiblings(assets);
  const site = path.join(dir, 'site');
  run('go', ['run', './builder', 'stage', '--assets', assets, '--out', site], { log });
  const top = fs.readFileSync(path.join(root, 'wrangler.toml'), 'utf8');
  const rel = (p) => path.relative(dir, path.join(root, p)).split(path.sep).join('/');
  let cfg = top.replace(/^main = ".*"$/m, `main = "${rel('wasm/worker/entry.mjs')}"`);
  cfg = cfg.replace(/^directory = ".*"$/m, 'directory = "site"');
  if (cfg === top || !cfg.includes('directory = "site"') || !cfg.includes('entry.mjs')) {
    throw new Error('edge: wrangler.toml has no main = "…" / directory = "…" lines to point at the staged site');
  }
  const config = path.join(dir, 'wrangler.toml');
  fs.writeFileSync(config, cfg);
  return { dir, site, assets, config, bundleBytes, buildLog: out };
}

/**
 * Writes precompressed siblings (F.br, F.gz) of the catalogue JSON and
 * the manifest in a built asset folder (again, so that they match the
 * files): what the sibling rule of internal/headers serves.
 */
export function writeSiblings(assets) {
  const m = JSON.parse(fs.readFileSync(path.join(assets, 'manifest.json'), 'utf8'));
  const files = ['manifest.json', ...m.assets.filter((a) => a.kind === 'catalog').map((a) => a.file)];
  for (const f of files) {
    const b = fs.readFileSync(path.join(assets, f));
    fs.writeFileSync(path.join(assets, f + '.br'), zlib.brotliCompressSync(b));
    fs.writeFileSync(path.join(assets, f + '.gz'), zlib.gzipSync(b, { level: 9 }));
  }
  return files;
}

export { freePort, startWrangler };

/** The product ids of a staged site (from its edge lookup files). */
export function stagedIds(site) {
  const dir = path.join(site, '_worker');
  const ids = [];
  // Lines of "<id as a JSON string>\t<item index>" (models/edge).
  for (const f of fs.readdirSync(dir).filter((f) => /^ids-\d+\.txt$/.test(f)).sort()) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (line) ids.push(JSON.parse(line.slice(0, line.lastIndexOf('\t'))));
    }
  }
  return ids;
}

/**
 * CPU time (ms) used so far by the processes of process group pgid, split
 * into workerd (the Workers runtime running our worker) and the rest
 * (wrangler's Node proxy in front of it). From Linux's /proc: the
 * scheduler's nanosecond run time of every thread (schedstat), else the
 * 10 ms ticks of stat.
 */
export function groupCpuMs(pgid) {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  const out = { workerd: 0, other: 0 };
  for (const p of groupProcs(pgid)) {
    const ms = threadsCpuMs(p.pid) ?? p.ticks * tick;
    if (p.comm.startsWith('workerd')) out.workerd += ms; else out.other += ms;
  }
  return out;
}

/** The processes of process group pgid: {pid, comm, ticks (user + system)}. */
function groupProcs(pgid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) !== pgid) continue;
      out.push({ pid: d, comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ticks: Number(f[11]) + Number(f[12]) });
    } catch { /* gone */ }
  }
  return out;
}

/** The summed schedstat run time (ms) of a process's threads, or null. */
function threadsCpuMs(pid) {
  try {
    let ns = 0;
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    }
    return ns / 1e6;
  } catch {
    return null;
  }
}

/**
 * A cheap per-request CPU probe (ms) over the workerd processes of process
 * group pgid. wrangler 3 dev runs two: the runtime that runs the worker
 * (started with an inspector) and, in front of it, a proxy workerd of its
 * own (live reload, the inspector proxy) that a deployment does not have
 * — it adds ~1.2 ms to every request and spikes of 5–25 ms. Returns
 * () => ({ runtime, dev }): the runtime's threads, and every workerd's.
 */
export function workerdProbe(pgid) {
  const pids = groupProcs(pgid).filter((p) => p.comm.startsWith('workerd')).map((p) => p.pid);
  if (!pids.length) throw new Error(`edge: no workerd process in process group ${pgid}`);
  const cmdline = (pid) => { try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return ''; } };
  const runtime = pids.filter((p) => cmdline(p).includes('--inspector-addr'));
  if (runtime.length !== 1) {
    throw new Error(`edge: expected one workerd started with --inspector-addr (wrangler dev's runtime) among ${pids.length}, found ${runtime.length}`);
  }
  const sum = (list) => list.reduce((s, p) => s + (threadsCpuMs(p) ?? 0), 0);
  return () => ({ runtime: sum(runtime), dev: sum(pids) });
}

const quantile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

/**
 * URL makers. Cached: random known ids with k=10 (repeats: a shop's hot
 * set, answered from the Cache API after the first). Uncached: every URL
 * distinct and never asked before in this run (ids × k for similar; each
 * id once, then with a distinct query, for products), so none is answered
 * from the edge cache. `offset` keeps the uncached phases apart.
 */
function urlMaker(url, ids, kind, offset = 0) {
  let seed = 42;
  const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
  const id = (n) => encodeURIComponent(ids[n % ids.length]);
  switch (kind) {
    case 'cached': return () => `${url}/api/similar/${encodeURIComponent(ids[Math.floor(rand() * ids.length)])}?k=10`;
    case 'similar': return (n) => { n += offset; return `${url}/api/similar/${id(n)}?k=${11 + Math.floor(n / ids.length)}`; };
    case 'products': return (n) => { n += offset; const r = Math.floor(n / ids.length); return `${url}/api/products/${id(n)}${r ? `?r=${r}` : ''}`; };
    case 'mixed': {
      const s = urlMaker(url, ids, 'similar', offset), p = urlMaker(url, ids, 'products', offset);
      return (n) => (n % 2 ? p(n >> 1) : s(n >> 1));
    }
  }
  throw new Error(kind);
}

function getOnce(target, agent) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get(target, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, kind: `status ${res.statusCode}`, ms: performance.now() - t0 }));
    });
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, kind: e.message, ms: performance.now() - t0 }));
  });
}

/**
 * Runs `requests` GETs of next(n) at `concurrency` over keep-alive
 * connections; latency percentiles, errors by kind, requests per second.
 */
async function load({ next, requests, concurrency, maxSeconds }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const ms = [];
  let errors = 0;
  const errorKinds = {};
  let n = 0;
  const deadline = Date.now() + maxSeconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (n < requests && Date.now() < deadline) {
      const r = await getOnce(next(n++), agent);
      ms.push(r.ms);
      if (!r.ok) {
        errors++;
        errorKinds[r.kind] = (errorKinds[r.kind] || 0) + 1;
      }
    }
  }));
  const wall = performance.now() - t0;
  agent.destroy();
  ms.sort((a, b) => a - b);
  return { done: ms.length, errors, errorKinds, p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), max: ms[ms.length - 1], rps: ms.length / (wall / 1000) };
}

/**
 * workerd CPU of single requests: one at a time, the workerd threads' run
 * time read before and after each (so each figure is that request's cost in
 * the runtime, including the asset store it reads from). Returns sorted ms:
 * cpu for the runtime process, dev with wrangler's proxy workerd added
 * (see workerdProbe). status: the answer every request must get.
 */
async function perRequestCpu({ next, requests, probe, keepOrder = false, status = 200 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const cpu = [];
  const dev = [];
  let errors = 0;
  for (let n = 0; n < requests; n++) {
    const target = next(n);
    const c0 = probe();
    const r = await getOnce(target, agent);
    // Let workerd finish its bookkeeping for the request (logging,
    // waitUntil) before reading the clock again.
    await new Promise((res) => setTimeout(res, 5));
    const c1 = probe();
    cpu.push(c1.runtime - c0.runtime);
    dev.push(c1.dev - c0.dev);
    if (r.kind !== `status ${status}`) errors++;
  }
  agent.destroy();
  const inOrder = cpu.slice();
  cpu.sort((a, b) => a - b);
  dev.sort((a, b) => a - b);
  return { cpu, dev, inOrder: keepOrder ? inOrder : undefined, errors };
}

/**
 * The worker bundle as Cloudflare would receive it: `wrangler deploy
 * --dry-run --outdir` (no account, no network) writes what it would upload;
 * the figure is the gzip -9 size of those files, the limit's measure.
 */
export function bundleSize({ config, outdir, log = () => {} }) {
  fs.rmSync(outdir, { recursive: true, force: true });
  const bin = path.join(root, 'node_modules', '.bin', 'wrangler');
  const r = spawnSync(bin, ['deploy', '--dry-run', '--config', config, '--outdir', outdir], {
    cwd: root, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_LOG: 'warn', NO_COLOR: '1', CI: '1' },
  });
  if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  log(r.stdout);
  let raw = 0;
  const bufs = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.endsWith('.map')) { const b = fs.readFileSync(p); raw += b.length; bufs.push(b); }
    }
  };
  walk(outdir);
  if (!bufs.length) throw new Error(`wrangler deploy --dry-run wrote nothing to ${outdir}`);
  const gz = zlib.gzipSync(Buffer.concat(bufs), { level: 9 }).length;
  return { raw, gzip: gz, files: bufs.length };
}

async function main() {
  const usage = 'usage: node e2e/bench/edge.mjs [--requests 10000] [--concurrency 50] [--uncached 1000] [--uncached-concurrency 20]\n' +
    '                          [--per-request 1000] [--max-seconds 600] [--limit 1000] [--assets DIR]';
  const { opts } = parseArgs(process.argv.slice(2), {
    requests: '10000', concurrency: '50', uncached: '1000', 'uncached-concurrency': '20', 'per-request': '1000',
    'max-seconds': '600', limit: '1000', assets: '',
  }, usage);
  const log = (s) => process.stderr.write(s);
  const site = prepareSite({ name: 'bench-edge', limit: Number(opts.limit), assets: opts.assets, log: () => {} });
  const bundle = bundleSize({ config: site.config, outdir: path.join(site.dir, 'dist') });
  log(`edge: worker bundle (wrangler deploy --dry-run): ${bundle.files} files, ${bundle.raw} bytes, ${bundle.gzip} gzipped; staged ${site.site}\n`);
  // Ready once a static file answers: the Go instance starts with the
  // first API request, measured below.
  const w = await startWrangler({ config: site.config, readyPath: '/assets/manifest.json' });
  try {
    const ids = stagedIds(site.site);
    const probe = workerdProbe(w.pid);
    const maxSeconds = Number(opts['max-seconds']);
    const per = Number(opts['per-request']);
    // A new isolate: the first API request starts the Go instance; the
    // next ones read the catalogue's shards for the first time.
    const start = await perRequestCpu({ next: () => `${w.url}/api/health`, requests: 1, probe });
    const coldN = 50;
    const cold = await perRequestCpu({ next: urlMaker(w.url, ids, 'similar', 3 * ids.length), requests: coldN, probe, keepOrder: true });
    // Warm-up (an isolate that has served a while), then per request, one
    // at a time, URLs never asked before.
    await load({ next: urlMaker(w.url, ids, 'cached'), requests: 200, concurrency: 10, maxSeconds: 120 });
    const sim = await perRequestCpu({ next: urlMaker(w.url, ids, 'similar'), requests: per, probe });
    const prod = await perRequestCpu({ next: urlMaker(w.url, ids, 'products'), requests: per, probe });
    // The floor: a request that goes through entry.mjs and the asset
    // store but never reaches Go (a static 404), in the same accounting.
    const floor = await perRequestCpu({ next: (n) => `${w.url}/assets/no-such-file-${n}.json`, requests: per, probe, status: 404 });
    // Uncached under load: distinct URLs, similar and products alternating.
    const un = Number(opts.uncached);
    const cpu0 = groupCpuMs(w.pid);
    const u = await load({ next: urlMaker(w.url, ids, 'mixed', per), requests: un, concurrency: Number(opts['uncached-concurrency']), maxSeconds });
    const cpu1 = groupCpuMs(w.pid);
    const uncachedCpu = (cpu1.workerd - cpu0.workerd) / u.done;
    // Random known ids (a shop's hot set).
    const requests = Number(opts.requests);
    const cpu2 = groupCpuMs(w.pid);
    const r = await load({ next: urlMaker(w.url, ids, 'cached'), requests, concurrency: Number(opts.concurrency), maxSeconds });
    const cpu3 = groupCpuMs(w.pid);
    const workerdCpu = (cpu3.workerd - cpu2.workerd) / r.done;
    const proxyCpu = (cpu3.other - cpu2.other) / r.done;
    const errors = r.errors + u.errors + sim.errors + prod.errors + cold.errors + start.errors + floor.errors;
    if (errors) log(`edge: wrangler ${w.exited() === null ? 'still running' : `exited (${w.exited()})`}; its output:\n${w.output().slice(-5000)}\n`);
    const q = (c, p) => round(quantile(c.cpu, p), 2);
    const qd = (c, p) => round(quantile(c.dev, p), 2);
    log(`edge: per request (one at a time, uncached, ${per} each), the worker's workerd: similar CPU p50 ${q(sim, 0.5)} ms p99 ${q(sim, 0.99)} ms; ` +
      `products p50 ${q(prod, 0.5)} ms p99 ${q(prod, 0.99)} ms; static 404 (no Go) p50 ${q(floor, 0.5)} ms p99 ${q(floor, 0.99)} ms\n`);
    log(`edge: the same with wrangler dev's proxy workerd: similar p50 ${qd(sim, 0.5)} ms p99 ${qd(sim, 0.99)} ms; ` +
      `products p50 ${qd(prod, 0.5)} ms p99 ${qd(prod, 0.99)} ms; static 404 p50 ${qd(floor, 0.5)} ms p99 ${qd(floor, 0.99)} ms\n`);
    log(`edge: new isolate: Go instance start (first /api/health) ${q(start, 0)} ms; first ${coldN} similar requests p50 ${q(cold, 0.5)} ms, ` +
      `max ${q(cold, 1)} ms, in order: ${cold.inOrder.slice(0, 12).map((x) => round(x, 1)).join(' ')} …\n`);
    log(`edge: uncached: ${u.done} distinct URLs at ${opts['uncached-concurrency']} concurrent, ${u.errors} errors ${JSON.stringify(u.errorKinds)}, ` +
      `p50 ${round(u.p50)} ms, p99 ${round(u.p99)} ms, ${round(u.rps)} req/s, workerd CPU ${round(uncachedCpu, 2)} ms/request\n`);
    log(`edge: cached: ${r.done} requests at ${opts.concurrency} concurrent, ${r.errors} errors ${JSON.stringify(r.errorKinds)}, p50 ${round(r.p50)} ms, ` +
      `p99 ${round(r.p99)} ms, ${round(r.rps)} req/s; CPU per request: workerd ${round(workerdCpu, 2)} ms, wrangler's proxy ${round(proxyCpu, 2)} ms\n`);
    report({
      edge_uncached_similar_cpu_p50_ms: q(sim, 0.5),
      edge_uncached_similar_cpu_p99_ms: q(sim, 0.99),
      edge_uncached_products_cpu_p50_ms: q(prod, 0.5),
      edge_uncached_products_cpu_p99_ms: q(prod, 0.99),
      edge_uncached_similar_cpu_p50_dev_ms: qd(sim, 0.5),
      edge_uncached_similar_cpu_p99_dev_ms: qd(sim, 0.99),
      edge_uncached_products_cpu_p50_dev_ms: qd(prod, 0.5),
      edge_uncached_products_cpu_p99_dev_ms: qd(prod, 0.99),
      edge_floor_cpu_p50_ms: q(floor, 0.5),
      edge_floor_cpu_p99_ms: q(floor, 0.99),
      edge_instance_start_cpu_ms: q(start, 0),
      edge_cold_similar_cpu_p50_ms: q(cold, 0.5),
      edge_cold_similar_cpu_max_ms: q(cold, 1),
      edge_uncached_p50_ms: round(u.p50, 1),
      edge_uncached_p99_ms: round(u.p99, 1),
      edge_uncached_cpu_ms: round(uncachedCpu, 2),
      edge_uncached_errors: u.errors + sim.errors + prod.errors + cold.errors + start.errors + floor.errors,
      edge_similar_p50_ms: round(r.p50, 1),
      edge_similar_p99_ms: round(r.p99, 1),
      edge_similar_cpu_ms: round(workerdCpu, 2),
      edge_errors: r.errors,
      worker_bundle_bytes: bundle.gzip,
    }, {
      errors_by_kind: { ...r.errorKinds, ...u.errorKinds }, proxy_cpu_ms_per_request: round(proxyCpu, 2),
      requests: r.done, requested: requests, concurrency: Number(opts.concurrency), items: ids.length,
      max_ms: round(r.max, 1), requests_per_s: round(r.rps, 1), runtime: 'wrangler 3.114.17 dev (workerd), loopback',
      uncached_requests: u.done, uncached_concurrency: Number(opts['uncached-concurrency']), uncached_requests_per_s: round(u.rps, 1),
      per_request_samples: per, worker_bundle_raw_bytes: bundle.raw,
      pattern: 'edge_uncached_*: URLs never asked before, after a 200-request warm-up: *_cpu_p50/p99 one request at a time, the thread run time of the workerd ' +
        'process that runs the worker (*_dev: with wrangler dev\'s proxy workerd too); edge_floor_*: the same for a static 404 (no Go); ' +
        'p50/p99/errors: distinct similar and products URLs alternating under load. edge_instance_start / edge_cold_*: a new isolate (the first API request; ' +
        'then the first 50 similar requests, which read the shards for the first time). edge_similar_*: random known ids, k=10',
      note: r.done < requests ? `stopped after --max-seconds ${opts['max-seconds']}` : undefined,
    });
  } finally {
    await w.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
