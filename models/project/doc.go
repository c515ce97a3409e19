// Package project holds the linear map from the model's pooled features to
// the embedding Lookalike searches: centre, project (PCA, or LDA learned on a
// catalogue label column), then L2-normalise. The builder learns it
// (learn.go, native only); the browser engine applies the very same bytes.
//
// File format (little-endian; docs/formats.md has versions 3 and 4, the
// int8 and 4-bit rows the builder writes): magic "LKPJ", uint32 version (1 or 2),
// uint32 in, uint32 out, uint32 kind length + kind (e.g. "pca",
// "lda+pca"); version 2 then has uint32 block count, (uint32 out, float32
// weight) per block, uint32 has-bias; then in float32 means, out×in float32
// rows, and (if has-bias) out float32 biases. The identity projection (no
// file) is represented by a nil *Projection.
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
