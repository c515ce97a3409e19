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

// PhotoVersion names the photo pipeline (embed.Embedder.EmbedPhoto:
// localisation, colour) in the key of the cache of photo records; bump it
// when that pipeline changes.
const PhotoVersion = "photo-9"

// OpenPhotos opens the cache of embed.Photo records (shopper-like photos:
// the builder's augmented training photos, eval's query photos) of emb's
// model (its SHA-256) and product finder (emb.Objectness) under root,
// keyed like the embedding cache.
func OpenPhotos(root, modelSHA string, emb *embed.Embedder) (*Cache, error) {
	f := NewFeatures(emb)
	raw, err := f.Dim()
	if err != nil {
		return nil, err
	}
	spec, _ := emb.Spec().MarshalJSON()
	pipeline := f.Key + "|" + string(spec) + "|" + PhotoVersion
	if o := emb.Objectness(); o != nil {
		pipeline += "|objectness:" + o.Digest() // its boxes are the records' boxes
	}
	return Open(root, modelSHA, pipeline, embed.PhotoRecordDim(raw))
}

// Photo embeds img through the photo pipeline, or takes the result from
// the cache under key (pc may be nil: no cache). It reports whether the
// model ran.
func Photo(pc *Cache, key [32]byte, emb *embed.Embedder, img image.Image, localise bool) (*embed.Photo, bool, error) {
	if pc != nil {
		if rec, ok := pc.Get(key); ok {
			p, err := emb.PhotoFromRecord(rec)
			return p, false, err
		}
	}
	p, err := emb.EmbedPhoto(img, localise)
	if err != nil {
		return nil, false, err
	}
	if pc != nil {
		if err := pc.Put(key, p.Record()); err != nil {
			return nil, false, err
		}
	}
	return p, true, nil
}
