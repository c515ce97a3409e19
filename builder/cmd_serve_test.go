//go:build !js

package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/internal/headers"
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
				"Content-Security-Policy":      headers.CSP,
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

func TestEngineSourceHash(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module x\n\ngo 1.22\n")
	write("wasm/engine/main.go", "package main\n\nimport _ \"x/internal/dep\"\n\nfunc main() {}\n")
	write("wasm/engine/main_test.go", "package main\n")
	write("internal/dep/dep.go", "package dep\n")
	write("internal/dep/dep_other.go", "//go:build !js\n\npackage dep\n")
	write("internal/unrelated/u.go", "package unrelated\n")
	hash := func() string {
		t.Helper()
		h, err := engineSourceHash(dir, "./wasm/engine")
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h1 := hash()
	for _, tc := range []struct {
		what, file, body string
		changes          bool
	}{
		{"a test file", "wasm/engine/main_test.go", "package main // tests do not change the build\n", false},
		{"a README", "wasm/engine/README.md", "docs neither", false},
		{"a package the engine does not import", "internal/unrelated/u.go", "package unrelated\n\nvar X = 1\n", false},
		{"a file js/wasm does not compile", "internal/dep/dep_other.go", "//go:build !js\n\npackage dep\n\nvar Y = 2\n", false},
		{"an imported package (internal/…)", "internal/dep/dep.go", "package dep\n\nvar X = 1\n", true},
		{"a new file in an imported package", "internal/dep/more.go", "package dep\n", true},
		{"the engine", "wasm/engine/main.go", "package main\n\nimport _ \"x/internal/dep\"\n\nfunc main() { println() }\n", true},
		{"go.mod", "go.mod", "module x\n\ngo 1.23\n", true},
	} {
		write(tc.file, tc.body)
		h2 := hash()
		if (h2 != h1) != tc.changes {
			t.Errorf("editing %s: hash changed = %v, want %v", tc.what, h2 != h1, tc.changes)
		}
		h1 = h2
	}
	// The real engine's key covers the internal packages it compiles.
	repo, err := cli.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "./wasm/engine")
	cmd.Dir, cmd.Env = repo, append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, want := range []string{"internal/vec", "internal/topk"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("wasm/engine does not depend on %s any more; fix this test", want)
		}
	}
}

func TestServeCORS(t *testing.T) {
	srv := serveFixture(t)
	for _, tc := range []struct {
		path, corp, acao string
	}{
		{"/", "same-origin", ""},
		{"/index.html", "same-origin", ""},
		{"/app.js", "cross-origin", "*"},
		{"/assets/manifest.json", "cross-origin", "*"},
		{"/build/engine-0123456789ab.wasm", "cross-origin", "*"},
		{"/nope.js", "cross-origin", "*"},
	} {
		res, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Cross-Origin-Resource-Policy"); got != tc.corp {
			t.Errorf("%s: CORP %q, want %q", tc.path, got, tc.corp)
		}
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != tc.acao {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", tc.path, got, tc.acao)
		}
	}
	req, _ := http.NewRequest("OPTIONS", srv.URL+"/assets/manifest.json", nil)
	req.Header.Set("Origin", "http://shop.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 204 || len(b) != 0 || res.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "GET") || res.Header.Get("Access-Control-Allow-Headers") != "Range" {
		t.Errorf("preflight: %d %q %v", res.StatusCode, b, res.Header)
	}
}

// siblingFixture serves a JSON file with brotli and gzip siblings, a
// script with a gzip one only, and a file without any.
func siblingFixture(t *testing.T) (srv *httptest.Server, body []byte) {
	t.Helper()
	dir := t.TempDir()
	body = []byte(strings.Repeat(`{"id":"1163","title":"Navy shirt"},`, 200))
	var br, gz bytes.Buffer
	bw := brotli.NewWriterLevel(&br, brotli.BestCompression)
	bw.Write(body)
	bw.Close()
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	files := map[string][]byte{
		"static/index.html":                    []byte("<!doctype html>"),
		"static/lookalike.js":                  body,
		"static/lookalike.js.gz":               gz.Bytes(),
		"static/app.js":                        body, // no sibling: compressed on request
		"static/tiny.js":                       []byte("export {}"),
		"assets/manifest.json":                 body,
		"assets/catalog-0123456789ab.json":     body,
		"assets/catalog-0123456789ab.json.br":  br.Bytes(),
		"assets/catalog-0123456789ab.json.gz":  gz.Bytes(),
		"assets/neighbors-0123456789ab.bin":    body,
		"assets/archive-0123456789ab.tar.gz":   []byte("a real .gz file, no original next to it"),
		"assets/catalog-0123456789ab.json.zst": []byte("not a sibling we know"),
	}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := newServeHandler(filepath.Join(dir, "static"), filepath.Join(dir, "assets"))
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, body
}

func TestServePrecompressed(t *testing.T) {
	srv, body := siblingFixture(t)
	// No automatic decompression: the test sees what the server sends.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func(method, p string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+p, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, b
	}
	decode := func(enc string, b []byte) []byte {
		t.Helper()
		var r io.Reader
		switch enc {
		case "br":
			r = brotli.NewReader(bytes.NewReader(b))
		case "gzip":
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		default:
			return b
		}
		out, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("decoding %s: %v", enc, err)
		}
		return out
	}
	const catalog = "/assets/catalog-0123456789ab.json"
	for _, tc := range []struct {
		path, accept, rng string
		enc               string // expected Content-Encoding
		vary              bool
	}{
		{catalog, "gzip, deflate, br, zstd", "", "br", true},
		{catalog, "gzip", "", "gzip", true},
		{catalog, "br;q=0, gzip;q=0.5", "", "gzip", true},
		{catalog, "x-gzip", "", "gzip", true},
		{catalog, "*", "", "br", true},
		{catalog, "*;q=0", "", "", true},
		{catalog, "gzip;q=0, br;q=0", "", "", true},
		{catalog, "identity", "", "", true},
		{catalog, "", "", "", true},
		{catalog, "br, gzip", "bytes=10-19", "", true}, // ranges are of the file's own bytes
		{"/lookalike.js", "br, gzip", "", "gzip", true},
		{"/assets/neighbors-0123456789ab.bin", "br, gzip", "", "", false},
		// Text without siblings is compressed by the server, as a host would.
		{"/app.js", "gzip, deflate, br", "", "br", true},
		{"/app.js", "gzip", "", "gzip", true},
		{"/app.js", "", "", "", true},
		{"/app.js", "br", "bytes=10-19", "", true},
		{"/assets/manifest.json", "br, gzip", "", "br", true},
	} {
		t.Run(tc.path+" "+tc.accept+" "+tc.rng, func(t *testing.T) {
			hdr := map[string]string{"Accept-Encoding": tc.accept}
			if tc.rng != "" {
				hdr["Range"] = tc.rng
			}
			res, b := get("GET", tc.path, hdr)
			if got := res.Header.Get("Content-Encoding"); got != tc.enc {
				t.Fatalf("Content-Encoding %q, want %q", got, tc.enc)
			}
			if got := res.Header.Get("Vary") == "Accept-Encoding"; got != tc.vary {
				t.Errorf("Vary %q", res.Header.Get("Vary"))
			}
			if cl := res.Header.Get("Content-Length"); cl != strconv.Itoa(len(b)) {
				t.Errorf("Content-Length %s for %d bytes", cl, len(b))
			}
			if want := headers.ContentType(tc.path); res.Header.Get("Content-Type") != want {
				t.Errorf("Content-Type %q, want the file's own %q", res.Header.Get("Content-Type"), want)
			}
			if res.Header.Get("Access-Control-Allow-Origin") != "*" || res.Header.Get("Cache-Control") != headers.CacheControl(tc.path) {
				t.Errorf("policy headers lost: %v", res.Header)
			}
			want := body
			if tc.rng != "" {
				if res.StatusCode != 206 {
					t.Fatalf("range: status %d", res.StatusCode)
				}
				want = body[10:20]
			}
			if got := decode(tc.enc, b); !bytes.Equal(got, want) {
				t.Errorf("body decodes to %d bytes %.40q, want %.40q", len(got), got, want)
			}
			// HEAD: the same headers, no body.
			hres, hb := get("HEAD", tc.path, hdr)
			if len(hb) != 0 || hres.Header.Get("Content-Encoding") != tc.enc || hres.Header.Get("Content-Length") != res.Header.Get("Content-Length") {
				t.Errorf("HEAD: %d bytes, %v", len(hb), hres.Header)
			}
		})
	}
	// Too small to be worth it: sent as it is.
	if res, _ := get("GET", "/tiny.js", map[string]string{"Accept-Encoding": "br, gzip"}); res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "" {
		t.Errorf("/tiny.js: status %d encoding %q", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
	// A sibling is not a resource of its own; unknown suffixes and real
	// .gz files without an original are ordinary files.
	for p, want := range map[string]int{
		catalog + ".br":                         404,
		catalog + ".gz":                         404,
		"/lookalike.js.gz":                      404,
		"/assets/archive-0123456789ab.tar.gz":   200,
		"/assets/catalog-0123456789ab.json.zst": 200,
	} {
		if res, _ := get("GET", p, map[string]string{"Accept-Encoding": "br, gzip"}); res.StatusCode != want || res.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: status %d encoding %q, want %d and none", p, res.StatusCode, res.Header.Get("Content-Encoding"), want)
		}
	}
}

// A file compressed on request and then changed is served as it is now.
func TestServeCompressesChangedFile(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"static", "assets"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	js := filepath.Join(dir, "static", "app.js")
	v1 := []byte(strings.Repeat("export const a = 'first version';\n", 100))
	v2 := []byte(strings.Repeat("export const b = 'second version, longer';\n", 100))
	os.WriteFile(js, v1, 0o644)
	h, err := newServeHandler(filepath.Join(dir, "static"), filepath.Join(dir, "assets"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	fetch := func() []byte {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/app.js", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q", res.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(zr)
		return b
	}
	if got := fetch(); !bytes.Equal(got, v1) {
		t.Fatalf("first: %.40q", got)
	}
	os.WriteFile(js, v2, 0o644)
	later := time.Now().Add(2 * time.Second)
	os.Chtimes(js, later, later)
	if got := fetch(); !bytes.Equal(got, v2) {
		t.Fatalf("after the change: %.40q, want the new version", got)
	}
}
