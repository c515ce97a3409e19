//go:build !js

package build

import (
	"math"
	"math/rand"
	"testing"

	"github.com/lookalike/lookalike/models/vecfile"
)

// The builder's SGEMM-blocked neighbours must equal vecfile's plain
// all-pairs reference, per section and globally.
func TestExactNeighborsMatchesReference(t *testing.T) {
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
	sections := make([]int32, n)
	for i := range group {
		group[i] = i % 3
		sections[i] = int32(i % 3)
	}
	ref, err := vecfile.ComputeNeighbors(vecs, dim, sections, k, true)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		got  [][]neighbor
		want [][]vecfile.Neighbor
	}{
		"section": {exactNeighbors(vecs, dim, group, k), ref.Section},
		"global":  {exactNeighbors(vecs, dim, make([]int, n), k), ref.Global},
	} {
		for i := 0; i < n; i++ {
			if len(c.got[i]) != k {
				t.Fatalf("%s: item %d: %d neighbours", name, i, len(c.got[i]))
			}
			for x := 0; x < k; x++ {
				g, w := c.got[i][x], c.want[i][x]
				if g.Item != int(w.Item) || math.Abs(float64(g.Score-w.Score)) > 1e-4 {
					t.Fatalf("%s: item %d rank %d: got %+v want %+v", name, i, x, g, w)
				}
			}
		}
	}
}
