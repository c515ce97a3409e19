// build.mjs — assembles the kernel module (sgemm.wat, with qgemm.wat
// spliced in at its `@include` line) into its two builds, in process (npm
// package wabt) or with the wat2wasm command (Debian package wabt), for the
// Node runner in wasm/exec, the loader tests and the page build.
//
// The builds differ in two ways: in sgemm-fma.wasm the fp32 tile's
// multiply-adds are relaxed_madd (see sgemm.wat), and qgemm.wat's lines
// between `;; @relaxed-begin` and `;; @relaxed-end` (the relaxed dot tile)
// are kept; sgemm.wasm drops them and keeps the `;; @simd128-only` lines.
// Each has a `-shared` twin importing a shared memory instead of Go's: the
// GEMM pool's helpers (pool.js) run it on a SharedArrayBuffer.
//
//   node wasm/kernels/build.mjs OUTDIR     writes OUTDIR/sgemm.wasm and OUTDIR/sgemm-fma.wasm
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const watPath = path.join(here, "sgemm.wat");
/** Every source file of the module, for cache keys. */
export const sources = [watPath, path.join(here, "qgemm.wat")];

/** The builds: name → output file. See the header of sgemm.wat. */
export const variants = {
  simd128: "sgemm.wasm",
  fma: "sgemm-fma.wasm",
  "simd128-shared": "sgemm-shared.wasm",
  "fma-shared": "sgemm-fma-shared.wasm",
};

const memoryImport = '(import "env" "mem" (memory 1))';

// The multiply-add lines of the register tile, and how many there are.
const madd =
  /\(f32x4\.add \(local\.get (\$c\d\d)\) \(f32x4\.mul \(local\.get \$a\) \(local\.get (\$b\d)\)\)\)/g;
const maddCount = 12;

// splice replaces each `;; @include FILE` line with FILE's text.
function splice(text) {
  return text.replace(/^[ \t]*;; @include (\S+)[ \t]*$/gm, (_, file) => fs.readFileSync(path.join(here, file), "utf8"));
}

// plainOnly drops the relaxed-SIMD sections and enables the SIMD128-only lines.
function plainOnly(text) {
  const out = [];
  let skipping = false;
  for (const line of text.split("\n")) {
    if (/;; @relaxed-begin\b/.test(line)) {
      if (skipping) throw new Error("kernels: nested @relaxed-begin");
      skipping = true;
      continue;
    }
    if (/;; @relaxed-end\b/.test(line)) {
      if (!skipping) throw new Error("kernels: @relaxed-end without @relaxed-begin");
      skipping = false;
      continue;
    }
    if (!skipping) out.push(line.replace(/;; @simd128-only /, ""));
  }
  if (skipping) throw new Error("kernels: @relaxed-begin without @relaxed-end");
  return out.join("\n");
}

/** Returns the WAT text of a build. */
export function source(variant) {
  let text = splice(fs.readFileSync(watPath, "utf8"));
  if (!(variant in variants)) throw new Error(`kernels: unknown kernel build ${JSON.stringify(variant)}`);
  if (variant.endsWith("-shared")) {
    if (!text.includes(memoryImport)) throw new Error(`kernels: ${watPath}: no line ${memoryImport}`);
    text = text.replace(memoryImport, '(import "env" "mem" (memory 1 65536 shared))');
    variant = variant.slice(0, -"-shared".length);
  }
  if (variant === "simd128") return plainOnly(text);
  const found = text.match(madd)?.length ?? 0;
  if (found !== maddCount) {
    throw new Error(`kernels: ${watPath}: found ${found} multiply-add lines, want ${maddCount} (see its header)`);
  }
  return text.replace(madd, "(f32x4.relaxed_madd (local.get $a) (local.get $2) (local.get $1))");
}

/** Returns the wasm bytes of a build (a key of variants). */
export async function assemble(variant = "simd128") {
  const text = source(variant);
  let wabtFactory = null;
  try {
    wabtFactory = createRequire(import.meta.url)("wabt");
  } catch {
    // Not installed: fall back to the wat2wasm command below.
  }
  if (wabtFactory !== null) {
    const wabt = await wabtFactory();
    const features = { simd: true, relaxed_simd: true, threads: true };
    const mod = wabt.parseWat("sgemm.wat", text, features);
    try {
      mod.validate(features);
      return Buffer.from(mod.toBinary({}).buffer);
    } finally {
      mod.destroy();
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sgemm-"));
  try {
    const wat = path.join(tmp, "sgemm.wat");
    const out = path.join(tmp, "sgemm.wasm");
    fs.writeFileSync(wat, text);
    try {
      execFileSync("wat2wasm", ["--enable-relaxed-simd", "--enable-threads", wat, "-o", out], {
        stdio: ["ignore", "inherit", "inherit"],
      });
    } catch (err) {
      throw new Error(
        `kernels: assembling ${watPath}: neither the npm package wabt nor wat2wasm works (${err.message})`,
      );
    }
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Returns the bytes of a build, assembling it at most once per source
 * content: the result is cached in cacheDir under a name holding the
 * source's hash.
 */
export async function cachedKernel(cacheDir, variant = "simd128") {
  const sum = createHash("sha256").update(source(variant)).digest("hex").slice(0, 16);
  const file = path.join(cacheDir, `${variant}-${sum}.wasm`);
  try {
    return fs.readFileSync(file);
  } catch {
    // Not built yet.
  }
  const bytes = await assemble(variant);
  fs.mkdirSync(cacheDir, { recursive: true });
  // Parallel test binaries may build at once: write aside, then rename.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
  return bytes;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.length !== 3) {
    console.error("usage: node build.mjs OUTDIR");
    process.exit(2);
  }
  fs.mkdirSync(process.argv[2], { recursive: true });
  for (const [variant, name] of Object.entries(variants)) {
    const out = path.join(process.argv[2], name);
    fs.writeFileSync(`${out}.tmp`, await assemble(variant));
    fs.renameSync(`${out}.tmp`, out);
    console.log(out);
  }
}
