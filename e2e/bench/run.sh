#!/usr/bin/env bash
# make bench: every speed and size figure in one sitting, so ratios against
# the peers come from the same machine state. Pieces go to .cache/bench/,
# then collect.mjs merges them into docs/bench.json and docs/bench.md.
#
#   bash e2e/bench/run.sh            (make bench)
#   BENCH_ONLY="ours peers" bash e2e/bench/run.sh   (a subset)
#
# Needs: node_modules (npm ci), the converted model (make model), Chromium
# for the page figures. The 40k figures (search, asset sizes) use
# .cache/full-assets when it exists (DEMO_LIMIT=0 build); otherwise they
# are measured on whatever FULL_ASSETS points at and labelled with its size.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MODEL=${MODEL:-.cache/model-out/resnet50-int8.onnx}
PIECES=.cache/bench
FULL_ASSETS=${FULL_ASSETS:-.cache/full-assets}
SHARED=${LOOKALIKE_SHARED:-../shared}
ONLY=${BENCH_ONLY:-ours peers build search sizes page edge embed}
mkdir -p "$PIECES"
want() { [[ " $ONLY " == *" $1 "* ]]; }
load() { cut -d' ' -f1 /proc/loadavg; }
piece() { # name command… : run, keep stdout's last JSON line as a piece with the command and load
  local name=$1; shift
  echo "== bench $name: $*" >&2
  local l0; l0=$(load)
  local out
  if ! out=$("$@"); then echo "bench $name failed; other pieces are kept" >&2; return 0; fi
  node -e '
    const [out, cmd, l0] = process.argv.slice(1);
    // One JSON object: the whole output, or its last line.
    let o;
    try { o = JSON.parse(out); } catch { o = JSON.parse(out.trim().split("\n").pop()); }
    o.command = o.command || cmd;
    o.date = o.date || new Date().toISOString();
    o.machine = o.machine || { cores: require("os").cpus().length, node: process.version };
    o.detail = { ...(o.detail || {}), loadavg_1m: Number(l0) };
    for (const k of Object.keys(o)) if (typeof o[k] === "string" && !["command", "date"].includes(k)) { o.detail[k] = o[k]; delete o[k]; }
    process.stdout.write(JSON.stringify(o) + "\n");' "$out" "$*" "$l0" > "$PIECES/$name.json" || echo "bench $name: bad JSON: $out" >&2
}

if want ours; then
  go build -o "$PIECES/benchgo" ./e2e/cmd/benchgo
  GOOS=js GOARCH=wasm go build -o "$PIECES/benchgo.wasm" ./e2e/cmd/benchgo
  piece ours_native "$PIECES/benchgo" engine --model "$MODEL" --runs 9
  piece ours_wasm wasm/exec/go_js_wasm_exec "$PIECES/benchgo.wasm" engine --model "$MODEL" --runs 7
  # The same engine with its int8 GEMMs shared among worker threads (one per core).
  piece ours_wasm_mt env LOOKALIKE_WASM_THREADS=auto wasm/exec/go_js_wasm_exec "$PIECES/benchgo.wasm" engine --model "$MODEL" --runs 7 --variant mt
  # Float32 activations, the path before int8, for the gain in the same run.
  piece ours_native_fp32 "$PIECES/benchgo" engine --model "$MODEL" --runs 9 --activations fp32 --variant fp32
  piece ours_wasm_fp32 wasm/exec/go_js_wasm_exec "$PIECES/benchgo.wasm" engine --model "$MODEL" --runs 7 --activations fp32 --variant fp32
  # int8 vs float32 activations on 24 catalogue photos (with the full build's projection when there is one).
  proj=(); [ -f "$FULL_ASSETS/manifest.json" ] && proj=(--assets "$FULL_ASSETS")
  shared_rel=$(realpath --relative-to="$ROOT" "$SHARED") # no machine paths in the recorded command
  piece int8cos "$PIECES/benchgo" int8cos --model "$MODEL" --catalog "$shared_rel/fashion/catalog.csv" --n 24 "${proj[@]}"
fi
if want peers; then
  node e2e/bench/peers.mjs --model "$MODEL" --pieces "$PIECES" --no-collect --n 2000 >&2
fi
if want build; then
  # Builder throughput on 2,000 catalogue photos with an empty embedding cache.
  rm -rf "$PIECES/build-cache" "$PIECES/build-2000"
  go run ./builder build --catalog "$SHARED/fashion/catalog.csv" --out "$PIECES/build-2000" --limit 2000 \
     --model "$MODEL" --cache "$PIECES/build-cache" >&2
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
    console.log(JSON.stringify({build_items_per_s: r.embed_items_per_s, build_items: r.embedded,
      command: "go run ./builder build --catalog ../shared/fashion/catalog.csv --limit 2000 (empty cache)"}));' \
    "$PIECES/build-2000/build-report.json" > "$PIECES/build.json"
  rm -rf "$PIECES/build-cache"
fi
if want search && [ -f "$FULL_ASSETS/manifest.json" ]; then
  go build -o "$PIECES/benchgo" ./e2e/cmd/benchgo
  GOOS=js GOARCH=wasm go build -o "$PIECES/benchgo.wasm" ./e2e/cmd/benchgo
  piece search_native "$PIECES/benchgo" search --assets "$FULL_ASSETS" --queries 500
  piece search_wasm wasm/exec/go_js_wasm_exec "$PIECES/benchgo.wasm" search --assets "$FULL_ASSETS" --queries 300
fi
if want sizes && [ -f "$FULL_ASSETS/manifest.json" ]; then
  node -e '
    const m = JSON.parse(require("fs").readFileSync(process.argv[1] + "/manifest.json"));
    const o = {assets_items: m.item_count};
    for (const a of m.assets) o[`assets_${a.kind}_bytes`] = (o[`assets_${a.kind}_bytes`] || 0) + a.size;
    o.assets_total_bytes = m.assets.reduce((s, a) => s + a.size, 0);
    // What the shopper page downloads before it is ready (engine-worker.js):
    // every asset but thumbnails, the index without the parts that hold only
    // item nodes (12 + 4·dim bytes per item; the vector file scores instead).
    const itemBytes = m.item_count * (12 + 4 * m.model.embedding.dim);
    o.page_download_bytes = m.assets.filter((a) => a.kind !== "thumbs").reduce((s, a) => {
      if (a.kind !== "index" || !a.parts?.length) return s + a.size;
      let at = 0, keep = 0;
      a.parts.forEach((p, i) => { if (!(at + p.size <= itemBytes && i < a.parts.length - 1)) keep += p.size; at += p.size; });
      return s + keep;
    }, 0);
    o.command = "sizes from " + process.argv[1] + "/manifest.json";
    console.log(JSON.stringify(o));' "$FULL_ASSETS" > "$PIECES/sizes.json"
fi
if want page; then
  piece page node e2e/bench/page.mjs
fi
if want edge; then
  piece edge node e2e/bench/edge.mjs
fi
if want embed; then
  piece embed_size node e2e/bench/embed_size.mjs
fi
node e2e/bench/collect.mjs "$PIECES"/*.json
