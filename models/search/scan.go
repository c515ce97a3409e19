package search

import (
	"fmt"
	"sync"

	"github.com/lookalike/lookalike/internal/topk"
	"github.com/lookalike/lookalike/internal/vec"
	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/heads"
	"github.com/lookalike/lookalike/models/pq"
)

// The exhaustive scan: with a codes asset (models/pq) every product is
// scored, from its code, by the query's visual similarity plus, with a
// heads asset, Σ weight·p(the product's label) over the heads (type and
// colour): visual + type agreement + colour agreement. Without codes the
// same scan scores the exact stored vectors. With codes and the vector
// file both (the page fetches the vector file after its first results,
// builder query/eval read it from disk) the codes choose the best
// RerankPool and the stored vectors re-score them: the codes' recall of
// the exact top 10 is about 0.5 at 40k products (near-duplicates score
// within the codes' error of each other), the re-scored shortlist's 0.99.

// Predict runs the heads on a photo: one probability list per head (nil
// without heads).
func (e *Engine) Predict(p *embed.Photo) [][]float32 {
	if e.Heads == nil || p == nil {
		return nil
	}
	x := make([]float32, 0, e.Heads.In)
	x = append(x, p.Vector...)
	x = append(x, p.Colour...)
	if len(x) != e.Heads.In {
		return nil
	}
	return e.Heads.Predict(x)
}

// headTerm is Σ weight·p(label of item i).
func (e *Engine) headTerm(hp [][]float32, i int) float32 {
	var s float32
	for h, p := range hp {
		if l := e.Heads.Labels[h][i]; l != heads.NoLabel {
			s += e.Heads.Heads[h].Weight * p[l]
		}
	}
	return s
}

var scoreBufs = sync.Pool{New: func() any { return new(scanBuf) }}

type scanBuf struct {
	table  pq.Table
	scores []float32
}

// RerankPool is how many of the codes' best are re-scored by the stored
// vectors when both are loaded (at 40k products: recall of the exact top
// 10 0.96 with 100, 0.99 with 200, 1.0 with 1,000; docs/bench.md).
const RerankPool = 200

// StoredPool is how many of the codes' best are re-scored when the vector
// file is read from disk (Engine.Stored): at a million products, where
// near neighbours score within the codes' error of each other, the exact
// top 10 is within the codes' best 1,000 with probability 0.92, their
// best 2,048 with 0.96 and 2,500 with 0.97 (docs/scale.md); 2,560 records
// are 0.7 MB read from the local file, ≈ 4–9 ms in js/wasm.
const StoredPool = 2560

// scan scores every allowed product and keeps the best k.
func (e *Engine) scan(v []float32, hp [][]float32, k int, f annoy.Filter) []Hit {
	if e.Codes == nil || (e.Vectors == nil && e.Stored == nil) {
		res, hp := e.scanOnce(v, hp, k, f)
		return e.hitsOf(res, hp)
	}
	size := RerankPool
	if e.Vectors == nil {
		size = StoredPool
	}
	pool, hp := e.scanOnce(v, hp, max(k, size), f)
	buf := exactBufs.Get().(*exactBuf)
	defer exactBufs.Put(buf)
	if err := e.exactScores(v, pool, buf); err != nil {
		// The file on disk went away (storage cleared under the page) or
		// was damaged: the codes' own order, as before it was attached.
		return e.hitsOf(pool[:min(k, len(pool))], hp)
	}
	withHeads := len(hp) != 0 && e.Heads != nil
	top := topk.New(k)
	for j, r := range pool {
		s := buf.scores[j]
		if withHeads {
			s += e.headTerm(hp, r.Item)
		}
		top.Push(r.Item, s)
	}
	return e.hitsOf(top.Sorted(), hp)
}

// exactScores sets buf.scores[j] to the exact cosine of v with pool[j]'s
// stored vector: from the vector file in memory, else from the one on
// disk.
func (e *Engine) exactScores(v []float32, pool []topk.Entry, buf *exactBuf) error {
	buf.scores = buf.scores[:0]
	if e.Vectors != nil {
		for _, r := range pool {
			buf.scores = append(buf.scores, e.Vectors.Score(v, r.Item))
		}
		return nil
	}
	buf.items = buf.items[:0]
	for _, r := range pool {
		buf.items = append(buf.items, r.Item)
	}
	var err error
	buf.scores, buf.bytes, err = e.Stored.Scores(v, buf.items, buf.scores, buf.bytes)
	return err
}

var exactBufs = sync.Pool{New: func() any { return new(exactBuf) }}

type exactBuf struct {
	items  []int
	scores []float32
	bytes  []byte
}

// The type heads' neighbour vote: the query's predicted type is mixed with
// the types of its VoteK visually nearest allowed products, the more the
// less sure the head is — p' = (1−b)·p + b·share with b = VoteWeight·(1 −
// max p) — so a head torn between two types (a photo that is cropped,
// compressed or in a busy scene) borrows from what the photo looks most
// like, and a sure one is left nearly alone. Colour heads do not vote
// (heads.IsColour): visual neighbours share shape more than colour.
// Measured on held-out photos (docs/quality.md): every cell at 3k and 40k
// the same or better, busy scenes +0.037 on type at 40k.
const (
	VoteK      = 10
	VoteWeight = 0.8
)

// vote returns hp with the type heads' predictions mixed with the labels
// of the VoteK best by visual score (see VoteK); hp itself is not changed.
func (e *Engine) vote(hp [][]float32, scores []float32, f annoy.Filter) [][]float32 {
	nn := best(scores, VoteK, f)
	out := make([][]float32, len(hp))
	for h, p := range hp {
		out[h] = p
		if heads.IsColour(e.Heads.Heads[h].Column) || len(nn) == 0 {
			continue
		}
		var sure float32
		for _, x := range p {
			sure = max(sure, x)
		}
		b := VoteWeight * (1 - sure)
		q := make([]float32, len(p))
		for l, x := range p {
			q[l] = (1 - b) * x
		}
		for _, r := range nn {
			if l := e.Heads.Labels[h][r.Item]; l != heads.NoLabel {
				q[l] += b / float32(len(nn))
			}
		}
		out[h] = q
	}
	return out
}

// scanOnce scores every allowed product by the codes (or, without codes,
// the stored vectors) and keeps the best k; it returns the head
// predictions it scored with (after the vote).
func (e *Engine) scanOnce(v []float32, hp [][]float32, k int, f annoy.Filter) ([]topk.Entry, [][]float32) {
	buf := scoreBufs.Get().(*scanBuf)
	defer scoreBufs.Put(buf)
	n := e.Display.Len()
	var scores []float32
	if e.Codes != nil {
		buf.table = e.Codes.Table(v, buf.table)
		buf.scores = e.Codes.Scores(buf.table, buf.scores)
		scores = buf.scores
	} else {
		if cap(buf.scores) < n {
			buf.scores = make([]float32, n)
		}
		scores = buf.scores[:n]
		sc := e.scorer()
		for i := range scores {
			scores[i] = sc.Score(v, i)
		}
	}
	if len(hp) != 0 && e.Heads != nil {
		hp = e.vote(hp, scores, f)
		for h := range hp {
			w, labels, p := e.Heads.Heads[h].Weight, e.Heads.Labels[h], hp[h]
			for i, l := range labels {
				if l != heads.NoLabel {
					scores[i] += w * p[l]
				}
			}
		}
	}
	return best(scores, k, f), hp
}

// hitsOf turns scored items (visual + head terms with hp) into hits whose
// Visual is the score without the head terms.
func (e *Engine) hitsOf(res []topk.Entry, hp [][]float32) []Hit {
	out := make([]Hit, len(res))
	for j, r := range res {
		vis := r.Score
		if len(hp) != 0 && e.Heads != nil {
			vis -= e.headTerm(hp, r.Item)
		}
		out[j] = Hit{Index: r.Item, ID: e.Display.Item(r.Item).ID, Score: r.Score, Visual: vis, Base: r.Score}
	}
	return out
}

// best returns the k best allowed scores, best first, ties by index.
func best(scores []float32, k int, f annoy.Filter) []topk.Entry {
	top := topk.New(k)
	// Most of a million scores are below the k-th best so far: skipped
	// before the filter is asked or the heap touched (the same result).
	floor := top.Floor()
	for i, s := range scores {
		if s < floor || (f != nil && !f(i)) {
			continue
		}
		top.Push(i, s)
		floor = top.Floor()
	}
	return top.Sorted()
}

// codesScorer scores with the decoded product codes (the page's only
// copy of the vectors when it loads codes).
type codesScorer struct{ c *pq.Codes }

func (s codesScorer) Score(q []float32, i int) float32 {
	var buf [512]float32
	d := s.c.Decode(i, buf[:0])
	return vec.Dot(q, d)
}

// openCodes parses the codes and checks them against the catalogue.
func openCodes(b []byte, n, dim int) (*pq.Codes, error) {
	c, err := pq.Parse(b)
	if err != nil {
		return nil, err
	}
	if c.Len() != n || c.Dim != dim {
		return nil, fmt.Errorf("search: codes for %d×%d, catalogue %d×%d: assets from different builds", c.Len(), c.Dim, n, dim)
	}
	return c, nil
}
