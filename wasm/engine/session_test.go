package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/vecfile"
)

// fixture is a synthetic catalogue: n items in two sections with a colour
// attribute and random unit vectors (no model: similar() needs none).
type fixture struct {
	n, dim   int
	vecs     []float32
	sections []string
	colours  []string
	files    map[string][]byte
}

func newFixture(t testing.TB, n, dim int, withNeighbors, global bool) *fixture {
	t.Helper()
	rng := rand.New(rand.NewSource(7))
	f := &fixture{n: n, dim: dim, vecs: make([]float32, n*dim), files: map[string][]byte{}}
	secIdx := make([]int32, n)
	type item struct {
		ID      string            `json:"id"`
		Title   string            `json:"title"`
		Section string            `json:"section"`
		Attrs   map[string]string `json:"attrs"`
		Thumb   map[string]int    `json:"thumb"`
	}
	var items []item
	for i := 0; i < n; i++ {
		var norm float64
		for j := 0; j < dim; j++ {
			v := rng.NormFloat64()
			f.vecs[i*dim+j] = float32(v)
			norm += v * v
		}
		for j := 0; j < dim; j++ {
			f.vecs[i*dim+j] /= float32(math.Sqrt(norm))
		}
		sec := []string{"Shoes", "Apparel"}[i%2]
		col := []string{"Blue", "Red", "Black"}[i%3]
		f.sections = append(f.sections, sec)
		f.colours = append(f.colours, col)
		secIdx[i] = int32(i % 2)
		items = append(items, item{ID: fmt.Sprintf("p%d", i), Title: fmt.Sprintf("Product %d", i), Section: sec,
			Attrs: map[string]string{"baseColour": col}, Thumb: map[string]int{"sheet": i % 2, "x": (i % 4) * 60, "y": 0}})
	}
	var vb bytes.Buffer
	if err := vecfile.WriteVectors(&vb, vecfile.Float32, dim, f.vecs); err != nil {
		t.Fatal(err)
	}
	f.files["vectors"] = vb.Bytes()
	ix, err := annoy.Build(f.vecs, dim, annoy.BuildOptions{Trees: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	f.files["index"] = ix
	if withNeighbors {
		nl, err := vecfile.ComputeNeighbors(f.vecs, dim, secIdx, 8, global)
		if err != nil {
			t.Fatal(err)
		}
		var nb bytes.Buffer
		if err := vecfile.WriteNeighbors(&nb, nl); err != nil {
			t.Fatal(err)
		}
		f.files["neighbors"] = nb.Bytes()
	}
	cat, _ := json.Marshal(map[string]any{
		"items": items,
		"thumbs": map[string]any{"cellW": 60, "cellH": 80, "sheets": []map[string]any{
			{"file": "thumbs-0-0123456789ab.jpg", "w": 240, "h": 80}, {"file": "thumbs-1-0123456789ab.jpg", "w": 240, "h": 80}}},
	})
	f.files["catalog"] = cat
	f.files["manifest"] = []byte(`{"items":` + fmt.Sprint(n) + `,"attributes":{"baseColour":{}},"embedding":{"dim":` + fmt.Sprint(dim) + `}}`)
	return f
}

func (f *fixture) session(t testing.TB) *session {
	t.Helper()
	s := newSession()
	for _, kind := range []string{"manifest", "index", "vectors", "neighbors", "catalog"} {
		b, ok := f.files[kind]
		if !ok {
			continue
		}
		if err := s.load(kind, b); err != nil {
			t.Fatalf("load %s: %v", kind, err)
		}
	}
	return s
}

// exact is the reference: the k most similar items to item i (excluding i)
// passing keep, by brute force over the fixture's vectors.
func (f *fixture) exact(i, k int, keep func(int) bool) []string {
	type kv struct {
		j int
		s float32
	}
	var all []kv
	for j := 0; j < f.n; j++ {
		if j == i || (keep != nil && !keep(j)) {
			continue
		}
		var d float32
		for c := 0; c < f.dim; c++ {
			d += f.vecs[i*f.dim+c] * f.vecs[j*f.dim+c]
		}
		all = append(all, kv{j, d})
	}
	for a := 0; a < len(all); a++ { // selection sort: small n
		for b := a + 1; b < len(all); b++ {
			if all[b].s > all[a].s {
				all[a], all[b] = all[b], all[a]
			}
		}
	}
	var out []string
	for _, e := range all[:min(k, len(all))] {
		out = append(out, fmt.Sprintf("p%d", e.j))
	}
	return out
}

func ids(rs []result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestReady(t *testing.T) {
	f := newFixture(t, 60, 16, true, false)
	s := f.session(t)
	info, err := s.ready()
	if err != nil {
		t.Fatal(err)
	}
	if info.Items != 60 || info.Sections["Shoes"] != 30 || info.Sections["Apparel"] != 30 {
		t.Errorf("ready: items %d sections %v", info.Items, info.Sections)
	}
	if got := info.Attributes["baseColour"]; got["Blue"] != 20 || got["Red"] != 20 || got["Black"] != 20 {
		t.Errorf("ready: colours %v", got)
	}
	if info.Dim != 16 {
		t.Errorf("dim %d", info.Dim)
	}
}

func TestSimilar(t *testing.T) {
	for _, tc := range []struct {
		name            string
		neighbors, glob bool
	}{
		{"neighbour lists", true, false},
		{"neighbour lists with global", true, true},
		{"vectors only", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 80, 12, tc.neighbors, tc.glob)
			s := f.session(t)
			const item = 5 // an Apparel item (odd index), colour Black
			sameSection := func(j int) bool { return f.sections[j] == f.sections[item] }
			tests := []struct {
				section string
				filters map[string]string
				k       int
				keep    func(int) bool
				source  string
			}{
				{"", nil, 6, func() func(int) bool {
					if tc.glob || !tc.neighbors {
						return nil
					}
					return sameSection // section lists only hold the item's own section
				}(), map[bool]string{true: "neighbors", false: "vectors"}[tc.neighbors]},
				{"Apparel", nil, 6, sameSection, map[bool]string{true: "neighbors", false: "vectors"}[tc.neighbors]},
				{"Shoes", nil, 5, func(j int) bool { return f.sections[j] == "Shoes" }, "vectors"},
				{"Apparel", map[string]string{"baseColour": "Red"}, 4, func(j int) bool { return sameSection(j) && f.colours[j] == "Red" }, "vectors"},
				{"", nil, 30, nil, "vectors"}, // more than the lists hold
			}
			for _, q := range tests {
				ans, err := s.similar("p5", q.k, q.section, q.filters)
				if err != nil {
					t.Fatalf("similar(%q, %v): %v", q.section, q.filters, err)
				}
				want := f.exact(item, q.k, q.keep)
				if got := ids(ans.Results); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("similar(%q, %v, k=%d) = %v, want %v", q.section, q.filters, q.k, got, want)
				}
				if src := ans.Query.(map[string]any)["source"]; src != q.source {
					t.Errorf("similar(%q, %v, k=%d) came from %v, want %v", q.section, q.filters, q.k, src, q.source)
				}
				for _, r := range ans.Results {
					if r.ID == "p5" {
						t.Errorf("similar returned the product itself")
					}
					if r.Thumb == nil || r.Thumb.W != 60 || r.Thumb.H != 80 || r.Thumb.SheetW != 240 || !strings.HasPrefix(r.Thumb.URL, "thumbs-") {
						t.Errorf("result %s thumb %+v", r.ID, r.Thumb)
					}
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t, 20, 8, true, false)
	s := f.session(t)
	check := func(what string, err error, code string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error, want %s", what, code)
		}
		if got := codeOf(err).Code; got != code {
			t.Errorf("%s: code %s (%v), want %s", what, got, err, code)
		}
	}
	_, err := s.similar("nope", 5, "", nil)
	check("unknown id", err, "not-found")
	_, err = s.similar("p1", 5, "Hats", nil)
	check("unknown section", err, "not-found")
	_, err = s.search([]byte("x"), nil, 5, "", nil)
	check("search without a model", err, "corrupt")
	check("load unknown kind", s.load("sprites", nil), "internal")
	check("bad vectors", newSession().load("vectors", []byte("LKVC garbage")), "corrupt")
	check("bad neighbours", newSession().load("neighbors", f.files["vectors"]), "corrupt")
	check("bad catalogue", newSession().load("catalog", []byte(`{"items":[{"title":"no id"}]}`)), "corrupt")
	check("bad manifest", newSession().load("manifest", []byte(`[1,2`)), "corrupt")
	check("bad model", newSession().load("model", []byte("not onnx")), "corrupt")

	// Files that disagree with each other.
	g := newFixture(t, 10, 8, false, false)
	mixed := newSession()
	for _, kind := range []string{"vectors", "catalog"} {
		src := f
		if kind == "catalog" {
			src = g
		}
		if err := mixed.load(kind, src.files[kind]); err != nil {
			t.Fatal(err)
		}
	}
	_, err = mixed.ready()
	check("catalogue/vectors count mismatch", err, "corrupt")

	for _, tc := range []struct {
		err  error
		code string
	}{
		{fmt.Errorf("x: %w", imageprep.ErrTooLarge), "too-large"},
		{fmt.Errorf("x: %w", imageprep.ErrCorrupt), "corrupt"},
		{fmt.Errorf("x: %w", imageprep.ErrUnsupportedFormat), "unsupported"},
		{fmt.Errorf("x: %w", imageprep.ErrEmpty), "empty"},
		{errors.New("boom"), "internal"},
	} {
		if got := codeOf(tc.err).Code; got != tc.code {
			t.Errorf("codeOf(%v) = %s, want %s", tc.err, got, tc.code)
		}
	}
}

func TestParseCrop(t *testing.T) {
	tests := []struct {
		in   string
		want *rect
		ok   bool
	}{
		{"", nil, true},
		{"null", nil, true},
		{`{"x":1,"y":2,"w":3,"h":4}`, &rect{1, 2, 3, 4}, true},
		{`{"x":0,"y":0,"w":0,"h":4}`, nil, false},
		{`{"x":-1,"y":0,"w":5,"h":4}`, nil, false},
		{`{"x":`, nil, false},
	}
	for _, tc := range tests {
		got, err := parseCrop(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("parseCrop(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("parseCrop(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestQueryKey(t *testing.T) {
	a := queryKey([]byte("img"), nil)
	if a != queryKey([]byte("img"), nil) {
		t.Error("same query, different key")
	}
	if a == queryKey([]byte("img"), &rect{0, 0, 1, 1}) || a == queryKey([]byte("img2"), nil) {
		t.Error("different queries share a key")
	}
}

func FuzzParseCatalogue(f *testing.F) {
	fx := newFixture(f, 6, 4, false, false)
	f.Add(fx.files["catalog"])
	f.Add([]byte(`{"items":[{"id":"a","thumb":{"sheet":3}}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseCatalogue(b)
		if err != nil {
			return
		}
		for _, it := range c.Items {
			if it.ID == "" {
				t.Fatal("accepted an item without id")
			}
			if it.Thumb != nil && (it.Thumb.Sheet < 0 || it.Thumb.Sheet >= len(c.Thumbs.Sheets)) {
				t.Fatal("accepted a thumbnail in a missing sheet")
			}
		}
	})
}

func FuzzParseCrop(f *testing.F) {
	f.Add(`{"x":1,"y":2,"w":3,"h":4}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseCrop(s)
		if err == nil && r != nil && (r.W <= 0 || r.H <= 0 || r.X < 0 || r.Y < 0) {
			t.Fatalf("accepted %+v", r)
		}
	})
}
