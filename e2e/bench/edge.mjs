#!/usr/bin/env node
// The edge worker under load, in real workerd (`wrangler dev` on loopback):
// N requests at C concurrent to /api/similar/{random known id}, and the
// worker's compressed bundle size. Prints one piece for collect.mjs:
//
//   node e2e/bench/edge.mjs [--requests 10000] [--concurrency 50] [--max-seconds 600]
//                           [--limit 1000] [--assets DIR]
//   → {"edge_similar_p50_ms", "edge_similar_p99_ms", "edge_errors", "worker_bundle_bytes",
//      "edge_similar_cpu_ms" (workerd CPU time per request: robust on a busy machine), …}
//
// Also the helpers e2e/worker.test.mjs uses: prepareSite (worker build,
// asset build, stage, a wrangler config for the staged folder) and
// startWrangler.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot, sharedDir, parseArgs } from '../ref/common.mjs';
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
export function prepareSite({ name = 'e2e-worker', limit = 200, assets = '', log = () => {} } = {}) {
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

/** A free loopback TCP port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `wrangler dev` (node_modules, no account, no telemetry) for config
 * on a free loopback port and waits until /api/health answers. stop() ends
 * its whole process group.
 */
export async function startWrangler({ config, timeoutMs = 180_000, log = () => {} }) {
  const port = await freePort();
  const inspector = await freePort();
  const bin = path.join(root, 'node_modules', '.bin', 'wrangler');
  if (!fs.existsSync(bin)) throw new Error('edge: node_modules/.bin/wrangler missing; run npm ci');
  const child = spawn(bin, ['dev', '--config', config, '--ip', '127.0.0.1', '--port', String(port),
    '--inspector-port', String(inspector), '--show-interactive-dev-session=false', '--log-level', 'warn'], {
    cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', CI: '1' },
  });
  let output = '';
  const keep = (b) => { output = (output + b).slice(-20000); log(String(b)); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try { process.kill(-child.pid, 'SIGTERM'); } catch {}
    const t = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} }, 5000);
    await exited;
    clearTimeout(t);
  };
  const deadline = Date.now() + timeoutMs;
  let early = null;
  exited.then((c) => { early = c; });
  for (;;) {
    if (early !== null) throw new Error(`edge: wrangler dev exited (${early}):\n${output}`);
    try {
      const r = await fetch(url + '/api/health');
      if (r.status === 200) { await r.arrayBuffer(); break; }
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`edge: wrangler dev not ready after ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return { url, port, pid: child.pid, stop, output: () => output, exited: () => early };
}

/** The product ids of a staged site (from its edge lookup files). */
export function stagedIds(site) {
  const dir = path.join(site, '_worker');
  const ids = [];
  // Lines of "<id as a JSON string>\t<item index>" (wasm/worker/edge).
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
 * (wrangler's Node proxy in front of it). From Linux's /proc.
 */
export function groupCpuMs(pgid) {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  const out = { workerd: 0, other: 0 };
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) !== pgid) continue;
      const ms = (Number(f[11]) + Number(f[12])) * tick;
      if (comm.startsWith('workerd')) out.workerd += ms; else out.other += ms;
    } catch { /* gone */ }
  }
  return out;
}

/**
 * Runs `requests` GETs at `concurrency` over keep-alive connections to
 * /api/similar: random known ids with k=10 (repeats: a shop's hot set), or
 * with `unique`, every request a URL not asked before (id × k), so none is
 * answered from the edge cache.
 */
async function load({ url, ids, requests, concurrency, maxSeconds, unique = false, kBase = 11 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const ms = [];
  let errors = 0;
  const errorKinds = {};
  let next = 0;
  let seed = 42;
  const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
  const deadline = Date.now() + maxSeconds * 1000;
  const one = (target) => new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get(target, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, kind: `status ${res.statusCode}`, ms: performance.now() - t0 }));
    });
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, kind: e.message, ms: performance.now() - t0 }));
  });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests && Date.now() < deadline) {
      const n = next++;
      const target = unique
        ? `${url}/api/similar/${encodeURIComponent(ids[n % ids.length])}?k=${kBase + Math.floor(n / ids.length)}`
        : `${url}/api/similar/${encodeURIComponent(ids[Math.floor(rand() * ids.length)])}?k=10`;
      const r = await one(target);
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
  const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
  return { done: ms.length, errors, errorKinds, p50: q(0.5), p99: q(0.99), max: ms[ms.length - 1], rps: ms.length / (wall / 1000) };
}

async function main() {
  const usage = 'usage: node e2e/bench/edge.mjs [--requests 10000] [--concurrency 50] [--max-seconds 600] [--limit 1000] [--assets DIR]';
  const { opts } = parseArgs(process.argv.slice(2),
    { requests: '10000', concurrency: '50', 'max-seconds': '600', limit: '1000', assets: '' }, usage);
  const log = (s) => process.stderr.write(s);
  const site = prepareSite({ name: 'bench-edge', limit: Number(opts.limit), assets: opts.assets, log: () => {} });
  log(`edge: worker bundle ${site.bundleBytes} bytes compressed; staged ${site.site}\n`);
  const w = await startWrangler({ config: site.config });
  try {
    const ids = stagedIds(site.site);
    // Warm-up: compile the module, fill the asset cache.
    await load({ url: w.url, ids, requests: 100, concurrency: 10, maxSeconds: 120 });
    const requests = Number(opts.requests);
    const cpu0 = groupCpuMs(w.pid);
    const r = await load({ url: w.url, ids, requests, concurrency: Number(opts.concurrency), maxSeconds: Number(opts['max-seconds']) });
    const cpu1 = groupCpuMs(w.pid);
    const workerdCpu = (cpu1.workerd - cpu0.workerd) / r.done;
    const proxyCpu = (cpu1.other - cpu0.other) / r.done;
    // Uncached: distinct URLs, every one answered by a fresh Go instance.
    const uncachedN = Math.min(2000, requests);
    const cpu2 = groupCpuMs(w.pid);
    const u = await load({ url: w.url, ids, requests: uncachedN, concurrency: Number(opts.concurrency), maxSeconds: Number(opts['max-seconds']), unique: true });
    const cpu3 = groupCpuMs(w.pid);
    const uncachedCpu = (cpu3.workerd - cpu2.workerd) / u.done;
    const errors = r.errors + u.errors;
    if (errors) log(`edge: wrangler ${w.exited() === null ? 'still running' : `exited (${w.exited()})`}; its output:\n${w.output().slice(-5000)}\n`);
    log(`edge: ${r.done} requests, ${r.errors} errors ${JSON.stringify(r.errorKinds)}, p50 ${round(r.p50)} ms, p99 ${round(r.p99)} ms, ` +
      `${round(r.rps)} req/s; CPU per request: workerd ${round(workerdCpu, 2)} ms, wrangler's proxy ${round(proxyCpu, 2)} ms\n`);
    log(`edge: uncached: ${u.done} distinct URLs, ${u.errors} errors, p50 ${round(u.p50)} ms, p99 ${round(u.p99)} ms, ${round(u.rps)} req/s, workerd CPU ${round(uncachedCpu, 2)} ms/request\n`);
    report({
      edge_similar_p50_ms: round(r.p50, 1),
      edge_similar_p99_ms: round(r.p99, 1),
      edge_errors: errors,
      worker_bundle_bytes: site.bundleBytes,
      edge_similar_cpu_ms: round(workerdCpu, 2),
      edge_similar_uncached_p50_ms: round(u.p50, 1),
      edge_similar_uncached_p99_ms: round(u.p99, 1),
      edge_similar_uncached_cpu_ms: round(uncachedCpu, 2),
    }, {
      errors_by_kind: { ...r.errorKinds, ...u.errorKinds }, proxy_cpu_ms_per_request: round(proxyCpu, 2),
      requests: r.done, requested: requests, concurrency: Number(opts.concurrency), items: ids.length,
      max_ms: round(r.max, 1), requests_per_s: round(r.rps, 1), runtime: 'wrangler 3.114.17 dev (workerd), loopback',
      uncached_requests: u.done, uncached_requests_per_s: round(u.rps, 1),
      pattern: 'edge_similar_*: random known ids, k=10 (repeats are answered from the Cache API, as on Cloudflare); *_uncached_*: every URL distinct (id × k), each answered by a fresh Go instance',
      note: r.done < requests ? `stopped after --max-seconds ${opts['max-seconds']}` : undefined,
    });
  } finally {
    await w.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
