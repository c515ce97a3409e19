// lookalike.js — the site owner's embed: one ES module, no dependencies.
//
//   <script type="module" src="https://…/lookalike.js"></script>
//   <lookalike-similar product-id="1163" assets="https://…/assets/" count="8"></lookalike-similar>
//   <lookalike-search assets="https://…/assets/"></lookalike-search>
//
// <lookalike-similar> shows the precomputed neighbours of one product as a
// carousel (manifest.json, the catalog asset and one record of the
// neighbours file, read with an HTTP Range request when the host allows it;
// no model). <lookalike-search> is a photo search box that starts the wasm
// engine (lookalike/worker.js → engine-worker.js next to this file) only when the shopper first
// gives it a photo. Both render into an open shadow root, so the host page's
// CSS neither leaks in nor out; theme them with --lookalike-* custom
// properties and ::part(). A <div data-lookalike-similar data-product-id=…
// data-assets=…> (or data-lookalike-search) works the same for site builders
// that strip unknown tags. On any failure an element renders nothing (or a
// short quiet message), logs one console warning and throws nothing.
// With the shopper's on-device history (../personal.js, IndexedDB of the
// page's origin) both re-rank towards their taste unless personal="off";
// the history never leaves the browser. See docs/embed.md.

const NB_MAGIC = 'LKNB';
const NB_HEADER = 32;
const NO_ITEM = 0xffffffff;
const ATTRS = ['product-id', 'assets', 'api', 'count', 'section', 'label', 'engine', 'results', 'personal', 'w-personal', 'w-cf'];

// ---------------------------------------------------------------- assets

const memo = new Map();
/** Caches f() under key; a failure is forgotten so a later call retries. */
function once(key, f) {
  if (!memo.has(key)) {
    const p = f();
    memo.set(key, p);
    p.catch(() => memo.delete(key));
  }
  return memo.get(key);
}

const fileName = (url) => String(url).split('/').pop().split('?')[0];

async function get(url, init) {
  let r;
  try {
    r = await fetch(url, init);
  } catch (err) {
    throw new Error(`${fileName(url)} is unreachable (${err.message}); for assets on another origin the host must send CORS headers`);
  }
  if (!r.ok) throw new Error(`${fileName(url)}: HTTP ${r.status}`);
  return r;
}

function manifest(base) {
  return once('m ' + base, async () => {
    const m = await (await get(new URL('manifest.json', base), { cache: 'no-cache' })).json();
    if (!m || m.format_version !== 1 || !Array.isArray(m.assets)) throw new Error('manifest.json is not a Lookalike manifest (format_version 1)');
    return m;
  });
}

function asset(m, kind) {
  const a = m.assets.find((x) => x.kind === kind);
  if (!a) throw new Error(`manifest.json lists no ${kind} asset`);
  return a;
}

/** The asset's files in order: its parts, or the file itself. */
const partsOf = (a) => (Array.isArray(a.parts) && a.parts.length ? a.parts : [a]);

const wholeFiles = new Map(); // url -> Promise<Uint8Array>, when a host ignores Range

/**
 * Bytes [start, start+len) of one file. Asks for just those bytes; a host
 * that answers 200 instead of 206 sends the whole file, which is kept.
 */
async function fileRange(url, start, len) {
  if (!wholeFiles.has(url)) {
    const r = await get(url, { headers: { Range: `bytes=${start}-${start + len - 1}` } });
    const b = new Uint8Array(await r.arrayBuffer());
    if (r.status === 206) {
      if (b.length !== len) throw new Error(`${fileName(url)}: asked for ${len} bytes, got ${b.length}`);
      return b;
    }
    wholeFiles.set(url, Promise.resolve(b));
  }
  const b = await wholeFiles.get(url);
  if (start + len > b.length) throw new Error(`${fileName(url)} is shorter than the manifest says`);
  return b.subarray(start, start + len);
}

/** Bytes [start, start+len) of an asset that may be split into parts. */
async function assetRange(base, a, start, len) {
  const out = new Uint8Array(len);
  const reads = [];
  let off = 0;
  for (const p of partsOf(a)) {
    const size = Number(p.size) || 0;
    const s = Math.max(start, off), e = Math.min(start + len, off + size);
    if (s < e) reads.push(fileRange(new URL(p.file, base).href, s - off, e - s).then((b) => out.set(b, s - start)));
    off += size;
  }
  if (off < start + len) throw new Error(`${a.file}: the manifest lists ${off} bytes, need ${start + len}`);
  await Promise.all(reads);
  return out;
}

async function assetBytes(base, a) {
  const chunks = await Promise.all(partsOf(a).map(async (p) => new Uint8Array(await (await get(new URL(p.file, base))).arrayBuffer())));
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((t, c) => t + c.length, 0));
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

/**
 * A Lookalike thumbnail: "thumbs-<hash>.jpg#xywh=X,Y,W,H" is a tile of a
 * sprite sheet (a media-fragment rectangle); without the fragment, a whole
 * image. Returns {url, x, y, w, h} with url absolute.
 */
function parseThumb(s, base) {
  if (!s) return null;
  const [file, frag = ''] = String(s).split('#');
  const m = /xywh=(?:pixel:)?(\d+),(\d+),(\d+),(\d+)/.exec(frag);
  const t = { url: new URL(file, base).href };
  if (m) [t.x, t.y, t.w, t.h] = m.slice(1).map(Number);
  return t;
}

/**
 * The display catalogue (models/catalog display JSON: one array per column,
 * repeated values dictionary-encoded as {values, index}).
 */
function catalog(base) {
  return once('c ' + base, async () => {
    const a = asset(await manifest(base), 'catalog');
    const d = JSON.parse(new TextDecoder().decode(await assetBytes(base, a)));
    if (d.format !== 'lookalike-catalog' || d.version !== 1 || !Array.isArray(d.id)) throw new Error(`${a.file} is not a Lookalike catalog (version 1)`);
    const byId = new Map(d.id.map((id, i) => [String(id), i]));
    const dict = (c, i) => (c ? c.values[c.index[i]] : '');
    const esc = (id) => String(id).replace(/[^A-Za-z0-9._-]/g, (c) => [...new TextEncoder().encode(c)].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join(''));
    const item = (i) => ({
      id: String(d.id[i]),
      title: d.title?.[i] || '',
      url: d.url?.[i] || '',
      price: d.price?.[i] || '',
      currency: dict(d.currency, i),
      section: dict(d.section, i),
      thumb: parseThumb(d.thumbs ? d.thumbs[i] : d.thumb ? d.thumb.replaceAll('{id}', esc(d.id[i])).replaceAll('{i}', i) : '', base),
    });
    return { count: d.id.length, byId, item };
  });
}

/** The neighbours file's header (models/vecfile: "LKNB", v1, uint16 scores). */
function nbHeader(base) {
  return once('n ' + base, async () => {
    const a = asset(await manifest(base), 'neighbors');
    const b = await assetRange(base, a, 0, NB_HEADER);
    const v = new DataView(b.buffer);
    if (String.fromCharCode(...b.subarray(0, 4)) !== NB_MAGIC || v.getUint16(4, true) !== 1 || v.getUint16(6, true) !== 1) {
      throw new Error(`${a.file} is not a Lookalike neighbours file (version 1)`);
    }
    const h = { a, count: v.getUint32(8, true), k: v.getUint32(12, true), lists: v.getUint32(16, true) };
    if (h.k < 1 || h.k > 4096 || (h.lists !== 1 && h.lists !== 2)) throw new Error(`${a.file}: bad header`);
    return h;
  });
}

/**
 * Item i's precomputed neighbours: {section: [[item, score]…], global: […]|null},
 * best first, read as one fixed-size record.
 */
async function neighbours(base, h, i) {
  const rec = h.lists * h.k * 6;
  const b = await assetRange(base, h.a, NB_HEADER + i * rec, rec);
  const v = new DataView(b.buffer);
  const list = (which) => {
    const out = [];
    for (let j = 0; j < h.k; j++) {
      const o = (which * h.k + j) * 6, it = v.getUint32(o, true);
      if (it === NO_ITEM) break;
      if (it < h.count) out.push([it, (v.getUint16(o + 4, true) / 65535) * 2 - 1]);
    }
    return out;
  };
  return { section: list(0), global: h.lists === 2 ? list(1) : null };
}

// ---------------------------------------------------------------- personal

let personalJS = null;
/** The shared history module (personal.js next to this file), or null. */
const personalModule = () => (personalJS ||= import(new URL('personal.js', import.meta.url).href).catch(() => null));
const stored = (k) => { try { return localStorage.getItem(k); } catch { return null; } };
/**
 * Until personal.js has recorded something in this browser (its flag
 * 'lookalike.history'), a stand-in: no history to rank by, and the module
 * is fetched only when the shopper hearts, opens or searches something.
 */
const lite = {
  enabled: () => stored('lookalike.personal') !== 'off',
  available: async () => typeof indexedDB !== 'undefined',
  likedIds: async () => new Set(),
  profile: async () => null,
  subscribe: () => () => {},
};
for (const f of ['like', 'unlike', 'recordView', 'recordSearch']) lite[f] = async (...a) => (await personalModule())?.[f](...a);

/*
 * The carousel re-ranks by range reads of records named by the page's own
 * product only — its CF row and its neighbours' vector and CF records —
 * never by the shopper's history, so its requests are the same for every
 * shopper on that page. Liked products enter the taste through the vector
 * kept with each heart (personal.js), not through a read.
 */

/** The vector file's header (models/vecfile "LKVC", 32 bytes). */
const vecHeader = (base, a) => once('vh ' + base + a.file, async () => {
  const d = new DataView((await assetRange(base, a, 0, 32)).buffer);
  if (d.getUint32(0, true) !== 0x43564b4c) throw new Error(`${a.file} is not a Lookalike vector file`);
  return { a, count: d.getUint32(8, true), dim: d.getUint32(12, true), rs: d.getUint32(16, true), int8: d.getUint16(6, true) === 2 };
});

/** Item j's stored vector at unit length (an int8 record's scale cancels). */
const itemVector = (base, h, j) => once(`v ${base}${h.a.file} ${j}`, async () => {
  const d = new DataView((await assetRange(base, h.a, 32 + j * h.rs, h.rs)).buffer);
  return unit(Float32Array.from({ length: h.dim }, (_, k) => (h.int8 ? d.getInt8(4 + k) : d.getFloat32(4 * k, true))));
});

/** Item j's CF row (models/cf "LKCF": 16-byte header, K × (u32 item, f16 score)) as Map item → score. */
const cfRow = (base, a, j) => once(`cf ${base}${a.file} ${j}`, async () => {
  const hd = await once('ch ' + base + a.file, async () => new DataView((await assetRange(base, a, 0, 16)).buffer));
  const K = hd.getUint32(12, true), out = new Map();
  const d = new DataView((await assetRange(base, a, 16 + j * K * 6, K * 6)).buffer);
  for (let o = 0; o < K * 6; o += 6) {
    const it = d.getUint32(o, true);
    if (it === NO_ITEM) break;
    out.set(it, half(d.getUint16(o + 4, true)));
  }
  return out;
});

const dot = (x, y) => x.reduce((t, v, j) => t + v * y[j], 0);
const unit = (x) => { const n = Math.sqrt(dot(x, x)); return n > 0 ? x.map((v) => v / n) : null; };

/** An IEEE 754 half (the CF asset's scores). */
function half(b) {
  const e = (b >> 10) & 31, f = b & 1023, v = e ? (e === 31 ? Infinity : 2 ** (e - 15) * (1 + f / 1024)) : 2 ** -24 * f;
  return b >> 15 ? -v : v;
}

/**
 * The blend of models/search (docs/personal.md) over a carousel's pool,
 * the product's stored neighbours [[item, visual]…]:
 * score = visual + w_cf·cf + w_personal·personal. cf(j) = sim(i→j) from the
 * product's own CF row plus Σ w_h·sim(j→h) over liked (1) and viewed (0.5)
 * products h found in j's CF row, over the pool's maximum (the engine reads
 * the history's rows instead, which a page must not request); personal =
 * cosine(j, taste), taste = liked products' kept vectors (1) and searched
 * photos (0.5). Signals decay with age. Weights: p's (the element's), the
 * manifest's, or search.DefaultBlend. Returns [[item, score]…], best first.
 */
async function blend(base, cat, i, pool, p) {
  const m = await manifest(base), b = m.blend || {};
  const wcf = p.w_cf ?? b.w_cf ?? 2.5, wp = p.w_personal ?? b.w_personal ?? 0.15, life = (b.half_life_hours ?? 168) * 3600;
  const decay = (s) => (life > 0 && s.age_seconds > 0 ? 2 ** (-s.age_seconds / life) : 1);
  const find = (k) => m.assets.find((a) => a.kind === k);
  const js = pool.map(([j]) => j);
  let cf = null, scale = 0, taste = null, vh = null;
  const cfa = wcf > 0 && find('cf');
  if (cfa) {
    const hist = new Map();
    for (const [k, w] of [['likes', 1], ['views', 0.5]]) {
      for (const s of p[k] || []) {
        const h = cat.byId.get(String(s.id));
        if (h !== undefined) hist.set(h, (hist.get(h) || 0) + w * decay(s));
      }
    }
    const [own, ...rows] = await Promise.all([i, ...js].map((j) => cfRow(base, cfa, j)));
    cf = new Map();
    js.forEach((j, n) => {
      let a = own.get(j) || 0;
      for (const [h, sc] of rows[n]) a += (hist.get(h) || 0) * sc;
      if (a > 0) cf.set(j, a);
    });
    scale = 1 / Math.max(0, ...cf.values());
    if (!(scale < Infinity)) cf = null;
  }
  const va = wp > 0 && find('vectors');
  if (va) {
    vh = await vecHeader(base, va);
    if (vh.count !== cat.count) throw new Error(`${va.file} is from another build`);
    const sum = new Float32Array(vh.dim);
    let total = 0;
    for (const [v, w] of [...(p.likes || []).map((s) => [s.vector, decay(s)]), ...(p.searches || []).map((s) => [s.vector, 0.5 * decay(s)])]) {
      const u = v && v.length === vh.dim && unit(Float32Array.from(v));
      if (!u || !(w > 0)) continue;
      u.forEach((x, k) => { sum[k] += w * x; });
      total += w;
    }
    taste = total > 0 && unit(sum);
  }
  if (!cf && !taste) return pool;
  const vecs = taste ? await Promise.all(js.map((j) => itemVector(base, vh, j))) : [];
  return pool.map(([j, vis], n) => {
    const v = vecs[n];
    return [j, vis + (cf ? wcf * (cf.get(j) || 0) * scale : 0) + (v ? wp * dot(taste, v) : 0)];
  })
    .sort((x, y) => y[1] - x[1] || x[0] - y[0]);
}

/**
 * The stored vector of product j for a heart given in a carousel over
 * pool: every record of the pool is read (cached), so the requests do not
 * say which card was liked. null without a vector file.
 */
async function likeVector(base, pool, j) {
  const va = (await manifest(base)).assets.find((a) => a.kind === 'vectors');
  if (!va) return null;
  const vh = await vecHeader(base, va);
  const vs = await Promise.all(pool.map((k) => itemVector(base, vh, k)));
  const v = vs[pool.indexOf(j)];
  return v ? Array.from(v) : null;
}

/**
 * The display data of one product ({id, title, url, price, currency,
 * section, thumb}), or null when the catalogue does not have it. For pages
 * that show the product itself (see demo/product.js).
 */
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
.link{display:flex;flex-direction:column;gap:6px;width:100%;height:100%;margin:0;padding:8px;font:inherit;text-align:start;text-decoration:none;color:inherit;background:var(--lookalike-card-bg,#fff);border:1px solid var(--lookalike-border,#dedee3);border-radius:var(--lookalike-radius,10px);cursor:pointer}
.link:hover{border-color:var(--lookalike-accent,#1f5fd6)}
.img{position:relative;display:block;overflow:hidden;width:100%;aspect-ratio:3/4;border-radius:calc(var(--lookalike-radius,10px)/2);background:var(--lookalike-image-bg,#f3f3f5)}
.img img{position:absolute;left:0;top:0;max-width:none;height:auto;opacity:0}
.img img.ok{opacity:1}
.img img.full{width:100%;height:100%;object-fit:contain}
.title{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;font-size:.9em}
.price{font-weight:650;color:var(--lookalike-price,inherit)}
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

/** Creates an element: h('a', {class: 'x', part: 'link', href}, ...children). */
function h(tag, props = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...kids);
  return el;
}

/**
 * A thumbnail box: a sprite-sheet tile is the sheet as an <img>, scaled so
 * the tile fills the box (sizes in % of the box once the sheet's size is
 * known) and clipped; a whole image is contained.
 */
export function tile(t, alt = '') {
  const box = h('span', { class: 'img', part: 'image' });
  if (!t?.url) return box;
  const img = new Image();
  img.alt = alt;
  img.crossOrigin = 'anonymous'; // works across origins under COEP with CORS
  img.decoding = 'async';
  if (t.w && t.h) {
    // Inset by a pixel: scaling up blends in the neighbouring tiles' edges.
    const d = t.w > 8 && t.h > 8 ? 1 : 0, x = t.x + d, y = t.y + d, w = t.w - 2 * d, hh = t.h - 2 * d;
    box.style.aspectRatio = `${w} / ${hh}`;
    img.onload = () => {
      img.style.width = (img.naturalWidth / w) * 100 + '%';
      img.style.left = (-x / w) * 100 + '%';
      img.style.top = (-y / hh) * 100 + '%';
      img.classList.add('ok');
    };
  } else {
    img.onload = () => img.classList.add('ok', 'full');
  }
  img.onerror = () => box.classList.add('missing');
  img.src = t.url;
  box.append(img);
  return box;
}

/** A product's price as the carousel shows it (currency when the catalogue has one); shops' own pages may use it too. */
export function formatPrice(price, currency) {
  if (!price) return '';
  const n = Number(price);
  if (currency && /^[A-Z]{3}$/.test(currency) && Number.isFinite(n)) {
    try { return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(n); } catch { /* unknown code */ }
  }
  return currency ? `${price} ${currency}` : price;
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

  /**
   * The history module when this element may use it (not personal="off",
   * IndexedDB available), with this.liked (hearted ids) loaded; else null.
   */
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

  /**
   * The `personal` object of a request: the newest history when P allows
   * re-ranking, with the element's w-cf / w-personal; or null.
   */
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

  /** One product card: the host's <template> if it has one, else ours. */
  card(it, i, n) {
    const li = h('li', { class: 'card', part: 'card', role: 'group', 'aria-roledescription': 'slide', 'aria-label': `${i + 1} of ${n}`, 'data-product-id': it.id });
    const tpl = this.host.querySelector(':scope > template');
    const P = this.P;
    const activate = (e) => {
      if (P?.enabled()) P.recordView(it.id);
      if (!this.emit('lookalike-select', { productId: it.id, url: it.url || null, source: this.kind })) e.preventDefault();
    };
    const price = formatPrice(it.price, it.currency);
    if (tpl) {
      const frag = tpl.content.cloneNode(true);
      const fill = (name, f) => frag.querySelectorAll(`[data-field="${name}"]`).forEach(f);
      fill('title', (el) => { el.textContent = it.title; });
      fill('price', (el) => { el.textContent = price; });
      fill('section', (el) => { el.textContent = it.section; });
      fill('image', (el) => el.append(tile(it.thumb, it.title)));
      fill('link', (el) => { if (it.url) el.setAttribute('href', it.url); el.addEventListener('click', activate); });
      li.append(frag);
      return li;
    }
    const body = [tile(it.thumb), h('span', { class: 'title', part: 'title', text: it.title || it.id })];
    if (price) body.push(h('span', { class: 'price', part: 'price', text: price }));
    const link = it.url
      ? h('a', { class: 'link', part: 'link', href: it.url, onclick: activate }, ...body)
      : h('button', { class: 'link', part: 'link', type: 'button', onclick: activate }, ...body);
    li.append(link);
    if (P) {
      // The heart: kept in this browser's history only.
      const like = h('button', { class: 'like', part: 'button like', type: 'button', 'data-id': it.id, 'aria-label': `Like ${it.title || it.id}`, 'aria-pressed': String(this.liked.has(it.id)) });
      like.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 21S3 15.5 3 9a4.5 4.5 0 0 1 9-1 4.5 4.5 0 0 1 9 1c0 6.5-9 12-9 12Z"/></svg>';
      like.onclick = async () => {
        const on = like.getAttribute('aria-pressed') !== 'true';
        like.setAttribute('aria-pressed', String(on));
        if (!on) return P.unlike(it.id);
        const pool = this.pool, j = pool?.cat.byId.get(it.id);
        P.like(it.id, j === undefined ? null : await likeVector(pool.base, pool.js, j).catch(() => null));
      };
      li.append(like);
    }
    return li;
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
    this.emit('lookalike-results', { source: 'similar', productId: id, results: items.map(({ id, score, title, url }) => ({ productId: id, score, title, url })) });
  }

  /**
   * The neighbours from the asset files. Which list: the rule in
   * models/vecfile/similar.go (cases: its testdata/similar-rule.json), as on
   * the edge API: no section → the global list (the section list when the
   * build stored only that); the product's own section → its section list;
   * another section → the global list filtered to it (may be short).
   */
  async fromAssets(base, id, count, section, personal) {
    // The catalogue (id -> item index) and the neighbours header at once.
    const [cat, hdr] = await Promise.all([catalog(base), nbHeader(base)]);
    const i = cat.byId.get(id);
    if (i === undefined) throw new Error(`product ${JSON.stringify(id)} is not in the catalogue at ${base}`);
    if (hdr.count !== cat.count) throw new Error('the neighbours and catalog assets disagree on the item count; redeploy one build');
    const nb = await neighbours(base, hdr, i);
    let list;
    if (!section) list = nb.global || nb.section;
    else if (section === cat.item(i).section) list = nb.section;
    else list = (nb.global || []).filter(([j]) => cat.item(j).section === section);
    list = list.filter(([j]) => j !== i);
    // The cards' pool, for the vector kept with a heart given here.
    this.pool = { base, cat, js: list.map(([j]) => j) };
    if (personal) {
      try {
        list = await blend(base, cat, i, list, personal);
      } catch (err) {
        this.warn(`personal re-ranking is off: ${err.message}`);
      }
    }
    return list.slice(0, count).map(([j, score]) => ({ ...cat.item(j), score }));
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

// One engine Web Worker per (worker script, asset folder), shared by every
// search box on the page, started on first use.
const engines = new Map();

function startWorker(url) {
  if (url.origin === location.origin) return new Worker(url, { type: 'module', name: 'lookalike-engine' });
  // A Worker script must be same-origin with the page: start a small module
  // worker from a blob: URL that imports the worker from its origin (needs
  // CORS on it, and worker-src blob: in the page's CSP). A dynamic import:
  // Chromium refuses a static one from a blob: worker under a CSP. Messages
  // wait until the worker has set its handler.
  const u = JSON.stringify(url.href);
  const src = `const q=[];self.onmessage=e=>q.push(e);import(${u}).then(()=>{for(const e of q)self.onmessage?.(e)},e=>postMessage({type:"error",code:"network",message:"cannot load "+${u}+": "+e.message}))`;
  return new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { type: 'module', name: 'lookalike-engine' });
}

function engine(workerURL, assets, onProgress) {
  const key = workerURL.href + ' ' + assets;
  let e = engines.get(key);
  if (!e) {
    e = { listeners: new Set(), pending: new Map(), seq: 0 };
    e.ready = new Promise((resolve, reject) => {
      const w = startWorker(workerURL);
      e.worker = w;
      const failAll = (err) => {
        engines.delete(key);
        reject(err);
        for (const p of e.pending.values()) p.reject(err);
        e.pending.clear();
        w.terminate();
      };
      w.onerror = (ev) => { ev.preventDefault?.(); failAll(new Error(`the engine worker failed to start (${ev.message || 'blocked or not found'}): ${workerURL.href}`)); };
      w.onmessage = ({ data: m = {} }) => {
        const p = e.pending.get(m.id);
        if (m.type === 'progress') e.listeners.forEach((f) => f(m));
        else if (m.type === 'ready') resolve(m);
        else if (m.type === 'results' && p) { e.pending.delete(m.id); p.resolve(m); }
        else if (m.type === 'error' && p) { e.pending.delete(m.id); p.reject(Object.assign(new Error(m.message), { code: m.code })); }
        else if (m.type === 'error') failAll(Object.assign(new Error(m.message), { code: m.code }));
      };
      w.postMessage({ type: 'init', assets });
    });
    e.ready.catch(() => {});
    e.request = (msg, transfer) => new Promise((resolve, reject) => {
      const id = ++e.seq;
      e.pending.set(id, { resolve, reject });
      e.worker.postMessage({ ...msg, id }, transfer);
    });
    engines.set(key, e);
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

  async search(file) {
    const token = ++this.token;
    try {
      this.host.dataset.state = 'loading';
      const worker = new URL(this.attr('engine', new URL('lookalike/worker.js', import.meta.url).href), document.baseURI);
      const e = engine(worker, this.assets, (p) => {
        if (token === this.token && p.overallTotal) this.say(`Loading photo search… ${Math.round(p.overallLoaded / 1e6)} of ${Math.round(p.overallTotal / 1e6)} MB`);
      });
      this.say('Loading photo search…');
      await e.ready;
      const image = await file.arrayBuffer();
      this.host.dataset.state = 'searching';
      this.say('Searching…');
      const count = Math.max(1, Math.min(48, parseInt(this.attr('count', '8'), 10) || 8));
      const P = this.P = await this.personal();
      const personal = await this.history(P);
      const r = await e.request({ type: 'search', image, crop: null, k: count, section: this.attr('section'), filters: {}, personal }, [image]);
      if (token !== this.token) return;
      // The photo's embedding (never the photo) joins the history.
      if (P?.enabled() && r.query?.vector) P.recordSearch(r.query.vector);
      const items = r.results.map((x) => ({ ...x, id: String(x.id), thumb: x.thumb?.url ? { ...x.thumb, url: new URL(x.thumb.url, this.assets).href } : parseThumb(x.thumb, this.assets) }));
      this.grid.replaceChildren(...items.map((it, i) => this.card(it, i, items.length)));
      this.grid.hidden = false;
      this.say(items.length ? `${items.length} similar items` : 'No similar items found.');
      this.host.dataset.state = 'results';
      if (this.dialog && items.length && !this.dialog.open) this.dialog.showModal();
      this.emit('lookalike-results', { source: 'search', results: items.map(({ id, score, title, url }) => ({ productId: id, score, title, url })) });
    } catch (err) {
      if (token !== this.token) return;
      this.host.dataset.state = 'error';
      if (ERRORS[err.code]) { this.say(ERRORS[err.code]); return; }
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
