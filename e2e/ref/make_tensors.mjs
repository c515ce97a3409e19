#!/usr/bin/env node
// Writes the .f32 input-tensor format (see common.mjs) from image files using
// sharp (stretch to 224x224, caffe BGR). For tests and benchmarks that run
// before, or independently of, the Go preprocessing; the network comparison
// proper should use tensors written by the Go code.
//
//   node e2e/ref/make_tensors.mjs --out FILE.f32 INPUT…   (one file, K images)
import fs from 'node:fs';
import { parseArgs, fail, expandInputs, preprocessImage } from './common.mjs';

const USAGE = 'usage: node e2e/ref/make_tensors.mjs --out FILE.f32 IMAGE|DIR|@list...';
const { opts, rest } = parseArgs(process.argv.slice(2), { out: '' }, USAGE);
if (!opts.out || rest.length === 0) fail(USAGE);
const files = expandInputs(rest, ['.jpg', '.jpeg', '.png', '.webp']);
const fd = fs.openSync(opts.out, 'w');
for (const f of files) {
  const t = await preprocessImage(f);
  fs.writeSync(fd, Buffer.from(t.buffer, t.byteOffset, t.byteLength));
}
fs.closeSync(fd);
process.stderr.write(`wrote ${files.length} images to ${opts.out}\n`);
