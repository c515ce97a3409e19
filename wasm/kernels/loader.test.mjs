// Tests for loader.js: node --test wasm/kernels/
// The kernel is attached to a stand-in "Go instance" that only exports a
// memory, then called through the trampoline the way Go calls it.
import test from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import { addKernelImports, kernelFile, relaxedSimdSupported } from "./loader.js";
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
