// Package project holds the linear map from the model's pooled features to
// the embedding Lookalike searches: centre, project (PCA, or LDA learned on a
// catalogue label column), then L2-normalise. The builder learns it
// (learn.go, native only); the browser engine applies the very same bytes.
//
// File format (little-endian): magic "LKPJ", uint32 version (1), uint32 in,
// uint32 out, uint32 kind length + kind (e.g. "pca", "lda:articleType"),
// then in float32 means, then out×in float32 rows. The identity projection
// (no file) is represented by a nil *Projection.
//
// Apply works natively and in js/wasm. A Projection is immutable once built
// and safe for concurrent use.
//
// Example:
//
//	p, _ := project.LearnPCA(vectors, 256)
//	out := p.Apply(feat, nil)
//	project.Normalize(out)
package project
