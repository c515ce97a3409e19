// A loopback reverse proxy that behaves like a slow mobile link: every
// response body shares one bottleneck of `mbit` Mbit/s (a single FIFO
// link, as a phone's radio is), and every request waits one round trip
// (`rttMs`) before its first byte. Everything the page, its engine worker
// and its service worker fetch goes through it, so the throttling reaches
// the workers (Chromium's network emulation over CDP applies per target).
// It counts the bytes it sends (headers + body, as encoded on the wire)
// and logs when each response ended.
import http from 'node:http';

export function startThrottle(target, { mbit = 20, rttMs = 40 } = {}) {
  const t = new URL(target);
  const bytesPerMs = (mbit * 1e6) / 8 / 1000;
  let linkFree = 0; // when the link has sent everything queued (ms, performance time)
  const log = [];   // {url, start, end, bytes, encoding, status}
  let total = 0;
  const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
  // Reserves the link for n bytes; resolves when they have been "sent".
  const send = (n) => {
    const now = performance.now();
    linkFree = Math.max(linkFree, now) + n / bytesPerMs;
    return sleep(linkFree - now);
  };
  const server = http.createServer((req, res) => {
    const start = performance.now();
    const entry = { url: req.url, start, end: 0, bytes: 0, encoding: '', status: 0, acceptEncoding: req.headers['accept-encoding'] || '' };
    log.push(entry);
    const body = [];
    req.on('data', (c) => body.push(c));
    req.on('end', async () => {
      await sleep(rttMs / 2); // the request's way up
      const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url,
        headers: { ...req.headers, host: t.host } }, async (r) => {
        await sleep(rttMs / 2); // the first byte's way down
        const head = 200 + Object.entries(r.headers).reduce((n, [k, v]) => n + k.length + String(v).length + 4, 0);
        entry.status = r.statusCode;
        entry.encoding = r.headers['content-encoding'] || '';
        await send(head);
        entry.bytes += head;
        total += head;
        res.writeHead(r.statusCode, r.headers);
        // Chunks are paced through the shared link in arrival order.
        let chain = Promise.resolve();
        r.on('data', (c) => {
          r.pause();
          chain = chain.then(async () => {
            await send(c.length);
            entry.bytes += c.length;
            total += c.length;
            res.write(c);
            r.resume();
          });
        });
        r.on('end', () => { chain = chain.then(() => { entry.end = performance.now(); res.end(); }); });
      });
      up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
      up.end(Buffer.concat(body));
    });
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}/`,
        log,
        bytes: () => total,
        reset: () => { total = 0; log.length = 0; },
        stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}
