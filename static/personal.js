// personal.js — the shopper's own history, kept in this browser only.
//
// Products liked (the heart on a result), products viewed ("more like
// this", or following a product's link) and photo searches (the engine's
// embedding of the photo, never the photo) live in IndexedDB
// ("lookalike-personal", stores likes, views, searches; the newest LIMIT of
// each). profile() turns them into the `personal` object of a search or
// similar request (static/README.md), which goes to the engine worker on
// this device; nothing here touches the network. The shopper page (app.js)
// and the embed (lookalike.js) share this module and, on one origin, the
// same history.
//
// Without IndexedDB (some private modes, storage blocked) every call
// resolves quietly: nothing is recorded, profile() is null, so results
// keep their visual order.
//
//   import * as personal from './personal.js';
//   await personal.like('1163');
//   const p = personal.enabled() ? await personal.profile() : null;

import { PERSONAL } from './lookalike/gen_formats.js';

const DB = 'lookalike-personal';
const KINDS = ['likes', 'views', 'searches'];
const SETTING = 'lookalike.personal'; // localStorage: 'off' = no personal re-ranking
export const HISTORY_FLAG = 'lookalike.history'; // localStorage: '1' once anything was recorded
const CHANNEL = 'lookalike-personal';

/** How many records of each kind are kept: as many as the engine reads (search.MaxSignals). */
export const LIMIT = PERSONAL.max_signals;

let opening = null;

/** The database, or null when IndexedDB is not available. */
function db() {
  opening ||= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      for (const kind of KINDS) {
        const store = req.result.createObjectStore(kind, kind === 'searches' ? { autoIncrement: true } : { keyPath: 'id' });
        store.createIndex('t', 't');
      }
    };
    req.onsuccess = () => {
      const d = req.result;
      // Another tab upgrading or deleting the database: let it.
      d.onversionchange = () => { d.close(); opening = null; };
      resolve(d);
    };
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('blocked'));
  }).catch(() => null);
  return opening;
}

/**
 * Runs f(transaction) over stores; resolves with what f returned (a
 * request's result once the transaction completed), or undefined when
 * IndexedDB is unavailable or the transaction failed.
 */
async function tx(stores, mode, f) {
  let d;
  try { d = await db(); } catch { d = null; }
  if (!d) return undefined;
  return new Promise((resolve) => {
    let t, out;
    try {
      t = d.transaction(stores, mode);
      out = f(t);
    } catch {
      resolve(undefined);
      return;
    }
    t.oncomplete = () => resolve(out instanceof IDBRequest ? out.result : out);
    t.onerror = t.onabort = () => resolve(undefined);
  });
}

/** Deletes the oldest records of a store beyond LIMIT (inside a write). */
function trim(store) {
  const count = store.count();
  count.onsuccess = () => {
    let extra = count.result - LIMIT;
    if (extra <= 0) return;
    store.index('t').openCursor().onsuccess = (e) => {
      const cur = e.target.result;
      if (!cur || extra-- <= 0) return;
      cur.delete();
      cur.continue();
    };
  };
}

// ---------------------------------------------------------------- changes

const bus = new EventTarget();
let channel = null;
try {
  channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (e) => bus.dispatchEvent(new CustomEvent('change', { detail: e.data }));
} catch { channel = null; }

function changed(kind, id) {
  // A flag (not history) that says there may be history here, so the embed
  // can skip loading this module for shoppers who have none.
  try {
    if (kind === 'forget') localStorage.removeItem(HISTORY_FLAG);
    else if (kind !== 'setting') localStorage.setItem(HISTORY_FLAG, '1');
  } catch { /* storage blocked */ }
  const detail = { kind, id };
  bus.dispatchEvent(new CustomEvent('change', { detail }));
  try { channel?.postMessage(detail); } catch { /* closed */ }
}

/**
 * Calls fn({kind, id}) after every change made here or in another tab of
 * this origin (kind: likes, views, searches, forget, setting). Returns a
 * function that stops it.
 */
export function subscribe(fn) {
  const h = (e) => fn(e.detail || {});
  bus.addEventListener('change', h);
  return () => bus.removeEventListener('change', h);
}

// ---------------------------------------------------------------- setting

/** Whether personal re-ranking is on (the default) in this browser. */
export function enabled() {
  try { return localStorage.getItem(SETTING) !== 'off'; } catch { return true; }
}

/** Turns personal re-ranking on or off (kept in localStorage, not history). */
export function setEnabled(on) {
  try {
    if (on) localStorage.removeItem(SETTING); else localStorage.setItem(SETTING, 'off');
  } catch { /* storage blocked: this page only */ }
  changed('setting');
}

/** Whether history can be kept here (false without IndexedDB). */
export async function available() {
  try { return !!(await db()); } catch { return false; }
}

// ---------------------------------------------------------------- history

const put = (kind, rec) => tx([kind], 'readwrite', (t) => {
  const s = t.objectStore(kind);
  s.put(rec);
  trim(s);
  return true;
});

/**
 * Hearts a product. vector (optional) is its stored vector, kept with the
 * like so the embed's carousel can use it without downloading the vector
 * file (the engine ranks with its own copy).
 */
export async function like(id, vector) {
  const rec = { id: String(id), t: Date.now() };
  const v = cleanVector(vector);
  if (v) rec.vector = v;
  const ok = await put('likes', rec);
  changed('likes', String(id));
  return !!ok;
}

/** Takes the heart back. */
export async function unlike(id) {
  const ok = await tx(['likes'], 'readwrite', (t) => { t.objectStore('likes').delete(String(id)); return true; });
  changed('likes', String(id));
  return !!ok;
}

/** Whether the product is hearted. */
export async function isLiked(id) {
  return (await tx(['likes'], 'readonly', (t) => t.objectStore('likes').count(String(id)))) > 0;
}

/** The hearted products' ids. */
export async function likedIds() {
  return new Set((await tx(['likes'], 'readonly', (t) => t.objectStore('likes').getAllKeys())) || []);
}

/** Records that the shopper opened a product (the newest visit counts). */
export async function recordView(id) {
  const ok = await put('views', { id: String(id), t: Date.now() });
  changed('views', String(id));
  return !!ok;
}

/**
 * Records a photo search by the engine's embedding of the photo (an array
 * of numbers; never the photo). The same vector twice in a row (the same
 * photo searched again with another filter) is kept once.
 */
export async function recordSearch(vector) {
  const v = cleanVector(vector);
  if (!v) return false;
  const ok = await tx(['searches'], 'readwrite', (t) => {
    const s = t.objectStore('searches');
    const last = s.openCursor(null, 'prev');
    last.onsuccess = () => {
      const prev = last.result?.value?.vector;
      if (prev && prev.length === v.length && prev.every((x, i) => x === v[i])) return;
      s.add({ vector: v, t: Date.now() });
      trim(s);
    };
    return true;
  });
  changed('searches');
  return !!ok;
}

/** vector as a plain array of finite numbers (≤ 4096), or null. */
function cleanVector(vector) {
  const v = Array.from(vector || [], Number);
  return v.length && v.length <= 4096 && v.every(Number.isFinite) ? v : null;
}

/** Newest-first records of one kind (at most limit). */
function newest(t, kind, limit, out) {
  const req = t.objectStore(kind).index('t').openCursor(null, 'prev');
  req.onsuccess = () => {
    const cur = req.result;
    if (!cur || out.length >= limit) return;
    out.push(cur.value);
    cur.continue();
  };
}

/**
 * The `personal` object of a request: {likes:[{id, age_seconds}],
 * views:[…], searches:[{vector, age_seconds}]}, newest first, ages from
 * now (ms since the epoch). null when there is no history (or no
 * IndexedDB). limit caps each list; likeVectors adds each like's stored
 * vector when it has one (for the embed's carousel; the engine does not
 * need them).
 */
export async function profile(now = Date.now(), { limit = LIMIT, likeVectors = false } = {}) {
  const recs = { likes: [], views: [], searches: [] };
  const ok = await tx(KINDS, 'readonly', (t) => {
    for (const kind of KINDS) newest(t, kind, limit, recs[kind]);
    return true;
  });
  if (!ok) return null;
  const age = (r) => Math.max(0, (now - (Number(r.t) || 0)) / 1000);
  const p = {
    likes: recs.likes.map((r) => ({ id: r.id, age_seconds: age(r), ...(likeVectors && Array.isArray(r.vector) ? { vector: r.vector } : {}) })),
    views: recs.views.map((r) => ({ id: r.id, age_seconds: age(r) })),
    searches: recs.searches.filter((r) => Array.isArray(r.vector)).map((r) => ({ vector: r.vector, age_seconds: age(r) })),
  };
  return p.likes.length + p.views.length + p.searches.length ? p : null;
}

/** How many records of each kind are kept: {likes, views, searches}. */
export async function counts() {
  const out = {};
  const ok = await tx(KINDS, 'readonly', (t) => {
    for (const kind of KINDS) {
      const r = t.objectStore(kind).count();
      r.onsuccess = () => { out[kind] = r.result; };
    }
    return true;
  });
  return ok ? out : { likes: 0, views: 0, searches: 0 };
}

/** Deletes the whole history (every record of every kind). */
export async function forget() {
  const ok = await tx(KINDS, 'readwrite', (t) => {
    for (const kind of KINDS) t.objectStore(kind).clear();
    return true;
  });
  changed('forget');
  return !!ok;
}
