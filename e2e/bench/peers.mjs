#!/usr/bin/env node
// Runs every peer benchmark one after the other (each in its own process),
// saves the pieces under --pieces, then merges them into docs/bench.{json,md}
// with collect.mjs. Our own engine's pieces (embed_*_ms, …) can be passed
// with --with to be merged in the same step, so ratios come from one run.
//
//   node e2e/bench/peers.mjs [--model .cache/model-out/resnet50-int8.onnx]
//        [--images ../shared/fashion/images] [--n 2000] [--runs 7]
//        [--pieces .cache/bench] [--with ours1.json,ours2.json] [--no-collect]
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs, repoRoot, sharedDir } from '../ref/common.mjs';

const root = repoRoot();
const USAGE = 'usage: node e2e/bench/peers.mjs [--model F] [--images DIR] [--n 2000] [--runs 7] [--pieces DIR] [--with a.json,b.json] [--no-collect]';
const { opts } = parseArgs(process.argv.slice(2), {
  model: path.join('.cache', 'model-out', 'resnet50-int8.onnx'),
  images: path.join(path.relative(root, sharedDir()), 'fashion', 'images'),
  n: 2000, runs: 7, pieces: path.join('.cache', 'bench'), with: '', 'no-collect': false,
}, USAGE);

const jobs = [
  ['ortweb_1t', ['e2e/bench/ortweb.mjs', '--model', opts.model, '--threads', '1', '--runs', String(opts.runs)]],
  ['ortweb_mt', ['e2e/bench/ortweb.mjs', '--model', opts.model, '--threads', '0', '--runs', String(opts.runs)]],
  ['ortnode', ['e2e/bench/ortnode.mjs', '--model', opts.model, '--runs', String(opts.runs)]],
  ['ortnode_b16', ['e2e/bench/ortnode.mjs', '--model', opts.model, '--batch', '16', '--runs', '5', '--warmup', '1']],
  ['ortnode_tp', ['e2e/bench/ortnode_throughput.mjs', '--model', opts.model, '--images', opts.images, '--n', String(opts.n)]],
];
fs.mkdirSync(path.resolve(root, opts.pieces), { recursive: true });
const pieces = [];
for (const [name, args] of jobs) {
  process.stderr.write(`peers: ${name}: node ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    process.stderr.write(`peers: ${name} failed (exit ${r.status}); the other pieces are kept\n`);
    continue;
  }
  const f = path.join(opts.pieces, `${name}.json`);
  fs.writeFileSync(path.resolve(root, f), r.stdout);
  pieces.push(f);
  const p = JSON.parse(r.stdout);
  process.stderr.write(`peers: ${name}: ${Object.entries(p).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
}
if (!opts['no-collect']) {
  const extra = opts.with ? opts.with.split(',').filter(Boolean) : [];
  const r = spawnSync(process.execPath, ['e2e/bench/collect.mjs', ...pieces, ...extra], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
