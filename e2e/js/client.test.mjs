// The shared pieces of the page and the embed that run without a DOM: the
// engine worker client (static/lookalike/client.js) against a scripted
// worker speaking the protocol of static/README.md, the price formatter and
// the page's score badges.
//
//   node --test e2e/js/
import test from 'node:test';
import assert from 'node:assert/strict';

/** A stand-in Worker: records what the client posts; the test answers. */
class FakeWorker {
  static last = null;
  constructor(url, opts) {
    this.url = String(url);
    this.opts = opts;
    this.posted = [];
    this.terminated = false;
    FakeWorker.last = this;
  }
  postMessage(m) { this.posted.push(m); }
  terminate() { this.terminated = true; }
  send(data) { this.onmessage?.({ data }); }
}
globalThis.Worker = FakeWorker;
globalThis.location = new URL('https://shop.test/page.html');
const { engineClient } = await import('../../static/lookalike/client.js');
const { formatPrice } = await import('../../static/lookalike/card.js');
const { badges } = await import('../../static/badges.js');

const start = (on = {}) => {
  const c = engineClient(new URL('https://shop.test/engine-worker.js'), 'https://shop.test/assets/', on);
  return { c, w: FakeWorker.last };
};
const tick = () => new Promise((r) => setTimeout(r, 0));

test('client: init, progress, ready, answers matched by id whatever their order', async () => {
  const seen = [];
  const { c, w } = start({ progress: (m) => seen.push(m.stage), info: (m) => seen.push(m.engine) });
  assert.deepEqual(w.posted[0], { type: 'init', assets: 'https://shop.test/assets/' });
  assert.equal(w.opts.type, 'module');
  const a = c.request({ type: 'search', k: 3 });
  const b = c.request({ type: 'vector', productId: '7' });
  const [ia, ib] = w.posted.slice(1).map((m) => m.id);
  assert.notEqual(ia, ib);
  w.send({ type: 'progress', stage: 'model', loaded: 1, total: 2 });
  w.send({ type: 'info', engine: 'Go' });
  w.send({ type: 'ready', items: 5 });
  assert.equal((await c.ready).items, 5);
  w.send({ type: 'vector', id: ib, productId: '7', vector: [1, 0] });
  w.send({ type: 'results', id: ia, results: [{ id: 'x' }] });
  assert.deepEqual((await b).vector, [1, 0]);
  assert.equal((await a).results[0].id, 'x');
  assert.deepEqual(seen, ['model', 'Go']);
});

test('client: later() lets the worker start its background downloads; not once the engine is closed', () => {
  const { c, w } = start();
  c.later();
  assert.deepEqual(w.posted.at(-1), { type: 'later' });
  const sent = w.posted.length;
  c.later();
  assert.equal(w.posted.length, sent, 'only the first later() is sent');
  c.close();
  const n = w.posted.length;
  c.later();
  assert.equal(w.posted.length, n, 'nothing posted to a closed worker');
});

test('client: a request\'s error rejects it with the code; the engine keeps going', async () => {
  const fatal = [];
  const { c, w } = start({ fatal: (e) => fatal.push(e) });
  const p = c.request({ type: 'search' });
  w.send({ type: 'error', id: w.posted[1].id, code: 'too-large', message: '9000 × 9000' });
  await assert.rejects(p, (e) => e.code === 'too-large' && /9000/.test(e.message));
  assert.deepEqual(fatal, []);
  assert.equal(w.terminated, false);
});

test('client: an error without id (loading failed) rejects ready and every waiting request, stops the worker, tells fatal once', async () => {
  const fatal = [];
  const { c, w } = start({ fatal: (e) => fatal.push(e.code) });
  const p = c.request({ type: 'similar', productId: '1' });
  w.send({ type: 'error', code: 'integrity', message: 'index: sha256' });
  w.send({ type: 'error', code: 'network', message: 'again' });
  await assert.rejects(c.ready, (e) => e.code === 'integrity');
  await assert.rejects(p, (e) => e.code === 'integrity');
  await assert.rejects(c.request({ type: 'search' }), (e) => e.code === 'integrity');
  assert.deepEqual(fatal, ['integrity']);
  assert.equal(w.terminated, true);
});

test('client: the worker failing to start is fatal; close() is not', async () => {
  const fatal = [];
  const { c, w } = start({ fatal: (e) => fatal.push(e.code) });
  w.onerror({ message: 'blocked', preventDefault() {} });
  await assert.rejects(c.ready, /blocked/);
  assert.deepEqual(fatal, ['internal']);
  const d = start({ fatal: (e) => fatal.push(e.code) });
  const p = d.c.request({ type: 'search' });
  d.c.close();
  await assert.rejects(p, (e) => e.code === 'closed');
  assert.deepEqual(fatal, ['internal']);
  assert.equal(d.w.terminated, true);
  await tick();
});

test('client: a worker on another origin starts from a blob: module that imports it', () => {
  globalThis.URL.createObjectURL ||= () => 'blob:x';
  engineClient(new URL('https://cdn.test/lookalike/worker.js'), 'https://cdn.test/assets/');
  assert.match(FakeWorker.last.url, /^blob:/);
});

test('formatPrice: one formatter for the page, the carousel and the demo product', () => {
  assert.equal(formatPrice('', 'EUR'), '');
  assert.equal(formatPrice(undefined), '');
  assert.equal(formatPrice('27.5'), formatPrice('27.50'));
  assert.match(formatPrice('27.5'), /^27[.,]50$/);
  assert.match(formatPrice('27.50', 'EUR'), /€/);
  assert.match(formatPrice('27.50', 'EUR'), /27[.,]50/);
  assert.match(formatPrice('12', 'NOTACODE'), /^12[.,]00 NOTACODE$/);
  assert.equal(formatPrice('on request'), 'on request');
});

test('badges: visual percentages, and "For you" where the history put a result above a more alike one', () => {
  // No history: score = visual, in order.
  const plain = badges([{ score: 0.9, visual: 0.9 }, { score: 0.88, visual: 0.88 }]);
  assert.deepEqual(plain.map((b) => b.text), ['90%', '88%']);
  assert.ok(plain.every((b) => !b.lifted));
  // Re-ranked: 88 % listed above 89 %, 91 % and 85 %.
  const r = [{ score: 2.1, visual: 0.88 }, { score: 1.3, visual: 0.91 }, { score: 1.0, visual: 0.89 }, { score: 0.99, visual: 0.85 }, { score: 0.9, visual: 0.9 }];
  const b = badges(r);
  assert.deepEqual(b.map((x) => x.text), ['For you', '91%', 'For you', 'For you', '90%']);
  assert.match(b[0].title, /^88% similar; placed higher/);
  // The percentages shown never go up down the list.
  const shown = b.filter((x) => !x.lifted).map((x) => parseInt(x.text, 10));
  assert.deepEqual(shown, [...shown].sort((x, y) => y - x));
  // Lifted by the photo's type and colour (the engine's heads), not by a history.
  assert.deepEqual(badges(r, 'photo').map((x) => x.text), ['Same look', '91%', 'Same look', 'Same look', '90%']);
  assert.match(badges(r, 'photo')[0].title, /type and colour/);
});

test('client: adopts the worker boot.js started, replaying what it said meanwhile', async () => {
  // As static/boot.js leaves it: started, init posted, events queued.
  const w = new FakeWorker('https://shop.test/engine-worker.js', { type: 'module' });
  w.postMessage({ type: 'init', assets: 'https://shop.test/assets/' });
  const queue = [
    { type: 'message', data: { type: 'progress', stage: 'manifest', loaded: 1, total: 1 } },
    { type: 'message', data: { type: 'info', engine: 'Go' } },
  ];
  const seen = [];
  const c = engineClient(new URL('https://shop.test/engine-worker.js'), 'https://shop.test/assets/', {
    early: { worker: w, assets: 'https://shop.test/assets/', queue },
    progress: (m) => seen.push(m.stage), info: (m) => seen.push(m.engine),
  });
  assert.equal(FakeWorker.last, w, 'a second worker was started');
  assert.deepEqual(w.posted, [{ type: 'init', assets: 'https://shop.test/assets/' }], 'init posted twice');
  await null; // replayed in a microtask, once the caller holds the client
  assert.deepEqual(seen, ['manifest', 'Go']);
  assert.equal(queue.length, 0);
  w.send({ type: 'ready', items: 3 });
  assert.equal((await c.ready).items, 3);
  // For other assets the early worker is not taken.
  const other = engineClient(new URL('https://shop.test/engine-worker.js'), 'https://shop.test/other/', { early: { worker: w, assets: 'https://shop.test/assets/', queue: [] } });
  assert.notEqual(FakeWorker.last, w);
  assert.deepEqual(FakeWorker.last.posted[0], { type: 'init', assets: 'https://shop.test/other/' });
  other.close();
});

test('client: an early worker that already failed to load fails the client', async () => {
  const w = new FakeWorker('https://shop.test/engine-worker.js', { type: 'module' });
  const fatal = [];
  const c = engineClient(new URL('https://shop.test/engine-worker.js'), 'https://shop.test/assets/', {
    early: { worker: w, assets: 'https://shop.test/assets/', queue: [{ type: 'error', message: 'not found', preventDefault() {} }] },
    fatal: (e) => fatal.push(e),
  });
  await assert.rejects(c.ready, /engine worker failed/);
  assert.equal(fatal.length, 1);
  assert.ok(w.terminated);
});

test('client: a load failure the early worker reported before the page adopted it reaches the page', async () => {
  // app.js's pattern: `const c = worker = engineClient(…, { fatal: (err) => {
  // if (c === worker) … } })`. Replayed during the call, the failure would
  // meet `c` before it is assigned (and, in app.js, be lost: the page waited
  // for ever on a damaged manifest when the worker failed before app.js ran).
  const w = new FakeWorker('https://shop.test/engine-worker.js', { type: 'module' });
  const queue = [{ type: 'message', data: { type: 'error', code: 'bad-assets', message: 'manifest.json: the catalog asset has no safe file name' } }];
  let current = null;
  const fatal = [];
  const c = current = engineClient(new URL('https://shop.test/engine-worker.js'), 'https://shop.test/assets/', {
    early: { worker: w, assets: 'https://shop.test/assets/', queue },
    fatal: (e) => fatal.push({ mine: c === current, code: e.code }),
  });
  await assert.rejects(c.ready, /no safe file name/);
  assert.deepEqual(fatal, [{ mine: true, code: 'bad-assets' }]);
  assert.ok(w.terminated);
});
