// onnxruntime-web (wasm backend, SIMD, numThreads 1) timing one
// 1×3×224×224 image through a model, in the browser running this page.
// e2e/bench/page.mjs serves it and calls, in turn,
//   await window.ortSetup({modelURL, threads, warmup})  → {loadMs, version, input, output}
//   await window.ortTime(runs)                          → [ms per run]
// so that it can read the browser's CPU time around the timed runs only.
import * as ort from '/ort/ort.min.mjs';

let run = null;

/**
 * Creates a session on modelURL and runs it warmup times. The input is
 * deterministic pseudo-random data in the caffe range (timing does not
 * depend on the values).
 */
async function ortSetup({ modelURL = '/model.onnx', threads = 1, warmup = 2 } = {}) {
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.logLevel = 'error';
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(modelURL, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const loadMs = performance.now() - t0;
  const data = new Float32Array(3 * 224 * 224);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = (s / 2 ** 32) * 255 - 120;
  }
  const x = new ort.Tensor('float32', data, [1, 3, 224, 224]);
  const input = session.inputNames[0];
  const output = session.outputNames.includes('gap') ? 'gap' : session.outputNames[0];
  run = () => session.run({ [input]: x }, [output]);
  for (let i = 0; i < warmup; i++) await run();
  return { loadMs, version: ort.env.versions?.web || '', input, output };
}

/** Times runs of the session ortSetup made; returns ms per run. */
async function ortTime(runs) {
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  return ms;
}

window.ortSetup = ortSetup;
window.ortTime = ortTime;
document.body.dataset.state = 'ready';
