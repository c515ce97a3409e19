package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/vecfile"
)

// memStore is a Store over a map that counts reads.
type memStore struct {
	mu    sync.Mutex
	files map[string][]byte
	gets  int
}

func (s *memStore) Get(_ context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	b, ok := s.files[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return b, nil
}

// fixture is a synthetic build: n items in three sections, odd ids, and
// neighbour lists that differ per item so that a wrong offset shows.
type fixture struct {
	manifest []byte
	disp     *catalog.Display
	nb       *vecfile.Neighbors
	store    *memStore
	ids      []string
	assets   map[string][]byte // the build's files
}

func newFixture(t testing.TB, n, k int, global bool) *fixture {
	t.Helper()
	sections := []string{"Apparel", "Footwear", "Accessories"}
	items := make([]catalog.Item, n)
	ids := make([]string, n)
	for i := range items {
		id := fmt.Sprintf("p%d", i)
		switch i % 97 {
		case 5:
			id = fmt.Sprintf("a/b %d", i) // escaped slash and space in a URL
		case 6:
			id = fmt.Sprintf("ünï-%d", i)
		case 8:
			id = fmt.Sprintf(`q"\\%d`, i) // a quote and a backslash
		}
		ids[i] = id
		title := fmt.Sprintf("Item %d", i)
		if i%97 == 9 { // must not confuse the thumbnail rewrite
			title = `evil "thumb":"http://x" \`
		}
		items[i] = catalog.Item{ID: id, Title: title, Price: fmt.Sprint(10 + i),
			Attrs: map[string]string{"masterCategory": sections[i%3], "baseColour": []string{"Red", "Blue"}[i%2]}}
	}
	header := []string{"id", "image", "title", "price", "masterCategory", "baseColour"}
	thumbs := make([]string, n)
	for i := range thumbs {
		thumbs[i] = fmt.Sprintf("thumbs-%012x.jpg#xywh=%d,0,60,80", i/50, (i%50)*60)
	}
	db, err := catalog.BuildDisplay(items, header, catalog.DisplayOptions{Section: "masterCategory", Attributes: []string{"baseColour"}, Thumbs: thumbs})
	if err != nil {
		t.Fatal(err)
	}
	nl := vecfile.NeighborLists{K: k, Section: make([][]vecfile.Neighbor, n)}
	if global {
		nl.Global = make([][]vecfile.Neighbor, n)
	}
	for i := 0; i < n; i++ {
		for j := 1; j <= k; j++ {
			// Same section: i+3j; item 7 has a short list (padding).
			if i != 7 || j <= 2 {
				nl.Section[i] = append(nl.Section[i], vecfile.Neighbor{Item: uint32((i + 3*j) % n), Score: 1 - float32(j)/100})
			}
			if global {
				nl.Global[i] = append(nl.Global[i], vecfile.Neighbor{Item: uint32((i + j*7) % n), Score: 0.9 - float32(j)/200})
			}
		}
	}
	var nbuf bytes.Buffer
	if err := vecfile.WriteNeighbors(&nbuf, nl); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	m := catalog.Manifest{FormatVersion: catalog.ManifestVersion, BuilderVersion: "test", ItemCount: n,
		Model: catalog.ModelInfo{File: "model-000000000000.onnx", SHA256: catalog.SHA256Hex(nil)}}
	for _, a := range []struct {
		kind, ext string
		data      []byte
	}{{"catalog", "json", db}, {"neighbors", "bin", nbuf.Bytes()}} {
		asset, fs := catalog.NewAsset(a.kind, a.ext, a.data, 0)
		m.Assets = append(m.Assets, asset)
		for name, b := range fs {
			files[name] = b
		}
	}
	mb, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	staged, err := Stage(mb, func(a catalog.Asset) ([]byte, error) {
		b, ok := files[a.File]
		if !ok {
			return nil, fmt.Errorf("no %s", a.File)
		}
		return b, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	disp, err := catalog.ParseDisplay(db)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := vecfile.ParseNeighbors(nbuf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{manifest: mb, disp: disp, nb: nb, store: &memStore{files: staged}, ids: ids, assets: files}
}

type apiError struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func do(t testing.TB, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func similarPath(id string, q string) string {
	p := "/api/similar/" + url.PathEscape(id)
	if q != "" {
		p += "?" + q
	}
	return p
}

func TestHealth(t *testing.T) {
	f := newFixture(t, 1100, 24, true)
	w := do(t, Handler(f.store), "GET", "/api/health")
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var got struct {
		Status    string            `json:"status"`
		Build     string            `json:"build"`
		ItemCount int               `json:"item_count"`
		MaxK      int               `json:"max_k"`
		Sections  []string          `json:"sections"`
		Assets    map[string]string `json:"assets"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Build != catalog.SHA256Hex(f.manifest) || got.ItemCount != 1100 || got.MaxK != 24 || got.Status != "ok" {
		t.Errorf("health = %+v", got)
	}
	if len(got.Sections) != 3 || !strings.HasPrefix(got.Assets["catalog"], "catalog-") || got.Assets["model"] != "model-000000000000.onnx" {
		t.Errorf("health sections/assets = %v %v", got.Sections, got.Assets)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("health Cache-Control %q", cc)
	}
}

func TestProducts(t *testing.T) {
	f := newFixture(t, 1100, 24, true)
	h := Handler(f.store)
	for _, i := range []int{0, 5, 6, 8, 9, 255, 256, 257, 1099} {
		w := do(t, h, "GET", "/api/products/"+url.PathEscape(f.ids[i]))
		if w.Code != 200 {
			t.Fatalf("item %d (%q): status %d: %s", i, f.ids[i], w.Code, w.Body)
		}
		var c Card
		if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		want := f.disp.Item(i)
		if c.ID != want.ID || c.Title != want.Title || c.Section != want.Section || c.Price != want.Price || c.Attrs["baseColour"] != want.Attrs["baseColour"] {
			t.Errorf("item %d: got %+v, want %+v", i, c, want)
		}
		if c.Thumb != "/assets/"+want.Thumb {
			t.Errorf("item %d: thumb %q, want /assets/%s", i, c.Thumb, want.Thumb)
		}
	}
	// An absolute request URL (as in the worker) gives absolute thumbnails.
	w := do(t, h, "GET", "https://shop.example/api/products/p1")
	if !strings.Contains(w.Body.String(), `"thumb":"https://shop.example/assets/thumbs-`) {
		t.Errorf("absolute thumb missing: %s", w.Body)
	}
}

func TestSimilar(t *testing.T) {
	f := newFixture(t, 1100, 24, true)
	h := Handler(f.store)
	type result struct {
		ID      string  `json:"id"`
		Score   float64 `json:"score"`
		Section string  `json:"section"`
		Thumb   string  `json:"thumb"`
	}
	type answer struct {
		K       int      `json:"k"`
		List    string   `json:"list"`
		Results []result `json:"results"`
	}
	get := func(t *testing.T, id, q string) answer {
		t.Helper()
		w := do(t, h, "GET", similarPath(id, q))
		if w.Code != 200 {
			t.Fatalf("%s?%s: status %d: %s", id, q, w.Code, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("content type %q", ct)
		}
		var a answer
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	check := func(t *testing.T, a answer, want []vecfile.Neighbor) {
		t.Helper()
		if len(a.Results) != len(want) {
			t.Fatalf("%d results, want %d", len(a.Results), len(want))
		}
		for x, nb := range want {
			r := a.Results[x]
			if r.ID != f.ids[nb.Item] || math.Abs(r.Score-float64(nb.Score)) > 1e-4 {
				t.Errorf("result %d = %s %.4f, want %s %.4f", x, r.ID, r.Score, f.ids[nb.Item], nb.Score)
			}
			if r.Thumb != "/assets/"+f.disp.Item(int(nb.Item)).Thumb {
				t.Errorf("result %d thumb %q", x, r.Thumb)
			}
		}
	}
	for _, i := range []int{0, 2, 5, 6, 7, 8, 255, 256, 600, 1099} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			id := f.ids[i]
			own := f.disp.Item(i).Section
			a := get(t, id, "")
			if a.K != DefaultK || a.List != "global" {
				t.Errorf("default: k %d list %q", a.K, a.List)
			}
			check(t, a, f.nb.Global(i)[:DefaultK])
			check(t, get(t, id, "k=24"), f.nb.Global(i))
			want := f.nb.Section(i)
			check(t, get(t, id, "k=3&section="+url.QueryEscape(own)), want[:min(3, len(want))])
			// Another section: the global list filtered, order kept.
			other := "Footwear"
			if own == other {
				other = "Apparel"
			}
			var filtered []vecfile.Neighbor
			for _, nb := range f.nb.Global(i) {
				if f.disp.Item(int(nb.Item)).Section == other && len(filtered) < 24 {
					filtered = append(filtered, nb)
				}
			}
			a = get(t, id, "k=24&section="+other)
			check(t, a, filtered)
			for _, r := range a.Results {
				if r.Section != other {
					t.Errorf("section filter let %s (%s) through", r.ID, r.Section)
				}
			}
		})
	}
	// A request reads meta, one ids shard, one nb shard and the card
	// shards of its results: never the whole catalogue.
	f.store.gets = 0
	get(t, "p600", "k=5")
	shards := map[int]bool{}
	for _, nb := range f.nb.Global(600)[:5] {
		shards[int(nb.Item)/CardShardSize] = true
	}
	if want := 3 + len(shards); f.store.gets != want {
		t.Errorf("similar read %d files, want %d", f.store.gets, want)
	}
}

func TestSectionOnlyLists(t *testing.T) {
	f := newFixture(t, 300, 8, false)
	h := Handler(f.store)
	w := do(t, h, "GET", "/api/similar/p4")
	var a struct {
		List    string `json:"list"`
		Results []Card `json:"results"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || w.Code != 200 {
		t.Fatalf("status %d %v: %s", w.Code, err, w.Body)
	}
	if a.List != "section" || len(a.Results) != 8 || a.Results[0].ID != f.ids[f.nb.Section(4)[0].Item] {
		t.Errorf("without global lists: %+v", a)
	}
	w = do(t, h, "GET", "/api/similar/p4?section=Footwear") // p4 is Footwear
	if json.Unmarshal(w.Body.Bytes(), &a); len(a.Results) != 8 {
		t.Errorf("own section: %s", w.Body)
	}
	w = do(t, h, "GET", "/api/similar/p4?section=Apparel")
	if json.Unmarshal(w.Body.Bytes(), &a); w.Code != 200 || len(a.Results) != 0 {
		t.Errorf("other section without global lists: %d %s", w.Code, w.Body)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t, 300, 24, true)
	h := Handler(f.store)
	long := strings.Repeat("x", MaxIDLen+1)
	for _, tc := range []struct {
		method, target string
		status         int
	}{
		{"GET", "/api/similar/p1?k=0", 400},
		{"GET", "/api/similar/p1?k=25", 400},
		{"GET", "/api/similar/p1?k=-1", 400},
		{"GET", "/api/similar/p1?k=abc", 400},
		{"GET", "/api/similar/p1?k=", 400},
		{"GET", "/api/similar/p1?k=1&k=2", 400},
		{"GET", "/api/similar/p1?k=1e1", 400},
		{"GET", "/api/similar/p1?section=Nope", 400},
		{"GET", "/api/similar/nope?k=0", 400}, // bad input first
		{"GET", "/api/similar/%C3", 400},      // Go's URL parser refuses "%zz"; entry.mjs answers those
		{"GET", "/api/similar/%01x", 400},
		{"GET", "/api/similar/%ff", 400},
		{"GET", "/api/products/" + long, 400},
		{"GET", "/api/similar/nope", 404},
		{"GET", "/api/products/nope", 404},
		{"GET", "/api/products/p1%2F..%2F..%2Fmeta.json", 404},
		{"GET", "/api/products/..", 404},
		{"GET", "/api/", 404},
		{"GET", "/api/similar", 404},
		{"GET", "/api/similar/", 400},
		{"GET", "/api/similar/p1/", 404},
		{"GET", "/api/similar/p1/more", 404},
		{"GET", "/api/health/", 404},
		{"GET", "/api/../_worker/meta.json", 404},
		{"GET", "/index.html", 404},
		{"POST", "/api/health", 405},
		{"DELETE", "/api/similar/p1", 405},
		{"PUT", "/api/products/p1", 405},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			w := do(t, h, tc.method, tc.target)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			var e apiError
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Status != tc.status || e.Error == "" {
				t.Errorf("error body %q (%v)", w.Body, err)
			}
			if tc.status == 405 && w.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("error Cache-Control %q", w.Header().Get("Cache-Control"))
			}
		})
	}
	if w := do(t, h, "OPTIONS", "/api/similar/p1"); w.Code != 204 || w.Body.Len() != 0 {
		t.Errorf("OPTIONS: %d %q", w.Code, w.Body)
	}
	if w := do(t, h, "HEAD", "/api/similar/p1"); w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD: %d %q", w.Code, w.Body)
	}
	// Nothing staged: a 503 that says so.
	w := do(t, Handler(&memStore{files: map[string][]byte{}}), "GET", "/api/health")
	if w.Code != 503 || !strings.Contains(w.Body.String(), "not staged") {
		t.Errorf("empty store: %d %s", w.Code, w.Body)
	}
	// Corrupt staged data: a 500, not a panic.
	bad := &memStore{files: map[string][]byte{}}
	for k, v := range f.store.files {
		bad.files[k] = v
	}
	bad.files["nb-0.bin"] = bad.files["nb-0.bin"][:100]
	bad.files["cards-9.jsonl"] = []byte("{\n")
	for _, target := range []string{"/api/similar/p1", "/api/products/p290"} {
		if w := do(t, Handler(bad), "GET", target); w.Code != 500 {
			t.Errorf("%s on corrupt data: %d %s", target, w.Code, w.Body)
		}
	}
}

func TestStageErrors(t *testing.T) {
	f := newFixture(t, 50, 4, true)
	m, err := catalog.ReadManifest(f.manifest)
	if err != nil {
		t.Fatal(err)
	}
	read := func(a catalog.Asset) ([]byte, error) { return nil, fmt.Errorf("unreadable") }
	if _, err := Stage(f.manifest, read); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Errorf("unreadable asset: %v", err)
	}
	readOK := func(a catalog.Asset) ([]byte, error) { return f.assets[a.File], nil }
	m.Assets = m.Assets[:1] // no neighbours
	mb, _ := m.Marshal()
	if _, err := Stage(mb, readOK); err == nil || !strings.Contains(err.Error(), "neighbors") {
		t.Errorf("manifest without neighbours: %v", err)
	}
	// Neighbours of another build (60 items for a 50-item catalogue).
	other := newFixture(t, 60, 4, true)
	m2, _ := catalog.ReadManifest(f.manifest)
	o2, _ := catalog.ReadManifest(other.manifest)
	m2.Assets[1] = o2.Assets[1]
	mb, _ = m2.Marshal()
	mixed := func(a catalog.Asset) ([]byte, error) {
		if b, ok := f.assets[a.File]; ok {
			return b, nil
		}
		return other.assets[a.File], nil
	}
	if _, err := Stage(mb, mixed); err == nil || !strings.Contains(err.Error(), "different builds") {
		t.Errorf("mixed builds: %v", err)
	}
	if _, err := Stage([]byte("{}"), read); err == nil {
		t.Error("bad manifest: no error")
	}
}

func TestParseMeta(t *testing.T) {
	f := newFixture(t, 20, 4, true)
	good := f.store.files[MetaName]
	if _, err := ParseMeta(good); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Meta){
		"format":  func(m *Meta) { m.Format = "x" },
		"version": func(m *Meta) { m.Version = 2 },
		"k":       func(m *Meta) { m.K = 0 },
		"lists":   func(m *Meta) { m.Lists = 3 },
		"shards":  func(m *Meta) { m.IDShards = 0 },
		"cards":   func(m *Meta) { m.CardShardSize = 0 },
		"count":   func(m *Meta) { m.ItemCount = -1 },
	} {
		var m Meta
		json.Unmarshal(good, &m)
		mut(&m)
		b, _ := json.Marshal(m)
		if _, err := ParseMeta(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzHandler sends arbitrary paths and queries: the answer is always a
// JSON body with a 2xx/4xx status, never a panic or a 500.
func FuzzHandler(f *testing.F) {
	fx := newFixture(f, 300, 8, true)
	h := Handler(fx.store)
	for _, s := range []string{"/api/similar/p1?k=3", "/api/products/p2", "/api/health", "/api/similar/a%2Fb%205", "/api/similar/p1?section=Footwear&k=8", "/api/x/%zz", "/api//", "/api/similar/p1?k=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(u.Path, "/") {
			return
		}
		r := &http.Request{Method: "GET", URL: u, Header: http.Header{}}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r.WithContext(context.Background()))
		if w.Code >= 500 {
			t.Fatalf("%q: status %d: %s", target, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%q: body not JSON: %q", target, w.Body)
		}
	})
}

// FuzzShards feeds arbitrary bytes to the shard readers: errors, never
// panics.
func FuzzShards(f *testing.F) {
	fx := newFixture(f, 300, 8, true)
	f.Add(fx.store.files["nb-0.bin"], fx.store.files["cards-0.jsonl"], 3)
	f.Add([]byte("LKNB"), []byte("{}\n{"), 1)
	meta, err := ParseMeta(fx.store.files[MetaName])
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, nb, cards []byte, i int) {
		neighborsAt(nb, meta, i, 0, 1)
		neighborsAt(nb, meta, i, 0, 0)
		cardAt(cards, i)
		findID(cards, string(nb), 10)
		ParseMeta(cards)
	})
}

// FuzzJSONString: the hand-written JSON string encoder round-trips through
// encoding/json (invalid UTF-8 becomes U+FFFD, as ranging over it does).
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"\`, "\x00\x1f\u2028\u2029", "\xff\xfe", "ünï 😀", "</script>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, b, err)
		}
		var want []rune
		for _, r := range s {
			want = append(want, r)
		}
		if got != string(want) {
			t.Fatalf("%q → %s → %q", s, b, got)
		}
	})
}
