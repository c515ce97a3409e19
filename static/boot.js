// boot.js — the shopper page's first script: it starts the engine worker
// the moment the HTML has been parsed, before app.js and its imports have
// arrived, so the catalogue's downloads begin several round trips earlier
// (on a 20 Mbit/s, 40 ms link the link otherwise idles for the first
// 0.6 s). It has no imports on purpose. app.js adopts the worker through
// lookalike/client.js (engineClient's `early`), which replays the messages
// that arrived meanwhile; without this script app.js starts its own.
// It also fetches manifest.json and build/build.json while the worker's
// script is still on its way, and hands them to the worker in a 'meta'
// message after 'init' (by URL): the engine and the model are requested a
// round trip sooner.
try {
  if (typeof Worker === 'function' && typeof WebAssembly === 'object') {
    const assets = new URL('assets/', document.baseURI).href;
    const urls = [new URL('manifest.json', assets).href, new URL('build/build.json', import.meta.url).href];
    const meta = urls.map((u) => fetch(u, { cache: 'no-cache', credentials: 'same-origin' })
      .then((r) => (r.ok ? r.arrayBuffer() : null)).catch(() => null));
    const worker = new Worker(new URL('./engine-worker.js', import.meta.url), { type: 'module', name: 'lookalike-engine' });
    const queue = [];
    worker.onmessage = (e) => queue.push(e);
    worker.onerror = (e) => { e.preventDefault(); queue.push(e); };
    worker.onmessageerror = (e) => queue.push(e);
    // A developer's knob (e2e/stored.test.mjs): later files past this many
    // bytes are kept on disk or left out, as a million products' would be.
    let laterMaxBytes;
    try { laterMaxBytes = Number(localStorage.getItem('lookalike.laterMaxBytes')) || undefined; } catch { /* no storage */ }
    worker.postMessage({ type: 'init', assets, metaFollows: true, laterMaxBytes });
    Promise.all(meta).then((bufs) => {
      const given = {};
      bufs.forEach((b, i) => { if (b) given[urls[i]] = b; });
      worker.postMessage({ type: 'meta', meta: given }, Object.values(given));
    });
    globalThis.lookalikeBoot = { worker, assets, queue };
  }
} catch { /* app.js starts the worker itself */ }
