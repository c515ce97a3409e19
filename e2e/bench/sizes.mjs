#!/usr/bin/env node
// Asset sizes of a build and what the shopper page downloads before its
// first search, by the page's own plan (static/asset-plan.js): raw, and on
// the wire (the .br sibling when the builder wrote one: what every host of
// ours sends a browser that accepts brotli). Prints one JSON piece:
//
//   node e2e/bench/sizes.mjs --assets DIR [--suffix _40k]
//
//   page_download_bytes        before the first search, on the wire (plus the engine)
//   page_download_raw_bytes    the same, decoded
//   page_later_bytes           fetched after the engine is ready (neighbours, CF)
//   assets_<kind>_bytes, assets_total_bytes, assets_items
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from '../ref/common.mjs';
import { planStages } from '../../static/asset-plan.js';
import { repoRoot } from '../lib/paths.mjs';

const { opts } = parseArgs(process.argv.slice(2), { assets: '', suffix: '' }, 'usage: node e2e/bench/sizes.mjs --assets DIR [--suffix _40k]');
const dir = opts.assets;
const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json')));
const wire = (file, d = dir) => {
  for (const suf of ['.br', '.gz']) {
    const p = path.join(d, file + suf);
    if (fs.existsSync(p)) return fs.statSync(p).size;
  }
  return fs.statSync(path.join(d, file)).size;
};
const o = { [`assets_items${opts.suffix}`]: m.item_count };
for (const a of m.assets) o[`assets_${a.kind}_bytes${opts.suffix}`] = (o[`assets_${a.kind}_bytes${opts.suffix}`] || 0) + a.size;
o[`assets_total_bytes${opts.suffix}`] = m.assets.reduce((s, a) => s + a.size, 0);
const { stages, later } = planStages(m);
const parts = (list) => list.flatMap((s) => s.parts);
let raw = 0, onWire = 0;
const byKind = {};
for (const s of stages) {
  for (const p of s.parts) {
    raw += p.size;
    const w = wire(p.file);
    onWire += w;
    byKind[s.kind] = (byKind[s.kind] || 0) + w;
  }
}
// The engine (static/build/, written by builder serve/stage).
const build = path.join(repoRoot(), 'static', 'build');
let engine = 0;
try {
  const info = JSON.parse(fs.readFileSync(path.join(build, 'build.json')));
  for (const f of [info.engine, info.wasmExec]) engine += wire(f, build);
  raw += info.sizes?.[info.engine] || 0;
} catch { /* not built yet: the engine is left out and said so */ }
byKind.engine = engine;
o[`page_download_bytes${opts.suffix}`] = onWire + engine;
o[`page_download_raw_bytes${opts.suffix}`] = raw;
o[`page_later_bytes${opts.suffix}`] = parts(later).reduce((s, p) => s + wire(p.file), 0);
o.command = `node e2e/bench/sizes.mjs --assets ${dir}${opts.suffix ? ` --suffix ${opts.suffix}` : ''}`;
o.detail = { page_download_by_kind: byKind, engine_included: engine > 0, note: 'on the wire = the .br sibling when present (hosts send it to browsers accepting brotli), else the file' };
console.log(JSON.stringify(o));
