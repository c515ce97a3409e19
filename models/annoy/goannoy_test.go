package annoy

import (
	"errors"
	"math"
	"testing"
	"unsafe"

	"github.com/mariotoffia/goannoy/distance/angular"
	"github.com/mariotoffia/goannoy/index"
	"github.com/mariotoffia/goannoy/index/policy"
	"github.com/mariotoffia/goannoy/interfaces"
	"github.com/mariotoffia/goannoy/random"
)

// goannoy (github.com/mariotoffia/goannoy) is the pure-Go Annoy port a Go
// user is likely to reach for; these tests keep our .ann files loadable by
// it. Its index package compiles everywhere (js/wasm too) when given an
// interfaces.IndexAllocator; ours below serves a []byte instead of its
// syscall.Mmap one.
//
// What is checked: goannoy's loader finds our roots and item count, its
// node accessor returns our stored vectors exactly, its distance agrees
// with our cosine, and its search, given a budget that reaches every leaf
// of every tree, returns the exact top-k. What is not: goannoy's search at
// small budgets. Its priority queue pops the smallest value first where
// Annoy's pops the largest, so it explores the far side of each split
// first and its approximate answers are worse than Annoy's on any index,
// ours included (README, Decisions); we compare only its exhaustive ones.

// bytesAllocator is a goannoy interfaces.IndexAllocator over files held in
// memory.
type bytesAllocator map[string][]byte

type bytesIndex struct{ b []byte }

func (m bytesAllocator) Open(name string) (interfaces.AllocatedIndex, error) {
	b, ok := m[name]
	if !ok || len(b) == 0 {
		return nil, errors.New("goannoy test: no file " + name)
	}
	return &bytesIndex{b}, nil
}

func (m bytesAllocator) Get(name string) (interfaces.AllocatedIndex, bool) {
	ix, err := m.Open(name)
	return ix, err == nil
}

func (x *bytesIndex) Close() error        { return nil }
func (x *bytesIndex) Ptr() unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(x.b)) }
func (x *bytesIndex) Size() int64         { return int64(len(x.b)) }

// openWithGoannoy loads data with goannoy's own reader.
func openWithGoannoy(t *testing.T, data []byte, dim int) interfaces.AnnoyIndex[float32, uint32] {
	t.Helper()
	// goannoy reads float32s and uint32s in place: the file must start on a
	// 4-byte boundary, as a Go allocation does.
	if uintptr(unsafe.Pointer(unsafe.SliceData(data)))%4 != 0 {
		t.Fatal("index bytes not 4-byte aligned")
	}
	ix := index.New[float32, uint32](random.NewKiss32Random(uint32(0)), angular.Distance[float32](uint32(dim)),
		policy.SingleWorker(), nil, bytesAllocator{"our.ann": data}, nil, false, 0)
	if err := ix.Load("our.ann"); err != nil {
		t.Fatalf("goannoy cannot load our index: %v", err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func TestGoannoyReadsOurIndex(t *testing.T) {
	for _, tc := range []struct {
		name          string
		n, dim, trees int
		clusters      int
		queries, k    int
	}{
		{"random 300x16", 300, 16, 8, 0, 20, 10},
		{"clustered 1000x32", 1000, 32, 10, 12, 20, 10},
		{"few items 5x8", 5, 8, 3, 0, 5, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vecs := randomVectors(tc.n, tc.dim, 11)
			if tc.clusters > 0 {
				vecs = clusteredVectors(tc.n, tc.dim, tc.clusters, 0.3, 11)
			}
			data, err := Build(vecs, tc.dim, BuildOptions{Trees: tc.trees, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			ours, err := Load(data, tc.dim)
			if err != nil {
				t.Fatal(err)
			}
			g := openWithGoannoy(t, data, tc.dim)

			if got := g.VectorLength(); int(got) != tc.dim {
				t.Errorf("goannoy vector length %d, want %d", got, tc.dim)
			}
			// Node layout: every item vector as we stored it.
			for i := 0; i < tc.n; i++ {
				gv, ov := g.GetItem(uint32(i)), ours.Item(i)
				if len(gv) != len(ov) {
					t.Fatalf("item %d: goannoy %d values, ours %d", i, len(gv), len(ov))
				}
				for j := range gv {
					if gv[j] != ov[j] {
						t.Fatalf("item %d[%d]: goannoy %v, ours %v", i, j, gv[j], ov[j])
					}
				}
			}
			// Distance: goannoy's angular distance is sqrt(2 − 2·cos).
			u0 := unit(ours.Item(0))
			for i := 1; i < tc.n; i += max(1, tc.n/17) {
				cos := ours.Score(u0, i)
				want := float32(math.Sqrt(max(0, 2-2*float64(cos))))
				if got := g.GetDistance(0, uint32(i)); math.Abs(float64(got-want)) > 1e-3 {
					t.Errorf("goannoy distance(0,%d) = %v, want %v (cos %v)", i, got, want, cos)
				}
			}
			// Search with a budget that reaches every leaf of every tree:
			// goannoy then scores all items, so its answer is the exact one.
			ctx := g.CreateContext()
			qs := randomVectors(tc.queries, tc.dim, 99)
			for qi := 0; qi < tc.queries; qi++ {
				q := qs[qi*tc.dim : (qi+1)*tc.dim]
				exact, err := ours.Exact(q, Options{K: tc.k})
				if err != nil {
					t.Fatal(err)
				}
				got, _ := g.GetNnsByVector(q, tc.k, tc.n*tc.trees, ctx)
				if len(got) != len(exact) {
					t.Fatalf("query %d: goannoy %d results, exact %d", qi, len(got), len(exact))
				}
				for r := range got {
					if int(got[r]) != exact[r].Item {
						// Ties in cosine may order differently; accept
						// equal scores only.
						if math.Abs(float64(ours.Score(unit(q), int(got[r]))-exact[r].Score)) > 1e-6 {
							t.Fatalf("query %d rank %d: goannoy item %d, exact item %d (score %v)", qi, r, got[r], exact[r].Item, exact[r].Score)
						}
					}
				}
			}
		})
	}
}

// unit returns v scaled to length 1.
func unit(v []float32) []float32 {
	n := float32(math.Sqrt(float64(Dot(v, v))))
	u := make([]float32, len(v))
	for i, x := range v {
		u[i] = x / n
	}
	return u
}
