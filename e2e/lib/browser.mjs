// Launching Debian's Chromium with playwright-core (no downloaded browser)
// and small page helpers shared by the browser tests and benches.
//
//   const browser = await launchChromium();
//   const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
//   const page = await ctx.newPage();
//   await page.goto(url); await waitReady(page);
//   const ids = await searchFile(page, '/path/photo.jpg');   // result product ids
import fs from 'node:fs';
import { chromium } from 'playwright-core';

/** Chromium flags for a quiet, headless, container-friendly run. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** $CHROMIUM or Debian's /usr/bin/chromium. */
export function chromiumPath() {
  const p = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(p)) throw new Error(`browser: no Chromium at ${p} (apt-get install chromium, or set CHROMIUM)`);
  return p;
}

/** Launches headless Chromium; extra args are appended to CHROMIUM_ARGS. */
export function launchChromium({ args = [] } = {}) {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_ARGS, ...args] });
}

/**
 * A persistent context on a fresh user-data folder: a first visit with an
 * empty HTTP cache and no service worker, like a new shopper.
 */
export function launchPersistent(userDataDir, { args = [], ...opts } = {}) {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_ARGS, ...args], ...opts,
  });
}

/**
 * Collects the page's console errors and uncaught exceptions (and those of
 * its workers) into an array, for assertion messages.
 */
export function collectErrors(page) {
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

/** Waits until body[data-state] is 'ready' (rejects early on 'error'). */
export async function waitReady(page, timeout = 180_000) {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout, polling: 50 });
  const st = await page.evaluate(() => ({ state: document.body.dataset.state, msg: document.getElementById('message-text')?.textContent }));
  if (st.state !== 'ready') throw new Error(`page: engine failed to load: ${st.msg}`);
}

/**
 * Waits for the current request to settle: #results[data-state] becomes
 * 'results' or 'none' with body back at 'ready', or body[data-error] is set.
 * Returns {state, error, ids}: ids are the result elements' data-product-id.
 */
export async function waitSettled(page, timeout = 120_000) {
  await page.waitForFunction(() => {
    const b = document.body.dataset;
    const r = document.getElementById('results').dataset.state;
    return b.state !== 'searching' && (b.error || r === 'results' || r === 'none');
  }, null, { timeout, polling: 20 });
  return page.evaluate(() => ({
    state: document.getElementById('results').dataset.state,
    error: document.body.dataset.error || '',
    ids: [...document.querySelectorAll('#results [data-product-id]')].map((e) => e.dataset.productId),
  }));
}

/**
 * Uploads files through #file-input (setInputFiles: a path, or
 * {name, mimeType, buffer}) and waits for results or an error. A search
 * of a photo that gives the same ids as before still counts: the wait
 * starts from #results[data-state] leaving 'results'.
 */
export async function searchFile(page, file, timeout = 120_000) {
  await markStale(page);
  await page.setInputFiles('#file-input', file);
  return waitSettled(page, timeout);
}

// Marks the current results as old (and clears the last input error) so
// that waitSettled waits for the next answer, not the one already shown.
function markStale(page) {
  return page.evaluate(() => {
    document.getElementById('results').dataset.state = 'stale';
    delete document.body.dataset.error;
  });
}

/** Clicks an element and waits for the request it starts to settle (see searchFile). */
export async function clickAndSettle(page, selector, timeout = 120_000) {
  await markStale(page);
  await page.click(selector);
  return waitSettled(page, timeout);
}
