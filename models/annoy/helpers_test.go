package annoy

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/lookalike/lookalike/internal/testenv"
)

// randomVectors returns n Gaussian vectors of dimension dim, row-major,
// from a fixed seed.
func randomVectors(n, dim int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	v := make([]float32, n*dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// clusteredVectors returns n vectors around `clusters` random centres
// (Gaussian noise of standard deviation spread per component, centres of
// unit variance per component): random data shaped more like image
// embeddings, which group by product type, than isotropic noise is.
func clusteredVectors(n, dim, clusters int, spread float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0xc1a5))
	centres := make([]float64, clusters*dim)
	for i := range centres {
		centres[i] = r.NormFloat64()
	}
	v := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		c := r.IntN(clusters)
		for j := 0; j < dim; j++ {
			v[i*dim+j] = float32(centres[c*dim+j] + spread*r.NormFloat64())
		}
	}
	return v
}

// unitRows L2-normalises each row of vecs in place.
func unitRows(vecs []float32, dim int) {
	for i := 0; i < len(vecs)/dim; i++ {
		v := vecs[i*dim : (i+1)*dim]
		var s float64
		for _, x := range v {
			s += float64(x) * float64(x)
		}
		inv := 1 / math.Sqrt(s)
		for j := range v {
			v[j] = float32(float64(v[j]) * inv)
		}
	}
}

// naiveTop returns the k best items by cosine, computed the slow obvious way
// in float64, among those passing keep.
func naiveTop(vecs []float32, dim int, q []float32, k int, keep func(int) bool) []int {
	n := len(vecs) / dim
	type pair struct {
		i int
		s float64
	}
	var ps []pair
	var qq float64
	for _, x := range q {
		qq += float64(x) * float64(x)
	}
	for i := 0; i < n; i++ {
		if keep != nil && !keep(i) {
			continue
		}
		var d, vv float64
		for j := 0; j < dim; j++ {
			a := float64(vecs[i*dim+j])
			d += a * float64(q[j])
			vv += a * a
		}
		ps = append(ps, pair{i, d / math.Sqrt(qq*vv)})
	}
	sort.Slice(ps, func(a, b int) bool {
		if ps[a].s != ps[b].s {
			return ps[a].s > ps[b].s
		}
		return ps[a].i < ps[b].i
	})
	out := make([]int, 0, k)
	for i := 0; i < k && i < len(ps); i++ {
		out = append(out, ps[i].i)
	}
	return out
}

func items(rs []Result) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = r.Item
	}
	return out
}

// recall is |got ∩ want| / |want|.
func recall(got, want []int) float64 {
	if len(want) == 0 {
		return 1
	}
	in := map[int]bool{}
	for _, g := range got {
		in[g] = true
	}
	hit := 0
	for _, w := range want {
		if in[w] {
			hit++
		}
	}
	return float64(hit) / float64(len(want))
}

// repoRoot is the folder holding go.mod.
func repoRoot(tb testing.TB) string { return testenv.RepoRoot(tb) }
