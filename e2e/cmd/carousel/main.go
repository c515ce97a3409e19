// Command carousel prints what the embed's carousel (<lookalike-similar>)
// must show, computed by Go: search.Engine.SimilarFromLists over an asset
// folder, the rule the JavaScript is checked against (models/jsformat). The
// browser tests ask it instead of re-deriving the blend themselves.
//
// It reads JSON requests, one per line, on stdin — {"product": id,
// "section": "", "count": 8, "personal": {likes, views, searches, w_cf?,
// w_personal?}} (the request's `personal`, static/README.md) — and answers
// each with one line: {"results": [[id, score], …]} or {"error": "…"}.
//
//	echo '{"product":"1163","count":8}' | go run ./e2e/cmd/carousel --assets DIR
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/search"
)

type request struct {
	Product  string           `json:"product"`
	Section  string           `json:"section"`
	Count    int              `json:"count"`
	Personal *search.Personal `json:"personal"`
}

type answer struct {
	Results [][2]any `json:"results,omitempty"`
	Error   string   `json:"error,omitempty"`
}

func main() {
	dir := flag.String("assets", "", "asset folder (manifest.json)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: carousel --assets DIR < requests.jsonl")
		os.Exit(2)
	}
	e, err := open(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "carousel:", err)
		os.Exit(1)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(nil, 64<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var q request
		var a answer
		if err := json.Unmarshal(in.Bytes(), &q); err != nil {
			a.Error = err.Error()
		} else if hits, err := e.SimilarFromLists(q.Product, q.Count, q.Section, q.Personal); err != nil {
			a.Error = err.Error()
		} else {
			a.Results = [][2]any{}
			for _, h := range hits {
				a.Results = append(a.Results, [2]any{h.ID, h.Score})
			}
		}
		if err := out.Encode(a); err != nil {
			fmt.Fprintln(os.Stderr, "carousel:", err)
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "carousel:", err)
		os.Exit(1)
	}
}

// open loads the folder's assets without the model, checking each against
// the manifest's SHA-256.
func open(dir string) (*search.Engine, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	m, err := catalog.ReadManifest(b)
	if err != nil {
		return nil, err
	}
	return search.Open(m, func(a catalog.Asset) ([]byte, error) {
		var data []byte
		for _, p := range a.Files() {
			pb, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p.File)))
			if err != nil {
				return nil, err
			}
			data = append(data, pb...)
		}
		if got := catalog.SHA256Hex(data); got != a.SHA256 {
			return nil, fmt.Errorf("%s: SHA-256 %s, the manifest says %s", a.File, got, a.SHA256)
		}
		return data, nil
	}, search.Options{SkipModel: true})
}
