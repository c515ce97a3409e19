package search

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/cf"
)

// Personal is the shopper's own on-device history, sent with a query by the
// page (never leaves the device). The engine keeps none of it between
// queries. Products no longer in the catalogue, search vectors of another
// dimension (assets rebuilt since) and non-finite values are skipped.
type Personal struct {
	Likes    []Signal       `json:"likes,omitempty"`    // products the shopper hearted
	Views    []Signal       `json:"views,omitempty"`    // products the shopper opened ("more like this", clicked)
	Searches []VectorSignal `json:"searches,omitempty"` // embeddings of the shopper's own photo searches (never the photo)
	// WCF and WPersonal override the manifest's weights for this query
	// (nil = manifest default; must be ≥ 0).
	WCF       *float32 `json:"w_cf,omitempty"`
	WPersonal *float32 `json:"w_personal,omitempty"`
}

// MaxSignals is how many signals of each kind (likes, views, searches) a
// query uses, newest first; the page keeps as many (static/personal.js
// LIMIT, from static/lookalike/gen_formats.js).
const MaxSignals = 200

// Signal is one product the shopper touched, AgeSeconds ago.
type Signal struct {
	ID         string  `json:"id"`
	AgeSeconds float64 `json:"age_seconds"`
	// Vector, on a like, is the product's stored vector kept with the
	// heart (static/personal.js). The engine reads its own copy and
	// ignores it; SimilarFromLists, the carousel's rule, ranks with it.
	Vector []float32 `json:"vector,omitempty"`
}

// VectorSignal is one of the shopper's photo searches: the embedding the
// engine computed for it (Engine.Embedder's output), AgeSeconds ago.
type VectorSignal struct {
	Vector     []float32 `json:"vector"`
	AgeSeconds float64   `json:"age_seconds"`
}

// Empty reports whether p carries no signal (nil included): such a query
// ranks by looks alone, exactly as without Personal.
func (p *Personal) Empty() bool {
	return p == nil || len(p.Likes)+len(p.Views)+len(p.Searches) == 0
}

// Blend holds the scoring rule's parameters:
//
//	score = visual + WCF·cf + WPersonal·personal
//
// visual is the cosine between the query and the item; cf is the item's
// collaborative affinity to the shopper's decayed likes and views (and,
// for "more like this", to the product itself), divided by the largest
// affinity any item has to them, so 0..1; personal is the cosine between
// the item and the shopper's taste vector (decayed weighted mean of liked
// products, viewed products and searched photos). See docs/personal.md.
type Blend struct {
	WCF, WPersonal float32
	// HalfLife is the age at which a signal counts half; 0 = no decay.
	HalfLife time.Duration
}

// DefaultBlend is used for whatever the manifest's "blend" section does not
// set. Chosen with `builder blend-eval` on SIMULATED shoppers
// (docs/personal.md): w_personal is the best precision@10 of the preferred
// articleType+colour for a photo of the preferred type, alone, while a
// photo of another type keeps ≥ 90 % of its visual top 10; w_cf is then
// the best on top of it keeping ≥ 80 %. Real interaction logs are noisier
// than the simulation: a shop can lower w_cf with `build --w-cf`. The
// simulation cannot measure the half-life (its histories span hours): one
// week is a choice, not a measurement.
var DefaultBlend = Blend{WCF: 2.5, WPersonal: 0.15, HalfLife: 7 * 24 * time.Hour}

// SignalWeights weigh the kinds of signal inside the two terms (before
// time decay). The zero value means DefaultSignals.
type SignalWeights struct {
	Like      float32 // a hearted product: CF history and taste vector
	View      float32 // an opened product: CF history
	ViewTaste float32 // an opened product: taste vector
	Search    float32 // a photo search's vector: taste vector
	Product   float32 // "more like this": the product itself, CF history
}

// DefaultSignals: a heart says more than a view; a photo search says what
// the shopper looks for but not that they liked any product. Views feed the
// CF term only: in blend-eval, counting them in the taste vector too moved
// precision and disruption together, no better per result changed.
var DefaultSignals = SignalWeights{Like: 1, View: 0.5, ViewTaste: 0, Search: 0.5, Product: 1}

// Blend returns the engine's blend: the manifest's fields over
// DefaultBlend.
func (e *Engine) Blend() Blend {
	b := DefaultBlend
	if mb := e.Manifest.Blend; mb != nil {
		if mb.WCF != nil {
			b.WCF = float32(*mb.WCF)
		}
		if mb.WPersonal != nil {
			b.WPersonal = float32(*mb.WPersonal)
		}
		if mb.HalfLifeHours != nil {
			b.HalfLife = time.Duration(*mb.HalfLifeHours * float64(time.Hour))
		}
	}
	return b
}

func (e *Engine) signals() SignalWeights {
	if e.Signals == (SignalWeights{}) {
		return DefaultSignals
	}
	return e.Signals
}

// poolSize is how many visual candidates a blended query re-ranks.
func poolSize(k int) int { return max(4*k, 100) }

// blendCtx is one query's resolved personal signals; nil when blending
// would not change the visual order.
type blendCtx struct {
	wCF, wPersonal float32
	cf             map[int32]float32 // raw affinity
	cfScale        float32           // 1 / max affinity
	taste          []float32         // unit length, or nil
}

// decay is 0.5^(age/halfLife); ages ≤ 0 (or NaN) count fully.
func decay(age float64, halfLife time.Duration) float64 {
	if halfLife <= 0 || !(age > 0) {
		return 1
	}
	return math.Exp2(-age / halfLife.Seconds())
}

// weights is the engine's Blend with p's overrides, which must be ≥ 0.
func (e *Engine) weights(p *Personal) (Blend, error) {
	b := e.Blend()
	var err error
	if b.WCF, err = weightOf(p.WCF, b.WCF, "w_cf"); err != nil {
		return b, err
	}
	b.WPersonal, err = weightOf(p.WPersonal, b.WPersonal, "w_personal")
	return b, err
}

func weightOf(override *float32, def float32, name string) (float32, error) {
	if override == nil {
		return def, nil
	}
	w := *override
	if !(w >= 0) || math.IsInf(float64(w), 0) {
		return 0, fmt.Errorf("search: personal %s = %v, want a finite weight ≥ 0", name, w)
	}
	return w, nil
}

// personalize resolves p against the engine's assets. product ≥ 0 is the
// "more like this" product, whose own CF neighbours join the history.
func (e *Engine) personalize(p *Personal, product int) (*blendCtx, error) {
	if p.Empty() {
		return nil, nil
	}
	b, err := e.weights(p)
	if err != nil {
		return nil, err
	}
	wCF, wP, sw := b.WCF, b.WPersonal, e.signals()
	c := &blendCtx{wCF: wCF, wPersonal: wP}
	if wCF > 0 && e.CF != nil {
		var hist []cf.ItemWeight
		add := func(sigs []Signal, w float32) {
			for _, s := range sigs {
				if i, ok := e.Display.IndexOf(s.ID); ok {
					hist = append(hist, cf.ItemWeight{Item: int32(i), Weight: float64(w * float32(decay(s.AgeSeconds, b.HalfLife)))})
				}
			}
		}
		add(p.Likes, sw.Like)
		add(p.Views, sw.View)
		if product >= 0 {
			hist = append(hist, cf.ItemWeight{Item: int32(product), Weight: float64(sw.Product)})
		}
		if aff, best := e.CF.Affinity(hist); best > 0 {
			c.cf, c.cfScale = aff, 1/best
		}
	}
	if wP > 0 {
		c.taste = e.tasteVector(p, b.HalfLife, sw)
	}
	if c.cf == nil && c.taste == nil {
		return nil, nil
	}
	return c, nil
}

// tasteVector is the normalised, decayed weighted mean of the unit vectors
// of liked and viewed products and searched photos; nil if nothing counts.
func (e *Engine) tasteVector(p *Personal, halfLife time.Duration, sw SignalWeights) []float32 {
	dim := e.Manifest.Model.Embedding.Dim
	sum := make([]float32, dim)
	var buf []float32
	var total float32
	addVec := func(v []float32, w float32) {
		if len(v) != dim || !(w > 0) {
			return
		}
		n := annoy.Dot(v, v)
		if !(n > 0) || math.IsInf(float64(n), 0) {
			return
		}
		s := w / float32(math.Sqrt(float64(n)))
		for j, x := range v {
			sum[j] += s * x
		}
		total += w
	}
	items := func(sigs []Signal, w float32) {
		if w <= 0 {
			return
		}
		for _, s := range sigs {
			if i, ok := e.Display.IndexOf(s.ID); ok {
				buf = e.ItemVector(i, buf)
				addVec(buf, w*float32(decay(s.AgeSeconds, halfLife)))
			}
		}
	}
	items(p.Likes, sw.Like)
	items(p.Views, sw.ViewTaste)
	if sw.Search > 0 {
		for _, s := range p.Searches {
			addVec(s.Vector, sw.Search*float32(decay(s.AgeSeconds, halfLife)))
		}
	}
	n := annoy.Dot(sum, sum)
	if total == 0 || !(n > 0) || math.IsInf(float64(n), 0) {
		return nil
	}
	inv := float32(1 / math.Sqrt(float64(n)))
	for j := range sum {
		sum[j] *= inv
	}
	return sum
}

// ItemVector returns item i's stored vector (the vectors asset when loaded,
// else a copy of the index's) in dst's memory.
func (e *Engine) ItemVector(i int, dst []float32) []float32 {
	switch {
	case e.Vectors != nil:
		return e.Vectors.Vector(i, dst)
	case e.Index != nil:
		return append(dst[:0], e.Index.Item(i)...)
	case e.Stored != nil:
		if v, err := e.Stored.Vector(i, dst); err == nil {
			return v
		}
	}
	return e.Codes.Decode(i, dst)
}

// scorer is what the visual search scores with: the index's own item
// vectors, or the vector file when the index was loaded without them.
func (e *Engine) scorer() annoy.Scorer {
	switch {
	case e.Index == nil && e.Vectors != nil:
		return e.Vectors
	case e.Index == nil:
		return codesScorer{e.Codes}
	case e.Index.SplitsOnly():
		return e.Vectors
	}
	return e.Index
}

// rerank scores the candidates (Score on entry: the visual similarity,
// plus the heads' agreement when they applied) with the blend and returns
// the best k, ties by item index.
func (c *blendCtx) rerank(e *Engine, hits []Hit, k int) []Hit {
	sc := e.scorer()
	for i := range hits {
		h := &hits[i]
		s := h.Score
		if c.cf != nil {
			s += c.wCF * c.cf[int32(h.Index)] * c.cfScale
		}
		if c.taste != nil {
			s += c.wPersonal * sc.Score(c.taste, h.Index)
		}
		h.Score = s
	}
	sort.Slice(hits, func(a, b int) bool {
		if hits[a].Score != hits[b].Score {
			return hits[a].Score > hits[b].Score
		}
		return hits[a].Index < hits[b].Index
	})
	return hits[:min(k, len(hits))]
}
