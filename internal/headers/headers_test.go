package headers

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestCSPIsStrict(t *testing.T) {
	for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*", "http:"} {
		if strings.Contains(CSP, bad) {
			t.Errorf("CSP contains %s", bad)
		}
	}
	for _, must := range []string{"script-src 'self' 'wasm-unsafe-eval'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(CSP, must) {
			t.Errorf("CSP lacks %q", must)
		}
	}
}

func TestHashedName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"model-3fa94c1e.onnx", true},
		{"catalog-0123456789abcdef0123456789abcdef.json", true},
		{"thumbs-00-deadbeefcafe.webp", true},
		{"engine-0a1b2c3d4e5f.wasm", true},
		{"manifest.json", false},
		{"index.html", false},
		{"model-3fa94c.onnx", false},    // too short to be a content hash
		{"model-3FA94C1E.onnx", false},  // hashes are lower-case hex
		{"model-notahash1.onnx", false}, // not hex
		{"lookalike-3fa94c1e", false},   // no extension
		{"app-3fa94c1e.js.map", true},   // double extension
		{"sw.js", false},
	}
	for _, tc := range tests {
		if got := Hashed(tc.name); got != tc.want {
			t.Errorf("Hashed(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFile(t *testing.T) {
	for _, tc := range []struct {
		path, ctype, cache, corp string
		sw                       bool
	}{
		{"/", "text/html; charset=utf-8", Revalidate, "same-origin", false},
		{"/demo/product.html", "text/html; charset=utf-8", Revalidate, "same-origin", false},
		{"/sw.js", "text/javascript; charset=utf-8", Revalidate, "cross-origin", true},
		{"/lookalike.js", "text/javascript; charset=utf-8", Revalidate, "cross-origin", false},
		{"/build/engine-0a1b2c3d4e5f.wasm", "application/wasm", Immutable, "cross-origin", false},
		{"/assets/index-3fa94c1e5b2d.ann.part0", DefaultType, Immutable, "cross-origin", false},
		{"/assets/manifest.json", "application/json", Revalidate, "cross-origin", false},
		{"/assets/THUMBS-3FA94C1E5B2D.JPG", "image/jpeg", Revalidate, "cross-origin", false},
	} {
		h := http.Header{}
		h.Set("Access-Control-Allow-Origin", "stale")
		SetFile(h, tc.path)
		if h.Get("Content-Type") != tc.ctype || h.Get("Cache-Control") != tc.cache || h.Get("Cross-Origin-Resource-Policy") != tc.corp {
			t.Errorf("%s: %v", tc.path, h)
		}
		if page := tc.corp == "same-origin"; (h.Get("Access-Control-Allow-Origin") == "*") == page || (h.Get("Access-Control-Allow-Origin") == "") != page {
			t.Errorf("%s: CORS %q", tc.path, h.Get("Access-Control-Allow-Origin"))
		}
		if (h.Get("Service-Worker-Allowed") == "/") != tc.sw {
			t.Errorf("%s: Service-Worker-Allowed %q", tc.path, h.Get("Service-Worker-Allowed"))
		}
		for _, f := range common {
			if h.Get(f.Name) != f.Value {
				t.Errorf("%s: %s = %q", tc.path, f.Name, h.Get(f.Name))
			}
		}
	}
}

func TestNegotiate(t *testing.T) {
	all := func(Encoding) bool { return true }
	gzOnly := func(e Encoding) bool { return e.Name == "gzip" }
	for _, tc := range []struct {
		accept string
		has    func(Encoding) bool
		want   string
	}{
		{"gzip, deflate, br", all, "br"},
		{"gzip, deflate, br", gzOnly, "gzip"},
		{"br", gzOnly, ""},
		{"BR;Q=1", all, "br"},
		{"br;q=0, gzip", all, "gzip"},
		{"br;q=0.0, gzip;q=0.001", all, "gzip"},
		{"br;q=2, gzip;q=abc", all, ""}, // malformed weights allow nothing
		{"*", all, "br"},
		{"*;q=0", all, ""},
		{"*, br;q=0", all, "gzip"},
		{"x-gzip", all, "gzip"},
		{"identity", all, ""},
		{"", all, ""},
		{" , ;q=1,", all, ""},
		{"gzip;q=0, gzip", all, "gzip"}, // the best weight of a repeated coding
	} {
		e, ok := Negotiate(tc.accept, tc.has)
		if e.Name != tc.want || ok != (tc.want != "") {
			t.Errorf("Negotiate(%q) = %q %v, want %q", tc.accept, e.Name, ok, tc.want)
		}
	}
	for name, want := range map[string]string{"a.json.br": "a.json", "a.wasm.gz": "a.wasm", ".gz": "", "a.json": "", "a.zst": ""} {
		orig, _, ok := SiblingOf(name)
		if orig != want || ok != (want != "") {
			t.Errorf("SiblingOf(%q) = %q %v", name, orig, ok)
		}
	}
}

func TestHashedPatternIsPortable(t *testing.T) {
	// entry.mjs compiles the pattern with JavaScript's RegExp: keep it to
	// the syntax both share.
	if regexp.MustCompile(`\(\?|\\[pPzAQE]`).MatchString(HashedPattern) {
		t.Errorf("pattern %q uses Go-only syntax", HashedPattern)
	}
	d := Data()
	if d.HashedPattern != HashedPattern || d.ContentTypes[".wasm"] != "application/wasm" || d.Immutable != Immutable || len(d.Encodings) != 2 {
		t.Errorf("data %+v", d)
	}
	if !strings.Contains(string(JSON()), `"serviceWorker": "sw.js"`) {
		t.Errorf("JSON:\n%s", JSON())
	}
}
