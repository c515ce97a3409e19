// Package api is the HTTP side of Lookalike's edge worker (wasm/worker):
// Handler answers /api/health, /api/similar/{id} and /api/products/{id}
// from the files `go run ./builder stage` writes (format: models/edge),
// read through an edge.Store; Cached keeps the files read in memory for
// the life of the worker's Go instance.
//
// It builds natively and for js/wasm: the worker runs it in workerd, the
// tests and `go run ./wasm/worker` run it natively over a folder. Handler
// and Cached are safe for concurrent use if their Store is.
//
//	h := api.Handler(api.Cached(store, 32<<20))
//	// GET /api/similar/p1?k=5 → {"build":…,"id":"p1","k":5,"list":"global","results":[…]}
package api
