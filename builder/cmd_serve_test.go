//go:build !js

package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serveFixture lays out a page folder and an asset folder side by side with a
// secret file next to them that must never be reachable.
func serveFixture(t *testing.T) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"static/index.html":                     "<!doctype html><title>page</title>",
		"static/app.js":                         "export {}",
		"static/sw.js":                          "// sw",
		"static/styles.css":                     "body{}",
		"static/build/engine-0123456789ab.wasm": "\x00asm\x01\x00\x00\x00",
		"static/build/build.json":               `{"engine":"engine-0123456789ab.wasm"}`,
		"static/.hidden":                        "no",
		"static/sub/file.txt":                   "sub",
		"assets/manifest.json":                  `{"version":1}`,
		"assets/model-3fa94c1e0011.onnx":        "onnx",
		"assets/thumbs-deadbeef0011.webp":       "RIFF",
		"assets/index-0123456789ab.ann.part1":   "part",
		"assets/build-report.json":              `{"catalog":"/home/shop/catalog.csv"}`,
		"assets/notes.bin":                      "bin",
		"assets/dir-0123abcd/x.json":            "{}",
		"secret.txt":                            "top secret",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A symbolic link inside the asset folder pointing outside it.
	if err := os.Symlink(filepath.Join(dir, "secret.txt"), filepath.Join(dir, "assets", "link.json")); err != nil {
		t.Fatal(err)
	}
	h, err := newServeHandler(filepath.Join(dir, "static"), filepath.Join(dir, "assets"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestServeHeaders(t *testing.T) {
	srv := serveFixture(t)
	tests := []struct {
		path, body, ctype, cache string
	}{
		{"/", "<!doctype html><title>page</title>", "text/html; charset=utf-8", "no-cache"},
		{"/index.html", "<!doctype html><title>page</title>", "text/html; charset=utf-8", "no-cache"},
		{"/app.js", "export {}", "text/javascript; charset=utf-8", "no-cache"},
		{"/styles.css", "body{}", "text/css; charset=utf-8", "no-cache"},
		{"/build/engine-0123456789ab.wasm", "\x00asm\x01\x00\x00\x00", "application/wasm", "public, max-age=31536000, immutable"},
		{"/build/build.json", `{"engine":"engine-0123456789ab.wasm"}`, "application/json", "no-cache"},
		{"/assets/manifest.json", `{"version":1}`, "application/json", "no-cache"},
		{"/assets/model-3fa94c1e0011.onnx", "onnx", "application/octet-stream", "public, max-age=31536000, immutable"},
		{"/assets/thumbs-deadbeef0011.webp", "RIFF", "image/webp", "public, max-age=31536000, immutable"},
		{"/assets/index-0123456789ab.ann.part1", "part", "application/octet-stream", "public, max-age=31536000, immutable"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			res, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			if string(b) != tc.body {
				t.Errorf("body %q, want %q", b, tc.body)
			}
			h := res.Header
			for k, want := range map[string]string{
				"Content-Type":                 tc.ctype,
				"Cache-Control":                tc.cache,
				"Content-Security-Policy":      contentSecurityPolicy,
				"X-Content-Type-Options":       "nosniff",
				"Cross-Origin-Opener-Policy":   "same-origin",
				"Cross-Origin-Embedder-Policy": "require-corp",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestServeCSPIsStrict(t *testing.T) {
	for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*", "http:"} {
		if strings.Contains(contentSecurityPolicy, bad) {
			t.Errorf("CSP contains %s", bad)
		}
	}
	for _, must := range []string{"script-src 'self' 'wasm-unsafe-eval'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(contentSecurityPolicy, must) {
			t.Errorf("CSP lacks %q", must)
		}
	}
}

func TestServeRefuses(t *testing.T) {
	srv := serveFixture(t)
	tests := []struct {
		name, raw string
		want      int
	}{
		{"missing", "/nope.js", 404},
		{"missing asset", "/assets/nope.json", 404},
		{"dot-dot", "/../secret.txt", 404},
		{"dot-dot in assets", "/assets/../../secret.txt", 404},
		{"encoded dot-dot", "/assets/%2e%2e/%2e%2e/secret.txt", 404},
		{"encoded slash", "/assets/..%2f..%2fsecret.txt", 404},
		{"backslash", "/assets/..%5c..%5csecret.txt", 404},
		{"symlink out of root", "/assets/link.json", 404},
		{"hidden file", "/.hidden", 404},
		{"directory", "/sub", 404},
		{"directory slash", "/build/", 404},
		{"asset directory", "/assets/", 404},
		{"asset sub-directory", "/assets/dir-0123abcd", 404},
		{"nul", "/app.js%00.html", 404},
		// The asset folder publishes what a build names, nothing else:
		// the report carries local paths and the catalogue's rows.
		{"build report", "/assets/build-report.json", 404},
		{"a stray file in the asset folder", "/assets/notes.bin", 404},
		{"the build lock", "/assets/.lookalike-build.lock", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Send the path verbatim: http.Get would clean "..".
			req, err := http.NewRequest("GET", srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque = tc.raw
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("GET %s: status %d, want %d", tc.raw, res.StatusCode, tc.want)
			}
			if strings.Contains(string(b), "secret") {
				t.Fatalf("GET %s leaked the secret file", tc.raw)
			}
			if res.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("GET %s: error response has no CSP", tc.raw)
			}
		})
	}
	res, err := http.Post(srv.URL+"/index.html", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", res.StatusCode)
	}
}

func TestServeRange(t *testing.T) {
	srv := serveFixture(t)
	req, _ := http.NewRequest("GET", srv.URL+"/assets/model-3fa94c1e0011.onnx", nil)
	req.Header.Set("Range", "bytes=1-2")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusPartialContent || string(b) != "nn" {
		t.Errorf("range: status %d body %q, want 206 \"nn\"", res.StatusCode, b)
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
		if got := hashedName.MatchString(tc.name); got != tc.want {
			t.Errorf("hashedName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSourceHashChangesWithSources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module x\n")
	write("wasm/engine/main.go", "package main\n")
	write("wasm/engine/main_test.go", "package main\n")
	paths := []string{"go.mod", "models", "wasm/engine"}
	h1, err := sourceHash(dir, paths)
	if err != nil {
		t.Fatal(err)
	}
	write("wasm/engine/main_test.go", "package main // tests do not change the build\n")
	write("wasm/engine/README.md", "docs neither")
	h2, _ := sourceHash(dir, paths)
	if h1 != h2 {
		t.Errorf("hash changed for a test or doc edit")
	}
	write("models/x/x.go", "package x\n")
	h3, _ := sourceHash(dir, paths)
	if h3 == h2 {
		t.Errorf("hash did not change when a models/ source was added")
	}
	write("wasm/engine/main.go", "package main\n\nfunc f() {}\n")
	h4, _ := sourceHash(dir, paths)
	if h4 == h3 {
		t.Errorf("hash did not change when the engine source changed")
	}
}
