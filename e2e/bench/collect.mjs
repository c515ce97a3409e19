#!/usr/bin/env node
// Merges benchmark pieces into docs/bench.json and rewrites docs/bench.md.
//
//   node e2e/bench/collect.mjs [--json docs/bench.json] [--md docs/bench.md] [PIECE.json | -]…
//
// A piece is one JSON object (or JSON lines of them) whose top-level numeric
// fields are metrics (e.g. {"embed_wasm_ms": 190.3}), optionally with
// "command" (how it was made, run from the repository root), "date",
// "machine" and "detail". Any program can make pieces: the Node peers under
// e2e/bench/, Go benchmarks, the browser tests. A metric measured again
// replaces the old value; the others are kept. bench.md is generated from
// bench.json alone, so running with no pieces just re-renders it.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs, repoRoot } from '../ref/common.mjs';

const USAGE = 'usage: node e2e/bench/collect.mjs [--json docs/bench.json] [--md docs/bench.md] [PIECE.json|-]...';
const root = repoRoot();
const { opts, rest } = parseArgs(process.argv.slice(2),
  { json: path.join(root, 'docs', 'bench.json'), md: path.join(root, 'docs', 'bench.md') }, USAGE);

// What each known metric means. Unknown metrics are listed too, with units
// guessed from their suffix.
const KNOWN = {
  embed_wasm_ms: 'our Go engine, js/wasm + SIMD kernel, 1 image (ms/image; int8 activations unless activations_wasm says otherwise)',
  embed_wasm_mt_ms: 'our Go engine, js/wasm, int8 GEMMs shared with worker threads (wasm/kernels/pool.js; LOOKALIKE_WASM_THREADS=auto), 1 image (ms/image)',
  embed_wasm_mt_cpu_ms: 'the same: CPU time per image, all threads (ms)',
  embed_wasm_fp32_ms: 'our Go engine, js/wasm, float32 activations (the path before int8), 1 image (ms/image)',
  embed_native_fp32_ms: 'our Go engine, native, float32 activations, all cores (ms/image)',
  embed_int8_cos_min: 'lowest cosine, int8 vs float32 activations, over embed_int8_photos catalogue photos (target ≥ 0.995)',
  embed_int8_cos_mean: 'mean cosine, int8 vs float32 activations, same photos',
  ortweb_1t_ms: 'onnxruntime-web wasm SIMD, 1 thread, same model file (ms/image)',
  ortweb_mt_ms: 'onnxruntime-web wasm SIMD, all cores (ms/image)',
  ortweb_1t_cpu_ms: 'onnxruntime-web 1 thread: CPU time per image (ms; robust on a busy machine)',
  ortweb_mt_cpu_ms: 'onnxruntime-web all cores: CPU time per image, all threads (ms)',
  ortnode_cpu_ms: 'onnxruntime-node batch 1: CPU time per image, all threads (ms)',
  embed_native_ms: 'our Go engine, native, all cores (ms/image)',
  ortnode_ms: 'onnxruntime-node CPU, all cores, batch 1 (ms/image)',
  wasm_peak_mb: 'our wasm engine: peak memory (MB)',
  model_load_ms: 'our wasm engine: model fetch + decode + dequantise (ms)',
  ortweb_1t_load_ms: 'onnxruntime-web 1 thread: session create (ms)',
  ortweb_mt_load_ms: 'onnxruntime-web all cores: session create (ms)',
  ortweb_1t_peak_mb: 'onnxruntime-web 1 thread: process max RSS (MB)',
  ortweb_mt_peak_mb: 'onnxruntime-web all cores: process max RSS (MB)',
  ortnode_load_ms: 'onnxruntime-node: session create (ms)',
  ortnode_items_per_s: 'onnxruntime-node + sharp JPEG decode, end to end (images/s)',
  ortnode_infer_items_per_s: 'onnxruntime-node inference only, in that run (images/s)',
  ortnode_decode_items_per_s: 'sharp decode + resize only (images/s)',
  tfjs_cpu_ms: '@tensorflow/tfjs pure-JS CPU backend, original model (ms/image)',
  build_items_per_s: 'builder build, 2,000 catalogue photos, empty cache: read + decode + resize + embed (images/s)',
  search_wasm_p50_ms: 'search on the full catalogue, js/wasm (ms, p50)',
  search_wasm_p99_ms: 'search on the full catalogue, js/wasm (ms, p99)',
  search_native_p50_ms: 'search on the full catalogue, native (ms, p50)',
  recall_at_10: 'the tree search (builder query, the edge\'s exact lists) vs exact cosine top-10, js/wasm with int8 vectors and the index\'s split nodes (recall; the page scans codes instead: recall_at_10_40k)',
  recall_at_10_native: 'native search (whole index, float32 vectors) vs exact cosine top-10 (recall)',
  search_native_exact_p50_ms: 'exact scan of the full catalogue, native (ms, p50)',
  search_wasm_exact_p50_ms: 'exact scan of the full catalogue, js/wasm (ms, p50)',
  page_download_bytes_40k: 'full catalogue: bytes on the wire of what the page fetches before its first search, by static/asset-plan.js (assets and engine; brotli siblings where present; target ≤ 15 MB)',
  page_download_raw_bytes_40k: 'the same files, decoded (bytes)',
  page_later_bytes_40k: 'what the page fetches after its first results (with codes the vector file, then neighbours, CF; bytes on the wire)',
  first_visit_bytes_3k: '3k fixture, first visit at 20 Mbit/s / 40 ms (loopback throttle): bytes on the wire from navigation to the first results, photo chosen at load (target ≤ 13 MB)',
  first_visit_bytes_40k: 'full catalogue: the same (target ≤ 15 MB)',
  first_results_ms_20mbit_3k: '3k fixture, first visit at 20 Mbit/s / 40 ms: navigation → first results (ms; target ≤ 6,000)',
  first_results_ms_20mbit_40k: 'full catalogue: the same (ms; target ≤ 8,000)',
  model_response_end_ms_20mbit_3k: '3k fixture: when the response carrying the model ended on the throttled link (ms after navigation; proves the worker fetches are throttled)',
  model_response_end_ms_20mbit_40k: 'full catalogue: the same (ms)',
  vectors_response_end_ms_20mbit_3k: '3k fixture: when the vector file, fetched after the first results\' thumbnails, was in (ms after navigation): from then on searches re-score the codes\' best 200 exactly',
  vectors_response_end_ms_20mbit_40k: 'full catalogue: the same (ms)',
  background_bytes_3k: '3k fixture: bytes on the link after the first results until it is quiet (the results\' thumbnail sheets, the vector file, the neighbours)',
  background_bytes_40k: 'full catalogue: the same (bytes)',
  repeat_results_ms_20mbit_3k: '3k fixture, next visit (cached), same link: navigation → results (ms; target ≤ 1,500)',
  repeat_results_ms_20mbit_40k: 'full catalogue: the same (ms; target ≤ 1,500)',
  repeat_visit_bytes_3k: '3k fixture, next visit: bytes on the wire (nothing large re-downloaded)',
  repeat_visit_bytes_40k: 'full catalogue: the same (bytes)',
  chromium_page_renderer_peak_mb_40k: 'Chromium, full catalogue: peak PSS of the renderer holding the page, engine worker and service worker (MB; target ≤ 500)',
  chromium_renderer_peak_mb_40k: 'Chromium, full catalogue: peak PSS of all renderer processes (MB)',
  chromium_peak_mb_40k: 'Chromium, full catalogue: peak PSS of all Chromium processes (MB; compare chromium_idle_mb)',
  chromium_idle_mb: 'the same headless Chromium idle on about:blank, all processes (MB)',
  page_ready_cold_ms_40k: 'Chromium, full catalogue: navigation → engine ready, first visit (ms)',
  drop_to_results_ms_40k: 'Chromium, full catalogue: photo in → results shown (ms, median)',
  page_ready_cold_ms: 'Chromium: navigation → engine ready, first visit (ms)',
  page_ready_warm_ms: 'Chromium: navigation → engine ready, service-worker cache (ms)',
  drop_to_results_ms: 'Chromium: photo in → results shown (ms, median)',
  embed_chromium_ms: 'Chromium: our engine, one photo (ms)',
  ortweb_chromium_1t_ms: 'Chromium: onnxruntime-web wasm SIMD 1 thread, same model (ms)',
  edge_uncached_similar_cpu_p50_ms: 'workerd running the worker: CPU of one /api/similar request whose URL was never asked, p50 of 1,000 (ms; target ≤ 5)',
  edge_uncached_similar_cpu_p99_ms: 'workerd running the worker: the same, p99 (ms; target ≤ 10, the free plan\'s limit)',
  edge_uncached_products_cpu_p50_ms: 'workerd running the worker: CPU of one /api/products request never asked before, p50 of 1,000 (ms; target ≤ 5)',
  edge_uncached_products_cpu_p99_ms: 'workerd running the worker: the same, p99 (ms; target ≤ 10)',
  edge_uncached_similar_cpu_p50_dev_ms: 'the same /api/similar requests with wrangler dev\'s proxy workerd added (no deployment has it), p50 (ms)',
  edge_uncached_similar_cpu_p99_dev_ms: 'the same with wrangler dev\'s proxy workerd added, p99 (ms)',
  edge_uncached_products_cpu_p50_dev_ms: 'the same /api/products requests with wrangler dev\'s proxy workerd added, p50 (ms)',
  edge_uncached_products_cpu_p99_dev_ms: 'the same with wrangler dev\'s proxy workerd added, p99 (ms)',
  edge_floor_cpu_p50_ms: 'workerd running the worker: CPU of a static 404 (entry.mjs and the asset store, no Go), p50 of 1,000 (ms): the local floor',
  edge_floor_cpu_p99_ms: 'workerd running the worker: the same static 404, p99 (ms)',
  edge_uncached_p50_ms: 'workerd: 1,000 distinct similar/products URLs at 20 concurrent, latency p50 (ms; target ≤ 150)',
  edge_uncached_p99_ms: 'workerd: the same, p99 (ms; target ≤ 500)',
  edge_uncached_cpu_ms: 'workerd: the same, CPU per request (ms)',
  edge_uncached_errors: 'workerd: failed uncached requests (target 0)',
  edge_instance_start_cpu_ms: 'workerd: CPU of a new isolate\'s first API request (starts the Go instance) (ms)',
  edge_cold_similar_cpu_p50_ms: 'workerd: the next 50 similar requests of a new isolate (shards read for the first time), CPU p50 (ms)',
  edge_cold_similar_cpu_max_ms: 'workerd: the same, the most expensive one (ms)',
  edge_similar_p50_ms: 'workerd (wrangler dev): /api/similar p50 under 50 concurrent, random known ids (ms)',
  edge_similar_p99_ms: 'workerd (wrangler dev): /api/similar p99 under 50 concurrent, random known ids (ms)',
  edge_similar_cpu_ms: 'workerd CPU per request, random known ids (ms)',
  edge_errors: 'workerd: failed requests of the random-id run',
  worker_bundle_bytes: 'edge worker bundle as wrangler deploy --dry-run writes it, gzip (bytes; limit 3 MB)',
  embed_script_gzip_bytes: 'the embed on every page: lookalike.js and its static imports (lookalike/assets.js, card.js, gen_formats.js), gzip each (bytes; target ≤ 15 KB)',
  embed_search_gzip_bytes: 'the search box on its first photo, before the engine: lookalike/client.js and worker.js, gzip (bytes)',
  embed_personal_gzip_bytes: 'personal.js gzip, loaded by the embed only with on-device history or on the first heart (bytes)',
  // What the page runs at 40k (issue #11): the codes scan (no index), its
  // best 200 re-scored by the vector file fetched after the first results.
  search_wasm_p50_ms_40k: 'full catalogue: the page\'s search as it runs it once the vector file is in (codes scanned exhaustively, the best 200 re-scored by the stored vectors; no index), js/wasm, p50 (ms; target ≤ 3)',
  search_wasm_section_p50_ms_40k: 'full catalogue: the same within the query product\'s section, js/wasm, p50 (ms)',
  search_native_p50_ms_40k: 'full catalogue: the page\'s search natively, p50 (ms)',
  recall_at_10_40k: 'full catalogue: the page\'s top-10 (codes scan, best 200 re-scored by the vector file it fetches after its first results) vs exact float cosine over the stored vectors, js/wasm (recall; issue #11 target ≥ 0.95)',
  recall_at_10_section_40k: 'full catalogue: the same within the section (recall)',
  recall_at_10_native_40k: 'full catalogue: the same natively (recall; the same code as js/wasm)',
  search_wasm_first_p50_ms_40k: 'full catalogue: the page\'s first search (codes alone: the vector file is not in yet), js/wasm, p50 (ms)',
  recall_at_10_first_40k: 'full catalogue: the first search\'s top-10 (codes alone) vs exact float cosine, js/wasm (recall; near-duplicates score within the codes\' error of each other)',
  recall_at_10_section_first_40k: 'full catalogue: the same within the section (recall)',
  recall_at_10_native_rerank999_40k: 'full catalogue: the codes\' best 999 re-ranked by exact cosine of the stored vectors, natively (recall; the page re-scores its best 200)',
  // Issue #16: a SYNTHETIC million (builder synth: 40,142 real products × 25, docs/scale.md).
  builder_synth_seconds_1m: 'SYNTHETIC 1M: builder synth from the 40k build\'s stored vectors, wall time reported by the builder (s)',
  builder_synth_peak_rss_mb_1m: 'SYNTHETIC 1M: builder synth peak RSS, /usr/bin/time -v (MB; target ≤ 8,000)',
  search_wasm_p50_ms_1m: 'SYNTHETIC 1M: the page\'s search once the vector file is on disk (codes scan, the best 2,560 (search.StoredPool) re-scored from records read back one by one, synchronously, as the page reads its private file), js/wasm, p50 (ms; target ≤ 30)',
  search_wasm_first_p50_ms_1m: 'SYNTHETIC 1M: the page\'s first search (codes scan alone), js/wasm, p50 (ms)',
  recall_at_10_first_1m: 'SYNTHETIC 1M: the first search\'s top-10 (codes alone) vs exact float cosine, js/wasm (recall)',
  search_stored_1m: 'SYNTHETIC 1M: the vector file was kept on disk (past LATER_MAX_BYTES) and the searches without _first re-scored from it',
  page_later_bytes_1m: 'SYNTHETIC 1M: what the page fetches after its first results: the vector file, into the private file system (bytes on the wire)',
  drop_to_results_stored_ms_1m: 'SYNTHETIC 1M, Chromium: photo in → results shown once the vector file is in the private file system (ms, median of 5)',
  page_stored_after_ms_1m: 'SYNTHETIC 1M, Chromium: from the last of the first drops until the vector file is stored and attached, unthrottled loopback (ms)',
  search_wasm_section_p50_ms_1m: 'SYNTHETIC 1M: the same within the query product\'s section (a section tab), js/wasm, p50 (ms; target ≤ 30)',
  search_native_p50_ms_1m: 'SYNTHETIC 1M: the page\'s search natively, p50 (ms)',
  search_native_section_p50_ms_1m: 'SYNTHETIC 1M: the same within the section, natively, p50 (ms)',
  recall_at_10_1m: 'SYNTHETIC 1M: the page\'s top-10 vs exact float cosine over the stored vectors, js/wasm (recall; target ≥ 0.95)',
  recall_at_10_section_1m: 'SYNTHETIC 1M: the same within the section (recall; target ≥ 0.95)',
  recall_at_10_native_1m: 'SYNTHETIC 1M: the same natively (recall; the same code as js/wasm)',
  recall_at_10_section_native_1m: 'SYNTHETIC 1M: the same within the section, natively (recall)',
  page_download_bytes_1m: 'SYNTHETIC 1M: bytes on the wire the page fetches before its first search, by static/asset-plan.js, model and engine included (target ≤ 40 MB; the copies\' display data repeats the original\'s, so the catalogue compresses far better than a real one would: docs/scale.md)',
  page_download_raw_bytes_1m: 'SYNTHETIC 1M: the same files, decoded (bytes)',
  chromium_page_renderer_peak_mb_1m: 'SYNTHETIC 1M, Chromium: peak PSS of the renderer holding the page, engine worker and service worker (MB; target ≤ 700)',
  chromium_renderer_peak_mb_1m: 'SYNTHETIC 1M, Chromium: peak PSS of all renderer processes (MB)',
  chromium_peak_mb_1m: 'SYNTHETIC 1M, Chromium: peak PSS of all Chromium processes (MB)',
  page_ready_cold_ms_1m: 'SYNTHETIC 1M, Chromium: navigation → engine ready, first visit, unthrottled loopback (ms)',
  drop_to_results_ms_1m: 'SYNTHETIC 1M, Chromium: photo in → results shown (ms, median)',
};

// Metrics no bench writes any more: dropped from bench.json when merging
// (a figure measured by code that is gone would mislead).
const RETIRED = [
  'edge_similar_uncached_p50_ms', 'edge_similar_uncached_p99_ms', 'edge_similar_uncached_cpu_ms', // one Go instance per request (before the instance was kept)
  'page_download_bytes', // the tree-index page's download (before codes): page_download_bytes_40k
];

// Ours against the peers. kind "time": ratio = ours / peer (< 1: we are
// faster). kind "rate": ratio = ours / peer (> 1: we are faster). kind
// "size": ratio = ours / peer (< 1: we use less).
const RATIOS = [
  { ours: 'embed_wasm_ms', peer: 'ortweb_1t_ms', kind: 'time', what: 'browser engine vs onnxruntime-web, 1 thread', goal: '≤ 0.6' },
  { ours: 'embed_wasm_ms', peer: 'ortweb_mt_ms', kind: 'time', what: 'browser engine vs onnxruntime-web, all cores' },
  { ours: 'embed_wasm_mt_ms', peer: 'ortweb_mt_ms', kind: 'time', what: 'browser engine with its GEMM pool vs onnxruntime-web, all cores', goal: '≤ 1.0' },
  { ours: 'embed_wasm_cpu_ms', peer: 'ortweb_1t_cpu_ms', kind: 'time', what: 'browser engine vs onnxruntime-web 1 thread, CPU time' },
  { ours: 'embed_native_ms', peer: 'ortnode_ms', kind: 'time', what: 'native engine vs ONNX Runtime native', goal: '≤ 1.0' },
  { ours: 'build_items_per_s', peer: 'ortnode_items_per_s', kind: 'rate', what: 'catalogue build throughput (read+decode+embed) vs ORT native + sharp', goal: '≥ 1.0' },
  { ours: 'embed_wasm_ms', peer: 'embed_wasm_fp32_ms', kind: 'time', what: 'browser engine: int8 vs float32 activations' },
  { ours: 'embed_native_ms', peer: 'embed_native_fp32_ms', kind: 'time', what: 'native engine: int8 vs float32 activations' },
  { ours: 'embed_chromium_ms', peer: 'ortweb_chromium_1t_ms', kind: 'time', what: 'in Chromium: our engine vs onnxruntime-web 1 thread' },
  { ours: 'embed_chromium_cpu_ms', peer: 'ortweb_chromium_1t_cpu_ms', kind: 'time', what: 'in Chromium, CPU time: our engine vs onnxruntime-web 1 thread' },
  { ours: 'embed_wasm_cpu_ms', peer: 'ortweb_1t_cpu_ms', kind: 'time', what: 'Node, CPU time: our wasm engine vs onnxruntime-web 1 thread' },
  { ours: 'wasm_peak_mb', peer: 'ortweb_1t_peak_mb', kind: 'size', what: 'peak memory vs onnxruntime-web process RSS' },
  { ours: 'model_load_ms', peer: 'ortweb_1t_load_ms', kind: 'time', what: 'model load vs onnxruntime-web session create' },
];

function unit(key) {
  key = key.replace(/_(40k|3k|1m|80k|native)$/, '').replace(/_20mbit$/, '');
  if (key.endsWith('_bytes')) return 'B';
  if (key.endsWith('_ms')) return 'ms';
  if (key.endsWith('_mb')) return 'MB';
  if (key.endsWith('_per_s')) return '/s';
  if (key.endsWith('_s')) return 's';
  return '';
}

function readPieces(file) {
  const text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v : [v];
  } catch {
    return text.split('\n').filter((l) => l.trim()).map((l, i) => {
      try { return JSON.parse(l); } catch (e) { throw new Error(`collect: ${file}:${i + 1}: ${e.message}`); }
    });
  }
}

const bench = fs.existsSync(opts.json) ? JSON.parse(fs.readFileSync(opts.json, 'utf8')) : {};
bench._details ??= {};
for (const k of RETIRED) {
  delete bench[k];
  delete bench._details[k];
}
let added = 0;
for (const f of rest) {
  for (const piece of readPieces(f)) {
    const meta = { command: piece.command, date: piece.date ?? new Date().toISOString(), machine: piece.machine, detail: piece.detail };
    if (/(^|\s)\/(?!\.\.)[^\s]*/.test(piece.command ?? '')) {
      process.stderr.write(`collect: warning: ${f}: command has an absolute path; prefer paths relative to the repository root: ${piece.command}\n`);
    }
    for (const [k, v] of Object.entries(piece)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || RETIRED.includes(k)) continue;
      bench[k] = v;
      bench._details[k] = meta;
      added++;
    }
  }
}
const metrics = Object.keys(bench).filter((k) => !k.startsWith('_'));
const ordered = [...Object.keys(KNOWN).filter((k) => metrics.includes(k)), ...metrics.filter((k) => !(k in KNOWN)).sort()];
const out = { _about: 'Lookalike benchmark figures; generated by e2e/bench/collect.mjs, see docs/bench.md' };
for (const k of ordered) out[k] = bench[k];
out._details = Object.fromEntries(ordered.map((k) => [k, bench._details[k]]));
fs.mkdirSync(path.dirname(opts.json), { recursive: true });
fs.writeFileSync(opts.json, JSON.stringify(out, null, 1) + '\n');

// --- bench.md ---
const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
const md = [];
md.push('# Benchmarks', '');
md.push('Generated by `node e2e/bench/collect.mjs` from `docs/bench.json`; do not edit by hand.');
md.push('Every figure is set against a peer measured on the same machine (see DESIGN.md: report the ratio, never a lone absolute time).', '');
md.push('## Ours against the peers', '');
md.push('| comparison | ours | peer | ratio | reading | goal |', '|---|---|---|---|---|---|');
for (const r of RATIOS) {
  const a = out[r.ours], b = out[r.peer];
  const cell = (k, v) => (v === undefined ? `${k}: not measured yet` : `${k} = ${fmt(v)} ${unit(k)}`);
  let ratio = '—', reading = '';
  if (a !== undefined && b !== undefined && b !== 0) {
    const q = a / b;
    ratio = `${q.toFixed(2)}×`;
    const better = r.kind === 'rate' ? q > 1 : q < 1;
    const x = (v) => `${v.toFixed(2)}×`;
    if (r.kind === 'rate') reading = better ? `${x(q)} faster` : `${x(1 / q)} slower`;
    else if (r.kind === 'size') reading = better ? `${x(1 / q)} less` : `${x(q)} more`;
    else reading = better ? `${x(1 / q)} faster` : `${x(q)} slower`;
  }
  md.push(`| ${r.what} | ${cell(r.ours, a)} | ${cell(r.peer, b)} | ${ratio} | ${reading} | ${r.goal ?? ''} |`);
}
// Issue #11's figures in one table, with the link they were measured on.
const fv = (k) => (out[k] === undefined ? 'not measured' : fmt(out[k]));
if (out.first_results_ms_20mbit_3k !== undefined || out.first_results_ms_20mbit_40k !== undefined) {
  const link = out._details.first_results_ms_20mbit_3k?.detail?.link ?? out._details.first_results_ms_20mbit_40k?.detail?.link ?? '';
  md.push('', '## A first-time shopper on a slow link', '', `Link: ${link}.`, '',
    '| catalogue | bytes before the first results | first results | model response ended | next visit: results | next visit: bytes |',
    '|---|---|---|---|---|---|',
    `| 3k (goal) | ${fv('first_visit_bytes_3k')} B (≤ 13 MB) | ${fv('first_results_ms_20mbit_3k')} ms (≤ 6,000) | ${fv('model_response_end_ms_20mbit_3k')} ms | ${fv('repeat_results_ms_20mbit_3k')} ms (≤ 1,500) | ${fv('repeat_visit_bytes_3k')} B |`,
    `| 40k (goal) | ${fv('first_visit_bytes_40k')} B (≤ 15 MB) | ${fv('first_results_ms_20mbit_40k')} ms (≤ 8,000) | ${fv('model_response_end_ms_20mbit_40k')} ms | ${fv('repeat_results_ms_20mbit_40k')} ms (≤ 1,500) | ${fv('repeat_visit_bytes_40k')} B |`);
}
// Issue #16's figures at a million products: SYNTHETIC (builder synth, docs/scale.md).
if (Object.keys(out).some((k) => k.endsWith('_1m'))) {
  const row = (what, k, goal, ok) => `| ${what} | \`${k}\` | ${fv(k)} | ${goal} | ${out[k] === undefined ? 'not measured' : ok(out[k]) ? 'met' : 'not met'} |`;
  md.push('', '## A million products — SYNTHETIC', '',
    'Measured on `builder synth` output: the 40,142 real products plus 24 seeded noisy copies of each (1,003,550), not on a million real products; how it is made and what that means for each figure: [scale.md](scale.md).', '',
    '| figure | metric | value | goal | |', '|---|---|---|---|---|',
    row('builder synth, peak RSS (MB)', 'builder_synth_peak_rss_mb_1m', '≤ 8,000', (v) => v <= 8000),
    row('builder synth, wall time (s)', 'builder_synth_seconds_1m', 'reported', () => true),
    row('page search, js/wasm, p50 (ms)', 'search_wasm_p50_ms_1m', '≤ 30', (v) => v <= 30),
    row('page search in a section, js/wasm, p50 (ms)', 'search_wasm_section_p50_ms_1m', '≤ 30', (v) => v <= 30),
    row('recall@10 vs exact float search', 'recall_at_10_1m', '≥ 0.95', (v) => v >= 0.95),
    row('recall@10 in a section', 'recall_at_10_section_1m', '≥ 0.95', (v) => v >= 0.95),
    row('recall@10 of the first search (codes alone, before the vector file is stored)', 'recall_at_10_first_1m', 'reported', () => true),
    row('page download after the first results: the vector file, to disk (B)', 'page_later_bytes_1m', 'reported', () => true),
    row('page download before the first search (B)', 'page_download_bytes_1m', '≤ 40 MB', (v) => v <= 40e6),
    row('Chromium page renderer peak (MB)', 'chromium_page_renderer_peak_mb_1m', '≤ 700', (v) => v <= 700));
}
md.push('', '## All figures', '');
md.push('The load column is the 1-minute load average when the figure was taken; above the',
  'number of cores the machine was busy with other work and wall times are inflated (the',
  '`*_cpu_ms` figures suffer less).', '');
md.push('| metric | value | unit | what | measured | load |', '|---|---|---|---|---|---|');
for (const k of ordered) {
  const d = out._details[k] ?? {};
  const load = d.detail?.loadavg_1m;
  const cores = d.machine?.cores;
  const loadCell = load === undefined ? '' : `${load}${cores && load > cores ? ' (busy)' : ''}`;
  md.push(`| \`${k}\` | ${fmt(out[k])} | ${unit(k)} | ${KNOWN[k] ?? ''} | ${(d.date ?? '').slice(0, 10)} | ${loadCell} |`);
}
if (ordered.length === 0) md.push('| — | | | nothing measured yet | | |');
md.push('', '## Commands', '', 'Run from the repository root after `npm ci --ignore-scripts`; each prints one JSON piece, then', '`node e2e/bench/collect.mjs piece1.json piece2.json …` merges them here.', '');
const cmds = new Map();
for (const k of ordered) {
  const c = out._details[k]?.command;
  if (!c) continue;
  if (!cmds.has(c)) cmds.set(c, []);
  cmds.get(c).push(k);
}
if (cmds.size) {
  md.push('```sh');
  for (const [c, ks] of cmds) md.push(`# ${ks.join(', ')}`, c);
  md.push('```');
} else {
  md.push('```sh',
    'go run ./builder model --out .cache/model-out --fp32   # the ONNX files (make model)',
    '# every peer on the int8 file, pieces kept in .cache/bench/, then merged here:',
    'node e2e/bench/peers.mjs --model .cache/model-out/resnet50-int8.onnx --images ../shared/fashion/images --n 2000',
    '# or one at a time:',
    'node e2e/bench/ortweb.mjs --model .cache/model-out/resnet50-int8.onnx --threads 1 --runs 7 > ortweb_1t.json',
    'node e2e/bench/ortweb.mjs --model .cache/model-out/resnet50-int8.onnx --threads 0 --runs 7 > ortweb_mt.json',
    'node e2e/bench/ortnode.mjs --model .cache/model-out/resnet50-int8.onnx > ortnode.json',
    'node e2e/bench/ortnode_throughput.mjs --model .cache/model-out/resnet50-int8.onnx --images ../shared/fashion/images --n 2000 > ortnode_tp.json',
    'node e2e/bench/collect.mjs ortweb_1t.json ortweb_mt.json ortnode.json ortnode_tp.json ours.json',
    '```');
}
const machines = new Set(ordered.map((k) => JSON.stringify(out._details[k]?.machine ?? null)).filter((m) => m !== 'null'));
if (machines.size) {
  md.push('', '## Machines', '');
  for (const m of machines) {
    const o = JSON.parse(m);
    md.push(`- ${o.cpu ?? '?'}, ${o.cores ?? '?'} cores, ${o.os ?? ''}, Node ${o.node ?? '?'}`);
  }
}
fs.writeFileSync(opts.md, md.join('\n') + '\n');
process.stderr.write(`collect: ${added} metric(s) merged; ${ordered.length} in ${path.relative(root, opts.json)}, table in ${path.relative(root, opts.md)}\n`);
