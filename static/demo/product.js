// product.js — the demo shop's own page logic (not part of the embed): picks
// the product from ?id= (and the asset folder from ?assets=), shows it, and
// follows the carousel's lookalike-select events to the chosen product.

import { formatPrice, product, tile } from '../lookalike.js';

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const similar = $('similar');
const search = $('photo-search');

const id = params.get('id') || similar.getAttribute('product-id');
const assets = params.get('assets') || similar.getAttribute('assets');
for (const el of [similar, search]) el.setAttribute('assets', assets);
similar.setAttribute('product-id', id);
$('product').dataset.productId = id;

// The demo catalogue has no prices: make up a stable one per product.
function demoPrice(pid) {
  let h = 7;
  for (const c of String(pid)) h = (h * 31 + c.charCodeAt(0)) % 9973;
  return `£${(12 + (h % 88)).toFixed(0)}.${h % 2 ? '99' : '00'}`;
}

function productURL(pid) {
  const u = new URL(location.href);
  u.searchParams.set('id', pid);
  return u.href;
}

product(assets, id).then((p) => {
  if (!p) return;
  document.title = `${p.title} — Northwind Outfitters`;
  $('product-title').textContent = p.title;
  $('product-section').textContent = p.section;
  $('crumb-section').textContent = p.section;
  // The carousel's formatter: the same "€27.50" on the page and its cards.
  $('product-price').textContent = formatPrice(p.price, p.currency) || demoPrice(p.id);
  $('product-photo').replaceChildren(tile(p.thumb, p.title));
}).catch(() => { /* the static text stays; the embed logs its own warning */ });

let cart = 0;
$('buy').addEventListener('submit', (e) => {
  e.preventDefault();
  cart += 1;
  $('cart-count').textContent = String(cart);
  $('added').textContent = `Added size ${$('size').value} to your cart.`;
});

// Analytics hook + navigation: items of this catalogue have no URL of their
// own, so the shop sends the shopper to this page for the chosen product.
document.addEventListener('lookalike-select', (e) => {
  const pid = e.detail?.productId;
  if (!pid || e.detail.url) return;
  e.preventDefault();
  location.href = productURL(pid);
});
document.addEventListener('lookalike-results', (e) => {
  document.body.dataset.lastResults = String(e.detail?.results?.length ?? 0);
});
