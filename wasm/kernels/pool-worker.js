// pool-worker.js — one helper of the GEMM pool (pool.js): instantiates the
// kernel's shared build on the pool's memory, then waits for jobs on the
// control block and computes its rows of each int8 GEMM. A module worker
// in browsers, a worker_threads worker in Node.

const inBrowser = typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope;
const port = inBrowser ? self : (await import("node:worker_threads")).parentPort;
const SEQ = 0, DONE = 1, STOP = 2, JOB = 8, MAXES = 512;

const fail = (err) => port.postMessage({ error: String((err && err.message) || err) });
if (inBrowser) self.addEventListener("message", (e) => start(e.data).catch(fail), { once: true });
else port.once("message", (d) => start(d).catch(fail));

async function start({ memory, kernel, index, scratch }) {
  const { exports: k } = await WebAssembly.instantiate(kernel, { env: { mem: memory } });
  if (typeof k.qgemm !== "function") throw new Error("kernel exports no qgemm");
  const ctrl = new Int32Array(memory.buffer, 0, 64);
  // The job number before saying ready: the engine thread may post the
  // first job the moment it hears, and reading it after would skip it.
  let seen = Atomics.load(ctrl, SEQ);
  port.postMessage({ ready: true });
  for (;;) {
    Atomics.wait(ctrl, SEQ, seen);
    seen = Atomics.load(ctrl, SEQ);
    if (Atomics.load(ctrl, STOP)) return;
    const [n, kk, a, b, ldb, c, ldc, rs, bias, flags, ncb] = ctrl.subarray(JOB, JOB + 11);
    const row0 = ctrl[JOB + 16 + 2 * index];
    const rows = ctrl[JOB + 17 + 2 * index];
    if (rows > 0) {
      const kq = (kk + 3) >> 2;
      k.qgemm(rows, n, kk, a + (row0 >> 2) * 16 * kq, b, ldb, c + 4 * row0 * ldc, ldc,
        rs + 4 * row0, bias + 4 * row0, flags, scratch, ncb, 4 * (MAXES + index));
    }
    Atomics.add(ctrl, DONE, 1);
    Atomics.notify(ctrl, DONE);
  }
}
