// Package search answers shopper queries over built assets: the query-side
// twin of the builder. It loads a manifest's assets (model, projection,
// index, vectors, neighbours, display metadata), embeds a photo with
// models/embed, searches the Annoy index (or scans exactly, when that is
// faster for the number of items the filter lets through) with section and
// attribute filters, and re-ranks candidates exactly.
//
// The same code serves `go run ./builder query` natively and the browser
// engine (wasm/engine) in js/wasm. An Engine is safe for concurrent use
// once opened.
//
// Example:
//
//	e, err := search.Open(manifest, func(a catalog.Asset) ([]byte, error) { return os.ReadFile(a.File) }, search.Options{})
//	hits, _, err := e.SearchImage(photo, nil, search.Query{K: 10, Section: "Footwear"})
package search
