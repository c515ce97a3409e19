// Command engine is Lookalike's in-browser engine: the shared models/
// packages compiled with GOOS=js GOARCH=wasm and run, long-lived, inside the
// page's dedicated Web Worker (static/engine-worker.js).
//
// It registers one JavaScript object, globalThis.lookalike, whose methods
// take and return plain values (bytes as Uint8Array, everything else as
// strings and numbers; answers are JSON strings):
//
//	load(kind, bytes[, part, parts[, from]])
//	                                         -> {"ok":true} | {"error":{code,message}}
//	    kind: manifest first, then any asset kind the manifest lists; a split
//	    asset comes part by part (copied into one Go buffer); `from` is the
//	    file offset of the first part sent (the page sends the index from its
//	    split nodes on). The model is decoded as soon as it is complete;
//	    the projection may come after it (it is installed when it arrives).
//	prepare(bytes, cropJSON)                 -> {"ok":true}
//	    runs a photo through the model once the model is in, before ready,
//	    while the rest is still arriving; the next search of the same bytes
//	    and crop then only projects and scans. Does nothing before the model
//	    or for a photo it cannot read (search reports that).
//	ready()                                  -> {"items":N,"sections":{…},"attributes":{…},"dim":D,"memoryMB":M}
//	search(bytes, cropJSON, k, section, filtersJSON[, personalJSON])
//	                                         -> {"query":{…,"vector":[…]},"results":[…],"ms":{decode,embed,search}}
//	similar(productId, k, section, filtersJSON[, personalJSON])
//	                                         -> {"query":{…},"results":[…],"ms":{…}}
//	vector(productId)                        -> {"id":…,"vector":[…]} (stored, unit length)
//
// personalJSON is the shopper's on-device history (search.Personal: likes,
// views, searches, w_cf, w_personal); "" ranks by looks alone. Each result
// carries score (blended) and visual (the cosine alone).
//
// Error codes: unsupported, corrupt, too-large, empty, not-found, oom,
// bad-personal, internal (see static/README.md). The worker checks every asset's sha256
// against manifest.json before calling load.
//
// The logic is models/search (shared with `builder query`); session.go
// adapts it to the page's protocol (error codes, result records with
// thumbnail tiles, a cache of the last photo's embedding) and builds
// natively too, so it is tested with `go test ./wasm/engine`. main_js.go is
// only the syscall/js glue; natively, main just says how to build it.
//
// Where it runs: js/wasm, one instance per Web Worker. Go's js/wasm
// runtime is single-threaded and the worker handles one request at a time,
// so a session is not used concurrently (it is not safe for concurrent use).
package main
