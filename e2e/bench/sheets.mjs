#!/usr/bin/env node
// How many thumbnail sheets a default search fetches (the privacy cost of
// not using privacy="strict", docs/security.md), and what strict mode
// fetches up front instead. For each asset folder given: the sheets and
// their bytes, and over photos of catalogue rows not in the build (of the
// build itself when it holds the whole catalogue) the distinct sheets
// holding a search's top K results.
//
//   node e2e/bench/sheets.mjs [--k 24] [--queries 60] ASSETS_DIR…
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readCatalog } from '../lib/fixture.mjs';
import { repoRoot, sharedDir } from '../lib/paths.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); if (i < 0) return def; const v = args[i + 1]; args.splice(i, 2); return Number(v); };
const K = opt('--k', 24), Q = opt('--queries', 60);
const bin = path.join(repoRoot(), '.cache', 'sheets-builder');
execFileSync('go', ['build', '-o', bin, './builder'], { cwd: repoRoot(), stdio: 'inherit' });
const rows = readCatalog(path.join(sharedDir(), 'fashion', 'catalog.csv'));
for (const dir of args) {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const sheets = m.assets.filter((a) => a.kind === 'thumbs');
  const cat = m.assets.find((a) => a.kind === 'catalog');
  const files = cat.parts?.length ? cat.parts.map((p) => p.file) : [cat.file];
  const d = JSON.parse(Buffer.concat(files.map((f) => fs.readFileSync(path.join(dir, f)))).toString('utf8'));
  const sheetOf = new Map(d.id.map((id, i) => [String(id), d.thumbs[i].split('#')[0]]));
  // Photos of products not in the build; for a build of the whole
  // catalogue, its own photos (each then finds itself first).
  const held = rows.filter((r) => !sheetOf.has(r.id) && fs.existsSync(r.imagePath));
  const pool = held.length >= Q ? held : rows.filter((r) => fs.existsSync(r.imagePath));
  const photos = Array.from({ length: Q }, (_, i) => pool[Math.floor((i * pool.length) / Q)].imagePath);
  const out = execFileSync(bin, ['query', '--assets', dir, '--k', String(K), ...photos], { cwd: repoRoot(), maxBuffer: 1 << 26 }).toString();
  const counts = out.trim().split('\n').map((l) => new Set(JSON.parse(l).results.map((r) => sheetOf.get(String(r.id)))).size).sort((a, b) => a - b);
  const bytes = sheets.reduce((t, a) => t + a.size, 0);
  console.log(JSON.stringify({
    assets: dir, items: m.item_count, sheets: sheets.length, sheet_bytes: bytes,
    k: K, queries: counts.length, query_photos: pool === held ? 'not in the build' : 'of the build', sheets_per_search_median: counts[counts.length >> 1],
    sheets_per_search_mean: Math.round((counts.reduce((a, b) => a + b, 0) / counts.length) * 10) / 10,
    bytes_per_search_median: Math.round(counts[counts.length >> 1] * (bytes / sheets.length)),
  }));
}
