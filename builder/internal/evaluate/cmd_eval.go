//go:build !js

package evaluate

// builder eval: precision@k of built assets on held-out query photos,
// against two baselines, on clean and shopper-like (distorted) photos.

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/lookalike/lookalike/builder/internal/build"
	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/builder/internal/embedcache"
	"github.com/lookalike/lookalike/builder/internal/progress"
	"github.com/lookalike/lookalike/internal/par"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/project"
	"github.com/lookalike/lookalike/models/search"
)

func init() {
	register("eval", "precision@k of built assets on held-out query photos, vs raw-feature and colour baselines", runEval)
}

// Evaluation methods.
const (
	methodOurs = "ours" // the assets, through models/search
	methodRaw  = "raw"  // exact cosine on raw 2048-d GMP features (the seed's pipeline)
	methodHist = "hist" // colour histogram intersection
	// methodStored ranks every item by its stored vector (the vectors
	// asset, float32 or int8): what an exact re-rank with those vectors
	// would return.
	methodStored = "stored"
)

// histBins is the colour baseline's levels per channel (8³ = 512 bins).
const histBins = 8

// evalConfig is what `builder eval` takes from its flags.
type evalConfig struct {
	Assets        string
	Queries       string
	Catalog       string // "" = the one named in build-report.json
	K             int
	Labels        []string
	Methods       []string
	Distort       []string // each a mode or modes joined by "+"; "clean" = none
	Seed          uint64
	JSON          bool
	Cache         string
	NoCache       bool
	LatencySample int
	// NoLocalise and NoHeads switch parts of the photo pipeline off, to
	// measure what each adds.
	NoLocalise, NoHeads bool
	HeadWeights         string
	FirstSearch         bool
	Workers             int
	Out, Log            io.Writer
}

func runEval(args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	cfg := &evalConfig{Out: os.Stdout, Log: os.Stderr}
	fs.StringVar(&cfg.Assets, "assets", "", "asset folder written by 'builder build' (required)")
	fs.StringVar(&cfg.Queries, "queries", "", "query catalogue (CSV or JSON Lines with the catalogue's columns; e.g. from 'builder split') (required)")
	fs.StringVar(&cfg.Catalog, "catalog", "", "the catalogue the assets were built from (default: the path in DIR/build-report.json)")
	fs.IntVar(&cfg.K, "k", 10, "largest cutoff: precision@1, @5 and @k")
	labels := fs.String("labels", "", "comma-separated label columns (default: the assets' filter columns, e.g. articleType,baseColour)")
	methods := fs.String("methods", "ours,raw,hist", "methods to run: ours (the assets), raw (exact search on raw GMP features), hist (colour histogram), stored (exact scan of the assets' stored float32/int8 vectors)")
	distort := fs.String("distort", "clean", "comma-separated query distortions, each run separately: clean, "+strings.Join(distortModes, ", ")+"; join with + to combine (crop+jpeg)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed for the distortions")
	fs.BoolVar(&cfg.JSON, "json", false, "print JSON instead of a table")
	fs.StringVar(&cfg.Cache, "cache", "", "cache folder (default: $LOOKALIKE_CACHE or <repo>/.cache)")
	fs.BoolVar(&cfg.NoCache, "no-cache", false, "embed every query afresh instead of reusing cached features")
	fs.IntVar(&cfg.LatencySample, "latency-sample", 20, "queries timed end to end through search.SearchImage (uncached)")
	fs.BoolVar(&cfg.NoLocalise, "no-localise", false, "ours: search the whole photo (no product localisation)")
	fs.BoolVar(&cfg.NoHeads, "no-heads", false, "ours: rank by visual similarity only, even when the assets have heads")
	fs.BoolVar(&cfg.FirstSearch, "first-search", false, "ours: rank as the page's first search does, by the codes alone (without it, as every later search: the codes' best re-scored by the vector file)")
	fs.StringVar(&cfg.HeadWeights, "head-weights", "", "ours: override the heads' blend weights, comma-separated (to choose them; the build writes them)")
	fs.IntVar(&cfg.Workers, "workers", runtime.GOMAXPROCS(0), "images embedded in parallel")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./builder eval --assets DIR --queries CSV [--k 10] [--labels articleType,baseColour] [--distort clean,crop,scene,jpeg,rotate,dim,warm] [--json]\n\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.Assets == "" || cfg.Queries == "" {
		return errors.New("--assets DIR and --queries CSV are required")
	}
	if cfg.K < 1 || cfg.K > search.MaxK {
		return fmt.Errorf("--k %d: want 1..%d", cfg.K, search.MaxK)
	}
	cfg.Labels = splitList(*labels)
	cfg.Methods = splitList(*methods)
	for _, m := range cfg.Methods {
		if m != methodOurs && m != methodRaw && m != methodHist && m != methodStored {
			return fmt.Errorf("--methods: unknown method %q (want ours, raw, hist, stored)", m)
		}
	}
	cfg.Distort = splitList(*distort)
	if len(cfg.Distort) == 0 {
		cfg.Distort = []string{"clean"}
	}
	for _, d := range cfg.Distort {
		if _, err := parseDistortion(d); err != nil {
			return err
		}
	}
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	res, err := evaluate(cfg)
	if err != nil {
		return err
	}
	return writeReport(cfg.Out, cfg.JSON, res, res.writeTable)
}

// evalResult is eval's report (the --json output).
type evalResult struct {
	Assets       string    `json:"assets"`
	Catalog      string    `json:"catalog"`
	CatalogItems int       `json:"catalog_items"`
	Pipeline     string    `json:"pipeline"` // the assets' pooling, resize, projection, dim
	QueriesFile  string    `json:"queries_file"`
	Queries      int       `json:"queries"`
	Skipped      []string  `json:"skipped,omitempty"` // queries not evaluated, with why
	K            int       `json:"k"`
	Cutoffs      []int     `json:"cutoffs"`
	Labels       []string  `json:"labels"` // the last one is the conjunction of the others
	Runs         []evalRun `json:"runs"`
}

// evalRun is one distortion's results.
type evalRun struct {
	Distortion string         `json:"distortion"`
	Failed     []string       `json:"failed,omitempty"` // queries whose (distorted) photo could not be used
	Methods    []methodResult `json:"methods"`
}

// methodResult holds one method's precision and timings.
type methodResult struct {
	Method      string `json:"method"`
	Description string `json:"description"`
	Queries     int    `json:"queries"`
	// Precision[label][i] is precision@Cutoffs[i], averaged over queries;
	// StdErr[label][i] is its standard error.
	Precision map[string][]float64 `json:"precision"`
	StdErr    map[string][]float64 `json:"stderr"`
	Latency   *latencyStats        `json:"latency_ms,omitempty"`
	// Floor, for builds with a relevance floor: how many of the top k the
	// page calls close matches, and how often those share the photo's
	// first label (the product type).
	Floor *floorStats `json:"floor,omitempty"`
	// Localisation, for scenes (where the product is known): the mean IoU
	// of the box the engine found with the product, and the share of
	// photos it searched cropped to that box.
	Localisation *locStats `json:"localisation,omitempty"`
}

type locStats struct {
	MeanIoU float64 `json:"mean_iou"`
	Cropped float64 `json:"cropped"`
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ia := float64(in.Dx() * in.Dy())
	return ia / (float64(a.Dx()*a.Dy()) + float64(b.Dx()*b.Dy()) - ia)
}

type floorStats struct {
	Floor float32 `json:"floor"`
	// CloseShare is the mean share of the top k above the floor;
	// ClosePrecision the first label's precision among those results.
	CloseShare     float64 `json:"close_share"`
	ClosePrecision float64 `json:"close_precision"`
}

// latencyStats are per-query timings in milliseconds.
type latencyStats struct {
	Samples    int     `json:"samples"`
	DecodeP50  float64 `json:"decode_p50,omitempty"`
	EmbedP50   float64 `json:"embed_p50,omitempty"`
	EmbedMean  float64 `json:"embed_mean,omitempty"`
	SearchP50  float64 `json:"search_p50"`
	SearchMean float64 `json:"search_mean"`
}

// evalQuery is one held-out query.
type evalQuery struct {
	ID     string
	Labels []string // values of cfg.Labels
	Image  string
}

// evaluate runs every method on every distortion of the queries.
func evaluate(cfg *evalConfig) (*evalResult, error) {
	eng, err := build.OpenAssets(cfg.Assets, search.Options{FirstSearch: cfg.FirstSearch})
	if err != nil {
		return nil, err
	}
	catPath := cfg.Catalog
	if catPath == "" {
		if catPath, err = catalogFromReport(cfg.Assets); err != nil {
			return nil, err
		}
	}
	cat, err := catalog.ParseFile(catPath)
	if err != nil {
		return nil, fmt.Errorf("--catalog: %w", err)
	}
	qcat, err := catalog.ParseFile(cfg.Queries)
	if err != nil {
		return nil, fmt.Errorf("--queries: %w", err)
	}
	disp := eng.Display
	n := disp.Len()
	// The catalogue items, in the assets' order.
	byID := make(map[string]*catalog.Item, len(cat.Items))
	for i := range cat.Items {
		byID[cat.Items[i].ID] = &cat.Items[i]
	}
	items := make([]*catalog.Item, n)
	for i := 0; i < n; i++ {
		id := disp.Item(i).ID
		if items[i] = byID[id]; items[i] == nil {
			return nil, fmt.Errorf("catalogue %s has no item %q, which the assets in %s hold: pass the catalogue they were built from with --catalog", catPath, id, cfg.Assets)
		}
	}
	labels := cfg.Labels
	if len(labels) == 0 {
		labels = disp.Attributes()
		if len(labels) == 0 {
			labels = catalog.DefaultAttributes(cat.Header)
		}
		if len(labels) == 0 {
			return nil, errors.New("no label columns: pass --labels")
		}
	}
	for _, l := range labels {
		if !catalog.HasColumn(cat.Header, l) {
			return nil, fmt.Errorf("--labels: the catalogue %s has no column %q", catPath, l)
		}
		if !catalog.HasColumn(qcat.Header, l) {
			return nil, fmt.Errorf("--labels: the queries %s have no column %q", cfg.Queries, l)
		}
	}
	res := &evalResult{
		Assets: cfg.Assets, Catalog: catPath, CatalogItems: n, QueriesFile: cfg.Queries,
		K: cfg.K, Cutoffs: cutoffs(cfg.K), Labels: append([]string(nil), labels...),
		Pipeline: pipelineName(eng),
	}
	if len(labels) > 1 {
		res.Labels = append(res.Labels, strings.Join(labels, "+"))
	}
	for _, re := range qcat.RowErrors {
		res.Skipped = append(res.Skipped, re.Error())
	}
	var queries []evalQuery
	for _, it := range qcat.Items {
		if _, in := disp.IndexOf(it.ID); in {
			res.Skipped = append(res.Skipped, fmt.Sprintf("query %q is in the catalogue (hold queries out with 'builder split')", it.ID))
			continue
		}
		q := evalQuery{ID: it.ID, Image: it.Image}
		for _, l := range labels {
			q.Labels = append(q.Labels, it.Value(l))
		}
		queries = append(queries, q)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(cfg.Log, "eval: skipped %s\n", s)
	}
	if len(queries) == 0 {
		return nil, fmt.Errorf("no usable queries in %s", cfg.Queries)
	}
	res.Queries = len(queries)
	itemLabels := make([][]string, n)
	for i, it := range items {
		for _, l := range labels {
			itemLabels[i] = append(itemLabels[i], it.Value(l))
		}
	}
	if cfg.HeadWeights != "" && eng.Heads != nil {
		for i, f := range strings.Split(cfg.HeadWeights, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
			if err != nil || v < 0 || i >= len(eng.Heads.Heads) {
				return nil, fmt.Errorf("--head-weights %q: want up to %d weights ≥ 0", cfg.HeadWeights, len(eng.Heads.Heads))
			}
			eng.Heads.Heads[i].Weight = float32(v)
		}
		res.Pipeline = pipelineName(eng)
	}
	ev := &evaluator{cfg: cfg, eng: eng, items: items, itemLabels: itemLabels, res: res}
	defer ev.close()
	for ri, d := range cfg.Distort {
		run, err := ev.run(d, queries, ri == 0)
		if err != nil {
			return nil, err
		}
		res.Runs = append(res.Runs, *run)
	}
	return res, nil
}

// catalogFromReport reads the catalogue path from DIR/build-report.json. A
// relative path is tried against the working directory, then the assets
// folder.
func catalogFromReport(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "build-report.json"))
	if err != nil {
		return "", fmt.Errorf("no --catalog and %w", err)
	}
	var r build.Report
	if err := json.Unmarshal(b, &r); err != nil || r.Catalog == "" {
		return "", fmt.Errorf("%s names no catalogue: pass --catalog", filepath.Join(dir, "build-report.json"))
	}
	if _, err := os.Stat(r.Catalog); err == nil || filepath.IsAbs(r.Catalog) {
		return r.Catalog, nil
	}
	if alt := filepath.Join(dir, r.Catalog); fileExists(alt) {
		return alt, nil
	}
	return r.Catalog, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// cutoffs are 1, 5, 10 up to k, and k.
func cutoffs(k int) []int {
	var c []int
	for _, x := range []int{1, 5, 10} {
		if x < k {
			c = append(c, x)
		}
	}
	return append(c, k)
}

func pipelineName(e *search.Engine) string {
	m := e.Manifest
	proj := "no projection"
	if p := e.Embedder.Projection(); p != nil {
		proj = p.Kind
	}
	s := fmt.Sprintf("%s, %s, %s, dim %d", m.Model.Embedding.Pooling, e.Embedder.Spec().Mode, proj, m.Model.Embedding.Dim)
	if e.Codes != nil {
		s += fmt.Sprintf(", %d-byte codes", e.Codes.M)
		if e.Vectors != nil {
			s += fmt.Sprintf(" (best %d re-scored by the vector file)", search.RerankPool)
		}
	}
	if e.Heads != nil {
		var cols []string
		for _, h := range e.Heads.Heads {
			cols = append(cols, fmt.Sprintf("%s×%g", h.Column, h.Weight))
		}
		s += ", heads " + strings.Join(cols, " ")
	}
	if e.Embedder.CanLocalise() {
		s += ", localised"
		if e.Embedder.Objectness() != nil {
			s += " (learned product finder)"
		}
	}
	return s
}

// evaluator holds what the runs share: the engine, the baselines'
// catalogue features (computed once) and the caches.
type evaluator struct {
	cfg        *evalConfig
	eng        *search.Engine
	items      []*catalog.Item
	itemLabels [][]string
	res        *evalResult

	caches     map[string]*embedcache.Cache // by pipeline key
	photoCache *embedcache.Cache            // query photos' records (ours)
	rawEmb     *embed.Embedder
	rawSrc     *featureSource
	rawFeats   [][]float32 // unit length; nil for an unreadable image
	hists      [][]float32
}

func (ev *evaluator) close() {
	for _, c := range ev.caches {
		c.Close()
	}
	if ev.photoCache != nil {
		ev.photoCache.Close()
	}
}

func (ev *evaluator) has(method string) bool {
	for _, m := range ev.cfg.Methods {
		if m == method {
			return true
		}
	}
	return false
}

// featureSource computes an embedder's pooled features through the
// builder's embedding cache, with the same key and contents as `builder
// build` (both pooled outputs when the model has them), so features the
// build computed are reused and eval's are reused by later builds.
type featureSource struct {
	emb   *embed.Embedder
	cf    embedcache.Features
	cache *embedcache.Cache // nil with --no-cache
}

// source returns the featureSource of an embedder; embedders sharing a
// cache folder share one cache instance.
func (ev *evaluator) source(emb *embed.Embedder) (*featureSource, error) {
	src := &featureSource{emb: emb, cf: embedcache.NewFeatures(emb)}
	if ev.cfg.NoCache {
		return src, nil
	}
	root, err := cli.CacheRoot(ev.cfg.Cache)
	if err != nil {
		return nil, err
	}
	spec, _ := emb.Spec().MarshalJSON()
	pipeline := src.cf.Key + "|" + string(spec)
	if c := ev.caches[pipeline]; c != nil {
		src.cache = c
		return src, nil
	}
	dim, err := src.cf.Dim()
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	c, err := embedcache.Open(filepath.Join(root, "embed"), ev.eng.Manifest.Model.SHA256, pipeline, dim)
	if err != nil {
		return nil, err
	}
	if ev.caches == nil {
		ev.caches = map[string]*embedcache.Cache{}
	}
	ev.caches[pipeline] = c
	src.cache = c
	return src, nil
}

// photos opens (once) the cache of query photos' records, nil with
// --no-cache: the photo pipeline's results are kept by photo content, so
// a second evaluation of the same queries and model runs no model.
func (ev *evaluator) photos() (*embedcache.Cache, error) {
	if ev.cfg.NoCache {
		return nil, nil
	}
	if ev.photoCache != nil {
		return ev.photoCache, nil
	}
	root, err := cli.CacheRoot(ev.cfg.Cache)
	if err != nil {
		return nil, err
	}
	c, err := embedcache.OpenPhotos(filepath.Join(root, "embed"), ev.eng.Manifest.Model.SHA256, ev.eng.Embedder)
	if err != nil {
		return nil, err
	}
	ev.photoCache = c
	return c, nil
}

// queryImage is one query photo as a method sees it.
type queryImage struct {
	q    *evalQuery
	data []byte // the (distorted) encoded photo
	img  image.Image
	// product is where a scene distortion put the product (else empty).
	product image.Rectangle
}

// run evaluates every method on one distortion of the queries.
func (ev *evaluator) run(distortion string, queries []evalQuery, first bool) (*evalRun, error) {
	cfg := ev.cfg
	modes, _ := parseDistortion(distortion)
	run := &evalRun{Distortion: distortion}
	var qs []queryImage
	for i := range queries {
		q := &queries[i]
		data, err := os.ReadFile(q.Image)
		var where image.Rectangle
		if err == nil && len(modes) > 0 {
			data, where, err = distortPhotoBox(data, modes, distortSeed(cfg.Seed, q.ID, distortion))
		}
		var img image.Image
		if err == nil {
			img, err = ev.eng.Embedder.Decode(data, nil)
		}
		if err != nil {
			run.Failed = append(run.Failed, fmt.Sprintf("%s: %v", q.ID, err))
			continue
		}
		qs = append(qs, queryImage{q: q, data: data, img: img, product: where})
	}
	for _, f := range run.Failed {
		fmt.Fprintf(cfg.Log, "eval: %s: query %s\n", distortion, f)
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("eval: %s: no query photo could be used", distortion)
	}
	for _, m := range cfg.Methods {
		var mr *methodResult
		var err error
		switch m {
		case methodOurs:
			mr, err = ev.ours(qs, distortion, first)
		case methodRaw:
			mr, err = ev.raw(qs, distortion)
		case methodHist:
			mr, err = ev.hist(qs)
		case methodStored:
			mr, err = ev.stored(qs, distortion)
		}
		if err != nil {
			return nil, err
		}
		run.Methods = append(run.Methods, *mr)
	}
	return run, nil
}

// score turns ranked catalogue indexes per query into precision per label.
// It also returns each mean's standard error (over queries).
func (ev *evaluator) score(qs []queryImage, ranked [][]int) (prec, stderr map[string][]float64) {
	cuts := ev.res.Cutoffs
	nl := len(ev.itemLabels[0])
	prec, stderr = map[string][]float64{}, map[string][]float64{}
	sums := make([][]float64, len(ev.res.Labels))
	squares := make([][]float64, len(ev.res.Labels))
	for i := range sums {
		sums[i] = make([]float64, len(cuts))
		squares[i] = make([]float64, len(cuts))
	}
	for qi, q := range qs {
		list := ranked[qi]
		for ci, c := range cuts {
			denom := min(c, len(ev.items))
			for li := range ev.res.Labels {
				hits := 0
				for _, item := range list[:min(c, len(list))] {
					if li < nl {
						if ev.itemLabels[item][li] == q.q.Labels[li] {
							hits++
						}
						continue
					}
					all := true // the conjunction of every label
					for l := 0; l < nl; l++ {
						all = all && ev.itemLabels[item][l] == q.q.Labels[l]
					}
					if all {
						hits++
					}
				}
				x := float64(hits) / float64(denom)
				sums[li][ci] += x
				squares[li][ci] += x * x
			}
		}
	}
	n := float64(len(qs))
	for li, l := range ev.res.Labels {
		p := make([]float64, len(cuts))
		se := make([]float64, len(cuts))
		for ci := range cuts {
			m := sums[li][ci] / n
			p[ci] = math.Round(m*1e4) / 1e4
			if n > 1 {
				v := max(0, (squares[li][ci]-n*m*m)/(n-1))
				se[ci] = math.Round(math.Sqrt(v/n)*1e4) / 1e4
			}
		}
		prec[l], stderr[l] = p, se
	}
	return prec, stderr
}

// ours searches the assets with models/search: features (cached by photo
// content, same key as the build) → projection → index search. The first
// run also times LatencySample queries end to end with SearchImage.
func (ev *evaluator) ours(qs []queryImage, distortion string, first bool) (*methodResult, error) {
	cfg := ev.cfg
	sq := search.Query{K: cfg.K}
	ranked := make([][]int, len(qs))
	closeHits := make([][]int, len(qs))
	ious := make([]float64, len(qs))
	autos := make([]bool, len(qs))
	searchMS := make([]float64, len(qs))
	errs := make([]error, len(qs))
	var done atomic.Int64
	t0 := time.Now()
	pc, err := ev.photos()
	if err != nil {
		return nil, err
	}
	// The browser's pipeline for each photo: find the product
	// (localisation), embed it, run the heads, scan.
	par.For(len(qs), cfg.Workers, func(i int) {
		key := sha256.Sum256(append([]byte(fmt.Sprintf("%v\x00", !cfg.NoLocalise)), qs[i].data...))
		p, _, err := embedcache.Photo(pc, key, ev.eng.Embedder, qs[i].img, !cfg.NoLocalise)
		if err != nil {
			errs[i] = fmt.Errorf("eval: query %s: %w", qs[i].q.ID, err)
			return
		}
		if !qs[i].product.Empty() {
			box := p.Box
			if !p.Proposed.Empty() {
				box = p.Proposed
			}
			ious[i], autos[i] = iou(box, qs[i].product), p.Auto
		}
		q := sq
		if !cfg.NoHeads {
			q.Heads = ev.eng.Predict(p)
		}
		ts := time.Now()
		hits, err := ev.eng.SearchVector(p.Vector, q)
		searchMS[i] = msSince(ts)
		if err != nil {
			errs[i] = fmt.Errorf("eval: query %s: %w", qs[i].q.ID, err)
			return
		}
		for _, h := range hits {
			ranked[i] = append(ranked[i], h.Index)
			if floor, ok := ev.eng.Floor(); ok && h.Base >= floor {
				closeHits[i] = append(closeHits[i], h.Index)
			}
		}
		if n := done.Add(1); n%100 == 0 {
			fmt.Fprintf(cfg.Log, "eval %s (ours): %d/%d photos, %.1f/s\n", distortion, n, len(qs), float64(n)/time.Since(t0).Seconds())
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	lat := &latencyStats{}
	if first && cfg.LatencySample > 0 {
		var dec, embMS, srch []float64
		for i := 0; i < min(cfg.LatencySample, len(qs)); i++ {
			_, t, err := ev.eng.SearchImage(qs[i].data, nil, sq)
			if err != nil {
				return nil, fmt.Errorf("eval: query %s: %w", qs[i].q.ID, err)
			}
			dec, embMS, srch = append(dec, t.Decode), append(embMS, t.Embed), append(srch, t.Search)
		}
		lat.Samples = len(dec)
		lat.DecodeP50, lat.EmbedP50, lat.EmbedMean = median(dec), median(embMS), mean(embMS)
	}
	lat.SearchP50, lat.SearchMean = median(searchMS), mean(searchMS)
	prec, se := ev.score(qs, ranked)
	mr := &methodResult{
		Method: methodOurs, Description: "assets: " + ev.res.Pipeline, Queries: len(qs),
		Precision: prec, StdErr: se, Latency: lat,
	}
	if !qs[0].product.Empty() {
		l := &locStats{}
		for i := range qs {
			l.MeanIoU += ious[i] / float64(len(qs))
			if autos[i] {
				l.Cropped += 1 / float64(len(qs))
			}
		}
		mr.Localisation = l
	}
	if floor, ok := ev.eng.Floor(); ok {
		fs := &floorStats{Floor: floor}
		hits, total := 0, 0
		for i, c := range closeHits {
			fs.CloseShare += float64(len(c)) / float64(max(1, len(ranked[i])))
			for _, item := range c {
				total++
				if ev.itemLabels[item][0] == qs[i].q.Labels[0] {
					hits++
				}
			}
		}
		fs.CloseShare /= float64(max(1, len(qs)))
		fs.ClosePrecision = float64(hits) / float64(max(1, total))
		mr.Floor = fs
	}
	return mr, nil
}

// stored ranks the items by the query's embedding against the stored item
// vectors (the vectors asset), exactly: the same embedding as ours, so the
// difference is what the stored encoding (int8 or float32) costs.
func (ev *evaluator) stored(qs []queryImage, distortion string) (*methodResult, error) {
	vecs := ev.eng.Vectors
	if vecs == nil {
		return nil, errors.New("eval: the assets have no stored vectors")
	}
	emb := ev.eng.Embedder
	src, err := ev.source(emb)
	if err != nil {
		return nil, err
	}
	feats, err := embedImages(src, qs, ev.cfg.Workers, ev.cfg.Log, "eval "+distortion+" (stored)")
	if err != nil {
		return nil, err
	}
	ranked := make([][]int, len(qs))
	var searchMS []float64
	for i := range qs {
		v := emb.Project(feats[i])
		t0 := time.Now()
		ranked[i] = evalTopK(vecs.Len(), ev.cfg.K, func(j int) float64 { return float64(vecs.Score(v, j)) })
		searchMS = append(searchMS, msSince(t0))
	}
	prec, se := ev.score(qs, ranked)
	return &methodResult{
		Method: methodStored, Description: fmt.Sprintf("exact scan of the stored %s vectors", vecs.Header().Encoding), Queries: len(qs),
		Precision: prec, StdErr: se,
		Latency: &latencyStats{SearchP50: median(searchMS), SearchMean: mean(searchMS)},
	}, nil
}

// raw is the seed's pipeline: exact cosine search on the model's raw
// 2048-d global-max-pooled features, photos stretched to the input size.
func (ev *evaluator) raw(qs []queryImage, distortion string) (*methodResult, error) {
	cfg := ev.cfg
	if ev.rawEmb == nil {
		a, ok := ev.eng.Manifest.Asset(search.KindModel)
		if !ok {
			return nil, errors.New("eval: the manifest lists no model")
		}
		mb, err := build.LoadAsset(cfg.Assets, a)
		if err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
		spec := ev.eng.Embedder.Spec()
		spec.Mode = imageprep.Stretch
		if ev.rawEmb, err = embed.New(mb, embed.Options{Pooling: embed.GMP, Spec: &spec, Batch: 4, Activations: ev.eng.Embedder.Activations()}); err != nil {
			return nil, fmt.Errorf("eval: raw features: %w", err)
		}
		if ev.rawSrc, err = ev.source(ev.rawEmb); err != nil {
			return nil, err
		}
		// The catalogue's raw features, from the cache when the build used
		// the same pipeline.
		cq := make([]queryImage, len(ev.items))
		for i, it := range ev.items {
			cq[i].data, _ = os.ReadFile(it.Image)
		}
		feats, err := embedImages(ev.rawSrc, cq, cfg.Workers, cfg.Log, "eval catalogue (raw gmp)")
		if err != nil {
			return nil, err
		}
		for _, f := range feats {
			if f != nil {
				project.Normalize(f)
			}
		}
		ev.rawFeats = feats
	}
	feats, err := embedImages(ev.rawSrc, qs, cfg.Workers, cfg.Log, "eval "+distortion+" (raw gmp)")
	if err != nil {
		return nil, err
	}
	ranked := make([][]int, len(qs))
	var searchMS []float64
	for i, f := range feats {
		project.Normalize(f)
		t0 := time.Now()
		ranked[i] = evalTopK(len(ev.rawFeats), cfg.K, func(j int) float64 {
			if ev.rawFeats[j] == nil {
				return math.Inf(-1)
			}
			return float64(dot(f, ev.rawFeats[j]))
		})
		searchMS = append(searchMS, msSince(t0))
	}
	dim := 0
	if len(feats) > 0 {
		dim = len(feats[0])
	}
	prec, se := ev.score(qs, ranked)
	return &methodResult{
		Method: methodRaw, Description: fmt.Sprintf("raw %d-d gmp features, stretch, exact cosine", dim), Queries: len(qs),
		Precision: prec, StdErr: se,
		Latency: &latencyStats{SearchP50: median(searchMS), SearchMean: mean(searchMS)},
	}, nil
}

// hist is the colour baseline: joint RGB histograms of the non-white
// pixels, compared by histogram intersection.
func (ev *evaluator) hist(qs []queryImage) (*methodResult, error) {
	if ev.hists == nil {
		ev.hists = make([][]float32, len(ev.items))
		par.For(len(ev.items), ev.cfg.Workers, func(i int) {
			data, err := os.ReadFile(ev.items[i].Image)
			if err != nil {
				return
			}
			img, _, err := imageprep.Decode(data, imageprep.Options{})
			if err != nil {
				return
			}
			ev.hists[i] = imageprep.ColorHistogram(img, histBins)
		})
	}
	ranked := make([][]int, len(qs))
	var searchMS []float64
	for i, q := range qs {
		t0 := time.Now()
		h := imageprep.ColorHistogram(q.img, histBins)
		ranked[i] = evalTopK(len(ev.hists), ev.cfg.K, func(j int) float64 {
			if ev.hists[j] == nil {
				return math.Inf(-1)
			}
			return histIntersection(h, ev.hists[j])
		})
		searchMS = append(searchMS, msSince(t0))
	}
	prec, se := ev.score(qs, ranked)
	return &methodResult{
		Method: methodHist, Description: fmt.Sprintf("colour histogram %d³, intersection", histBins), Queries: len(qs),
		Precision: prec, StdErr: se,
		Latency: &latencyStats{SearchP50: median(searchMS), SearchMean: mean(searchMS)},
	}, nil
}

// embedImages returns each image's pooled features (not projected), from
// the cache (keyed by the SHA-256 of the encoded bytes) or the model.
// Images with no data or no decodable pixels get nil.
func embedImages(src *featureSource, qs []queryImage, workers int, log io.Writer, label string) ([][]float32, error) {
	feats := make([][]float32, len(qs))
	keys := make([][32]byte, len(qs))
	var todo []int
	for i, q := range qs {
		if q.data == nil {
			continue
		}
		keys[i] = sha256.Sum256(q.data)
		if src.cache != nil {
			if v, ok := src.cache.Get(keys[i]); ok {
				feats[i] = src.cf.Features(v)
				continue
			}
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return feats, nil
	}
	p := progress.New(log, label, len(qs))
	p.Cached(len(qs) - len(todo))
	const batch = 4
	var mu sync.Mutex
	var firstErr error
	par.For((len(todo)+batch-1)/batch, workers, func(b int) {
		idx := todo[b*batch : min((b+1)*batch, len(todo))]
		var imgs []image.Image
		var ok []int
		for _, i := range idx {
			img := qs[i].img
			if img == nil {
				var err error
				if img, err = src.emb.Decode(qs[i].data, nil); err != nil {
					continue
				}
			}
			imgs = append(imgs, img)
			ok = append(ok, i)
		}
		if len(imgs) == 0 {
			p.Add(len(idx))
			return
		}
		raw, err := src.cf.Compute(imgs)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		for j, i := range ok {
			feats[i] = src.cf.Features(raw[j])
			if src.cache != nil {
				if err := src.cache.Put(keys[i], raw[j]); err != nil && firstErr == nil {
					firstErr = err
				}
			}
		}
		p.Add(len(idx))
	})
	p.Finish()
	return feats, firstErr
}

// evalTopK returns the k indexes in 0..n-1 with the highest score, best first
// (ties: lower index first).
func evalTopK(n, k int, score func(int) float64) []int {
	type cand struct {
		i int
		s float64
	}
	best := make([]cand, 0, k+1)
	for i := 0; i < n; i++ {
		s := score(i)
		if math.IsInf(s, -1) {
			continue
		}
		if len(best) == k && s <= best[k-1].s {
			continue
		}
		j := sort.Search(len(best), func(j int) bool { return best[j].s < s })
		best = append(best, cand{})
		copy(best[j+1:], best[j:])
		best[j] = cand{i, s}
		if len(best) > k {
			best = best[:k]
		}
	}
	out := make([]int, len(best))
	for i, c := range best {
		out[i] = c.i
	}
	return out
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func histIntersection(a, b []float32) float64 {
	var s float32
	for i := range a {
		s += min(a[i], b[i])
	}
	return float64(s)
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + m) / 2
	}
	return math.Round(m*100) / 100
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return math.Round(s/float64(len(x))*100) / 100
}

// writeTable prints one block per distortion: a row per method, a column
// per label and cutoff, then the timings.
func (r *evalResult) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "eval: %d queries (%s) against %d catalogue items (%s); assets %s: %s\n",
		r.Queries, r.QueriesFile, r.CatalogItems, r.Catalog, r.Assets, r.Pipeline)
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, "eval: %d queries skipped (see stderr)\n", len(r.Skipped))
	}
	for _, run := range r.Runs {
		fmt.Fprintf(w, "\nqueries: %s", run.Distortion)
		if len(run.Failed) > 0 {
			fmt.Fprintf(w, " (%d could not be used)", len(run.Failed))
		}
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		cuts := make([]string, len(r.Cutoffs))
		for i, c := range r.Cutoffs {
			cuts[i] = fmt.Sprint(c)
		}
		head := "method\t"
		for _, l := range r.Labels {
			head += fmt.Sprintf("%s p@%s\t", l, strings.Join(cuts, "/"))
		}
		head += "embed ms\tsearch ms\t"
		fmt.Fprintln(tw, head)
		for _, m := range run.Methods {
			row := m.Method + "\t"
			for _, l := range r.Labels {
				ps := make([]string, len(m.Precision[l]))
				for i, p := range m.Precision[l] {
					ps[i] = fmt.Sprintf("%.3f", p)
				}
				row += strings.Join(ps, "/") + "\t"
			}
			embedMS, searchMS := "-", "-"
			if m.Latency != nil {
				if m.Latency.Samples > 0 {
					embedMS = fmt.Sprintf("%.0f", m.Latency.EmbedP50)
				}
				searchMS = fmt.Sprintf("%.2f", m.Latency.SearchP50)
			}
			fmt.Fprintln(tw, row+embedMS+"\t"+searchMS+"\t")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "\nmethods:")
	if len(r.Runs) > 0 {
		for _, m := range r.Runs[0].Methods {
			fmt.Fprintf(w, "  %-6s %s\n", m.Method, m.Description)
		}
	}
	fmt.Fprintln(w, "p@c = share of the top c results with the query's label, averaged over the queries (a+b: every label must match);")
	fmt.Fprintln(w, "timings are p50 per query; embed is end to end through search.SearchImage on the first --latency-sample queries.")
	return nil
}

// Distortions: shopper-like versions of a catalogue photo.

// distortModes lists the --distort modes.
var distortModes = []string{"crop", "scene", "jpeg", "rotate", "dim", "warm"}

// parseDistortion splits "crop+jpeg" into modes; "clean" is none.
func parseDistortion(s string) ([]string, error) {
	if s == "clean" || s == "none" {
		return nil, nil
	}
	var modes []string
	for _, m := range strings.Split(s, "+") {
		ok := false
		for _, d := range distortModes {
			ok = ok || m == d
		}
		if !ok {
			return nil, fmt.Errorf("--distort: unknown mode %q (want clean or %s)", m, strings.Join(distortModes, ", "))
		}
		modes = append(modes, m)
	}
	return modes, nil
}

// distortSeed derives a query's own seed, so each query gets the same
// distortion on every run, whatever the other queries are.
func distortSeed(seed uint64, id, distortion string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s\x00%s", seed, id, distortion)
	return h.Sum64()
}

// distortPhoto applies modes in order to an encoded photo and returns the
// result encoded: JPEG when the last mode is jpeg, PNG otherwise (lossless,
// so nothing but the named distortions changes the pixels).
func distortPhoto(data []byte, modes []string, seed uint64) ([]byte, error) {
	b, _, err := distortPhotoBox(data, modes, seed)
	return b, err
}

// distortPhotoBox is distortPhoto that also returns where the product is
// in the result when a scene put it there (empty when unknown: no scene,
// or a crop or rotation after it).
func distortPhotoBox(data []byte, modes []string, seed uint64) ([]byte, image.Rectangle, error) {
	var where image.Rectangle
	src, _, err := imageprep.Decode(data, imageprep.Options{})
	if err != nil {
		return nil, where, err
	}
	img := toRGBA(src)
	rng := rand.New(rand.NewPCG(seed, 0x64697374)) // "dist"
	var out []byte
	for _, m := range modes {
		out = nil
		switch m {
		case "crop":
			img, where = distortCrop(img, rng), image.Rectangle{}
		case "scene":
			img, where = distortScene(img, rng)
		case "rotate":
			img, where = distortRotate(img, rng), image.Rectangle{}
		case "dim":
			f := 0.35 + 0.2*rng.Float64()
			img = mapPixels(img, func(r, g, b float64) (float64, float64, float64) { return r * f, g * f, b * f })
		case "warm":
			kr, kb := 1.08+0.1*rng.Float64(), 0.7+0.1*rng.Float64()
			add := 12 + 14*rng.Float64()
			img = mapPixels(img, func(r, g, b float64) (float64, float64, float64) { return r*kr + add, g*1.02 + add/3, b * kb })
		case "jpeg":
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 10}); err != nil {
				return nil, where, fmt.Errorf("distort jpeg: %w", err)
			}
			out = buf.Bytes()
			dec, err := jpeg.Decode(bytes.NewReader(out))
			if err != nil {
				return nil, where, fmt.Errorf("distort jpeg: %w", err)
			}
			img = toRGBA(dec)
		}
	}
	if out != nil {
		return out, where, nil
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, where, fmt.Errorf("distort: %w", err)
	}
	return buf.Bytes(), where, nil
}

func toRGBA(src image.Image) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Over)
	return dst
}

// distortCrop keeps a random 60–80 % of each side.
func distortCrop(img *image.RGBA, rng *rand.Rand) *image.RGBA {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	cw := max(1, int(float64(w)*(0.6+0.2*rng.Float64())))
	ch := max(1, int(float64(h)*(0.6+0.2*rng.Float64())))
	x0, y0 := rng.IntN(w-cw+1), rng.IntN(h-ch+1)
	return toRGBA(img.SubImage(image.Rect(x0, y0, x0+cw, y0+ch)))
}

// distortScene cuts the product out of its white background (the near-white
// pixels connected to the border) and pastes it, covering ~35 % of the
// frame's area, at a random place on a busy, noisy background.
func distortScene(img *image.RGBA, rng *rand.Rand) (*image.RGBA, image.Rectangle) {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	side := math.Sqrt(0.35)
	W, H := int(math.Round(float64(w)/side)), int(math.Round(float64(h)/side))
	bg := image.NewRGBA(image.Rect(0, 0, W, H))
	base := color.RGBA{uint8(60 + rng.IntN(140)), uint8(60 + rng.IntN(140)), uint8(60 + rng.IntN(140)), 255}
	draw.Draw(bg, bg.Bounds(), image.NewUniform(base), image.Point{}, draw.Src)
	for i := 0; i < 14; i++ { // clutter: random boxes and stripes
		c := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
		x0, y0 := rng.IntN(W), rng.IntN(H)
		r := image.Rect(x0, y0, x0+2+rng.IntN(W/2), y0+2+rng.IntN(H/2))
		draw.Draw(bg, r, image.NewUniform(c), image.Point{}, draw.Src)
	}
	for i := 0; i < len(bg.Pix); i += 4 { // sensor-like noise
		for c := 0; c < 3; c++ {
			bg.Pix[i+c] = clampByte(float64(bg.Pix[i+c]) + 50*(rng.Float64()-0.5))
		}
	}
	mask := borderWhite(img, 232)
	ox, oy := rng.IntN(W-w+1), rng.IntN(H-h+1)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if mask[y*w+x] {
				continue
			}
			s := img.PixOffset(x, y)
			d := bg.PixOffset(ox+x, oy+y)
			copy(bg.Pix[d:d+4], img.Pix[s:s+4])
		}
	}
	return bg, image.Rect(ox, oy, ox+w, oy+h)
}

// borderWhite marks the pixels at or above level in every channel that are
// connected to the image border: a product photo's background.
func borderWhite(img *image.RGBA, level uint8) []bool {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	white := func(x, y int) bool {
		p := img.Pix[img.PixOffset(x, y):]
		return p[0] >= level && p[1] >= level && p[2] >= level
	}
	mask := make([]bool, w*h)
	var stack []int
	push := func(x, y int) {
		if x < 0 || y < 0 || x >= w || y >= h || mask[y*w+x] || !white(x, y) {
			return
		}
		mask[y*w+x] = true
		stack = append(stack, y*w+x)
	}
	for x := 0; x < w; x++ {
		push(x, 0)
		push(x, h-1)
	}
	for y := 0; y < h; y++ {
		push(0, y)
		push(w-1, y)
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := p%w, p/w
		push(x+1, y)
		push(x-1, y)
		push(x, y+1)
		push(x, y-1)
	}
	return mask
}

// distortRotate turns the photo by 5–15° either way about its centre,
// bilinear, filling the corners with white.
func distortRotate(img *image.RGBA, rng *rand.Rand) *image.RGBA {
	deg := 5 + 10*rng.Float64()
	if rng.IntN(2) == 0 {
		deg = -deg
	}
	a := deg * math.Pi / 180
	sin, cos := math.Sin(a), math.Cos(a)
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	cx, cy := float64(w)/2, float64(h)/2
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	at := func(x, y int, c int) float64 {
		if x < 0 || y < 0 || x >= w || y >= h {
			return 255
		}
		return float64(img.Pix[img.PixOffset(x, y)+c])
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			sx, sy := cos*dx+sin*dy+cx-0.5, -sin*dx+cos*dy+cy-0.5
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := sx-float64(x0), sy-float64(y0)
			d := dst.PixOffset(x, y)
			for c := 0; c < 3; c++ {
				v := (at(x0, y0, c)*(1-fx)+at(x0+1, y0, c)*fx)*(1-fy) + (at(x0, y0+1, c)*(1-fx)+at(x0+1, y0+1, c)*fx)*fy
				dst.Pix[d+c] = clampByte(v)
			}
			dst.Pix[d+3] = 255
		}
	}
	return dst
}

func mapPixels(img *image.RGBA, f func(r, g, b float64) (float64, float64, float64)) *image.RGBA {
	for i := 0; i < len(img.Pix); i += 4 {
		r, g, b := f(float64(img.Pix[i]), float64(img.Pix[i+1]), float64(img.Pix[i+2]))
		img.Pix[i], img.Pix[i+1], img.Pix[i+2] = clampByte(r), clampByte(g), clampByte(b)
	}
	return img
}

func clampByte(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}
