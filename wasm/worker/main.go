// Command worker is Lookalike's edge worker: a Go program for Cloudflare
// Workers (GOOS=js GOARCH=wasm, github.com/syumai/workers) that answers
// /api/* (wasm/worker/api) from the lookup files `go run ./builder stage`
// writes under /_worker/ in the site (format: models/edge), read through
// the ASSETS binding and kept in memory.
//
// One Go instance serves request after request: instance.mjs starts it on
// the first request, hands each later one its env and ctx, and lets one
// request at a time into Go (see serve_js.go and README.md for why).
// entry.mjs (the module wrangler runs) sends /api/* there and serves every
// other path from the static assets with Lookalike's headers.
//
// Built natively it serves the API over HTTP from a staged folder
// (LOOKALIKE_SITE, default .cache/site), for debugging without workerd.
package main

import (
	"runtime/debug"

	"github.com/lookalike/lookalike/wasm/worker/api"
)

// dataPrefix is the staged folder's place inside the site.
const dataPrefix = "/_worker/"

// cacheBytes bounds the staged files kept in memory (the whole edge data
// of a 40k-item catalogue is ~15 MB; a Workers isolate has 128 MB).
const cacheBytes = 32 << 20

// The collector runs when the heap has grown by gcPercent over what is
// live (Go's floor: a 4 MB heap × gcPercent/100), or at memoryLimit. A
// collection's CPU lands inside one request and grows with the heap it
// sweeps (measured in workerd, docs/deploy.md): at 400 % a 16 MB heap
// cost that request 15–57 ms every ~700–3,000 requests; at 50 % a ~2 MB
// heap costs it ~3.5 ms every ~300 — each request stays under the free
// plan's 10 ms. Requests make ~4.5 KB of garbage each (answer buffers
// are reused), so the collections stay well under 1 % of requests.
const (
	gcPercent   = 50
	memoryLimit = 64 << 20 // of the isolate's 128 MB
)

func main() {
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(memoryLimit)
	serve(api.Handler(api.Cached(newStore(), cacheBytes)))
}
