// run.mjs — Node runner for GOOS=js GOARCH=wasm programs and test binaries
// with the Lookalike SIMD GEMM kernel attached. Started by go_js_wasm_exec;
// behaves like Go's own lib/wasm/wasm_exec_node.js (argv, env, exit code,
// stdout/stderr, deadlock report) and adds the `lookalike` import module.
//
// Environment:
//   LOOKALIKE_WASM_KERNEL=        which kernel build to load:
//     auto (or unset)             fma where relaxed SIMD compiles (Node 20: the
//                                 runner turns on V8's flag), else simd128
//     fma | simd128               that build (fma fails where unsupported)
//     off                         none: Go's portable GEMM runs
//   LOOKALIKE_SGEMM_WASM=FILE     load this prebuilt kernel file instead of
//                                 assembling wasm/kernels/sgemm.wat (the build
//                                 is cached under .cache/wasm-kernels at the
//                                 repository root)
//   LOOKALIKE_WASM_THREADS=N      share the int8 GEMMs among N threads: this
//                                 one and N−1 worker_threads helpers running
//                                 the kernel's shared build (wasm/kernels/
//                                 pool.js); "auto" = one per core; default 1
//   GOROOT                        where lib/wasm/wasm_exec.js is read from
//                                 (default: `go env GOROOT`)
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { Worker } from "node:worker_threads";
import { addKernelImports, relaxedSimdSupported } from "../kernels/loader.js";
import { cachedKernel } from "../kernels/build.mjs";
import { createPool, poolSupported } from "../kernels/pool.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..", "..");

if (process.argv.length < 3) {
  console.error("usage: go_js_wasm_exec [wasm binary] [arguments]");
  process.exit(1);
}

function goroot() {
  if (process.env.GOROOT) return process.env.GOROOT;
  try {
    return execFileSync("go", ["env", "GOROOT"], { encoding: "utf8" }).trim();
  } catch (err) {
    console.error(`go_js_wasm_exec: cannot find GOROOT (set GOROOT): ${err.message}`);
    process.exit(1);
  }
}

// kernelVariant resolves LOOKALIKE_WASM_KERNEL to "fma", "simd128" or "off".
function kernelVariant() {
  const want = process.env.LOOKALIKE_WASM_KERNEL || "auto";
  if (want === "off" || want === "simd128") return want;
  if (want !== "auto" && want !== "fma") {
    throw new Error(`LOOKALIKE_WASM_KERNEL=${want}: want auto, fma, simd128 or off`);
  }
  // Node 20 has relaxed SIMD behind a flag; later versions ship it (and may
  // not know the flag, so only set it when needed).
  if (!relaxedSimdSupported()) v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  if (relaxedSimdSupported()) return "fma";
  if (want === "fma") throw new Error("LOOKALIKE_WASM_KERNEL=fma: this Node has no relaxed SIMD");
  return "simd128";
}

// threadCount resolves LOOKALIKE_WASM_THREADS.
function threadCount() {
  const v = process.env.LOOKALIKE_WASM_THREADS || "1";
  if (v === "auto") return os.availableParallelism?.() ?? os.cpus().length;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`go_js_wasm_exec: LOOKALIKE_WASM_THREADS=${v}: want a count or auto`);
    process.exit(1);
  }
  return n;
}

async function kernelBytes(variant) {
  const file = process.env.LOOKALIKE_SGEMM_WASM;
  if (file) return fs.readFileSync(file);
  return cachedKernel(path.join(repoRoot, ".cache", "wasm-kernels"), variant);
}

// The globals wasm_exec.js expects under Node, as Go's wrapper sets them.
const require = createRequire(import.meta.url);
globalThis.require = require;
globalThis.fs = fs;
globalThis.path = path;
globalThis.TextEncoder ??= require("node:util").TextEncoder;
globalThis.TextDecoder ??= require("node:util").TextDecoder;
globalThis.performance ??= require("node:perf_hooks").performance;
globalThis.crypto ??= require("node:crypto").webcrypto;
require(path.join(goroot(), "lib", "wasm", "wasm_exec.js"));

const go = new globalThis.Go();
go.argv = process.argv.slice(2);
go.env = Object.assign({ TMPDIR: os.tmpdir() }, process.env);
go.exit = process.exit;
const kernel = addKernelImports(go.importObject);

// Not awaited at top level: a Go deadlock leaves the promise pending, and
// Node must then exit with code 0 for the handler below to see it.
main().catch((err) => {
  console.error(err);
  process.exit(1);
});

async function main() {
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(process.argv[2]), go.importObject);
  let variant;
  try {
    variant = kernelVariant();
  } catch (err) {
    console.error(`go_js_wasm_exec: ${err.message}`);
    process.exit(1);
  }
  if (variant !== "off") {
    try {
      await kernel.load(instance, await kernelBytes(variant));
    } catch (err) {
      console.error(`go_js_wasm_exec: loading the SIMD kernel: ${err.message}`);
      console.error("go_js_wasm_exec: set LOOKALIKE_WASM_KERNEL=off to run without it");
      process.exit(1);
    }
    const threads = threadCount();
    if (threads > 1) {
      try {
        if (!poolSupported()) throw new Error("no shared WebAssembly memory here");
        const shared = await WebAssembly.compile(await cachedKernel(path.join(repoRoot, ".cache", "wasm-kernels"), `${variant}-shared`));
        const pool = await createPool({ kernel: shared, helpers: threads - 1, spawn: (u) => new Worker(u) });
        kernel.attachPool(pool.bind(kernel.exports, instance.exports.mem));
      } catch (err) {
        console.error(`go_js_wasm_exec: LOOKALIKE_WASM_THREADS=${threads}: ${err.message}`);
        process.exit(1);
      }
    }
  }
  process.on("exit", (code) => {
    // Node exits when no event is pending: if Go has not exited, it is
    // deadlocked; resume it so it prints the error and its stacks.
    if (code === 0 && !go.exited) {
      go._pendingEvent = { id: 0 };
      go._resume();
    }
  });
  await go.run(instance);
}
