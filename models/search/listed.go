package search

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/lookalike/lookalike/models/vecfile"
)

// SimilarFromLists answers "more like this" as a client holding only the
// stored lists, and the few records they name, does: the embed's carousel
// (<lookalike-similar>, static/lookalike/assets.js), which has no engine.
// models/jsformat writes golden assets with this function's answers, and
// the node tests check that the carousel gets the same order and scores.
//
// The pool is the list vecfile.ChooseSimilar picks for product id and
// section, in stored order (SimilarChoice.Take, so it may be short in
// another section), with the stored scores as Visual. Without personal
// signals that is the answer, cut to k. With them the pool is re-ranked by
//
//	score = visual + w_cf·cf/max + w_personal·cos(item, taste)
//
// with Blend's weights, p's overrides, decay and DefaultSignals as for the
// engine, but from records a page may read (the same for every shopper on
// that page, never chosen by the history):
//
//   - cf(j) = Product·sim(i→j) from the product's own CF row, plus
//     Σ w_h·sim(j→h) over the liked (Like) and viewed (View) products h
//     found in candidate j's own row (the engine reads sim(h→j) from the
//     history's rows instead), divided by the largest cf in the pool;
//   - taste = the unit, decayed, weighted mean of the vectors kept with the
//     likes (Like; Signal.Vector) and of the searched photos (Search);
//     views keep no vector, so ViewTaste has no part here.
//
// The CF term needs a CF asset and w_cf > 0; the taste term a vector file
// and w_personal > 0. Ties go to the lower catalogue index. The sums are in
// float64 (the browser's numbers); scores are returned as float32.
func (e *Engine) SimilarFromLists(id string, k int, section string, p *Personal) ([]Hit, error) {
	i, ok := e.Display.IndexOf(id)
	if !ok {
		return nil, fmt.Errorf("search: unknown product id %q", id)
	}
	if e.Neighbors == nil {
		return nil, errors.New("search: no neighbours asset to answer from")
	}
	if k <= 0 || k > MaxK {
		return nil, fmt.Errorf("search: k %d out of range 1..%d", k, MaxK)
	}
	c := vecfile.ChooseSimilar(e.Neighbors.Header().Lists, e.Display.Item(i).Section, section)
	pool, err := c.Take(e.Neighbors.List(c, i), i, math.MaxInt, func(j int) (string, error) { return e.Display.Item(j).Section, nil })
	if err != nil {
		return nil, err
	}
	hits := make([]Hit, len(pool))
	for n, nb := range pool {
		j := int(nb.Item)
		hits[n] = Hit{Index: j, ID: e.Display.Item(j).ID, Score: nb.Score, Visual: nb.Score}
	}
	if !p.Empty() {
		if hits, err = e.rerankListed(i, hits, p); err != nil {
			return nil, err
		}
	}
	return hits[:min(k, len(hits))], nil
}

// rerankListed is SimilarFromLists' blend over the pool.
func (e *Engine) rerankListed(i int, hits []Hit, p *Personal) ([]Hit, error) {
	b, err := e.weights(p)
	if err != nil {
		return nil, err
	}
	wCF, wP, sw := b.WCF, b.WPersonal, e.signals()
	var cfOf map[int]float64
	var cfScale float64
	if wCF > 0 && e.CF != nil {
		hist := map[int32]float64{}
		add := func(sigs []Signal, w float32) {
			for _, s := range sigs {
				if h, ok := e.Display.IndexOf(s.ID); ok {
					hist[int32(h)] += float64(w) * decay(s.AgeSeconds, b.HalfLife)
				}
			}
		}
		add(p.Likes, sw.Like)
		add(p.Views, sw.View)
		own := map[int32]float64{}
		for _, nb := range e.CF.Row(i, nil) {
			own[nb.Item] = float64(nb.Score)
		}
		cfOf = map[int]float64{}
		var best float64
		for _, h := range hits {
			a := float64(sw.Product) * own[int32(h.Index)]
			for _, nb := range e.CF.Row(h.Index, nil) {
				a += hist[nb.Item] * float64(nb.Score)
			}
			if a > 0 {
				cfOf[h.Index] = a
				best = max(best, a)
			}
		}
		if best > 0 {
			cfScale = 1 / best
		} else {
			cfOf = nil
		}
	}
	var taste []float64
	if wP > 0 && e.Vectors != nil {
		taste = listedTaste(p, e.Vectors.Dim(), b, sw)
	}
	if cfOf == nil && taste == nil {
		return hits, nil
	}
	var buf []float32
	score := make(map[int]float64, len(hits))
	for n := range hits {
		h := &hits[n]
		s := float64(h.Visual)
		if cfOf != nil {
			s += float64(wCF) * cfOf[h.Index] * cfScale
		}
		if taste != nil {
			buf = e.Vectors.Vector(h.Index, buf)
			if u := unit64(buf); u != nil {
				var d float64
				for c, x := range u {
					d += x * taste[c]
				}
				s += float64(wP) * d
			}
		}
		h.Score = float32(s)
		score[h.Index] = s
	}
	sort.Slice(hits, func(a, b int) bool {
		if sa, sb := score[hits[a].Index], score[hits[b].Index]; sa != sb {
			return sa > sb
		}
		return hits[a].Index < hits[b].Index
	})
	return hits, nil
}

// listedTaste is the carousel's taste vector: the unit mean of the likes'
// kept vectors and the searched photos, weighted and decayed; nil if none
// counts.
func listedTaste(p *Personal, dim int, b Blend, sw SignalWeights) []float64 {
	sum := make([]float64, dim)
	var total float64
	add := func(v []float32, w float64) {
		u := unit64(v)
		if len(v) != dim || u == nil || !(w > 0) {
			return
		}
		for c, x := range u {
			sum[c] += w * x
		}
		total += w
	}
	for _, s := range p.Likes {
		add(s.Vector, float64(sw.Like)*decay(s.AgeSeconds, b.HalfLife))
	}
	for _, s := range p.Searches {
		add(s.Vector, float64(sw.Search)*decay(s.AgeSeconds, b.HalfLife))
	}
	if total == 0 {
		return nil
	}
	return unit64From(sum)
}

// unit64 is v at unit length in float64; nil for a zero, empty or
// non-finite vector.
func unit64(v []float32) []float64 {
	out := make([]float64, len(v))
	for c, x := range v {
		out[c] = float64(x)
	}
	return unit64From(out)
}

func unit64From(v []float64) []float64 {
	var n float64
	for _, x := range v {
		n += x * x
	}
	if !(n > 0) || math.IsInf(n, 0) {
		return nil
	}
	n = math.Sqrt(n)
	for c := range v {
		v[c] /= n
	}
	return v
}
