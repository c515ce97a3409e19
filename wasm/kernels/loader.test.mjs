// Tests for loader.js: node --test wasm/kernels/
// The kernel is attached to a stand-in "Go instance" that only exports a
// memory, then called through the trampoline the way Go calls it.
import test from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import { addKernelImports, kernelFile, KERNEL_IMPORTS, relaxedSimdSupported, stubKernelImports } from "./loader.js";
import { assemble } from "./build.mjs";

// Node 20 compiles relaxed SIMD only behind V8's flag.
if (!relaxedSimdSupported()) v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
const wasm = await assemble("simd128");
const wasmFMA = await assemble("fma");

// fakeGo mimics what loader.js needs of a Go instance: exports.mem.
function fakeGo() {
  return { exports: { mem: new WebAssembly.Memory({ initial: 1 }) } };
}

// gemm2x3 runs C[2×3] = A[2×2]·B[2×3] through the trampoline at fixed offsets.
function gemm2x3(importObject, mem) {
  const f = new Float32Array(mem.buffer);
  f.set([1, 2, 3, 4], 0); // A at byte 0
  f.set([1, 0, 2, 0, 1, 3], 16); // B at byte 64
  f.fill(-1, 32, 38); // C at byte 128
  const handled = importObject.lookalike.sgemm(2, 3, 2, 0, 2, 64, 3, 128, 3, 0, 256, 2, 3);
  return { handled, c: Array.from(f.subarray(32, 38)) };
}

const sources = {
  bytes: () => wasm,
  "bytes of the fma build": () => wasmFMA,
  module: () => WebAssembly.compile(wasm),
  response: () => new Response(wasm, { headers: { "Content-Type": "application/wasm" } }),
  "promise of response": () => Promise.resolve(new Response(wasm)),
};

for (const [name, source] of Object.entries(sources)) {
  test(`load from ${name}`, async () => {
    const importObject = {};
    const kernel = addKernelImports(importObject);
    const go = fakeGo();
    assert.equal(kernel.loaded, false);
    assert.deepEqual(gemm2x3(importObject, go.exports.mem), { handled: 0, c: [-1, -1, -1, -1, -1, -1] });
    await kernel.load(go, await source());
    assert.equal(kernel.loaded, true);
    assert.deepEqual(gemm2x3(importObject, go.exports.mem), { handled: 1, c: [1, 2, 8, 3, 4, 18] });
    kernel.unload();
    assert.equal(gemm2x3(importObject, go.exports.mem).handled, 0);
  });
}

test("kernelFile picks the fma build where relaxed SIMD compiles", () => {
  assert.equal(relaxedSimdSupported(), true);
  assert.equal(kernelFile(), "sgemm-fma.wasm");
  assert.equal(WebAssembly.validate(wasmFMA), true);
});

test("memory growth is seen by the kernel", async () => {
  const importObject = {};
  const kernel = addKernelImports(importObject);
  const go = fakeGo();
  await kernel.load(go, wasm);
  go.exports.mem.grow(3);
  const f = new Float32Array(go.exports.mem.buffer);
  const base = 3 * 65536; // in the new pages
  f.set([2], base / 4);
  f.set([5], base / 4 + 1);
  assert.equal(importObject.lookalike.sgemm(1, 1, 1, base, 1, base + 4, 1, base + 8, 1, 0, base + 64, 1, 1), 1);
  assert.equal(new Float32Array(go.exports.mem.buffer)[base / 4 + 2], 10);
});

test("errors", async () => {
  const kernel = addKernelImports({});
  await assert.rejects(kernel.load({ exports: {} }, wasm), /exports no memory/);
  await assert.rejects(kernel.load(fakeGo(), new Response("nope", { status: 404 })), /HTTP 404/);
  await assert.rejects(kernel.load(fakeGo(), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1])));
  assert.equal(kernel.loaded, false);
});

// qgemm2x3 runs the int8 GEMM C[2×3] = A[2×5]·B[5×3] (rs 1, bias 0.5)
// through the trampoline; A packed as qgemm.wat reads it ([kq][4][4] int8).
function qgemm2x3(importObject, mem, flags) {
  const u8 = new Uint8Array(mem.buffer);
  const i8 = new Int8Array(mem.buffer);
  const f = new Float32Array(mem.buffer);
  const A = [[1, -2, 3, 127, -127], [0, 5, -6, 7, 8]];
  const B = [[1, 2, 3], [255, 0, 7], [9, 200, 11], [12, 13, 14], [128, 16, 255]];
  u8.fill(0, 0, 4096);
  for (let r = 0; r < 2; r++) for (let p = 0; p < 5; p++) i8[(p >> 2) * 16 + r * 4 + (p & 3)] = A[r][p];
  for (let p = 0; p < 5; p++) for (let j = 0; j < 3; j++) u8[256 + p * 3 + j] = B[p][j];
  f.fill(1, 512 / 4, 512 / 4 + 48); // rs
  f.fill(0.5, 768 / 4, 768 / 4 + 48); // bias
  f[1536 / 4] = -Infinity;
  const handled = importObject.lookalike.qgemm(2, 3, 5, 0, 256, 3, 1024, 3, 512, 768, flags | 8, 2048, 8, 1, 1536);
  const want = [];
  for (let r = 0; r < 2; r++) for (let j = 0; j < 3; j++) {
    let s = 0;
    for (let p = 0; p < 5; p++) s += A[r][p] * B[p][j];
    want.push(s + 0.5);
  }
  return { handled, c: Array.from(f.subarray(1024 / 4, 1024 / 4 + 6)), want, max: f[1536 / 4] };
}

test("int8 kernels through the trampoline", async () => {
  for (const [build, bytes] of [["simd128", wasm], ["fma", wasmFMA]]) {
    const importObject = {};
    const kernel = addKernelImports(importObject);
    const go = fakeGo();
    assert.equal(qgemm2x3(importObject, go.exports.mem, 0).handled, 0, `${build}: answers before load`);
    await kernel.load(go, bytes);
    const r = qgemm2x3(importObject, go.exports.mem, 0);
    assert.equal(r.handled, 1, build);
    assert.deepEqual(r.c, r.want, build);
    assert.equal(r.max, Math.max(...r.want), `${build}: largest value written`);
    // The relaxed dot tile exists only in the fma build; where it is exact
    // (VNNI) it agrees, elsewhere Go does not use it (it probes first).
    assert.equal(qgemm2x3(importObject, go.exports.mem, 4).handled, build === "fma" ? 1 : 0, `${build}: dot tile`);
    // quantize: clamp(round(x·inv) + z) with ties to even, NaN as 0.
    const f = new Float32Array(go.exports.mem.buffer);
    f.set([0.5, 1.5, 2.5, -3, 1000, NaN, 7.25, 0, 0.5, 1.5, 2.5, -3, 1000, NaN, 7.25, 0, 2.5], 1024);
    assert.equal(importObject.lookalike.quantize(4096, 17, 1, 10, 8192), 1);
    assert.deepEqual(Array.from(new Uint8Array(go.exports.mem.buffer, 8192, 17)),
      [10, 12, 12, 7, 255, 0, 17, 10, 10, 12, 12, 7, 255, 0, 17, 10, 12]);
    assert.equal(importObject.lookalike.minmax(4096, 5, 8192), 1);
    assert.deepEqual(Array.from(new Float32Array(go.exports.mem.buffer, 8192, 2)), [-3, 1000]);
  }
});

test("stubKernelImports answers 0 for every import", () => {
  const importObject = {};
  stubKernelImports(importObject);
  assert.deepEqual(Object.keys(importObject.lookalike).sort(), [...KERNEL_IMPORTS].sort());
  for (const name of KERNEL_IMPORTS) assert.equal(importObject.lookalike[name](1, 2, 3), 0);
});
