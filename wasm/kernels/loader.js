// loader.js — wires the SIMD128 kernel module (sgemm.wasm: the float32 GEMM
// and the int8 GEMM with its quantiser, min/max scan and byte im2col) into a
// Go js/wasm instance. Plain ES module, no dependencies; runs in browsers,
// Web Workers and Node 20.
//
// The Go program declares `//go:wasmimport lookalike sgemm` (and qgemm,
// quantize, minmax, im2col8, maxpool, qweights: KERNEL_IMPORTS), so its module cannot be
// instantiated without a `lookalike` import. The kernel, in turn,
// imports Go's memory, which only exists once Go is instantiated. So the
// import is a late-bound trampoline: it answers 0 ("not handled", Go uses its
// portable path) until the kernel is loaded. Load it before go.run: Go's
// engine checks once, at start-up, whether the kernel answers.
//
// Two builds of the kernel exist (wasm/kernels/build.mjs): sgemm-fma.wasm
// needs relaxed SIMD, sgemm.wasm only SIMD128; kernelFile() picks one.
//
//   const go = new Go();
//   const kernel = addKernelImports(go.importObject);
//   const { instance } = await WebAssembly.instantiateStreaming(fetch("engine.wasm"), go.importObject);
//   try { await kernel.load(instance, fetch(kernelFile())); } catch (e) { /* no SIMD: pure Go */ }
//   go.run(instance);

// A module whose one function uses f32x4.relaxed_madd.
const relaxedProbe = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0,
  32, 1, 32, 2, 253, 133, 2, 11,
]);

/** Reports whether this runtime compiles relaxed SIMD (f32x4.relaxed_madd). */
export function relaxedSimdSupported() {
  return WebAssembly.validate(relaxedProbe);
}

/**
 * Names the kernel build to fetch here: "sgemm-fma.wasm" where relaxed SIMD
 * is available, "sgemm.wasm" otherwise.
 */
export function kernelFile() {
  return relaxedSimdSupported() ? "sgemm-fma.wasm" : "sgemm.wasm";
}

/**
 * The functions Go imports from the `lookalike` module, each exported by the
 * kernel under the same name. Every one answers 0 ("not handled") until the
 * kernel is loaded; a host without the loader can stub them all so (see
 * stubKernelImports).
 */
export const KERNEL_IMPORTS = ["sgemm", "qgemm", "quantize", "minmax", "im2col8", "maxpool", "qweights"];

/** Sets importObject.lookalike to stubs that all answer 0: Go's portable path. */
export function stubKernelImports(importObject) {
  importObject.lookalike = Object.fromEntries(KERNEL_IMPORTS.map((name) => [name, () => 0]));
}

/**
 * Adds the `lookalike` import module to a Go importObject (in place) and
 * returns a handle that loads the kernel once Go has been instantiated.
 *
 * @param {WebAssembly.Imports} importObject the Go instance's importObject (`go.importObject`)
 * @returns {{load(goInstance: WebAssembly.Instance, source: any): Promise<void>, unload(): void,
 *   readonly loaded: boolean, readonly exports: object|null}}
 */
export function addKernelImports(importObject) {
  let k = null; // the kernel instance's exports
  let pool = null; // a GEMM pool's qgemm (pool.js), when attached
  importObject.lookalike = {
    // Arguments: m, n, k, a, lda, b, ldb, c, ldc, accumulate, scratch, kc, nc
    // (see sgemm.wat). Returns 1 when C was written, 0 when Go must do it.
    sgemm(m, n, kk, a, lda, b, ldb, c, ldc, accumulate, ws, kc, nc) {
      if (k === null) return 0;
      return k.sgemm(m, n, kk, a, lda, b, ldb, c, ldc, accumulate, ws, kc, nc);
    },
    // m, n, k, a, b, ldb, c, ldc, rs, bias, flags, scratch, ncb, the
    // weights' id (pool.js keeps a copy per id), mx (qgemm.wat).
    qgemm(m, n, kk, a, b, ldb, c, ldc, rs, bias, flags, ws, ncb, id, mx) {
      if (k === null) return 0;
      if (pool !== null) return pool(m, n, kk, a, b, ldb, c, ldc, rs, bias, flags, ws, ncb, id, mx);
      return k.qgemm(m, n, kk, a, b, ldb, c, ldc, rs, bias, flags, ws, ncb, mx);
    },
    quantize(src, n, inv, z, dst) {
      return k === null ? 0 : k.quantize(src, n, inv, z, dst);
    },
    minmax(src, n, out) {
      return k === null ? 0 : k.minmax(src, n, out);
    },
    im2col8(x, geo, dst) {
      return k === null ? 0 : k.im2col8(x, geo, dst);
    },
    maxpool(x, y, planes, geo) {
      return k === null ? 0 : k.maxpool(x, y, planes, geo);
    },
    qweights(src, m, kk, dst, scale) {
      return k === null ? 0 : k.qweights(src, m, kk, dst, scale);
    },
  };
  return {
    get loaded() {
      return k !== null;
    },
    /** The kernel instance's exports once loaded (for a GEMM pool), else null. */
    get exports() {
      return k;
    },
    /**
     * Instantiates the kernel on the Go instance's memory. Call after Go's
     * instantiation and before `go.run`: Go probes the kernel once, at
     * start-up, and never uses one loaded later. Throws when the kernel
     * cannot be compiled (e.g. a runtime without wasm SIMD); Go then uses
     * its portable path.
     *
     * @param {WebAssembly.Instance} goInstance the instantiated Go module
     * @param {WebAssembly.Module|BufferSource|Response|Promise<Response>|string|URL} source
     *   the kernel: a compiled module, its bytes, a fetch Response (or promise of
     *   one) or a URL to fetch
     */
    async load(goInstance, source) {
      const mem = goInstance.exports.mem;
      if (!(mem instanceof WebAssembly.Memory)) {
        throw new Error("lookalike kernel: the Go instance exports no memory named mem");
      }
      const module = await compileKernel(source);
      const instance = await WebAssembly.instantiate(module, { env: { mem } });
      for (const name of KERNEL_IMPORTS) {
        if (typeof instance.exports[name] !== "function") {
          throw new Error(`lookalike kernel: module exports no ${name} function`);
        }
      }
      k = instance.exports;
    },
    /** Makes Go fall back to its portable path again. */
    unload() {
      k = null;
      pool = null;
    },
    /**
     * Routes the int8 GEMMs through a pool once the kernel is loaded:
     * qgemm is a function with the import's signature (pool.js:
     * pool.bind(handle.exports, goInstance.exports.mem)); null detaches it.
     */
    attachPool(qgemm) {
      pool = qgemm;
    },
  };
}

async function compileKernel(source) {
  if (source instanceof WebAssembly.Module) return source;
  if (typeof source === "string" || source instanceof URL) source = fetch(source);
  source = await source;
  if (typeof Response !== "undefined" && source instanceof Response) {
    if (!source.ok) {
      throw new Error(`lookalike kernel: fetching ${source.url}: HTTP ${source.status}`);
    }
    const type = source.headers.get("Content-Type") || "";
    if (typeof WebAssembly.compileStreaming === "function" && type.startsWith("application/wasm")) {
      return WebAssembly.compileStreaming(source);
    }
    return WebAssembly.compile(await source.arrayBuffer());
  }
  return WebAssembly.compile(source);
}

/**
 * Everything a Web Worker running the Go engine needs, in one call: adds
 * the `lookalike` imports to importObject and returns { attach(instance) },
 * which (after instantiating Go, before go.run) loads the kernel build this
 * browser runs best (relaxed SIMD where it compiles) and, where the context
 * is cross-origin isolated and has more than one core, a GEMM pool of
 * helper workers (pool.js). attach resolves to a short description for the
 * page ("wasm SIMD kernel (relaxed SIMD), 3 helper workers"); on any failure
 * it falls back — single worker, or Go's portable path — and says so.
 *
 * @param {WebAssembly.Imports} importObject go.importObject
 * @param {object} o
 * @param {Record<string,string>} o.files build.json's kernels: source name → served name
 * @param {URL|string} o.base where the served names are
 * @param {(url: string) => Promise<Uint8Array>} o.fetchBytes fetches (and may cache) a file
 * @param {number} [o.cores] navigator.hardwareConcurrency
 * @param {number} [o.maxThreads] threads sharing a GEMM at most (default 4)
 */
export function setupKernels(importObject, { files, base, fetchBytes, cores = 1, maxThreads = 4 }) {
  const handle = addKernelImports(importObject);
  const url = (name) => (files[name] ? new URL(files[name], base).href : null);
  return {
    async attach(goInstance) {
      const relaxed = relaxedSimdSupported() && files["sgemm-fma.wasm"];
      const build = relaxed ? "sgemm-fma.wasm" : "sgemm.wasm";
      if (!files[build]) return "portable Go, no SIMD kernel in this build";
      try {
        await handle.load(goInstance, await fetchBytes(url(build)));
      } catch (err) {
        return `portable Go (the SIMD kernel did not load: ${err.message})`;
      }
      let desc = `wasm SIMD kernel${relaxed ? " (relaxed SIMD)" : ""}`;
      const helpers = Math.min(maxThreads, cores) - 1;
      const shared = relaxed ? "sgemm-fma-shared.wasm" : "sgemm-shared.wasm";
      if (helpers < 1) return `${desc}, one core`;
      if (!files["pool.js"] || !files["pool-worker.js"] || !files[shared]) return `${desc}, one worker (no GEMM pool in this build)`;
      try {
        const poolMod = await import(url("pool.js"));
        if (!poolMod.poolSupported()) return `${desc}, one worker (the page is not cross-origin isolated)`;
        const kernel = await WebAssembly.compile(await fetchBytes(url(shared)));
        const pool = await poolMod.createPool({
          kernel, helpers, workerURL: url("pool-worker.js"),
          spawn: (u) => new Worker(u, { type: "module" }),
        });
        handle.attachPool(pool.bind(handle.exports, goInstance.exports.mem));
        desc += `, ${helpers} helper worker${helpers > 1 ? "s" : ""}`;
      } catch (err) {
        desc += `, one worker (GEMM pool failed: ${err.message})`;
      }
      return desc;
    },
  };
}
