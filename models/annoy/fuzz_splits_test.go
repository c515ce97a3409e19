package annoy

import (
	"os"
	"path/filepath"
	"testing"
)

// constScorer scores every item alike (the fuzz target needs a Scorer, not
// good answers).
type constScorer struct{}

func (constScorer) Score([]float32, int) float32 { return 0.5 }

// FuzzLoadSplits loads arbitrary bytes as the index tail the page
// downloads (split nodes only, annoy.LoadSplits): an error, or an index
// whose searches terminate without panicking and return only real items.
func FuzzLoadSplits(f *testing.F) {
	good, err := os.ReadFile(filepath.Join("testdata", "small.ann"))
	if err != nil {
		f.Fatal(err)
	}
	full, err := Load(good, 4)
	if err != nil {
		f.Fatal(err)
	}
	n := full.NumItems()
	f.Add(good[ItemsSize(n, 4):], uint16(n), uint8(4))
	f.Add(good[ItemsSize(n, 4):], uint16(n+5), uint8(4))
	f.Add(good[ItemsSize(n, 4)+int64(NodeSize(4)):], uint16(n), uint8(4))
	f.Add([]byte{}, uint16(1), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, items uint16, dim uint8) {
		ix, err := LoadSplits(data, int(items), int(dim))
		if err != nil {
			return
		}
		if !ix.SplitsOnly() || ix.NumItems() != int(items) || ix.Dim() != int(dim) {
			t.Fatalf("loaded %d items of dim %d, splits only %v; asked for %d of %d", ix.NumItems(), ix.Dim(), ix.SplitsOnly(), items, dim)
		}
		q := make([]float32, ix.Dim())
		q[0] = 1
		res, err := ix.Search(q, Options{K: 5, SearchK: 200, Rerank: constScorer{}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Item < 0 || r.Item >= ix.NumItems() {
				t.Fatalf("result item %d of %d", r.Item, ix.NumItems())
			}
		}
	})
}
