package search

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lookalike/lookalike/internal/topk"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/heads"
	"github.com/lookalike/lookalike/models/pq"
	"github.com/lookalike/lookalike/models/vecfile"
)

// codesAssets is a catalogue of n unit vectors in tight clusters (a
// product and its near-duplicates, as colour variants are) with coarse
// codes (m bytes), the vector file and no index: what the page gets.
func codesAssets(t testing.TB, n, dim, m int) (*fixture, []float32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	flat := make([]float32, 0, n*dim)
	centre := make([]float32, dim)
	var items []catalog.Item
	secs := map[string]int{}
	for i := 0; i < n; i++ {
		if i%8 == 0 {
			for j := range centre {
				centre[j] = float32(rng.NormFloat64())
			}
		}
		v := make([]float32, dim)
		for j := range v {
			v[j] = centre[j] + 0.15*float32(rng.NormFloat64())
		}
		flat = append(flat, unit(v...)...)
		sec := []string{"a", "b"}[i%2]
		secs[sec]++
		items = append(items, catalog.Item{Row: i + 2, ID: fmt.Sprint("p", i), Title: fmt.Sprint("Item ", i), Attrs: map[string]string{"section": sec}})
	}
	f := &fixture{files: map[string][]byte{}}
	disp, err := catalog.BuildDisplay(items, []string{"id", "title", "section"}, catalog.DisplayOptions{Section: "section"})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := pq.Train(flat, dim, pq.TrainOptions{M: m, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	f.m = &catalog.Manifest{
		FormatVersion: catalog.ManifestVersion, ItemCount: n, SectionColumn: "section", Sections: secs,
		Model: catalog.ModelInfo{Embedding: catalog.EmbeddingInfo{Dim: dim, Pooling: "gap"}, Metric: "angular"},
		Assets: []catalog.Asset{f.add(KindCatalog, "json", disp), f.add(KindCodes, "bin", pq.Write(cb, cb.Encode(flat))),
			f.add(KindVectors, "bin", vectorFile(t, vecfile.Int8, dim, flat))},
	}
	return f, flat
}

// The codes alone confuse near-duplicates; once the vector file is
// attached (the page fetches it after its first results) the codes'
// shortlist is re-scored by it and the top 10 is the exact one. Runs
// natively and in js/wasm.
func TestCodesRerankedByVectors(t *testing.T) {
	const n, dim, k = 3000, 32, 10
	f, flat := codesAssets(t, n, dim, 4)
	first, err := Open(f.m, f.load, Options{SkipModel: true, FirstSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	if first.Vectors != nil || first.Codes == nil {
		t.Fatalf("FirstSearch opened vectors %v, codes %v; want codes only", first.Vectors != nil, first.Codes != nil)
	}
	exactVecs, err := vecfile.ParseVectors(f.files[f.m.Assets[2].File])
	if err != nil {
		t.Fatal(err)
	}
	recall := func(e *Engine, sec string) float64 {
		hits := 0
		for q := 0; q < 100; q++ {
			self := q * 29 % n
			v := flat[self*dim : (self+1)*dim]
			got, err := e.SearchVector(v, Query{K: k + 1, Section: sec})
			if err != nil {
				t.Fatal(err)
			}
			want := topk.New(k)
			for i := 0; i < n; i++ {
				if i != self && (sec == "" || e.Display.Sections()[e.Display.SectionIndex(i)] == sec) {
					want.Push(i, exactVecs.Score(v, i))
				}
			}
			in := map[int]bool{}
			for _, r := range want.Sorted() {
				in[r.Item] = true
			}
			for _, h := range leaveOutSelf(got, self, k) {
				if in[h.Index] {
					hits++
				}
			}
		}
		return float64(hits) / float64(100*k)
	}
	codesOnly := recall(first, "")
	if err := first.Attach(KindVectors, f.files[f.m.Assets[2].File]); err != nil {
		t.Fatal(err)
	}
	reranked, inSection := recall(first, ""), recall(first, "b")
	t.Logf("recall@10: codes %.3f, re-ranked %.3f (section %.3f)", codesOnly, reranked, inSection)
	if codesOnly > 0.9 {
		t.Fatalf("the codes alone reach recall %.3f: the fixture does not test the re-rank", codesOnly)
	}
	if reranked < 0.99 || inSection < 0.99 {
		t.Fatalf("re-ranked recall %.3f (section %.3f), want ≥ 0.99", reranked, inSection)
	}
	// The full open (builder query/eval: vectors from the start) ranks the same.
	full := f.open(t)
	for q := 0; q < 20; q++ {
		v := flat[q*dim : (q+1)*dim]
		a, _ := full.SearchVector(v, Query{K: k})
		b, _ := first.SearchVector(v, Query{K: k})
		for i := range a {
			if a[i].Index != b[i].Index || a[i].Score != b[i].Score || a[i].Visual != exactVecs.Score(v, a[i].Index) {
				t.Fatalf("query %d result %d: open %+v, attached %+v", q, i, a[i], b[i])
			}
		}
	}
	// A vector file of another build is refused, and the engine keeps the one it has.
	other, _ := codesAssets(t, n-8, dim, 4)
	if err := first.Attach(KindVectors, other.files[other.m.Assets[2].File]); err == nil {
		t.Fatal("a vector file for another catalogue was attached")
	}
	if first.Vectors.Len() != n {
		t.Fatal("a refused vector file replaced the engine's")
	}
}

func leaveOutSelf(h []Hit, self, k int) []Hit {
	out := make([]Hit, 0, k)
	for _, x := range h {
		if x.Index != self && len(out) < k {
			out = append(out, x)
		}
	}
	return out
}

// The type head's neighbour vote: an unsure type prediction borrows from
// the types of the visually nearest allowed products, a sure one and the
// colour head are left alone, and the caller's predictions are not changed.
func TestNeighbourVote(t *testing.T) {
	const n = 20
	typ, col := make([]uint16, n), make([]uint16, n)
	scores := make([]float32, n)
	for i := range scores {
		scores[i] = 1 - float32(i)/n // items 0..9 are the visual top 10
		if i < 10 {
			typ[i] = 1
		}
		col[i] = 1
	}
	typ[3] = heads.NoLabel
	e := &Engine{Heads: &heads.Set{Heads: []heads.Head{{Column: "articleType", Classes: []string{"a", "b"}}, {Column: "baseColour", Classes: []string{"x", "y"}}},
		Labels: [][]uint16{typ, col}}}
	unsure := [][]float32{{0.5, 0.5}, {0.5, 0.5}}
	got := e.vote(unsure, scores, nil)
	b := float32(VoteWeight * 0.5)
	want := []float32{0.5 * (1 - b), 0.5*(1-b) + b*9/VoteK} // item 3 has no type
	for l := range want {
		if d := got[0][l] - want[l]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("type after the vote %v, want %v", got[0], want)
		}
	}
	if got[1][0] != 0.5 || got[1][1] != 0.5 || unsure[0][0] != 0.5 || unsure[0][1] != 0.5 {
		t.Fatalf("colour head %v, caller's type %v: want both unchanged", got[1], unsure[0])
	}
	if sure := e.vote([][]float32{{1, 0}, {0, 1}}, scores, nil); sure[0][0] != 1 || sure[0][1] != 0 {
		t.Fatalf("a sure head moved: %v", sure[0])
	}
	// Within a filter the neighbours are the allowed ones: items 10..19, type a.
	if got := e.vote(unsure, scores, func(i int) bool { return i >= 10 }); got[0][0] <= got[0][1] {
		t.Fatalf("filtered vote %v: want type a ahead", got[0])
	}
}

// countingReader is a vecfile.RecordReader over the file's bytes that
// counts the records read and can be made to fail.
type countingReader struct {
	file  []byte
	reads int
	fail  bool
}

func (r *countingReader) ReadRecords(items []int, size int, dst []byte) error {
	if r.fail {
		return errors.New("the file is gone")
	}
	r.reads += len(items)
	return vecfile.ReaderAtRecords{R: bytes.NewReader(r.file)}.ReadRecords(items, size, dst)
}

// With the vector file kept on disk (the page at a million products) the
// codes' best StoredPool are re-scored from the records read back: the top
// 10 is then the exact one, with the in-memory scores; a reader that fails
// leaves the codes' answer, and a file of another build is refused. Runs
// natively and in js/wasm.
func TestCodesRerankedByStoredVectors(t *testing.T) {
	const n, dim, k = 3000, 32, 10
	f, flat := codesAssets(t, n, dim, 4)
	e, err := Open(f.m, f.load, Options{SkipModel: true, FirstSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	file := f.files[f.m.Assets[2].File]
	exactVecs, err := vecfile.ParseVectors(file)
	if err != nil {
		t.Fatal(err)
	}
	codesOnly := make([][]Hit, 20)
	for q := range codesOnly {
		codesOnly[q], _ = e.SearchVector(flat[q*7*dim:(q*7+1)*dim], Query{K: k})
	}
	r := &countingReader{file: file}
	if err := e.AttachStored(file[:vecfile.HeaderSize], r); err != nil {
		t.Fatal(err)
	}
	differ := 0
	for q := range codesOnly {
		self := q * 7
		v := flat[self*dim : (self+1)*dim]
		before := r.reads
		got, err := e.SearchVector(v, Query{K: k})
		if err != nil {
			t.Fatal(err)
		}
		if r.reads-before != StoredPool {
			t.Fatalf("query %d read %d records, want StoredPool %d", q, r.reads-before, StoredPool)
		}
		want := topk.New(k)
		for i := 0; i < n; i++ {
			want.Push(i, exactVecs.Score(v, i))
		}
		for j, w := range want.Sorted() {
			if got[j].Index != w.Item || got[j].Score != w.Score {
				t.Fatalf("query %d result %d: %d (%v), exact %d (%v)", q, j, got[j].Index, got[j].Score, w.Item, w.Score)
			}
		}
		if ids(got) != ids(codesOnly[q]) {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("the codes alone already gave every exact top 10: the fixture does not test the re-rank")
	}
	r.fail = true
	for q := range codesOnly {
		got, err := e.SearchVector(flat[q*7*dim:(q*7+1)*dim], Query{K: k})
		if err != nil {
			t.Fatal(err)
		}
		if ids(got) != ids(codesOnly[q]) {
			t.Fatalf("query %d with a failing file: %s, the codes alone gave %s", q, ids(got), ids(codesOnly[q]))
		}
	}
	other, _ := codesAssets(t, n-8, dim, 4)
	if err := e.AttachStored(other.files[other.m.Assets[2].File][:vecfile.HeaderSize], r); err == nil {
		t.Fatal("a stored vector file for another catalogue was attached")
	}
	if _, err := e.SearchVector(flat[:dim], Query{K: k}); err != nil {
		t.Fatal(err)
	}
}
