//go:build !js

package build

// builder query: search built assets with photos, natively, with the same
// models/search code the browser engine runs.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/search"
	"github.com/lookalike/lookalike/models/vecfile"
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
	stored := fs.Bool("stored-vectors", false, "rank as the page does with a vector file too big for memory (a million products): the codes' best 2,560 (search.StoredPool) re-scored from records read from the file on disk, never loaded whole")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./builder query --assets DIR [--k 10] [--section S] [--filter col=value] [--first-search | --stored-vectors] IMAGE...\n\n"+
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
	e, err := OpenAssets(*assets, search.Options{FirstSearch: *first || *stored})
	if err != nil {
		return err
	}
	if *stored && !*first {
		closeFn, err := AttachStoredVectors(*assets, e)
		if err != nil {
			return err
		}
		defer closeFn()
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

// AttachStoredVectors attaches the folder's vector file to e as the page
// keeps it past LATER_MAX_BYTES: on disk, each search's shortlist read
// record by record (search.Engine.AttachStored). Every part is checked
// against the manifest first. The returned function closes the files.
func AttachStoredVectors(dir string, e *search.Engine) (func(), error) {
	a, ok := e.Manifest.Asset(search.KindVectors)
	if !ok {
		return nil, fmt.Errorf("assets %s: no vector file to keep on disk", dir)
	}
	var pr partsReaderAt
	done := func() {
		for _, f := range pr.files {
			f.Close()
		}
	}
	for _, p := range a.Files() {
		path := filepath.Join(dir, p.File)
		f, err := os.Open(path)
		if err != nil {
			done()
			return nil, err
		}
		pr.files = append(pr.files, f)
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			done()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if n != p.Size || hex.EncodeToString(h.Sum(nil)) != p.SHA256 {
			done()
			return nil, fmt.Errorf("%s: SHA-256 does not match the manifest (assets from different builds?)", path)
		}
		pr.ends = append(pr.ends, pr.size+n)
		pr.size += n
	}
	header := make([]byte, vecfile.HeaderSize)
	if _, err := pr.ReadAt(header, 0); err != nil {
		done()
		return nil, fmt.Errorf("assets %s: vector file header: %w", dir, err)
	}
	if err := e.AttachStored(header, vecfile.ReaderAtRecords{R: &pr}); err != nil {
		done()
		return nil, fmt.Errorf("assets %s: %w", dir, err)
	}
	return done, nil
}

// partsReaderAt reads a file split into parts (catalog.MaxAssetSize each)
// as one: ends[i] is the offset where part i ends.
type partsReaderAt struct {
	files []*os.File
	ends  []int64
	size  int64
}

func (p *partsReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		at := off + int64(n)
		i := sort.Search(len(p.ends), func(i int) bool { return p.ends[i] > at })
		if i == len(p.ends) {
			return n, io.EOF
		}
		var start int64
		if i > 0 {
			start = p.ends[i-1]
		}
		m, err := p.files[i].ReadAt(b[n:min(len(b), n+int(p.ends[i]-at))], at-start)
		n += m
		if err != nil && err != io.EOF {
			return n, err
		}
		if m == 0 {
			return n, io.ErrUnexpectedEOF
		}
	}
	return n, nil
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
