// Package annoy reads, searches and (natively) builds angular float32 Annoy
// indexes whose bytes are exactly Spotify Annoy's ".ann" file format, so an
// index written here opens with annoy.AnnoyIndex(f, "angular").load(path)
// and an index written by Annoy opens here.
//
// # File layout
//
// An angular index over f-dimensional float32 vectors is an array of
// fixed-size nodes of 12+4f bytes, little-endian, with no header:
//
//	int32   n_descendants
//	int32   children[2]   (for item nodes: float32 norm = dot(v, v) in the first slot)
//	float32 v[f]
//
// Node i for i < NumItems is item i (n_descendants == 1, v = the item's
// vector). Split nodes (n_descendants > K, where K = (nodeSize-4)/4) hold the
// hyperplane normal in v and two children; leaf buckets (2 <= n_descendants
// <= K) reuse the children and v space for up to K item indices. The roots
// of the trees are copied to the end of the file, each with n_descendants ==
// NumItems, which is how a loader finds them.
//
// # Where it runs
//
// Load, Index.Search, Index.Exact and BruteForce work on plain []byte and
// []float32 and run natively and under GOOS=js GOARCH=wasm. Build uses
// goannoy's builder (which needs mmap) and exists only in native builds
// (file build.go, //go:build !js).
//
// # Concurrency
//
// An *Index is immutable after Load: any number of goroutines may search it
// at once. Build is safe to call concurrently on different inputs.
//
// # Search
//
// Search is Annoy's best-first search: a max-heap of (margin, node) that
// always expands the node whose split plane the query is least on the wrong
// side of, until SearchK distinct candidates that pass the caller's Filter
// have been collected. Candidates are then re-ranked exactly by cosine
// similarity against stored item vectors (the index's own, or any Scorer
// such as an int8 vector file). Exact scans every item with the same
// filter; PreferExact says which of the two to use for a catalogue size.
package annoy
