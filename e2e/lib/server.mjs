// Starting and stopping `go run ./builder serve` for browser tests, and a
// recording proxy that sees every request the browser really sends.
//
//   const srv = await startServe({ assets: fx.assets });  // srv.url = 'http://127.0.0.1:PORT/'
//   const rec = await startRecordingProxy(srv.url);         // browse rec.url instead
//   … rec.requests: [{method, url, headers, bodyBytes}] …
//   await rec.stop(); await srv.stop();
import http from 'node:http';
import { spawn } from 'node:child_process';
import { repoRoot } from './paths.mjs';

/**
 * Starts `go run ./builder serve --assets DIR --addr 127.0.0.1:0` (the
 * kernel picks a free port) and resolves once it prints the address it
 * listens on. The first start also builds the engine wasm (a minute on a
 * busy machine), hence the generous timeout. Returns {url, stop(), log()}.
 * stop() ends the whole process group (go run and the server it started).
 */
export function startServe({ assets, staticDir = 'static', timeoutMs = 600_000, extraArgs = [] } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn('go', ['run', './builder', 'serve', '--assets', assets, '--static', staticDir,
      '--addr', '127.0.0.1:0', ...extraArgs], { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let done = false;
    const stop = () => new Promise((res) => {
      if (p.exitCode !== null || p.signalCode !== null) return res();
      p.once('exit', () => res());
      try { process.kill(-p.pid, 'SIGTERM'); } catch { res(); }
    });
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      stop();
      reject(new Error(`serve: not ready after ${timeoutMs} ms:\n${out.slice(-3000)}`));
    }, timeoutMs);
    const take = (b) => {
      out = (out + b.toString()).slice(-50000);
      const m = /serving .* at (http:\/\/[^\s/]+\/)/.exec(out);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        resolve({ url: m[1], stop, log: () => out, pid: p.pid });
      }
    };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    p.on('error', (e) => { if (!done) { done = true; clearTimeout(timer); reject(e); } });
    p.on('exit', (code) => {
      if (!done) { done = true; clearTimeout(timer); reject(new Error(`serve exited ${code}:\n${out.slice(-3000)}`)); }
    });
  });
}

/**
 * A reverse proxy on a free 127.0.0.1 port in front of target (e.g.
 * startServe's url) that records every request reaching the network:
 * {method, url (path + query), headers, bodyBytes (Buffer)}. Browser-side
 * listeners can miss requests made by workers or service workers; this
 * cannot. headers are set on every response, a null value removing the
 * header (e.g. COOP/COEP, to take cross-origin isolation away from the
 * page). Returns {url, requests, stop()}.
 */
export function startRecordingProxy(target, { headers = {} } = {}) {
  const t = new URL(target);
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method, url: req.url, headers: { ...req.headers }, bodyBytes: body });
      const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url,
        headers: { ...req.headers, host: t.host } }, (r) => {
        const h = { ...r.headers };
        for (const [k, v] of Object.entries(headers)) {
          delete h[k.toLowerCase()];
          if (v !== null) h[k] = v;
        }
        res.writeHead(r.statusCode, h);
        r.pipe(res);
      });
      up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
      up.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}/`,
        requests,
        stop: () => new Promise((res) => { server.closeAllConnections?.(); server.close(() => res()); }),
      });
    });
  });
}
