// client.js — the one client of the engine worker (engine-worker.js), used
// by the shopper page and the embed's search box. The message protocol is
// written down in static/README.md ("Worker protocol").
//
//   const e = engineClient(workerURL, assetsURL, { progress: (m) => …, fatal: (err) => … });
//   await e.ready;                                   // the 'ready' message
//   const r = await e.request({ type: 'search', image, crop: null, k: 8, section: '', filters: {} }, [image]);

/**
 * Starts a module worker. A worker script must be same-origin with the
 * page: for one on another origin, a small module worker from a blob: URL
 * imports it (needs CORS on it and worker-src blob: in the page's CSP; a
 * dynamic import: Chromium refuses a static one from a blob: worker under
 * a CSP). Messages wait until the worker has set its handler.
 */
function startWorker(url) {
  if (url.origin === location.origin) return new Worker(url, { type: 'module', name: 'lookalike-engine' });
  const u = JSON.stringify(url.href);
  const src = `const q=[];self.onmessage=e=>q.push(e);import(${u}).then(()=>{for(const e of q)self.onmessage?.(e)},e=>postMessage({type:"error",code:"network",message:"cannot load "+${u}+": "+e.message}))`;
  return new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { type: 'module', name: 'lookalike-engine' });
}

const fault = (m) => Object.assign(new Error(m.message || m.code || 'engine error'), { code: m.code || 'internal', ...(m.format ? { format: m.format } : {}) });

/**
 * One engine worker for the asset folder `assets` (absolute URL ending in
 * /). on.progress and on.info hear those messages; on.fatal(err) hears a
 * failure outside a request (loading failed, the worker died), after which
 * every waiting request is rejected and the worker is gone. Returns
 * {ready, request(msg, transfer) → Promise of the answer ('results' or
 * 'vector'; an 'error' rejects with an Error carrying .code), close()}.
 * Requests are answered one at a time, in order; they may be sent before
 * ready (the worker waits for its assets). on.early adopts a worker already
 * started for the same assets ({worker, assets, queue}: static/boot.js),
 * replaying the events queued before this client existed (in a microtask:
 * the callbacks may refer to the client returned).
 */
export function engineClient(workerURL, assets, on = {}) {
  const pending = new Map();
  let seq = 0, ok, ko, dead = null, laterSent = false;
  const ready = new Promise((resolve, reject) => { ok = resolve; ko = reject; });
  ready.catch(() => {});
  let w;
  const fail = (err, quiet) => {
    if (dead) return;
    dead = err;
    ko(err);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    w?.terminate();
    if (!quiet) on.fatal?.(err);
  };
  const early = on.early && on.early.assets === assets && on.early.worker ? on.early : null;
  try {
    w = early ? early.worker : startWorker(workerURL);
  } catch (err) {
    fail(Object.assign(new Error(`the engine worker cannot start: ${err.message}`), { code: 'internal' }));
    return { ready, request: () => Promise.reject(dead), later() {}, laterAfterThumbs() {}, close() {} };
  }
  w.onerror = (ev) => { ev.preventDefault?.(); fail(Object.assign(new Error(`the engine worker failed (${ev.message || 'blocked or not found'}): ${workerURL.href}`), { code: 'internal' })); };
  w.onmessageerror = () => fail(Object.assign(new Error('a message from the engine could not be read'), { code: 'internal' }));
  w.onmessage = ({ data: m = {} }) => {
    const p = pending.get(m.id);
    if (m.type === 'progress') on.progress?.(m);
    else if (m.type === 'info') on.info?.(m);
    else if (m.type === 'ready') ok(m);
    else if (p && (m.type === 'results' || m.type === 'vector')) { pending.delete(m.id); p.resolve(m); }
    else if (p && m.type === 'error') { pending.delete(m.id); p.reject(fault(m)); }
    else if (m.type === 'error' && m.id == null) fail(fault(m));
  };
  if (early) {
    // Replayed in a microtask, not here: the caller's callbacks must see
    // the client this returns (app.js checks `w === worker` in on.fatal; a
    // worker that failed before the page's scripts arrived would otherwise
    // report to a client that does not exist yet, and the page would wait
    // for ever). Events the worker sends from now on come as tasks, after
    // this microtask, so the order is kept.
    queueMicrotask(() => {
      for (const ev of early.queue.splice(0)) {
        if (ev.type === 'message') w.onmessage(ev);
        else if (ev.type === 'error') w.onerror(ev);
        else w.onmessageerror(ev);
      }
    });
  } else {
    w.postMessage({ type: 'init', assets });
  }
  const client = {
    ready,
    request(msg, transfer = []) {
      if (dead) return Promise.reject(dead);
      return new Promise((resolve, reject) => {
        const id = ++seq;
        pending.set(id, { resolve, reject });
        w.postMessage({ ...msg, id }, transfer);
      });
    },
    /**
     * Lets the worker start its background downloads (asset-plan.js LATER)
     * now rather than a few seconds after ready: call it when there is
     * nothing to show. Only the first call is sent.
     */
    later() {
      if (dead || laterSent) return;
      laterSent = true;
      w.postMessage({ type: 'later' });
    },
    /**
     * later() once the first results' thumbnails among imgs are in (at
     * most 4 s), so that on a slow link those come first.
     */
    laterAfterThumbs(imgs) {
      if (dead || laterSent) return;
      const waiting = [...imgs].slice(0, 12).filter((img) => !img.complete)
        .map((img) => new Promise((r) => { img.addEventListener('load', r, { once: true }); img.addEventListener('error', r, { once: true }); }));
      Promise.race([Promise.all(waiting), new Promise((r) => setTimeout(r, 4000))]).then(() => client.later());
    },
    /** Stops the worker; waiting requests are rejected (on.fatal is not called). */
    close() { fail(Object.assign(new Error('closed'), { code: 'closed' }), true); },
  };
  return client;
}
