// The edge worker in real workerd: `wrangler dev` (wrangler 3.114.17 from
// node_modules, no account) on a loopback port serves a staged site built
// from the first 200 items of ../shared/fashion. Checks every API route
// against the built assets themselves (the neighbour file and the display
// metadata, decoded here independently of the Go code), each bad input, the
// headers next to `go run ./builder serve`'s, unknown assets and path
// traversal. wrangler and builder serve are stopped at the end, also on
// failure.
//
//   cd e2e && node --test --test-concurrency=1 worker.test.mjs
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { prepareSite, startWrangler, freePort, writeSiblings } from './bench/edge.mjs';
import { repoRoot } from './ref/common.mjs';
import { chromiumPath, launchChromium, collectErrors, waitReady } from './lib/browser.mjs';

const root = repoRoot();
const LIMIT = Number(process.env.LOOKALIKE_WORKER_LIMIT || 200);

let site; // prepareSite result
let wr; // wrangler dev
let serve; // builder serve, for comparing headers
let manifest, manifestBytes, display, nb;

/** The neighbour file (models/vecfile layout), decoded here. */
function parseNeighbors(b) {
  assert.equal(b.subarray(0, 4).toString('latin1'), 'LKNB');
  const count = b.readUInt32LE(8), K = b.readUInt32LE(12), lists = b.readUInt32LE(16);
  assert.equal(b.length, 32 + count * lists * K * 6);
  const list = (i, which) => {
    const out = [];
    const off = 32 + (i * lists + which) * K * 6;
    for (let j = 0; j < K; j++) {
      const item = b.readUInt32LE(off + j * 6);
      if (item === 0xffffffff) break;
      out.push({ item, score: (b.readUInt16LE(off + j * 6 + 4) / 65535) * 2 - 1 });
    }
    return out;
  };
  return { count, K, lists, list };
}

function assetBytes(kind) {
  const a = manifest.assets.find((x) => x.kind === kind);
  assert.ok(a, `manifest lists a ${kind} asset`);
  const parts = a.parts?.length ? a.parts.map((p) => p.file) : [a.file];
  return Buffer.concat(parts.map((f) => fs.readFileSync(path.join(site.assets, f))));
}

const sectionOf = (i) => (display.section ? display.section.values[display.section.index[i]] : '');

/** A raw GET (the path is sent exactly as given, no normalisation). */
function rawGet(base, rawPath, { method = 'GET', headers = {} } = {}) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function getJSON(p, init) {
  const r = await fetch(wr.url + p, init);
  const text = await r.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`${p}: body is not JSON: ${text.slice(0, 200)}`);
  }
  return { r, body };
}

function startServe(assets) {
  return (async () => {
    const port = await freePort();
    const child = spawn('go', ['run', './builder', 'serve', '--assets', assets, '--addr', `127.0.0.1:${port}`, '--no-build'],
      { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => { out += b; });
    child.stderr.on('data', (b) => { out += b; });
    const exited = new Promise((res) => child.once('exit', res));
    const url = `http://127.0.0.1:${port}`;
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try { process.kill(-child.pid, 'SIGTERM'); } catch {}
      await exited;
    };
    for (let t = Date.now(); ; ) {
      try {
        if ((await fetch(url + '/')).ok) break;
      } catch {}
      if (child.exitCode !== null || Date.now() - t > 180_000) {
        await stop();
        throw new Error('builder serve did not start:\n' + out);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    return { url, stop };
  })();
}

before(async () => {
  site = prepareSite({ limit: LIMIT, siblings: true });
  manifestBytes = fs.readFileSync(path.join(site.assets, 'manifest.json'));
  manifest = JSON.parse(manifestBytes);
  display = JSON.parse(assetBytes('catalog'));
  nb = parseNeighbors(assetBytes('neighbors'));
  wr = await startWrangler({ config: site.config });
  serve = await startServe(site.assets);
}, { timeout: 900_000 });

after(async () => {
  await wr?.stop();
  await serve?.stop();
});

test('the worker bundle fits the 3 MB compressed limit', () => {
  assert.ok(site.bundleBytes > 100_000, `bundle size ${site.bundleBytes} looks wrong`);
  assert.ok(site.bundleBytes <= 3_000_000, `bundle is ${site.bundleBytes} bytes compressed`);
});

test('GET /api/health: build id, item count, asset versions', async () => {
  const { r, body } = await getJSON('/api/health');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(body.build, crypto.createHash('sha256').update(manifestBytes).digest('hex'));
  assert.equal(body.item_count, manifest.item_count);
  assert.equal(body.max_k, nb.K);
  for (const a of manifest.assets.filter((x) => x.kind !== 'thumbs')) assert.equal(body.assets[a.kind], a.file);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const head = await rawGet(wr.url, '/api/health', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.match(head.headers['content-type'], /^application\/json/);
});

test('GET /api/similar/{id}: the precomputed neighbours, with display data', async () => {
  const n = display.count;
  for (const i of [0, 1, Math.floor(n / 2), n - 1]) {
    const id = display.id[i];
    const { r, body } = await getJSON(`/api/similar/${encodeURIComponent(id)}`);
    assert.equal(r.status, 200, JSON.stringify(body));
    const want = nb.list(i, nb.lists === 2 ? 1 : 0).slice(0, 10);
    assert.equal(body.id, id);
    assert.deepEqual(body.results.map((x) => x.id), want.map((x) => display.id[x.item]));
    body.results.forEach((x, j) => {
      assert.ok(Math.abs(x.score - want[j].score) < 1e-3, `score ${x.score} vs ${want[j].score}`);
      assert.equal(x.title, display.title[want[j].item]);
      assert.ok(x.thumb.startsWith(wr.url + '/assets/thumbs-'), x.thumb);
    });
    // k and the item's own section.
    const own = sectionOf(i);
    const s = await getJSON(`/api/similar/${encodeURIComponent(id)}?k=3&section=${encodeURIComponent(own)}`);
    assert.equal(s.r.status, 200);
    assert.deepEqual(s.body.results.map((x) => x.id), nb.list(i, 0).slice(0, 3).map((x) => display.id[x.item]));
    assert.ok(s.body.results.every((x) => x.section === own));
  }
  // Another section: only products of that section.
  const i = display.section.index.findIndex((v) => v === 0);
  const other = display.section.values[1];
  const o = await getJSON(`/api/similar/${encodeURIComponent(display.id[i])}?k=${nb.K}&section=${encodeURIComponent(other)}`);
  assert.equal(o.r.status, 200);
  assert.ok(o.body.results.every((x) => x.section === other), JSON.stringify(o.body.results.map((x) => x.section)));
  // The thumbnail a result names is served.
  const first = (await getJSON(`/api/similar/${encodeURIComponent(display.id[0])}?k=1`)).body.results[0];
  const t = await fetch(first.thumb.split('#')[0]);
  assert.equal(t.status, 200);
  assert.equal(t.headers.get('content-type'), 'image/jpeg');
  await t.arrayBuffer();
});

test('GET /api/products/{id}: display metadata', async () => {
  const i = display.count - 1;
  const { r, body } = await getJSON(`/api/products/${encodeURIComponent(display.id[i])}`);
  assert.equal(r.status, 200);
  assert.equal(body.id, display.id[i]);
  assert.equal(body.title, display.title[i]);
  assert.equal(body.section, sectionOf(i));
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
});

test('bad input: 400, unknown: 404, other methods: 405, all with JSON errors', async () => {
  const id = encodeURIComponent(display.id[0]);
  const cases = [
    [`/api/similar/${id}?k=0`, 400],
    [`/api/similar/${id}?k=${nb.K + 1}`, 400],
    [`/api/similar/${id}?k=abc`, 400],
    [`/api/similar/${id}?k=1&k=2`, 400],
    [`/api/similar/${id}?section=No%20such%20section`, 400],
    ['/api/similar/%zz', 400],
    ['/api/similar/%01', 400],
    [`/api/products/${'x'.repeat(300)}`, 400],
    ['/api/similar/no-such-product', 404],
    ['/api/products/no-such-product', 404],
    ['/api/nothing', 404],
    ['/api/similar', 404],
    [`/api/similar/${id}/extra`, 404],
  ];
  for (const [p, status] of cases) {
    const r = await rawGet(wr.url, p);
    assert.equal(r.status, status, `${p}: ${r.body}`);
    const body = JSON.parse(r.body);
    assert.equal(body.status, status);
    assert.ok(body.error.length > 0);
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['access-control-allow-origin'], '*');
  }
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const r = await rawGet(wr.url, '/api/health', { method });
    assert.equal(r.status, 405, method);
    assert.match(r.headers.allow, /GET/);
    assert.equal(JSON.parse(r.body).status, 405);
  }
  const r = await rawGet(wr.url, '/', { method: 'POST' });
  assert.equal(r.status, 405);
});

// The index's first file: the whole .ann, or its first part when split.
function indexFile(m) {
  const a = m.assets.find((x) => x.kind === 'index');
  return a.parts?.length ? a.parts[0].file : a.file;
}

test('static headers match builder serve; caching, types, CORS', async () => {
  const build = JSON.parse(fs.readFileSync(path.join(site.site, 'build', 'build.json'), 'utf8'));
  const cases = [
    { p: '/', type: /^text\/html/, cache: 'no-cache', html: true },
    { p: '/assets/manifest.json', type: /^application\/json/, cache: 'no-cache' },
    { p: `/build/${build.engine}`, type: /^application\/wasm$/, cache: 'public, max-age=31536000, immutable' },
    { p: `/build/${build.wasmExec}`, type: /^text\/javascript/, cache: 'public, max-age=31536000, immutable' },
    { p: `/assets/${indexFile(manifest)}`, type: /^application\/octet-stream$/, cache: 'public, max-age=31536000, immutable' },
    { p: '/app.js', type: /^text\/javascript/, cache: 'no-cache' },
    { p: '/sw.js', type: /^text\/javascript/, cache: 'no-cache' },
  ];
  if (fs.existsSync(path.join(site.site, 'lookalike.js'))) cases.push({ p: '/lookalike.js', type: /^text\/javascript/, cache: 'no-cache' });
  for (const c of cases) {
    const [a, b] = await Promise.all([fetch(wr.url + c.p), fetch(serve.url + c.p)]);
    await Promise.all([a.arrayBuffer(), b.arrayBuffer()]);
    assert.equal(a.status, 200, c.p);
    assert.equal(b.status, 200, `builder serve ${c.p}`);
    assert.match(a.headers.get('content-type'), c.type, c.p);
    assert.equal(a.headers.get('cache-control'), c.cache, c.p);
    for (const h of ['content-security-policy', 'x-content-type-options', 'cross-origin-opener-policy',
      'cross-origin-embedder-policy', 'referrer-policy', 'permissions-policy', 'content-type', 'cache-control',
      'access-control-allow-origin', 'cross-origin-resource-policy', 'service-worker-allowed', 'vary']) {
      assert.equal(a.headers.get(h), b.headers.get(h), `${c.p}: ${h} differs from builder serve`);
    }
    assert.match(a.headers.get('content-security-policy'), /script-src 'self' 'wasm-unsafe-eval'/);
    if (c.html) {
      assert.equal(a.headers.get('cross-origin-resource-policy'), 'same-origin');
    } else {
      // Other sites may load the embed script, assets and API.
      assert.equal(a.headers.get('access-control-allow-origin'), '*', c.p);
      assert.equal(a.headers.get('cross-origin-resource-policy'), 'cross-origin', c.p);
    }
  }
  const sw = await fetch(wr.url + '/sw.js');
  await sw.arrayBuffer();
  assert.equal(sw.headers.get('service-worker-allowed'), '/');
  // Revalidation keeps the headers.
  const m = await fetch(wr.url + '/assets/manifest.json');
  await m.arrayBuffer();
  const etag = m.headers.get('etag');
  if (etag) {
    const r = await rawGet(wr.url, '/assets/manifest.json', { headers: { 'if-none-match': etag } });
    assert.equal(r.status, 304);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
  }
});

test('one Go instance answers request after request (instance.mjs)', async () => {
  const seen = [];
  for (let i = 0; i < 5; i++) {
    const r = await fetch(wr.url + '/api/health');
    await r.arrayBuffer();
    seen.push(r.headers.get('lookalike-instance'));
  }
  assert.ok(seen.every(Boolean), `no Lookalike-Instance header: ${seen}`);
  const ids = seen.map((x) => x.split(' ')[0]);
  const counts = seen.map((x) => Number(x.split(' ')[1]));
  assert.equal(new Set(ids).size, 1, `instances ${ids}`);
  counts.slice(1).forEach((c, i) => assert.ok(c > counts[i], `request counts ${counts}`));
  // Concurrent requests (queued into the one instance) all answer.
  const many = await Promise.all(Array.from({ length: 30 }, (_, i) =>
    fetch(`${wr.url}/api/similar/${encodeURIComponent(display.id[i % display.count])}?k=${1 + (i % 5)}`).then(async (r) => [r.status, (await r.json()).results?.length])));
  assert.deepEqual(many.filter(([st]) => st !== 200), []);
  const after = await fetch(wr.url + '/api/health');
  await after.arrayBuffer();
  assert.equal(after.headers.get('lookalike-instance').split(' ')[0], ids[0], 'still the same instance');
});

test('OPTIONS: 204 without a body, on the API and the static path', async () => {
  for (const p of ['/api/similar/x', '/api/health', '/assets/manifest.json', '/lookalike.js']) {
    const r = await rawGet(wr.url, p, { method: 'OPTIONS', headers: { origin: 'http://shop.example', 'access-control-request-method': 'GET' } });
    assert.equal(r.status, 204, `${p}: ${r.body}`);
    assert.equal(r.body.length, 0, p);
    assert.equal(r.headers['access-control-allow-origin'], '*', p);
    assert.match(r.headers['access-control-allow-methods'] || '', /GET/, p);
  }
});

test('precompressed siblings: the same rule as builder serve', async () => {
  const files = writeSiblings(site.assets); // as prepareSite staged them
  const catalog = files.find((f) => f.startsWith('catalog-'));
  const identity = fs.readFileSync(path.join(site.assets, catalog));
  const cases = [
    ['br, gzip', 'br'], ['gzip', 'gzip'], ['br;q=0, gzip', 'gzip'], ['identity', null], ['', null],
  ];
  for (const [accept, enc] of cases) {
    // wrangler dev's local proxy (undici) fills in its own Accept-Encoding
    // when a request has none: only builder serve sees an empty one.
    for (const base of accept ? [wr.url, serve.url] : [serve.url]) {
      const r = await rawGet(base, `/assets/${catalog}`, { headers: { 'accept-encoding': accept } });
      const who = `${base === wr.url ? 'worker' : 'builder serve'} ${accept || '(none)'}`;
      assert.equal(r.status, 200, who);
      assert.equal(r.headers['content-encoding'], enc ?? undefined, who);
      assert.equal(r.headers['content-type'], 'application/json', who);
      assert.equal(r.headers.vary, 'Accept-Encoding', who);
      assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable', who);
      assert.equal(r.headers['access-control-allow-origin'], '*', who);
      // builder serve sends the sibling's bytes; workerd under wrangler dev
      // may re-encode gzip on its way out (its local proxy worker): the
      // decoded bytes are the file's either way.
      const decoded = enc === 'br' ? zlib.brotliDecompressSync(r.body) : enc === 'gzip' ? zlib.gunzipSync(r.body) : r.body;
      assert.ok(decoded.equals(identity), `${who}: decodes to ${decoded.length} bytes, want ${identity.length}`);
      if (base === serve.url && enc) {
        const sib = fs.readFileSync(path.join(site.assets, catalog + (enc === 'br' ? '.br' : '.gz')));
        assert.ok(r.body.equals(sib), `${who}: not the sibling's bytes`);
      }
      if (r.headers['content-length'] !== undefined) assert.equal(Number(r.headers['content-length']), r.body.length, who);
    }
  }
  // A Range is of the file's own bytes, never of an encoded body. builder
  // serve answers 206; Workers assets under wrangler dev ignore Range (200,
  // the whole file, which wrangler's local server may compress on the fly
  // as Cloudflare does).
  for (const base of [wr.url, serve.url]) {
    const r = await rawGet(base, `/assets/${catalog}`, { headers: { 'accept-encoding': 'br, gzip', range: 'bytes=0-9' } });
    if (base === serve.url) {
      assert.equal(r.status, 206);
      assert.equal(r.headers['content-encoding'], undefined);
      assert.ok(r.body.equals(identity.subarray(0, 10)));
      continue;
    }
    assert.equal(r.status, 200, 'range on the worker');
    const enc = r.headers['content-encoding'];
    const decoded = enc === 'br' ? zlib.brotliDecompressSync(r.body) : enc === 'gzip' ? zlib.gunzipSync(r.body) : r.body;
    assert.ok(decoded.equals(identity), `range on the worker: ${enc} body decodes to ${decoded.length} bytes`);
  }
  // A sibling is not a resource of its own.
  for (const p of [`/assets/${catalog}.br`, `/assets/${catalog}.gz`, '/assets/manifest.json.gz']) {
    for (const base of [wr.url, serve.url]) {
      const r = await rawGet(base, p, { headers: { 'accept-encoding': 'br, gzip' } });
      assert.equal(r.status, 404, `${base} ${p}`);
    }
  }
  // A file without siblings: no Vary, no encoding.
  const plainFile = await rawGet(wr.url, `/assets/${indexFile(manifest)}`, { headers: { 'accept-encoding': 'br, gzip', range: 'bytes=0-3' } });
  assert.equal(plainFile.headers['content-encoding'], undefined);
  assert.equal(plainFile.headers.vary, undefined);
});

test('unknown assets are 404; no path traversal; edge lookup files are not public', async () => {
  const paths = [
    '/assets/nothing-0123456789ab.bin', '/nothing.html', '/build/nothing.js',
    '/../wrangler.toml', '/assets/../../go.mod', '/%2e%2e/%2e%2e/etc/passwd', '/assets/..%2f..%2fgo.mod',
    '/assets/%2e%2e%2fmanifest.json', '/..%5c..%5cgo.mod', '/_worker/meta.json', '/_worker/ids-0.txt',
    '/assets/../_worker/meta.json', '/.lookalike-site', '/.assetsignore', '/assets/.hidden', '/%00', '/_headers',
    '/_worker/encodings.json',
  ];
  for (const p of paths) {
    const r = await rawGet(wr.url, p);
    assert.ok(r.status === 404 || r.status === 400, `${p}: status ${r.status}`);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
    const text = r.body.toString();
    assert.ok(!text.includes('module github.com') && !text.includes('lookalike-edge') && !text.includes('root:'), `${p} leaked: ${text.slice(0, 100)}`);
  }
});

test('without the ASSETS binding (wrangler dev --assets DIR): clear errors, no stack traces', async () => {
  const w = await startWrangler({ config: site.config, extraArgs: ['--assets', site.site], readyPath: '/', readyStatus: 503 });
  try {
    for (const [p, status, type] of [['/', 503, /^text\/plain/], ['/assets/manifest.json', 503, /^text\/plain/], ['/api/health', 500, /^application\/json/]]) {
      const r = await rawGet(w.url, p);
      const text = r.body.toString();
      assert.equal(r.status, status, `${p}: ${text}`);
      assert.match(r.headers['content-type'], type, p);
      assert.match(text, /ASSETS|internal error/, p);
      assert.ok(!/TypeError|\bat \w+ \(|entry\.mjs|\.go:\d/.test(text), `${p} leaks a stack trace: ${text}`);
    }
  } finally {
    await w.stop();
  }
});

test('node wasm/worker/wrangler.mjs (make demo): wrangler quiet, our "open" line last', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['wasm/worker/wrangler.mjs', '--port', String(port), '--config', site.config],
    { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => { out += b; });
  child.stderr.on('data', (b) => { out += b; });
  const exited = new Promise((res) => child.once('exit', res));
  try {
    for (let t = Date.now(); !/open http/.test(out); ) {
      if (child.exitCode !== null || Date.now() - t > 180_000) assert.fail(`no "open" line:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1000)); // anything wrangler prints late
    const r = await fetch(`http://127.0.0.1:${port}/api/health`);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const lines = out.trim().split('\n');
    assert.match(lines[lines.length - 1], new RegExp(`^Lookalike: open http://127\\.0\\.0\\.1:${port}/ `));
    assert.ok(!/ENOTFOUND|out-of-date|wrangler@4|Request\.cf|\bat \w+ \(/.test(out), `noise:\n${out}`);
  } finally {
    try { process.kill(-child.pid, 'SIGINT'); } catch {}
    await exited;
  }
});

test('the page loads its engine in Chromium under the worker\'s headers (CSP, COEP)', async (t) => {
  try {
    chromiumPath();
  } catch (e) {
    t.skip(e.message);
    return;
  }
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = collectErrors(page);
    const blocked = [];
    page.on('requestfailed', (r) => blocked.push(`${r.url()}: ${r.failure()?.errorText}`));
    await page.goto(wr.url + '/');
    await waitReady(page, 300_000);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true, 'COOP + COEP make the page cross-origin isolated');
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors.filter((e) => /Content Security Policy|Cross-Origin|CORP|blocked/i.test(e)), []);
  } finally {
    await browser.close();
  }
});
