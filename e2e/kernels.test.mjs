// The SIMD kernels in real headless Chromium: the relaxed-SIMD int8 dot
// tile against the plain one, and the shopper's page with and without
// cross-origin isolation (its GEMM pool of helper workers against one
// worker): the same answers, bit for bit.
//
//   cd e2e && node --test --test-concurrency=1 kernels.test.mjs
//
// `builder serve` (like the edge worker) sends Cross-Origin-Opener-Policy:
// same-origin and Cross-Origin-Embedder-Policy: require-corp, which make the
// page cross-origin isolated — what the pool needs. A proxy in front of it
// strips the two, as a site owner's page without them would be.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { buildFixture } from './lib/fixture.mjs';
import { startServe, startRecordingProxy } from './lib/server.mjs';
import { launchChromium, collectErrors, waitReady, searchFile } from './lib/browser.mjs';

const NO_ISOLATION = { 'Cross-Origin-Opener-Policy': null, 'Cross-Origin-Embedder-Policy': null };

let fx, srv, plain, isolated, browser;

before(async () => {
  fx = await buildFixture({ size: 3000, log: () => {} });
  srv = await startServe({ assets: fx.assets });
  plain = await startRecordingProxy(srv.url, { headers: NO_ISOLATION });
  isolated = await startRecordingProxy(srv.url);
  browser = await launchChromium();
}, { timeout: 1_800_000 });

after(async () => {
  await browser?.close().catch(() => {});
  await plain?.stop();
  await isolated?.stop();
  await srv?.stop();
});

test('relaxed dot tile gives the plain tile\'s numbers where Chromium runs it exactly', async (t) => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${plain.url}build/build.json`);
  const r = await page.evaluate(async () => {
    const build = await (await fetch('/build/build.json')).json();
    const bytes = await (await fetch(`/build/${build.kernels['sgemm-fma.wasm']}`)).arrayBuffer();
    const mem = new WebAssembly.Memory({ initial: 256 });
    const { instance: { exports: k } } = await WebAssembly.instantiate(bytes, { env: { mem } });
    const u8 = new Uint8Array(mem.buffer);
    const f = new Float32Array(mem.buffer);
    let seed = 11;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8);
    const out = { cases: 0, mismatches: 0 };
    for (const [m, n, kk] of [[64, 300, 200], [37, 129, 515], [13, 49, 4608], [4, 8, 4]]) {
      const kq = (kk + 3) >> 2;
      const a = 1024, b = a + 16 * kq * Math.ceil(m / 4), al = (x) => (x + 63) & ~63;
      const c0 = al(b + kk * n + 64), c1 = al(c0 + 4 * m * n + 64), rs = al(c1 + 4 * m * n + 64), bias = rs + 4 * (m + 48), ws = bias + 4 * (m + 48);
      for (let i = a; i < b; i++) u8[i] = rnd() % 255 + 129; // −127..127 as bytes
      for (let i = b; i < b + kk * n; i++) u8[i] = rnd() & 255;
      for (let i = b; i < b + n; i++) u8[i] = 255; // the extremes a saturating dot gets wrong
      for (let i = 0; i < m + 48; i++) { f[rs / 4 + i] = 1; f[bias / 4 + i] = 0; }
      const ncb = Math.max(8, Math.min(Math.floor((256 << 10) / (8 * kq)), Math.ceil(n / 8) * 8) & ~7);
      k.qgemm(m, n, kk, a, b, n, c0, n, rs, bias, 0, ws, ncb);
      k.qgemm(m, n, kk, a, b, n, c1, n, rs, bias, 4, ws, ncb);
      const x = new Uint32Array(mem.buffer, c0, m * n), y = new Uint32Array(mem.buffer, c1, m * n);
      out.cases++;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) { out.mismatches++; break; }
    }
    return out;
  });
  await ctx.close();
  // Go uses the dot tile only when its start-up probe finds it exact; on a
  // CPU without VNNI it is not, and then this comparison says nothing.
  if (r.mismatches > 0) {
    t.skip(`this CPU's relaxed dot product is not exact (${r.mismatches}/${r.cases} cases differ): Go keeps the plain tile`);
    return;
  }
  assert.equal(r.cases, 4);
});

async function openPage(base) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.addInitScript(() => localStorage.setItem('lookalike.personal', 'off'));
  const page = await ctx.newPage();
  const errors = collectErrors(page);
  await page.goto(base);
  await waitReady(page);
  const info = await page.evaluate(() => ({ isolated: self.crossOriginIsolated, engine: document.getElementById('engine-info')?.textContent || '' }));
  return { ctx, page, errors, info };
}

test('cross-origin isolated page shares the GEMMs among workers and finds the very same products', { timeout: 600_000 }, async () => {
  const a = await openPage(plain.url);
  const b = await openPage(isolated.url);
  try {
    assert.equal(a.info.isolated, false);
    assert.equal(b.info.isolated, true, 'builder serve\'s COOP/COEP make the page cross-origin isolated');
    assert.match(a.info.engine, /SIMD kernel.*one (worker|core)/, a.info.engine);
    const cores = await b.page.evaluate(() => navigator.hardwareConcurrency);
    if (cores > 1) assert.match(b.info.engine, /helper worker/, b.info.engine);
    const photos = fx.queries.filter((q) => fs.existsSync(q.imagePath)).slice(0, 3).map((q) => q.imagePath);
    for (const p of photos) {
      const ra = await searchFile(a.page, p);
      const rb = await searchFile(b.page, p);
      assert.equal(ra.state, 'results', `${p}: ${ra.error}`);
      assert.deepEqual(rb.ids, ra.ids, `${p}: the pool's answer differs from one worker's`);
    }
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
  } finally {
    await a.ctx.close();
    await b.ctx.close();
  }
});
