package main

import (
	"math"
	"math/rand"
	"sort"
	"testing"
)

func TestExactNeighborsMatchesNaive(t *testing.T) {
	const n, dim, k = 300, 16, 5
	r := rand.New(rand.NewSource(3))
	vecs := make([]float32, n*dim)
	for i := range vecs {
		vecs[i] = float32(r.NormFloat64())
	}
	for i := 0; i < n; i++ {
		v := vecs[i*dim : (i+1)*dim]
		var s float64
		for _, x := range v {
			s += float64(x * x)
		}
		for j := range v {
			v[j] /= float32(math.Sqrt(s))
		}
	}
	group := make([]int, n)
	for i := range group {
		group[i] = i % 3
	}
	got := exactNeighbors(vecs, dim, group, k)
	for i := 0; i < n; i++ {
		type cand struct {
			j int
			s float64
		}
		var cs []cand
		for j := 0; j < n; j++ {
			if j == i || group[j] != group[i] {
				continue
			}
			var s float64
			for d := 0; d < dim; d++ {
				s += float64(vecs[i*dim+d]) * float64(vecs[j*dim+d])
			}
			cs = append(cs, cand{j, s})
		}
		sort.Slice(cs, func(a, b int) bool { return cs[a].s > cs[b].s })
		if len(got[i]) != k {
			t.Fatalf("item %d: %d neighbours", i, len(got[i]))
		}
		for x := 0; x < k; x++ {
			if got[i][x].Item != cs[x].j || math.Abs(float64(got[i][x].Score)-cs[x].s) > 1e-4 {
				t.Fatalf("item %d rank %d: got %+v want %+v", i, x, got[i][x], cs[x])
			}
		}
	}
}
