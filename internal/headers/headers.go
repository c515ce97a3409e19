package headers

import (
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"
)

// CSP is sent with every response. 'wasm-unsafe-eval' is the only
// relaxation: WebAssembly.instantiate needs it; no inline script or style.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; " +
	"worker-src 'self'; img-src 'self' blob: data:; style-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'"

// Cache policies: a content-hashed file never changes under its name; the
// rest (the page, manifest.json, build.json) is revalidated on every load
// so that a new build is picked up at once.
const (
	Immutable  = "public, max-age=31536000, immutable"
	Revalidate = "no-cache"
)

// HashedPattern matches base names that carry a content hash, e.g.
// model-3fa94c1e.onnx, engine-0a1b2c3d4e5f.wasm or index-….ann.part0. It
// is written in the syntax Go's regexp and JavaScript's RegExp share
// (entry.mjs compiles it too).
const HashedPattern = `-[0-9a-f]{8,64}(\.[A-Za-z0-9]+)+$`

var hashed = regexp.MustCompile(HashedPattern)

// DefaultType is the type of a file whose extension the policy does not
// name (e.g. the index's .partN files).
const DefaultType = "application/octet-stream"

// contentTypes pins the types so that headers do not depend on the
// machine's MIME table.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".wasm":        "application/wasm",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".webp":        "image/webp",
	".gif":         "image/gif",
	".ico":         "image/x-icon",
	".txt":         "text/plain; charset=utf-8",
	".onnx":        DefaultType,
	".ann":         DefaultType,
	".bin":         DefaultType,
}

// A Field is one header line.
type Field struct{ Name, Value string }

// common goes with every response of the site, the API's included.
var common = []Field{
	{"Content-Security-Policy", CSP},
	{"X-Content-Type-Options", "nosniff"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
	{"Cross-Origin-Embedder-Policy", "require-corp"},
	{"Referrer-Policy", "no-referrer"},
	{"Permissions-Policy", "camera=(self), microphone=(), geolocation=()"},
}

// Pages (HTML) stay on their origin; everything else — the embed script,
// the engine, the assets, the API — may be used by other sites (a shop's
// product page), which needs both CORS (fetch, module scripts) and CORP
// (pages that are cross-origin isolated themselves).
var (
	pageFields   = []Field{{"Cross-Origin-Resource-Policy", "same-origin"}}
	sharedFields = []Field{{"Access-Control-Allow-Origin", "*"}, {"Cross-Origin-Resource-Policy", "cross-origin"}}
)

// ServiceWorker is the service worker's name; it may control the whole
// origin (Service-Worker-Allowed) even if it moves to a sub-folder.
const ServiceWorker = "sw.js"

// IsPage reports whether the URL path names an HTML page ("/", a folder's
// index, *.html).
func IsPage(urlPath string) bool {
	return urlPath == "" || strings.HasSuffix(urlPath, "/") || strings.EqualFold(path.Ext(urlPath), ".html")
}

// ContentType returns the type the policy gives a file name.
func ContentType(name string) string {
	if IsPage(name) {
		return contentTypes[".html"]
	}
	if ct, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return ct
	}
	return DefaultType
}

// Hashed reports whether a file name carries a content hash.
func Hashed(name string) bool { return hashed.MatchString(path.Base(name)) }

// CacheControl returns the Cache-Control value for a file name.
func CacheControl(name string) string {
	if !IsPage(name) && Hashed(name) {
		return Immutable
	}
	return Revalidate
}

// Common returns the fields every answer carries, page or not.
func Common(page bool) []Field {
	out := append([]Field(nil), common...)
	if page {
		return append(out, pageFields...)
	}
	return append(out, sharedFields...)
}

// File returns the fields of a static file served at urlPath ("/",
// "/assets/manifest.json", …), Content-Type included, in a fixed order.
func File(urlPath string) []Field {
	out := Common(IsPage(urlPath))
	out = append(out, Field{"Content-Type", ContentType(urlPath)}, Field{"Cache-Control", CacheControl(urlPath)})
	if path.Base(urlPath) == ServiceWorker {
		out = append(out, Field{"Service-Worker-Allowed", "/"})
	}
	return out
}

// SetFile sets File(urlPath) on h, dropping the shared fields a page must
// not carry if an earlier Common(false) set them.
func SetFile(h http.Header, urlPath string) {
	if IsPage(urlPath) {
		for _, f := range sharedFields {
			h.Del(f.Name)
		}
	}
	Set(h, File(urlPath))
}

// Set sets fields on h, replacing earlier values.
func Set(h http.Header, fields []Field) {
	for _, f := range fields {
		h.Set(f.Name, f.Value)
	}
}

// Methods are the methods the site and the API answer.
const Methods = "GET, HEAD, OPTIONS"

// Preflight returns the fields of the 204 answer to an OPTIONS request
// (a CORS preflight), next to Common(false).
func Preflight() []Field {
	return []Field{
		{"Allow", Methods},
		{"Access-Control-Allow-Methods", Methods},
		{"Access-Control-Allow-Headers", "Range"},
		{"Access-Control-Max-Age", "86400"},
	}
}

// ContentTypes returns a copy of the extension → type table.
func ContentTypes() map[string]string {
	m := make(map[string]string, len(contentTypes))
	for k, v := range contentTypes {
		m[k] = v
	}
	return m
}

// fieldNames returns the names in fields, sorted (for tests and docs).
func fieldNames(fields []Field) []string {
	var out []string
	for _, f := range fields {
		out = append(out, f.Name)
	}
	sort.Strings(out)
	return out
}
