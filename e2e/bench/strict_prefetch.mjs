#!/usr/bin/env node
// Times privacy="strict"'s up-front fetch (static/privacy.js: every
// thumbnail sheet, four at a time, sha256-checked, kept as blob: URLs) in
// headless Chromium against `builder serve` on loopback, for each asset
// folder given: wall time (the network is loopback, so this is the
// browser's own cost: requests, hashing, blobs) and the page's JS heap.
//
//   node e2e/bench/strict_prefetch.mjs ASSETS_DIR…
import { startServe } from '../lib/server.mjs';
import { launchChromium } from '../lib/browser.mjs';

const browser = await launchChromium();
try {
  for (const assets of process.argv.slice(2)) {
    const srv = await startServe({ assets, extraArgs: ['--no-build'] });
    try {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(srv.url + 'favicon.svg');
      const r = await page.evaluate(async () => {
        performance.setResourceTimingBufferSize(100000);
        const m = await import('/privacy.js');
        const t0 = performance.now();
        const sheets = await m.prefetchSheets(location.origin + '/assets/');
        const ms = performance.now() - t0;
        const bytes = performance.getEntriesByType('resource').filter((e) => /thumbs-/.test(e.name)).reduce((t, e) => t + e.encodedBodySize, 0);
        return { sheets: sheets.size, ms: Math.round(ms), bytes, heapMB: performance.memory ? Math.round(performance.memory.usedJSHeapSize / 1e5) / 10 : null };
      });
      console.log(JSON.stringify({ assets, ...r }));
      await ctx.close();
    } finally {
      await srv.stop();
    }
  }
} finally {
  await browser.close();
}
