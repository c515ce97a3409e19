package search

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/cf"
	"github.com/lookalike/lookalike/models/vecfile"
)

// handAssets builds a model-less asset set from hand-made vectors: item i
// is "h<i>" in section secs[i] with colour attribute cols[i]; cfRows (nil =
// no CF asset) are the collaborative neighbours by item index.
func handAssets(t testing.TB, vecs [][]float32, secs, cols []string, cfRows [][]cf.Neighbor, blend *catalog.Blend) *fixture {
	t.Helper()
	dim := len(vecs[0])
	f := &fixture{files: map[string][]byte{}}
	add := f.add
	var flat []float32
	var items []catalog.Item
	sections, colours := map[string]int{}, map[string]int{}
	for i, v := range vecs {
		flat = append(flat, v...)
		items = append(items, catalog.Item{Row: i + 2, ID: fmt.Sprintf("h%d", i), Title: fmt.Sprint("Item ", i),
			Attrs: map[string]string{"section": secs[i], "colour": cols[i]}})
		sections[secs[i]]++
		colours[cols[i]]++
	}
	disp, err := catalog.BuildDisplay(items, []string{"id", "title", "section", "colour"}, catalog.DisplayOptions{Section: "section", Attributes: []string{"colour"}})
	if err != nil {
		t.Fatal(err)
	}
	ann, err := annoy.Build(flat, dim, annoy.BuildOptions{Trees: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	vb := vectorFile(t, vecfile.Float32, dim, flat)
	f.m = &catalog.Manifest{
		FormatVersion: catalog.ManifestVersion, ItemCount: len(vecs), SectionColumn: "section",
		Model:      catalog.ModelInfo{Embedding: catalog.EmbeddingInfo{Dim: dim, Pooling: "gap"}, Metric: "angular"},
		Sections:   sections,
		Attributes: map[string]map[string]int{"colour": colours},
		Assets:     []catalog.Asset{add(KindCatalog, "json", disp), add(KindIndex, "ann", ann), add(KindVectors, "bin", vb)},
		Blend:      blend,
	}
	if cfRows != nil {
		k := 1
		for _, r := range cfRows {
			k = max(k, len(r))
		}
		b, err := cf.EncodeNeighbors(cfRows, k)
		if err != nil {
			t.Fatal(err)
		}
		f.m.Assets = append(f.m.Assets, add(KindCF, "bin", b))
	}
	return f
}

// add stores an asset's files in the fixture and returns its manifest entry.
func (f *fixture) add(kind, ext string, b []byte) catalog.Asset {
	a, files := catalog.NewAsset(kind, ext, b, 0)
	for k, v := range files {
		f.files[k] = v
	}
	return a
}

// vectorFile is the vector asset of flat (len/dim vectors).
func vectorFile(t testing.TB, enc vecfile.Encoding, dim int, flat []float32) []byte {
	t.Helper()
	var vb bytes.Buffer
	if err := vecfile.WriteVectors(&vb, enc, dim, flat); err != nil {
		t.Fatal(err)
	}
	return vb.Bytes()
}

func (f *fixture) open(t testing.TB) *Engine {
	t.Helper()
	e, err := Open(f.m, f.load, Options{SkipModel: true})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func unit(v ...float32) []float32 {
	var n float32
	for _, x := range v {
		n += x * x
	}
	n = float32(math.Sqrt(float64(n)))
	for i := range v {
		v[i] /= n
	}
	return v
}

// The hand-made catalogue: the query is e0. A, B, C are ever less like it;
// X and Y are unlike it; the rest are far away (another section).
const (
	itA = iota
	itB
	itC
	itX
	itY
	itZ
	nHand = 12
)

func handVectors() ([][]float32, []string, []string) {
	vecs := [][]float32{
		itA: unit(0.9, float32(math.Sqrt(1-0.81)), 0, 0),
		itB: unit(0.8, 0, 0.6, 0),
		itC: unit(0.7, 0, 0, float32(math.Sqrt(1-0.49))),
		itX: unit(0, 1, 0, 0),
		itY: unit(0, 0, 0, 1),
		itZ: unit(0, 0, 1, 0),
	}
	secs := []string{"a", "a", "a", "a", "a", "a"}
	cols := []string{"red", "blue", "red", "blue", "red", "blue"}
	for i := len(vecs); i < nHand; i++ {
		vecs = append(vecs, unit(-1, float32(i)*0.01, -0.2, 0.1))
		secs = append(secs, "b")
		cols = append(cols, "red")
	}
	return vecs, secs, cols
}

// handCF: X's collaborative neighbours are C then B; A's is C.
func handCF() [][]cf.Neighbor {
	rows := make([][]cf.Neighbor, nHand)
	rows[itX] = []cf.Neighbor{{Item: itC, Score: 0.75}, {Item: itB, Score: 0.375}}
	rows[itA] = []cf.Neighbor{{Item: itC, Score: 0.5}}
	return rows
}

func f32(v float32) *float32 { return &v }
func f64(v float64) *float64 { return &v }

func ids(hits []Hit) string {
	var s []string
	for _, h := range hits {
		s = append(s, h.ID)
	}
	return strings.Join(s, ",")
}

func near32(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-4 }

func TestBlendRuleOrder(t *testing.T) {
	vecs, secs, cols := handVectors()
	e := handAssets(t, vecs, secs, cols, handCF(), nil).open(t)
	// Views count in the taste vector at half a like here (not by default).
	e.Signals = SignalWeights{Like: 1, View: 0.5, ViewTaste: 0.5, Search: 0.5, Product: 1}
	q := []float32{1, 0, 0, 0}
	visual, err := e.SearchVector(q, Query{K: 3, Section: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(visual); got != "h0,h1,h2" {
		t.Fatalf("visual order %s, want h0,h1,h2", got)
	}
	for _, h := range visual {
		if h.Score != h.Visual {
			t.Fatalf("visual-only hit %+v: Score must equal Visual", h)
		}
	}
	cases := []struct {
		name   string
		p      Personal
		want   string
		extraC float32 // blend terms added to each of A, B, C
		extraB float32
		extraA float32
	}{
		// CF: the view of X gives C affinity 0.5·0.75, B 0.5·0.375:
		// normalised C 1, B 0.5. Scores A .9, B .8+.25, C .7+.5.
		{"cf", Personal{Views: []Signal{{ID: "h3"}}, WCF: f32(0.5), WPersonal: f32(0)}, "h2,h1,h0", 0.5, 0.25, 0},
		// Taste = Y: personal = cos(item, Y): C .714 (0.5·.714 = .357).
		{"personal", Personal{Likes: []Signal{{ID: "h4"}}, WCF: f32(0), WPersonal: f32(0.5)}, "h2,h0,h1", 0.5 * float32(math.Sqrt(0.51)), 0, 0},
		// Both: the like of Y has no CF row; the view of X adds CF and
		// (ViewTaste 0.5) pulls the taste towards X: cos(A, X) = .436.
		{"both", Personal{Likes: []Signal{{ID: "h4"}}, Views: []Signal{{ID: "h3"}}, WCF: f32(0.5), WPersonal: f32(0.5)}, "h2,h1,h0", 0, 0, 0},
	}
	for _, tc := range cases {
		hits, err := e.SearchVector(q, Query{K: 3, Section: "a", Personal: &tc.p})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(hits); got != tc.want {
			t.Errorf("%s: order %s, want %s (%+v)", tc.name, got, tc.want, hits)
		}
		// K = 1: the winner comes from the pool beyond the visual top 1.
		top, err := e.SearchVector(q, Query{K: 1, Section: "a", Personal: &tc.p})
		if err != nil || len(top) != 1 || top[0] != hits[0] {
			t.Errorf("%s: K=1 gives %+v (%v), want %+v", tc.name, top, err, hits[0])
		}
		for _, h := range hits {
			if want := visual[h.Index].Visual; !near32(h.Visual, want) {
				t.Errorf("%s: %s Visual %v, want the cosine %v", tc.name, h.ID, h.Visual, want)
			}
		}
		if tc.name == "both" {
			// Taste = unit(Y + 0.5·X): check the rule term by term.
			taste := unit(0, 0.5, 0, 1)
			for _, h := range hits {
				cfTerm := map[int]float32{itC: 1, itB: 0.5}[h.Index]
				want := h.Visual + 0.5*cfTerm + 0.5*annoy.Dot(taste, vecs[h.Index])
				if !near32(h.Score, want) {
					t.Errorf("both: %s score %v, want %v", h.ID, h.Score, want)
				}
			}
			continue
		}
		for _, h := range hits {
			extra := map[int]float32{itA: tc.extraA, itB: tc.extraB, itC: tc.extraC}[h.Index]
			if !near32(h.Score, h.Visual+extra) {
				t.Errorf("%s: %s score %v, want visual %v + %v", tc.name, h.ID, h.Score, h.Visual, extra)
			}
		}
	}
}

func TestPersonalDecayAndSearches(t *testing.T) {
	vecs, secs, cols := handVectors()
	e := handAssets(t, vecs, secs, cols, nil, &catalog.Blend{WCF: f64(0), WPersonal: f64(1), HalfLifeHours: f64(1)}).open(t)
	q := []float32{1, 0, 0, 0}
	hour := 3600.0
	// Liked Y (C's direction) long ago and Z (B's direction) just now.
	recentZ := Personal{Likes: []Signal{{ID: "h4", AgeSeconds: 10 * hour}, {ID: "h5", AgeSeconds: 0}}}
	recentY := Personal{Likes: []Signal{{ID: "h4", AgeSeconds: 0}, {ID: "h5", AgeSeconds: 10 * hour}}}
	for _, tc := range []struct {
		p     Personal
		first string
	}{{recentZ, "h1"}, {recentY, "h2"}} {
		hits, err := e.SearchVector(q, Query{K: 3, Section: "a", Personal: &tc.p})
		if err != nil {
			t.Fatal(err)
		}
		if hits[0].ID != tc.first {
			t.Errorf("likes %+v: first %s, want %s (%+v)", tc.p.Likes, hits[0].ID, tc.first, hits)
		}
	}
	// A photo search counts in the taste vector; one of another dimension
	// (assets rebuilt since) or all zeros is ignored.
	p := Personal{Searches: []VectorSignal{{Vector: []float32{0, 0, 0, 3}}, {Vector: []float32{0, 0, 1}}, {Vector: make([]float32, 4)}}}
	hits, err := e.SearchVector(q, Query{K: 3, Section: "a", Personal: &p})
	if err != nil {
		t.Fatal(err)
	}
	want := 0.7 + float32(math.Sqrt(0.51))
	if hits[0].ID != "h2" || !near32(hits[0].Score, want) {
		t.Fatalf("search towards Y: %+v, want h2 scoring %v", hits, want)
	}
}

func TestBlendSplitsOnlyIndex(t *testing.T) {
	// The page loads the index without its item nodes and scores with the
	// vector file: the blend must give the same answers.
	vecs, secs, cols := handVectors()
	f := handAssets(t, vecs, secs, cols, handCF(), nil)
	full := f.open(t)
	from := annoy.ItemsSize(nHand, 4)
	split, err := Open(f.m, func(a catalog.Asset) ([]byte, error) {
		b, err := f.load(a)
		if a.Kind == KindIndex && err == nil {
			b = b[from:]
		}
		return b, err
	}, Options{SkipModel: true, IndexFrom: from})
	if err != nil {
		t.Fatal(err)
	}
	if !split.Index.SplitsOnly() {
		t.Fatal("index loaded with its item nodes")
	}
	p := &Personal{Likes: []Signal{{ID: "h4"}, {ID: "h5", AgeSeconds: 3600}}, Views: []Signal{{ID: "h3"}},
		Searches: []VectorSignal{{Vector: []float32{0, 1, 1, 0}}}, WCF: f32(0.5), WPersonal: f32(0.5)}
	q := []float32{1, 0, 0, 0}
	for _, k := range []int{1, 3, 6} {
		a, err := full.SearchVector(q, Query{K: k, Personal: p})
		if err != nil {
			t.Fatal(err)
		}
		b, err := split.SearchVector(q, Query{K: k, Personal: p})
		if err != nil {
			t.Fatal(err)
		}
		sa, err := full.SimilarIndex(itA, Query{K: k, Personal: p})
		if err != nil {
			t.Fatal(err)
		}
		sb, err := split.SimilarIndex(itA, Query{K: k, Personal: p})
		if err != nil {
			t.Fatal(err)
		}
		if ids(a) != ids(b) || ids(sa) != ids(sb) {
			t.Fatalf("K=%d: full index %s / %s, split nodes only %s / %s", k, ids(a), ids(sa), ids(b), ids(sb))
		}
		for i := range a {
			if !near32(a[i].Score, b[i].Score) || !near32(a[i].Visual, b[i].Visual) {
				t.Fatalf("K=%d: %+v vs %+v", k, a[i], b[i])
			}
		}
	}
}

func TestBlendEmptyPersonalIdentical(t *testing.T) {
	f := newFixture(t, 60)
	e, err := Open(f.m, f.load, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dim := e.Manifest.Model.Embedding.Dim
	// Nothing that resolves: no signals, unknown products, a search of
	// another dimension, zero weights.
	nothing := []*Personal{nil, {}, {Likes: []Signal{{ID: "gone"}}, Views: []Signal{{ID: "gone2"}}},
		{Searches: []VectorSignal{{Vector: make([]float32, dim+1)}}},
		{Likes: []Signal{{ID: "p001"}}, WCF: f32(0), WPersonal: f32(0)}}
	for _, q := range []Query{{K: 7}, {K: 5, Section: "greens"}, {K: 4, Filters: map[string]string{"size": "S"}}} {
		base, _, err := e.SearchImage(f.photos["p004"], nil, q)
		if err != nil {
			t.Fatal(err)
		}
		sim, err := e.Similar("p004", q)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range append(append([]Hit(nil), base...), sim...) {
			if h.Score != h.Visual {
				t.Fatalf("visual-only hit %+v: Score ≠ Visual", h)
			}
		}
		for _, p := range nothing {
			q2 := q
			q2.Personal = p
			got, _, err := e.SearchImage(f.photos["p004"], nil, q2)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, base) {
				t.Errorf("personal %+v changed the search: %v vs %v", p, got, base)
			}
			gs, err := e.Similar("p004", q2)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gs, sim) {
				t.Errorf("personal %+v changed similar: %v vs %v", p, gs, sim)
			}
		}
	}
}

func TestBlendFiltersHold(t *testing.T) {
	f := newFixture(t, 60)
	e, err := Open(f.m, f.load, Options{SkipModel: true})
	if err != nil {
		t.Fatal(err)
	}
	// A shopper who likes reds, querying greens of size M with a red photo.
	var likes []Signal
	for i := 0; i < 60; i += 3 {
		likes = append(likes, Signal{ID: fmt.Sprintf("p%03d", i)})
	}
	p := &Personal{Likes: likes, WPersonal: f32(5)}
	red := e.Vectors.Vector(0, nil)
	for _, q := range []Query{
		{K: 8, Section: "greens", Filters: map[string]string{"size": "M"}, Personal: p},
		{K: 6, Filters: map[string]string{"size": "S"}, Personal: p},
		{K: 9, Section: "blues", Personal: p, Exact: true},
	} {
		hits, err := e.SearchVector(red, q)
		if err != nil {
			t.Fatal(err)
		}
		sim, err := e.SimilarIndex(0, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, hs := range [][]Hit{hits, sim} {
			if len(hs) != q.K {
				t.Fatalf("%+v: %d hits, want %d", q, len(hs), q.K)
			}
			for i, h := range hs {
				it := e.Display.Item(h.Index)
				if (q.Section != "" && it.Section != q.Section) || (q.Filters["size"] != "" && it.Attrs["size"] != q.Filters["size"]) {
					t.Fatalf("%+v: hit %s (%s, %s) violates the filters", q, h.ID, it.Section, it.Attrs["size"])
				}
				if i > 0 && h.Score > hs[i-1].Score {
					t.Fatalf("%+v: not sorted by blended score", q)
				}
			}
		}
		for _, h := range sim {
			if h.Index == 0 {
				t.Fatal("more like this returned the product itself")
			}
		}
	}
}

func TestBlendColdStart(t *testing.T) {
	vecs, secs, cols := handVectors()
	q := []float32{1, 0, 0, 0}
	noCF := handAssets(t, vecs, secs, cols, nil, nil).open(t)
	if noCF.CF != nil {
		t.Fatal("no CF asset listed, but CF loaded")
	}
	withCF := handAssets(t, vecs, secs, cols, handCF(), nil).open(t)
	if withCF.CF == nil || withCF.CF.Len() != nHand {
		t.Fatal("CF asset not loaded")
	}
	base, err := noCF.SearchVector(q, Query{K: 3, Section: "a"})
	if err != nil {
		t.Fatal(err)
	}
	// No CF asset: the CF term is 0, so CF alone leaves the visual order.
	cfOnly := &Personal{Views: []Signal{{ID: "h3"}}, WPersonal: f32(0), WCF: f32(10)}
	got, err := noCF.SearchVector(q, Query{K: 3, Section: "a", Personal: cfOnly})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, base) {
		t.Fatalf("without CF asset: %v, want visual %v", got, base)
	}
	// History without CF neighbours (Y is cold): visual order again.
	cold := &Personal{Views: []Signal{{ID: "h4"}}, WPersonal: f32(0), WCF: f32(10)}
	if got, err = withCF.SearchVector(q, Query{K: 3, Section: "a", Personal: cold}); err != nil || !reflect.DeepEqual(got, base) {
		t.Fatalf("cold history: %v %v, want visual %v", got, err, base)
	}
	// Items without neighbours of a warm history score their visual only.
	warm := &Personal{Views: []Signal{{ID: "h3"}}, WPersonal: f32(0), WCF: f32(10)}
	got, err = withCF.SearchVector(q, Query{K: 3, Section: "a", Personal: warm})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range got {
		if h.Index == itA && h.Score != h.Visual {
			t.Fatalf("A has no CF affinity but scored %v over visual %v", h.Score, h.Visual)
		}
	}
	// "More like this" adds the product's own CF neighbours: A → C.
	// Visually B (cos .72) beats C (.63); with A's neighbour C first.
	sim, err := withCF.SimilarIndex(itA, Query{K: 2, Section: "a"})
	if err != nil || ids(sim) != "h1,h2" {
		t.Fatalf("similar without personal: %v %v", ids(sim), err)
	}
	sim, err = withCF.SimilarIndex(itA, Query{K: 2, Section: "a", Personal: &Personal{Views: []Signal{{ID: "h4"}}, WPersonal: f32(0), WCF: f32(0.5)}})
	if err != nil || ids(sim) != "h2,h1" {
		t.Fatalf("similar with the product's CF neighbours: %v %v", ids(sim), err)
	}
	// A CF asset from another build is refused.
	bad := handAssets(t, vecs, secs, cols, handCF()[:nHand-1], nil)
	if _, err := Open(bad.m, bad.load, Options{SkipModel: true}); err == nil || !strings.Contains(err.Error(), "CF") {
		t.Fatalf("CF asset with the wrong item count: %v", err)
	}
}

func TestBlendWeightsFromManifest(t *testing.T) {
	vecs, secs, cols := handVectors()
	q := []float32{1, 0, 0, 0}
	if b := handAssets(t, vecs, secs, cols, nil, nil).open(t).Blend(); b != DefaultBlend {
		t.Fatalf("older manifest: %+v, want the defaults %+v", b, DefaultBlend)
	}
	partial := handAssets(t, vecs, secs, cols, handCF(), &catalog.Blend{WCF: f64(0.5)}).open(t)
	if b := partial.Blend(); b.WCF != 0.5 || b.WPersonal != DefaultBlend.WPersonal || b.HalfLife != DefaultBlend.HalfLife {
		t.Fatalf("partial blend section: %+v", b)
	}
	full := &catalog.Blend{WCF: f64(0.5), WPersonal: f64(0), HalfLifeHours: f64(2)}
	f := handAssets(t, vecs, secs, cols, handCF(), full)
	// Through the manifest's JSON, as the page reads it.
	mb, err := f.m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(mb, []byte(`"blend": {`)) || !bytes.Contains(mb, []byte(`"w_cf": 0.5`)) || !bytes.Contains(mb, []byte(`"half_life_hours": 2`)) {
		t.Fatalf("manifest JSON lacks the blend section:\n%s", mb)
	}
	if f.m, err = catalog.ReadManifest(mb); err != nil {
		t.Fatal(err)
	}
	e := f.open(t)
	if b := e.Blend(); b != (Blend{WCF: 0.5, WPersonal: 0, HalfLife: 2 * time.Hour}) {
		t.Fatalf("blend from manifest: %+v", b)
	}
	view := []Signal{{ID: "h3"}}
	hits, err := e.SearchVector(q, Query{K: 3, Section: "a", Personal: &Personal{Views: view}})
	if err != nil || ids(hits) != "h2,h1,h0" {
		t.Fatalf("manifest w_cf 0.5: %v %v", ids(hits), err)
	}
	// A per-query override wins; 0 turns the term off.
	hits, err = e.SearchVector(q, Query{K: 3, Section: "a", Personal: &Personal{Views: view, WCF: f32(0)}})
	if err != nil || ids(hits) != "h0,h1,h2" {
		t.Fatalf("override w_cf 0: %v %v", ids(hits), err)
	}
	// The half-life comes from the manifest too: next to a fresh view of A
	// (whose neighbour is C), a view of X 20 hours old (10 half-lives)
	// barely counts, so B's affinity (from X only) stays near 0 and B
	// below A. Without decay B would score .8 + .5·.3 = .95 and pass A.
	hits, err = e.SearchVector(q, Query{K: 3, Section: "a", Personal: &Personal{Views: []Signal{{ID: "h3", AgeSeconds: 20 * 3600}, {ID: "h0"}}}})
	if err != nil || ids(hits) != "h2,h0,h1" {
		t.Fatalf("decayed view: %v %v", ids(hits), err)
	}
	for _, bad := range []float32{-1, float32(math.NaN()), float32(math.Inf(1))} {
		if _, err := e.SearchVector(q, Query{K: 3, Personal: &Personal{Views: view, WCF: f32(bad)}}); err == nil {
			t.Errorf("w_cf %v: want an error", bad)
		}
		if _, err := e.SimilarIndex(0, Query{K: 3, Personal: &Personal{Views: view, WPersonal: f32(bad)}}); err == nil {
			t.Errorf("w_personal %v: want an error", bad)
		}
	}
	// The manifest reader refuses negative blend values.
	var raw map[string]any
	json.Unmarshal(mb, &raw)
	raw["blend"] = map[string]any{"w_cf": -0.1}
	nb, _ := json.Marshal(raw)
	if _, err := catalog.ReadManifest(nb); !errors.Is(err, catalog.ErrManifest) || !strings.Contains(err.Error(), "w_cf") {
		t.Fatalf("negative w_cf in the manifest: %v", err)
	}
}

// BenchmarkBlendRerank measures what a blend adds to a query: resolving a
// long history (20 likes, 50 views, 5 searches; CF rows of 24) and
// re-ranking the visual pool, on 5,000 random 256-d items.
func BenchmarkBlendRerank(b *testing.B) {
	const n, dim = 5000, 256
	r := rand.New(rand.NewPCG(1, 2))
	vecs := make([][]float32, n)
	secs, cols := make([]string, n), make([]string, n)
	rows := make([][]cf.Neighbor, n)
	for i := range vecs {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		vecs[i], secs[i], cols[i] = unit(v...), "s", "c"
		for k := 0; k < 24; k++ {
			rows[i] = append(rows[i], cf.Neighbor{Item: int32(r.IntN(n)), Score: 1 / float32(k+1)})
		}
	}
	e := handAssets(b, vecs, secs, cols, rows, nil).open(b)
	var p Personal
	for i := 0; i < 20; i++ {
		p.Likes = append(p.Likes, Signal{ID: fmt.Sprintf("h%d", r.IntN(n)), AgeSeconds: float64(i * 3600)})
	}
	for i := 0; i < 50; i++ {
		p.Views = append(p.Views, Signal{ID: fmt.Sprintf("h%d", r.IntN(n)), AgeSeconds: float64(i * 600)})
	}
	for i := 0; i < 5; i++ {
		p.Searches = append(p.Searches, VectorSignal{Vector: vecs[r.IntN(n)], AgeSeconds: 60})
	}
	for _, k := range []int{10, 100} {
		pool, err := e.Index.Exact(vecs[0], annoy.Options{K: poolSize(k)})
		if err != nil {
			b.Fatal(err)
		}
		hits := e.hits(pool)
		work := make([]Hit, len(hits))
		b.Run(fmt.Sprintf("pool=%d", len(hits)), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				bc, err := e.personalize(&p, -1)
				if err != nil || bc == nil {
					b.Fatal(err)
				}
				copy(work, hits)
				bc.rerank(e, work, k)
			}
		})
	}
}
