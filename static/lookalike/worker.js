// lookalike/worker.js — the embed's entry to the page's engine worker
// (../engine-worker.js, protocol in static/README.md). <lookalike-search>
// starts it directly when lookalike.js is same-origin with the page, or
// through a one-line blob: module that imports it when it is not.
//
// The engine worker resolves build/ against self.location; here that would
// be this folder (or a blob: URL), so point it at the engine worker's own
// URL. Load failures are already posted to the page as {type:'error'}; keep
// them out of the host page's console as uncaught rejections.
import '../engine-worker.js';

try {
  Object.defineProperty(self, 'location', { value: new URL('../engine-worker.js', import.meta.url), configurable: true });
} catch { /* a browser where location cannot be shadowed: same-origin pages still work */ }
self.addEventListener('unhandledrejection', (e) => e.preventDefault());
