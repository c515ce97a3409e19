#!/usr/bin/env node
// Compares reference outputs.
//
//   node e2e/ref/compare.mjs [--key gap] [--min-cos 0.9999] A.jsonl B.jsonl
//     matches lines of two feature files by (file basename, index) and prints
//     one JSON line per pair {file, index, cos, maxAbs, top1A, top1B}, then a
//     summary line; exits 1 when any cosine is below --min-cos or a pair is
//     missing. --by-order pairs the n-th line of A with the n-th of B instead
//     (e.g. one multi-image .f32 against the image files it was made from).
//   node e2e/ref/compare.mjs --tensors A.f32 B.f32
//     compares two raw float32 files (e.g. --dump outputs of tfjs_features.mjs
//     against the same tensor from our engine): cosine, max |a-b|, max |a|.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs, fail, cosine } from './common.mjs';

const USAGE = 'usage: node e2e/ref/compare.mjs [--key gap] [--by-order] [--min-cos 0.9999] A.jsonl B.jsonl | --tensors A.f32 B.f32';
const { opts, rest } = parseArgs(process.argv.slice(2), { key: 'gap', 'min-cos': 0.9999, tensors: false, 'by-order': false }, USAGE);
if (rest.length !== 2) fail(USAGE);

function stats(a, b) {
  let maxAbs = 0, maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(a[i]));
  }
  return { cos: cosine(a, b), maxAbs, maxRef };
}

if (opts.tensors) {
  const [a, b] = rest.map((f) => {
    const buf = fs.readFileSync(f);
    return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  });
  if (a.length !== b.length) fail(`${rest[0]} has ${a.length} floats, ${rest[1]} has ${b.length}`);
  process.stdout.write(JSON.stringify({ a: rest[0], b: rest[1], n: a.length, ...stats(a, b) }) + '\n');
  process.exit(0);
}

function readLines(f) {
  const m = new Map();
  let i = 0;
  for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    m.set(opts['by-order'] ? `#${i++}` : `${path.basename(r.file)}#${r.index ?? 0}`, r);
  }
  return m;
}
const [A, B] = rest.map(readLines);
let bad = 0, minCos = 1, n = 0, agree = 0, withTop1 = 0;
for (const [k, a] of A) {
  const b = B.get(k);
  if (!b) { process.stdout.write(JSON.stringify({ key: k, error: `missing in ${rest[1]}` }) + '\n'); bad++; continue; }
  const va = a[opts.key], vb = b[opts.key];
  if (!va || !vb) fail(`${k}: no "${opts.key}" in both files`);
  if (va.length !== vb.length) fail(`${k}: ${opts.key} lengths ${va.length} vs ${vb.length}`);
  const s = stats(va, vb);
  n++;
  minCos = Math.min(minCos, s.cos);
  if (s.cos < opts['min-cos']) bad++;
  if (a.top1 !== undefined && b.top1 !== undefined) { withTop1++; if (a.top1 === b.top1) agree++; }
  process.stdout.write(JSON.stringify({ file: a.file, index: a.index ?? 0, cos: s.cos, maxAbs: s.maxAbs, maxRef: s.maxRef, top1A: a.top1, top1B: b.top1 }) + '\n');
}
process.stdout.write(JSON.stringify({ summary: true, key: opts.key, pairs: n, minCos, threshold: opts['min-cos'], top1Agree: `${agree}/${withTop1}`, failures: bad }) + '\n');
process.exit(bad ? 1 : 0);
