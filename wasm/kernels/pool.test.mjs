// Tests for pool.js: node --test wasm/kernels/
// A stand-in "Go instance" (a plain memory with the kernel on it) and a pool
// of worker_threads helpers: int8 GEMMs through the pool must give exactly
// what the kernel alone gives, and the pool must really share them.
import test from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { assemble } from "./build.mjs";
import { createPool, poolSupported, POOL_MIN_WORK } from "./pool.js";

test("pool: same numbers as one thread, work shared", async (t) => {
  assert.equal(poolSupported(), true, "Node has shared WebAssembly memory");
  const goMem = new WebAssembly.Memory({ initial: 256 }); // 16 MiB, not shared, like Go's
  const { instance } = await WebAssembly.instantiate(await assemble("simd128"), { env: { mem: goMem } });
  const k = instance.exports;
  const pool = await createPool({ kernel: await WebAssembly.compile(await assemble("simd128-shared")), helpers: 2, spawn: (u) => new Worker(u) });
  t.after(() => pool.close());
  const qgemm = pool.bind(k, goMem);
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8);
  for (const [m, n, kk, flags] of [[64, 300, 200, 0], [37, 129, 515, 3], [200, 49, 576, 2], [8, 8, 8, 1]]) {
    const kq = (kk + 3) >> 2;
    const al = (x) => (x + 63) & ~63;
    const a = 1024, b = a + 16 * kq * Math.ceil(m / 4), c0 = al(b + kk * n + 64);
    const c1 = c0 + 4 * m * n + 64, rs = c1 + 4 * m * n + 64, bias = rs + 4 * (m + 48), mx = bias + 4 * (m + 48), ws = mx + 64;
    const u8 = new Uint8Array(goMem.buffer);
    for (let i = a; i < b; i++) u8[i] = rnd() & 255;
    for (let i = b; i < b + kk * n; i++) u8[i] = rnd() & 255;
    const f = new Float32Array(goMem.buffer);
    for (let i = 0; i < m + 48; i++) {
      f[rs / 4 + i] = (rnd() % 1000) * 1e-6;
      f[bias / 4 + i] = (rnd() % 1000) * 1e-3 - 0.5;
    }
    for (let i = 0; i < m * n; i++) f[c0 / 4 + i] = f[c1 / 4 + i] = (rnd() % 1000) * 1e-3;
    const ncb = Math.max(8, Math.min(Math.floor((256 << 10) / (8 * kq)), Math.ceil(n / 8) * 8) & ~7);
    const jobs = pool.stats.jobs;
    f[mx / 4] = f[mx / 4 + 1] = -Infinity;
    assert.equal(k.qgemm(m, n, kk, a, b, n, c0, n, rs, bias, flags | 8, ws, ncb, mx), 1);
    assert.equal(qgemm(m, n, kk, a, b, n, c1, n, rs, bias, flags | 8, ws, ncb, 1 + m, mx + 4), 1);
    assert.equal(f[mx / 4 + 1], f[mx / 4], `${m}×${n}×${kk}: the pool's largest value`);
    assert.deepEqual(new Uint32Array(goMem.buffer, c1, m * n), new Uint32Array(goMem.buffer, c0, m * n), `${m}×${n}×${kk}`);
    assert.equal(pool.stats.jobs - jobs, m * n * kk >= POOL_MIN_WORK ? 1 : 0, `${m}×${n}×${kk}: shared`);
  }
});

test("pool: the first job right after start is never missed", async () => {
  const shared = await WebAssembly.compile(await assemble("simd128-shared"));
  const goMem = new WebAssembly.Memory({ initial: 64 });
  const { instance } = await WebAssembly.instantiate(await assemble("simd128"), { env: { mem: goMem } });
  for (let round = 0; round < 5; round++) {
    const pool = await createPool({ kernel: shared, helpers: 3, spawn: (u) => new Worker(u) });
    // 64×256×256: large enough to be shared; zero data, so C = bias = 0.
    const r = pool.bind(instance.exports, goMem)(64, 256, 256, 0, 65536, 256, 131072, 256, 1048576, 1048576, 0, 1049600, 64, 99, 0);
    assert.equal(r, 1);
    assert.equal(pool.stats.jobs, 1, `round ${round}`);
    pool.close();
  }
});
