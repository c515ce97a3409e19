package headers

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/lookalike/lookalike/internal/testenv"
)

// pagesRule is one rule of a `_headers` file.
type pagesRule struct {
	pattern string
	lines   []string
}

func parsePages(t *testing.T, text string) []pagesRule {
	t.Helper()
	var rules []pagesRule
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "/"):
			rules = append(rules, pagesRule{pattern: line})
		case strings.HasPrefix(line, "  ") && len(rules) > 0:
			rules[len(rules)-1].lines = append(rules[len(rules)-1].lines, strings.TrimSpace(line))
		default:
			t.Fatalf("_headers line %d: %q", i+1, line)
		}
	}
	return rules
}

// applyPages evaluates the rules for a URL path as Cloudflare Pages
// documents it: every matching rule in order, "*" matching anything (also
// slashes), repeated names joined with ", ", "! Name" removing a name.
func applyPages(rules []pagesRule, urlPath string) http.Header {
	h := http.Header{}
	for _, r := range rules {
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(r.pattern), `\*`, ".*") + "$"
		if !regexp.MustCompile(re).MatchString(urlPath) {
			continue
		}
		for _, l := range r.lines {
			if name, ok := strings.CutPrefix(l, "! "); ok {
				h.Del(name)
				continue
			}
			name, value, _ := strings.Cut(l, ": ")
			if old := h.Get(name); old != "" {
				value = old + ", " + value
			}
			h.Set(name, value)
		}
	}
	return h
}

// servedAt is the URL path a host answers for a file (a folder's index at
// the folder).
func servedAt(p string) string { return strings.TrimSuffix(p, "index.html") }

func TestPagesFile(t *testing.T) {
	sites := map[string][]string{
		"example":                ExampleSite,
		"mostly unhashed folder": {"/index.html", "/x/a.js", "/x/b.js", "/x/c-0123456789ab.js", "/sw.js"},
		"siblings and parts": {"/index.html", "/assets/manifest.json", "/assets/catalog-0123456789ab.json",
			"/assets/catalog-0123456789ab.json.br", "/assets/catalog-0123456789ab.json.gz",
			"/assets/index-0123456789ab.ann.part0", "/assets/index-0123456789ab.ann.part1", "/demo/index.html"},
	}
	for name, site := range sites {
		t.Run(name, func(t *testing.T) {
			text := PagesFile(site)
			rules := parsePages(t, text)
			for _, p := range site {
				if _, _, sib := SiblingOf(p); sib {
					if strings.Contains(text, p+"\n") {
						t.Errorf("sibling %s listed", p)
					}
					continue
				}
				urls := []string{p}
				if IsPage(p) {
					urls = pageURLs(p)
				}
				for _, u := range urls {
					got := applyPages(rules, u)
					for _, f := range File(servedAt(p)) {
						if f.Name == "Content-Type" {
							continue // the host's, by extension
						}
						if got.Get(f.Name) != f.Value {
							t.Errorf("%s: %s = %q, want %q", u, f.Name, got.Get(f.Name), f.Value)
						}
					}
					if len(got) != len(File(servedAt(p)))-1 {
						t.Errorf("%s: %d headers, want %d: %v", u, len(got), len(File(servedAt(p)))-1, got)
					}
				}
			}
		})
	}
}

// TestNginx runs the snippet in a real nginx (skipped when none is
// installed; .ci/run installs Debian's nginx-light and its brotli static
// module) and checks every file's headers against File, and the sibling
// rule.
func TestNginx(t *testing.T) {
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no processes or sockets under wasm")
	}
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		t.Skip("no nginx on this machine")
	}
	dir := t.TempDir()
	// nginx's workers run as an unprivileged user: let them read the site.
	for d := dir; d != filepath.Dir(d) && strings.HasPrefix(d, os.TempDir()); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	site := filepath.Join(dir, "site")
	body := []byte(strings.Repeat(`{"id":"1163","title":"Navy shirt"},`, 100))
	write := func(p string, b []byte) {
		full := filepath.Join(site, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range ExampleSite {
		write(p, body)
	}
	var br, gz bytes.Buffer
	bw := brotli.NewWriter(&br)
	bw.Write(body)
	bw.Close()
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	const catalog = "/assets/catalog-3fa94c1e5b2d.json"
	write(catalog+".gz", gz.Bytes())
	write(catalog+".br", br.Bytes())
	write("/_worker/meta.json", []byte("{}"))
	write("/.lookalike-site", []byte("x"))
	write("/_headers", []byte("x"))

	snippet := Nginx()
	module := "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so"
	load := ""
	withBrotli := false
	if _, err := os.Stat(module); err == nil {
		load = "load_module " + module + ";"
		snippet = strings.Replace(snippet, "# brotli_static on;", "brotli_static on;", 1)
		withBrotli = true
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conf := fmt.Sprintf(`%s
daemon off;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %s/tmp; proxy_temp_path %s/tmp; fastcgi_temp_path %s/tmp; uwsgi_temp_path %s/tmp; scgi_temp_path %s/tmp;
    server {
        listen %s;
        root %s;
%s
    }
}
`, load, dir, dir, dir, dir, dir, dir, dir, addr, site, snippet)
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o755)
	cf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(cf, []byte(conf), 0o644)
	if out, err := exec.Command(bin, "-t", "-p", dir, "-c", cf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, conf)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", cf)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	})
	base := "http://" + addr
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 5 * time.Second}
	get := func(p string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+p, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		var res *http.Response
		var err error
		for i := 0; i < 50; i++ {
			if res, err = client.Do(req); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("nginx: %v\n%s", err, logs.String())
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, b
	}
	for _, p := range ExampleSite {
		u := servedAt(p)
		res, _ := get(u, nil)
		if res.StatusCode != 200 {
			t.Errorf("%s: status %d", u, res.StatusCode)
			continue
		}
		for _, f := range File(u) {
			if got := res.Header.Get(f.Name); got != f.Value {
				t.Errorf("%s: %s = %q, want %q", u, f.Name, got, f.Value)
			}
		}
		if res.Header.Get("Service-Worker-Allowed") != "" && !strings.HasSuffix(u, "/"+ServiceWorker) {
			t.Errorf("%s: Service-Worker-Allowed", u)
		}
	}
	// Siblings: encoded with the file's type and Vary; identity on Range or
	// without Accept-Encoding; never served under their own names.
	// nginx ignores a Range when it picks a sibling (200, the whole
	// encoded file: correct, not partial); browsers send Accept-Encoding:
	// identity with Range (the Fetch standard), which gets a 206.
	cases := []struct {
		accept, rng, enc string
	}{{"gzip", "", "gzip"}, {"", "", ""}, {"identity", "bytes=0-9", ""}, {"gzip", "bytes=0-9", "gzip"}}
	if withBrotli {
		cases = append(cases, struct{ accept, rng, enc string }{"br, gzip", "", "br"})
	}
	for _, tc := range cases {
		hdr := map[string]string{"Accept-Encoding": tc.accept}
		if tc.rng != "" {
			hdr["Range"] = tc.rng
		}
		res, b := get(catalog, hdr)
		if res.Header.Get("Content-Encoding") != tc.enc || res.Header.Get("Content-Type") != "application/json" ||
			res.Header.Get("Cache-Control") != Immutable || res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%q %q: %d %v", tc.accept, tc.rng, res.StatusCode, res.Header)
		}
		if tc.enc != "" && res.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("%q: Vary %q", tc.accept, res.Header.Get("Vary"))
		}
		var r io.Reader = bytes.NewReader(b)
		switch tc.enc {
		case "gzip":
			zr, err := gzip.NewReader(r)
			if err != nil {
				t.Errorf("%q: not gzip: %v", tc.accept, err)
				continue
			}
			r = zr
		case "br":
			r = brotli.NewReader(r)
		}
		got, err := io.ReadAll(r)
		want := body
		if tc.rng != "" && tc.enc == "" {
			want = body[:10]
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%q %q: body %.30q (%v)", tc.accept, tc.rng, got, err)
		}
	}
	for _, p := range []string{catalog + ".gz", catalog + ".br", "/_worker/meta.json", "/.lookalike-site", "/_headers"} {
		if res, _ := get(p, nil); res.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", p, res.StatusCode)
		}
	}
}

// TestDocsShowTheRecipes: docs/deploy.md shows what the generators print.
func TestDocsShowTheRecipes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for format, want := range map[string]string{"pages": PagesFile(ExampleSite), "nginx": Nginx()} {
		marker := "<!-- generated: go run ./builder headers --format " + format + " -->\n"
		i := strings.Index(doc, marker)
		if i < 0 {
			t.Errorf("docs/deploy.md lacks %q", marker)
			continue
		}
		rest := doc[i+len(marker):]
		start := strings.Index(rest, "\n") + 1 // the opening fence
		end := strings.Index(rest[start:], "```")
		if start <= 0 || end < 0 {
			t.Errorf("no code block after %q", marker)
			continue
		}
		if got := rest[start : start+end]; got != want {
			t.Errorf("docs/deploy.md's %s recipe is not what `go run ./builder headers --format %s` prints; paste it again:\n%s", format, format, want)
		}
	}
}
