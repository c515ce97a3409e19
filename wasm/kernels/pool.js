// pool.js — several workers sharing the int8 GEMMs of one Go engine.
// Plain ES module; browsers (Web Workers) and Node 20 (worker_threads).
//
// Go's wasm memory is not shared (a Go js/wasm instance cannot use
// threads), so the helpers cannot read the activations where Go keeps them.
// The pool keeps its own SharedArrayBuffer-backed WebAssembly.Memory, in
// which every helper runs the kernel's `-shared` build:
//
//   - weights: copied once per matrix (Go passes an id with every GEMM;
//     ResNet50's are 25 MB, kept for the engine's life);
//   - per GEMM: the uint8 B operand (one byte per element) and the helpers'
//     rows of rs/bias are copied in; with a residual (the old C is added),
//     the helpers' rows of C too; their rows of the result are copied back.
//
// The engine's own thread computes the first share of the rows straight
// from Go's memory while the helpers compute theirs; rows are split in
// strips of four, so every thread runs the exact same kernel on the exact
// same numbers and the result is bit-identical to one thread's. Copies are
// plain TypedArray.set (memcpy): for ResNet50 about 40 MB per photo on the
// engine's thread against ≈ 8 GOP of GEMM work shared out.
//
// Synchronisation: a control block of Int32 at the start of the shared
// memory; the engine thread bumps a job number and Atomics.notify's the
// helpers, computes its share, then Atomics.wait's for the helpers' done
// count. The engine thread is a Worker (Atomics.wait is allowed there, and
// on Node's main thread), never a page's main thread.
//
// A pool needs crossOriginIsolated (COOP same-origin + COEP require-corp or
// credentialless on the page and the worker scripts) for SharedArrayBuffer;
// poolSupported() says whether this context has what it takes. Without it,
// or with one core, the engine runs single-threaded, as it always could.
//
//   const pool = await createPool({ kernel: sharedModule, helpers: 3, spawn });
//   kernelHandle.attachPool(pool.bind(kernelHandle.exports, goInstance.exports.mem));

/** GEMMs smaller than this (m·n·k multiply-adds) stay on the engine thread. */
export const POOL_MIN_WORK = 1 << 21;

const PAGE = 65536;
const CTRL_BYTES = 4096;
// Control block (Int32 indexes).
const SEQ = 0; // job number, bumped per job
const DONE = 1; // helpers finished with the current job
const STOP = 2; // non-zero: helpers exit
const JOB = 8; // n, k, a, b, ldb, c, ldc, rs, bias, flags, ncb; at JOB+16 per helper: row0, rows
const MAXES = 512; // per helper: the largest value it wrote (f32), with flags&8
const HELPER_SCRATCH = 512 << 10; // ≥ 128 + 32·kq + 8·kq·ncb for ncb = 256 KiB / (8·kq), kq ≤ 4096

/** Whether this context can run a pool: shared memory, Atomics, isolation. */
export function poolSupported() {
  if (typeof SharedArrayBuffer !== "function" || typeof Atomics !== "object") return false;
  if (typeof globalThis.crossOriginIsolated === "boolean" && !globalThis.crossOriginIsolated) return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `helpers` workers running pool-worker.js on a new shared memory
 * with the kernel's shared build, and resolves once all have instantiated.
 *
 * @param {object} o
 * @param {WebAssembly.Module} o.kernel the compiled `-shared` kernel build
 *   (same variant as the engine thread's kernel: plain or fma)
 * @param {number} o.helpers worker count (≥ 1)
 * @param {(url: URL) => any} o.spawn starts a module worker on url and
 *   returns it (browser: u => new Worker(u, { type: "module" }); Node:
 *   u => new (require("node:worker_threads").Worker)(u)); the worker must
 *   answer postMessage and deliver messages through onmessage or on("message")
 * @param {URL|string} [o.workerURL] pool-worker.js (default: next to this module;
 *   pass it where the files are served under content-hashed names)
 * @param {number} [o.maxPages] the shared memory's maximum (default 2048 = 128 MiB)
 * @returns {Promise<Pool>}
 */
export async function createPool({ kernel, helpers, spawn, workerURL, maxPages = 2048 }) {
  if (!(helpers >= 1)) throw new Error("gemm pool: need at least one helper");
  const fixed = CTRL_BYTES + helpers * HELPER_SCRATCH;
  const mem = new WebAssembly.Memory({ initial: Math.ceil(fixed / PAGE) + 1, maximum: maxPages, shared: true });
  const workers = [];
  const ready = [];
  for (let i = 0; i < helpers; i++) {
    const w = spawn(workerURL ? new URL(workerURL, import.meta.url) : new URL("./pool-worker.js", import.meta.url));
    workers.push(w);
    ready.push(new Promise((resolve, reject) => {
      const onMessage = (e) => {
        const d = e && "data" in e ? e.data : e;
        if (d && d.ready) resolve();
        else if (d && d.error) reject(new Error(`gemm pool: helper ${i}: ${d.error}`));
      };
      if (typeof w.on === "function") {
        w.on("message", onMessage);
        w.on("error", reject);
      } else {
        w.onmessage = onMessage;
        w.onerror = (e) => reject(new Error(`gemm pool: helper ${i}: ${e.message || e}`));
      }
    }));
    w.postMessage({ memory: mem, kernel, index: i, ctrlBytes: CTRL_BYTES, scratch: CTRL_BYTES + i * HELPER_SCRATCH });
  }
  try {
    await Promise.all(ready);
  } catch (err) {
    for (const w of workers) w.terminate();
    throw err;
  }
  return new Pool(mem, workers, fixed);
}

class Pool {
  constructor(mem, workers, fixed) {
    this.mem = mem;
    this.workers = workers;
    this.helpers = workers.length;
    this.ctrl = new Int32Array(mem.buffer, 0, CTRL_BYTES / 4);
    this.top = fixed; // bump allocator: weights, then buffers that grow
    this.weights = new Map(); // id → shared byte offset
    this.buf = { b: [0, 0], c: [0, 0], rb: [0, 0] }; // name → [offset, capacity]
    this.stats = { jobs: 0, local: 0, copiedBytes: 0 };
  }

  alloc(bytes) {
    const at = (this.top + 15) & ~15;
    const end = at + bytes;
    const have = this.mem.buffer.byteLength;
    if (end > have) this.mem.grow(Math.ceil((end - have) / PAGE)); // throws past maxPages
    this.top = end;
    return at;
  }

  region(name, bytes) {
    const r = this.buf[name];
    if (r[1] < bytes) {
      r[0] = this.alloc(bytes);
      r[1] = bytes;
    }
    return r[0];
  }

  /**
   * The qgemm import for the engine thread: goKernel is its kernel
   * instance's exports (on Go's memory), goMem Go's memory. Returns a
   * function with qgemm's import signature.
   */
  bind(goKernel, goMem) {
    return (m, n, k, a, b, ldb, c, ldc, rs, bias, flags, ws, ncb, id, mx) =>
      this.qgemm(goKernel, goMem, m, n, k, a, b, ldb, c, ldc, rs, bias, flags, ws, ncb, id, mx);
  }

  qgemm(goKernel, goMem, m, n, k, a, b, ldb, c, ldc, rs, bias, flags, ws, ncb, id, mx) {
    const strips = (m + 3) >> 2;
    const parts = Math.min(this.helpers + 1, strips);
    if (m * n * k < POOL_MIN_WORK || parts < 2 || !(id > 0)) {
      this.stats.local++;
      return goKernel.qgemm(m, n, k, a, b, ldb, c, ldc, rs, bias, flags, ws, ncb, mx);
    }
    const kq = (k + 3) >> 2;
    const per = Math.ceil(strips / parts) * 4; // rows per thread
    const mine = Math.min(m, per);
    const rest = m - mine;
    let shared;
    let wa;
    let bb;
    let cb;
    let rb;
    try {
      wa = this.weights.get(id);
      if (wa === undefined) {
        const bytes = strips * 16 * kq;
        wa = this.alloc(bytes);
        new Uint8Array(this.mem.buffer, wa, bytes).set(new Uint8Array(goMem.buffer, a, bytes));
        this.weights.set(id, wa);
        this.stats.copiedBytes += bytes;
      }
      const bBytes = (k - 1) * ldb + n;
      bb = this.region("b", bBytes + 16);
      cb = this.region("c", 4 * ((rest - 1) * ldc + n) + 16);
      rb = this.region("rb", 8 * (strips * 4 + 48));
      shared = this.mem.buffer;
      const goBuf = goMem.buffer;
      new Uint8Array(shared, bb, bBytes).set(new Uint8Array(goBuf, b, bBytes));
      // rs and bias of the helpers' rows (padded to whole strips).
      const padded = strips * 4 - mine;
      new Float32Array(shared, rb, padded).set(new Float32Array(goBuf, rs + 4 * mine, padded));
      new Float32Array(shared, rb + 4 * padded, padded).set(new Float32Array(goBuf, bias + 4 * mine, padded));
      if (flags & 1) copyRows(goBuf, c + 4 * mine * ldc, shared, cb, rest, n, ldc);
      this.stats.copiedBytes += bBytes + 8 * padded + ((flags & 1) ? 8 : 4) * rest * n;
      const ctrl = this.ctrl;
      const j = [n, k, wa + (mine >> 2) * 16 * kq, bb, ldb, cb, ldc, rb, rb + 4 * padded, flags, ncb];
      for (let i = 0; i < j.length; i++) ctrl[JOB + i] = j[i];
      for (let h = 0; h < this.helpers; h++) {
        const row0 = Math.min(rest, h * per);
        const rows = Math.min(rest, (h + 1) * per) - row0;
        ctrl[JOB + 16 + 2 * h] = row0;
        ctrl[JOB + 17 + 2 * h] = rows;
      }
      new Float32Array(shared, 4 * MAXES, this.helpers).fill(-Infinity);
      Atomics.store(ctrl, DONE, 0);
      Atomics.add(ctrl, SEQ, 1);
      Atomics.notify(ctrl, SEQ);
    } catch {
      // The shared memory could not grow (maxPages): this GEMM alone.
      this.stats.local++;
      return goKernel.qgemm(m, n, k, a, b, ldb, c, ldc, rs, bias, flags, ws, ncb, mx);
    }
    const ok = goKernel.qgemm(mine, n, k, a, b, ldb, c, ldc, rs, bias, flags, ws, ncb, mx);
    const ctrl = this.ctrl;
    for (;;) {
      const done = Atomics.load(ctrl, DONE);
      if (done >= this.helpers) break;
      Atomics.wait(ctrl, DONE, done, 1000);
    }
    copyRows(shared, cb, goMem.buffer, c + 4 * mine * ldc, rest, n, ldc);
    if (flags & 8) {
      // Each helper raised its own slot (set to −Inf with the job) to the
      // largest value it wrote: fold them into Go's.
      const f = new Float32Array(goMem.buffer, mx, 1);
      const slots = new Float32Array(shared, 4 * MAXES, this.helpers);
      for (let h = 0; h < this.helpers; h++) f[0] = Math.max(f[0], slots[h]);
    }
    this.stats.jobs++;
    return ok;
  }

  /** Stops the helpers. */
  close() {
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
    for (const w of this.workers) w.terminate();
  }
}

// copyRows copies rows×n float32 with row stride ld (elements) between two
// buffers: in one piece when the rows are contiguous.
function copyRows(src, from, dst, to, rows, n, ld) {
  if (rows <= 0) return;
  if (ld === n) {
    new Float32Array(dst, to, rows * n).set(new Float32Array(src, from, rows * n));
    return;
  }
  for (let r = 0; r < rows; r++) {
    new Float32Array(dst, to + 4 * r * ld, n).set(new Float32Array(src, from + 4 * r * ld, n));
  }
}
