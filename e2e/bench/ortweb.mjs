#!/usr/bin/env node
// Peer benchmark: onnxruntime-web, wasm backend (SIMD), in Node, batch 1.
// Prints one JSON object: {ortweb_1t_ms | ortweb_mt_ms, ortweb_*_cpu_ms (CPU
// time per image, all threads), ortweb_*_load_ms, ortweb_*_peak_mb, command, machine, detail}.
//
//   node e2e/bench/ortweb.mjs --model FILE [--threads 1|N] [--runs 7] [--warmup 2] [--input F]
//
// --threads 0 means one per core. Multi-threading in Node works: the wasm
// build uses worker_threads for its pthread pool (the process exits
// explicitly afterwards, since the pool keeps it alive).
import fs from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-web';
import { parseArgs, fail, now } from '../ref/common.mjs';
import { inputBatch, timeRuns, summary, report, round, peakRssMb } from './bench_common.mjs';

const USAGE = 'usage: node e2e/bench/ortweb.mjs --model FILE [--threads 1|N|0] [--runs 7] [--warmup 2] [--input F]';
const { opts } = parseArgs(process.argv.slice(2), { model: '', threads: 1, runs: 7, warmup: 2, input: '' }, USAGE);
if (!opts.model) fail(USAGE);
if (opts.runs < 5) fail('--runs must be at least 5');
const threads = opts.threads > 0 ? opts.threads : os.cpus().length;

ort.env.wasm.numThreads = threads;
ort.env.logLevel = 'error';
const t0 = now();
const session = await ort.InferenceSession.create(new Uint8Array(fs.readFileSync(opts.model)),
  { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
const loadMs = now() - t0;
const x = new ort.Tensor('float32', await inputBatch(opts.input, 1), [1, 3, 224, 224]);
const outName = session.outputNames.includes('gap') ? ['gap'] : [session.outputNames[0]];
const ms = await timeRuns(() => session.run({ [session.inputNames[0]]: x }, outName), opts.warmup, opts.runs);
const s = summary(ms);
const tag = threads === 1 ? '1t' : 'mt';
const cpuMs = round(ms.cpuMs / opts.runs);
report({ [`ortweb_${tag}_ms`]: s.median, [`ortweb_${tag}_cpu_ms`]: cpuMs, [`ortweb_${tag}_load_ms`]: round(loadMs, 0), [`ortweb_${tag}_peak_mb`]: peakRssMb() }, {
  runtime: `onnxruntime-web ${ort.env.versions.web} wasm SIMD`, threads, batch: 1, warmup: opts.warmup, cpu_cores_busy: ms.cores,
  model: opts.model.split('/').pop(), model_bytes: fs.statSync(opts.model).size, ms_per_image: s, all_ms: ms.map((v) => round(v)),
  peak_mb_note: 'process max RSS (Node + wasm heap)',
});
process.exit(0);
