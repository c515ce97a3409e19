// build.mjs — assembles sgemm.wat in process (npm package wabt) or with the
// wat2wasm command, for the Node runner in wasm/exec and for scripts.
//
//   node wasm/kernels/build.mjs OUTDIR     writes OUTDIR/sgemm.wasm
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const watPath = path.join(here, "sgemm.wat");

/** Returns the kernel's wasm bytes assembled from sgemm.wat. */
export async function assemble() {
  const text = fs.readFileSync(watPath, "utf8");
  let wabtFactory = null;
  try {
    wabtFactory = createRequire(import.meta.url)("wabt");
  } catch {
    // Not installed: fall back to the wat2wasm command below.
  }
  if (wabtFactory !== null) {
    const wabt = await wabtFactory();
    const mod = wabt.parseWat("sgemm.wat", text, { simd: true });
    try {
      mod.validate();
      return Buffer.from(mod.toBinary({}).buffer);
    } finally {
      mod.destroy();
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sgemm-"));
  try {
    const out = path.join(tmp, "sgemm.wasm");
    try {
      execFileSync("wat2wasm", [watPath, "-o", out], { stdio: ["ignore", "inherit", "inherit"] });
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
 * Returns the kernel bytes, assembling sgemm.wat at most once per content:
 * the result is cached in cacheDir under a name holding the source's hash.
 */
export async function cachedKernel(cacheDir) {
  const sum = createHash("sha256").update(fs.readFileSync(watPath)).digest("hex").slice(0, 16);
  const file = path.join(cacheDir, `sgemm-${sum}.wasm`);
  try {
    return fs.readFileSync(file);
  } catch {
    // Not built yet.
  }
  const bytes = await assemble();
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
  const out = path.join(process.argv[2], "sgemm.wasm");
  fs.mkdirSync(process.argv[2], { recursive: true });
  fs.writeFileSync(out, await assemble());
  console.log(out);
}
