#!/usr/bin/env node
// Reference features from OUR ONNX file run by ONNX Runtime native
// (onnxruntime-node, CPU execution provider). Prints one JSON line per input:
//   {file, index, preprocess, gap: [2048], gmp: [2048], top1, top1prob, ms}
// (top1 only when the file has the fp32-only `probs` output).
//
//   node e2e/ref/ort_features.mjs --model FILE [--threads N] [--no-gap] INPUT…
//
// INPUT: .f32 tensor files (see common.mjs), image files (preprocessed with
// sharp), directories of those, or @list.txt. --threads 0 = ORT's default
// (all cores).
import * as ort from 'onnxruntime-node';
import { parseArgs, fail } from './common.mjs';
import { runFeatures } from './ort_common.mjs';

const USAGE = 'usage: node e2e/ref/ort_features.mjs --model FILE [--threads N] [--no-gap] INPUT...';
const { opts, rest } = parseArgs(process.argv.slice(2), { model: '', threads: 0, 'no-gap': false }, USAGE);
if (!opts.model || rest.length === 0) fail(USAGE);
const so = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
if (opts.threads > 0) so.intraOpNumThreads = opts.threads;
runFeatures(ort, `onnxruntime-node ${ort.env.versions.node} threads=${opts.threads || 'default'}`, opts, rest, so)
  .catch((e) => { process.stderr.write(`error: ${e.stack || e}\n`); process.exit(1); });
