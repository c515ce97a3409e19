// Issue #14 in real Chromium: a hostile catalogue (javascript:, data:,
// mixed-case and tab-split links; markup in titles) must never give an
// href or a dialog — on the shopper page and in the embed on a host page
// with no CSP at all; damaged or foreign asset files must be reported as
// the shop's data, never as the shopper's photo or memory; and with
// privacy="strict" no request after a photo depends on it.
//
//   cd e2e && node --test --test-concurrency=1 hardening.test.mjs
//
// The build: 40 products of ../shared/fashion (their embeddings come from
// the shared cache), written into a temporary catalogue whose image paths
// point into ../shared (hence --image-root). Served twice: by `builder
// serve` (the page's own origin, with its CSP) and by a plain Node server
// sending no CSP (the site owner's host page; also the page under
// privacy="strict" and with damaged manifests).
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { readCatalog, runGo, modelPath } from './lib/fixture.mjs';
import { startServe } from './lib/server.mjs';
import { launchChromium, waitReady, searchFile } from './lib/browser.mjs';
import { repoRoot, sharedDir } from './lib/paths.mjs';

const N = 40;
const UNSAFE = ['javascript:alert(3)', 'JaVaScRiPt:alert(3)', 'data:text/html,<script>alert(1)</script>', ' java\tscript:alert(3)'];
const staticDir = path.join(repoRoot(), 'static');

let tmp, assets, rows, serve, host, browser;
const requests = []; // every request the Node server saw: {seq, url}

function csvField(v) { return `"${String(v).replaceAll('"', '""')}"`; }

/** The hostile catalogue: row i's url cycles through UNSAFE and one safe link. */
function writeCatalogue(dir) {
  const source = path.join(sharedDir(), 'fashion', 'catalog.csv');
  const all = readCatalog(source).filter((r) => fs.existsSync(r.imagePath));
  // A spread of sections and types, deterministic.
  rows = Array.from({ length: N }, (_, i) => all[Math.floor((i * all.length) / N)]);
  const lines = ['id,title,url,masterCategory,articleType,baseColour,image'];
  rows.forEach((r, i) => {
    const url = i % 5 === 4 ? `https://shop.example/p/${r.id}` : UNSAFE[i % 5];
    let title = r.title;
    if (i === 1) title = '<img src=x onerror=alert(1)>';
    if (i === 2) title = '<script>alert(2)</script>';
    r.url = url;
    r.shownTitle = title;
    lines.push([r.id, title, url, r.masterCategory, r.articleType, r.baseColour, r.imagePath].map(csvField).join(','));
  });
  const file = path.join(dir, 'hostile.csv');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.jpg': 'image/jpeg', '.css': 'text/css', '.svg': 'image/svg+xml' };

/**
 * The host: no CSP, no COEP. /host.html is a site owner's page with two
 * carousels and a search box, /host-strict.html one with a strict search
 * box alone; /strict/… is the shopper page with
 * <html data-privacy="strict">; /c/NAME/… is the page over assets whose
 * manifest (and maybe one file) is replaced by cases[NAME]; / is static/.
 */
function startHost(cases) {
  const page = (strict) => `<!doctype html><meta charset="utf-8"><title>shop</title>
<script type="module" src="/lookalike.js"></script>
<h1>A product</h1>
${strict ? '' : `<lookalike-similar id="similar" product-id="${rows[0].id}" assets="/assets/" count="24"></lookalike-similar>
<lookalike-similar id="templated" product-id="${rows[5].id}" assets="/assets/" count="24"><template><a data-field="link"><span data-field="title"></span></a></template></lookalike-similar>`}
<lookalike-search id="search" assets="/assets/" count="24"${strict ? ' privacy="strict"' : ''}></lookalike-search>`;
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    requests.push({ seq: requests.length, url: u.pathname });
    const send = (body, ext) => { res.writeHead(200, { 'Content-Type': TYPES[ext] || 'application/octet-stream', 'Cache-Control': 'no-store' }); res.end(body); };
    let p = decodeURIComponent(u.pathname);
    if (p.includes('..')) { res.writeHead(404); res.end(); return; }
    if (p === '/host.html' || p === '/host-strict.html') return send(page(p === '/host-strict.html'), '.html');
    let root = staticDir, override = null;
    let m;
    if ((m = /^\/c\/([\w-]+)(\/.*)$/.exec(p))) { override = cases[m[1]]; p = m[2]; }
    else if ((m = /^\/strict(\/.*)$/.exec(p))) {
      p = m[1];
      if (p === '/' || p === '/index.html') {
        return send(fs.readFileSync(path.join(staticDir, 'index.html'), 'utf8').replace('<html', '<html data-privacy="strict"'), '.html');
      }
    }
    if (p.startsWith('/assets/')) {
      root = assets;
      p = p.slice('/assets'.length);
      if (override && p === '/manifest.json') return send(override.manifest, '.json');
      if (override?.files?.[p.slice(1)]) return send(override.files[p.slice(1)], '');
    }
    if (p.endsWith('/')) p += 'index.html';
    const file = path.join(root, p);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) { res.writeHead(404); res.end(); return; }
    send(fs.readFileSync(file), path.extname(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`,
    stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  })));
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lookalike-hardening-'));
  const csv = writeCatalogue(tmp);
  assets = path.join(tmp, 'assets');
  const args = ['build', '--catalog', csv, '--out', assets, '--image-root', path.join(sharedDir(), 'fashion')];
  if (fs.existsSync(modelPath())) args.push('--model', modelPath());
  await runGo(args);
  serve = await startServe({ assets }); // also builds static/build/ for the host
  host = await startHost(badManifests());
  browser = await launchChromium();
}, { timeout: 1_800_000 });

after(async () => {
  await browser?.close().catch(() => {});
  await host?.stop();
  await serve?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** A fresh context and page that fails the test on any dialog. */
async function openPage(url, { holdAppMs = 0 } = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.addInitScript(() => localStorage.setItem('lookalike.personal', 'off'));
  // app.js late, as on a slow link or a busy phone: the engine worker
  // boot.js started may have failed (or finished) before the page adopts it.
  if (holdAppMs) await ctx.route(/\/app\.js$/, async (r) => { await new Promise((ok) => setTimeout(ok, holdAppMs)); await r.continue(); });
  const page = await ctx.newPage();
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  // The shop itself is not part of the test: its links must not leave the page.
  await ctx.route('https://shop.example/**', (r) => r.fulfill({ status: 204 }));
  await page.goto(url);
  return { ctx, page, dialogs };
}

/** Every href and src in the document and in open shadow roots. */
function allLinks(page) {
  return page.evaluate(() => {
    const out = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        for (const a of ['href', 'src', 'action', 'formaction']) if (el.hasAttribute(a)) out.push(`${el.tagName.toLowerCase()}[${a}]=${el.getAttribute(a)}`);
        const bg = el.style?.backgroundImage;
        if (bg) out.push(`${el.tagName.toLowerCase()}[style]=${bg}`);
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    walk(document);
    return out;
  });
}

function assertNoUnsafe(links, where) {
  const bad = links.filter((l) => {
    const v = l.slice(l.indexOf('=') + 1).replace(/^url\("?|"?\)$/g, '').trim();
    return /^(javascript|data|vbscript):/i.test(v.replace(/[\s\0-\x1f]/g, '')) && !/^img\[src\]=data:image\//.test(l);
  });
  assert.deepEqual(bad, [], `${where}: unsafe links`);
}

test('the build keeps every product, drops the unsafe links and lists them as "unsafe url"', () => {
  const report = JSON.parse(fs.readFileSync(path.join(assets, 'build-report.json'), 'utf8'));
  assert.equal(report.items, N);
  assert.equal(report.skipped, 0);
  const unsafe = report.problems.filter((p) => p.reason === 'unsafe url');
  assert.equal(unsafe.length, N - N / 5, JSON.stringify(report.problems.slice(0, 3)));
  assert.ok(unsafe.every((p) => p.kept));
  const m = JSON.parse(fs.readFileSync(path.join(assets, 'manifest.json'), 'utf8'));
  const cat = fs.readFileSync(path.join(assets, m.assets.find((a) => a.kind === 'catalog').file), 'utf8');
  assert.doesNotMatch(cat, /javascript:|data:text/i);
});

test('builder serve does not publish the build report', async () => {
  const r = await fetch(serve.url + 'assets/build-report.json');
  assert.equal(r.status, 404);
});

test('shopper page: no unsafe href anywhere, markup titles are text, no dialog on click', { timeout: 600_000 }, async () => {
  const { ctx, page, dialogs } = await openPage(serve.url);
  try {
    await waitReady(page);
    const res = await searchFile(page, rows[3].imagePath);
    assert.equal(res.state, 'results');
    assert.ok(res.ids.length >= 20, `only ${res.ids.length} results`);
    const links = await allLinks(page);
    assertNoUnsafe(links, 'shopper page');
    const shop = links.filter((l) => l.startsWith('a[href]=https://shop.example/'));
    assert.ok(shop.length >= 3, `the safe links are shown too: ${links.filter((l) => l.startsWith('a[')).join(' ')}`);
    // Every product with an unsafe url is still a result, without a link.
    const linked = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#results li[data-product-id]')]
      .map((li) => [li.dataset.productId, !!li.querySelector('a.card-link')])));
    for (const r of rows) if (r.id in linked) assert.equal(linked[r.id], r.url.startsWith('https:'), `product ${r.id} (${r.url})`);
    const titles = await page.evaluate(() => [...document.querySelectorAll('#results .card-title')].map((e) => e.textContent));
    for (const i of [1, 2]) if (res.ids.includes(rows[i].id)) assert.ok(titles.includes(rows[i].shownTitle), 'a markup title is shown as text');
    assert.equal(await page.evaluate(() => document.querySelectorAll('#results img[src="x"], #results script').length), 0);
    for (const a of await page.$$('#results a.card-link')) await a.click({ modifiers: [] }).catch(() => {});
    assert.deepEqual(dialogs, []);
  } finally {
    await ctx.close();
  }
});

test('embed on a host page without CSP: carousels and search box give no unsafe href and no dialog', { timeout: 600_000 }, async () => {
  const { ctx, page, dialogs } = await openPage(host.url + '/host.html');
  try {
    for (const id of ['similar', 'templated']) {
      await page.waitForFunction((i) => ['ready', 'error', 'empty'].includes(document.getElementById(i).dataset.state), id, { timeout: 60_000 });
      assert.equal(await page.evaluate((i) => document.getElementById(i).dataset.state, id), 'ready', id);
    }
    await page.locator('#search input[type=file]').first().setInputFiles(rows[7].imagePath);
    await page.waitForFunction(() => ['results', 'error'].includes(document.getElementById('search').dataset.state), null, { timeout: 300_000 });
    assert.equal(await page.evaluate(() => document.getElementById('search').dataset.state), 'results');
    const links = await allLinks(page);
    assertNoUnsafe(links, 'host page');
    const cards = await page.evaluate(() => ['similar', 'templated', 'search'].map((id) => document.getElementById(id).shadowRoot.querySelectorAll('[data-product-id]').length));
    assert.ok(cards.every((n) => n >= 20), `cards per element: ${cards}`);
    const shop = links.filter((l) => l.startsWith('a[href]=https://shop.example/'));
    assert.ok(shop.length >= 6, `safe links render: ${shop.length}`);
    // Click every card that has no link (the unsafe ones): buttons, or a
    // template <a> without href; nothing runs.
    const clicked = await page.evaluate(() => {
      let n = 0;
      for (const id of ['similar', 'templated', 'search']) {
        for (const el of document.getElementById(id).shadowRoot.querySelectorAll('.link, [data-field=link], a')) {
          if (!el.getAttribute('href')) { el.click(); n++; }
        }
      }
      return n;
    });
    assert.ok(clicked >= 20, `clicked ${clicked} link-less cards`);
    await page.waitForTimeout(300);
    assert.deepEqual(dialogs, []);
  } finally {
    await ctx.close();
  }
});

// ---------------------------------------------------------------- damaged assets

/** The manifest cases of the probe, served under /c/NAME/. */
function badManifests() {
  const good = JSON.parse(fs.readFileSync(path.join(assets, 'manifest.json'), 'utf8'));
  const edit = (f) => { const m = structuredClone(good); f(m); return JSON.stringify(m); };
  const kind = (m, k) => m.assets.find((a) => a.kind === k);
  // The catalog asset: the page loads it whatever else the build holds
  // (with product codes it skips the index and the vectors).
  const cat = kind(good, 'catalog');
  const flipped = Buffer.from(fs.readFileSync(path.join(assets, cat.file)));
  flipped[flipped.length - 1] ^= 0xff;
  return {
    'negative-size': { manifest: edit((m) => { kind(m, 'vectors').size = -1; }) },
    'empty-sha256': { manifest: edit((m) => { kind(m, 'vectors').sha256 = ''; }) },
    'dim-2-31': { manifest: edit((m) => { m.model.embedding.dim = 2 ** 31; }) },
    'dotdot-name': { manifest: edit((m) => { kind(m, 'catalog').file = '../' + kind(m, 'catalog').file; }) },
    'size-9e18': { manifest: edit((m) => { kind(m, 'index').size = 9e18; }) },
    'flipped-byte': { manifest: JSON.stringify(good), files: { [cat.file]: flipped } },
    'another-build': { manifest: edit((m) => { kind(m, 'catalog').sha256 = 'ab'.repeat(32); }) },
  };
}

for (const name of ['negative-size', 'empty-sha256', 'dim-2-31', 'dotdot-name', 'size-9e18', 'flipped-byte', 'another-build']) {
  test(`damaged assets (${name}): the page blames the shop's data, never the photo or memory`, { timeout: 300_000 }, async () => {
    // A damaged manifest fails the worker within a few round trips: with
    // app.js held back, the failure is already queued when the page adopts
    // the worker (it must still reach the page, not leave it loading).
    const early = !['flipped-byte', 'another-build'].includes(name);
    const { ctx, page } = await openPage(`${host.url}/c/${name}/`, { holdAppMs: early ? 1500 : 0 });
    try {
      await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout: 240_000 });
      const st = await page.evaluate(() => ({ state: document.body.dataset.state, msg: document.getElementById('message-text').textContent }));
      assert.equal(st.state, 'error', `the page loaded: ${st.msg}`);
      assert.match(st.msg, /search data is damaged or from a different build/, st.msg);
      assert.doesNotMatch(st.msg, /image|photo|memory/i, st.msg);
    } finally {
      await ctx.close();
    }
  });
}

// ---------------------------------------------------------------- privacy="strict"

const sheetRequests = (from) => requests.filter((r) => r.seq >= from && /\/assets\/thumbs-[0-9a-f]{12}\.jpg$/.test(r.url));

function sheetFiles() {
  const m = JSON.parse(fs.readFileSync(path.join(assets, 'manifest.json'), 'utf8'));
  return m.assets.filter((a) => a.kind === 'thumbs').map((a) => a.file);
}

test('page: without strict, the sheets fetched after a photo depend on it; with privacy="strict", nothing is fetched after it', { timeout: 600_000 }, async () => {
  for (const strict of [false, true]) {
    const { ctx, page } = await openPage(host.url + (strict ? '/strict/' : '/'));
    try {
      const start = requests.length;
      await waitReady(page);
      // The service worker's install fetches the page shell: let it finish
      // so its requests are not taken for the search's.
      await page.evaluate(() => navigator.serviceWorker?.ready);
      if (strict) {
        // Every sheet, before any photo.
        const want = sheetFiles().length;
        for (let i = 0; i < 400 && new Set(sheetRequests(start).map((r) => path.basename(r.url))).size < want; i++) await page.waitForTimeout(50);
      }
      const mark = requests.length;
      const res = await searchFile(page, rows[11].imagePath);
      assert.equal(res.state, 'results');
      // Thumbnails drawn (from blob: copies in strict mode).
      await page.waitForFunction(() => [...document.querySelectorAll('#results .thumb')].every((t) => t.querySelector('img')?.getAttribute('src') || t.classList.contains('missing')), null, { timeout: 30_000 });
      const bgs = await page.evaluate(() => [...document.querySelectorAll('#results .thumb')].map((t) => t.querySelector('img')?.src || ''));
      if (!strict) {
        // The browser requests an image some time after its src is set.
        for (let i = 0; i < 200 && !sheetRequests(mark).length; i++) await page.waitForTimeout(50);
        assert.ok(sheetRequests(mark).length > 0, 'without strict mode the results fetch their sheets (so the strict check below can fail)');
        continue;
      }
      await page.waitForTimeout(1000); // give a late request the time to show
      // The browser's own update checks of the service worker script are
      // the same whatever the photo; nothing else may follow it.
      const after = requests.slice(mark).map((r) => r.url).filter((u) => !/\/sw\.js$/.test(u));
      assert.deepEqual(after, [], 'requests after the photo in strict mode');
      assert.ok(bgs.length >= 20 && bgs.every((b) => b.startsWith('blob:')), `thumbnails come from local copies: ${bgs.slice(0, 2)}`);
      assert.deepEqual(new Set(sheetRequests(start).map((r) => path.basename(r.url))), new Set(sheetFiles()), 'every sheet was fetched');
    } finally {
      await ctx.close();
    }
  }
});

test('embed: <lookalike-search privacy="strict"> fetches every sheet on intent, none after the photo', { timeout: 600_000 }, async () => {
  const { ctx, page } = await openPage(host.url + '/host-strict.html');
  try {
    const before = requests.length;
    await page.hover('#search');
    const want = new Set(sheetFiles());
    for (let i = 0; i < 400 && new Set(sheetRequests(before).map((r) => path.basename(r.url))).size < want.size; i++) await page.waitForTimeout(50);
    assert.deepEqual(new Set(sheetRequests(before).map((r) => path.basename(r.url))), want, 'every sheet before the photo');
    const mark = requests.length;
    await page.locator('#search input[type=file]').first().setInputFiles(rows[13].imagePath);
    await page.waitForFunction(() => ['results', 'error'].includes(document.getElementById('search').dataset.state), null, { timeout: 300_000 });
    assert.equal(await page.evaluate(() => document.getElementById('search').dataset.state), 'results');
    // The engine loads on the first photo (the same files for every photo);
    // no thumbnail sheet is among them.
    assert.deepEqual(sheetRequests(mark), []);
    const srcs = await page.evaluate(() => [...document.getElementById('search').shadowRoot.querySelectorAll('.grid img')].map((i) => i.src));
    assert.ok(srcs.length >= 20 && srcs.every((s) => s.startsWith('blob:')), `result thumbnails: ${srcs.slice(0, 2)}`);
  } finally {
    await ctx.close();
  }
});
