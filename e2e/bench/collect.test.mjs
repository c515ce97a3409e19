// Tests for collect.mjs: merging pieces, keeping old figures, ratios in bench.md.
//   node --test e2e/bench/
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const script = new URL('./collect.mjs', import.meta.url).pathname;

function collect(dir, ...pieces) {
  const r = spawnSync(process.execPath, [script, '--json', path.join(dir, 'b.json'), '--md', path.join(dir, 'b.md'), ...pieces], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { json: JSON.parse(fs.readFileSync(path.join(dir, 'b.json'), 'utf8')), md: fs.readFileSync(path.join(dir, 'b.md'), 'utf8') };
}

test('collect merges pieces, replaces re-measured metrics and writes ratios', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collect-test-'));
  const p1 = path.join(dir, 'p1.json');
  const p2 = path.join(dir, 'p2.jsonl');
  fs.writeFileSync(p1, JSON.stringify({ ortweb_1t_ms: 300, command: 'node e2e/bench/ortweb.mjs --threads 1', detail: { runs: 7 } }));
  fs.writeFileSync(p2, JSON.stringify({ embed_wasm_ms: 150, command: 'make bench-wasm' }) + '\n' + JSON.stringify({ wasm_peak_mb: 400 }) + '\n');
  let { json, md } = collect(dir, p1, p2);
  assert.equal(json.ortweb_1t_ms, 300);
  assert.equal(json.embed_wasm_ms, 150);
  assert.equal(json._details.ortweb_1t_ms.detail.runs, 7);
  assert.match(md, /browser engine vs onnxruntime-web, 1 thread \| embed_wasm_ms = 150 ms \| ortweb_1t_ms = 300 ms \| 0\.50× \| 2\.00× faster/);
  assert.match(md, /ortweb_mt_ms: not measured yet/);
  assert.match(md, /make bench-wasm/);

  fs.writeFileSync(p1, JSON.stringify({ ortweb_1t_ms: 100 }));
  ({ json, md } = collect(dir, p1));
  assert.equal(json.ortweb_1t_ms, 100, 're-measured value replaces the old one');
  assert.equal(json.embed_wasm_ms, 150, 'other metrics are kept');
  assert.match(md, /1\.50× \| 1\.50× slower/);
});

test('collect refuses a malformed piece', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collect-test-'));
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, '{"a": 1}\n{not json');
  const r = spawnSync(process.execPath, [script, '--json', path.join(dir, 'b.json'), '--md', path.join(dir, 'b.md'), bad], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /bad\.json:2/);
});

test('collect drops retired metrics', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collect-test-'));
  const p = path.join(dir, 'p.json');
  fs.writeFileSync(p, JSON.stringify({ edge_similar_uncached_cpu_ms: 25.6, edge_uncached_similar_cpu_p50_ms: 3.1 }));
  const { json, md } = collect(dir, p);
  assert.equal(json.edge_similar_uncached_cpu_ms, undefined);
  assert.equal(json._details.edge_similar_uncached_cpu_ms, undefined);
  assert.equal(json.edge_uncached_similar_cpu_p50_ms, 3.1);
  assert.doesNotMatch(md, /edge_similar_uncached_cpu_ms/);
});

test('collect writes the synthetic 1M table with each goal met or not', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collect-test-'));
  const p = path.join(dir, 'p.json');
  fs.writeFileSync(p, JSON.stringify({ search_wasm_p50_ms_1m: 25, recall_at_10_1m: 0.5, command: 'benchgo codes --suffix _1m' }));
  const { md } = collect(dir, p);
  assert.match(md, /## A million products — SYNTHETIC/);
  assert.match(md, /`search_wasm_p50_ms_1m` \| 25\.0 \| ≤ 30 \| met \|/);
  assert.match(md, /`recall_at_10_1m` \| 0\.50 \| ≥ 0\.95 \| not met \|/);
  assert.match(md, /`page_download_bytes_1m` \| not measured \| ≤ 40 MB \| not measured \|/);
});
