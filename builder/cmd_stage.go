//go:build !js

package main

// builder stage: the complete static site for a static host or the edge
// worker (wrangler.toml): the page (static/ with the engine built into
// static/build/), a built asset folder under assets/, and the edge
// worker's lookup files under _worker/ (see models/edge).

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/internal/headers"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/edge"
)

func init() {
	register("stage", "write the whole site (page, engine, assets, edge lookup files) into one folder", runStage)
}

// siteMarker marks a folder stage wrote, so that stage only ever deletes
// folders it made. .assetsignore keeps it out of a wrangler upload.
const siteMarker = ".lookalike-site"

// maxSiteFiles is the file limit of a Workers static assets deployment
// (free plan).
const maxSiteFiles = 20000

func runStage(args []string) error {
	fl := flag.NewFlagSet("stage", flag.ContinueOnError)
	assets := fl.String("assets", "", "asset folder written by 'builder build'")
	out := fl.String("out", "", "site folder to (re)write; must be new, empty or written by stage before")
	static := fl.String("static", "static", "folder holding the page")
	noBuild := fl.Bool("no-build", false, "do not build the engine; use static/build/ as it is")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "usage: go run ./builder stage --assets DIR --out SITE [--static static]\n\n")
		fl.PrintDefaults()
	}
	if err := cli.Parse(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 || *assets == "" || *out == "" {
		fl.Usage()
		return errors.New("stage: give --assets DIR and --out SITE")
	}
	start := time.Now()
	if !*noBuild {
		if _, err := prepareEngine(*static, os.Stderr); err != nil {
			return err
		}
	}
	st, err := stageSite(*static, *assets, *out)
	if err != nil {
		return err
	}
	fmt.Printf("stage: %s: %d files, %.1f MB (largest %s, %.1f MB; edge lookup %d files) in %s\n",
		*out, st.files, float64(st.bytes)/1e6, st.largest, float64(st.largestSize)/1e6, st.edgeFiles,
		time.Since(start).Round(time.Millisecond))
	return nil
}

type stageStats struct {
	files, edgeFiles int
	bytes            int64
	largest          string
	largestSize      int64
}

// stageSite (re)writes out: static/ at the top, assets/ under assets/, the
// edge lookup files under _worker/.
func stageSite(staticDir, assetsDir, out string) (*stageStats, error) {
	if err := checkSiteFolder(out, staticDir, assetsDir); err != nil {
		return nil, err
	}
	manifest, err := os.ReadFile(filepath.Join(assetsDir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("stage: %w (build the assets first with 'go run ./builder build')", err)
	}
	root, err := os.OpenRoot(assetsDir)
	if err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	defer root.Close()
	edgeFiles, err := edge.Stage(manifest, func(a catalog.Asset) ([]byte, error) { return readAsset(root, a) })
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(out); err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, siteMarker), []byte("written by 'go run ./builder stage'; deleted and rewritten by it\n"), 0o644); err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	// _headers is for static hosts; the edge entry applies the policy itself.
	if err := os.WriteFile(filepath.Join(out, ".assetsignore"), []byte(siteMarker+"\n"+pagesHeaders+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	st := &stageStats{}
	var served []string // URL paths of the site's public files
	add := func(name string, size int64) error {
		if !strings.HasPrefix(name, "_worker/") {
			served = append(served, "/"+name)
		}
		st.files++
		st.bytes += size
		if size > st.largestSize {
			st.largest, st.largestSize = name, size
		}
		if size > catalog.MaxAssetSize {
			return fmt.Errorf("stage: %s is %d bytes, over the %d-byte limit of a static asset on Workers", name, size, catalog.MaxAssetSize)
		}
		return nil
	}
	if err := copyTree(staticDir, out, "", func(rel string) bool {
		return !strings.HasSuffix(rel, ".md") // the folder's README is for developers
	}, add); err != nil {
		return nil, err
	}
	if err := copyTree(assetsDir, filepath.Join(out, "assets"), "assets/", func(rel string) bool {
		return rel != "build-report.json" // the builder's log, not for shoppers
	}, add); err != nil {
		return nil, err
	}
	// Which files have precompressed siblings, for the edge entry (the
	// sibling rule of internal/headers; the Go side never reads it).
	enc, err := siblingIndex(served)
	if err != nil {
		return nil, err
	}
	edgeFiles[encodingsName] = enc
	names := make([]string, 0, len(edgeFiles))
	for n := range edgeFiles {
		names = append(names, n)
	}
	sort.Strings(names)
	edir := filepath.Join(out, "_worker")
	if err := os.MkdirAll(edir, 0o755); err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(edir, n), edgeFiles[n], 0o644); err != nil {
			return nil, fmt.Errorf("stage: %w", err)
		}
		if err := add("_worker/"+n, int64(len(edgeFiles[n]))); err != nil {
			return nil, err
		}
	}
	st.edgeFiles = len(names)
	if st.files > maxSiteFiles {
		return nil, fmt.Errorf("stage: %d files, over the %d-file limit of a Workers static assets deployment", st.files, maxSiteFiles)
	}
	if err := os.WriteFile(filepath.Join(out, pagesHeaders), []byte(headers.PagesFile(served)), 0o644); err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	return st, nil
}

// pagesHeaders is the header recipe stage writes for static hosts that
// read a `_headers` file (Cloudflare Pages).
const pagesHeaders = "_headers"

// encodingsName is the staged list of precompressed siblings, under _worker/.
const encodingsName = "encodings.json"

// siblingIndex maps each served path that has precompressed siblings to
// their encodings, preferred first: {"/assets/catalog-….json": ["br", "gzip"]}.
func siblingIndex(served []string) ([]byte, error) {
	have := map[string]bool{}
	for _, p := range served {
		have[p] = true
	}
	idx := map[string][]string{}
	for _, p := range served {
		for _, e := range headers.Encodings {
			if have[p+e.Suffix] {
				idx[p] = append(idx[p], e.Name)
			}
		}
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	return append(b, '\n'), nil
}

// checkSiteFolder refuses to delete anything stage did not write.
func checkSiteFolder(out string, others ...string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	for _, o := range others {
		oa, err := filepath.Abs(o)
		if err != nil {
			return fmt.Errorf("stage: %w", err)
		}
		if rel, err := filepath.Rel(abs, oa); err == nil && !strings.HasPrefix(rel, "..") {
			return fmt.Errorf("stage: --out %s holds %s; pick a separate folder", out, o)
		}
		if rel, err := filepath.Rel(oa, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return fmt.Errorf("stage: --out %s is inside %s; pick a separate folder", out, o)
		}
	}
	ents, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	if len(ents) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(out, siteMarker)); err != nil {
		return fmt.Errorf("stage: %s is not empty and was not written by stage; refusing to replace it", out)
	}
	return nil
}

// copyTree copies the regular files under src (no hidden files or
// folders, no symbolic links) into dst, keeping those keep accepts.
func copyTree(src, dst, prefix string, keep func(rel string) bool, add func(string, int64) error) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("stage: %w", err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("stage: %w", err)
		}
		if rel != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(rel, ".tmp") || !keep(filepath.ToSlash(rel)) {
			return nil
		}
		n, err := copyFile(p, filepath.Join(dst, rel))
		if err != nil {
			return err
		}
		return add(prefix+filepath.ToSlash(rel), n)
	})
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	defer in.Close()
	o, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	n, err := io.Copy(o, in)
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("stage: copying %s: %w", src, err)
	}
	return n, nil
}

// readAsset returns an asset's bytes (parts joined), checked against the
// manifest's SHA-256.
func readAsset(root *os.Root, a catalog.Asset) ([]byte, error) {
	var b []byte
	if len(a.Parts) == 0 {
		var err error
		if b, err = root.ReadFile(a.File); err != nil {
			return nil, fmt.Errorf("stage: %w", err)
		}
	}
	for _, p := range a.Parts {
		pb, err := root.ReadFile(p.File)
		if err != nil {
			return nil, fmt.Errorf("stage: %w", err)
		}
		b = append(b, pb...)
	}
	if got := catalog.SHA256Hex(b); got != a.SHA256 {
		return nil, fmt.Errorf("stage: %s has SHA-256 %s, the manifest says %s; rebuild the assets", a.File, got[:12], a.SHA256[:min(12, len(a.SHA256))])
	}
	return b, nil
}
