package cf

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"
)

// Weighting says how raw user×item weights become entries of the item×user
// matrix whose item rows are compared.
type Weighting int

const (
	// WeightBM25 treats each item as a document whose terms are its users:
	// users who touched many items get a low IDF (heavy users and bots say
	// little about any pair), and items with many users are length-
	// normalised (parameters K1, B). The default.
	WeightBM25 Weighting = iota
	// WeightTFIDF multiplies each weight by the user's IDF only.
	WeightTFIDF
	// WeightNone uses the raw weights (plain cosine of item vectors).
	WeightNone
)

func (w Weighting) String() string {
	switch w {
	case WeightBM25:
		return "bm25"
	case WeightTFIDF:
		return "tfidf"
	case WeightNone:
		return "none"
	}
	return fmt.Sprintf("Weighting(%d)", int(w))
}

// ParseWeighting is the inverse of Weighting.String.
func ParseWeighting(s string) (Weighting, error) {
	for _, w := range []Weighting{WeightBM25, WeightTFIDF, WeightNone} {
		if w.String() == s {
			return w, nil
		}
	}
	return 0, fmt.Errorf("cf: unknown weighting %q (want bm25, tfidf or none)", s)
}

// Options tunes Build. Start from DefaultOptions.
type Options struct {
	K         int           // neighbours kept per item (> 0)
	HalfLife  time.Duration // time decay half-life; 0 disables decay
	Now       int64         // decay reference (unix s); 0 = latest timestamp in the log
	Weighting Weighting
	K1, B     float64 // BM25 saturation and length normalisation
	// Alpha is the asymmetric-cosine exponent: sim(i→j) =
	// dot / (|i|^(2α) |j|^(2(1−α))); 0.5 is the plain cosine. Larger values
	// punish popular neighbours j less.
	Alpha float64
	// Shrink multiplies each similarity by n/(n+Shrink), n = number of users
	// who have both items, so pairs seen once rank below pairs seen often.
	Shrink float64
	// MinCommon drops pairs shared by fewer users.
	MinCommon int
	// MaxItemsPerUser keeps only a user's heaviest items (ties: earliest
	// item index), bounding the quadratic pair count of bots and crawlers.
	MaxItemsPerUser int
	// Workers bounds the goroutines; 0 = GOMAXPROCS. Output does not
	// depend on it.
	Workers int
}

// DefaultOptions returns the settings measured best on the real data sets
// (see docs/cf.md).
func DefaultOptions() Options {
	return Options{
		K:               24,
		HalfLife:        30 * 24 * time.Hour,
		Weighting:       WeightBM25,
		K1:              1.2,
		B:               0.75,
		Alpha:           0.5,
		Shrink:          10,
		MinCommon:       1,
		MaxItemsPerUser: 500,
	}
}

// Neighbor is one neighbour of an item with its similarity.
type Neighbor struct {
	Item  int32
	Score float32
}

// Model holds item-item neighbours. Items[i] is the id of item index i (the
// log's interning order); Neighbors[i] is sorted by Score descending, ties by
// Item ascending.
type Model struct {
	Items     []string
	Neighbors [][]Neighbor
	// Users[i] counts distinct users with a positive weight for item i
	// (popularity); Rows[i] counts accepted log rows naming item i.
	Users []int32
	Rows  []int32

	itemIndex map[string]int32
}

// ItemIndex returns the index of an item id, or -1.
func (m *Model) ItemIndex(id string) int32 {
	if i, ok := m.itemIndex[id]; ok {
		return i
	}
	return -1
}

type entry struct {
	idx int32
	val float64
}

// Build computes the top-K neighbours of every item in the log.
func Build(l *Log, opt Options) (*Model, error) {
	if l == nil {
		return nil, errors.New("cf: Build: nil log")
	}
	switch {
	case opt.K <= 0:
		return nil, fmt.Errorf("cf: Build: K = %d, want > 0", opt.K)
	case opt.HalfLife < 0:
		return nil, fmt.Errorf("cf: Build: negative half-life %v", opt.HalfLife)
	case opt.Weighting == WeightBM25 && (opt.K1 < 0 || opt.B < 0 || opt.B > 1):
		return nil, fmt.Errorf("cf: Build: BM25 K1=%g B=%g, want K1 ≥ 0 and 0 ≤ B ≤ 1", opt.K1, opt.B)
	case opt.Alpha < 0 || opt.Alpha > 1:
		return nil, fmt.Errorf("cf: Build: Alpha=%g, want 0..1", opt.Alpha)
	case opt.Shrink < 0:
		return nil, fmt.Errorf("cf: Build: Shrink=%g, want ≥ 0", opt.Shrink)
	}
	nItems, nUsers := len(l.Items), len(l.Users)
	m := &Model{
		Items:     l.Items,
		Neighbors: make([][]Neighbor, nItems),
		Users:     make([]int32, nItems),
		Rows:      make([]int32, nItems),
		itemIndex: make(map[string]int32, nItems),
	}
	for i, id := range l.Items {
		m.itemIndex[id] = int32(i)
	}

	// 1. Aggregate user×item weights with time decay.
	now := opt.Now
	if l.HasTime && now == 0 {
		for _, r := range l.Rows {
			now = max(now, r.Time)
		}
	}
	agg := make(map[uint64]float64, len(l.Rows))
	for _, r := range l.Rows {
		m.Rows[r.Item]++
		w := r.Weight
		if l.HasTime && opt.HalfLife > 0 {
			w *= Decay(now-r.Time, opt.HalfLife)
		}
		agg[uint64(r.User)<<32|uint64(uint32(r.Item))] += w
	}
	byUser := make([][]entry, nUsers)
	for k, w := range agg {
		if w <= 0 {
			continue
		}
		u, i := int32(k>>32), int32(uint32(k))
		byUser[u] = append(byUser[u], entry{i, w})
	}
	agg = nil
	for u, es := range byUser {
		sort.Slice(es, func(a, b int) bool {
			if es[a].val != es[b].val {
				return es[a].val > es[b].val
			}
			return es[a].idx < es[b].idx
		})
		if opt.MaxItemsPerUser > 0 && len(es) > opt.MaxItemsPerUser {
			es = es[:opt.MaxItemsPerUser]
		}
		sort.Slice(es, func(a, b int) bool { return es[a].idx < es[b].idx })
		byUser[u] = es
		for _, e := range es {
			m.Users[e.idx]++
		}
	}

	// 2. Weight the item×user matrix.
	activeItems := 0
	var totalLen float64
	itemLen := make([]float64, nItems)
	for _, es := range byUser {
		for _, e := range es {
			itemLen[e.idx] += e.val
		}
	}
	for i := range itemLen {
		if itemLen[i] > 0 {
			activeItems++
			totalLen += itemLen[i]
		}
	}
	avgLen := 1.0
	if activeItems > 0 {
		avgLen = totalLen / float64(activeItems)
	}
	for _, es := range byUser {
		if len(es) == 0 {
			continue
		}
		n := float64(len(es))
		idf := 1.0
		if opt.Weighting != WeightNone {
			// BM25's IDF, kept positive: log(1 + (N − n + 0.5)/(n + 0.5)).
			idf = math.Log(1 + (float64(activeItems)-n+0.5)/(n+0.5))
		}
		for k := range es {
			x := es[k].val
			if opt.Weighting == WeightBM25 {
				norm := opt.K1 * (1 - opt.B + opt.B*itemLen[es[k].idx]/avgLen)
				x = x * (opt.K1 + 1) / (x + norm)
			}
			es[k].val = x * idf
		}
	}
	byItem := make([][]entry, nItems)
	for u, es := range byUser {
		for _, e := range es {
			byItem[e.idx] = append(byItem[e.idx], entry{int32(u), e.val})
		}
	}
	norm2 := make([]float64, nItems)
	for i, es := range byItem {
		for _, e := range es {
			norm2[i] += e.val * e.val
		}
	}

	// 3. Sparse X·Xᵀ one item row at a time, top-K per row.
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, nItems))
	var wg sync.WaitGroup
	next := make(chan int, 256)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acc := make([]float64, nItems)
			cnt := make([]int32, nItems)
			var touched []int32
			var cand []Neighbor
			for i := range next {
				touched = touched[:0]
				for _, ue := range byItem[i] {
					for _, ie := range byUser[ue.idx] {
						j := ie.idx
						if int(j) == i {
							continue
						}
						if cnt[j] == 0 {
							touched = append(touched, j)
						}
						cnt[j]++
						acc[j] += ue.val * ie.val
					}
				}
				cand = cand[:0]
				for _, j := range touched {
					n := cnt[j]
					if int(n) >= opt.MinCommon && acc[j] > 0 {
						s := acc[j] / (math.Pow(norm2[i], opt.Alpha) * math.Pow(norm2[j], 1-opt.Alpha))
						if opt.Shrink > 0 {
							s *= float64(n) / (float64(n) + opt.Shrink)
						}
						if s > 0 && !math.IsInf(s, 0) && !math.IsNaN(s) {
							cand = append(cand, Neighbor{j, float32(s)})
						}
					}
					acc[j], cnt[j] = 0, 0
				}
				m.Neighbors[i] = topK(cand, opt.K)
			}
		}()
	}
	for i := 0; i < nItems; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return m, nil
}

// Decay returns 0.5^(age/halfLife): 1 for an event at the reference time,
// 0.5 one half-life earlier. Future events (negative age) are not boosted.
func Decay(age int64, halfLife time.Duration) float64 {
	if halfLife <= 0 || age <= 0 {
		return 1
	}
	return math.Exp2(-float64(age) / halfLife.Seconds())
}

// less orders neighbours by score descending, then item ascending.
func less(a, b Neighbor) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.Item < b.Item
}

// topK returns a fresh, sorted slice of the k best candidates.
func topK(cand []Neighbor, k int) []Neighbor {
	sort.Slice(cand, func(a, b int) bool { return less(cand[a], cand[b]) })
	if len(cand) > k {
		cand = cand[:k]
	}
	if len(cand) == 0 {
		return nil
	}
	return append([]Neighbor(nil), cand...)
}

// ItemWeight is one item of a shopper's history.
type ItemWeight struct {
	Item   int32
	Weight float64
}

// Recommend scores items for a history: score(j) = Σ_h weight(h) ·
// sim(h→j) over the stored neighbours, history items excluded, best n
// returned (fewer if the neighbours run out). Safe for concurrent use.
func (m *Model) Recommend(history []ItemWeight, n int) []Neighbor {
	if n <= 0 {
		return nil
	}
	seen := make(map[int32]bool, len(history))
	for _, h := range history {
		seen[h.Item] = true
	}
	acc := map[int32]float64{}
	for _, h := range history {
		if h.Item < 0 || int(h.Item) >= len(m.Neighbors) {
			continue
		}
		for _, nb := range m.Neighbors[h.Item] {
			if !seen[nb.Item] {
				acc[nb.Item] += h.Weight * float64(nb.Score)
			}
		}
	}
	cand := make([]Neighbor, 0, len(acc))
	for j, s := range acc {
		cand = append(cand, Neighbor{j, float32(s)})
	}
	return topK(cand, n)
}
