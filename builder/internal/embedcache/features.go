//go:build !js

package embedcache

import (
	"image"

	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/engine"
)

// Features says what the embedding cache stores for a model: both raw
// pooled outputs when the model has them, else the configured pooling's
// features.
type Features struct {
	Key      string // part of the cache key: "gap|gmp", or the pooling, + "|int8" for int8 activations
	Compute  func([]image.Image) ([][]float32, error)
	Features func(cached []float32) []float32 // the embedder's features from a cached vector
}

// NewFeatures is what the cache holds for emb.
//
// The activation precision is part of the key, so float32 and int8
// vectors of the same photo never mix (float32 keeps the key it always had).
func NewFeatures(emb *embed.Embedder) Features {
	f := Features{Key: string(emb.Pooling()), Compute: emb.Features,
		Features: func(v []float32) []float32 { return v }}
	if emb.HasBothPoolings() {
		f = Features{Key: "gap|gmp", Compute: emb.PooledBoth, Features: emb.FromPooled}
	}
	if p := emb.Activations(); p != engine.FP32 {
		f.Key += "|" + string(p)
	}
	return f
}

// Dim is the length of the cached vectors (one model run on a blank image).
func (c Features) Dim() (int, error) {
	v, err := c.Compute([]image.Image{image.NewRGBA(image.Rect(0, 0, 1, 1))})
	if err != nil {
		return 0, err
	}
	return len(v[0]), nil
}
