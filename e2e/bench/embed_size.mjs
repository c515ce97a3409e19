#!/usr/bin/env node
// Prints the gzip size of the site owners' embed script (static/lookalike.js
// and any static/lookalike/*.js modules it imports; the wasm engine is not
// part of it) as one JSON object for e2e/bench/collect.mjs:
//
//   node e2e/bench/embed_size.mjs   →   {"embed_script_gzip_bytes": 10611, …}
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const staticDir = path.resolve(here, '..', '..', 'static');

/** The embed's files: lookalike.js plus static/lookalike/*.js when present. */
export function embedFiles() {
  const files = [path.join(staticDir, 'lookalike.js')];
  const dir = path.join(staticDir, 'lookalike');
  if (fs.existsSync(dir)) {
    for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.js')) files.push(path.join(dir, f));
  }
  return files;
}

/** Sizes in bytes: raw and gzip (level 9, each file compressed on its own, as served). */
export function embedSize() {
  let raw = 0, gz = 0;
  for (const f of embedFiles()) {
    const b = fs.readFileSync(f);
    raw += b.length;
    gz += zlib.gzipSync(b, { level: 9 }).length;
  }
  return { raw, gz };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { raw, gz } = embedSize();
  console.log(JSON.stringify({
    embed_script_gzip_bytes: gz,
    embed_script_bytes: raw,
    // personal.js (the shared history module) loads only once the shopper
    // has history on this origin, or hearts / opens / searches something.
    embed_personal_gzip_bytes: zlib.gzipSync(fs.readFileSync(path.join(staticDir, 'personal.js')), { level: 9 }).length,
    command: 'node e2e/bench/embed_size.mjs',
    date: new Date().toISOString(),
    detail: `${embedFiles().map((f) => path.relative(path.join(staticDir, '..'), f)).join(' + ')}, gzip -9, engine excluded; target ≤ 15360`,
  }));
}
