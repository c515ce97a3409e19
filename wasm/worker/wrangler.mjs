#!/usr/bin/env node
// `wrangler dev` (wrangler 3.114.17 from node_modules: no account, no
// telemetry) on loopback, waited for until it answers, for `make demo`
// and the tests and benchmarks (startWrangler).
//
//   node wasm/worker/wrangler.mjs [--port 8787] [--config wrangler.toml]   (make demo)
//
// As a command it keeps wrangler's own output to errors (--log-level
// error): on a machine without internet wrangler would otherwise print an
// "out-of-date" notice and two `getaddrinfo ENOTFOUND workers.cloudflare.com`
// stack traces (it looks up its latest version and the Request.cf
// placeholder data; both fall back silently). Real errors still show. Its
// last line is Lookalike's own "open http://…" once the site answers.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

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
 * Starts `wrangler dev` for config on port (default: a free one) and waits
 * until readyPath answers readyStatus (default 200). logLevel is wrangler's
 * own (--log-level). stop() ends its whole process group.
 */
export async function startWrangler({
  config, port = 0, timeoutMs = 180_000, log = () => {}, readyPath = '/api/health', readyStatus = 200, logLevel = 'warn', extraArgs = [],
}) {
  port ||= await freePort();
  const inspector = await freePort();
  const bin = path.join(root, 'node_modules', '.bin', 'wrangler');
  if (!fs.existsSync(bin)) throw new Error('wrangler: node_modules/.bin/wrangler missing; run npm ci');
  const child = spawn(bin, ['dev', '--config', config, '--ip', '127.0.0.1', '--port', String(port),
    '--inspector-port', String(inspector), '--show-interactive-dev-session=false', '--log-level', logLevel, ...extraArgs], {
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
    if (early !== null) throw new Error(`wrangler dev exited (${early}):\n${output}`);
    try {
      const r = await fetch(url + readyPath);
      await r.arrayBuffer();
      if (r.status === readyStatus) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev not ready after ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return { url, port, pid: child.pid, stop, output: () => output, exited: () => early, wait: () => exited };
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, def) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
  };
  const port = Number(opt('port', '8787'));
  const config = path.resolve(opt('config', path.join(root, 'wrangler.toml')));
  const w = await startWrangler({
    config, port, logLevel: 'error', readyPath: '/api/health',
    log: (s) => process.stderr.write(s),
  });
  const stop = async () => { await w.stop(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.log(`Lookalike: open ${w.url}/  (API: ${w.url}/api/health, /api/similar/{id}?k=&section=, /api/products/{id}; Ctrl-C stops)`);
  const code = await w.wait();
  process.exit(typeof code === 'number' ? code : 1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(String(e.message || e)); process.exit(1); });
}
