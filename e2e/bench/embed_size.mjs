#!/usr/bin/env node
// Prints the gzip size of the site owners' embed as one JSON object for
// e2e/bench/collect.mjs:
//
//   node e2e/bench/embed_size.mjs   →   {"embed_script_gzip_bytes": 14611, …}
//
// embed_script_*: what every page with the embed downloads — static/lookalike.js
// and the modules it imports statically (static/lookalike/*.js: asset
// readers, card, generated constants), followed recursively. Loaded on first
// use and reported apart: the search box's engine client and worker entry
// (embed_search_gzip_bytes, before the engine itself) and personal.js, the
// shared history module (embed_personal_gzip_bytes). The wasm engine is not
// part of any of them.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const staticDir = path.resolve(here, '..', '..', 'static');

/** The files a module imports statically (import … from './x.js', import './x.js', export … from), recursively, itself first. */
export function moduleGraph(entry, seen = new Set()) {
  if (seen.has(entry)) return [];
  seen.add(entry);
  const src = fs.readFileSync(entry, 'utf8');
  const out = [entry];
  for (const m of src.matchAll(/^\s*(?:import|export)\s+(?:[^'"`;]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    out.push(...moduleGraph(path.resolve(path.dirname(entry), m[1]), seen));
  }
  return out;
}

/** The embed's first-load files: lookalike.js and its static imports. */
export function embedFiles() {
  return moduleGraph(path.join(staticDir, 'lookalike.js'));
}

/** The search box's files on first use (before the engine): searchbox.js, its client and the worker entry, minus the first-load ones. */
export function searchFiles() {
  const first = new Set(embedFiles());
  return [...new Set([...moduleGraph(path.join(staticDir, 'lookalike', 'searchbox.js')), path.join(staticDir, 'lookalike', 'worker.js')])].filter((f) => !first.has(f));
}

/** Sizes in bytes of files: raw and gzip (level 9, each file compressed on its own, as served). */
export function sizeOf(files) {
  let raw = 0, gz = 0;
  for (const f of files) {
    const b = fs.readFileSync(f);
    raw += b.length;
    gz += zlib.gzipSync(b, { level: 9 }).length;
  }
  return { raw, gz };
}

/** The first-load sizes ({raw, gz}). */
export const embedSize = () => sizeOf(embedFiles());

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { raw, gz } = embedSize();
  const rel = (files) => files.map((f) => path.relative(path.join(staticDir, '..'), f)).join(' + ');
  console.log(JSON.stringify({
    embed_script_gzip_bytes: gz,
    embed_script_bytes: raw,
    embed_search_gzip_bytes: sizeOf(searchFiles()).gz,
    embed_personal_gzip_bytes: sizeOf([path.join(staticDir, 'personal.js')]).gz,
    command: 'node e2e/bench/embed_size.mjs',
    date: new Date().toISOString(),
    detail: `${rel(embedFiles())}, gzip -9 each, engine excluded; target ≤ 15360. On first use: search ${rel(searchFiles())}; history static/personal.js`,
  }));
}
