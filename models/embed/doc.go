// Package embed turns product photos into the vectors Lookalike searches:
// image bytes → imageprep (decode, orient, crop, resize, normalise) →
// engine (the ONNX image model) → pooled features → project (optional PCA /
// LDA) → L2 normalisation.
//
// The builder (native) and the browser engine (js/wasm) both call this
// package, so catalogue vectors and shopper query vectors come from the very
// same code and the same dequantised weights.
//
// An Embedder is safe for concurrent use: each call takes an engine session
// from a pool.
//
// Example:
//
//	e, err := embed.New(onnxBytes, embed.Options{Pooling: embed.GAP})
//	v, err := e.EmbedBytes(jpegBytes, nil) // unit-length vector
package embed
