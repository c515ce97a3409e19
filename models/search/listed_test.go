package search

import (
	"bytes"
	"math"
	"testing"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/vecfile"
)

// listedAssets is the hand-made catalogue with stored neighbour lists.
func listedAssets(t *testing.T, blend *catalog.Blend) *Engine {
	t.Helper()
	vecs, secs, cols := handVectors()
	f := handAssets(t, vecs, secs, cols, handCF(), blend)
	var flat []float32
	sec := make([]int32, len(secs))
	for i, v := range vecs {
		flat = append(flat, v...)
		if secs[i] == "b" {
			sec[i] = 1
		}
	}
	nl, err := vecfile.ComputeNeighbors(flat, 4, sec, 6, true)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := vecfile.WriteNeighbors(&b, nl); err != nil {
		t.Fatal(err)
	}
	a, files := catalog.NewAsset(KindNeighbors, "bin", b.Bytes(), 0)
	for k, v := range files {
		f.files[k] = v
	}
	f.m.Assets = append(f.m.Assets, a)
	return f.open(t)
}

func TestSimilarFromListsNoHistoryIsTheListedAnswer(t *testing.T) {
	e := listedAssets(t, nil)
	for _, q := range []Query{{K: 4}, {K: 3, Section: "a"}, {K: 6, Section: "b"}} {
		want, err := e.Similar("h0", q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.SimilarFromLists("h0", q.K, q.Section, &Personal{})
		if err != nil {
			t.Fatal(err)
		}
		// The engine tops a short cross-section answer up by exact cosine;
		// the listed part is the same.
		if q.Section == "b" {
			want = want[:len(got)]
		}
		if ids(got) != ids(want) {
			t.Errorf("%+v: from lists %s, engine %s", q, ids(got), ids(want))
		}
	}
	if _, err := e.SimilarFromLists("nope", 3, "", nil); err == nil {
		t.Error("an unknown product answered")
	}
}

// The CF term reads the product's own row and the candidates' rows, never
// the history's: a like of X (whose row names C and B) counts only where a
// candidate's row names X.
func TestSimilarFromListsCFTerm(t *testing.T) {
	e := listedAssets(t, &catalog.Blend{WCF: f64(1), WPersonal: f64(0)})
	base, err := e.SimilarFromLists("h0", 5, "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	visual := map[string]float32{}
	for _, h := range base {
		visual[h.ID] = h.Visual
	}
	got, err := e.SimilarFromLists("h0", 5, "a", &Personal{Likes: []Signal{{ID: "h3"}}})
	if err != nil {
		t.Fatal(err)
	}
	// A's own row: C 0.5, the only positive cf: C gets w_cf·1 on top of its looks.
	for _, h := range got {
		want := visual[h.ID]
		if h.ID == "h2" {
			want += 1
		}
		if !near32(h.Score, want) || h.Visual != visual[h.ID] {
			t.Errorf("%s: score %v visual %v, want %v / %v", h.ID, h.Score, h.Visual, want, visual[h.ID])
		}
	}
	if got[0].ID != "h2" {
		t.Errorf("C is not first: %s", ids(got))
	}
}

// The taste term uses the vector kept with a like (not the liked
// product's stored one) and photo searches at half weight, decayed.
func TestSimilarFromListsTasteTerm(t *testing.T) {
	e := listedAssets(t, &catalog.Blend{WCF: f64(0), WPersonal: f64(1), HalfLifeHours: f64(1)})
	towardsY := []float32{0, 0, 0, 2}
	p := &Personal{
		Likes:    []Signal{{ID: "h1", Vector: towardsY}, {ID: "h0"}}, // h0 keeps no vector: no taste
		Searches: []VectorSignal{{Vector: []float32{0, 0, 1, 0}, AgeSeconds: 3600}},
	}
	got, err := e.SimilarFromLists("h0", 5, "a", p)
	if err != nil {
		t.Fatal(err)
	}
	// taste ∝ 1·(0,0,0,1) + 0.5·0.5·(0,0,1,0)
	n := math.Hypot(1, 0.25)
	for _, h := range got {
		v := e.ItemVector(h.Index, nil)
		want := float64(h.Visual) + (float64(v[3])*1+float64(v[2])*0.25)/n
		if math.Abs(float64(h.Score)-want) > 1e-5 {
			t.Errorf("%s: score %v, want %v", h.ID, h.Score, want)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].Score < got[i].Score {
			t.Fatalf("not best first: %+v", got)
		}
	}
}
