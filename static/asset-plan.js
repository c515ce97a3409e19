// asset-plan.js — which of the manifest's files the shopper page fetches,
// in the order its engine takes them, and which it fetches only after the
// engine is ready. The engine worker loads by it and `make bench` counts
// the page's download by it, so the two can never disagree.

const MAX_PART = 25 * 1024 * 1024; // the most a listed file may be: models/catalog.MaxAssetSize

// The order Go takes them in; `optional` ones may be absent. FIRST (below)
// is fetched the moment the manifest is read, the rest as soon as FIRST has
// arrived; Go takes each file as soon as it and those before it have
// arrived. Go decodes the model the moment it is in (and collects the
// decoding garbage before the rest takes its memory: Go's wasm memory never
// shrinks), and a photo chosen while loading runs through it while the
// rest, the projection included, is still arriving. With codes (a
// product-quantisation code per product, scanned exhaustively) the page
// needs neither the tree index nor the vector file.
export const STAGES = [
  // The learned product finder (8 KB): Go must have it when the model is
  // in, before a photo chosen while loading runs through it.
  { kind: 'objectness', optional: true },
  { kind: 'model' },
  { kind: 'projection', optional: true },
  { kind: 'codes', optional: true },
  { kind: 'heads', optional: true },     // learned type/colour heads
  { kind: 'index', unlessCodes: true },
  { kind: 'vectors', optional: true, unlessCodes: true },
  { kind: 'catalog' },
];
// What downloads first, alone with the engine (the product finder beside
// the model is a few kilobytes): the rest of STAGES starts
// once it has arrived (engine-worker.js), so that on a slow link the model,
// on which Go spends longest (decoding it, then running a waiting photo
// through it), is not slowed by files that take Go milliseconds.
export const FIRST = new Set(['objectness', 'model']);
// Not needed for the first photo search: fetched once the engine is ready
// ("more like this" scans the codes until the neighbours arrive). Past
// maxBytes (decoded) a later file is not fetched at all: at a million
// products the neighbour lists are 288 MB, more than the page's whole
// memory budget, and "more like this" keeps scanning the codes.
export const LATER_MAX_BYTES = 64 * 1024 * 1024;
// A vector file past LATER_MAX_BYTES (273 MB at a million products) is not
// held in memory: with `disk`, the engine worker streams it, part by part,
// into the browser's origin-private file system, up to DISK_MAX_BYTES and
// the storage quota, and re-scores the codes' shortlist from records read
// back from there (models/search StoredPool). A repeat visit reuses the
// stored copy. The whole file is fetched whatever the shopper searches,
// and no record is ever requested over the network. Not on a cellular
// connection (navigator.connection.type, where the browser tells): a
// quarter of a gigabyte in the background is not for a metered plan, and
// the codes alone answer as the first search did.
export const DISK_MAX_BYTES = 1024 * 1024 * 1024;
// With codes, the vector file comes first: from then on every search
// re-scores the codes' best RerankPool (models/search) exactly (recall of
// the exact top 10: 0.5 → 0.99 at 40k). Not fetched under Data Saver
// (saveData: true) — the codes alone answer as the first search did.
export const LATER = [
  { kind: 'vectors', optional: true, onlyWithCodes: true, maxBytes: LATER_MAX_BYTES, diskMaxBytes: DISK_MAX_BYTES, skipOnSaveData: true },
  { kind: 'neighbors', optional: true, maxBytes: LATER_MAX_BYTES },
  { kind: 'cf', optional: true, maxBytes: LATER_MAX_BYTES },        // collaborative neighbours (build --interactions)
];

/**
 * The plan for a manifest: {stages, later}, each a list of {kind, parts:
 * [{file, sha256, size}], from[, disk]} in order (disk: a later file kept
 * on disk rather than in memory; see DISK_MAX_BYTES). node is the index's node layout
 * (INDEX_NODE in lookalike/gen_formats.js, from Go); saveData: the
 * browser asks for less data (navigator.connection.saveData); cellular: it
 * says the connection is cellular (no disk copy then); laterMaxBytes
 * replaces LATER_MAX_BYTES (a developer's test of the disk path). Throws an Error naming
 * what is wrong with the manifest.
 */
export function planStages(manifest, node, { saveData = false, cellular = false, laterMaxBytes } = {}) {
  const files = assetFiles(manifest);
  const plan = (list) => {
    const out = [];
    for (const st of list) {
      const parts = files[st.kind];
      if (st.unlessCodes && files.codes) continue;
      if (st.onlyWithCodes && !files.codes) continue;
      if (st.skipOnSaveData && saveData) continue;
      if (!parts) {
        if (st.optional) continue;
        throw new Error(`manifest.json lists no ${st.kind} file`);
      }
      const total = parts.reduce((n, p) => n + p.size, 0);
      const maxBytes = st.maxBytes && (laterMaxBytes ?? st.maxBytes);
      if (maxBytes && total > maxBytes) {
        // Too big for memory: on disk when the kind may be, else not at all.
        if (st.diskMaxBytes && total <= st.diskMaxBytes && !cellular) out.push({ kind: st.kind, parts, from: 0, disk: true });
        continue;
      }
      out.push({ kind: st.kind, ...(st.kind === 'index' && files.vectors ? indexTail(manifest, parts, node) : { parts, from: 0 }) });
    }
    return out;
  };
  return { stages: plan(STAGES), later: plan(LATER) };
}

/**
 * The index parts the engine needs. An Annoy file starts with one node per
 * product holding its vector (node = base + perDim·dim bytes, Go's
 * INDEX_NODE: most of the file), which the vector file already has; the
 * builder ends a part where the split nodes begin, so those parts are
 * skipped. Returns the parts to fetch and the byte offset of the first one
 * in the index file.
 */
export function indexTail(manifest, parts, node) {
  const items = Number(manifest.item_count) || 0;
  const dim = Number(manifest.model?.embedding?.dim) || 0;
  const itemBytes = node ? items * (node.base + node.perDim * dim) : 0; // annoy.ItemsSize
  let at = 0;
  let first = 0;
  while (first < parts.length - 1 && itemBytes > 0 && at + parts[first].size <= itemBytes && parts[first].size > 0) {
    at += parts[first].size;
    first++;
  }
  return { parts: parts.slice(first), from: at };
}

/**
 * The files of each kind, from manifest.json (models/catalog.Manifest: an
 * `assets` array of {kind, file, sha256, size, parts?}; no other shape or
 * field name is accepted). Each kind maps to the files of its first asset
 * (Manifest.Asset), in order ({file, sha256, size}: its parts, or the file
 * itself; Asset.Files). As models/catalog.ReadManifest (which Go runs too),
 * every file must have a safe relative name, a sha256 and a sane size,
 * checked before any byte is fetched or any buffer sized from the manifest.
 */
export function assetFiles(m) {
  const out = {};
  for (const a of Array.isArray(m?.assets) ? m.assets : []) {
    if (!a?.kind || a.kind in out) continue;
    const parts = Array.isArray(a.parts) && a.parts.length ? a.parts : [a];
    out[a.kind] = parts.map((p) => ({ file: p.file, sha256: String(p.sha256 || '').toLowerCase(), size: Number(p.size) || 0 }));
    for (const p of out[a.kind]) {
      if (!p.file) throw new Error(`manifest.json: the ${a.kind} asset has no file name`);
      if (!/^[\w.-]+(\/[\w.-]+)*$/.test(p.file) || p.file.split('/').includes('..')) throw new Error(`manifest.json: the ${a.kind} asset has no safe file name`);
      if (!/^[0-9a-f]{64}$/.test(p.sha256)) throw new Error(`manifest.json: ${p.file} has no sha256`);
      if (!Number.isSafeInteger(p.size) || p.size < 0 || p.size > MAX_PART) throw new Error(`manifest.json: ${p.file} has size ${p.size}`);
    }
  }
  return out;
}
