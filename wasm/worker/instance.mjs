// One Go instance for many requests: the part of syumai/workers' generated
// worker.mjs that Lookalike replaces. That file starts a fresh Go program
// (new Go(), new WebAssembly.Instance) inside every fetch — about 25 ms of
// CPU before the handler runs, over the free plan's 10 ms. Here the
// program starts on the first request and stays; each later request gets
// its own env and ctx set on the runtime context that syumai's Go side
// reads (cloudflare.GetBinding and friends), then goes to the same
// binding.serve(method, url, done) — the request as two strings, the
// answer as (status, header lines, body bytes), not as Request/Response
// objects: see serve_js.go for what that saves. The Go side never ends
// by itself.
//
// One request at a time inside Go. Go's scheduler runs every runnable
// goroutine whenever JavaScript calls in, so with two requests in flight
// a goroutine of one could start I/O (an ASSETS fetch) while the runtime
// is handling the other: workerd would tie that I/O to the wrong request
// and cancel it when that request ends. Requests wait in a queue instead;
// most are answered from the Go side's memory without I/O, in well under
// a millisecond. A request that waits too long (a stuck instance) drops
// the instance, and the next one starts afresh; so does a Go exit.
//
// Uses syumai/workers' generated glue from build/: wasm_exec.js (Go's
// runtime support) and runtime.mjs (the wasm module and the runtime
// context's shape).
import "./build/wasm_exec.js";
import { createRuntimeContext, loadModule } from "./build/runtime.mjs";

// syumai's Go side calls this for JavaScript calls that may throw.
globalThis.tryCatch = (fn) => {
  try {
    return { result: fn() };
  } catch (error) {
    return { error };
  }
};

// How long a request waits for the instance before giving up on it.
const STUCK_MS = 15_000;

let mod; // the compiled module (workerd compiles it once per isolate)
let live = null; // the running instance: see start()
let started = 0; // instances started in this isolate (for tests and logs)

/** Starts a Go instance; returns it once its handler is registered. */
async function start(env, ctx) {
  if (mod === undefined) mod = await loadModule();
  const binding = {};
  const context = createRuntimeContext({ env, ctx, binding });
  const go = new Go();
  const inst = { go, context, binding, busy: false, queue: [], dead: false, current: null, id: ++started };
  // Go's exit (a panic that escapes, os.Exit): fail the request inside and
  // let the next one start a fresh instance. Called synchronously from
  // Go's wasmExit, inside the current request's call.
  const resolveExit = go._resolveExitPromise;
  go._resolveExitPromise = () => {
    inst.dead = true;
    if (live === inst) live = null;
    inst.current?.(new Error("worker: the Go program exited"));
    resolveExit?.();
  };
  let ready;
  const readyPromise = new Promise((resolve) => { ready = resolve; });
  const instance = new WebAssembly.Instance(mod, { ...go.importObject, workers: { ready: () => ready() } });
  // go.run runs the program until it blocks (after workers.Ready); its
  // promise settles only at exit, handled above.
  go.run(instance, context).catch(() => {});
  await readyPromise;
  if (typeof binding.serve !== "function") throw new Error("worker: the Go program registered no binding.serve");
  return inst;
}

/** Waits for inst to be free; false if it got stuck (dropped) meanwhile. */
async function acquire(inst) {
  if (!inst.busy) {
    inst.busy = true;
    return true;
  }
  // Each waiter makes its own promise (in its own request), resolved by
  // the request before it.
  let timer, entry;
  const got = await new Promise((resolve) => {
    entry = resolve;
    inst.queue.push(entry);
    timer = setTimeout(() => resolve(false), STUCK_MS);
  });
  clearTimeout(timer);
  if (!got) {
    const i = inst.queue.indexOf(entry);
    if (i >= 0) inst.queue.splice(i, 1);
    if (!inst.dead) {
      console.error(`worker: Go instance ${inst.id} busy for ${STUCK_MS} ms; starting another`);
      inst.dead = true;
      if (live === inst) live = null;
    }
  }
  return got;
}

/** Hands inst to the next waiter, or marks it free. */
function release(inst) {
  const next = inst.queue.shift();
  if (next) next(true);
  else inst.busy = false;
}

/**
 * Answers method and url with the Go handler of the isolate's instance
 * (serve_js.go), started if need be. Resolves to { status, headers (a
 * Headers), body (a Uint8Array, or null for a status without one) }.
 */
export function handle(method, url, env, ctx) {
  const p = run(method, url, env, ctx);
  // Keep the request's context alive until Go is done with it, even if
  // the client goes away: the next request waits for this one's release.
  ctx?.waitUntil?.(p.catch(() => {}));
  return p;
}

async function run(method, url, env, ctx) {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (!live || live.dead) live = await start(env, ctx);
    const inst = live;
    if (!(await acquire(inst))) continue;
    if (inst.dead) {
      release(inst);
      continue;
    }
    try {
      inst.context.env = env;
      inst.context.ctx = ctx;
      return await new Promise((resolve, reject) => {
        inst.current = reject;
        inst.binding.serve(method, url, (status, lines, body) => resolve({ status, headers: parseHeaders(lines), body }));
      });
    } finally {
      inst.current = null;
      release(inst);
    }
  }
  throw new Error("worker: no Go instance could take the request");
}

/** Headers from "Name: value\n" lines. */
function parseHeaders(lines) {
  const h = new Headers();
  for (const line of lines.split("\n")) {
    const i = line.indexOf(": ");
    if (i > 0) h.append(line.slice(0, i), line.slice(i + 2));
  }
  return h;
}

/** Instances started in this isolate so far. */
export function instancesStarted() {
  return started;
}
