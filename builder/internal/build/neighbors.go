//go:build !js

package build

import (
	"runtime"
	"sync"

	"github.com/lookalike/lookalike/internal/topk"
	"github.com/lookalike/lookalike/models/engine"
)

// neighbor is one precomputed "similar to this product" entry.
type neighbor struct {
	Item  int
	Score float32
}

// exactNeighbors computes, for every item, its k most similar items of the
// same group (cosine on unit vectors; the item itself excluded), exactly:
// blocks of queries against all the group's items with the engine's GEMM.
// 40k items × 256-d take seconds, so no approximation is needed here.
func exactNeighbors(vecs []float32, dim int, group []int, k int) [][]neighbor {
	n := len(group)
	out := make([][]neighbor, n)
	members := map[int][]int{}
	for i, g := range group {
		members[g] = append(members[g], i)
	}
	for _, items := range members {
		m := len(items)
		// Bt = Vᵀ of the group (dim × m), A = query block rows.
		bt := make([]float32, dim*m)
		for c, it := range items {
			v := vecs[it*dim : (it+1)*dim]
			for j, x := range v {
				bt[j*m+c] = x
			}
		}
		const block = 128
		type job struct{ start int }
		jobs := make(chan job)
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := make([]float32, block*dim)
				c := make([]float32, block*m)
				for jb := range jobs {
					rows := min(block, m-jb.start)
					for r := 0; r < rows; r++ {
						it := items[jb.start+r]
						copy(a[r*dim:(r+1)*dim], vecs[it*dim:(it+1)*dim])
					}
					engine.Gemm(rows, m, dim, a, dim, bt, m, c, m, false)
					for r := 0; r < rows; r++ {
						self := jb.start + r
						out[items[self]] = topK(c[r*m:(r+1)*m], items, self, k)
					}
				}
			}()
		}
		for s := 0; s < m; s += block {
			jobs <- job{s}
		}
		close(jobs)
		wg.Wait()
	}
	return out
}

// topK picks the k best scores of row (indexed like items), skipping self,
// best first; ties go to the lower item index so results are deterministic.
func topK(row []float32, items []int, self, k int) []neighbor {
	t := topk.New(k)
	for c, s := range row {
		if c != self {
			t.Push(items[c], s)
		}
	}
	kept := t.Sorted()
	res := make([]neighbor, len(kept))
	for i, e := range kept {
		res[i] = neighbor{e.Item, e.Score}
	}
	return res
}
