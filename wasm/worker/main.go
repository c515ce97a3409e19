// Command worker is Lookalike's edge worker: a Go program for Cloudflare
// Workers (GOOS=js GOARCH=wasm, github.com/syumai/workers) that answers
// /api/* from the lookup files `go run ./builder stage` writes under
// /_worker/ in the site, read through the ASSETS binding. See
// wasm/worker/edge for the API and wasm/worker/README.md for the build.
//
// entry.mjs (the module wrangler runs) sends /api/* here and serves every
// other path from the static assets with Lookalike's headers.
//
// Built natively it serves the API over HTTP from a staged folder
// (LOOKALIKE_SITE, default .cache/site), for debugging without workerd.
package main

import (
	"github.com/lookalike/lookalike/wasm/worker/edge"
	"github.com/syumai/workers"
)

// dataPrefix is the staged folder's place inside the site.
const dataPrefix = "/_worker/"

func main() {
	workers.Serve(edge.Handler(newStore()))
}
