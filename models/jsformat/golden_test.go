//go:build !js

// The golden assets are compared byte for byte natively only: the js/wasm
// build may round a float differently (no fused kernels) and the fixture
// is written once, by the native test.

package jsformat

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/cf"
	"github.com/lookalike/lookalike/models/search"
	"github.com/lookalike/lookalike/models/vecfile"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the Go writers")

const goldenDir = "testdata/golden"

// The golden catalogue: 12 items in three sections, 6-dimensional vectors
// (int8 records need padding: 6 is not a multiple of 4).
const (
	nItems = 12
	dim    = 6
	nbK    = 5 // neighbours per list: the bags' section lists have empty slots
	cfK    = 4
	part   = 160 // bytes per part: the vectors, neighbours and index are split
)

var sections = []string{"tops", "tops", "tops", "tops", "tops", "shoes", "shoes", "shoes", "shoes", "bags", "bags", "bags"}

func itemID(i int) string {
	if i == nItems-1 {
		return "x/ü 11" // escaped in a thumbnail pattern
	}
	return fmt.Sprintf("p%d", i)
}

// goldenVectors: each section around its own direction, seeded.
func goldenVectors() []float32 {
	rng := rand.New(rand.NewPCG(13, 13))
	base := map[string][]float32{"tops": {1, 0.2, 0, 0, 0.1, 0}, "shoes": {0, 1, 0.3, 0, 0, 0.1}, "bags": {0.2, 0, 0, 1, 0, 0.3}}
	var out []float32
	for _, s := range sections {
		v := make([]float32, dim)
		var n float32
		for c := range v {
			v[c] = base[s][c] + float32(rng.NormFloat64())*0.35
			n += v[c] * v[c]
		}
		n = float32(math.Sqrt(float64(n)))
		for c := range v {
			v[c] /= n
		}
		out = append(out, v...)
	}
	return out
}

// goldenCF: collaborative neighbours by item index, scores chosen to be
// inexact in binary16 (0.1, 1/3 …); the products' own rows and their
// neighbours' rows both matter to the carousel.
func goldenCF() [][]cf.Neighbor {
	rows := make([][]cf.Neighbor, nItems)
	rows[0] = []cf.Neighbor{{Item: 6, Score: 0.8}, {Item: 2, Score: 1.0 / 3}, {Item: 9, Score: 0.1}}
	rows[1] = []cf.Neighbor{{Item: 0, Score: 0.6}, {Item: 6, Score: 0.45}}
	rows[2] = []cf.Neighbor{{Item: 5, Score: 0.7}, {Item: 0, Score: 0.3}, {Item: 1, Score: 0.2}, {Item: 11, Score: 0.05}}
	rows[3] = []cf.Neighbor{{Item: 6, Score: 0.9}}
	rows[4] = []cf.Neighbor{{Item: 2, Score: 0.55}, {Item: 7, Score: 0.15}}
	rows[5] = []cf.Neighbor{{Item: 2, Score: 0.7}, {Item: 6, Score: 0.25}}
	rows[6] = []cf.Neighbor{{Item: 3, Score: 0.9}, {Item: 0, Score: 0.8}, {Item: 1, Score: 0.45}}
	rows[7] = []cf.Neighbor{{Item: 4, Score: 0.15}}
	rows[9] = []cf.Neighbor{{Item: 0, Score: 0.1}, {Item: 10, Score: 0.65}}
	rows[10] = []cf.Neighbor{{Item: 9, Score: 0.65}, {Item: 6, Score: 0.2}}
	rows[11] = []cf.Neighbor{{Item: 2, Score: 0.05}}
	return rows
}

// goldenCFEdges: binary16 corner cases for the decoder.
func goldenCFEdges() [][]cf.Neighbor {
	return [][]cf.Neighbor{
		{{Item: 1, Score: 0}, {Item: 2, Score: float32(math.Copysign(0, -1))}, {Item: 3, Score: 5.9604645e-8}, {Item: 0, Score: 6.1035156e-5}},
		{{Item: 0, Score: 65504}, {Item: 2, Score: -2.5}, {Item: 3, Score: 1.0 / 3}, {Item: 1, Score: 0.1}},
		{{Item: 3, Score: 3.0e-5}, {Item: 1, Score: -0.007}},
		nil,
	}
}

// goldenThumbRefs: catalog.ParseThumb cases.
var goldenThumbRefs = []string{
	"thumbs-0a1b2c3d4e5f.jpg#xywh=120,80,60,80", "thumbs-0a1b2c3d4e5f.jpg#xywh=pixel:0,0,60,80", "whole.jpg",
	"a.jpg#xywh=1,2,0,4", "a.jpg#xywh=1,2,3", "a.jpg#t=10", "a.jpg#xywh=-1,2,3,4", "a.jpg#xywh= 1,2,3,4", "a.jpg#xywh=007,2,3,4", "",
}

type fixture struct {
	files map[string][]byte
	man   *catalog.Manifest
}

func (f *fixture) add(kind, ext string, b []byte, max int, cuts ...int) catalog.Asset {
	a, files := catalog.NewAsset(kind, ext, b, max, cuts...)
	for k, v := range files {
		f.files[k] = v
	}
	return a
}

func (f *fixture) load(a catalog.Asset) ([]byte, error) {
	var b []byte
	for _, p := range a.Files() {
		pb, ok := f.files[p.File]
		if !ok {
			return nil, fmt.Errorf("no %s", p.File)
		}
		b = append(b, pb...)
	}
	return b, nil
}

func jsonBytes(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Expected values, as the JavaScript should decode them.
type (
	pair      [2]float64 // [item, score]
	nbItem    struct{ Section, Global []pair }
	thumbWant struct {
		Ref  string `json:"ref"`
		File string `json:"file"`
		Tile bool   `json:"tile"`
		X    int    `json:"x,omitempty"`
		Y    int    `json:"y,omitempty"`
		W    int    `json:"w,omitempty"`
		H    int    `json:"h,omitempty"`
	}
	itemWant struct {
		ID       string     `json:"id"`
		Title    string     `json:"title"`
		URL      string     `json:"url"`
		Price    string     `json:"price"`
		Currency string     `json:"currency"`
		Section  string     `json:"section"`
		Thumb    *thumbWant `json:"thumb"`
	}
	similarCase struct {
		Doc      string           `json:"doc"`
		Manifest string           `json:"manifest"`
		Product  string           `json:"product"`
		Section  string           `json:"section"`
		Count    int              `json:"count"`
		Personal *search.Personal `json:"personal"`
		Results  [][2]any         `json:"results"` // [id, score]
	}
)

func thumbOf(ref string) *thumbWant {
	if ref == "" {
		return nil
	}
	p := catalog.ParseThumb(ref)
	return &thumbWant{Ref: ref, File: p.File, Tile: p.Tile, X: p.X, Y: p.Y, W: p.W, H: p.H}
}

func pairs(nbs []vecfile.Neighbor) []pair {
	out := []pair{}
	for _, nb := range nbs {
		out = append(out, pair{float64(nb.Item), float64(nb.Score)})
	}
	return out
}

func cfPairs(row []cf.Neighbor) []pair {
	out := []pair{}
	for _, nb := range row {
		out = append(out, pair{float64(nb.Item), float64(nb.Score)})
	}
	return out
}

// unitRows: each stored vector at unit length (float64), as the carousel uses them.
func unitRows(v *vecfile.Vectors) [][]float64 {
	var out [][]float64
	var buf []float32
	for i := 0; i < v.Len(); i++ {
		buf = v.Vector(i, buf)
		var n float64
		for _, x := range buf {
			n += float64(x) * float64(x)
		}
		row := make([]float64, len(buf))
		for c, x := range buf {
			row[c] = float64(x) / math.Sqrt(n)
		}
		out = append(out, row)
	}
	return out
}

func displayItems(t *testing.T, b []byte) []itemWant {
	d, err := catalog.ParseDisplay(b)
	check(t, err)
	var out []itemWant
	for i := 0; i < d.Len(); i++ {
		it := d.Item(i)
		out = append(out, itemWant{ID: it.ID, Title: it.Title, URL: it.URL, Price: it.Price, Currency: it.Currency, Section: it.Section, Thumb: thumbOf(it.Thumb)})
	}
	return out
}

// build writes the golden asset folder and expected.json in memory.
func build(t *testing.T) map[string][]byte {
	f := &fixture{files: map[string][]byte{}}
	vecs := goldenVectors()

	// The display catalogue: sprite tiles, a whole image, none; prices with
	// and without a currency.
	var items []catalog.Item
	thumbs := make([]string, nItems)
	for i := range nItems {
		it := catalog.Item{Row: i + 2, ID: itemID(i), Title: fmt.Sprintf("Item %d", i), Attrs: map[string]string{"section": sections[i], "colour": []string{"red", "blue", "green"}[i%3]}}
		switch i % 4 {
		case 0:
			it.Price, it.Currency, it.URL = "27.50", "EUR", "https://shop.example/"+it.ID
		case 1:
			it.Price = "12"
		}
		items = append(items, it)
		thumbs[i] = catalog.Thumb{File: "thumbs-0a1b2c3d4e5f.jpg", X: 60 * (i % 8), Y: 80 * (i / 8), W: 60, H: 80, Tile: true}.String()
	}
	thumbs[3], thumbs[4] = "whole.jpg", ""
	header := []string{"id", "image", "title", "url", "price", "currency", "section", "colour"}
	disp, err := catalog.BuildDisplay(items, header, catalog.DisplayOptions{Section: "section", Attributes: []string{"colour"}, Thumbs: thumbs})
	check(t, err)
	pattern, err := catalog.BuildDisplay(items, header, catalog.DisplayOptions{Section: "section", Attributes: []string{"colour"}, ThumbPattern: "thumbs/{id}-{i}.jpg"})
	check(t, err)

	ann, err := annoy.Build(vecs, dim, annoy.BuildOptions{Trees: 2, Seed: 1})
	check(t, err)
	var vb, vf bytes.Buffer
	check(t, vecfile.WriteVectors(&vb, vecfile.Int8, dim, vecs))
	check(t, vecfile.WriteVectors(&vf, vecfile.Float32, dim, vecs))
	secIdx := make([]int32, nItems)
	for i, s := range sections {
		secIdx[i] = int32(slices.Index([]string{"tops", "shoes", "bags"}, s))
	}
	nl, err := vecfile.ComputeNeighbors(vecs, dim, secIdx, nbK, true)
	check(t, err)
	var nb bytes.Buffer
	check(t, vecfile.WriteNeighbors(&nb, nl))
	cfb, err := cf.EncodeNeighbors(goldenCF(), cfK)
	check(t, err)
	edges, err := cf.EncodeNeighbors(goldenCFEdges(), 4)
	check(t, err)

	counts := func(col string) map[string]int {
		m := map[string]int{}
		for _, it := range items {
			m[it.Attrs[col]]++
		}
		return m
	}
	f.man = &catalog.Manifest{
		FormatVersion: catalog.ManifestVersion, BuilderVersion: "golden", BuildTime: "2026-01-01T00:00:00Z",
		Model:     catalog.ModelInfo{Embedding: catalog.EmbeddingInfo{Dim: dim, Pooling: "gap"}, Metric: "angular"},
		ItemCount: nItems, SectionColumn: "section", Sections: counts("section"),
		Attributes: map[string]map[string]int{"colour": counts("colour")},
		Assets: []catalog.Asset{
			f.add(search.KindCatalog, "json", disp, 0),
			f.add(search.KindIndex, "ann", ann, part, int(annoy.ItemsSize(nItems, dim))),
			f.add(search.KindVectors, "bin", vb.Bytes(), part),
			f.add(search.KindNeighbors, "bin", nb.Bytes(), part),
			f.add(search.KindCF, "bin", cfb, 0),
			f.add(search.KindThumbs, "jpg", []byte("sheet 0"), 0),
			f.add(search.KindThumbs, "jpg", []byte("sheet 1"), 0),
		},
		Blend: &catalog.Blend{WCF: ptr(1.5), WPersonal: ptr(0.4), HalfLifeHours: ptr(24.0)},
	}
	def := *f.man
	def.Blend = nil
	manifests := map[string]*catalog.Manifest{"manifest.json": f.man, "manifest-default.json": &def}
	for name, m := range manifests {
		b, err := m.Marshal()
		check(t, err)
		f.files[name] = b
	}
	f.files["extra-catalog-pattern.json"] = pattern
	f.files["extra-vectors-float32.bin"] = vf.Bytes()
	f.files["extra-cf-edges.bin"] = edges

	// What the Go readers make of them.
	engines := map[string]*search.Engine{}
	for name, m := range manifests {
		back, err := catalog.ReadManifest(f.files[name])
		check(t, err)
		e, err := search.Open(back, f.load, search.Options{SkipModel: true})
		check(t, err)
		engines[name] = e
		_ = m
	}
	e := engines["manifest.json"]
	files := map[string][]catalog.Part{}
	for _, a := range f.man.Assets {
		if _, ok := files[a.Kind]; !ok {
			files[a.Kind] = a.Files()
		}
	}
	ix, _ := f.man.Asset(search.KindIndex)
	tail, from := ix.FilesFrom(annoy.ItemsSize(nItems, dim))
	if len(tail) == len(ix.Files()) {
		t.Fatal("the golden index has no part to skip")
	}
	var nbItems []nbItem
	for i := range nItems {
		nbItems = append(nbItems, nbItem{Section: pairs(e.Neighbors.Section(i)), Global: pairs(e.Neighbors.Global(i))})
	}
	f32v, err := vecfile.ParseVectors(vf.Bytes())
	check(t, err)
	cfRows := func(tb *cf.Table) [][]pair {
		var out [][]pair
		for i := range tb.Len() {
			out = append(out, cfPairs(tb.Row(i, nil)))
		}
		return out
	}
	et, err := cf.ParseTable(edges)
	check(t, err)
	var refs []thumbWant
	for _, r := range goldenThumbRefs {
		p := catalog.ParseThumb(r)
		refs = append(refs, thumbWant{Ref: r, File: p.File, Tile: p.Tile, X: p.X, Y: p.Y, W: p.W, H: p.H})
	}

	expected := map[string]any{
		"doc": "What the Go readers decode from the golden assets next to this file, and the carousel's answers " +
			"(search.Engine.SimilarFromLists). Written by models/jsformat/golden_test.go; checked against the " +
			"JavaScript by e2e/js/formats.test.mjs. Regenerate: go test ./models/jsformat -update",
		"files":      files,
		"index_tail": map[string]any{"parts": tail, "from": from},
		"catalog":    displayItems(t, disp),
		"catalog_pattern": map[string]any{
			"file": "extra-catalog-pattern.json", "items": displayItems(t, pattern),
		},
		"thumb_refs": refs,
		"neighbors": map[string]any{
			"count": e.Neighbors.Len(), "k": e.Neighbors.Header().K, "lists": e.Neighbors.Header().Lists, "items": nbItems,
		},
		"vectors": map[string]any{"count": e.Vectors.Len(), "dim": e.Vectors.Dim(), "int8": true, "items": unitRows(e.Vectors)},
		"vectors_float32": map[string]any{
			"file": "extra-vectors-float32.bin", "count": f32v.Len(), "dim": f32v.Dim(), "int8": false, "items": unitRows(f32v),
		},
		"cf":       map[string]any{"count": e.CF.Len(), "k": e.CF.Header().K, "rows": cfRows(e.CF)},
		"cf_edges": map[string]any{"file": "extra-cf-edges.bin", "count": et.Len(), "k": et.Header().K, "rows": cfRows(et)},
		"similar":  similarCases(t, engines),
	}
	f.files["expected.json"] = jsonBytes(t, expected)
	return f.files
}

func ptr[T any](v T) *T { return &v }

// similarCases: the carousel's answers for histories that exercise every
// term: CF from likes, views and the product itself; the taste from kept
// like vectors and photo searches; decay; the element's weights; a
// cross-section query; what does not count (unknown products, vectors of
// another dimension, a like without a kept vector).
func similarCases(t *testing.T, engines map[string]*search.Engine) []similarCase {
	e := engines["manifest.json"]
	keep := func(i int) []float32 { // the vector the page keeps with a heart
		v := e.ItemVector(i, nil)
		var n float32
		for _, x := range v {
			n += x * x
		}
		for c := range v {
			v[c] /= float32(math.Sqrt(float64(n)))
		}
		return v
	}
	day := 24 * 3600.0
	photo := []float32{0.1, 0.9, 0.3, -0.2, 0, 0.2}
	full := &search.Personal{
		Likes:    []search.Signal{{ID: "p6", AgeSeconds: 0, Vector: keep(6)}, {ID: "p3", AgeSeconds: day, Vector: keep(3)}},
		Views:    []search.Signal{{ID: "p2", AgeSeconds: 3600}, {ID: "p9", AgeSeconds: 2 * day}},
		Searches: []search.VectorSignal{{Vector: photo, AgeSeconds: 600}},
	}
	likesOnly := &search.Personal{Likes: []search.Signal{{ID: "p6"}, {ID: "gone", Vector: photo}, {ID: "p10", Vector: photo[:4]}}}
	searchOnly := &search.Personal{Searches: []search.VectorSignal{{Vector: photo}, {Vector: make([]float32, dim)}, {Vector: photo[:3]}}}
	views := &search.Personal{Views: []search.Signal{{ID: "p1"}, {ID: "p6", AgeSeconds: 10 * day}}}
	withW := func(p *search.Personal, wcf, wp float32) *search.Personal {
		q := *p
		q.WCF, q.WPersonal = &wcf, &wp
		return &q
	}
	cases := []similarCase{
		{Doc: "no history: the stored global list", Manifest: "manifest.json", Product: "p0", Count: 8},
		{Doc: "every signal, the manifest's weights", Manifest: "manifest.json", Product: "p0", Count: 8, Personal: full},
		{Doc: "every signal, the default weights (no blend in the manifest)", Manifest: "manifest-default.json", Product: "p0", Count: 8, Personal: full},
		{Doc: "CF only (w_personal 0)", Manifest: "manifest.json", Product: "p0", Count: 8, Personal: withW(full, 2, 0)},
		{Doc: "taste only (w_cf 0)", Manifest: "manifest.json", Product: "p0", Count: 8, Personal: withW(full, 0, 3)},
		{Doc: "cut to count", Manifest: "manifest.json", Product: "p5", Count: 3, Personal: full},
		{Doc: "own section: the section list", Manifest: "manifest.json", Product: "p5", Section: "shoes", Count: 8, Personal: full},
		{Doc: "another section: the global list filtered (short)", Manifest: "manifest.json", Product: "p1", Section: "shoes", Count: 8, Personal: full},
		{Doc: "a like without a kept vector counts for CF only; unknown ids and other dimensions are skipped", Manifest: "manifest-default.json", Product: "p2", Count: 8, Personal: likesOnly},
		{Doc: "photo searches only (a zero vector and another dimension skipped)", Manifest: "manifest.json", Product: "p9", Count: 8, Personal: searchOnly},
		{Doc: "views only, one decayed", Manifest: "manifest-default.json", Product: "p0", Count: 8, Personal: views},
		{Doc: "an item with no CF row and views that find nothing: taste only", Manifest: "manifest.json", Product: "p8", Count: 8, Personal: views},
	}
	for n := range cases {
		c := &cases[n]
		hits, err := engines[c.Manifest].SimilarFromLists(c.Product, c.Count, c.Section, c.Personal)
		check(t, err)
		c.Results = [][2]any{}
		for _, h := range hits {
			c.Results = append(c.Results, [2]any{h.ID, float64(h.Score)})
		}
		// Close scores would let float rounding reorder them in the browser.
		for i := 1; i < len(hits); i++ {
			if d := hits[i-1].Score - hits[i].Score; d < 1e-4 && hits[i-1].Score != hits[i].Score {
				t.Errorf("case %q: scores %v and %v of %s and %s are too close for a golden order", c.Doc, hits[i-1].Score, hits[i].Score, hits[i-1].ID, hits[i].ID)
			}
		}
	}
	return cases
}

// TestGolden checks that testdata/golden holds exactly what the Go writers
// and readers give today; `-update` rewrites it.
func TestGolden(t *testing.T) {
	files := build(t)
	if *update {
		check(t, os.RemoveAll(goldenDir))
		check(t, os.MkdirAll(goldenDir, 0o755))
		for name, b := range files {
			check(t, os.WriteFile(filepath.Join(goldenDir, name), b, 0o644))
		}
		return
	}
	have, err := os.ReadDir(goldenDir)
	check(t, err)
	var names []string
	for _, d := range have {
		names = append(names, d.Name())
	}
	var want []string
	for name := range files {
		want = append(want, name)
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("%s holds %v, Go writes %v; run: go test ./models/jsformat -update", goldenDir, names, want)
	}
	for _, name := range want {
		got, err := os.ReadFile(filepath.Join(goldenDir, name))
		check(t, err)
		if !bytes.Equal(got, files[name]) {
			t.Errorf("%s/%s differs from what Go writes now; run: go test ./models/jsformat -update (then node --test e2e/js/)", goldenDir, name)
		}
	}
}
