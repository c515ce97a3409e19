// The page's asset plan (static/asset-plan.js): what it fetches first, what
// later, and what it leaves alone.
//   node --test e2e/unit/
import test from 'node:test';
import assert from 'node:assert/strict';
import { planStages, LATER_MAX_BYTES } from '../../static/asset-plan.js';

const asset = (kind, size, parts = 0) => {
  const sha256 = 'a'.repeat(64);
  if (!parts) return { kind, file: `${kind}-000000000000.bin`, sha256, size };
  const each = Math.ceil(size / parts);
  return { kind, file: `${kind}-000000000000.bin`, sha256, size,
    parts: Array.from({ length: parts }, (_, i) => ({ file: `${kind}-000000000000.bin.part${i}`, sha256, size: Math.min(each, size - i * each) })) };
};

test('with codes the page fetches neither the index nor the vectors; later files past LATER_MAX_BYTES are left alone', () => {
  const base = [asset('projection', 1e6), asset('model', 15e6), asset('codes', 16e6), asset('heads', 4e6),
    asset('index', 50e6, 2), asset('vectors', 20e6), asset('catalog', 99e6, 4)];
  const small = planStages({ item_count: 40142, model: { embedding: { dim: 268 } }, assets: [...base, asset('neighbors', 11e6)] }, { base: 12, perDim: 4 });
  assert.deepEqual(small.stages.map((s) => s.kind), ['model', 'projection', 'codes', 'heads', 'catalog']);
  assert.deepEqual(small.later.map((s) => s.kind), ['neighbors']);
  const big = planStages({ item_count: 1003550, model: { embedding: { dim: 268 } }, assets: [...base, asset('neighbors', LATER_MAX_BYTES + 1, 3)] }, { base: 12, perDim: 4 });
  assert.deepEqual(big.later, [], 'the 1M neighbour lists (288 MB) are not fetched: "more like this" scans the codes');
});
