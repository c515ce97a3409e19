// lookalike.js — the site owner's embed (docs/embed.md), no dependencies:
//
//   <script type="module" src="https://…/lookalike.js"></script>
//   <lookalike-similar product-id="1163" assets="https://…/assets/" count="8"></lookalike-similar>
//   <lookalike-search assets="https://…/assets/"></lookalike-search>
//
// The carousel reads the stored neighbours (a few records by HTTP Range, no
// model); the search box starts the engine (lookalike/worker.js) on the
// first photo. Shadow DOM, themed by --lookalike-* and ::part(); a <div
// data-lookalike-similar …> works too. A failure renders nothing or a quiet
// line, logs one warning, throws nothing. The shopper's on-device history
// (../personal.js) re-ranks both unless personal="off". Every href and
// thumbnail URL passes lookalike/card.js safeURL (models/catalog.SafeURL's rule).

import { catalog, similar, likeVector, parseThumb } from './lookalike/assets.js';
import { h, tile, card, formatPrice, safeURL } from './lookalike/card.js';

export { tile, formatPrice };

const ATTRS = ['product-id', 'assets', 'api', 'count', 'section', 'label', 'engine', 'results', 'personal', 'w-personal', 'w-cf', 'privacy'];

// ---------------------------------------------------------------- personal

let personalJS = null;
/** The shared history module (personal.js next to this file), or null. */
const personalModule = () => (personalJS ||= import(new URL('personal.js', import.meta.url).href).catch(() => null));
const stored = (k) => { try { return localStorage.getItem(k); } catch { return null; } };
// Until personal.js has recorded something here (flag 'lookalike.history'),
// a stand-in: no history; the module loads on the first heart, open or search.
const lite = {
  enabled: () => stored('lookalike.personal') !== 'off',
  available: async () => typeof indexedDB !== 'undefined',
  likedIds: async () => new Set(),
  profile: async () => null,
  subscribe: () => () => {},
};
for (const f of ['like', 'unlike', 'recordView', 'recordSearch']) lite[f] = async (...a) => (await personalModule())?.[f](...a);

/** One product's display data ({id, title, url, price, currency, section, thumb}) or null; for pages showing it (demo/product.js). */
export async function product(assets, id) {
  const c = await catalog(new URL(assets, document.baseURI).href);
  const i = c.byId.get(String(id));
  return i === undefined ? null : c.item(i);
}

// ---------------------------------------------------------------- looks

const CSS = `
:host{display:block!important}
:host([hidden]),[hidden]{display:none!important}
*,*::before,*::after{box-sizing:border-box}
.root{color:var(--lookalike-text,#1d1d1f);font-family:var(--lookalike-font,system-ui,-apple-system,"Segoe UI",sans-serif);font-size:var(--lookalike-font-size,15px);line-height:1.4;text-align:start}
.head{display:flex;align-items:center;justify-content:space-between;gap:var(--lookalike-gap,12px);margin:0 0 10px}
h2{font-size:1.15em;font-weight:650;margin:0;color:inherit}
.nav{display:flex;gap:8px}
.btn{font:inherit;font-weight:600;color:var(--lookalike-button-text,#fff);background:var(--lookalike-accent,#1f5fd6);border:0;border-radius:var(--lookalike-radius,10px);min-width:40px;min-height:40px;padding:0 14px;cursor:pointer}
.btn[aria-disabled=true]{background:color-mix(in srgb,var(--lookalike-accent,#1f5fd6) 35%,#fff);cursor:default}
:focus{outline:none}
:focus-visible,.box:has(:focus-visible){outline:3px solid var(--lookalike-focus,var(--lookalike-accent,#1f5fd6));outline-offset:2px}
.track{position:relative;display:grid;grid-auto-flow:column;grid-auto-columns:var(--lookalike-card-width,164px);gap:var(--lookalike-gap,12px);overflow-x:auto;scroll-snap-type:x mandatory;scroll-padding-inline:6px;scroll-behavior:smooth;scrollbar-width:none;list-style:none;margin:0;padding:6px}
.track::-webkit-scrollbar{display:none}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(var(--lookalike-card-width,140px),1fr));gap:var(--lookalike-gap,12px);list-style:none;margin:12px 0 0;padding:0}
.card{position:relative;display:block;margin:0;padding:0;scroll-snap-align:start;min-width:0}
.like{position:absolute;top:14px;right:14px;display:grid;place-items:center;width:32px;height:32px;padding:0;border:0;border-radius:50%;background:rgb(255 255 255/.9);color:var(--lookalike-muted,#66666d);cursor:pointer}
.like svg{width:18px;fill:none;stroke:currentColor;stroke-width:2}
.like[aria-pressed=true]{color:var(--lookalike-like,#d1245f)}
.like[aria-pressed=true] svg{fill:currentColor}
.card-main{display:flex;flex-direction:column;gap:6px;width:100%;height:100%;margin:0;padding:8px;font:inherit;text-align:start;text-decoration:none;color:inherit;background:var(--lookalike-card-bg,#fff);border:1px solid var(--lookalike-border,#dedee3);border-radius:var(--lookalike-radius,10px);cursor:pointer}
.card-main:hover{border-color:var(--lookalike-accent,#1f5fd6)}
.card-body{display:contents}
.thumb{position:relative;display:block;overflow:hidden;width:100%;aspect-ratio:3/4;border-radius:calc(var(--lookalike-radius,10px)/2);background:var(--lookalike-image-bg,#f3f3f5)}
.thumb img{position:absolute;left:0;top:0;max-width:none;height:auto;opacity:0}
.thumb img.ok{opacity:1}
.thumb img.full{width:100%;height:100%;object-fit:contain}
.card-title{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;font-size:.9em}
.card-price{font-weight:650;color:var(--lookalike-price,inherit)}
.msg{margin:6px 0 0;font-size:.9em;color:var(--lookalike-muted,#66666d)}
.msg:empty{display:none}
.box{display:flex;flex-wrap:wrap;align-items:center;gap:10px;padding:12px;border:2px dashed var(--lookalike-border,#c9c9d1);border-radius:var(--lookalike-radius,10px);background:var(--lookalike-card-bg,#fff)}
.box.over{border-color:var(--lookalike-accent,#1f5fd6);background:var(--lookalike-drop-bg,#eef3ff)}
.hint{font-size:.9em;color:var(--lookalike-muted,#66666d)}
dialog{width:min(920px,94vw);max-height:88vh;padding:16px;border:0;border-radius:var(--lookalike-radius,10px);color:inherit;background:var(--lookalike-bg,#fff)}
dialog::backdrop{background:rgb(0 0 0/.45)}
@media (prefers-reduced-motion:reduce){.track{scroll-behavior:auto}}
`;

let sheet = null;
function style(root) {
  try {
    sheet ||= new CSSStyleSheet();
    if (!sheet.cssRules.length) sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch {
    // No constructable stylesheets (old browsers): a <style> element.
    root.append(h('style', {}, CSS));
  }
}

// ---------------------------------------------------------------- elements

class View {
  constructor(host) {
    this.host = host;
    this.root = host.shadowRoot || host.attachShadow({ mode: 'open' });
    style(this.root);
    this.warned = false;
    this.token = 0;
  }

  /** An option from the attribute, or its data- form on a plain <div>. */
  attr(name, fallback = '') {
    const v = this.host.getAttribute(name) ?? this.host.getAttribute('data-' + name);
    return v == null || v === '' ? fallback : v;
  }

  get assets() {
    const a = this.attr('assets', 'assets/');
    return new URL(a.endsWith('/') ? a : a + '/', document.baseURI).href;
  }

  warn(msg) {
    if (this.warned) return;
    this.warned = true;
    console.warn(`Lookalike <${this.kind}>: ${msg}`);
  }

  /** The history module (this.liked loaded), or null when off or unavailable. */
  async personal() {
    const P = this.attr('personal') !== 'off' && (stored('lookalike.history') === '1' ? await personalModule() : lite);
    if (!P || !(await P.available())) return null;
    this.liked = await P.likedIds();
    this.unsub ||= P.subscribe(async () => {
      this.liked = await P.likedIds();
      for (const b of this.root.querySelectorAll('.like')) b.setAttribute('aria-pressed', String(this.liked.has(b.dataset.id)));
    });
    return P;
  }

  /** A request's `personal`, with the element's w-cf / w-personal; or null. */
  async history(P, likeVectors = false) {
    const p = P?.enabled() && (await P.profile(Date.now(), { likeVectors }));
    if (!p) return null;
    for (const k of ['w-cf', 'w-personal']) {
      const v = parseFloat(this.attr(k));
      if (v >= 0) p[k.replace('-', '_')] = v;
    }
    return p;
  }

  emit(type, detail) {
    return this.host.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true, cancelable: type === 'lookalike-select' }));
  }

  update() {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      this.warned = false;
      const token = ++this.token;
      Promise.resolve()
        .then(() => this.render(() => token === this.token))
        .catch((err) => { if (token === this.token) this.fail(err); });
    });
  }

  fail(err) {
    this.warn(err?.message || String(err));
    this.host.dataset.state = 'error';
  }

  /** One product card: the host's <template> if it has one, else card.js's. */
  card(it, i, n) {
    const attrs = { role: 'group', 'aria-roledescription': 'slide', 'aria-label': `${i + 1} of ${n}` };
    const P = this.P;
    const url = safeURL(it.url);
    const open = (e) => {
      if (P?.enabled()) P.recordView(it.id);
      if (!this.emit('lookalike-select', { productId: it.id, url: url || null, source: this.kind })) e.preventDefault();
    };
    const tpl = this.host.querySelector(':scope > template');
    if (tpl) {
      const li = h('li', { class: 'card', part: 'card', 'data-product-id': it.id, ...attrs });
      const frag = tpl.content.cloneNode(true);
      const fill = (name, f) => frag.querySelectorAll(`[data-field="${name}"]`).forEach(f);
      fill('title', (el) => { el.textContent = it.title; });
      fill('price', (el) => { el.textContent = formatPrice(it.price, it.currency); });
      fill('section', (el) => { el.textContent = it.section; });
      fill('image', (el) => el.append(tile(it.thumb, it.title, this.sheets)));
      fill('link', (el) => { if (url) el.setAttribute('href', url); el.addEventListener('click', open); });
      li.append(frag);
      return li;
    }
    return card(it, {
      attrs, open, sheets: this.sheets,
      like: P && {
        pressed: this.liked.has(it.id),
        toggle: async (b) => {
          const on = b.getAttribute('aria-pressed') !== 'true';
          b.setAttribute('aria-pressed', String(on));
          if (!on) return P.unlike(it.id);
          const pool = this.pool, j = pool?.cat.byId.get(it.id);
          P.like(it.id, j === undefined ? null : await likeVector(pool.base, pool.js, j).catch(() => null));
        },
      },
    });
  }
}

/** <lookalike-similar>: a carousel of a product's precomputed neighbours. */
class SimilarView extends View {
  get kind() { return 'lookalike-similar'; }

  async render(current) {
    const id = this.attr('product-id');
    const count = Math.max(1, Math.min(48, parseInt(this.attr('count', '8'), 10) || 8));
    const section = this.attr('section');
    this.host.dataset.state = 'loading';
    if (!id) throw new Error('no product-id attribute');
    let items = null;
    const api = this.attr('api');
    if (api) {
      try {
        items = await this.fromAPI(api, id, count, section);
      } catch (err) {
        // Unknown product, or no assets to fall back on: that is the answer.
        if (err.status === 404 || !this.attr('assets')) throw err;
      }
    }
    this.P = await this.personal();
    items ||= await this.fromAssets(this.assets, id, count, section, await this.history(this.P, true));
    if (!current()) return;
    this.show(items);
    this.host.dataset.state = items.length ? 'ready' : 'empty';
    this.emit('lookalike-results', { source: 'similar', productId: id, results: items.map(({ id, score, title, url }) => ({ productId: id, score, title, url: safeURL(url) || null })) });
  }

  /** The neighbours from the asset files; this.pool for a heart's vector. */
  fromAssets(base, id, count, section, personal) {
    return similar(base, id, count, section, personal, { pool: (p) => { this.pool = p; }, warn: (m) => this.warn(m) });
  }

  /** The neighbours from the edge worker's GET {api}similar/{id}?k=&section=. */
  async fromAPI(api, id, count, section) {
    const u = new URL(`similar/${encodeURIComponent(id)}`, new URL(api.endsWith('/') ? api : api + '/', document.baseURI));
    u.searchParams.set('k', String(Math.min(count, 24)));
    if (section) u.searchParams.set('section', section);
    let r;
    try { r = await fetch(u); } catch (err) { throw new Error(`${u.href} is unreachable (${err.message})`); }
    if (!r.ok) throw Object.assign(new Error(`${u.href}: HTTP ${r.status}${r.status === 404 ? ' (unknown product?)' : ''}`), { status: r.status });
    const d = await r.json();
    return (d.results || []).filter((x) => String(x.id) !== id).slice(0, count).map((x) => ({
      id: String(x.id), title: x.title || '', url: x.url || '', price: x.price || '', currency: x.currency || '',
      section: x.section || '', score: x.score, thumb: parseThumb(x.thumb, u.href),
    }));
  }

  fail(err) {
    this.root.replaceChildren();
    super.fail(err);
  }

  show(items) {
    if (!items.length) { this.root.replaceChildren(); return; }
    const label = this.attr('label', 'Similar items');
    const prev = h('button', { class: 'btn', part: 'button prev', type: 'button', 'aria-label': 'Previous items', text: '‹' });
    const next = h('button', { class: 'btn', part: 'button next', type: 'button', 'aria-label': 'Next items', text: '›' });
    const track = h('ul', { class: 'track', part: 'track', id: 'track', 'aria-live': 'polite' });
    prev.setAttribute('aria-controls', 'track');
    next.setAttribute('aria-controls', 'track');
    const cards = items.map((it, i) => this.card(it, i, items.length));
    track.append(...cards);
    const region = h('section', { class: 'root', part: 'carousel', 'aria-roledescription': 'carousel', 'aria-label': label },
      h('div', { class: 'head' }, h('h2', { part: 'heading', text: label }), h('div', { class: 'nav' }, prev, next)),
      track);
    this.root.replaceChildren(region);

    const stride = () => (cards.length > 1 ? cards[1].offsetLeft - cards[0].offsetLeft : cards[0].offsetWidth) || 1;
    const first = () => Math.round(track.scrollLeft / stride());
    const perPage = () => Math.max(1, Math.floor((track.clientWidth + 1) / stride()));
    const go = (i) => {
      i = Math.max(0, Math.min(cards.length - 1, i));
      track.scrollTo({ left: cards[i].offsetLeft - cards[0].offsetLeft });
      return i;
    };
    const sync = () => {
      const max = track.scrollWidth - track.clientWidth;
      prev.setAttribute('aria-disabled', String(track.scrollLeft <= 1));
      next.setAttribute('aria-disabled', String(track.scrollLeft >= max - 1));
      this.host.dataset.index = String(first());
    };
    let raf = 0;
    track.addEventListener('scroll', () => { if (!raf) raf = requestAnimationFrame(() => { raf = 0; sync(); }); }, { passive: true });
    prev.addEventListener('click', () => go(first() - perPage()));
    next.addEventListener('click', () => go(first() + perPage()));
    region.addEventListener('keydown', (e) => {
      const keys = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
      if (!(e.key in keys) || e.altKey || e.ctrlKey || e.metaKey) return;
      e.preventDefault();
      const at = cards.findIndex((c) => c.contains(this.root.activeElement));
      const from = at >= 0 ? at : first();
      const d = keys[e.key];
      const to = go(d === -Infinity ? 0 : d === Infinity ? cards.length - 1 : from + d);
      if (at >= 0) cards[to].querySelector('a,button,[tabindex]')?.focus({ preventScroll: true });
    });
    requestAnimationFrame(sync);
  }
}

/** <lookalike-search>: a photo search box; the engine loads on first use. */
class SearchView extends View {
  get kind() { return 'lookalike-search'; }

  render() {
    const file = h('input', { type: 'file', accept: 'image/*', hidden: true, tabindex: '-1' });
    const cam = h('input', { type: 'file', accept: 'image/*', capture: 'environment', hidden: true, tabindex: '-1' });
    const label = this.attr('label', 'Search by photo');
    const pick = h('button', { class: 'btn', part: 'button pick', type: 'button', text: label, onclick: () => file.click() });
    const camBtn = h('button', { class: 'btn', part: 'button camera', type: 'button', text: 'Take a photo', hidden: !matchMedia('(pointer: coarse)').matches, onclick: () => cam.click() });
    this.msg = h('p', { class: 'msg', part: 'status', role: 'status', 'aria-live': 'polite' });
    this.grid = h('ul', { class: 'grid', part: 'results', 'aria-label': 'Similar items' });
    this.grid.hidden = true;
    const box = h('div', { class: 'box', part: 'box', role: 'group', 'aria-label': `${label}: choose, drop or paste a photo` },
      pick, camBtn, h('span', { class: 'hint', text: 'or drop or paste one here' }), file, cam);
    const root = h('div', { class: 'root' }, box, this.msg, this.grid);
    this.root.replaceChildren(root);
    this.host.dataset.state = 'idle';
    if (typeof WebAssembly !== 'object' || typeof Worker !== 'function') {
      box.hidden = true;
      this.say('Photo search is not available in this browser.');
      this.fail(new Error('this browser has no WebAssembly or Web Workers; photo search is off'));
      return;
    }
    const take = (files) => {
      const f = [...(files || [])].find((x) => !x.type || x.type.startsWith('image/'));
      if (f) this.search(f);
      else if (files?.length) this.say('That file is not an image.');
    };
    for (const input of [file, cam]) input.addEventListener('change', () => { take(input.files); input.value = ''; });
    // privacy="strict": every sheet on intent (privacy.js).
    if (this.attr('privacy') === 'strict') for (const ev of ['pointerenter', 'focusin', 'dragenter', 'touchstart']) box.addEventListener(ev, () => this.prefetch(), { once: true, passive: true });
    box.addEventListener('dragover', (e) => { e.preventDefault(); box.classList.add('over'); });
    box.addEventListener('dragleave', () => box.classList.remove('over'));
    box.addEventListener('drop', (e) => { e.preventDefault(); box.classList.remove('over'); take(e.dataTransfer?.files); });
    root.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.items || [])].filter((x) => x.kind === 'file').map((x) => x.getAsFile());
      if (files.length) { e.preventDefault(); take(files); }
    });
    if (this.attr('results') === 'dialog') {
      const close = h('button', { class: 'btn', part: 'button close', type: 'button', text: 'Close' });
      this.dialog = h('dialog', { part: 'dialog', 'aria-label': 'Similar items' },
        h('div', { class: 'head' }, h('h2', { part: 'heading', text: 'Similar items' }), close), this.grid);
      close.addEventListener('click', () => this.dialog.close());
      root.append(this.dialog);
    }
  }

  say(text) { this.msg.textContent = text; }

  prefetch() { return (this.strict ||= import(new URL('privacy.js', import.meta.url)).then((m) => m.prefetchSheets(this.assets)).catch(() => new Map())); }

  // The search itself (lookalike/searchbox.js) loads with the engine, on the first photo.
  async search(file) {
    try {
      (await import('./lookalike/searchbox.js')).search(this, file);
    } catch (err) {
      this.host.dataset.state = 'error';
      this.say('Photo search is not available right now.');
      this.warn(err?.message || String(err));
    }
  }
}

// ---------------------------------------------------------------- wiring

const VIEWS = { 'lookalike-similar': SimilarView, 'lookalike-search': SearchView };

if (typeof customElements === 'object' && customElements) {
  for (const [tag, V] of Object.entries(VIEWS)) {
    if (customElements.get(tag)) continue;
    customElements.define(tag, class extends HTMLElement {
      static get observedAttributes() { return ATTRS; }
      connectedCallback() { (this.view ||= new V(this)).update(); }
      attributeChangedCallback() { if (this.view && this.isConnected) this.view.update(); }
    });
  }
}

// <div data-lookalike-similar …> / <div data-lookalike-search …>.
const SELECTOR = '[data-lookalike-similar],[data-lookalike-search]';
function wire(el) {
  if (el.lookalikeView) return el.lookalikeView.update();
  const V = el.hasAttribute('data-lookalike-similar') ? SimilarView : SearchView;
  try {
    el.lookalikeView = new V(el);
    el.lookalikeView.update();
  } catch (err) {
    console.warn(`Lookalike: cannot attach to ${el.tagName.toLowerCase()}: ${err.message}`);
  }
}
function scan(node) {
  if (node.nodeType !== 1) return;
  if (node.matches(SELECTOR)) wire(node);
  node.querySelectorAll(SELECTOR).forEach(wire);
}
function start() {
  scan(document.documentElement);
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') { if (r.target.matches(SELECTOR)) wire(r.target); } else r.addedNodes.forEach(scan);
    }
  }).observe(document.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-lookalike-similar', 'data-lookalike-search', ...ATTRS.map((a) => 'data-' + a)] });
}
if (typeof document === 'object') {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
  else start();
}
