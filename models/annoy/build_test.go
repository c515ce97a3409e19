package annoy

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

func TestBuildLayout(t *testing.T) {
	const n, dim, trees = 300, 8, 5
	vecs := randomVectors(n, dim, 1)
	unitRows(vecs, dim)
	data, err := Build(vecs, dim, BuildOptions{Trees: trees, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	ns := 12 + 4*dim
	if len(data)%ns != 0 {
		t.Fatalf("size %d not a multiple of node size %d", len(data), ns)
	}
	nNodes := len(data) / ns
	i32 := func(off int) int32 { return int32(binary.LittleEndian.Uint32(data[off:])) }
	f32 := func(off int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(data[off:])) }
	for i := 0; i < n; i++ {
		off := i * ns
		if d := i32(off); d != 1 {
			t.Fatalf("item node %d: n_descendants = %d, want 1", i, d)
		}
		v := vecs[i*dim : (i+1)*dim]
		for j := 0; j < dim; j++ {
			if got := f32(off + 12 + 4*j); got != v[j] {
				t.Fatalf("item %d component %d: stored %v, want %v", i, j, got, v[j])
			}
		}
		// Annoy's angular init_node keeps dot(v, v) in the first child slot.
		if nn := f32(off + 4); math.Abs(float64(nn)-1) > 1e-5 {
			t.Fatalf("item %d: norm slot %v, want 1 (unit vectors)", i, nn)
		}
	}
	// The last `trees` nodes are the roots: each claims all n items.
	for r := nNodes - trees; r < nNodes; r++ {
		if d := i32(r * ns); d != n {
			t.Fatalf("root copy at node %d: n_descendants = %d, want %d", r, d, n)
		}
	}
	if d := i32((nNodes - trees - 1) * ns); d == n {
		t.Logf("node before the root copies is an original root (allowed)")
	}
	ix, err := Load(data, dim)
	if err != nil {
		t.Fatal(err)
	}
	if ix.NumItems() != n || ix.NumTrees() != trees || ix.NumNodes() != nNodes {
		t.Fatalf("Load: items %d trees %d nodes %d, want %d %d %d", ix.NumItems(), ix.NumTrees(), ix.NumNodes(), n, trees, nNodes)
	}
}

func TestBuildDeterministic(t *testing.T) {
	vecs := randomVectors(2000, 16, 2)
	a, err := Build(vecs, 16, BuildOptions{Trees: 4, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(vecs, 16, BuildOptions{Trees: 4, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("same vectors and seed gave different bytes")
	}
	c, err := Build(vecs, 16, BuildOptions{Trees: 4, Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave identical bytes: the seed is not used")
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		vecs []float32
		dim  int
	}{
		{"zero dim", []float32{1}, 0},
		{"empty", nil, 4},
		{"ragged", make([]float32, 7), 4},
		{"inf", []float32{1, float32(math.Inf(1)), 0}, 3},
		{"nan", []float32{1, float32(math.NaN()), 0}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Build(tc.vecs, tc.dim, BuildOptions{}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestRecallVsExact(t *testing.T) {
	const dim, nq = 64, 100
	n := 20000
	if testing.Short() {
		n = 5000
	}
	tests := []struct {
		name      string
		vecs      []float32
		queries   []float32
		searchK   int
		minRecall float64 // asserted at searchK
	}{
		// Shaped like embeddings: the case the product meets.
		{"clustered", clusteredVectors(n, dim, 100, 0.7, 3), clusteredVectors(nq, dim, 100, 0.7, 3^0xff), 5000, 0.95},
		// Isotropic noise is the worst case for any tree: reported, and
		// asserted only loosely (Annoy itself gets ~0.85 here).
		{"isotropic", randomVectors(n, dim, 3), randomVectors(nq, dim, 4), 5000, 0.8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			unitRows(tc.vecs, dim)
			data, err := Build(tc.vecs, dim, BuildOptions{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			ix, err := Load(data, dim)
			if err != nil {
				t.Fatal(err)
			}
			truth := make([][]int, nq)
			for qi := range truth {
				truth[qi] = naiveTop(tc.vecs, dim, tc.queries[qi*dim:(qi+1)*dim], 10, nil)
			}
			for _, searchK := range []int{0, 500, 1000, 2000, 5000} {
				var sum float64
				for qi := 0; qi < nq; qi++ {
					q := tc.queries[qi*dim : (qi+1)*dim]
					got, err := ix.Search(q, Options{K: 10, SearchK: searchK})
					if err != nil {
						t.Fatal(err)
					}
					sum += recall(items(got), truth[qi])
				}
				r := sum / nq
				t.Logf("n=%d dim=%d trees=%d search_k=%d (0 = default %d): recall@10 = %.3f",
					n, dim, ix.NumTrees(), searchK, DefaultSearchK(10, ix.NumTrees(), ix.NumItems()), r)
				if searchK == tc.searchK && r < tc.minRecall {
					t.Errorf("recall@10 at search_k=%d is %.3f, want >= %.2f", searchK, r, tc.minRecall)
				}
			}
		})
	}
}
