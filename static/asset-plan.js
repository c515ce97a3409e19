// asset-plan.js — which of the manifest's files the shopper page fetches,
// in the order its engine takes them, and which it fetches only after the
// engine is ready. The engine worker loads by it and `make bench` counts
// the page's download by it, so the two can never disagree.

// The order Go takes them in; `optional` ones may be absent. Everything is
// fetched at once, in parallel, the moment the manifest is read; Go takes
// each file as soon as it and those before it have arrived. The projection
// comes before the model so that Go can build the embedder the moment the
// model has arrived and collect the decoding garbage before the rest
// takes its memory (Go's wasm memory never shrinks). With codes (a
// product-quantisation code per product, scanned exhaustively) the page
// needs neither the tree index nor the vector file.
export const STAGES = [
  { kind: 'projection', optional: true },
  { kind: 'model' },
  { kind: 'codes', optional: true },
  { kind: 'heads', optional: true },     // learned type/colour heads
  { kind: 'index', unlessCodes: true },
  { kind: 'vectors', optional: true, unlessCodes: true },
  { kind: 'catalog' },
];
// Not needed for the first photo search: fetched once the engine is ready
// ("more like this" scans the codes until the neighbours arrive).
export const LATER = [
  { kind: 'neighbors', optional: true },
  { kind: 'cf', optional: true },        // collaborative neighbours (build --interactions)
];

/**
 * The plan for a manifest: {stages, later}, each a list of {kind, parts:
 * [{file, sha256, size}], from} in order. Throws an Error naming what is
 * wrong with the manifest.
 */
export function planStages(manifest) {
  const files = assetFiles(manifest);
  const plan = (list) => {
    const out = [];
    for (const st of list) {
      const parts = files[st.kind];
      if (st.unlessCodes && files.codes) continue;
      if (!parts) {
        if (st.optional) continue;
        throw new Error(`manifest.json lists no ${st.kind} file`);
      }
      out.push({ kind: st.kind, ...(st.kind === 'index' && files.vectors ? indexTail(manifest, parts) : { parts, from: 0 }) });
    }
    return out;
  };
  return { stages: plan(STAGES), later: plan(LATER) };
}

/**
 * The index parts the engine needs. An Annoy file starts with one node per
 * product holding its vector (12 + 4·dim bytes each: most of the file),
 * which the vector file already has; the builder ends a part where the
 * split nodes begin, so those parts are skipped. Returns the parts to fetch
 * and the byte offset of the first one in the index file.
 */
export function indexTail(manifest, parts) {
  const items = Number(manifest.item_count) || 0;
  const dim = Number(manifest.model?.embedding?.dim) || 0;
  const itemBytes = items * (12 + 4 * dim);
  let at = 0;
  let first = 0;
  while (first < parts.length - 1 && itemBytes > 0 && at + parts[first].size <= itemBytes && parts[first].size > 0) {
    at += parts[first].size;
    first++;
  }
  return { parts: parts.slice(first), from: at };
}

/**
 * The files of each kind, from manifest.json. Each kind maps to its parts in
 * order ({file, sha256, size}); a file bigger than the host's limit is split
 * and listed as parts. Accepts the asset list as an array of {kind, file,
 * sha256, size, parts?} or as an object keyed by kind.
 */
export function assetFiles(m) {
  const out = {};
  const add = (kind, a) => {
    if (!kind || !a) return;
    const parts = Array.isArray(a.parts) && a.parts.length ? a.parts : [a];
    out[kind] = parts.map((p) => ({
      file: p.file || p.path || p.name,
      sha256: (p.sha256 || p.hash || '').toLowerCase(),
      size: Number(p.size || p.bytes || 0),
    }));
    for (const p of out[kind]) {
      if (!p.file) throw new Error(`manifest.json: the ${kind} asset has no file name`);
      if (!/^[0-9a-f]{64}$/.test(p.sha256)) throw new Error(`manifest.json: ${p.file} has no sha256`);
    }
  };
  const list = m.assets || m.files || {};
  if (Array.isArray(list)) for (const a of list) add(a.kind || a.role || a.type, a);
  else for (const [k, a] of Object.entries(list)) add(k, a);
  if (!out.model && m.model && (m.model.file || m.model.parts)) add('model', m.model);
  if (!out.neighbors && out.neighbours) out.neighbors = out.neighbours;
  return out;
}

