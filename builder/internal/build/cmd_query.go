//go:build !js

package build

// builder query: search built assets with photos, natively, with the same
// models/search code the browser engine runs.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/search"
)

func init() {
	register("query", "search built assets with photos: one JSON line of results per image", runQuery)
}

// queryHit is one result in a query line.
type queryHit struct {
	ID     string  `json:"id"`
	Score  float32 `json:"score"`  // what the order follows
	Visual float32 `json:"visual"` // cosine of the photo and the product
}

// queryLine is what query prints for each image.
type queryLine struct {
	Image   string     `json:"image"`
	Results []queryHit `json:"results,omitempty"`
	// Box is the region searched, in upright photo pixels; Auto when
	// localisation chose it (a product small in a busy photo).
	Box *queryBox `json:"box,omitempty"`
	// Predicted is each head's likeliest label and its probability.
	Predicted map[string]queryLabel `json:"predicted,omitempty"`
	Error     string                `json:"error,omitempty"`
}

type queryBox struct {
	X    int  `json:"x"`
	Y    int  `json:"y"`
	W    int  `json:"w"`
	H    int  `json:"h"`
	Auto bool `json:"auto"`
}

type queryLabel struct {
	Label string  `json:"label"`
	P     float32 `json:"p"`
}

// filterFlags collects repeated --filter col=value flags.
type filterFlags map[string]string

func (f filterFlags) String() string {
	var parts []string
	for k, v := range f {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (f filterFlags) Set(s string) error {
	col, val, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(col) == "" {
		return fmt.Errorf("want col=value, got %q", s)
	}
	f[strings.TrimSpace(col)] = strings.TrimSpace(val)
	return nil
}

// errAllQueriesFailed is query's error when no image could be searched.
var errAllQueriesFailed = errors.New("no image could be searched (see the error lines)")

func runQuery(args []string) error { return queryCommand(args, os.Stdout) }

func queryCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	assets := fs.String("assets", "", "asset folder written by 'builder build' (required)")
	k := fs.Int("k", 10, "results per image")
	section := fs.String("section", "", "search only this section (e.g. Footwear)")
	filters := filterFlags{}
	fs.Var(filters, "filter", "attribute filter col=value (repeatable), e.g. --filter baseColour=Blue")
	exact := fs.Bool("exact", false, "scan every item instead of searching the index")
	first := fs.Bool("first-search", false, "rank as the page's first search: by the product codes alone (the page fetches the vector file after its first results and re-scores with it from then on, as this command does without the flag)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./builder query --assets DIR [--k 10] [--section S] [--filter col=value] [--first-search] IMAGE...\n\n"+
			"Prints one JSON line per image: {\"image\":PATH,\"results\":[{\"id\":…,\"score\":…,\"visual\":…},…],\n"+
			"\"box\":{x,y,w,h,auto} (the region searched; auto: found by localisation),\n"+
			"\"predicted\":{column:{label,p}} (the learned heads' guesses)},\n"+
			"or {\"image\":PATH,\"error\":…} for an image that cannot be read or decoded.\n"+
			"Exit status: 0 if at least one image was searched; 1 if every image failed,\n"+
			"the assets cannot be opened or a flag is wrong.\n\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *assets == "" || fs.NArg() == 0 {
		fs.Usage()
		return errors.New("--assets DIR and at least one IMAGE are required")
	}
	e, err := OpenAssets(*assets, search.Options{FirstSearch: *first})
	if err != nil {
		return err
	}
	q := search.Query{K: *k, Section: *section, Filters: filters, Exact: *exact}
	return queryImages(stdout, e, q, fs.Args())
}

// queryImages searches each image and writes one JSON line per image. It
// fails only when every image failed (or the output cannot be written).
func queryImages(w io.Writer, e *search.Engine, q search.Query, images []string) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	ok := 0
	for _, path := range images {
		line := queryLine{Image: path}
		hits, photo, err := queryOne(e, q, path)
		if err != nil {
			line.Error = err.Error()
		} else {
			ok++
			line.Results = make([]queryHit, len(hits))
			for i, h := range hits {
				line.Results[i] = queryHit{ID: h.ID, Score: h.Score, Visual: h.Visual}
			}
			b := photo.Box
			line.Box = &queryBox{X: b.Min.X, Y: b.Min.Y, W: b.Dx(), H: b.Dy(), Auto: photo.Auto}
			line.Predicted = predicted(e, photo)
		}
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("writing results: %w", err)
		}
	}
	if ok == 0 {
		return errAllQueriesFailed
	}
	return nil
}

// predicted is each head's likeliest label for the photo.
func predicted(e *search.Engine, p *embed.Photo) map[string]queryLabel {
	hp := e.Predict(p)
	if hp == nil {
		return nil
	}
	out := map[string]queryLabel{}
	for h, probs := range hp {
		best := 0
		for c := range probs {
			if probs[c] > probs[best] {
				best = c
			}
		}
		out[e.Heads.Heads[h].Column] = queryLabel{Label: e.Heads.Heads[h].Classes[best], P: probs[best]}
	}
	return out
}

func queryOne(e *search.Engine, q search.Query, path string) ([]search.Hit, *embed.Photo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	hits, photo, _, err := e.SearchPhotoBytes(data, nil, q)
	if hits == nil && err == nil {
		hits = []search.Hit{}
	}
	return hits, photo, err
}

// readManifest reads DIR/manifest.json.
func readManifest(dir string) (*catalog.Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("assets %s: %w (build them with 'go run ./builder build')", dir, err)
	}
	m, err := catalog.ReadManifest(b)
	if err != nil {
		return nil, fmt.Errorf("assets %s: %w", dir, err)
	}
	return m, nil
}

// LoadAsset reads an asset (joining its parts) from dir and checks its
// SHA-256 against the manifest.
func LoadAsset(dir string, a catalog.Asset) ([]byte, error) {
	var b []byte
	if len(a.Parts) == 0 {
		var err error
		if b, err = os.ReadFile(filepath.Join(dir, a.File)); err != nil {
			return nil, err
		}
	} else {
		var buf bytes.Buffer
		for _, p := range a.Parts {
			pb, err := os.ReadFile(filepath.Join(dir, p.File))
			if err != nil {
				return nil, err
			}
			buf.Write(pb)
		}
		b = buf.Bytes()
	}
	// ReadManifest refused entries without a well-formed hash: the check
	// below is never skipped.
	if int64(len(b)) != a.Size || catalog.SHA256Hex(b) != a.SHA256 {
		return nil, fmt.Errorf("%s: SHA-256 does not match the manifest (assets from different builds?)", filepath.Join(dir, a.File))
	}
	return b, nil
}

// OpenAssets opens a built asset folder with models/search.
func OpenAssets(dir string, opt search.Options) (*search.Engine, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	e, err := search.Open(m, func(a catalog.Asset) ([]byte, error) { return LoadAsset(dir, a) }, opt)
	if err != nil {
		return nil, fmt.Errorf("assets %s: %w", dir, err)
	}
	return e, nil
}
