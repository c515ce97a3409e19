#!/usr/bin/env node
// Peer benchmark: catalogue embedding throughput with ONNX Runtime native,
// END TO END: read JPEG → decode + stretch to 224x224 with sharp (libvips,
// prebuilt binary shipped in the @img/sharp-linux-x64 package) → caffe BGR CHW
// tensor → onnxruntime-node in batches. The next batch is decoded while the
// current one runs (what a good catalogue builder would do).
// Prints one JSON object: {ortnode_items_per_s, ortnode_decode_items_per_s,
// ortnode_infer_items_per_s, command, machine, detail}.
//
//   node e2e/bench/ortnode_throughput.mjs --model FILE --images DIR|@list [--n 2000] [--batch 16] [--threads 0]
import fs from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { parseArgs, fail, expandInputs, preprocessImage, now, CHW } from '../ref/common.mjs';
import { report, round } from './bench_common.mjs';

const USAGE = 'usage: node e2e/bench/ortnode_throughput.mjs --model FILE --images DIR|@list.txt [--n 2000] [--batch 16] [--threads 0=all]';
const { opts } = parseArgs(process.argv.slice(2), { model: '', images: '', n: 2000, batch: 16, threads: 0 }, USAGE);
if (!opts.model || !opts.images) fail(USAGE);
const threads = opts.threads > 0 ? opts.threads : os.cpus().length;
const files = expandInputs([opts.images], ['.jpg', '.jpeg', '.png', '.webp']).slice(0, opts.n);
if (files.length === 0) fail(`no images in ${opts.images}`);
const B = opts.batch;

const session = await ort.InferenceSession.create(new Uint8Array(fs.readFileSync(opts.model)),
  { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads });
const inName = session.inputNames[0];
const outName = session.outputNames.includes('gap') ? ['gap'] : [session.outputNames[0]];

async function decodeBatch(list) {
  const buf = new Float32Array(list.length * CHW);
  const ts = await Promise.all(list.map((f) => preprocessImage(f)));
  ts.forEach((t, i) => buf.set(t, i * CHW));
  return buf;
}

// Warm-up (not timed): one batch through both stages.
await session.run({ [inName]: new ort.Tensor('float32', await decodeBatch(files.slice(0, B)), [Math.min(B, files.length), 3, 224, 224]) }, outName);

let decodeMs = 0, inferMs = 0, dims = 0;
const t0 = now();
let next = decodeBatch(files.slice(0, B));
for (let i = 0; i < files.length; i += B) {
  const td = now();
  const cur = await next;
  decodeMs += now() - td; // time spent waiting for decode (not hidden by overlap)
  const n = Math.min(B, files.length - i);
  if (i + B < files.length) next = decodeBatch(files.slice(i + B, i + 2 * B));
  const ti = now();
  const out = await session.run({ [inName]: new ort.Tensor('float32', cur, [n, 3, 224, 224]) }, outName);
  inferMs += now() - ti;
  dims = out[outName[0]].dims[1];
  if ((i / B) % 20 === 0) process.stderr.write(`\r${i + n}/${files.length}`);
}
const totalMs = now() - t0;
process.stderr.write(`\r${files.length}/${files.length}\n`);

// Decode-only rate, separately, on up to 500 images.
const sample = files.slice(0, Math.min(500, files.length));
const tdec = now();
for (let i = 0; i < sample.length; i += B) await decodeBatch(sample.slice(i, i + B));
const decodeOnly = sample.length / ((now() - tdec) / 1000);

report({
  ortnode_items_per_s: round(files.length / (totalMs / 1000), 2),
  ortnode_decode_items_per_s: round(decodeOnly, 0),
  ortnode_infer_items_per_s: round(files.length / (inferMs / 1000), 2),
}, {
  runtime: `onnxruntime-node ${ort.env.versions.node} CPU EP + sharp ${(await import('sharp')).default.versions.sharp}`,
  threads, batch: B, images: files.length, output: outName[0], output_dim: dims,
  total_s: round(totalMs / 1000, 2), waited_for_decode_s: round(decodeMs / 1000, 2), inference_s: round(inferMs / 1000, 2),
  preprocess: 'sharp: decode, stretch to 224x224 (fit fill), BGR minus caffe mean',
  model: opts.model.split('/').pop(),
});
