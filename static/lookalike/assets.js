// assets.js — the built assets (docs/formats.md) and the carousel's rules.
// Go owns both: constants are gen_formats.js; `node --test e2e/js/` checks
// this file against Go's golden assets (models/jsformat).
import { MANIFEST, CATALOG, VECTORS, NEIGHBORS, CF, BLEND, SIGNALS } from './gen_formats.js';

/** catalog.Asset.Files: an asset's parts, or itself. */
export const filesOf = (a) => (a.parts?.length ? a.parts : [a]);

const memo = new Map();
/** f() cached under key; a failure is forgotten (a later call retries). */
export function once(key, f) {
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

export const manifest = (base) => once('m ' + base, async () => {
  const m = await (await get(new URL('manifest.json', base), { cache: 'no-cache' })).json();
  if (m?.format_version !== MANIFEST.version || !Array.isArray(m.assets)) throw new Error(`manifest.json is not a Lookalike manifest (format_version ${MANIFEST.version})`);
  return m;
});

/** The manifest's first asset of a kind (Manifest.Asset). */
function asset(m, kind) {
  const a = m.assets.find((x) => x.kind === kind);
  if (!a) throw new Error(`manifest.json lists no ${kind} asset`);
  return a;
}

const wholeFiles = new Map(); // url -> Promise<Uint8Array>, when a host ignores Range

/** Bytes [start, start+len) of a file (a host ignoring Range sends it whole: kept). */
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

/** Bytes [start, start+len) of an asset, across its parts. */
async function assetRange(base, a, start, len) {
  const out = new Uint8Array(len), reads = [];
  let off = 0;
  for (const p of filesOf(a)) {
    const size = Number(p.size) || 0, s = Math.max(start, off), e = Math.min(start + len, off + size);
    if (s < e) reads.push(fileRange(new URL(p.file, base).href, s - off, e - s).then((b) => out.set(b, s - start)));
    off += size;
  }
  if (off < start + len) throw new Error(`${a.file}: the manifest lists ${off} bytes, need ${start + len}`);
  await Promise.all(reads);
  return out;
}

/** catalog.ParseThumb: "sheet.jpg#xywh=X,Y,W,H" (a tile) or a whole image → {url, x, y, w, h}. */
export function parseThumb(s, base) {
  if (!s) return null;
  const [file, frag = ''] = String(s).split('#');
  const m = /^xywh=(?:pixel:)?(\d+),(\d+),(\d+),(\d+)$/.exec(frag), t = { url: new URL(file, base).href };
  if (m && +m[3] && +m[4]) [t.x, t.y, t.w, t.h] = m.slice(1).map(Number);
  return t;
}

/** catalog.BuildDisplay's JSON → {count, byId, item(i): Display.Item}. */
export function parseCatalog(d, base, file = 'catalog') {
  if (d?.format !== CATALOG.format || d.version !== CATALOG.version || !Array.isArray(d.id)) throw new Error(`${file} is not a Lookalike catalog (version ${CATALOG.version})`);
  const dict = (c, i) => (c ? c.values[c.index[i]] : '');
  // catalog's pathEscape: an id as one path segment.
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
  return { count: d.id.length, byId: new Map(d.id.map((id, i) => [String(id), i])), item };
}

export const catalog = (base) => once('c ' + base, async () => {
  const a = asset(await manifest(base), 'catalog');
  const parts = await Promise.all(filesOf(a).map(async (p) => new Uint8Array(await (await get(new URL(p.file, base))).arrayBuffer())));
  return parseCatalog(JSON.parse(new TextDecoder().decode(await new Blob(parts).arrayBuffer())), base, a.file);
});

const view = (b) => new DataView(b.buffer, b.byteOffset, b.byteLength);
/** A header's DataView once its magic, version (and u16 at 6) match. */
function head(b, F, at6, file) {
  const v = view(b);
  if (String.fromCharCode(...b.subarray(0, 4)) !== F.magic || v.getUint16(4, true) !== F.version || (at6 && v.getUint16(6, true) !== at6)) {
    throw new Error(`${file} is not a Lookalike ${F.magic} file (version ${F.version})`);
  }
  return v;
}

/** vecfile.NeighborsHeader (+ record size). */
export function neighborsHeader(b, file = 'neighbors') {
  const v = head(b, NEIGHBORS, NEIGHBORS.scores, file);
  const h = { count: v.getUint32(8, true), k: v.getUint32(12, true), lists: v.getUint32(16, true) };
  if (h.k < 1 || h.k > NEIGHBORS.maxK || (h.lists !== 1 && h.lists !== 2)) throw new Error(`${file}: bad header`);
  h.record = h.lists * h.k * NEIGHBORS.entry;
  return h;
}

/** An item's record → {section: [[item, score]…], global}, best first. */
export function neighborsRecord(h, b) {
  const v = view(b);
  const list = (which) => {
    const out = [];
    for (let j = 0; j < h.k; j++) {
      const o = (which * h.k + j) * NEIGHBORS.entry, it = v.getUint32(o, true);
      if (it === NEIGHBORS.empty) break;
      if (it < h.count) out.push([it, (v.getUint16(o + 4, true) / 65535) * 2 - 1]);
    }
    return out;
  };
  return { section: list(0), global: h.lists === 2 ? list(1) : null };
}

/** vecfile.VectorsHeader. */
export function vectorsHeader(b, file = 'vectors') {
  const v = head(b, VECTORS, 0, file), enc = v.getUint16(6, true);
  if (enc !== VECTORS.int8 && enc !== VECTORS.float32) throw new Error(`${file}: unknown vector encoding ${enc}`);
  return { count: v.getUint32(8, true), dim: v.getUint32(12, true), record: v.getUint32(16, true), int8: enc === VECTORS.int8 };
}

/** A record's vector at unit length (int8: the scale cancels). */
export const vectorRecord = (h, b) => unit(Float64Array.from({ length: h.dim }, (_, k) => (h.int8 ? view(b).getInt8(4 + k) : view(b).getFloat32(4 * k, true))));

/** cf.Header. */
export function cfHeader(b, file = 'cf') {
  const v = head(b, CF, CF.record, file);
  const h = { count: v.getUint32(8, true), k: v.getUint32(12, true) };
  if (h.k < 1 || h.k > CF.maxK) throw new Error(`${file}: bad header`);
  return h;
}

/** cf.Table.Row as Map item → score. */
export function cfRecord(h, b) {
  const v = view(b), out = new Map();
  for (let o = 0; o < h.k * CF.record; o += CF.record) {
    const it = v.getUint32(o, true);
    if (it === CF.empty) break;
    out.set(it, half(v.getUint16(o + 4, true)));
  }
  return out;
}

/** IEEE 754 binary16. */
export function half(b) {
  const e = (b >> 10) & 31, f = b & 1023, v = e === 31 ? (f ? NaN : Infinity) : e ? 2 ** (e - 15) * (1 + f / 1024) : 2 ** -24 * f;
  return b >> 15 ? -v : v;
}

const nbHeader = (base) => once('n ' + base, async () => {
  const a = asset(await manifest(base), 'neighbors');
  return { a, ...neighborsHeader(await assetRange(base, a, 0, NEIGHBORS.header), a.file) };
});
const vecHeader = (base, a) => once('vh ' + base + a.file, async () => ({ a, ...vectorsHeader(await assetRange(base, a, 0, VECTORS.header), a.file) }));
const itemVector = (base, h, j) => once(`v ${base}${h.a.file} ${j}`, async () => vectorRecord(h, await assetRange(base, h.a, VECTORS.header + j * h.record, h.record)));
const cfRow = (base, a, j) => once(`cf ${base}${a.file} ${j}`, async () => {
  const h = await once('ch ' + base + a.file, async () => cfHeader(await assetRange(base, a, 0, CF.header), a.file));
  return cfRecord(h, await assetRange(base, a, CF.header + j * h.k * CF.record, h.k * CF.record));
});

const dot = (x, y) => x.reduce((t, v, j) => t + v * y[j], 0);
const unit = (x) => { const n = Math.sqrt(dot(x, x)); return n > 0 && n < Infinity ? x.map((v) => v / n) : null; };

/** vecfile.ChooseSimilar → {list: 0 section, 1 global, -1 none; only: keep this section}. */
export function chooseList(lists, own, section) {
  if (!section && lists > 1) return { list: 1, only: '' };
  if (!section || section === own) return { list: 0, only: '' };
  return { list: lists > 1 ? 1 : -1, only: section };
}

/**
 * The carousel's blend of pool [[item, visual]…], best first: reads only
 * the product's and the pool's own records, never ones the history names
 * (search.Engine.SimilarFromLists, docs/personal.md).
 */
async function blend(base, cat, i, pool, p) {
  const m = await manifest(base), b = m.blend || {};
  const wcf = p.w_cf ?? b.w_cf ?? BLEND.w_cf, wp = p.w_personal ?? b.w_personal ?? BLEND.w_personal, life = (b.half_life_hours ?? BLEND.half_life_hours) * 3600;
  const decay = (s) => (life > 0 && s.age_seconds > 0 ? 2 ** (-s.age_seconds / life) : 1);
  const find = (k) => m.assets.find((a) => a.kind === k);
  const js = pool.map(([j]) => j);
  let cf = null, scale = 0, taste = null, vh = null;
  const cfa = wcf > 0 && find('cf');
  if (cfa) {
    const hist = new Map();
    for (const [k, w] of [['likes', SIGNALS.like], ['views', SIGNALS.view]]) {
      for (const s of p[k] || []) {
        const h = cat.byId.get(String(s.id));
        if (h !== undefined) hist.set(h, (hist.get(h) || 0) + w * decay(s));
      }
    }
    const [own, ...rows] = await Promise.all([i, ...js].map((j) => cfRow(base, cfa, j)));
    cf = new Map();
    js.forEach((j, n) => {
      let a = SIGNALS.product * (own.get(j) || 0);
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
    const sum = new Float64Array(vh.dim);
    let total = 0;
    // Likes count with the vector kept with the heart; views keep none.
    for (const [v, w] of [...(p.likes || []).map((s) => [s.vector, SIGNALS.like * decay(s)]), ...(p.searches || []).map((s) => [s.vector, SIGNALS.search * decay(s)])]) {
      const u = v?.length === vh.dim && unit(Float64Array.from(v));
      if (!u || !(w > 0)) continue;
      u.forEach((x, k) => { sum[k] += w * x; });
      total += w;
    }
    taste = total > 0 && unit(sum);
  }
  if (!cf && !taste) return pool;
  const vecs = taste ? await Promise.all(js.map((j) => itemVector(base, vh, j))) : [];
  return pool.map(([j, vis], n) => [j, vis + (cf ? wcf * (cf.get(j) || 0) * scale : 0) + (vecs[n] ? wp * dot(taste, vecs[n]) : 0)])
    .sort((x, y) => y[1] - x[1] || x[0] - y[0]);
}

/**
 * "More like this" from the stored lists, blended with `personal`: count
 * catalogue items with their score. on.pool hears the pool (for a heart's
 * vector), on.warn why the history was not used.
 */
export async function similar(base, id, count, section, personal, on = {}) {
  const [cat, h] = await Promise.all([catalog(base), nbHeader(base)]);
  const i = cat.byId.get(id);
  if (i === undefined) throw new Error(`product ${JSON.stringify(id)} is not in the catalogue at ${base}`);
  if (h.count !== cat.count) throw new Error('the neighbours and catalog assets disagree on the item count; redeploy one build');
  const nb = neighborsRecord(h, await assetRange(base, h.a, NEIGHBORS.header + i * h.record, h.record));
  const c = chooseList(h.lists, cat.item(i).section, section);
  let list = (c.list < 0 ? [] : c.list ? nb.global : nb.section).filter(([j]) => j !== i && (!c.only || cat.item(j).section === c.only));
  on.pool?.({ base, cat, js: list.map(([j]) => j) });
  if (personal) {
    try {
      list = await blend(base, cat, i, list, personal);
    } catch (err) {
      on.warn?.(`personal re-ranking is off: ${err.message}`);
    }
  }
  return list.slice(0, count).map(([j, score]) => ({ ...cat.item(j), score }));
}

/** Product j's vector for a heart: reads the whole pool's (cached), so the requests do not say which card. */
export async function likeVector(base, pool, j) {
  const va = (await manifest(base)).assets.find((a) => a.kind === 'vectors');
  if (!va) return null;
  const vh = await vecHeader(base, va);
  const v = (await Promise.all(pool.map((k) => itemVector(base, vh, k))))[pool.indexOf(j)];
  return v ? Array.from(v) : null;
}
