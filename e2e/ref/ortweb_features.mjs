#!/usr/bin/env node
// Same as ort_features.mjs, but with onnxruntime-web's wasm backend (SIMD)
// inside Node: the runtime a browser peer would use.
//
//   node e2e/ref/ortweb_features.mjs --model FILE [--threads 1] [--no-gap] INPUT…
import * as ort from 'onnxruntime-web';
import { parseArgs, fail } from './common.mjs';
import { runFeatures } from './ort_common.mjs';

const USAGE = 'usage: node e2e/ref/ortweb_features.mjs --model FILE [--threads 1] [--no-gap] INPUT...';
const { opts, rest } = parseArgs(process.argv.slice(2), { model: '', threads: 1, 'no-gap': false }, USAGE);
if (!opts.model || rest.length === 0) fail(USAGE);
ort.env.wasm.numThreads = opts.threads;
ort.env.wasm.simd = true; // SIMD is the only build shipped since 1.19; kept for clarity
ort.env.logLevel = 'error';
runFeatures(ort, `onnxruntime-web ${ort.env.versions.web} wasm threads=${opts.threads}`, opts, rest,
  { executionProviders: ['wasm'], graphOptimizationLevel: 'all' })
  .then(() => process.exit(0)) // worker threads (numThreads > 1) keep the process alive
  .catch((e) => { process.stderr.write(`error: ${e.stack || e}\n`); process.exit(1); });
