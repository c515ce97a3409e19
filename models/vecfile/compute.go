package vecfile

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/lookalike/lookalike/internal/topk"
	"github.com/lookalike/lookalike/internal/vec"
)

// ComputeNeighbors finds, for each of the n = len(vecs)/dim unit vectors,
// its k most similar other items by cosine (dot product), exactly: within
// its own section (sections[i]; nil means one section) and, if global is
// set, over all items. Ties go to the lower item index. It scans all pairs
// in blocks of items with every core: about n²·dim multiply-adds (40k ×
// 256 takes tens of seconds natively), so it is the plain reference: the
// builder computes the same lists with SGEMM blocks
// (builder/internal/build/neighbors.go, tested against this function).
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
			sec := make([]topk.List, block)
			glo := make([]topk.List, block)
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
					sec[b].Reset(k)
					glo[b].Reset(k)
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
						s := vec.Dot(vecs[i*dim:(i+1)*dim], vj)
						if same {
							sec[i-i0].Push(j, s)
						}
						if global {
							glo[i-i0].Push(j, s)
						}
					}
				}
				for i := i0; i < i1; i++ {
					nl.Section[i] = neighbors(&sec[i-i0])
					if global {
						nl.Global[i] = neighbors(&glo[i-i0])
					}
				}
			}
		}()
	}
	wg.Wait()
	return nl, nil
}

// neighbors converts the kept entries, best first.
func neighbors(t *topk.List) []Neighbor {
	kept := t.Sorted()
	out := make([]Neighbor, len(kept))
	for i, e := range kept {
		out[i] = Neighbor{uint32(e.Item), e.Score}
	}
	return out
}
