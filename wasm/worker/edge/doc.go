// Package edge is the data side of Lookalike's edge worker (wasm/worker):
// the small per-request lookup files the builder stages next to the site,
// and the HTTP handler that answers /api/* from them.
//
// The worker's runtime (github.com/syumai/workers) starts a fresh wasm
// instance for every request, so nothing survives between requests and
// the handler must not parse the whole catalogue each time (the display
// JSON is ~2 MB and the neighbour file ~11 MB for 40k items). Stage
// therefore cuts the built assets into a folder of small files, read
// through a Store:
//
//	meta.json           build id (manifest SHA-256), counts, K, sections, asset names
//	ids-<s>.txt         "<product id>"<TAB><item index> lines for ids with fnv32a(id) % IDShards == s
//	nb-<j>.bin          the neighbour file's 32-byte header + the records of items
//	                    j·ShardSize … (j+1)·ShardSize-1, byte for byte (see models/vecfile)
//	cards-<j>.jsonl     one Card (display data) per line for items
//	                    j·CardShardSize … (j+1)·CardShardSize-1
//
// A similar-products request reads meta.json, one ids shard, one nb shard
// and the card shards its neighbours fall in (fetched concurrently).
//
// Stage runs natively in the builder (`go run ./builder stage`); Handler
// runs in js/wasm in the worker and natively in tests. Everything builds
// for both. Handler is safe for concurrent use if its Store is; Stage's
// result is not shared.
package edge
