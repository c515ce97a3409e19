// The page's asset plan (static/asset-plan.js): what it fetches first, what
// later, and what it leaves alone.
//   node --test e2e/unit/
import test from 'node:test';
import assert from 'node:assert/strict';
import { planStages, LATER_MAX_BYTES, DISK_MAX_BYTES } from '../../static/asset-plan.js';

const asset = (kind, size, parts = 0) => {
  const sha256 = 'a'.repeat(64);
  if (!parts) return { kind, file: `${kind}-000000000000.bin`, sha256, size };
  const each = Math.ceil(size / parts);
  return { kind, file: `${kind}-000000000000.bin`, sha256, size,
    parts: Array.from({ length: parts }, (_, i) => ({ file: `${kind}-000000000000.bin.part${i}`, sha256, size: Math.min(each, size - i * each) })) };
};

test('with codes the page fetches neither the index nor the vectors first; the vectors come later (not under Data Saver); past LATER_MAX_BYTES the vectors go to disk and the rest is left alone', () => {
  const base = [asset('projection', 1e6), asset('model', 15e6), asset('objectness', 8216), asset('codes', 16e6), asset('heads', 4e6),
    asset('index', 50e6, 2), asset('vectors', 20e6), asset('catalog', 99e6, 4)];
  const small = planStages({ item_count: 40142, model: { embedding: { dim: 268 } }, assets: [...base, asset('neighbors', 11e6)] }, { base: 12, perDim: 4 });
  assert.deepEqual(small.stages.map((s) => s.kind), ['objectness', 'model', 'projection', 'codes', 'heads', 'catalog'],
    'the product finder before the model: Go localises a photo chosen while the rest loads');
  assert.deepEqual(small.later.map((s) => s.kind), ['vectors', 'neighbors'], 'the vector file first: it makes every later search exact');
  const saving = planStages({ item_count: 40142, model: { embedding: { dim: 268 } }, assets: [...base, asset('neighbors', 11e6)] }, { base: 12, perDim: 4 }, { saveData: true });
  assert.deepEqual(saving.later.map((s) => s.kind), ['neighbors'], 'Data Saver: no vector file');
  const big = planStages({ item_count: 1003550, model: { embedding: { dim: 268 } }, assets: [...base.filter((a) => a.kind !== 'vectors'), asset('vectors', 270e6, 11), asset('neighbors', LATER_MAX_BYTES + 1, 3)] }, { base: 12, perDim: 4 });
  assert.deepEqual(big.later.map((s) => [s.kind, s.disk, s.parts.length]), [['vectors', true, 11]],
    'at 1M the vector file (270 MB) is kept on disk, whole, and the neighbour lists (288 MB) are not fetched');
  assert.equal(small.later[0].disk, undefined, 'at 40k the vector file is held in memory');
  const huge = planStages({ item_count: 4e6, model: { embedding: { dim: 268 } }, assets: [...base.filter((a) => a.kind !== 'vectors'), asset('vectors', DISK_MAX_BYTES + 1, 44)] }, { base: 12, perDim: 4 });
  assert.deepEqual(huge.later, [], 'past DISK_MAX_BYTES not even the disk copy');
  const bigSaving = planStages({ item_count: 1003550, model: { embedding: { dim: 268 } }, assets: [...base.filter((a) => a.kind !== 'vectors'), asset('vectors', 270e6, 11)] }, { base: 12, perDim: 4 }, { saveData: true });
  assert.deepEqual(bigSaving.later, [], 'Data Saver: no disk copy either');
  const bigCellular = planStages({ item_count: 1003550, model: { embedding: { dim: 268 } }, assets: [...base.filter((a) => a.kind !== 'vectors'), asset('vectors', 270e6, 11)] }, { base: 12, perDim: 4 }, { cellular: true });
  assert.deepEqual(bigCellular.later, [], 'a cellular connection: no quarter-gigabyte disk copy');
  const smallCellular = planStages({ item_count: 40142, model: { embedding: { dim: 268 } }, assets: [...base, asset('neighbors', 11e6)] }, { base: 12, perDim: 4 }, { cellular: true });
  assert.deepEqual(smallCellular.later.map((s) => s.kind), ['vectors', 'neighbors'], 'a cellular connection still gets the 40k vector file in memory');
});

test('without codes the vectors are part of the first stages, never later', () => {
  const plan = planStages({ item_count: 3000, model: { embedding: { dim: 268 } }, assets: [asset('model', 15e6), asset('index', 5e6), asset('vectors', 1e6), asset('catalog', 1e6)] }, { base: 12, perDim: 4 });
  assert.deepEqual(plan.stages.map((s) => s.kind), ['model', 'index', 'vectors', 'catalog']);
  assert.deepEqual(plan.later.map((s) => s.kind), []);
});
