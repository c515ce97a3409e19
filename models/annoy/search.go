package annoy

import (
	"errors"
	"fmt"
	"math"

	"github.com/lookalike/lookalike/internal/topk"
	"github.com/lookalike/lookalike/internal/vec"
)

// Scorer gives the exact similarity between a unit-length query and a
// stored item. *Index is one (its own float32 item vectors); a vector file
// (float32 or int8 with per-vector scales) can be another, so candidates can
// be re-ranked without the index's item nodes.
type Scorer interface {
	// Score returns the cosine similarity of q (unit length, len == Dim)
	// and item's stored vector.
	Score(q []float32, item int) float32
}

// Filter says whether an item may appear in the results (for example: it is
// in the shopper's chosen section). nil means every item.
type Filter func(item int) bool

// Options control a search.
type Options struct {
	// K is the number of results wanted (> 0).
	K int
	// SearchK is how many distinct candidates passing Filter the tree search
	// collects before re-ranking; <= 0 means DefaultSearchK(K, NumTrees,
	// NumItems).
	// Larger is slower and more accurate. Exact ignores it.
	SearchK int
	// Filter restricts the results; nil keeps every item.
	Filter Filter
	// Rerank scores candidates; nil uses the index's own item vectors.
	Rerank Scorer
}

// Result is one hit: an item index and its cosine similarity to the query.
type Result struct {
	Item  int
	Score float32
}

// DefaultSearchK is the candidate budget used when Options.SearchK is 0:
// Annoy's default k·trees, but at least 100·k and DefaultBudget (or a
// quarter of the items when that is fewer).
//
// Measured on the 40,142-product fashion catalogue (268-d LDA+PCA
// embeddings, 16 trees, a product's own vector as the query with the
// product left out, e2e/cmd/benchgo): recall@10 against the exact scan is
// 0.885 at search_k 500, 0.952 at 1,000, 0.987 at 2,000, 0.991 at 3,000,
// 0.994 at 4,000 and 1.000 at 10,000 (items/4, the old default, 3× slower);
// recall@24 is 0.985 at 3,000. Synthetic clustered 64-d data with no real
// structure needs more (TestRecallVsExact: 0.96 at 5,000 of 20k): set
// Options.SearchK for such data.
func DefaultSearchK(k, trees, items int) int {
	return max(k*trees, 100*k, min(items/4, DefaultBudget))
}

// DefaultBudget is DefaultSearchK's floor (see there for the measurements).
const DefaultBudget = 3000

// ErrQuery is wrapped by errors about the query itself.
var ErrQuery = errors.New("annoy: bad query")

var errNoScorer = fmt.Errorf("%w: the index was loaded without its item vectors (LoadSplits): set Options.Rerank", ErrQuery)

// Score implements Scorer with the index's own item vectors: the cosine
// between q (unit length) and item's vector. Empty slots score -2.
func (ix *Index) Score(q []float32, item int) float32 {
	if !ix.HasItem(item) || item < ix.first {
		return -2
	}
	v := ix.vec(item)
	norm := math.Float32frombits(ix.words[item*ix.stride+1])
	if !(norm > 0) || math.IsInf(float64(norm), 0) {
		norm = Dot(v, v)
	}
	if !(norm > 0) {
		return 0
	}
	return Dot(q, v) / float32(math.Sqrt(float64(norm)))
}

var _ Scorer = (*Index)(nil)

// Dot returns the dot product of a and b (len(b) >= len(a)).
func Dot(a, b []float32) float32 { return vec.Dot(a, b) }

// unitQuery checks q and returns a unit-length copy.
func unitQuery(q []float32, dim int) ([]float32, error) {
	if len(q) != dim {
		return nil, fmt.Errorf("%w: query has %d dimensions, index has %d", ErrQuery, len(q), dim)
	}
	n := Dot(q, q)
	if !(n > 0) || math.IsInf(float64(n), 0) {
		return nil, fmt.Errorf("%w: query vector has zero or non-finite length", ErrQuery)
	}
	inv := float32(1 / math.Sqrt(float64(n)))
	u := make([]float32, dim)
	for i, x := range q {
		u[i] = x * inv
	}
	return u, nil
}

func checkK(k int) error {
	if k <= 0 {
		return fmt.Errorf("%w: K must be positive, got %d", ErrQuery, k)
	}
	return nil
}

// Search runs Annoy's best-first tree search for q, keeps candidates that
// pass opt.Filter, re-ranks them exactly and returns up to opt.K results,
// best first (ties by lower item index). Safe for concurrent use.
func (ix *Index) Search(q []float32, opt Options) ([]Result, error) {
	if err := checkK(opt.K); err != nil {
		return nil, err
	}
	u, err := unitQuery(q, ix.dim)
	if err != nil {
		return nil, err
	}
	searchK := opt.SearchK
	if searchK <= 0 {
		searchK = DefaultSearchK(opt.K, len(ix.roots), ix.nItems)
	}
	scorer := opt.Rerank
	if scorer == nil {
		if ix.SplitsOnly() {
			return nil, errNoScorer
		}
		scorer = ix
	}
	seenItem := make([]uint64, (ix.nItems+63)/64)
	seenNode := make([]uint64, (ix.nNodes+63)/64)
	top := topk.New(opt.K)
	found := 0
	take := func(item int32) {
		it := int(item)
		w, b := it>>6, uint64(1)<<(it&63)
		if seenItem[w]&b != 0 {
			return
		}
		seenItem[w] |= b
		if ix.nDesc(it) != 1 || (opt.Filter != nil && !opt.Filter(it)) {
			return
		}
		found++
		top.Push(it, scorer.Score(u, it))
	}
	pq := make(maxHeap, 0, 64)
	for _, r := range ix.roots {
		pq.push(float32(math.Inf(1)), r)
	}
	for found < searchK && len(pq) > 0 {
		d, i := pq.pop()
		// In a valid forest every node is reached once; the mark makes
		// hostile files with cycles terminate too.
		w, b := int(i)>>6, uint64(1)<<(int(i)&63)
		if seenNode[w]&b != 0 {
			continue
		}
		seenNode[w] |= b
		nd := int(ix.nDesc(int(i)))
		switch {
		case nd == 1 && int(i) < ix.nItems:
			take(i)
		case nd <= ix.k:
			if nd < 1 {
				continue
			}
			base := int(i)*ix.stride - ix.off + 1
			for _, c := range ix.words[base : base+nd] {
				take(int32(c))
			}
		default:
			m := Dot(u, ix.vec(int(i)))
			pq.push(min(d, m), ix.child(int(i), 1))
			pq.push(min(d, -m), ix.child(int(i), 0))
		}
	}
	return results(top), nil
}

// Exact scores every item of the index against q with opt.Rerank (or the
// index's own vectors) and returns the best opt.K that pass opt.Filter.
func (ix *Index) Exact(q []float32, opt Options) ([]Result, error) {
	if err := checkK(opt.K); err != nil {
		return nil, err
	}
	u, err := unitQuery(q, ix.dim)
	if err != nil {
		return nil, err
	}
	top := topk.New(opt.K)
	if opt.Rerank == nil {
		if ix.SplitsOnly() {
			return nil, errNoScorer
		}
		for it := 0; it < ix.nItems; it++ {
			if ix.nDesc(it) != 1 || (opt.Filter != nil && !opt.Filter(it)) {
				continue
			}
			top.Push(it, ix.Score(u, it))
		}
		return results(top), nil
	}
	for it := 0; it < ix.nItems; it++ {
		if ix.nDesc(it) != 1 || (opt.Filter != nil && !opt.Filter(it)) {
			continue
		}
		top.Push(it, opt.Rerank.Score(u, it))
	}
	return results(top), nil
}

// BruteForce scores items 0..n-1 with s against q (which it normalises) and
// returns the best k that pass filter. Use it when there is no tree index,
// for example with only a vector file loaded.
func BruteForce(s Scorer, n int, q []float32, k int, filter Filter) ([]Result, error) {
	if err := checkK(k); err != nil {
		return nil, err
	}
	u, err := unitQuery(q, len(q))
	if err != nil {
		return nil, err
	}
	top := topk.New(k)
	for it := 0; it < n; it++ {
		if filter != nil && !filter(it) {
			continue
		}
		top.Push(it, s.Score(u, it))
	}
	return results(top), nil
}

// PreferExact reports whether to answer a query with the exact scan rather
// than the tree search, given how many items can pass the query's filter
// (the whole catalogue, or the chosen section's count from the manifest).
//
// The filter is checked before any vector is touched, so an exact scan of
// a section costs in proportion to the section, while the tree search must
// wade through the other sections' leaves to collect search_k passing
// candidates, and its recall drops when few items near the query pass.
// Measured in js/wasm on the 40,142-product fashion catalogue (int8 vector
// scoring, 16 trees, default search_k, p50 per query, recall@10):
// unfiltered, the tree takes 1.8 ms at recall 0.99 and the exact scan
// 15 ms; restricted to Apparel (19,452 items) the exact scan takes 7.6 ms
// and the tree 2.0 ms at recall 0.94; to Accessories (10,241) 4.3 vs
// 4.7 ms at 0.98; to Footwear (8,370) 3.6 vs 5.6 ms at 0.78. So: exact up
// to ExactThreshold candidate items, tree above.
func PreferExact(items int) bool { return items <= ExactThreshold }

// ExactThreshold is the number of filter-passing items up to which
// PreferExact chooses the exact scan (see PreferExact for the numbers).
const ExactThreshold = 20000

// maxHeap is Annoy's priority queue of (margin, node): largest margin first,
// ties to the larger node id, like std::priority_queue<pair<T, S>>.
type maxHeap []pqEntry

type pqEntry struct {
	d float32
	n int32
}

func (e pqEntry) less(o pqEntry) bool { return e.d < o.d || (e.d == o.d && e.n < o.n) }

func (h *maxHeap) push(d float32, n int32) {
	*h = append(*h, pqEntry{d, n})
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !a[p].less(a[i]) {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *maxHeap) pop() (float32, int32) {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(a) {
			break
		}
		c := l
		if r := l + 1; r < len(a) && a[l].less(a[r]) {
			c = r
		}
		if !a[i].less(a[c]) {
			break
		}
		a[i], a[c] = a[c], a[i]
		i = c
	}
	*h = a
	return top.d, top.n
}

// results converts the kept entries, best first.
func results(t *topk.List) []Result {
	kept := t.Sorted()
	out := make([]Result, len(kept))
	for i, e := range kept {
		out[i] = Result{e.Item, e.Score}
	}
	return out
}
