//go:build !js

package evaluate

// builder split: hold out query rows from a catalogue for `builder eval`.

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lookalike/lookalike/builder/internal/atomicfile"
	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/models/catalog"
)

func init() {
	register("split", "hold out query rows from a catalogue: DIR/catalog.csv + DIR/queries.csv", runSplit)
}

// splitConfig is what `builder split` takes from its flags.
type splitConfig struct {
	Catalog  string
	Out      string
	Holdout  int
	Size     int    // catalogue rows kept besides the held-out ones (0 = all the rest)
	Stratify string // column, "" = plain random
	Seed     uint64
	Log      io.Writer
}

func runSplit(args []string) error { return runSplitWithLog(args, os.Stderr) }

func runSplitWithLog(args []string, log io.Writer) error {
	fs := flag.NewFlagSet("split", flag.ContinueOnError)
	cfg := &splitConfig{Log: log}
	fs.StringVar(&cfg.Catalog, "catalog", "", "catalogue file: CSV with a header row, or JSON Lines (required)")
	fs.StringVar(&cfg.Out, "out", "", "output folder for catalog.csv and queries.csv (required)")
	fs.IntVar(&cfg.Holdout, "holdout", 0, "rows held out as queries (required)")
	fs.IntVar(&cfg.Size, "size", 0, "keep only this many of the other rows in catalog.csv, sampled like the queries (0 = all)")
	stratify := fs.String("stratify", "auto", "column whose value mix both files keep (auto = articleType when present; none = plain random)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed (same input + seed = same files)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./builder split --catalog CSV --holdout N [--size M] [--stratify COL|none] [--seed S] --out DIR\n\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.Catalog == "" || cfg.Out == "" || cfg.Holdout <= 0 {
		return errors.New("--catalog, --out and --holdout N (> 0) are required")
	}
	if cfg.Size < 0 {
		return fmt.Errorf("--size %d: want ≥ 0", cfg.Size)
	}
	cat, err := catalog.ParseFile(cfg.Catalog)
	if err != nil {
		return err
	}
	switch strings.ToLower(*stratify) {
	case "none", "":
	case "auto":
		for _, h := range cat.Header {
			if strings.EqualFold(h, "articleType") {
				cfg.Stratify = h
			}
		}
	default:
		if !catalog.HasColumn(cat.Header, *stratify) {
			return fmt.Errorf("--stratify: no column %q in %s (columns: %s)", *stratify, cfg.Catalog, strings.Join(cat.Header, ", "))
		}
		cfg.Stratify = *stratify
	}
	return split(cat, cfg)
}

// split writes cfg.Out/catalog.csv and cfg.Out/queries.csv.
func split(cat *catalog.Catalog, cfg *splitConfig) error {
	for _, re := range cat.RowErrors {
		fmt.Fprintf(cfg.Log, "split: dropping %v\n", re)
	}
	n := len(cat.Items)
	if cfg.Holdout >= n {
		return fmt.Errorf("--holdout %d: the catalogue has only %d good rows", cfg.Holdout, n)
	}
	want := n
	if cfg.Size > 0 {
		want = min(n, cfg.Holdout+cfg.Size)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6c6f6f6b616c696b)) // "lookalik"
	label := func(i int) string {
		if cfg.Stratify == "" {
			return ""
		}
		return cat.Items[i].Value(cfg.Stratify)
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	// Sample the rows used at all, then the held-out ones among them, both
	// keeping the column's value mix.
	used := stratifiedSample(all, want, label, rng)
	held := stratifiedSample(used, cfg.Holdout, label, rng)
	isHeld := make(map[int]bool, len(held))
	for _, i := range held {
		isHeld[i] = true
	}
	var rest []int
	for _, i := range used {
		if !isHeld[i] {
			rest = append(rest, i)
		}
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return fmt.Errorf("split: %w", err)
	}
	for _, f := range []struct {
		name string
		rows []int
	}{{"catalog.csv", rest}, {"queries.csv", held}} {
		if err := writeSplitCSV(filepath.Join(cfg.Out, f.name), cat, f.rows); err != nil {
			return err
		}
	}
	how := "random"
	if cfg.Stratify != "" {
		how = "stratified by " + cfg.Stratify
	}
	fmt.Fprintf(cfg.Log, "split: %s: %d rows → %s (%d) + %s (%d), %s, seed %d\n", cfg.Catalog, n,
		filepath.Join(cfg.Out, "catalog.csv"), len(rest), filepath.Join(cfg.Out, "queries.csv"), len(held), how, cfg.Seed)
	return nil
}

// stratifiedSample picks k of rows (row order kept): each label gets its
// share of k by largest remainder, and rows within a label are drawn at
// random. With every label "" it is a plain random sample.
func stratifiedSample(rows []int, k int, label func(int) string, rng *rand.Rand) []int {
	if k >= len(rows) {
		return append([]int(nil), rows...)
	}
	groups := map[string][]int{}
	var names []string
	for _, r := range rows {
		l := label(r)
		if _, ok := groups[l]; !ok {
			names = append(names, l)
		}
		groups[l] = append(groups[l], r)
	}
	sort.Strings(names)
	type share struct {
		name string
		n    int
		frac float64
	}
	shares := make([]share, len(names))
	taken := 0
	for i, name := range names {
		exact := float64(k) * float64(len(groups[name])) / float64(len(rows))
		shares[i] = share{name, int(exact), exact - float64(int(exact))}
		taken += shares[i].n
	}
	order := make([]int, len(shares))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return shares[order[a]].frac > shares[order[b]].frac })
	for _, i := range order {
		if taken == k {
			break
		}
		if shares[i].n < len(groups[shares[i].name]) {
			shares[i].n++
			taken++
		}
	}
	var out []int
	for _, s := range shares {
		g := append([]int(nil), groups[s.name]...)
		rng.Shuffle(len(g), func(a, b int) { g[a], g[b] = g[b], g[a] })
		out = append(out, g[:s.n]...)
	}
	sort.Ints(out)
	return out
}

// writeSplitCSV writes the rows with the catalogue's columns; image paths
// are rewritten relative to the new file's folder so they still resolve.
func writeSplitCSV(path string, cat *catalog.Catalog, rows []int) error {
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("split: %w", err)
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	if err := w.Write(cat.Header); err != nil {
		return fmt.Errorf("split: %w", err)
	}
	rec := make([]string, len(cat.Header))
	for _, r := range rows {
		it := &cat.Items[r]
		for c, col := range cat.Header {
			v := it.Value(col)
			if strings.EqualFold(strings.TrimSpace(col), catalog.ColImage) {
				v = relocateImage(v, dir)
			}
			rec[c] = v
		}
		if err := w.Write(rec); err != nil {
			return fmt.Errorf("split: %w", err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("split: %w", err)
	}
	return atomicfile.Write(path, []byte(b.String()))
}

// relocateImage returns img (a path resolved by the catalogue parser, or a
// URL) as seen from dir: relative with forward slashes when possible.
func relocateImage(img, dir string) string {
	if img == "" || strings.Contains(img, "://") {
		return img
	}
	abs, err := filepath.Abs(img)
	if err != nil {
		return img
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		return abs
	}
	return filepath.ToSlash(rel)
}
