package headers

import (
	"path"
	"slices"
	"strconv"
	"strings"
)

// An Encoding is a precompressed sibling the builder may write next to a
// file F: F+Suffix holds F's bytes compressed with Name.
type Encoding struct{ Name, Suffix string }

// Encodings are the siblings a host looks for, in order of preference.
var Encodings = []Encoding{{"br", ".br"}, {"gzip", ".gz"}}

// The sibling rule, the same on every host that serves siblings (builder
// serve, the edge entry; nginx's gzip_static/brotli_static do the same):
//
//   - a GET or HEAD of F without a Range header, whose Accept-Encoding
//     allows an encoding whose sibling exists, is answered with the
//     sibling's bytes, Content-Encoding: <name>, F's own Content-Type and
//     other headers, the sibling's Content-Length;
//   - every answer for an F that has a sibling carries Vary:
//     Accept-Encoding (also the identity one, so caches keep them apart);
//   - with a Range header the answer is identity (ranges of F's bytes);
//   - a request naming a sibling itself (F.br, F.gz, with F present) is a
//     404: a sibling is a representation of F, not a resource of its own
//     type.

// Negotiate returns the first of Encodings whose sibling exists (has)
// and that acceptEncoding allows (RFC 9110: a coding listed with q > 0,
// or "*" with q > 0 when the coding is not listed; "x-gzip" is gzip).
func Negotiate(acceptEncoding string, has func(Encoding) bool) (Encoding, bool) {
	q := acceptQ(acceptEncoding)
	for _, e := range Encodings {
		v, ok := q[e.Name]
		if !ok {
			v, ok = q["*"]
		}
		if ok && v > 0 && has(e) {
			return e, true
		}
	}
	return Encoding{}, false
}

// acceptQ parses Accept-Encoding into coding → q.
func acceptQ(h string) map[string]float64 {
	out := map[string]float64{}
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		if name == "x-gzip" {
			name = "gzip"
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0 // a malformed weight allows nothing
				}
				q = f
			}
		}
		if old, ok := out[name]; !ok || q > old {
			out[name] = q
		}
	}
	return out
}

// SiblingOf returns the file a sibling name stands for ("x.json.br" →
// "x.json", br) or false if name has no sibling suffix. The caller checks
// that the original exists before refusing the name.
func SiblingOf(name string) (string, Encoding, bool) {
	for _, e := range Encodings {
		if strings.HasSuffix(name, e.Suffix) && len(name) > len(e.Suffix) {
			return strings.TrimSuffix(name, e.Suffix), e, true
		}
	}
	return "", Encoding{}, false
}

// Vary is set on every answer for a file that has a sibling, and for
// every Compressible one (which a host or CDN compresses on the fly).
var Vary = Field{"Vary", "Accept-Encoding"}

// compressibleExts are the text types hosts compress on the fly
// (`builder serve` for files of at least 1 KB without siblings; Cloudflare
// on the way out).
var compressibleExts = []string{".html", ".js", ".mjs", ".css", ".json", ".svg", ".txt", ".webmanifest"}

// Compressible reports whether name is of a type hosts compress on the fly.
func Compressible(name string) bool {
	return slices.Contains(compressibleExts, strings.ToLower(path.Ext(name)))
}
