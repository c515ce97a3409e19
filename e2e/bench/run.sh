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
ONLY=${BENCH_ONLY:-ours peers build search sizes firstvisit page edge embed}
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
  # What the page itself runs at 40k: the codes scanned, no index or vectors.
  piece search_codes_native "$PIECES/benchgo" codes --assets "$FULL_ASSETS" --queries 300 --suffix _40k --rerank 999
  piece search_codes_wasm wasm/exec/go_js_wasm_exec "$PIECES/benchgo.wasm" codes --assets "$FULL_ASSETS" --queries 100 --suffix _40k
fi
if want sizes && [ -f "$FULL_ASSETS/manifest.json" ]; then
  # What the page downloads before its first search, by its own plan
  # (static/asset-plan.js), on the wire.
  piece sizes node e2e/bench/sizes.mjs --assets "$FULL_ASSETS" --suffix _40k
fi
if want firstvisit; then
  # A first-time shopper at 20 Mbit/s, 40 ms (a throttled loopback link).
  piece firstvisit node e2e/bench/firstvisit.mjs --full-assets "$FULL_ASSETS"
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
if want synth1m && [ -f "$FULL_ASSETS/manifest.json" ]; then
  # make bench-1m (not part of make bench): a SYNTHETIC million products,
  # builder synth from the 40k build's stored vectors (docs/scale.md), then
  # the page's search and download on it. SYNTH_1M keeps an earlier one.
  SYNTH_1M=${SYNTH_1M:-.cache/synth-1m}
  go build -o "$PIECES/builder" ./builder
  go build -o "$PIECES/benchgo" ./e2e/cmd/benchgo
  GOOS=js GOARCH=wasm go build -o "$PIECES/benchgo.wasm" ./e2e/cmd/benchgo
  if [ ! -f "$SYNTH_1M/manifest.json" ] || [ -n "${SYNTH_REBUILD:-}" ]; then
    rm -rf "$SYNTH_1M"
    /usr/bin/time -v "$PIECES/builder" synth --from "$FULL_ASSETS" --out "$SYNTH_1M" --copies 24 --seed 1 2> "$PIECES/synth-1m.log"
  fi
  if [ -f "$PIECES/synth-1m.log" ]; then # the builder's own time and the peak RSS time -v saw
    node -e '
      const fs = require("fs");
      const log = fs.readFileSync(process.argv[1], "utf8");
      const r = JSON.parse(fs.readFileSync(process.argv[2] + "/synth-report.json"));
      const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(log)[1]);
      console.log(JSON.stringify({builder_synth_seconds_1m: r.seconds, builder_synth_peak_rss_mb_1m: Math.round(rss / 1024),
        synth_items_1m: r.items, synth_sigma_1m: r.sigma_rms, synth_copy_cosine_1m: r.copy_cosine_mean, synth_same_type_cosine_1m: r.same_type_cosine_mean,
        command: "go run ./builder synth --from .cache/full-assets --out .cache/synth-1m --copies 24 --seed 1 (peak RSS: time -v)",
        detail: {synthetic: true, neighbours: r.neighbours, copies: r.copies_per_item}}));' \
      "$PIECES/synth-1m.log" "$SYNTH_1M" > "$PIECES/synth_1m.json" || echo "bench synth_1m failed (see $PIECES/synth-1m.log)" >&2
  fi
  piece search_native_1m "$PIECES/benchgo" codes --assets "$SYNTH_1M" --queries 200 --suffix _1m --rerank 999
  piece search_wasm_1m wasm/exec/go_js_wasm_exec "$PIECES/benchgo.wasm" codes --assets "$SYNTH_1M" --queries 60 --suffix _1m
  piece sizes_1m node e2e/bench/sizes.mjs --assets "$SYNTH_1M" --suffix _1m
  # The page in Chromium on the million: its renderer's peak memory.
  piece page_1m node e2e/bench/page.mjs --full-only --wait-stored --full-assets "$SYNTH_1M" --suffix _1m
fi
node e2e/bench/collect.mjs "$PIECES"/*.json
