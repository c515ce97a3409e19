// searchbox.js — what <lookalike-search> (lookalike.js) does with a photo:
// starts the engine worker (client.js; one per script and assets, shared by
// every search box, forgotten when it fails), searches on the device and
// draws the results. Loaded with the engine on the first photo, so a page
// with the carousel alone never downloads it.

import { engineClient } from './client.js';
import { parseThumb } from './assets.js';
import { safeURL } from './card.js';

const engines = new Map(); // worker URL + assets -> the engine client

async function engine(workerURL, assets, onProgress) {
  const key = workerURL.href + ' ' + assets;
  let e = engines.get(key);
  if (!e) {
    const listeners = new Set();
    let dead = false;
    e = engineClient(workerURL, assets, { progress: (m) => listeners.forEach((f) => f(m)), fatal: () => { dead = true; engines.delete(key); } });
    e.listeners = listeners;
    if (!dead) engines.set(key, e);
  }
  if (onProgress) e.listeners.add(onProgress);
  return e;
}

const ERRORS = {
  unsupported: 'That file is not a photo this search can read (try JPEG or PNG).',
  corrupt: 'That photo looks damaged. Try another one.',
  'too-large': 'That photo is too large. Try a smaller one.',
  empty: 'That file is empty.',
};

/** Searches file's photo for the search box view; never throws. */
export async function search(view, file) {
  const token = ++view.token;
  try {
    view.host.dataset.state = 'loading';
    const worker = new URL(view.attr('engine', new URL('worker.js', import.meta.url).href), document.baseURI);
    const e = await engine(worker, view.assets, (p) => {
      if (token === view.token && p.overallTotal) view.say(`Loading photo search… ${Math.round(p.overallLoaded / 1e6)} of ${Math.round(p.overallTotal / 1e6)} MB`);
    });
    view.say('Loading photo search…');
    await e.ready;
    const image = await file.arrayBuffer();
    view.host.dataset.state = 'searching';
    view.say('Searching…');
    const count = Math.max(1, Math.min(48, parseInt(view.attr('count', '8'), 10) || 8));
    const P = view.P = await view.personal();
    const personal = await view.history(P);
    const r = await e.request({ type: 'search', image, crop: null, k: count, section: view.attr('section'), filters: {}, personal }, [image]);
    view.sheets = view.attr('privacy') === 'strict' ? await view.prefetch() : null;
    if (token !== view.token) return;
    // The photo's embedding (never the photo) joins the history.
    if (P?.enabled() && r.query?.vector) P.recordSearch(r.query.vector);
    const items = r.results.map((x) => ({ ...x, id: String(x.id), thumb: x.thumb?.url ? { ...x.thumb, url: new URL(x.thumb.url, view.assets).href } : parseThumb(x.thumb, view.assets) }));
    view.grid.replaceChildren(...items.map((it, i) => view.card(it, i, items.length)));
    view.grid.hidden = false;
    view.say(items.length ? `${items.length} similar items` : 'No similar items found.');
    view.host.dataset.state = 'results';
    if (view.dialog && items.length && !view.dialog.open) view.dialog.showModal();
    // The engine's background downloads (the vector file that makes the
    // next search exact) start once these thumbnails are in, as on the
    // shop's page, not at the worker's fallback timer.
    e.laterAfterThumbs(view.grid.querySelectorAll('img'));
    view.emit('lookalike-results', { source: 'search', results: items.map(({ id, score, title, url }) => ({ productId: id, score, title, url: safeURL(url) || null })) });
  } catch (err) {
    if (token !== view.token) return;
    view.host.dataset.state = 'error';
    if (ERRORS[err.code]) { view.say(ERRORS[err.code]); return; }
    view.say('Photo search is not available right now.');
    view.warn(err?.message || String(err));
  }
}
