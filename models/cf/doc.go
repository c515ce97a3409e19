// Package cf computes site-wide item-item collaborative-filtering neighbours
// from a shop's interactions log, offline, and stores them in a small binary
// asset the browser reads next to the visual neighbours.
//
// The pipeline is:
//
//	ReadLog (CSV: user/session, item, optional event or rating, optional
//	timestamp; bad rows become RowErrors with 1-based line numbers)
//	  → Build (per user×item weight = Σ event weight × time decay;
//	    BM25 weighting of the item×user matrix, which down-weights heavy
//	    users (IDF) and popular items (length normalisation); cosine
//	    similarity shrunk by n/(n+λ) over the co-occurring users; top-K)
//	  → Model.ForCatalog (re-key by catalogue item index, count unknown items)
//	  → Fallback / Blend with the visual neighbours (cold start)
//	  → WriteNeighbors (magic "LKCF", version, item count, K, fixed records).
//
// Model.Recommend scores a shopper's history against the neighbours; the
// metric functions (HitRate, Recall, NDCG) and Simulate (a documented,
// seeded shopper behaviour model over a catalogue; its output is simulated
// data, never evidence about real shoppers) support evaluation.
//
// Everything here is pure Go and builds natively and for js/wasm. Build uses
// goroutines but its output does not depend on scheduling: same input, same
// bytes. A built Model is read-only and safe for concurrent use; ReadLog and
// Build themselves are not shared-state functions and may run concurrently
// on different inputs.
//
// Example:
//
//	log, rowErrs, err := cf.ReadLog(f, cf.ReadOptions{})
//	m, err := cf.Build(log, cf.DefaultOptions())
//	rows, rep := m.ForCatalog(catalogueIDs)
//	rows = cf.Fallback(rows, visualRows, 24)
//	err = cf.WriteNeighbors(out, rows, 24)
package cf
