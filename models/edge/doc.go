// Package edge is the staged data format of Lookalike's edge worker
// (wasm/worker): the small lookup files `go run ./builder stage` cuts a
// build into, and the readers the worker's API (wasm/worker/api) answers
// from. The builder writes them, the worker reads them: both import this
// package, so the format has one owner and the builder never imports a
// wasm program.
//
// A request must not parse the whole catalogue (the display JSON is ~2 MB
// and the neighbour file ~11 MB for 40k items), so Stage cuts the built
// assets into a folder of small files, read through a Store:
//
//	meta.json           build id (manifest SHA-256), counts, K, sections, asset names
//	ids-<s>.txt         "<product id>"<TAB><item index> lines for ids with fnv32a(id) % IDShards == s
//	nb-<j>.bin          the neighbour file's 32-byte header + the records of items
//	                    j·ShardSize … (j+1)·ShardSize-1, byte for byte (see models/vecfile)
//	cards-<j>.jsonl     one Card (display data) per line for items
//	                    j·CardShardSize … (j+1)·CardShardSize-1
//
// A similar-products request reads meta.json, one ids shard, one nb shard
// and the card shards its neighbours fall in.
//
// Stage runs natively in the builder; the readers (ParseMeta, FindID,
// NeighborsAt, CardAt, CardField) run in js/wasm in the worker and natively
// in tests. Everything builds for both. The functions are pure and safe
// for concurrent use; Stage's result is not shared.
package edge
