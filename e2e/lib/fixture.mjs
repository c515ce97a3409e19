// Test asset sets for the browser tests: a catalogue split into indexed rows
// and held-out query rows (`builder split`), built into assets (`builder
// build`), plus small readers for what the tests check against (the
// catalogue CSV, the manifest, the precomputed neighbour lists).
//
//   const fx = await buildFixture();           // once per test file
//   fx.assets                                  // folder for startServe()
//   fx.catalog.get(id).articleType             // labels of indexed items
//   fx.queries.filter((r) => r.articleType === 'Watches')[0].imagePath
//
// Everything lands under <repo>/.cache/e2e/ and is reused: the split is
// deterministic (seed) and `builder build` re-embeds only images missing
// from its embedding cache, so a rerun takes seconds to a minute, not
// minutes. LOOKALIKE_E2E_REUSE=1 skips split and build when the assets
// already exist (for iterating on a test; not for CI).
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { repoRoot, sharedDir } from './paths.mjs';

/** The converted model the builder uses (built by `make model`): the shipped 4-bit one. */
export function modelPath() {
  return path.join(repoRoot(), '.cache', 'model-out', 'resnet50-int4.onnx');
}

/**
 * Splits ../shared/fashion/catalog.csv and builds assets from the kept rows.
 * Options: holdout (query rows, default 300), size (indexed rows, default
 * 3000, stratified by articleType like the queries so every common type is
 * present), seed (1), log (function for progress lines; default stderr).
 * Returns {dir, assets, catalogCsv, queriesCsv, catalog: Map<id,row>,
 * queries: row[]}; each row is the CSV record plus imagePath (absolute).
 */
export async function buildFixture({ holdout = 300, size = 3000, seed = 1, log = (s) => process.stderr.write(s) } = {}) {
  const root = repoRoot();
  const source = path.join(sharedDir(), 'fashion', 'catalog.csv');
  if (!fs.existsSync(source)) throw new Error(`fixture: no catalogue at ${source} (set LOOKALIKE_SHARED)`);
  const dir = path.join(root, '.cache', 'e2e', `fixture-seed${seed}-holdout${holdout}-size${size}`);
  const split = path.join(dir, 'split');
  const assets = path.join(dir, 'assets');
  const catalogCsv = path.join(split, 'catalog.csv');
  const queriesCsv = path.join(split, 'queries.csv');
  const reuse = process.env.LOOKALIKE_E2E_REUSE === '1' && fs.existsSync(path.join(assets, 'manifest.json'));
  if (!reuse) {
    await runGo(['split', '--catalog', source, '--holdout', String(holdout), '--size', String(size),
      '--seed', String(seed), '--out', split], log);
    const build = ['build', '--catalog', catalogCsv, '--out', assets, '--seed', String(seed)];
    if (fs.existsSync(modelPath())) build.push('--model', modelPath());
    await runGo(build, log);
  }
  const catalog = new Map(readCatalog(catalogCsv).map((r) => [r.id, r]));
  const queries = readCatalog(queriesCsv);
  if (catalog.size < 1000) throw new Error(`fixture: only ${catalog.size} indexed rows`);
  return { dir, assets, catalogCsv, queriesCsv, catalog, queries };
}

/** Runs `go run ./builder ARGS…` at the repository root; rejects with its output on failure. */
export function runGo(args, log = () => {}) {
  return new Promise((resolve, reject) => {
    const p = spawn('go', ['run', './builder', ...args], { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (b) => {
      const s = b.toString();
      out = (out + s).slice(-20000);
      log(s);
    };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out)
      : reject(new Error(`fixture: go run ./builder ${args[0]} exited ${code}:\n${out.slice(-4000)}`))));
  });
}

/**
 * Reads a catalogue CSV (header row; RFC 4180 quoting) into objects keyed by
 * the header names, adding imagePath: the `image` column resolved against
 * the CSV's folder.
 */
export function readCatalog(file) {
  const rows = parseCSV(fs.readFileSync(file, 'utf8'));
  const head = rows.shift();
  return rows.filter((r) => r.length > 1 || r[0] !== '').map((r) => {
    const o = Object.fromEntries(head.map((h, i) => [h, r[i] ?? '']));
    if (o.image) o.imagePath = path.resolve(path.dirname(file), o.image);
    return o;
  });
}

/** Parses CSV text into arrays of fields (quotes, doubled quotes, CRLF). */
export function parseCSV(text) {
  const rows = [];
  let row = [];
  let f = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { f += '"'; i++; } else if (c === '"') q = false; else f += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(f); f = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(f); rows.push(row); row = []; f = '';
    } else f += c;
  }
  if (f !== '' || row.length) { row.push(f); rows.push(row); }
  return rows;
}

/** The parsed manifest.json of an asset folder. */
export function readManifest(assets) {
  return JSON.parse(fs.readFileSync(path.join(assets, 'manifest.json'), 'utf8'));
}

/** The file name the manifest lists for an asset kind ('model', 'neighbors', …), or ''. */
export function assetFile(assets, kind) {
  const a = readManifest(assets).assets.find((x) => x.kind === kind);
  return a ? a.file : '';
}

/**
 * Reads the precomputed neighbour lists (models/vecfile, "LKNB": 32-byte
 * header, then per item lists·K entries of uint32 item + uint16 score) and
 * the item order from the catalog display asset. Returns
 * {k, global: Map<id, id[]>, section: Map<id, id[]>} (global empty when the
 * file has one list per item).
 */
export function readNeighbors(assets) {
  const file = assetFile(assets, 'neighbors');
  if (!file) return null;
  const b = fs.readFileSync(path.join(assets, file));
  if (b.toString('latin1', 0, 4) !== 'LKNB') throw new Error(`fixture: ${file} is not a neighbours file`);
  const count = b.readUInt32LE(8);
  const k = b.readUInt32LE(12);
  const lists = b.readUInt32LE(16);
  const ids = displayIds(assets);
  if (ids.length !== count) throw new Error(`fixture: ${file} has ${count} items, the catalog asset ${ids.length}`);
  const global = new Map();
  const section = new Map();
  for (let i = 0; i < count; i++) {
    for (let l = 0; l < lists; l++) {
      const out = [];
      for (let j = 0; j < k; j++) {
        const off = 32 + (i * lists * k + l * k + j) * 6;
        const it = b.readUInt32LE(off);
        if (it === 0xffffffff) break;
        out.push(ids[it]);
      }
      (l === 0 ? section : global).set(ids[i], out);
    }
  }
  return { k, global, section };
}

/** Product ids in item order, from the manifest's catalog (display) asset. */
export function displayIds(assets) {
  const file = assetFile(assets, 'catalog');
  const text = fs.readFileSync(path.join(assets, file), 'utf8');
  const data = JSON.parse(text); // columnar: {format: 'lookalike-catalog', id: [...], title: [...], …}
  if (!Array.isArray(data.id)) throw new Error(`fixture: ${file} has no id column`);
  return data.id.map(String);
}
