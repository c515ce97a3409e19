// sw.js — the service worker: makes a second visit work with the network off.
//
//   content-hashed files (name-<hex>.ext):  cache first; they never change
//   everything else (page, scripts, manifest.json, build.json):
//                                          network first, the cached copy offline
//
// The page shell is network-first rather than cache-first so that a new
// deploy shows up on the next load instead of the one after; offline it
// falls back to the copy cached at install or on the last visit. The engine
// worker also fills the asset cache itself with files it has verified
// against the manifest, because on a first visit it may start before this
// service worker controls the page.

const SHELL_CACHE = 'lookalike-shell-v1';
const ASSET_CACHE = 'lookalike-assets-v1';
const META_CACHE = 'lookalike-meta-v1';
const KEEP = new Set([SHELL_CACHE, ASSET_CACHE, META_CACHE]);

const SHELL = [
  './', 'index.html', 'boot.js', 'app.js', 'crop.js', 'imageinfo.js', 'personal.js', 'badges.js', 'privacy.js', 'engine-worker.js', 'asset-plan.js', 'styles.css', 'favicon.svg',
  'lookalike/card.js', 'lookalike/client.js', 'lookalike/gen_formats.js',
  'build/build.json',
];

const HASHED = /-[0-9a-f]{8,64}(\.[A-Za-z0-9]+)+$/;
const ENGINE_DATA = /^(model|projection|index|vectors|neighbors|neighbours|catalog|cf|codes|heads|objectness|engine)-[0-9a-f]{8,64}(\.[A-Za-z0-9]+)+$/;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // One missing file must not keep the rest out of the cache.
    await Promise.all(SHELL.map((u) => cache.add(new Request(u, { cache: 'no-cache' })).catch(() => {})));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('lookalike-') && !KEEP.has(name)) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.headers.has('range')) return; // let partial requests go straight through
  const name = url.pathname.split('/').pop();
  // The engine worker caches and verifies the catalogue's big files and the
  // engine itself (engine-worker.js fetchBytes). Passing them through here
  // as well would tee each body inside this worker: at 40k products that
  // held ~90 MB of chunks in the service worker's heap during the first load.
  if (ENGINE_DATA.test(name)) return;
  if (HASHED.test(name)) {
    event.respondWith(cacheFirst(req, ASSET_CACHE));
  } else {
    const meta = name === 'manifest.json' || name === 'build.json';
    event.respondWith(networkFirst(req, meta ? META_CACHE : SHELL_CACHE));
  }
});

async function cacheFirst(req, cacheName) {
  const cache = await caches.open(cacheName);
  const hit = await cache.match(req, { ignoreSearch: true });
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok && res.status === 200) cache.put(req, res.clone()).catch(() => {});
  return res;
}

async function networkFirst(req, cacheName) {
  const cache = await caches.open(cacheName);
  try {
    const res = await fetch(req);
    if (res.ok && res.status === 200) cache.put(req, res.clone()).catch(() => {});
    return res;
  } catch (err) {
    const hit = await cache.match(req, { ignoreSearch: true })
      || (req.mode === 'navigate' ? await cache.match('./') || await cache.match('index.html') : undefined);
    if (hit) return hit;
    throw err;
  }
}
