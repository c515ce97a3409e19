// Unit tests for the reference helpers (fast; no model needed):
//   node --test e2e/ref/
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import {
  readTgz, readTensorFile, rgbToCaffe, chwToHwc, cosine, argmax, median, parseArgs, CHW, SIZE, MEAN_BGR,
} from './common.mjs';

function tarEntry(name, body, type = '0') {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'latin1');
  h.write('0000644\0', 100);
  h.write(body.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write(type, 156);
  h.write('ustar\0', 257);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([h, body, pad]);
}

test('readTgz reads regular files, GNU long names, and filters', () => {
  const long = 'package/' + 'x'.repeat(120) + '.bin';
  const tar = Buffer.concat([
    tarEntry('package/a.json', Buffer.from('{"a":1}')),
    tarEntry('././@LongLink', Buffer.from(long + '\0'), 'L'),
    tarEntry(long.slice(0, 100), Buffer.from([1, 2, 3])),
    tarEntry('package/dir/', Buffer.alloc(0), '5'),
    tarEntry('other/b.txt', Buffer.from('b'.repeat(700))),
    Buffer.alloc(1024),
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ref-test-'));
  const f = path.join(dir, 't.tgz');
  fs.writeFileSync(f, zlib.gzipSync(tar));
  const all = readTgz(f);
  assert.deepEqual([...all.keys()], ['package/a.json', long, 'other/b.txt']);
  assert.equal(all.get('package/a.json').toString(), '{"a":1}');
  assert.deepEqual([...all.get(long)], [1, 2, 3]);
  assert.equal(all.get('other/b.txt').length, 700);
  const some = readTgz(f, (n) => n.startsWith('package/'));
  assert.deepEqual([...some.keys()], ['package/a.json', long]);
});

test('readTensorFile splits K images and rejects bad sizes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ref-test-'));
  const x = new Float32Array(2 * CHW).map((_, i) => i % 997);
  const f = path.join(dir, 'x.f32');
  fs.writeFileSync(f, Buffer.from(x.buffer));
  const imgs = readTensorFile(f);
  assert.equal(imgs.length, 2);
  assert.equal(imgs[1][0], CHW % 997);
  assert.equal(imgs[1][CHW - 1], (2 * CHW - 1) % 997);
  const bad = path.join(dir, 'bad.f32');
  fs.writeFileSync(bad, Buffer.alloc(CHW * 4 + 4));
  assert.throws(() => readTensorFile(bad), /not a multiple/);
  fs.writeFileSync(bad, Buffer.alloc(0));
  assert.throws(() => readTensorFile(bad), /not a multiple/);
});

test('rgbToCaffe: BGR planes minus the caffe means; chwToHwc undoes the layout', () => {
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  const px = 5 * SIZE + 7; // pixel (x=7, y=5)
  rgb[3 * px] = 200; rgb[3 * px + 1] = 100; rgb[3 * px + 2] = 50;
  const chw = rgbToCaffe(rgb);
  const hw = SIZE * SIZE;
  assert.ok(Math.abs(chw[px] - (50 - MEAN_BGR[0])) < 1e-4, 'channel 0 is blue');
  assert.ok(Math.abs(chw[hw + px] - (100 - MEAN_BGR[1])) < 1e-4, 'channel 1 is green');
  assert.ok(Math.abs(chw[2 * hw + px] - (200 - MEAN_BGR[2])) < 1e-4, 'channel 2 is red');
  assert.ok(Math.abs(chw[0] + MEAN_BGR[0]) < 1e-4);
  const hwc = chwToHwc(chw);
  for (let c = 0; c < 3; c++) assert.equal(hwc[3 * px + c], chw[c * hw + px]);
});

test('maths helpers', () => {
  assert.ok(Math.abs(cosine([1, 0], [1, 0]) - 1) < 1e-12);
  assert.ok(Math.abs(cosine([1, 0], [0, 2])) < 1e-12);
  assert.ok(Math.abs(cosine([1, 2, 3], [-1, -2, -3]) + 1) < 1e-12);
  assert.throws(() => cosine([1], [1, 2]), /length/);
  assert.equal(argmax([0.1, 0.7, 0.2]), 1);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test('parseArgs: values, =values, flags, numbers, positionals', () => {
  const { opts, rest } = parseArgs(['--model', 'm.onnx', '--threads=2', '--no-gap', 'a.f32', 'b.f32'],
    { model: '', threads: 1, 'no-gap': false }, 'usage');
  assert.deepEqual(opts, { model: 'm.onnx', threads: 2, 'no-gap': true });
  assert.deepEqual(rest, ['a.f32', 'b.f32']);
});

test('compare.mjs fails below the threshold and passes above it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ref-test-'));
  const a = path.join(dir, 'a.jsonl');
  const b = path.join(dir, 'b.jsonl');
  fs.writeFileSync(a, JSON.stringify({ file: 'x/1.jpg', index: 0, gap: [1, 2, 3], top1: 4 }) + '\n');
  fs.writeFileSync(b, JSON.stringify({ file: 'y/1.jpg', index: 0, gap: [1, 2, 3.3], top1: 4 }) + '\n');
  const script = new URL('./compare.mjs', import.meta.url).pathname;
  const strict = spawnSync(process.execPath, [script, a, b], { encoding: 'utf8' });
  assert.equal(strict.status, 1, strict.stdout + strict.stderr);
  const loose = spawnSync(process.execPath, [script, '--min-cos', '0.99', a, b], { encoding: 'utf8' });
  assert.equal(loose.status, 0, loose.stdout + loose.stderr);
  const summary = JSON.parse(loose.stdout.trim().split('\n').pop());
  assert.equal(summary.pairs, 1);
  assert.equal(summary.top1Agree, '1/1');
  fs.writeFileSync(b, '');
  const missing = spawnSync(process.execPath, [script, '--min-cos', '0.5', a, b], { encoding: 'utf8' });
  assert.equal(missing.status, 1, 'a pair missing from B fails');
});
