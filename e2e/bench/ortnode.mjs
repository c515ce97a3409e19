#!/usr/bin/env node
// Peer benchmark: ONNX Runtime native (onnxruntime-node, CPU EP, all cores by
// default), inference only. Prints one JSON object: {ortnode_ms (batch 1) or
// ortnode_bB_ms (batch B), its _cpu_ms twin, ortnode_load_ms (batch 1 only), command, machine, detail}; ms are
// per image.
//
//   node e2e/bench/ortnode.mjs --model FILE [--batch 1] [--threads 0] [--runs 7] [--warmup 2] [--input F]
import fs from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { parseArgs, fail, now } from '../ref/common.mjs';
import { inputBatch, timeRuns, summary, report, round } from './bench_common.mjs';

const USAGE = 'usage: node e2e/bench/ortnode.mjs --model FILE [--batch B] [--threads 0=all] [--runs 7] [--warmup 2] [--input F]';
const { opts } = parseArgs(process.argv.slice(2), { model: '', batch: 1, threads: 0, runs: 7, warmup: 2, input: '' }, USAGE);
if (!opts.model) fail(USAGE);
if (opts.runs < 5) fail('--runs must be at least 5');
const threads = opts.threads > 0 ? opts.threads : os.cpus().length;
const t0 = now();
const session = await ort.InferenceSession.create(new Uint8Array(fs.readFileSync(opts.model)),
  { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads });
const loadMs = now() - t0;
const B = opts.batch;
const x = new ort.Tensor('float32', await inputBatch(opts.input, B), [B, 3, 224, 224]);
const outName = session.outputNames.includes('gap') ? ['gap'] : [session.outputNames[0]];
const ms = await timeRuns(() => session.run({ [session.inputNames[0]]: x }, outName), opts.warmup, opts.runs);
const s = summary(ms, B);
const key = B === 1 ? 'ortnode_ms' : `ortnode_b${B}_ms`;
const metrics = { [key]: s.median, [key.replace(/_ms$/, '_cpu_ms')]: round(ms.cpuMs / (opts.runs * B)) };
if (B === 1) metrics.ortnode_load_ms = round(loadMs, 0);
report(metrics, {
  load_ms: round(loadMs, 0),
  runtime: `onnxruntime-node ${ort.env.versions.node} CPU EP`, threads, batch: B, warmup: opts.warmup, cpu_cores_busy: ms.cores,
  model: opts.model.split('/').pop(), model_bytes: fs.statSync(opts.model).size, ms_per_image: s,
  all_ms_per_batch: ms.map((v) => round(v)),
});
