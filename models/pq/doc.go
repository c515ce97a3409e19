// Package pq holds product-quantisation codes of the catalogue's item
// vectors: what the shopper's browser downloads and scans instead of an
// index and a vector file. A vector of Dim floats is cut into M subvectors
// of Dim/M (rounded up, the last zero-padded); each subvector is replaced by the index (one byte) of its
// nearest of K = 256 centroids learned for that subspace by k-means on
// the catalogue. A query is compared with every product by asymmetric
// distance computation: one table of M×K dot products between the query's
// subvectors and the centroids, then M table lookups per product
// (Codes.Scores).
//
// The file (codes-<hash>.bin, written by the builder, read by the browser
// engine and the native tools alike) is
//
//	header  32 bytes: magic "LKPQ", uint16 version, uint16 K, uint32 count,
//	        uint32 dim, uint32 M, 12 zero bytes
//	centroids  M·K·ceil(Dim/M) binary16 (version 2; float32 in version 1,
//	           still read), subspace by subspace
//	codes      count·M bytes, subspace by subspace (all products' byte for
//	           subspace 0, then subspace 1, …: the scan streams them)
//
// little-endian. Training is seeded (same vectors + seed = same bytes,
// natively and in js/wasm). A Codes value is read-only after Parse and
// safe for concurrent use; Train and Encode are pure functions.
//
//	cb, _ := pq.Train(vecs, dim, pq.TrainOptions{M: 32, Seed: 1})
//	file := pq.Write(cb, cb.Encode(vecs))
//	c, _ := pq.Parse(file)
//	scores := c.Scores(c.Table(query, nil), nil)
package pq
