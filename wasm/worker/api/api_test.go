package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/edge"
	"github.com/lookalike/lookalike/models/edge/edgetest"
	"github.com/lookalike/lookalike/models/vecfile"
)

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
	f := edgetest.New(t, 1100, 24, true)
	w := do(t, Handler(f.Store), "GET", "/api/health")
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
	if got.Build != catalog.SHA256Hex(f.Manifest) || got.ItemCount != 1100 || got.MaxK != 24 || got.Status != "ok" {
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
	f := edgetest.New(t, 1100, 24, true)
	h := Handler(f.Store)
	for _, i := range []int{0, 5, 6, 8, 9, 255, 256, 257, 1099} {
		w := do(t, h, "GET", "/api/products/"+url.PathEscape(f.IDs[i]))
		if w.Code != 200 {
			t.Fatalf("item %d (%q): status %d: %s", i, f.IDs[i], w.Code, w.Body)
		}
		var c edge.Card
		if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		want := f.Disp.Item(i)
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
	f := edgetest.New(t, 1100, 24, true)
	h := Handler(f.Store)
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
			if r.ID != f.IDs[nb.Item] || math.Abs(r.Score-float64(nb.Score)) > 1e-4 {
				t.Errorf("result %d = %s %.4f, want %s %.4f", x, r.ID, r.Score, f.IDs[nb.Item], nb.Score)
			}
			if r.Thumb != "/assets/"+f.Disp.Item(int(nb.Item)).Thumb {
				t.Errorf("result %d thumb %q", x, r.Thumb)
			}
		}
	}
	for _, i := range []int{0, 2, 5, 6, 7, 8, 255, 256, 600, 1099} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			id := f.IDs[i]
			own := f.Disp.Item(i).Section
			a := get(t, id, "")
			if a.K != DefaultK || a.List != "global" {
				t.Errorf("default: k %d list %q", a.K, a.List)
			}
			check(t, a, f.NB.Global(i)[:DefaultK])
			check(t, get(t, id, "k=24"), f.NB.Global(i))
			want := f.NB.Section(i)
			check(t, get(t, id, "k=3&section="+url.QueryEscape(own)), want[:min(3, len(want))])
			// Another section: the global list filtered, order kept.
			other := "Footwear"
			if own == other {
				other = "Apparel"
			}
			var filtered []vecfile.Neighbor
			for _, nb := range f.NB.Global(i) {
				if f.Disp.Item(int(nb.Item)).Section == other && len(filtered) < 24 {
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
	f.Store.Gets()
	get(t, "p600", "k=5")
	shards := map[int]bool{}
	for _, nb := range f.NB.Global(600)[:5] {
		shards[int(nb.Item)/edge.CardShardSize] = true
	}
	if got, want := f.Store.Gets(), 3+len(shards); got != want {
		t.Errorf("similar read %d files, want %d", got, want)
	}
}

func TestSectionOnlyLists(t *testing.T) {
	f := edgetest.New(t, 300, 8, false)
	h := Handler(f.Store)
	w := do(t, h, "GET", "/api/similar/p4")
	var a struct {
		List    string      `json:"list"`
		Results []edge.Card `json:"results"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || w.Code != 200 {
		t.Fatalf("status %d %v: %s", w.Code, err, w.Body)
	}
	if a.List != "section" || len(a.Results) != 8 || a.Results[0].ID != f.IDs[f.NB.Section(4)[0].Item] {
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
	f := edgetest.New(t, 300, 24, true)
	h := Handler(f.Store)
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
	w := do(t, Handler(&edgetest.Store{Files: map[string][]byte{}}), "GET", "/api/health")
	if w.Code != 503 || !strings.Contains(w.Body.String(), "not staged") {
		t.Errorf("empty store: %d %s", w.Code, w.Body)
	}
	// Corrupt staged data: a 500, not a panic.
	bad := f.Store.Copy()
	bad.Files["nb-0.bin"] = bad.Files["nb-0.bin"][:100]
	bad.Files["cards-9.jsonl"] = []byte("{\n")
	for _, target := range []string{"/api/similar/p1", "/api/products/p290"} {
		if w := do(t, Handler(bad), "GET", target); w.Code != 500 {
			t.Errorf("%s on corrupt data: %d %s", target, w.Code, w.Body)
		}
	}
}

// FuzzHandler sends arbitrary paths and queries: the answer is always a
// JSON body with a 2xx/4xx status, never a panic or a 500.
func FuzzHandler(f *testing.F) {
	fx := edgetest.New(f, 300, 8, true)
	h := Handler(fx.Store)
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
