//go:build !js

package build

// builder synth: a synthetic-but-honest large catalogue for benchmarks,
// built from the stored vectors of a real build without the embed stage
// (1M photos would be ≈ 17 h of ResNet50 on 2 cores). Every real product
// is kept as it is, plus N copies whose vectors are the real one plus
// seeded Gaussian noise at the scale of the catalogue's own spread within
// a product type, re-normalised; a copy's display data is its original's
// (same section, type, colour, thumbnail, title; id "<id>~<j>"). Nothing
// it writes describes real products: the figures measured on it are
// synthetic, and synth-report.json says how they were made.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lookalike/lookalike/builder/internal/atomicfile"
	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/builder/internal/precompress"
	"github.com/lookalike/lookalike/builder/internal/progress"
	"github.com/lookalike/lookalike/internal/par"
	"github.com/lookalike/lookalike/internal/topk"
	"github.com/lookalike/lookalike/internal/vec"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/pq"
	"github.com/lookalike/lookalike/models/project"
	"github.com/lookalike/lookalike/models/search"
	"github.com/lookalike/lookalike/models/vecfile"
)

func init() {
	register("synth", "a synthetic large catalogue for benchmarks from a build's stored vectors (no embed stage)", runSynth)
}

// SynthConfig is what `builder synth` takes.
type SynthConfig struct {
	From, Out string
	// Copies is the number of perturbed copies of every real product.
	Copies int
	// Noise multiplies the measured within-type spread (1 = the spread).
	Noise float64
	// SpreadBy is the label column the spread is measured within.
	SpreadBy  string
	Seed      uint64
	CodeBytes int
	Cache     string
	Log       io.Writer
}

// SynthReport is synth-report.json: how the synthetic catalogue was made
// (never deployed: stage and serve publish only the manifest's files).
type SynthReport struct {
	Synthetic bool   `json:"synthetic"`
	From      string `json:"from"`
	Real      int    `json:"real_items"`
	Copies    int    `json:"copies_per_item"`
	Items     int    `json:"items"`
	Seed      uint64 `json:"seed"`
	SpreadBy  string `json:"spread_by"`
	// Sigma is the RMS over dimensions of the per-dimension within-type
	// standard deviation of the real unit vectors; Noise scales it.
	Sigma float64 `json:"sigma_rms"`
	Noise float64 `json:"noise"`
	// CopyCosine is the mean cosine of a copy with its original;
	// TypeCosine the mean cosine of a real product with another real
	// product of its type (sampled): a copy is a plausible other product
	// of the type, not a near-duplicate.
	CopyCosine  float64 `json:"copy_cosine_mean"`
	TypeCosine  float64 `json:"same_type_cosine_mean"`
	CodeBytes   int     `json:"code_bytes"`
	Seconds     float64 `json:"seconds"`
	AssetsBytes int64   `json:"assets_bytes"`
	Neighbours  string  `json:"neighbours"`
}

func runSynth(args []string) error {
	cfg, err := parseSynthFlags(args)
	if err != nil {
		return err
	}
	cfg.Log = os.Stderr
	_, err = Synth(cfg)
	return err
}

func parseSynthFlags(args []string) (*SynthConfig, error) {
	fs := flag.NewFlagSet("synth", flag.ContinueOnError)
	cfg := &SynthConfig{}
	fs.StringVar(&cfg.From, "from", "", "asset folder of a real build (its vectors, catalogue, heads, neighbours, model) (required)")
	fs.StringVar(&cfg.Out, "out", "", "output folder for the synthetic assets (required)")
	fs.IntVar(&cfg.Copies, "copies", 24, "perturbed copies of every real product (40,142 × 25 = 1,003,550 products)")
	fs.Float64Var(&cfg.Noise, "noise", 1, "noise scale, in units of the measured within-type spread")
	fs.StringVar(&cfg.SpreadBy, "spread-by", "", "label column the spread is measured within (default: articleType, else the first filter column, else the section)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the noise, the codes and every other random choice (same input + seed = same assets)")
	fs.IntVar(&cfg.CodeBytes, "code-bytes", 16, "bytes per product of the product-quantisation codes the page scans")
	fs.StringVar(&cfg.Cache, "cache", "", "cache folder (default: $LOOKALIKE_CACHE or <repo>/.cache)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./builder synth --from site/assets --out DIR [--copies 24] [--noise 1] [--seed 1] [--code-bytes 16]\n\n"+
			"Writes a SYNTHETIC catalogue for benchmarks: every product of --from plus --copies copies of it\n"+
			"(its stored vector + seeded Gaussian noise at the within-type spread; the original's display data,\n"+
			"id <id>~<j>), with codes, heads labels, neighbours and the same model, and synth-report.json.\n\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		return nil, err
	}
	if cfg.From == "" || cfg.Out == "" {
		fs.Usage()
		return nil, &cli.UsageError{Err: errors.New("--from DIR and --out DIR are required")}
	}
	if cfg.Copies < 0 || cfg.Noise < 0 || cfg.CodeBytes <= 0 {
		return nil, &cli.UsageError{Err: errors.New("--copies and --noise must be ≥ 0, --code-bytes > 0")}
	}
	return cfg, nil
}

// Synth writes the synthetic catalogue and returns its report.
func Synth(cfg *SynthConfig) (*SynthReport, error) {
	start := time.Now()
	log := cfg.Log
	if log == nil {
		log = io.Discard
	}
	m, err := readManifest(cfg.From)
	if err != nil {
		return nil, err
	}
	e, err := OpenAssets(cfg.From, search.Options{SkipModel: true})
	if err != nil {
		return nil, err
	}
	if e.Vectors == nil {
		return nil, fmt.Errorf("synth: %s has no vector file", cfg.From)
	}
	if e.Neighbors == nil {
		return nil, fmt.Errorf("synth: %s has no neighbours file", cfg.From)
	}
	n, dim := e.Vectors.Len(), e.Vectors.Dim()
	c := cfg.Copies + 1 // a family: the real product, then its copies
	total := n * c
	if total > math.MaxUint32-1 {
		return nil, fmt.Errorf("synth: %d products is too many", total)
	}
	rep := &SynthReport{Synthetic: true, From: filepath.Base(filepath.Clean(cfg.From)), Real: n, Copies: cfg.Copies, Items: total,
		Seed: cfg.Seed, Noise: cfg.Noise, CodeBytes: min(cfg.CodeBytes, dim)}

	// 1. The real unit vectors and the within-type spread.
	real := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		v := e.Vectors.Vector(i, real[i*dim:i*dim])
		project.Normalize(v)
	}
	rep.SpreadBy = spreadColumn(e.Display, cfg.SpreadBy)
	labels := make([]string, n)
	for i := range labels {
		it := e.Display.Item(i)
		if v, ok := it.Attrs[rep.SpreadBy]; ok {
			labels[i] = v
		} else {
			labels[i] = it.Section
		}
	}
	sigma := withinSpread(real, dim, labels)
	var s2 float64
	for _, s := range sigma {
		s2 += float64(s) * float64(s)
	}
	rep.Sigma = math.Sqrt(s2 / float64(dim))
	rep.TypeCosine = sameTypeCosine(real, dim, labels, cfg.Seed)
	for j := range sigma {
		sigma[j] *= float32(cfg.Noise)
	}
	fmt.Fprintf(log, "synth: %d real products × %d = %d; within-%s spread σ = %.4f (RMS over %d dims), noise %.2f·σ\n",
		n, c, total, rep.SpreadBy, rep.Sigma, dim, cfg.Noise)

	// 2. The synthetic vectors: product f·c+j is copy j of real product f
	// (j = 0: the real vector itself). Each copy's noise comes from its
	// own seeded stream, so any worker order gives the same bytes.
	vecs := make([]float32, total*dim)
	par.All(n, func(f int) {
		src := real[f*dim : (f+1)*dim]
		copy(vecs[f*c*dim:], src)
		for j := 1; j < c; j++ {
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(f*c+j)))
			v := vecs[(f*c+j)*dim : (f*c+j+1)*dim]
			for d := range v {
				v[d] = src[d] + sigma[d]*float32(rng.NormFloat64())
			}
			project.Normalize(v)
		}
	})
	if cfg.Copies > 0 {
		var cs float64
		for f := 0; f < n; f++ {
			cs += float64(vec.Dot(vecs[f*c*dim:(f*c+1)*dim], vecs[(f*c+1)*dim:(f*c+2)*dim]))
		}
		rep.CopyCosine = cs / float64(n)
	}
	fmt.Fprintf(log, "synth: vectors in %s (copy·original cosine %.3f, same-type real pairs %.3f)\n",
		time.Since(start).Round(time.Millisecond), rep.CopyCosine, rep.TypeCosine)

	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("creating --out: %w", err)
	}
	lock, err := lockOut(cfg.Out)
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	cacheRoot, err := cli.CacheRoot(cfg.Cache)
	if err != nil {
		return nil, err
	}
	precompress.CacheDir = filepath.Join(cacheRoot, "precompress")
	w := newAssetWriter(cfg.Out)

	// 3. The model, projection and thumbnail sheets, as they are.
	for _, a := range m.Assets {
		switch a.Kind {
		case search.KindModel, search.KindProjection, search.KindThumbs:
		default:
			continue
		}
		b, err := LoadAsset(cfg.From, a)
		if err != nil {
			return nil, err
		}
		ext := strings.TrimPrefix(filepath.Ext(a.File), ".")
		if _, err := w.add(a.Kind, ext, b); err != nil {
			return nil, err
		}
	}

	// 4. Codes (the page's index), trained on a seeded sample.
	t0 := time.Now()
	cb, err := pq.Train(vecs, dim, pq.TrainOptions{M: rep.CodeBytes, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	if _, err := w.add(search.KindCodes, "bin", pq.Write(cb, encodeParallel(cb, vecs, log))); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "synth: codes, %d bytes per product, in %s\n", rep.CodeBytes, time.Since(t0).Round(time.Millisecond))

	// 5. Stored vectors (int8, as the real build), heads labels, display.
	var vb strings.Builder
	if err := vecfile.WriteVectors(&vb, e.Vectors.Header().Encoding, dim, vecs); err != nil {
		return nil, err
	}
	if _, err := w.add(search.KindVectors, "bin", []byte(vb.String())); err != nil {
		return nil, err
	}
	vb = strings.Builder{}
	if e.Heads != nil {
		hs := *e.Heads
		hs.Labels = make([][]uint16, len(e.Heads.Labels))
		for h, l := range e.Heads.Labels {
			hs.Labels[h] = make([]uint16, total)
			for f, v := range l {
				for j := 0; j < c; j++ {
					hs.Labels[h][f*c+j] = v
				}
			}
		}
		hb, err := hs.Marshal()
		if err != nil {
			return nil, err
		}
		if _, err := w.add(search.KindHeads, "bin", hb); err != nil {
			return nil, err
		}
	}
	disp, sections, attrs, err := synthDisplay(e.Display, c)
	if err != nil {
		return nil, err
	}
	if _, err := w.add(search.KindCatalog, "json", disp); err != nil {
		return nil, err
	}
	disp = nil

	// 6. Neighbours: exact cosine over candidates, the families of the
	// real product's own stored lists (its section list for the section
	// list, its global list for the global one) and its own family.
	t0 = time.Now()
	nl := synthNeighbors(vecs, dim, c, e.Neighbors, log)
	rep.Neighbours = fmt.Sprintf("exact cosine over the families of the real product's stored %d neighbours and its own (%d candidates a list)", nl.K, (nl.K+1)*c)
	var nb strings.Builder
	if err := vecfile.WriteNeighbors(&nb, nl); err != nil {
		return nil, err
	}
	nl = vecfile.NeighborLists{}
	if _, err := w.add(search.KindNeighbors, "bin", []byte(nb.String())); err != nil {
		return nil, err
	}
	nb = strings.Builder{}
	fmt.Fprintf(log, "synth: %d neighbours per item in %s\n", e.Neighbors.Header().K, time.Since(t0).Round(time.Millisecond))

	// 7. Manifest, last.
	out := *m
	out.BuildTime = time.Now().UTC().Format(time.RFC3339)
	out.ItemCount = total
	out.Sections = sections
	out.Attributes = attrs
	out.Assets = w.assets
	mb, err := out.Marshal()
	if err != nil {
		return nil, err
	}
	rep.AssetsBytes = w.bytes
	rep.Seconds = math.Round(time.Since(start).Seconds()*10) / 10
	rb, _ := json.MarshalIndent(rep, "", "  ")
	if err := atomicfile.Write(filepath.Join(cfg.Out, "synth-report.json"), append(rb, '\n')); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(cfg.Out, "manifest.json"), mb); err != nil {
		return nil, err
	}
	w.removeStale(mb)
	fmt.Fprintf(log, "synth: SYNTHETIC catalogue of %d products (%.1f MB of assets) in %.1f s → %s\n",
		total, float64(w.bytes)/1e6, rep.Seconds, filepath.Join(cfg.Out, "manifest.json"))
	return rep, nil
}

// spreadColumn is the column the within-type spread is measured in.
func spreadColumn(d *catalog.Display, want string) string {
	attrs := d.Attributes()
	if want != "" {
		return want
	}
	for _, a := range attrs {
		if a == "articleType" {
			return a
		}
	}
	if len(attrs) > 0 {
		return attrs[0]
	}
	return d.SectionColumn()
}

// withinSpread is, per dimension, the standard deviation of the vectors
// around their label's mean, pooled over labels (labels with one product
// add nothing).
func withinSpread(vecs []float32, dim int, labels []string) []float32 {
	mean := map[string][]float64{}
	count := map[string]int{}
	for i, l := range labels {
		if mean[l] == nil {
			mean[l] = make([]float64, dim)
		}
		count[l]++
		for d, x := range vecs[i*dim : (i+1)*dim] {
			mean[l][d] += float64(x)
		}
	}
	for l, s := range mean {
		for d := range s {
			s[d] /= float64(count[l])
		}
	}
	ss := make([]float64, dim)
	df := 0
	for i, l := range labels {
		if count[l] < 2 {
			continue
		}
		df++
		for d, x := range vecs[i*dim : (i+1)*dim] {
			e := float64(x) - mean[l][d]
			ss[d] += e * e
		}
	}
	out := make([]float32, dim)
	for d := range out {
		if df > 0 {
			out[d] = float32(math.Sqrt(ss[d] / float64(df)))
		}
	}
	return out
}

// sameTypeCosine is the mean cosine of seeded random pairs of distinct
// real products with the same label.
func sameTypeCosine(vecs []float32, dim int, labels []string, seed uint64) float64 {
	by := map[string][]int{}
	for i, l := range labels {
		by[l] = append(by[l], i)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5e1f))
	var s float64
	var k int
	for i, l := range labels {
		g := by[l]
		if len(g) < 2 || i%4 != 0 {
			continue
		}
		j := g[rng.IntN(len(g))]
		if j == i {
			continue
		}
		s += float64(vec.Dot(vecs[i*dim:(i+1)*dim], vecs[j*dim:(j+1)*dim]))
		k++
	}
	if k == 0 {
		return 0
	}
	return s / float64(k)
}

// encodeParallel is cb.Encode on every core (the same bytes).
func encodeParallel(cb *pq.Codebook, vecs []float32, log io.Writer) []byte {
	n := len(vecs) / cb.Dim
	const chunk = 4096
	parts := make([][]byte, (n+chunk-1)/chunk)
	prog := progress.New(log, "synth: codes", n)
	par.All(len(parts), func(p int) {
		lo, hi := p*chunk, min((p+1)*chunk, n)
		parts[p] = cb.Encode(vecs[lo*cb.Dim : hi*cb.Dim])
		prog.Add(hi - lo)
	})
	prog.Finish()
	codes := make([]byte, n*cb.M)
	for p, part := range parts {
		lo, hi := p*chunk, min((p+1)*chunk, n)
		for m := 0; m < cb.M; m++ {
			copy(codes[m*n+lo:m*n+hi], part[m*(hi-lo):(m+1)*(hi-lo)])
		}
	}
	return codes
}

// synthDisplay is the display catalogue of the families: copy j of
// product f is f's display data with id "<id>~<j>".
func synthDisplay(d *catalog.Display, c int) ([]byte, map[string]int, map[string]map[string]int, error) {
	n := d.Len()
	attrs := d.Attributes()
	section := d.SectionColumn()
	header := []string{"id", "title", "url", "price", "currency", "image"}
	if section != "" {
		header = append(header, section)
	}
	header = append(header, attrs...)
	items := make([]catalog.Item, 0, n*c)
	thumbs := make([]string, 0, n*c)
	sections := map[string]int{}
	counts := map[string]map[string]int{}
	for _, a := range attrs {
		counts[a] = map[string]int{}
	}
	for f := 0; f < n; f++ {
		it := d.Item(f)
		av := make(map[string]string, len(attrs)+1)
		for _, a := range attrs {
			av[a] = it.Attrs[a]
		}
		if section != "" {
			av[section] = it.Section
		}
		for j := 0; j < c; j++ {
			id := it.ID
			if j > 0 {
				id = fmt.Sprintf("%s~%d", it.ID, j)
			}
			items = append(items, catalog.Item{ID: id, Title: it.Title, URL: it.URL, Price: it.Price, Currency: it.Currency, Attrs: av})
			thumbs = append(thumbs, it.Thumb)
			if section != "" {
				sections[it.Section]++
			}
			for _, a := range attrs {
				counts[a][it.Attrs[a]]++
			}
		}
	}
	b, err := catalog.BuildDisplay(items, header, catalog.DisplayOptions{Section: section, Attributes: attrs, Thumbs: thumbs})
	return b, sections, counts, err
}

// synthNeighbors computes each synthetic product's lists.
func synthNeighbors(vecs []float32, dim, c int, real *vecfile.Neighbors, log io.Writer) vecfile.NeighborLists {
	total := len(vecs) / dim
	h := real.Header()
	nl := vecfile.NeighborLists{K: h.K, Section: make([][]vecfile.Neighbor, total)}
	if real.HasGlobal() {
		nl.Global = make([][]vecfile.Neighbor, total)
	}
	list := func(i int, fams []vecfile.Neighbor, t *topk.List) []vecfile.Neighbor {
		t.Reset(h.K)
		q := vecs[i*dim : (i+1)*dim]
		push := func(f int) {
			for j := 0; j < c; j++ {
				if o := f*c + j; o != i {
					t.Push(o, vec.Dot(q, vecs[o*dim:(o+1)*dim]))
				}
			}
		}
		push(i / c)
		for _, nb := range fams {
			if nb.Item != vecfile.NoItem {
				push(int(nb.Item))
			}
		}
		s := t.Sorted()
		out := make([]vecfile.Neighbor, len(s))
		for k, e := range s {
			out[k] = vecfile.Neighbor{Item: uint32(e.Item), Score: e.Score}
		}
		return out
	}
	var pool = sync.Pool{New: func() any { return topk.New(h.K) }}
	prog := progress.New(log, "synth: neighbours", total)
	par.All(total/c, func(f int) {
		t := pool.Get().(*topk.List)
		defer pool.Put(t)
		sec, glob := real.Section(f), real.Global(f)
		for i := f * c; i < (f+1)*c; i++ {
			nl.Section[i] = list(i, sec, t)
			if nl.Global != nil {
				nl.Global[i] = list(i, glob, t)
			}
		}
		prog.Add(c)
	})
	prog.Finish()
	return nl
}
