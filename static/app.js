// app.js — the shopper's page. Talks to the engine Web Worker (engine-worker.js)
// with postMessage; never sends the photo, or anything computed from it,
// over the network. See static/README.md for the worker protocol. The
// shopper's likes, viewed products and photo searches (personal.js) stay
// in this browser and reach only the worker.

import { createCropBox } from './crop.js';
import { imageInfo, ENGINE_FORMATS } from './imageinfo.js';
import * as personal from './personal.js';
// Shared with the embed: the engine client, the result card, Go's constants.
import { engineClient } from './lookalike/client.js';
import { card, tile, safeURL } from './lookalike/card.js';
import { IMAGE } from './lookalike/gen_formats.js';
import { badges } from './badges.js';

// Limits checked before anything is decoded (the engine checks again).
const MAX_FILE_BYTES = 40 * 1024 * 1024;
const MAX_PIXELS = IMAGE.max_pixels; // models/imageprep.DefaultMaxPixels
const MAX_SIDE = IMAGE.max_side;     // models/imageprep.DefaultMaxSide
const PAGE_K = 24;
const MAX_K = 96;
const RECENT_KEY = 'lookalike.recent.v1';
const RECENT_MAX = 8;

const $ = (id) => document.getElementById(id);
const el = {
  body: document.body,
  loadStatus: $('load-status'), progress: $('progress'), progressBar: $('progress-bar'), progressText: $('progress-text'),
  dropzone: $('dropzone'), fileInput: $('file-input'), cameraInput: $('camera-input'),
  cameraCaptureLabel: $('camera-capture-label'), cameraOpen: $('camera-open'),
  camera: $('camera'), cameraVideo: $('camera-video'), cameraSnap: $('camera-snap'), cameraClose: $('camera-close'),
  message: $('message'), messageText: $('message-text'), messageAction: $('message-action'), messageClose: $('message-close'),
  editor: $('editor'), cropStage: $('crop-stage'), preview: $('preview'), cropBox: $('crop-box'),
  searchButton: $('search-button'), cropReset: $('crop-reset'), editorClear: $('editor-clear'),
  recent: $('recent'), recentList: $('recent-list'), recentClear: $('recent-clear'),
  sections: $('sections'), colourFilter: $('colour-filter'), colour: $('colour'),
  queryCard: $('query-card'), queryThumb: $('query-thumb'), queryKind: $('query-kind'), queryBack: $('query-back'),
  resultsTitle: $('results-title'), resultsSummary: $('results-summary'), live: $('live'),
  results: $('results'), more: $('more'), moreButton: $('more-button'), engineInfo: $('engine-info'),
  personal: $('personal'), personalToggle: $('personal-toggle'), personalForget: $('personal-forget'),
  personalCount: $('personal-count'), personalNote: $('personal-note'),
};

// ---------------------------------------------------------------- state

const narrow = matchMedia('(max-width: 860px)');

const state = {
  scrollToResults: false, // after a new photo on a one-column layout
  ready: false,
  fatal: null,          // engine error that stops searching until a retry
  items: 0,
  sections: {},         // name -> count
  colourColumn: '',     // attribute column used for the colour filter
  section: '',          // '' = all
  colour: '',
  k: PAGE_K,
  image: null,          // {bytes: Uint8Array, type, url, width, height, recentId}
  crop: null,           // {x,y,w,h} in image pixels, null = whole image
  query: null,          // {kind:'image'} | {kind:'similar', productId, title?, thumb?}
  nextId: 1,
  inflight: 0,          // id of the request the worker is working on
  pending: null,        // the latest request waiting for the worker
  summary: '',          // the summary line of the results on screen
  note: '',             // said in the live region before the next summary (e.g. "Liked …")
  personal: {
    available: false,   // IndexedDB works here
    on: personal.enabled(), // the shopper's "Personalise results" switch
    liked: new Set(),   // hearted product ids
  },
  sentPersonal: false,  // the request in flight carried the history
  recordSearch: false,  // keep the next photo answer's embedding (a new photo or crop, not a re-run)
};

// ---------------------------------------------------------------- worker

let worker = null; // the engine client (lookalike/client.js)

function startWorker() {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') {
    engineFailed({ code: 'no-wasm', message: '' });
    return;
  }
  if (typeof Worker !== 'function') {
    engineFailed({ code: 'unsupported-browser', message: '' });
    return;
  }
  worker?.close();
  state.ready = false;
  state.fatal = null;
  state.inflight = 0;
  setBodyState('loading');
  setLoadStatus('loading', 'Starting the search engine…', 0);
  // The first engine was started by boot.js as the page opened; a restart
  // (after a failure) starts a fresh one.
  const early = globalThis.lookalikeBoot;
  globalThis.lookalikeBoot = null;
  const w = worker = engineClient(new URL('./engine-worker.js', import.meta.url), new URL('assets/', document.baseURI).href, {
    early,
    progress: onProgress,
    info: (m) => {
      if (m.engine) el.engineInfo.textContent = m.engine;
      // The vector file kept on this device (a catalogue too big for memory).
      if (m.stored) el.engineInfo.textContent += ` Exact re-ranking from a ${Math.round(m.stored.bytes / 1e6)} MB copy of the product vectors stored on this device.`;
    },
    fatal: (err) => { if (w === worker) engineFailed(err); },
  });
  w.ready.then((m) => { if (w === worker) onReady(m); }, () => {});
}

const STAGE_NAMES = {
  manifest: 'catalogue list', engine: 'search engine', model: 'image model', index: 'search index',
  vectors: 'product vectors', neighbors: 'similar-product lists', catalog: 'product details', start: 'engine start',
  codes: 'product codes', heads: 'type and colour guides', projection: 'image features',
  objectness: 'product finder',
};

function mb(n) { return (n / 1048576).toFixed(n < 10 * 1048576 ? 1 : 0); }

function onProgress(m) {
  const total = m.overallTotal || m.total || 0;
  const loaded = m.overallLoaded ?? m.loaded ?? 0;
  const pct = total > 0 ? Math.min(100, (loaded / total) * 100) : 0;
  let text = `Loading ${STAGE_NAMES[m.stage] || m.stage}…`;
  if (total > 0) {
    // Everything downloads at once: say how much and how long, not which file.
    const left = Number.isFinite(m.secondsLeft) && m.secondsLeft > 0.5 ? ` · about ${secondsText(m.secondsLeft)} left` : '';
    text = loaded >= total ? 'Starting the search engine…' : `Downloading the search engine · ${mb(loaded)} of ${mb(total)} MB${left}`;
  }
  setLoadStatus('loading', text, pct);
}

function secondsText(s) {
  return s < 60 ? `${Math.ceil(s)} s` : `${Math.ceil(s / 60)} min`;
}

function onReady(m) {
  state.ready = true;
  state.items = m.items || 0;
  state.sections = m.sections || {};
  const attrs = m.attributes || {};
  state.colourColumn = Object.keys(attrs).find((c) => /colou?r/i.test(c)) || '';
  renderSections();
  renderColours(state.colourColumn ? attrs[state.colourColumn] : null);
  setLoadStatus('ready', `Ready · ${state.items.toLocaleString()} products, searched on this device`, 100);
  setBodyState('ready');
  if (m.engine) el.engineInfo.textContent = m.engine;
  // A link to "more like this" (#similar=<id>) opens straight away.
  const id = similarFromHash();
  if (id && !state.query) runSimilar(id, { push: false });
  if (!state.inflight) allowLater();
  flush();
}

// The engine's background downloads (asset-plan.js LATER: the vector file
// that makes later searches exact, the similar-product lists) wait until
// the first results' thumbnails are in, so that on a slow link those come
// first; with nothing to show they start at once (lookalike/client.js).
function allowLater() { worker?.later(); }

function allowLaterAfterThumbs() { worker?.laterAfterThumbs(el.results.querySelectorAll('img')); }

function engineFailed(err) {
  state.ready = false;
  state.fatal = err;
  setBodyState('error');
  const text = messageFor(err);
  setLoadStatus('error', text, 0);
  showMessage(text, { action: err.code === 'no-wasm' || err.code === 'unsupported-browser' ? null : { label: 'Try again', run: startWorker } });
  if (state.inflight) { state.inflight = 0; setResultsState(el.results.children.length ? 'results' : 'error'); }
}

function onError(m) {
  if (m.id === undefined || m.id === null) {
    // An error outside a request: loading failed, or the engine died.
    engineFailed(m);
    return;
  }
  if (m.id !== state.inflight) return; // a newer request replaced it
  state.inflight = 0;
  el.body.dataset.error = m.code || 'internal';
  showMessage(messageFor(m));
  setResultsState(el.results.children.length ? 'results' : 'empty');
  // The results on screen are still the previous ones: say so again
  // instead of "Searching…".
  el.resultsSummary.textContent = el.results.children.length ? state.summary : '';
  setBodyState(state.ready ? 'ready' : 'loading');
  if (m.code === 'oom') engineFailed(m);
  flush();
}

function messageFor(err) {
  const detail = err.message ? ` (${err.message})` : '';
  switch (err.code) {
    case 'unsupported': return `That file isn't an image we can read${err.format ? ` (${err.format})` : ''}. Try a JPEG, PNG, WebP or GIF.`;
    case 'corrupt': return 'That image looks damaged or incomplete, so it could not be read. Try another copy of it.';
    case 'too-large': return `That image is too large to search${detail}. Try a smaller photo or a screenshot of it.`;
    case 'empty': return 'That file is empty.';
    case 'no-wasm': return 'This browser cannot run WebAssembly, which Lookalike needs to search on your device. Try an up-to-date Chrome, Edge, Firefox or Safari.';
    case 'unsupported-browser': return 'This browser lacks features Lookalike needs (Web Workers). Try an up-to-date browser.';
    case 'oom': return 'Your device ran out of memory for the search engine. Close some tabs or apps and try again.';
    // Asset problems: the shop's files, never the shopper's photo or device.
    case 'integrity':
    case 'bad-assets': return `This shop's search data is damaged or from a different build${detail}. Reload the page later.`;
    case 'network': return `The catalogue could not be downloaded${detail}. Check your connection and try again.`;
    case 'cross-origin': return 'That picture comes from another website, which does not let this page read it. Save it to your device and drop the file here, or copy the image and paste it.';
    case 'not-found': return 'That product is not in the catalogue any more.';
    default: return `Something went wrong${detail}. You can try again.`;
  }
}

// ---------------------------------------------------------------- requests

/** Queues a request; only the newest waiting one is kept. */
function send(msg, transfer = []) {
  state.pending = { msg, transfer };
  flush();
}

function flush() {
  if (!worker || state.fatal || state.inflight || !state.pending) return;
  const { msg, transfer } = state.pending;
  state.pending = null;
  const id = state.nextId++;
  state.inflight = id;
  state.sentPersonal = !!msg.personal;
  setBodyState('searching');
  setResultsState('searching');
  if (!el.results.children.length) renderSkeleton();
  el.resultsSummary.textContent = state.ready ? 'Searching…' : 'Searching as soon as the catalogue has loaded…';
  // The answer carries the page's own id (the client numbers its requests).
  worker.request(msg, transfer).then((m) => onResults({ ...m, id }), (err) => {
    if (err.code !== 'closed' && !state.fatal) onError({ id, code: err.code, message: err.message, format: err.format });
  });
}

function filters() {
  const f = {};
  if (state.colourColumn && state.colour) f[state.colourColumn] = state.colour;
  return f;
}

const personalActive = () => state.personal.available && state.personal.on;

let requestSeq = 0;
/**
 * Sends make()'s [message, transfer] with the shopper's history attached
 * when personal re-ranking is on and there is some (read from IndexedDB
 * first, so a newer request made meanwhile wins).
 */
async function sendPersonal(make) {
  const seq = ++requestSeq;
  const p = personalActive() ? await personal.profile().catch(() => null) : null;
  if (seq !== requestSeq) return;
  const [msg, transfer] = make();
  if (p) msg.personal = p;
  send(msg, transfer);
}

function runImageSearch() {
  if (!state.image) return;
  state.query = { kind: 'image' };
  const image = state.image;
  sendPersonal(() => {
    // The worker receives its own copy: the page keeps the bytes to search
    // again with another crop or filter (the engine caches the embedding).
    const bytes = image.bytes.slice();
    return [{
      type: 'search', image: bytes.buffer, crop: state.crop, k: state.k,
      section: state.section, filters: filters(),
    }, [bytes.buffer]];
  });
}

function runSimilar(productId, { push = true, title = '', thumb = null } = {}) {
  state.query = { kind: 'similar', productId: String(productId), title, thumb };
  if (push) history.pushState({ similar: state.query.productId }, '', `#similar=${encodeURIComponent(state.query.productId)}`);
  const q = state.query;
  sendPersonal(() => [{ type: 'similar', productId: q.productId, k: state.k, section: state.section, filters: filters() }]);
}

function rerun() {
  if (!state.query) return;
  if (state.query.kind === 'image') runImageSearch();
  else runSimilar(state.query.productId, { push: false, title: state.query.title, thumb: state.query.thumb });
}

function similarFromHash() {
  const m = /^#similar=(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : '';
}

window.addEventListener('popstate', () => {
  const id = similarFromHash();
  state.k = PAGE_K;
  if (id) runSimilar(id, { push: false });
  else if (state.image) runImageSearch();
  else clearResults();
});

// ---------------------------------------------------------------- results

function onResults(m) {
  if (m.id !== state.inflight) return;
  state.inflight = 0;
  delete el.body.dataset.error;
  setBodyState('ready');
  const results = Array.isArray(m.results) ? m.results : [];
  if (state.query?.kind === 'similar' && m.query) {
    state.query.title = m.query.title || state.query.title;
    state.query.thumb = m.query.thumb || state.query.thumb;
  }
  // A new photo's embedding (numbers, never the photo) joins the history;
  // re-runs for a filter, a like or the switch do not count again.
  if (m.query?.kind === 'image' && Array.isArray(m.query.vector) && state.recordSearch && personalActive()) {
    personal.recordSearch(m.query.vector).then(renderPersonalCount);
  }
  if (m.query?.kind === 'image') state.recordSearch = false;
  // Where the engine found the product in a busy photo: the crop box shows
  // it (moving it searches that area instead), and what the photo looks like.
  if (m.query?.kind === 'image') {
    const b = m.query.box;
    if (b && b.auto && !state.crop && state.image) crop.propose(b);
    state.predicted = m.query.predicted || null;
  }
  el.results.dataset.personal = String(state.sentPersonal);
  renderQueryCard();
  renderResults(results);
  allowLaterAfterThumbs();
  const where = [state.section, state.colour].filter(Boolean).join(', ');
  const n = results.length;
  const close = results.filter((r) => r.close !== false).length;
  const noun = state.query?.kind === 'similar' ? 'similar products' : 'lookalikes';
  const summary = n === 0
    ? `No ${noun} found${where ? ` in ${where}` : ''}. Try another section or colour.`
    : close < n
      ? `${close} ${noun}${where ? ` in ${where}` : ''} · ${n - close} less similar`
      : `${n} ${noun}${where ? ` in ${where}` : ''}`;
  const ms = m.ms || {};
  const total = (ms.decode || 0) + (ms.embed || 0) + (ms.search || 0);
  const took = total >= 1 ? ` · ${Math.round(total).toLocaleString()} ms on this device` : ' · in under 1 ms on this device';
  const mine = state.sentPersonal && n ? ' · personalised' : '';
  state.summary = summary + mine + took;
  el.resultsSummary.textContent = state.summary;
  el.live.textContent = [state.note, summary + mine].filter(Boolean).join(' ');
  state.note = '';
  setResultsState(n ? 'results' : 'none');
  if (state.scrollToResults && state.query?.kind === 'image' && narrow.matches) {
    el.queryCard.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }
  state.scrollToResults = false;
  el.more.hidden = !(n >= state.k && state.k < MAX_K);
  flush();
}

function clearResults() {
  state.query = null;
  el.results.replaceChildren();
  el.resultsSummary.textContent = '';
  el.queryCard.hidden = true;
  el.more.hidden = true;
  setResultsState('empty');
}

function renderSkeleton() {
  const frag = document.createDocumentFragment();
  for (let i = 0; i < 8; i++) {
    const li = document.createElement('li');
    li.className = 'card skeleton';
    li.setAttribute('aria-hidden', 'true');
    li.innerHTML = '<div class="thumb"></div><div class="card-body"><p class="card-title">&nbsp;</p><p class="card-meta">&nbsp;</p></div>';
    frag.append(li);
  }
  el.results.replaceChildren(frag);
}

function renderQueryCard() {
  const q = state.query;
  el.queryCard.hidden = !q;
  if (!q) return;
  el.queryThumb.replaceChildren();
  el.queryThumb.style.cssText = '';
  if (q.kind === 'image') {
    el.queryKind.textContent = 'Your photo';
    el.resultsTitle.textContent = state.crop ? 'Lookalikes of the selected area' : 'Lookalikes of your photo';
    if (state.image) {
      const img = document.createElement('img');
      img.src = state.image.url;
      img.alt = '';
      el.queryThumb.append(img);
    }
    el.queryBack.hidden = true;
    renderPredicted();
  } else {
    el.queryKind.textContent = 'More like this';
    el.resultsTitle.textContent = q.title ? `Similar to ${q.title}` : `Similar to product ${q.productId}`;
    if (q.thumb) el.queryThumb.append(tile(thumbOf(q.thumb), '', strictSheets));
    el.queryBack.hidden = !state.image;
  }
}

/** "Looks like: Tshirts · Navy Blue" under the photo, from the engine's heads. */
function renderPredicted() {
  const p = state.predicted;
  let line = el.queryCard.querySelector('.predicted');
  const parts = p ? Object.values(p).filter((v) => v && v.label && v.p >= 0.35).map((v) => v.label) : [];
  if (!parts.length) { line?.remove(); return; }
  if (!line) {
    line = document.createElement('p');
    line.className = 'predicted';
    el.queryKind.after(line);
  }
  line.textContent = `Looks like: ${parts.join(' · ')}`;
}

function renderResults(results) {
  // Keep the keyboard where it was when the same product is still shown
  // (e.g. its heart, after a like re-ranked the results).
  const had = document.activeElement?.closest?.('#results li[data-product-id]');
  const control = had && ['like', 'card-main', 'card-link'].find((c) => document.activeElement.classList.contains(c));
  const frag = document.createDocumentFragment();
  const badge = badges(results, state.sentPersonal ? 'personal' : 'photo');
  let ended = false;
  results.forEach((r, i) => {
    // Below the build's relevance floor: not called a lookalike. The grid
    // of close matches ends, the rest follow apart.
    if (r.close === false && !ended) {
      ended = true;
      const end = document.createElement('li');
      end.className = 'results-end';
      end.setAttribute('role', 'separator');
      end.textContent = frag.childNodes.length
        ? "That's all the close matches. Less similar products:"
        : 'No close matches in this catalogue. The nearest products:';
      frag.append(end);
    }
    const li = resultCard(r, badge[i]);
    if (ended) li.classList.add('distant');
    frag.append(li);
  });
  el.results.replaceChildren(frag);
  if (control) {
    const li = [...el.results.children].find((x) => x.dataset.productId === had.dataset.productId);
    li?.querySelector(`.${control}`)?.focus({ preventScroll: true });
  }
}

/** One result: the shared card (lookalike/card.js) and the page's foot ("More like this", "View"). */
function resultCard(r, badge) {
  const title = r.title || `Product ${r.id}`;
  const li = card({ ...r, id: String(r.id), thumb: r.thumb && thumbOf(r.thumb) }, {
    link: false,
    sheets: strictSheets,
    label: `${title}: show more like this`,
    badge,
    meta: [r.section, state.colourColumn && r.attrs?.[state.colourColumn]].filter(Boolean).join(' · '),
    open: () => {
      state.k = PAGE_K;
      runSimilar(r.id, { title, thumb: r.thumb });
      if (personalActive()) personal.recordView(r.id).then(renderPersonalCount);
      el.queryCard.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    },
    like: { pressed: state.personal.liked.has(String(r.id)), hidden: !state.personal.available, toggle: (b) => toggleLike(String(r.id), title, b) },
  });
  if (state.query?.kind === 'similar' && String(r.id) === state.query.productId) li.dataset.current = 'true';
  if (badge?.lifted) li.dataset.lifted = 'true';

  const foot = document.createElement('div');
  foot.className = 'card-foot';
  const more = document.createElement('span');
  more.className = 'card-more';
  more.setAttribute('aria-hidden', 'true');
  more.textContent = 'More like this';
  foot.append(more);
  const href = safeURL(r.url);
  if (href) {
    const a = document.createElement('a');
    a.className = 'card-link';
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = 'View';
    a.setAttribute('aria-label', `View ${title} in the shop`);
    const viewed = (e) => {
      if (e.type === 'auxclick' && e.button !== 1) return;
      if (personalActive()) personal.recordView(r.id).then(renderPersonalCount);
    };
    a.addEventListener('click', viewed);
    a.addEventListener('auxclick', viewed);
    foot.append(a);
  }
  li.append(foot);
  return li;
}

// ---------------------------------------------------------------- personal

/**
 * A product's stored vector from the engine (null when it cannot say), to
 * keep with a heart: the embed's carousel then ranks by the like from the
 * few records it reads instead of the whole vector file.
 */
function productVector(id) {
  if (!worker || !state.ready || state.fatal) return Promise.resolve(null);
  return Promise.race([
    worker.request({ type: 'vector', productId: id }).then((m) => m.vector || null, () => null),
    new Promise((resolve) => { setTimeout(() => resolve(null), 15000); }),
  ]);
}

async function toggleLike(id, title, button) {
  const liked = !state.personal.liked.has(id);
  if (liked) state.personal.liked.add(id); else state.personal.liked.delete(id);
  button.setAttribute('aria-pressed', String(liked));
  await (liked ? personal.like(id, await productVector(id)) : personal.unlike(id));
  state.note = liked ? `Liked ${title}.` : `Removed ${title} from your likes.`;
  renderPersonalCount();
  // Show the effect: the results re-rank with the new history.
  if (personalActive() && state.query) rerun();
  else el.live.textContent = state.note;
}

function refreshHearts() {
  for (const b of el.results.querySelectorAll('.like')) {
    b.hidden = !state.personal.available;
    b.setAttribute('aria-pressed', String(state.personal.liked.has(b.closest('li').dataset.productId)));
  }
}

function renderPersonal() {
  const p = state.personal;
  el.personal.dataset.state = !p.available ? 'unavailable' : p.on ? 'on' : 'off';
  el.personalToggle.setAttribute('aria-checked', String(p.available && p.on));
  el.personalToggle.disabled = !p.available;
  el.personalForget.hidden = !p.available;
  el.personalNote.textContent = p.available
    ? 'Your likes, the products you open and your photo searches (as numbers, never the photo) stay on this device and are never sent.'
    : 'This browser keeps no history for this page (private browsing or storage blocked), so results are in visual order.';
  renderPersonalCount();
}

async function renderPersonalCount() {
  if (!state.personal.available) { el.personalCount.textContent = ''; return; }
  const c = await personal.counts();
  const parts = [[c.likes, 'liked'], [c.views, 'viewed'], [c.searches, c.searches === 1 ? 'photo search' : 'photo searches']]
    .filter(([n]) => n > 0).map(([n, w]) => `${n} ${w}`);
  el.personalCount.textContent = parts.length ? `Kept here: ${parts.join(', ')}` : 'Nothing kept yet';
}

el.personalToggle.addEventListener('click', () => {
  if (!state.personal.available) return;
  state.personal.on = !state.personal.on;
  personal.setEnabled(state.personal.on);
  renderPersonal();
  state.note = state.personal.on ? 'Personalised results on.' : 'Personalised results off: results in order of looks alone.';
  if (state.query) rerun(); else el.live.textContent = state.note;
});

el.personalForget.addEventListener('click', async () => {
  // eslint-disable-next-line no-alert
  if (!window.confirm('Forget your likes, viewed products and photo searches kept on this device?')) return;
  await personal.forget();
  state.personal.liked.clear();
  refreshHearts();
  renderPersonalCount();
  state.note = 'Your history on this device has been deleted.';
  el.live.textContent = state.note;
  if (state.query) rerun();
});

async function initPersonal() {
  state.personal.available = await personal.available();
  if (state.personal.available) state.personal.liked = await personal.likedIds();
  renderPersonal();
  refreshHearts();
}

// Changes from another tab or from an embedded element on this origin.
personal.subscribe(async ({ kind }) => {
  if (kind === 'setting') { state.personal.on = personal.enabled(); renderPersonal(); }
  if (kind === 'likes' || kind === 'forget') { state.personal.liked = await personal.likedIds(); refreshHearts(); }
  renderPersonalCount();
});

// privacy="strict" (<html data-privacy="strict">, docs/security.md): every
// thumbnail sheet is fetched when the page opens, before a photo can be
// chosen, and thumbnails are drawn from those copies only, so no request
// after a photo depends on it.
const strictSheets = document.documentElement.dataset.privacy === 'strict'
  ? import('./privacy.js').then((m) => m.prefetchSheets(new URL('assets/', document.baseURI).href)).catch(() => new Map())
  : null;

// A result's thumbnail {url, x, y, w, h, sheetW, sheetH}: a tile of the
// sprite sheet at url, relative to the asset folder (a URL that is not
// http(s) is dropped: lookalike/card.js safeURL).
function thumbOf(t) {
  return { ...t, url: safeURL(t.url, new URL('assets/', document.baseURI).href) };
}

// ---------------------------------------------------------------- filters

function renderSections() {
  const names = Object.entries(state.sections).sort((a, b) => b[1] - a[1]);
  const chips = [['', state.items], ...names].map(([name, count]) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'chip';
    b.dataset.section = name;
    b.setAttribute('aria-pressed', String(name === state.section));
    const label = document.createElement('span');
    label.textContent = name || 'All';
    const c = document.createElement('span');
    c.className = 'count';
    c.textContent = Number(count).toLocaleString();
    c.setAttribute('aria-label', `(${count} products)`);
    b.append(label, c);
    b.addEventListener('click', () => setSection(name));
    return b;
  });
  el.sections.replaceChildren(...chips);
  el.sections.hidden = names.length === 0;
}

function setSection(name) {
  if (state.section === name) return;
  state.section = name;
  for (const b of el.sections.querySelectorAll('.chip')) b.setAttribute('aria-pressed', String(b.dataset.section === name));
  state.k = PAGE_K;
  rerun();
}

function renderColours(values) {
  if (!values || !Object.keys(values).length) { el.colourFilter.hidden = true; return; }
  const opts = Object.entries(values).sort((a, b) => b[1] - a[1]).map(([v, n]) => {
    const o = document.createElement('option');
    o.value = v;
    o.textContent = `${v} (${Number(n).toLocaleString()})`;
    return o;
  });
  const any = document.createElement('option');
  any.value = '';
  any.textContent = 'Any colour';
  el.colour.replaceChildren(any, ...opts);
  el.colourFilter.hidden = false;
}

el.colour.addEventListener('change', () => {
  state.colour = el.colour.value;
  state.k = PAGE_K;
  rerun();
});

el.moreButton.addEventListener('click', () => {
  state.k = Math.min(MAX_K, state.k + PAGE_K);
  rerun();
});

el.queryBack.addEventListener('click', () => {
  if (!state.image) return;
  state.k = PAGE_K;
  history.pushState({}, '', location.pathname + location.search);
  runImageSearch();
});

// ---------------------------------------------------------------- input

/** Takes a photo from any source: checks it, shows it and searches it. */
async function acceptImage(blob, { recentId = null } = {}) {
  hideMessage();
  delete el.body.dataset.error;
  if (!blob || blob.size === 0) return inputError({ code: 'empty' });
  if (blob.size > MAX_FILE_BYTES) {
    return inputError({ code: 'too-large', message: `${mb(blob.size)} MB; the limit is ${mb(MAX_FILE_BYTES)} MB` });
  }
  let bytes;
  try {
    bytes = new Uint8Array(await blob.arrayBuffer());
  } catch {
    return inputError({ code: 'unsupported', message: 'the file could not be read' });
  }
  let info = imageInfo(bytes.subarray(0, 65536));
  if (!info) return inputError({ code: 'unsupported' });
  if (info.width !== undefined) {
    const px = info.width * info.height;
    if (!info.width || !info.height) return inputError({ code: 'corrupt' });
    if (px > MAX_PIXELS || info.width > MAX_SIDE || info.height > MAX_SIDE) {
      return inputError({ code: 'too-large', message: `${info.width} × ${info.height} pixels; the limit is ${MAX_PIXELS / 1e6} megapixels` });
    }
  }
  let type = blob.type;
  if (!ENGINE_FORMATS.has(info.format)) {
    // A format the browser may show but the engine does not read (AVIF,
    // HEIC on Safari, TIFF): let the browser decode it under the pixel
    // budget and hand the engine a PNG of it.
    const png = await reencode(blob).catch(() => null);
    if (!png) return inputError({ code: 'unsupported', format: info.format.toUpperCase() });
    bytes = png.bytes;
    type = 'image/png';
    info = { format: 'png', width: png.width, height: png.height };
  }
  const url = URL.createObjectURL(new Blob([bytes], { type: type || `image/${info.format}` }));
  const img = el.preview;
  img.src = url;
  try {
    await img.decode();
  } catch {
    URL.revokeObjectURL(url);
    img.removeAttribute('src');
    return inputError({ code: 'corrupt' });
  }
  if (state.image) URL.revokeObjectURL(state.image.url);
  state.image = { bytes, type, url, width: img.naturalWidth, height: img.naturalHeight, recentId };
  state.crop = null;
  state.k = PAGE_K;
  el.editor.hidden = false;
  sizePreview();
  crop.reset(img.naturalWidth, img.naturalHeight);
  state.scrollToResults = true;
  state.recordSearch = true;
  if (similarFromHash()) history.pushState({}, '', location.pathname + location.search);
  runImageSearch();
  if (!recentId) saveRecent();
}

// Shows the photo as large as the panel allows (small photos are enlarged,
// keeping their aspect ratio, so the crop box stays easy to handle).
function sizePreview() {
  const im = state.image;
  if (!im || el.editor.hidden) return;
  const maxW = Math.max(120, el.editor.clientWidth);
  const maxH = Math.min(narrow.matches ? 300 : 340, Math.max(200, window.innerHeight * 0.4));
  const s = Math.min(maxW / im.width, maxH / im.height);
  el.preview.style.width = `${Math.round(im.width * s)}px`;
  el.preview.style.height = `${Math.round(im.height * s)}px`;
}
window.addEventListener('resize', sizePreview);

function inputError(err) {
  el.body.dataset.error = err.code;
  showMessage(messageFor(err));
  if (!state.inflight) setBodyState(state.fatal ? 'error' : state.ready ? 'ready' : 'loading');
}

async function reencode(blob) {
  const bmp = await createImageBitmap(blob);
  try {
    if (bmp.width * bmp.height > MAX_PIXELS) throw new Error('too large');
    const canvas = document.createElement('canvas');
    canvas.width = bmp.width;
    canvas.height = bmp.height;
    canvas.getContext('2d').drawImage(bmp, 0, 0);
    const out = await new Promise((res) => canvas.toBlob(res, 'image/png'));
    if (!out) throw new Error('encode failed');
    return { bytes: new Uint8Array(await out.arrayBuffer()), width: bmp.width, height: bmp.height };
  } finally {
    bmp.close();
  }
}

const crop = createCropBox(el.cropStage, el.preview, el.cropBox, (r, committed) => {
  if (!committed || !state.image) return;
  const whole = r.x === 0 && r.y === 0 && r.w === state.image.width && r.h === state.image.height;
  const next = whole ? null : r;
  if (JSON.stringify(next) === JSON.stringify(state.crop)) return;
  state.crop = next;
  state.k = PAGE_K;
  state.recordSearch = true;
  runImageSearch();
  saveRecent();
});

el.searchButton.addEventListener('click', () => {
  if (!state.image) return;
  state.k = PAGE_K;
  if (similarFromHash()) history.pushState({}, '', location.pathname + location.search);
  runImageSearch();
});
el.cropReset.addEventListener('click', () => crop.whole());
el.editorClear.addEventListener('click', () => {
  if (state.image) URL.revokeObjectURL(state.image.url);
  state.image = null;
  state.crop = null;
  el.preview.removeAttribute('src');
  el.editor.hidden = true;
  if (state.query?.kind === 'image') clearResults();
  el.dropzone.focus();
});

// File picker and camera capture input.
for (const input of [el.fileInput, el.cameraInput]) {
  const take = () => {
    const f = input.files?.[0];
    input.value = '';
    if (f) acceptImage(f);
  };
  input.addEventListener('change', take);
  // On a slow link the shopper may pick a photo before this script has
  // arrived: the input already holds it, its change event is gone.
  if (input.files?.length) take();
}

// Drop zone: click, Enter or Space opens the picker.
el.dropzone.addEventListener('click', () => el.fileInput.click());
el.dropzone.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    el.fileInput.click();
  }
});

// Drag and drop anywhere on the page; the drop zone highlights.
let dragDepth = 0;
document.addEventListener('dragenter', (e) => {
  if (!hasDroppable(e.dataTransfer)) return;
  dragDepth++;
  el.dropzone.dataset.state = 'over';
});
document.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) el.dropzone.dataset.state = 'idle';
});
document.addEventListener('dragover', (e) => {
  if (!hasDroppable(e.dataTransfer)) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'copy';
});
document.addEventListener('drop', (e) => {
  if (!hasDroppable(e.dataTransfer)) return;
  e.preventDefault();
  dragDepth = 0;
  el.dropzone.dataset.state = 'idle';
  takeFromTransfer(e.dataTransfer);
});

function hasDroppable(dt) {
  if (!dt) return false;
  const types = Array.from(dt.types || []);
  return types.includes('Files') || types.includes('text/uri-list') || types.includes('text/html');
}

// Paste an image (or an image address) anywhere except into a text field.
document.addEventListener('paste', (e) => {
  const t = e.target;
  if (t instanceof HTMLInputElement && t.type !== 'file' || t instanceof HTMLTextAreaElement) return;
  if (!e.clipboardData) return;
  e.preventDefault();
  takeFromTransfer(e.clipboardData);
});

async function takeFromTransfer(dt) {
  const file = Array.from(dt.files || []).find((f) => f.type.startsWith('image/')) || dt.files?.[0];
  if (file) return acceptImage(file);
  for (const item of Array.from(dt.items || [])) {
    if (item.kind === 'file') {
      const f = item.getAsFile();
      if (f) return acceptImage(f);
    }
  }
  // An image dragged from another tab arrives as its address.
  let url = (dt.getData('text/uri-list') || '').split('\n').map((s) => s.trim()).find((s) => s && !s.startsWith('#'));
  if (!url) {
    const html = dt.getData('text/html') || '';
    url = /<img[^>]+src=["']([^"']+)["']/i.exec(html)?.[1];
  }
  if (!url) url = (dt.getData('text/plain') || '').trim();
  if (!url) return showMessage('Nothing to search in what was dropped or pasted. Try an image file.');
  return acceptURL(url);
}

// Only data: addresses and this site's own images are read: fetching another
// site's image would tell that site someone is searching for it.
async function acceptURL(raw) {
  let url;
  try { url = new URL(raw, document.baseURI); } catch { return showMessage('Nothing to search in what was dropped or pasted. Try an image file.'); }
  if (url.protocol === 'data:') {
    const m = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(raw);
    if (!m) return inputError({ code: 'unsupported' });
    const bytes = m[2] ? base64Bytes(m[3]) : new TextEncoder().encode(decodeURIComponent(m[3]));
    return acceptImage(new Blob([bytes], { type: m[1] }));
  }
  if (url.origin !== location.origin) return inputError({ code: 'cross-origin' });
  try {
    const res = await fetch(url, { credentials: 'same-origin' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return acceptImage(await res.blob());
  } catch (e) {
    return showMessage(`That image could not be read (${e.message}). Save it and drop the file instead.`);
  }
}

function base64Bytes(s) {
  const bin = atob(s.replace(/\s/g, ''));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// Camera: a capture input on phones and tablets, a live snapshot elsewhere.
const coarse = matchMedia('(pointer: coarse)').matches;
el.cameraCaptureLabel.hidden = !coarse;
el.cameraOpen.hidden = coarse || !navigator.mediaDevices?.getUserMedia;
let stream = null;
el.cameraOpen.addEventListener('click', async () => {
  hideMessage();
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 1280 } }, audio: false });
  } catch (e) {
    const denied = e?.name === 'NotAllowedError' || e?.name === 'SecurityError';
    showMessage(denied
      ? 'The camera is blocked for this page. Allow it in your browser, or choose a photo instead.'
      : 'No camera could be opened. Choose a photo instead.');
    return;
  }
  el.cameraVideo.srcObject = stream;
  el.camera.hidden = false;
  await el.cameraVideo.play().catch(() => {});
  el.cameraSnap.focus();
});
function closeCamera() {
  stream?.getTracks().forEach((t) => t.stop());
  stream = null;
  el.cameraVideo.srcObject = null;
  el.camera.hidden = true;
}
el.cameraClose.addEventListener('click', closeCamera);
el.cameraSnap.addEventListener('click', () => {
  const v = el.cameraVideo;
  if (!v.videoWidth) return;
  const canvas = document.createElement('canvas');
  canvas.width = v.videoWidth;
  canvas.height = v.videoHeight;
  canvas.getContext('2d').drawImage(v, 0, 0);
  closeCamera();
  canvas.toBlob((b) => b && acceptImage(b), 'image/jpeg', 0.92);
});

// ---------------------------------------------------------------- recent (session only)

function loadRecent() {
  try {
    const v = JSON.parse(sessionStorage.getItem(RECENT_KEY) || '[]');
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

function storeRecent(list) {
  for (;;) {
    try {
      sessionStorage.setItem(RECENT_KEY, JSON.stringify(list));
      return;
    } catch {
      if (!list.length) return;
      list = list.slice(0, -1); // over quota: drop the oldest
    }
  }
}

/** Saves the current crop as a small image (at most 448 px) for this session. */
function saveRecent() {
  const im = state.image;
  if (!im) return;
  const r = state.crop || { x: 0, y: 0, w: im.width, h: im.height };
  const draw = (max, quality) => {
    const s = Math.min(1, max / Math.max(r.w, r.h));
    const c = document.createElement('canvas');
    c.width = Math.max(1, Math.round(r.w * s));
    c.height = Math.max(1, Math.round(r.h * s));
    const g = c.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, c.width, c.height);
    g.drawImage(el.preview, r.x, r.y, r.w, r.h, 0, 0, c.width, c.height);
    return c.toDataURL('image/jpeg', quality);
  };
  let entry;
  try {
    entry = { id: `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, thumb: draw(112, 0.8), image: draw(448, 0.88) };
  } catch {
    return;
  }
  let list = loadRecent();
  if (im.recentId) list = list.filter((e) => e.id !== im.recentId);
  im.recentId = entry.id;
  list.unshift(entry);
  storeRecent(list.slice(0, RECENT_MAX));
  renderRecent();
}

function renderRecent() {
  const list = loadRecent();
  el.recent.hidden = list.length === 0;
  el.recentList.replaceChildren(...list.map((e, i) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.setAttribute('aria-label', `Search again with recent photo ${i + 1}`);
    const img = document.createElement('img');
    img.src = e.thumb;
    img.alt = '';
    b.append(img);
    b.addEventListener('click', () => {
      const m = /^data:([^;]+);base64,(.*)$/.exec(e.image || '');
      if (m) acceptImage(new Blob([base64Bytes(m[2])], { type: m[1] }), { recentId: e.id });
    });
    li.append(b);
    return li;
  }));
}

el.recentClear.addEventListener('click', () => {
  try { sessionStorage.removeItem(RECENT_KEY); } catch { /* storage disabled */ }
  renderRecent();
});

// ---------------------------------------------------------------- UI helpers

function setBodyState(s) {
  el.body.dataset.state = s;
  el.body.dataset.empty = String(!state.query && !state.inflight);
}

function setResultsState(s) {
  el.results.dataset.state = s;
  el.results.setAttribute('aria-busy', String(s === 'searching'));
  el.body.dataset.empty = String(!state.query && !state.inflight && s === 'empty');
}

function setLoadStatus(s, text, pct) {
  el.loadStatus.dataset.state = s;
  el.progressText.textContent = text;
  el.progressBar.style.width = `${pct.toFixed(1)}%`;
  el.progress.setAttribute('aria-valuenow', String(Math.round(pct)));
}

function showMessage(text, { kind = 'error', action = null } = {}) {
  el.message.dataset.kind = kind;
  el.messageText.textContent = text;
  el.messageAction.hidden = !action;
  if (action) {
    el.messageAction.textContent = action.label;
    el.messageAction.onclick = () => { hideMessage(); action.run(); };
  }
  el.message.hidden = false;
}

function hideMessage() {
  el.message.hidden = true;
}
el.messageClose.addEventListener('click', hideMessage);

// ---------------------------------------------------------------- start

if ('serviceWorker' in navigator && window.isSecureContext) {
  navigator.serviceWorker.register(new URL('./sw.js', import.meta.url), { scope: './' }).catch(() => {
    // Offline use is a bonus: the page works without it.
  });
}
renderRecent();
setResultsState('empty');
initPersonal();
startWorker();
