// The part of the ORT reference scripts shared by onnxruntime-node and
// onnxruntime-web (both expose the same InferenceSession/Tensor API).
import fs from 'node:fs';
import {
  fail, expandInputs, loadInputs, argmax, roundArr, now, median, CHW,
} from './common.mjs';

/** Opens a session and prints one JSON line per input: {file, index, gap, gmp, top1, top1prob, ms}. */
export async function runFeatures(ort, label, opts, inputs, sessionOptions) {
  if (!opts.model) fail('--model FILE is required');
  if (inputs.length === 0) fail('no inputs');
  const t0 = now();
  const session = await ort.InferenceSession.create(new Uint8Array(fs.readFileSync(opts.model)), sessionOptions);
  const loadMs = now() - t0;
  const want = ['gap', 'gmp', 'probs'].filter((n) => session.outputNames.includes(n));
  if (!want.includes('gap')) fail(`${opts.model}: no output named "gap" (outputs: ${session.outputNames.join(', ')})`);
  const inputName = session.inputNames[0];
  const items = await loadInputs(expandInputs(inputs));
  const times = [];
  for (const it of items) {
    const x = new ort.Tensor('float32', Float32Array.from(it.chw), [1, 3, 224, 224]);
    const t1 = now();
    const out = await session.run({ [inputName]: x }, want);
    const ms = now() - t1;
    times.push(ms);
    const rec = { file: it.file, index: it.index, preprocess: it.preprocess, ms: Math.round(ms) };
    if (out.probs) {
      const p = out.probs.data;
      rec.top1 = argmax(p);
      rec.top1prob = p[rec.top1];
    }
    if (!opts['no-gap']) {
      rec.gap = roundArr(out.gap.data);
      if (out.gmp) rec.gmp = roundArr(out.gmp.data);
    }
    process.stdout.write(JSON.stringify(rec) + '\n');
  }
  process.stderr.write(`${label} load=${Math.round(loadMs)}ms images=${items.length} first=${Math.round(times[0])}ms ` +
    `median=${Math.round(median(times))}ms/image\n`);
  await session.release?.();
}

export { CHW };
