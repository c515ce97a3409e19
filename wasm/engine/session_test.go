package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lookalike/lookalike/models/embed"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/search"
	"github.com/lookalike/lookalike/models/vecfile"
)

// fixture is a synthetic catalogue in the builder's formats: n items in
// two sections with a colour attribute and random unit vectors (no model:
// similar() needs none).
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
	var items []catalog.Item
	var thumbs []string
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
		items = append(items, catalog.Item{Row: i + 2, ID: fmt.Sprintf("p%d", i), Title: fmt.Sprintf("Product %d", i), Price: "19.99", Currency: "EUR",
			Attrs: map[string]string{"masterCategory": sec, "baseColour": col}})
		thumbs = append(thumbs, fmt.Sprintf("thumbs-%012x.jpg#xywh=%d,0,60,80", i%2, (i%4)*60))
	}
	m := &catalog.Manifest{FormatVersion: 1, ItemCount: n, SectionColumn: "masterCategory",
		Sections: map[string]int{}, Attributes: map[string]map[string]int{"baseColour": {}}}
	m.Model.Embedding.Dim = dim
	for i := range items {
		m.Sections[f.sections[i]]++
		m.Attributes["baseColour"][f.colours[i]]++
	}
	add := func(kind, ext string, b []byte) {
		a, _ := catalog.NewAsset(kind, ext, b, catalog.MaxAssetSize)
		m.Assets = append(m.Assets, a)
		f.files[kind] = b
	}
	var vb bytes.Buffer
	if err := vecfile.WriteVectors(&vb, vecfile.Float32, dim, f.vecs); err != nil {
		t.Fatal(err)
	}
	add("vectors", "bin", vb.Bytes())
	ix, err := annoy.Build(f.vecs, dim, annoy.BuildOptions{Trees: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	add("index", "ann", ix)
	if withNeighbors {
		nl, err := vecfile.ComputeNeighbors(f.vecs, dim, secIdx, 8, global)
		if err != nil {
			t.Fatal(err)
		}
		var nb bytes.Buffer
		if err := vecfile.WriteNeighbors(&nb, nl); err != nil {
			t.Fatal(err)
		}
		add("neighbors", "bin", nb.Bytes())
	}
	disp, err := catalog.BuildDisplay(items, []string{"id", "title", "price", "currency", "masterCategory", "baseColour", "image"},
		catalog.DisplayOptions{Section: "masterCategory", Attributes: []string{"baseColour"}, Thumbs: thumbs})
	if err != nil {
		t.Fatal(err)
	}
	add("catalog", "json", disp)
	mb, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f.files["manifest"] = mb
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
				ans, err := s.similar("p5", q.k, q.section, q.filters, nil)
				if err != nil {
					t.Fatalf("similar(%q, %v): %v", q.section, q.filters, err)
				}
				want := f.exact(item, q.k, q.keep)
				if got := ids(ans.Results); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("similar(%q, %v, k=%d) = %v, want %v", q.section, q.filters, q.k, got, want)
				}
				for _, r := range ans.Results {
					if r.ID == "p5" {
						t.Errorf("similar returned the product itself")
					}
					if r.Thumb == nil || r.Thumb.W != 60 || r.Thumb.H != 80 || r.Thumb.X == nil || !strings.HasPrefix(r.Thumb.URL, "thumbs-") {
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
	_, err := s.similar("nope", 5, "", nil, nil)
	check("unknown id", err, "not-found")
	_, err = s.similar("p1", 5, "Hats", nil, nil)
	check("unknown section", err, "not-found")
	_, err = s.search([]byte("x"), nil, 5, "", nil, nil)
	check("search without a model", err, "corrupt")
	check("unknown asset kind", s.load("sprites", nil), "corrupt")
	check("asset before the manifest", newSession().load("vectors", f.files["vectors"]), "internal")
	check("bad manifest", newSession().load("manifest", []byte(`[1,2`)), "corrupt")

	// Damaged or mismatched files are found when the engine opens.
	g := newFixture(t, 10, 8, false, false)
	for _, tc := range []struct {
		name    string
		replace map[string][]byte
	}{
		{"bad vectors", map[string][]byte{"vectors": []byte("LKVC garbage")}},
		{"bad neighbours", map[string][]byte{"neighbors": f.files["vectors"]}},
		{"bad catalogue", map[string][]byte{"catalog": []byte(`{"format":"lookalike-catalog","items":1}`)}},
		{"bad index", map[string][]byte{"index": []byte("short")}},
		{"catalogue from another build", map[string][]byte{"catalog": g.files["catalog"]}},
	} {
		s := newSession()
		for _, kind := range []string{"manifest", "index", "vectors", "neighbors", "catalog"} {
			b := f.files[kind]
			if r, ok := tc.replace[kind]; ok {
				b = r
			}
			if err := s.load(kind, b); err != nil {
				t.Fatalf("%s: load %s: %v", tc.name, kind, err)
			}
		}
		_, err := s.ready()
		check(tc.name, err, "corrupt")
	}

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

func TestParseThumb(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", "<nil>"},
		{"thumbs-0123456789ab.jpg#xywh=120,80,60,80", "thumbs-0123456789ab.jpg 120,80 60x80"},
		{"thumbs/p1.jpg", "thumbs/p1.jpg -"},
		{"a.jpg#xywh=1,2,3", "a.jpg -"},
		{"a.jpg#xywh=1,2,0,4", "a.jpg -"},
		{"a.jpg#xywh=-1,2,3,4", "a.jpg -"},
		{"a.jpg#xywh=x,2,3,4", "a.jpg -"},
	}
	for _, tc := range tests {
		got := "<nil>"
		if th := parseThumb(tc.in); th != nil {
			got = th.URL + " -"
			if th.X != nil {
				got = fmt.Sprintf("%s %d,%d %dx%d", th.URL, *th.X, *th.Y, th.W, th.H)
			}
		}
		if got != tc.want {
			t.Errorf("parseThumb(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func FuzzParseThumb(f *testing.F) {
	f.Add("thumbs-0123456789ab.jpg#xywh=120,80,60,80")
	f.Add("a#xywh=,,,")
	f.Fuzz(func(t *testing.T, s string) {
		th := parseThumb(s)
		if th == nil {
			if s != "" {
				t.Fatalf("nil for %q", s)
			}
			return
		}
		if th.X != nil && (*th.X < 0 || *th.Y < 0 || th.W <= 0 || th.H <= 0) {
			t.Fatalf("bad tile %+v from %q", th, s)
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

// TestLoadParts: an asset handed over in parts (as the worker does for a
// split file) gives the same engine as the whole file; parts out of order
// or before the manifest are refused.
func TestLoadParts(t *testing.T) {
	f := newFixture(t, 70, 8, true, false)
	whole := f.session(t)
	parted := newSession()
	if err := parted.load("manifest", f.files["manifest"]); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"index", "vectors", "neighbors", "catalog"} {
		b := f.files[kind]
		cuts := []int{0, len(b) / 3, len(b) / 2, len(b)}
		for i := 0; i < 3; i++ {
			dst, err := parted.part(kind, i, 3, cuts[i+1]-cuts[i])
			if err != nil {
				t.Fatalf("%s part %d: %v", kind, i, err)
			}
			copy(dst, b[cuts[i]:cuts[i+1]])
			if err := parted.partDone(kind, i, 3); err != nil {
				t.Fatalf("%s part %d done: %v", kind, i, err)
			}
		}
	}
	for _, id := range []string{"p3", "p10", "p41"} {
		a, err := whole.similar(id, 7, "", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := parted.similar(id, 7, "", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(ids(a.Results), ",") != strings.Join(ids(b.Results), ",") {
			t.Errorf("similar(%s): whole %v, in parts %v", id, ids(a.Results), ids(b.Results))
		}
	}

	// The index from its split nodes on (what the page downloads), scored
	// with the vector file: the same answers.
	tailOnly := newSession()
	if err := tailOnly.load("manifest", f.files["manifest"]); err != nil {
		t.Fatal(err)
	}
	from := annoy.ItemsSize(f.n, f.dim)
	for _, kind := range []string{"index", "vectors", "neighbors", "catalog"} {
		b := f.files[kind]
		if kind == "index" {
			b = b[from:]
			tailOnly.from[kind] = from
		}
		if err := tailOnly.load(kind, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"p3", "p10"} {
		for _, sec := range []string{"", "Shoes"} {
			a, err := whole.similar(id, 30, sec, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := tailOnly.similar(id, 30, sec, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(ids(a.Results), ",") != strings.Join(ids(b.Results), ",") {
				t.Errorf("similar(%s, %q): whole index %v, split nodes only %v", id, sec, ids(a.Results), ids(b.Results))
			}
		}
	}
	if !tailOnly.eng.Index.SplitsOnly() {
		t.Error("the index was not loaded from its split nodes")
	}

	s := newSession()
	if _, err := s.part("index", 0, 2, 10); err == nil {
		t.Error("a part before the manifest was accepted")
	}
	if err := s.load("manifest", f.files["manifest"]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.part("index", 0, 3, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := s.part("index", 2, 3, 10); err == nil {
		t.Error("part 2 after part 0 was accepted")
	}
	if _, err := s.part("index", 3, 3, 10); err == nil {
		t.Error("part 3 of 3 was accepted")
	}
}

func TestParsePersonal(t *testing.T) {
	for _, in := range []string{"", "null"} {
		if p, err := parsePersonal(in); p != nil || err != nil {
			t.Errorf("parsePersonal(%q) = %v, %v; want nil, nil", in, p, err)
		}
	}
	p, err := parsePersonal(`{"likes":[{"id":"p1","age_seconds":60}],"views":[{"id":"p2","age_seconds":0}],` +
		`"searches":[{"vector":[0.5,-0.25],"age_seconds":3.5}],"w_cf":0.2,"w_personal":0.5}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Likes) != 1 || p.Likes[0].ID != "p1" || p.Likes[0].AgeSeconds != 60 || len(p.Views) != 1 || p.Views[0].ID != "p2" ||
		len(p.Searches) != 1 || fmt.Sprint(p.Searches[0].Vector) != "[0.5 -0.25]" || p.Searches[0].AgeSeconds != 3.5 ||
		p.WCF == nil || *p.WCF != 0.2 || p.WPersonal == nil || *p.WPersonal != 0.5 {
		t.Errorf("parsed %+v", p)
	}

	// Long lists keep their first (newest) entries.
	var b strings.Builder
	b.WriteString(`{"likes":[`)
	for i := 0; i < 3*maxPersonalSignals; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"p%d","age_seconds":%d}`, i, i)
	}
	b.WriteString(`],"searches":[`)
	for i := 0; i < maxPersonalSignals+5; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"vector":[1,0],"age_seconds":1}`)
	}
	b.WriteString(`]}`)
	if p, err = parsePersonal(b.String()); err != nil {
		t.Fatal(err)
	}
	if len(p.Likes) != maxPersonalSignals || p.Likes[0].ID != "p0" || p.Likes[maxPersonalSignals-1].ID != fmt.Sprintf("p%d", maxPersonalSignals-1) || len(p.Searches) != maxPersonalSignals {
		t.Errorf("capped lists: %d likes (first %s), %d searches", len(p.Likes), p.Likes[0].ID, len(p.Searches))
	}

	for _, bad := range []string{
		`{"likes":[{"id":"p1"`,              // truncated
		`[1,2]`,                             // not an object
		`{"likes":"p1"}`,                    // wrong type
		`{"likes":[{"id":7}]}`,              // id not a string
		`{"searches":[{"vector":["a"]}]}`,   // vector of strings
		`{"searches":[{"vector":[1e300]}]}`, // out of float32 range
		`{"w_personal":-0.5}`,               // negative weight
		`{"w_cf":-1,"likes":[{"id":"p1"}]}`, // negative weight
		`{"likes":[{"id":"p1"}]}` + "\x00",  // trailing garbage
		`{"likes":[` + strings.Repeat(`{"id":"p1","age_seconds":1},`, maxPersonalBytes/28) + `{"id":"p1"}]}`, // too long
	} {
		_, err := parsePersonal(bad)
		short := bad[:min(len(bad), 40)]
		if err == nil {
			t.Errorf("parsePersonal(%q…) accepted", short)
			continue
		}
		if c := codeOf(err).Code; c != "bad-personal" {
			t.Errorf("parsePersonal(%q…): code %s (%v), want bad-personal", short, c, err)
		}
	}
}

// cosine of fixture items i and j (unit vectors).
func (f *fixture) cos(i, j int) float32 {
	var d float32
	for c := 0; c < f.dim; c++ {
		d += f.vecs[i*f.dim+c] * f.vecs[j*f.dim+c]
	}
	return d
}

func personalOf(t *testing.T, s string) *search.Personal {
	t.Helper()
	p, err := parsePersonal(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPersonal: "more like this" and a photo search with the shopper's
// history re-rank towards it; every result carries its visual cosine; an
// empty history gives the visual order; a search answer returns the
// photo's embedding. With the whole index and with the index loaded from
// its split nodes only, as the page loads it.
func TestPersonal(t *testing.T) {
	f := newFixture(t, 80, 12, true, true)
	// The page loads the index from its split nodes only and scores with
	// the vector file.
	splitsOnly := newSession()
	if err := splitsOnly.load("manifest", f.files["manifest"]); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"index", "vectors", "neighbors", "catalog"} {
		b := f.files[kind]
		if kind == "index" {
			splitsOnly.from[kind] = annoy.ItemsSize(f.n, f.dim)
			b = b[splitsOnly.from[kind]:]
		}
		if err := splitsOnly.load(kind, b); err != nil {
			t.Fatal(err)
		}
	}
	for name, s := range map[string]*session{"whole index": f.session(t), "split nodes only (as the page)": splitsOnly} {
		t.Run(name, func(t *testing.T) {
			const item, liked = 5, 40
			plain, err := s.similar("p5", 10, "", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			empty, err := s.similar("p5", 10, "", nil, personalOf(t, `{"likes":[],"w_personal":3}`))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(ids(empty.Results), ",") != strings.Join(ids(plain.Results), ",") {
				t.Errorf("an empty history changed the order: %v, want %v", ids(empty.Results), ids(plain.Results))
			}
			// A heavy taste weight puts the liked product first, and
			// the rest follow their closeness to it.
			p := personalOf(t, `{"likes":[{"id":"p40","age_seconds":10}],"w_personal":10,"w_cf":0}`)
			ans, err := s.similar("p5", 10, "", nil, p)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(ans.Results)
			if len(got) != 10 || got[0] != "p40" {
				t.Fatalf("similar with a liked p40: %v, want p40 first", got)
			}
			for i, r := range ans.Results {
				j := 0
				fmt.Sscanf(r.ID, "p%d", &j)
				if want := f.cos(item, j); math.Abs(float64(r.Visual-want)) > 1e-4 {
					t.Errorf("%s: visual %.5f, want the cosine %.5f", r.ID, r.Visual, want)
				}
				if want := r.Visual + 10*f.cos(liked, j); math.Abs(float64(r.Score-want)) > 1e-3 {
					t.Errorf("%s: score %.5f, want visual + 10·cos(p40) = %.5f", r.ID, r.Score, want)
				}
				if i > 0 && r.Score > ans.Results[i-1].Score {
					t.Errorf("results not in score order at %d", i)
				}
			}
			for _, r := range plain.Results {
				if r.Visual != r.Score {
					t.Errorf("%s: without a history, visual %v ≠ score %v", r.ID, r.Visual, r.Score)
				}
			}

			// A photo search (the embedding of p5 stands in for the
			// photo's: the engine reuses the last photo's embedding).
			img := []byte("photo")
			s.lastKey, s.lastPhoto = queryKey(img, nil), &embed.Photo{Vector: f.vecs[item*f.dim : (item+1)*f.dim]}
			photo, err := s.search(img, nil, 10, "", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if photo.Results[0].ID != "p5" || math.Abs(float64(photo.Results[0].Visual-1)) > 1e-4 {
				t.Errorf("photo of p5: first %s (visual %v)", photo.Results[0].ID, photo.Results[0].Visual)
			}
			vec, ok := photo.Query["vector"].([]float32)
			if !ok || fmt.Sprint(vec) != fmt.Sprint(s.lastPhoto.Vector) {
				t.Errorf("query vector %v, want the photo's embedding", photo.Query["vector"])
			}
			mine, err := s.search(img, nil, 10, "", nil, p)
			if err != nil {
				t.Fatal(err)
			}
			if mine.Results[0].ID != "p40" {
				t.Errorf("photo search with a liked p40: %v", ids(mine.Results))
			}
			// A search of the shopper's own earlier photo counts too.
			vs, _ := json.Marshal(f.vecs[liked*f.dim : (liked+1)*f.dim])
			bySearch := personalOf(t, `{"searches":[{"vector":`+string(vs)+`,"age_seconds":5}],"w_personal":10}`)
			if ans, err := s.search(img, nil, 10, "", nil, bySearch); err != nil || ans.Results[0].ID != "p40" {
				t.Errorf("photo search after a search for p40's look: %v, %v", ids(ans.Results), err)
			}
		})
	}
}

// TestProductVector: a product's stored vector comes back at unit length,
// equal to the fixture's; an unknown id is not-found.
func TestProductVector(t *testing.T) {
	f := newFixture(t, 40, 8, true, false)
	s := f.session(t)
	out, err := s.productVector("p7")
	if err != nil {
		t.Fatal(err)
	}
	v := out["vector"].([]float32)
	if len(v) != f.dim {
		t.Fatalf("vector has %d values, want %d", len(v), f.dim)
	}
	var dot, n float64
	for j, x := range v {
		dot += float64(x) * float64(f.vecs[7*f.dim+j])
		n += float64(x) * float64(x)
	}
	if math.Abs(n-1) > 1e-5 || dot < 0.99999 {
		t.Errorf("vector of p7: |v|² = %v, cosine with the stored one %v", n, dot)
	}
	if _, err := s.productVector("nope"); codeOf(err).Code != "not-found" {
		t.Errorf("unknown id: %v", err)
	}
}
