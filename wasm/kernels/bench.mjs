// bench.mjs — GFLOP/s of both kernel builds on ResNet50's convolution GEMM
// shapes, called straight from JS (no Go): the kernel's own ceiling, to
// set beside `go test -bench WasmGemm` in models/engine (kernel vs Go).
// The int8 columns count a multiply-add as two operations too (GOP/s):
// qgemm's plain SIMD128 tile, and its relaxed dot tile where this runtime
// has it (inexact where it saturates, so timed only).
//
//   node wasm/kernels/bench.mjs            (ROUNDS=10 by default)
//
// Times are process CPU time, best of ROUNDS, so other busy processes on a
// shared machine distort them less than wall time would.
import v8 from "node:v8";
import { assemble } from "./build.mjs";
import { relaxedSimdSupported } from "./loader.js";

if (!relaxedSimdSupported()) v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
const builds = ["simd128"];
if (relaxedSimdSupported()) builds.push("fma");

// (outC, H·W, inC·kh·kw) of Keras ResNet50 at 224×224.
const shapes = [
  [64, 12544, 147], [64, 3136, 576], [256, 3136, 64], [64, 3136, 256], [128, 784, 1152],
  [512, 784, 256], [256, 196, 2304], [1024, 196, 256], [2048, 49, 512], [512, 49, 4608],
];
const rounds = Number(process.env.ROUNDS || 10);

// One memory for all builds, laid out like Go would hand it over.
const mem = new WebAssembly.Memory({ initial: 1024 }); // 64 MiB
const f32 = new Float32Array(mem.buffer);
for (let i = 0; i < f32.length; i++) f32[i] = Math.random() - 0.5;
const kernels = [];
const names = [];
for (const build of builds) {
  const { instance } = await WebAssembly.instantiate(await assemble(build), { env: { mem } });
  const { sgemm, qgemm } = instance.exports;
  kernels.push((m, n, k, a, b, c, ws, kc, nc) => sgemm(m, n, k, a, k, b, n, c, n, 0, ws, kc, nc));
  names.push(`${build} GFLOP/s`);
  if (build === "simd128") {
    kernels.push((m, n, k, a, b, c, ws) => qgemm(m, n, k, a, b, n, c, n, a, a, 0, ws, qBlock(k, n), 0));
    names.push("int8 GOP/s");
  } else {
    kernels.push((m, n, k, a, b, c, ws) => qgemm(m, n, k, a, b, n, c, n, a, a, 4, ws, qBlock(k, n), 0));
    names.push("int8 dot GOP/s");
  }
}

// Same as models/engine/qgemm_wasm.go: a packed B block of at most 256 KiB.
function qBlock(k, n) {
  const kq = Math.ceil(k / 4);
  return Math.max(8, Math.min(Math.floor((256 << 10) / (8 * kq)), Math.ceil(n / 8) * 8) & ~7);
}

// Same blocking as models/engine/gemm_wasm.go.
const block = (total, max, align) => {
  const size = Math.ceil(total / Math.ceil(total / max));
  return Math.ceil(size / align) * align;
};

console.log(["m×n×k".padEnd(16), ...names.map((b) => b.padStart(18))].join(""));
for (const [m, n, k] of shapes) {
  const a = 64, b = a + 4 * m * k, c = b + 4 * k * n, ws = c + 4 * m * n;
  const kc = block(k, 256, 4), nc = block(n, 1024, 8);
  const best = kernels.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    kernels.forEach((run, i) => {
      const t0 = process.cpuUsage();
      run(m, n, k, a, b, c, ws, kc, nc);
      const d = process.cpuUsage(t0);
      best[i] = Math.min(best[i], (d.user + d.system) / 1e6);
    });
  }
  const gflops = best.map((s) => ((2 * m * n * k) / s / 1e9).toFixed(1).padStart(18));
  console.log([`${m}×${n}×${k}`.padEnd(16), ...gflops].join(""));
}
