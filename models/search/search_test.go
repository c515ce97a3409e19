package search

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/internal/tinymodel"
	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/vecfile"
)

// fixture builds an in-memory asset set the way the builder does: items are
// solid-colour photos in three colour families (the section), embedded
// with a tiny model.
type fixture struct {
	m      *catalog.Manifest
	files  map[string][]byte
	photos map[string][]byte // item id → PNG
}

func family(i int) (string, color.RGBA) {
	jit := uint8(i * 7 % 40)
	switch i % 3 {
	case 0:
		return "reds", color.RGBA{215 + jit, 20 + jit, 30, 255}
	case 1:
		return "greens", color.RGBA{20, 200 + jit, 40 + jit, 255}
	}
	return "blues", color.RGBA{30 + jit, 40, 210 + jit, 255}
}

func pngOf(c color.RGBA, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for p := 0; p < len(img.Pix); p += 4 {
		img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = c.R, c.G, c.B, 255
	}
	// A white border like a catalogue shot.
	for x := 0; x < w; x++ {
		img.SetRGBA(x, 0, color.RGBA{255, 255, 255, 255})
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	model := tinymodel.Build(tinymodel.Options{Channels: 16})
	e, err := embed.New(model, embed.Options{Pooling: embed.GAP})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{files: map[string][]byte{}, photos: map[string][]byte{}}
	var items []catalog.Item
	var vecs []float32
	for i := 0; i < n; i++ {
		sec, c := family(i)
		id := fmt.Sprintf("p%03d", i)
		photo := pngOf(c, 24+i%5, 30)
		f.photos[id] = photo
		v, err := e.EmbedBytes(photo, nil)
		if err != nil {
			t.Fatal(err)
		}
		vecs = append(vecs, v...)
		items = append(items, catalog.Item{Row: i + 2, ID: id, Title: "Item " + id,
			Attrs: map[string]string{"section": sec, "size": []string{"S", "M"}[i%2]}})
	}
	dim := e.Dim()
	add := func(kind, ext string, b []byte) catalog.Asset {
		a, files := catalog.NewAsset(kind, ext, b, 0)
		for k, v := range files {
			f.files[k] = v
		}
		return a
	}
	header := []string{"id", "title", "section", "size"}
	disp, err := catalog.BuildDisplay(items, header, catalog.DisplayOptions{Section: "section", Attributes: []string{"size"}})
	if err != nil {
		t.Fatal(err)
	}
	ann, err := annoy.Build(vecs, dim, annoy.BuildOptions{Trees: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var vb, nb bytes.Buffer
	if err := vecfile.WriteVectors(&vb, vecfile.Float32, dim, vecs); err != nil {
		t.Fatal(err)
	}
	secs := make([]int32, n)
	for i := range secs {
		secs[i] = int32(i % 3)
	}
	nl, err := vecfile.ComputeNeighbors(vecs, dim, secs, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := vecfile.WriteNeighbors(&nb, nl); err != nil {
		t.Fatal(err)
	}
	ma := add(KindModel, "onnx", model)
	f.m = &catalog.Manifest{
		FormatVersion: catalog.ManifestVersion, ItemCount: n, SectionColumn: "section",
		Model:      catalog.ModelInfo{File: ma.File, SHA256: ma.SHA256, Size: ma.Size, Embedding: catalog.EmbeddingInfo{Dim: dim, Pooling: "gap"}, Metric: "angular"},
		Sections:   map[string]int{"reds": (n + 2) / 3, "greens": (n + 1) / 3, "blues": n / 3},
		Attributes: map[string]map[string]int{"size": {"S": (n + 1) / 2, "M": n / 2}},
		Assets: []catalog.Asset{ma, add(KindCatalog, "json", disp), add(KindIndex, "ann", ann),
			add(KindVectors, "bin", vb.Bytes()), add(KindNeighbors, "bin", nb.Bytes())},
	}
	return f
}

func (f *fixture) load(a catalog.Asset) ([]byte, error) {
	b, ok := f.files[a.File]
	if !ok {
		return nil, errors.New("no such asset " + a.File)
	}
	return b, nil
}

func TestSearchImageFindsSameFamily(t *testing.T) {
	f := newFixture(t, 60)
	e, err := Open(f.m, f.load, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, red := family(0)
	hits, tm, err := e.SearchImage(pngOf(red, 40, 40), nil, Query{K: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 10 || tm.Embed <= 0 {
		t.Fatalf("%d hits, timings %+v", len(hits), tm)
	}
	reds := 0
	for _, h := range hits {
		if e.Display.Item(h.Index).Section == "reds" {
			reds++
		}
	}
	if reds < 9 {
		t.Fatalf("only %d of 10 results for a red photo are red", reds)
	}
	for i := 1; i < len(hits); i++ {
		if hits[i].Score > hits[i-1].Score {
			t.Fatal("results not sorted by score")
		}
	}
}

func TestFiltersRestrictResults(t *testing.T) {
	f := newFixture(t, 60)
	e, err := Open(f.m, f.load, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, red := family(0)
	q := Query{K: 8, Section: "greens", Filters: map[string]string{"size": "M"}}
	hits, _, err := e.SearchImage(pngOf(red, 30, 30), nil, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 8 {
		t.Fatalf("%d hits, want 8", len(hits))
	}
	for _, h := range hits {
		it := e.Display.Item(h.Index)
		if it.Section != "greens" || it.Attrs["size"] != "M" {
			t.Fatalf("hit %s violates filters: %+v", h.ID, it)
		}
	}
	if _, _, err := e.SearchImage(pngOf(red, 30, 30), nil, Query{K: 5, Section: "purples"}); err == nil {
		t.Fatal("unknown section: want error")
	}
	if _, err := e.SearchVector(make([]float32, e.Manifest.Model.Embedding.Dim), Query{K: 0}); err == nil {
		t.Fatal("k=0: want error")
	}
}

func TestSimilarWithoutModel(t *testing.T) {
	f := newFixture(t, 45)
	e, err := Open(f.m, f.load, Options{SkipModel: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.SearchImage(f.photos["p000"], nil, Query{K: 3}); !errors.Is(err, ErrNoModel) {
		t.Fatalf("SearchImage without model: %v", err)
	}
	hits, err := e.Similar("p003", Query{K: 5, Section: "reds"})
	if err != nil {
		t.Fatal(err)
	}
	want := e.Neighbors.Section(3)
	for i, h := range hits {
		if h.Index != int(want[i].Item) || h.ID == "p003" {
			t.Fatalf("hit %d = %+v, want neighbour %d", i, h, want[i].Item)
		}
	}
	// K beyond the stored lists falls back to an exact search over vectors.
	hits, err = e.Similar("p003", Query{K: 12, Section: "reds"})
	if err != nil || len(hits) != 12 {
		t.Fatalf("fallback: %d hits, %v", len(hits), err)
	}
	for _, h := range hits {
		if h.ID == "p003" || e.Display.Item(h.Index).Section != "reds" {
			t.Fatalf("fallback hit %+v", h)
		}
	}
	if _, err := e.Similar("nope", Query{K: 3}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown id: %v", err)
	}
}

// TestSimilarFollowsListRule: "more like this" answers with the
// precomputed lists as vecfile's rule picks them (what the edge API and the
// embed return), and only a cross-section answer short of k goes on, with
// the section's best by exact cosine.
func TestSimilarFollowsListRule(t *testing.T) {
	f := newFixture(t, 45)
	e, err := Open(f.m, f.load, Options{SkipModel: true})
	if err != nil {
		t.Fatal(err)
	}
	sectionOf := func(j int) (string, error) { return e.Display.Item(j).Section, nil }
	filled := 0
	for i := 0; i < 45; i += 4 {
		own := e.Display.Item(i).Section
		for _, sec := range []string{"", "reds", "greens", "blues"} {
			for _, k := range []int{1, 3, 5} {
				hits, err := e.SimilarIndex(i, Query{K: k, Section: sec})
				if err != nil {
					t.Fatal(err)
				}
				c := vecfile.ChooseSimilar(e.Neighbors.Header().Lists, own, sec)
				listed, _ := c.Take(e.Neighbors.List(c, i), i, k, sectionOf)
				what := fmt.Sprintf("item %d (%s), section %q, k %d", i, own, sec, k)
				if len(hits) < len(listed) {
					t.Fatalf("%s: %d hits, the lists give %d", what, len(hits), len(listed))
				}
				for x, nb := range listed {
					if hits[x].Index != int(nb.Item) || hits[x].Score != nb.Score {
						t.Errorf("%s: hit %d = %d (%v), the list says %d (%v)", what, x, hits[x].Index, hits[x].Score, nb.Item, nb.Score)
					}
				}
				if !c.CanBeShort() && len(hits) != len(listed) {
					t.Errorf("%s: %d hits, the list gives %d and nothing else may be added", what, len(hits), len(listed))
				}
				if sec != "" && len(hits) != k {
					t.Errorf("%s: %d hits, want %d", what, len(hits), k)
				}
				if len(hits) > len(listed) {
					filled++
				}
				seen := map[int]bool{i: true}
				for _, h := range hits {
					if seen[h.Index] || (sec != "" && e.Display.Item(h.Index).Section != sec) {
						t.Errorf("%s: hit %d repeated, the product itself, or outside the section", what, h.Index)
					}
					seen[h.Index] = true
				}
			}
		}
	}
	if filled == 0 {
		t.Error("no cross-section answer needed filling: the fixture does not test step 3")
	}
}

func TestOpenRejectsMismatchedAssets(t *testing.T) {
	f := newFixture(t, 30)
	g := newFixture(t, 33)
	// Catalogue from one build, index from another.
	for i, a := range f.m.Assets {
		if a.Kind == KindIndex {
			ga, _ := g.m.Asset(KindIndex)
			f.m.Assets[i] = ga
			f.files[ga.File] = g.files[ga.File]
		}
	}
	if _, err := Open(f.m, f.load, Options{SkipModel: true}); err == nil {
		t.Fatal("mismatched index and catalogue: want error")
	}
}
