package vecfile

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
)

// ComputeNeighbors finds, for each of the n = len(vecs)/dim unit vectors,
// its k most similar other items by cosine (dot product), exactly: within
// its own section (sections[i]; nil means one section) and, if global is
// set, over all items. Ties go to the lower item index. It scans all pairs
// in blocks of items with every core: about n²·dim multiply-adds (40k ×
// 256 takes tens of seconds natively), so it is the plain reference: the
// builder computes the same lists with SGEMM blocks (builder/neighbors.go,
// tested against this function).
func ComputeNeighbors(vecs []float32, dim int, sections []int32, k int, global bool) (NeighborLists, error) {
	if dim <= 0 || len(vecs)%dim != 0 {
		return NeighborLists{}, fmt.Errorf("vecfile: neighbours: %d floats is not a multiple of dimension %d", len(vecs), dim)
	}
	n := len(vecs) / dim
	if sections != nil && len(sections) != n {
		return NeighborLists{}, fmt.Errorf("vecfile: neighbours: %d section labels for %d items", len(sections), n)
	}
	if k <= 0 {
		return NeighborLists{}, fmt.Errorf("vecfile: neighbours: k=%d must be positive", k)
	}
	nl := NeighborLists{K: k, Section: make([][]Neighbor, n)}
	if global {
		nl.Global = make([][]Neighbor, n)
	}
	const block = 32
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sec := make([]topList, block)
			glo := make([]topList, block)
			for {
				mu.Lock()
				i0 := next
				next += block
				mu.Unlock()
				if i0 >= n {
					return
				}
				i1 := min(i0+block, n)
				for b := range i1 - i0 {
					sec[b].reset(k)
					glo[b].reset(k)
				}
				for j := 0; j < n; j++ {
					vj := vecs[j*dim : (j+1)*dim]
					for i := i0; i < i1; i++ {
						if i == j {
							continue
						}
						same := sections == nil || sections[i] == sections[j]
						if !same && !global {
							continue
						}
						s := dot(vecs[i*dim:(i+1)*dim], vj)
						if same {
							sec[i-i0].push(uint32(j), s)
						}
						if global {
							glo[i-i0].push(uint32(j), s)
						}
					}
				}
				for i := i0; i < i1; i++ {
					nl.Section[i] = sec[i-i0].sorted()
					if global {
						nl.Global[i] = glo[i-i0].sorted()
					}
				}
			}
		}()
	}
	wg.Wait()
	return nl, nil
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// topList keeps the k best neighbours in a min-heap (root = worst kept).
type topList struct {
	k int
	h []Neighbor
}

func (t *topList) reset(k int) { t.k, t.h = k, t.h[:0] }

func nbWorse(a, b Neighbor) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return a.Item > b.Item
}

func (t *topList) push(item uint32, s float32) {
	if s != s {
		return
	}
	e := Neighbor{item, s}
	h := t.h
	if len(h) < t.k {
		h = append(h, e)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if !nbWorse(h[i], h[p]) {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
		t.h = h
		return
	}
	if !nbWorse(h[0], e) {
		return
	}
	h[0] = e
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && nbWorse(h[r], h[l]) {
			c = r
		}
		if !nbWorse(h[c], h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

func (t *topList) sorted() []Neighbor {
	out := append([]Neighbor(nil), t.h...)
	sort.Slice(out, func(a, b int) bool { return nbWorse(out[b], out[a]) })
	return out
}
