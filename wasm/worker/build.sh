#!/usr/bin/env bash
# Builds the edge worker into wasm/worker/build/ (git-ignored):
#   runtime.mjs, wasm_exec.js   syumai/workers' JavaScript glue, generated from the module
#                               cache by its workers-assets-gen (its worker.mjs, which starts
#                               a Go instance per request, is generated too but not used:
#                               wasm/worker/instance.mjs keeps one)
#   app.wasm                    this folder's Go program, GOOS=js GOARCH=wasm
#   headers.json                the header policy (internal/headers)
# and prints the compressed size Cloudflare's 3 MB (free plan) limit applies to.
# wrangler.toml's main, wasm/worker/entry.mjs, imports instance.mjs and headers.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=wasm/worker/build
go run github.com/syumai/workers/cmd/workers-assets-gen -mode=go -o "$out"
GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o "$out/app.wasm" ./wasm/worker
go run ./builder headers --format json --out "$out/headers.json"
raw=$(stat -c %s "$out/app.wasm")
gz=$(cat "$out/app.wasm" "$out/runtime.mjs" "$out/wasm_exec.js" wasm/worker/entry.mjs wasm/worker/instance.mjs "$out/headers.json" | gzip -9 | wc -c)
echo "$gz" > "$out/bundle-gzip-bytes"
printf 'worker: app.wasm %.2f MB raw; wasm + glue %.2f MB gzipped (limit 3 MB free, 10 MB paid)\n' \
  "$(echo "$raw/1000000" | bc -l)" "$(echo "$gz/1000000" | bc -l)"
if [ "$gz" -gt 3000000 ]; then echo "worker: over the 3 MB free-plan limit" >&2; exit 1; fi
