// card.js — the one result card of the page (app.js, styles.css) and the
// embed (lookalike.js; `part`s are its theming API, docs/embed.md). Every
// href and image URL passes safeURL (models/catalog.SafeURL's rule).

// models/catalog.SafeURL's rule: http(s) or relative URLs, else ''.
export function safeURL(u, base = document.baseURI) {
  const s = String(u ?? '').replace(/^[\0- ]+|[\0- ]+$/g, '');
  const m = /^([a-z][a-z\d+.-]*):/i.exec(s);
  if (!s || /[\0-\x1f\x7f]/.test(s) || (m && !/^https?$/i.test(m[1]))) return '';
  try {
    const url = new URL(s, base);
    return /^https?:$/.test(url.protocol) ? url.href : '';
  } catch { return ''; }
}

/** h('a', {class: 'x', part: 'link', href, onclick}, ...children) */
export function h(tag, props = {}, ...kids) {
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

/** A catalogue price in the shopper's locale: "€27.50" with a currency code, else "27.50"; not a number: as is. */
export function formatPrice(price, currency) {
  const n = Number(price);
  if (price == null || String(price).trim() === '') return '';
  if (!Number.isFinite(n)) return String(price);
  if (currency) {
    try { return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(n); } catch { /* not a code */ }
  }
  return new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(n) + (currency ? ' ' + currency : '');
}

/**
 * A thumbnail: a sprite tile {url, x, y, w, h, sheetW?} as its sheet scaled
 * and clipped to the box; {url}: contained. sheets (privacy="strict",
 * privacy.js): a Map, or a Promise of one, from sheet URL to the blob: URL
 * of its local copy; a sheet not in it shows as missing and is never
 * fetched.
 */
export function tile(t, alt = '', sheets = null) {
  const box = h('span', { class: 'thumb', part: 'image' });
  const url = safeURL(t?.url);
  if (!url) { box.classList.add('missing'); return box; }
  const img = new Image();
  img.alt = alt;
  img.crossOrigin = 'anonymous'; // works across origins under COEP with CORS
  img.decoding = 'async';
  if (t.w && t.h) {
    // Inset by a pixel: scaling up blends in the neighbouring tiles' edges.
    const d = t.w > 8 && t.h > 8 ? 1 : 0, x = t.x + d, y = t.y + d, w = t.w - 2 * d, hh = t.h - 2 * d;
    box.style.aspectRatio = `${w} / ${hh}`;
    const place = (sheetW) => {
      img.style.width = (sheetW / w) * 100 + '%';
      img.style.left = (-x / w) * 100 + '%';
      img.style.top = (-y / hh) * 100 + '%';
    };
    if (t.sheetW) place(t.sheetW);
    img.onload = () => { place(img.naturalWidth); img.classList.add('ok'); };
  } else {
    img.onload = () => img.classList.add('ok', 'full');
  }
  img.onerror = () => box.classList.add('missing');
  box.append(img);
  if (!sheets) img.src = url;
  else {
    const set = (m) => { const local = m?.get(url); if (local) img.src = local; else box.classList.add('missing'); };
    if (typeof sheets.then === 'function') sheets.then(set); else set(sheets);
  }
  return box;
}

/**
 * li.card: a link to it.url (o.link false: a button) running o.open, with
 * thumbnail (+ o.badge; o.sheets as tile's), title, o.meta, price; the heart if o.like
 * {pressed, hidden, toggle(button)}; o.attrs on the li.
 */
export function card(it, o = {}) {
  const title = it.title || `Product ${it.id}`;
  const li = h('li', { class: 'card', part: 'card', 'data-product-id': it.id, 'data-section': it.section || null, ...o.attrs });
  const thumb = tile(it.thumb, o.alt, o.sheets);
  if (o.badge) thumb.append(h('span', { class: 'score', title: o.badge.title, text: o.badge.text }));
  const price = formatPrice(it.price, it.currency);
  const body = h('span', { class: 'card-body' }, h('span', { class: 'card-title', part: 'title', text: title }));
  if (o.meta) body.append(h('span', { class: 'card-meta', text: o.meta }));
  if (price) body.append(h('span', { class: 'card-price', part: 'price', text: price }));
  const props = { class: 'card-main', part: 'link', 'aria-label': o.label, onclick: o.open };
  const href = safeURL(it.url);
  li.append(href && o.link !== false ? h('a', { ...props, href }, thumb, body) : h('button', { ...props, type: 'button' }, thumb, body));
  if (o.like) {
    // The heart: kept in this browser's history only (personal.js).
    const b = h('button', { class: 'like', part: 'button like', type: 'button', 'data-id': it.id, 'aria-label': `Like ${title}`, 'aria-pressed': String(!!o.like.pressed), hidden: o.like.hidden, onclick: () => o.like.toggle(b) });
    b.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M12 21S3 15.5 3 9a4.5 4.5 0 0 1 9-1 4.5 4.5 0 0 1 9 1c0 6.5-9 12-9 12Z"/></svg>';
    li.append(b);
  }
  return li;
}
