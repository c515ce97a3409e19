package annoy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/small.ann")

// smallIndex is the fixture: 60 unit vectors in 4-d, 3 trees, seed 1.
func smallVectors() []float32 {
	v := randomVectors(60, 4, 99)
	unitRows(v, 4)
	return v
}

// TestGolden checks that Build writes the committed fixture byte for byte:
// run under js/wasm too, it shows native and wasm builds agree (the fixture
// itself was checked against Annoy's C++ build by the compatibility test).
func TestGolden(t *testing.T) {
	got, err := Build(smallVectors(), 4, BuildOptions{Trees: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "small.ann")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Build output (%d bytes) differs from %s (%d bytes)", len(got), path, len(want))
	}
}

func loadSmall(t *testing.T) (*Index, []float32) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "small.ann"))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := Load(data, 4)
	if err != nil {
		t.Fatal(err)
	}
	return ix, smallVectors()
}

func TestExactMatchesNaive(t *testing.T) {
	ix, vecs := loadSmall(t)
	if ix.NumItems() != 60 || ix.NumTrees() != 3 {
		t.Fatalf("items %d trees %d", ix.NumItems(), ix.NumTrees())
	}
	qs := randomVectors(10, 4, 5)
	for qi := 0; qi < 10; qi++ {
		q := qs[qi*4 : qi*4+4]
		got, err := ix.Exact(q, Options{K: 7})
		if err != nil {
			t.Fatal(err)
		}
		want := naiveTop(vecs, 4, q, 7, nil)
		if !equalInts(items(got), want) {
			t.Fatalf("query %d: Exact %v, naive %v", qi, items(got), want)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Score > got[i-1].Score {
				t.Fatalf("results not sorted: %v", got)
			}
		}
		// The whole forest searched (search_k = all) must equal Exact.
		tree, err := ix.Search(q, Options{K: 7, SearchK: ix.NumItems()})
		if err != nil {
			t.Fatal(err)
		}
		if !equalInts(items(tree), want) {
			t.Fatalf("query %d: full tree search %v, naive %v", qi, items(tree), want)
		}
		bf, err := BruteForce(ix, ix.NumItems(), q, 7, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !equalInts(items(bf), want) {
			t.Fatalf("query %d: BruteForce %v, naive %v", qi, items(bf), want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFilter(t *testing.T) {
	n, dim := 3000, 16
	vecs := clusteredVectors(n, dim, 20, 0.5, 8)
	unitRows(vecs, dim)
	data, err := Build(vecs, dim, BuildOptions{Trees: 8, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := Load(data, dim)
	if err != nil {
		t.Fatal(err)
	}
	section := func(i int) int { return i % 7 } // a stand-in for a section column
	tests := []struct {
		name string
		keep Filter
	}{
		{"section 3", func(i int) bool { return section(i) == 3 }},
		{"even", func(i int) bool { return i%2 == 0 }},
		{"one item", func(i int) bool { return i == 1234 }},
		{"none", func(int) bool { return false }},
	}
	qs := randomVectors(20, dim, 9)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for qi := 0; qi < 20; qi++ {
				q := qs[qi*dim : (qi+1)*dim]
				want := naiveTop(vecs, dim, q, 10, tc.keep)
				ex, err := ix.Exact(q, Options{K: 10, Filter: tc.keep})
				if err != nil {
					t.Fatal(err)
				}
				if !equalInts(items(ex), want) {
					t.Fatalf("Exact with filter: %v, want %v", items(ex), want)
				}
				got, err := ix.Search(q, Options{K: 10, SearchK: 400, Filter: tc.keep})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range got {
					if !tc.keep(r.Item) {
						t.Fatalf("item %d does not pass the filter", r.Item)
					}
				}
				if len(got) != len(want) {
					t.Fatalf("tree search found %d results, want %d (the filter budget counts only passing items)", len(got), len(want))
				}
				full, _ := ix.Search(q, Options{K: 10, SearchK: n, Filter: tc.keep})
				if !equalInts(items(full), want) {
					t.Fatalf("full tree search with filter: %v, want %v", items(full), want)
				}
			}
		})
	}
}

func TestSearchErrors(t *testing.T) {
	ix, _ := loadSmall(t)
	tests := []struct {
		name string
		q    []float32
		k    int
	}{
		{"wrong dim", []float32{1, 2, 3}, 5},
		{"zero query", []float32{0, 0, 0, 0}, 5},
		{"nan query", []float32{float32(math.NaN()), 0, 0, 1}, 5},
		{"k zero", []float32{1, 0, 0, 0}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ix.Search(tc.q, Options{K: tc.k}); !errors.Is(err, ErrQuery) {
				t.Fatalf("Search: err = %v, want ErrQuery", err)
			}
			if _, err := ix.Exact(tc.q, Options{K: tc.k}); !errors.Is(err, ErrQuery) {
				t.Fatalf("Exact: err = %v, want ErrQuery", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "small.ann"))
	if err != nil {
		t.Fatal(err)
	}
	ns := NodeSize(4)
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	put := func(b []byte, off int, v int32) { binary.LittleEndian.PutUint32(b[off:], uint32(v)) }
	nNodes := len(good) / ns
	tests := []struct {
		name string
		data []byte
		dim  int
	}{
		{"empty", nil, 4},
		{"zero dim", good, 0},
		{"wrong dim", good, 5},
		{"truncated", good[:len(good)-3], 4},
		{"last node claims too many items", mutate(func(b []byte) { put(b, (nNodes-1)*ns, int32(nNodes+1)) }), 4},
		{"last node claims zero items", mutate(func(b []byte) { put(b, (nNodes-1)*ns, 0) }), 4},
		{"negative descendants", mutate(func(b []byte) { put(b, 70*ns, -3) }), 4},
		{"split child out of range", mutate(func(b []byte) { put(b, (nNodes-1)*ns+4, int32(nNodes)) }), 4},
		{"split child negative", mutate(func(b []byte) { put(b, (nNodes-1)*ns+8, -1) }), 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Load(tc.data, tc.dim); !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want ErrFormat", err)
			}
		})
	}
}

func TestPreferExact(t *testing.T) {
	if !PreferExact(1000) || PreferExact(ExactThreshold+1) {
		t.Fatal("PreferExact does not follow ExactThreshold")
	}
}

// FuzzAnnoy loads arbitrary bytes as an index: it must return an error or
// an index whose searches terminate without panicking.
func FuzzAnnoy(f *testing.F) {
	good, err := os.ReadFile(filepath.Join("testdata", "small.ann"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, uint8(4))
	f.Add(good[:NodeSize(4)*3], uint8(4))
	f.Add(good, uint8(1))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 63}, uint8(1))
	f.Add([]byte{}, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, dim uint8) {
		ix, err := Load(data, int(dim))
		if err != nil {
			return
		}
		q := make([]float32, ix.Dim())
		for i := range q {
			q[i] = float32(i%3) - 0.5
		}
		if _, err := ix.Search(q, Options{K: 5}); err != nil {
			t.Fatal(err)
		}
		if _, err := ix.Exact(q, Options{K: 5, Filter: func(i int) bool { return i%2 == 0 }}); err != nil {
			t.Fatal(err)
		}
		for i := -1; i <= ix.NumItems(); i++ {
			_ = ix.Item(i)
		}
	})
}

// TestLoadSplits: the index without its item nodes, scored with the full
// index's vectors, answers exactly like the full index; it refuses to
// score on its own and rejects tails that are not an index's split nodes.
func TestLoadSplits(t *testing.T) {
	const n, dim = 3000, 24
	vecs := clusteredVectors(n, dim, 30, 0.3, 5)
	b, err := Build(vecs, dim, BuildOptions{Trees: 8, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	full, err := Load(b, dim)
	if err != nil {
		t.Fatal(err)
	}
	tail := b[ItemsSize(n, dim):]
	sp, err := LoadSplits(tail, n, dim)
	if err != nil {
		t.Fatal(err)
	}
	if !sp.SplitsOnly() || full.SplitsOnly() || sp.NumItems() != n || sp.NumTrees() != full.NumTrees() || sp.NumNodes() != full.NumNodes() {
		t.Fatalf("splits index: items %d trees %d nodes %d (full %d %d %d)", sp.NumItems(), sp.NumTrees(), sp.NumNodes(), n, full.NumTrees(), full.NumNodes())
	}
	if sp.Item(3) != nil || !sp.HasItem(3) {
		t.Error("splits index: Item should be nil and HasItem true")
	}
	keep := func(i int) bool { return i%3 != 0 }
	for q := 0; q < 40; q++ {
		v := vecs[(q*71%n)*dim : (q*71%n+1)*dim]
		for _, sk := range []int{50, 400} {
			want, err := full.Search(v, Options{K: 10, SearchK: sk, Filter: keep})
			if err != nil {
				t.Fatal(err)
			}
			got, err := sp.Search(v, Options{K: 10, SearchK: sk, Filter: keep, Rerank: full})
			if err != nil {
				t.Fatal(err)
			}
			if !equalInts(items(got), items(want)) {
				t.Fatalf("query %d search_k %d: splits %v, full %v", q, sk, items(got), items(want))
			}
		}
		want, _ := full.Exact(v, Options{K: 5})
		got, err := sp.Exact(v, Options{K: 5, Rerank: full})
		if err != nil || !equalInts(items(got), items(want)) {
			t.Fatalf("exact: %v %v, want %v", items(got), err, items(want))
		}
	}
	if _, err := sp.Search(vecs[:dim], Options{K: 3}); !errors.Is(err, ErrQuery) {
		t.Errorf("search without Rerank on a splits index: %v", err)
	}
	if _, err := sp.Exact(vecs[:dim], Options{K: 3}); !errors.Is(err, ErrQuery) {
		t.Errorf("exact without Rerank on a splits index: %v", err)
	}
	for name, tc := range map[string]struct {
		data  []byte
		items int
	}{
		"wrong item count":   {tail, n - 1},
		"whole file":         {b, n},
		"cut mid-node":       {tail[3:], n},
		"empty":              {nil, n},
		"item nodes instead": {b[:ItemsSize(n, dim)], n},
	} {
		if _, err := LoadSplits(tc.data, tc.items, dim); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: LoadSplits err = %v, want ErrFormat", name, err)
		}
	}
}
