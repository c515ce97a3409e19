package headers

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
)

// Policy is the policy as data, for hosts that are not Go: the edge entry
// (wasm/worker/entry.mjs imports it as build/headers.json) applies it per
// request exactly as File and the sibling rule do.
type Policy struct {
	Common        [][2]string       `json:"common"`       // every answer
	Page          [][2]string       `json:"page"`         // HTML pages, after common
	Shared        [][2]string       `json:"shared"`       // everything else, after common
	Preflight     [][2]string       `json:"preflight"`    // OPTIONS (204), after common + shared
	ContentTypes  map[string]string `json:"contentTypes"` // extension → type
	DefaultType   string            `json:"defaultType"`
	PageType      string            `json:"pageType"`
	HashedPattern string            `json:"hashedPattern"` // JavaScript RegExp source
	Immutable     string            `json:"immutable"`
	Revalidate    string            `json:"revalidate"`
	ServiceWorker string            `json:"serviceWorker"` // base name that gets Service-Worker-Allowed: /
	Encodings     [][2]string       `json:"encodings"`     // [name, suffix], preferred first
	Vary          string            `json:"vary"`
	Compressible  []string          `json:"compressible"` // extensions that always get Vary (compressed on the fly)
}

func pairs(fields []Field) [][2]string {
	out := make([][2]string, len(fields))
	for i, f := range fields {
		out[i] = [2]string{f.Name, f.Value}
	}
	return out
}

// Data returns the policy as data.
func Data() Policy {
	p := Policy{
		Common: pairs(common), Page: pairs(pageFields), Shared: pairs(sharedFields), Preflight: pairs(Preflight()),
		ContentTypes: ContentTypes(), DefaultType: DefaultType, PageType: contentTypes[".html"],
		HashedPattern: HashedPattern, Immutable: Immutable, Revalidate: Revalidate,
		ServiceWorker: ServiceWorker, Vary: Vary.Value, Compressible: append([]string(nil), compressibleExts...),
	}
	for _, e := range Encodings {
		p.Encodings = append(p.Encodings, [2]string{e.Name, e.Suffix})
	}
	return p
}

// JSON is Data as indented JSON.
func JSON() []byte {
	b, err := json.MarshalIndent(Data(), "", "  ")
	if err != nil {
		panic(err) // only strings and maps of strings
	}
	return append(b, '\n')
}

// ExampleSite is the layout of a staged site the recipes in docs/deploy.md
// are printed for (a real site: `builder stage` writes its own _headers).
var ExampleSite = []string{
	"/index.html", "/demo/product.html", "/app.js", "/sw.js", "/lookalike.js", "/personal.js", "/styles.css",
	"/build/build.json", "/build/engine-0a1b2c3d4e5f.wasm", "/build/wasm_exec-0a1b2c3d4e5f.js",
	"/assets/manifest.json", "/assets/model-3fa94c1e5b2d.onnx", "/assets/catalog-3fa94c1e5b2d.json",
	"/assets/thumbs-3fa94c1e5b2d.jpg",
}

// PagesFile returns a Cloudflare Pages `_headers` file for a site whose
// files are at the given URL paths. That format applies every rule whose
// path matches, in order, joining repeated headers with ", "; "! Name"
// drops what an earlier rule set. The rules here: everything gets the
// shared headers and no-cache; each page gets its own CORP and no CORS;
// content-hashed files are immutable (one rule per top-level folder where
// most files are hashed, with exceptions after it); sw.js its scope.
// Content types are left to the host (it picks them by extension);
// precompressed siblings are not listed (such hosts compress themselves:
// upload without them).
func PagesFile(site []string) string {
	var b strings.Builder
	rule := func(pattern string, fields ...string) {
		fmt.Fprintf(&b, "%s\n", pattern)
		for _, f := range fields {
			fmt.Fprintf(&b, "  %s\n", f)
		}
	}
	line := func(fs []Field) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Name+": "+f.Value)
		}
		return out
	}
	var files []string
	for _, p := range site {
		if _, _, sib := SiblingOf(p); !sib {
			files = append(files, p)
		}
	}
	sort.Strings(files)
	rule("/*", append(line(Common(false)), "Cache-Control: "+Revalidate)...)
	drop := []string{}
	for _, f := range sharedFields {
		drop = append(drop, "! "+f.Name)
	}
	page := append(drop, line(pageFields)...)
	for _, p := range files {
		if !IsPage(p) {
			continue
		}
		for _, u := range pageURLs(p) {
			rule(u, page...)
		}
	}
	immutable := []string{"! Cache-Control", "Cache-Control: " + Immutable}
	revalidate := []string{"! Cache-Control", "Cache-Control: " + Revalidate}
	byTop := map[string][]string{}
	var tops []string
	for _, p := range files {
		top := ""
		if i := strings.IndexByte(p[1:], '/'); i >= 0 {
			top = p[:i+2]
		}
		if _, ok := byTop[top]; !ok {
			tops = append(tops, top)
		}
		byTop[top] = append(byTop[top], p)
	}
	for _, top := range tops {
		var hashedFiles, other []string
		for _, p := range byTop[top] {
			if CacheControl(p) == Immutable {
				hashedFiles = append(hashedFiles, p)
			} else {
				other = append(other, p)
			}
		}
		if top != "" && len(hashedFiles) > len(other) {
			rule(top+"*", immutable...)
			for _, p := range other {
				rule(p, revalidate...)
			}
			continue
		}
		for _, p := range hashedFiles {
			rule(p, immutable...)
		}
	}
	for _, p := range files {
		if path.Base(p) == ServiceWorker {
			rule(p, "Service-Worker-Allowed: /")
		}
	}
	return b.String()
}

// pageURLs are the URLs a static host answers with the page at p: the
// file, its pretty URL without .html, and the folder for an index.html.
func pageURLs(p string) []string {
	if strings.HasSuffix(p, "/index.html") {
		return []string{strings.TrimSuffix(p, "index.html"), p}
	}
	return []string{strings.TrimSuffix(p, ".html"), p}
}

// Nginx returns a snippet for a server {} block whose root is the staged
// site: types, the same headers by location, precompressed siblings
// (gzip_static; brotli_static with ngx_brotli's static module, commented
// out as stock nginx lacks it), and 404s for siblings, hidden files and the
// worker's lookup files. nginx's add_header in a location replaces every
// inherited one, so each location lists all of its headers.
func Nginx() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Lookalike's headers, generated from internal/headers (go run ./builder headers --format nginx).\n")
	w("# Inside the server {} block whose root is the staged site (go run ./builder stage).\n")
	w("types {\n")
	byType := map[string][]string{}
	for ext, t := range contentTypes {
		t, _, _ = strings.Cut(t, ";")
		byType[t] = append(byType[t], strings.TrimPrefix(ext, "."))
	}
	var types []string
	for t := range byType {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		exts := byType[t]
		sort.Strings(exts)
		w("    %s %s;\n", t, strings.Join(exts, " "))
	}
	w("}\n")
	w("default_type %s;\n", DefaultType)
	w("charset utf-8;\ncharset_types text/html text/css text/javascript text/plain;\n")
	w("index index.html;\n")
	w("# Precompressed siblings (F.gz, F.br next to F): sent when Accept-Encoding allows, with F's type.\n")
	w("gzip_static on;\ngzip_vary on;\n")
	w("# brotli_static on;   # with ngx_brotli's static module (Debian: libnginx-mod-http-brotli-static)\n")
	block := func(match string, fields []Field) {
		w("location %s {\n", match)
		for _, f := range fields {
			w("    add_header %s %s always;\n", f.Name, nginxQuote(f.Value))
		}
		w("}\n")
	}
	w("location ~ \"(^|/)(\\.|_worker/|_headers$)\" { return 404; }\n")
	w("location ~ \"\\.(br|gz)$\" { return 404; }\n")
	with := func(fs []Field, extra ...Field) []Field { return append(append([]Field(nil), fs...), extra...) }
	block("= /"+ServiceWorker, with(Common(false), Field{"Cache-Control", Revalidate}, Field{"Service-Worker-Allowed", "/"}))
	block(`~ "(/|\.html)$"`, with(Common(true), Field{"Cache-Control", Revalidate}))
	block(`~ "`+HashedPattern+`"`, with(Common(false), Field{"Cache-Control", Immutable}))
	block("/", with(Common(false), Field{"Cache-Control", Revalidate}))
	return b.String()
}

func nginxQuote(v string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `"`, `\"`) + `"`
}
