//go:build !js

package build

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"image"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookalike/lookalike/builder/internal/embedcache"
	"github.com/lookalike/lookalike/builder/internal/progress"
	"github.com/lookalike/lookalike/internal/par"
	"github.com/lookalike/lookalike/internal/topk"
	"github.com/lookalike/lookalike/internal/vec"
	"github.com/lookalike/lookalike/models/embed"

	"github.com/lookalike/lookalike/models/heads"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/pq"
	"github.com/lookalike/lookalike/models/search"
)

// What the page scans and what makes it type- and colour-aware: the
// product-quantisation codes of the item vectors (models/pq) and the
// softmax heads learned from the catalogue's label columns (models/heads).

// defaultProjectionBits: 4-bit groups (docs/quality.md: within the noise of
// the held-out evaluation, 0.3–0.4 MB less on a first visit).
const defaultProjectionBits = 4

// defaultCodeBytes is the code size per product: 32 bytes (K=256
// centroids per subspace), 1.4 MB at 40k. The page's scan of them alone
// finds 0.50 of the exact float search's top 10 at 40k (docs/bench.md
// recall_at_10_40k; the held-out type and colour precision, measured
// through the same scan, is in docs/quality.md).
const defaultCodeBytes = 32

// addCodes trains the codebook on the catalogue's vectors and writes the
// codes asset.
func addCodes(cfg *BuildConfig, vecs []float32, dim int, w *assetWriter) error {
	t0 := time.Now()
	m := cfg.CodeBytes
	if m <= 0 {
		return nil // --code-bytes 0: the page searches the index instead
	}
	m = min(m, dim)
	cb, err := pq.Train(vecs, dim, pq.TrainOptions{M: m, Seed: uint64(cfg.Seed)})
	if err != nil {
		return err
	}
	file := pq.Write(cb, cb.Encode(vecs))
	if _, err := w.add(search.KindCodes, "bin", file); err != nil {
		return err
	}
	fmt.Fprintf(cfg.Log, "build: product codes, %d bytes per product (%d×256 centroids of %d dims), %.1f MB, in %s\n",
		m, m, cb.Sub(), float64(len(file))/1e6, time.Since(t0).Round(time.Millisecond))
	return nil
}

// headColumns picks the label columns to learn: --heads, else the type
// column (autoLabel) and a colour column among the filters, each with at
// least 2 values and at most n/5.
func headColumns(cfg *BuildConfig, header, attrs []string, good []*item) []string {
	var cols []string
	if cfg.Heads != "" {
		if cfg.Heads == "none" {
			return nil
		}
		for _, c := range strings.Split(cfg.Heads, ",") {
			if c = strings.TrimSpace(c); c != "" {
				cols = append(cols, c)
			}
		}
		return cols
	}
	if l := autoLabel(attrs); l != "" {
		cols = append(cols, l)
	}
	for _, a := range attrs {
		if heads.IsColour(a) {
			cols = append(cols, a)
			break
		}
	}
	// Heads need examples: a catalogue under minHeadItems products keeps
	// the visual order alone.
	if len(good) < minHeadItems {
		return nil
	}
	var keep []string
	for _, c := range cols {
		vals := map[string]bool{}
		for _, it := range good {
			if v := it.Value(c); v != "" {
				vals[v] = true
			}
		}
		if k := len(vals); k >= 2 && k <= len(good)/5 && k < heads.MaxClasses {
			keep = append(keep, c)
		}
	}
	return keep
}

// minHeadItems is the smallest catalogue that gets heads by default.
const minHeadItems = 100

// defaultHeadWeight is each head's blend weight: type agreement and colour
// agreement, chosen with builder eval (docs/quality.md).
var defaultHeadWeight = map[int]float32{0: 1.0, 1: 0.5}

// addHeads trains one head per label column on [vector ⊕ colour
// descriptor] of every product, and of shopper-like variants of some of
// them (augment.go), and writes the heads asset.
func addHeads(cfg *BuildConfig, cols []string, good []*item, vecs []float32, dim int, emb *embed.Embedder, pc *embedcache.Cache, w *assetWriter) (floor *float32, err error) {
	if len(cols) == 0 {
		return nil, nil
	}
	t0 := time.Now()
	n := len(good)
	in := dim + imageprep.ColourBins
	x := make([]float32, n*in)
	for i := 0; i < n; i++ {
		copy(x[i*in:], vecs[i*dim:(i+1)*dim])
	}
	colours, err := colourDescriptors(cfg, good)
	if err != nil {
		return nil, err
	}
	for i, c := range colours {
		copy(x[i*in+dim:], c)
	}
	src := make([]int, n) // the product each training row shows
	for i := range src {
		src[i] = i
	}
	ax, asrc, err := augmentedRows(cfg, good, emb, pc, in)
	if err != nil {
		return nil, err
	}
	x = append(x, ax...)
	src = append(src, asrc...)
	set := &heads.Set{In: in}
	for hi, col := range cols {
		ids := map[string]int{}
		var names []string
		for _, it := range good {
			if v := it.Value(col); v != "" {
				if _, ok := ids[v]; !ok {
					ids[v] = 0
					names = append(names, v)
				}
			}
		}
		sort.Strings(names)
		for i, v := range names {
			ids[v] = i
		}
		labels := make([]uint16, n)
		for i, it := range good {
			labels[i] = heads.NoLabel
			if v := it.Value(col); v != "" {
				labels[i] = uint16(ids[v])
			}
		}
		y := make([]int, len(src))
		for r, i := range src {
			y[r] = -1
			if labels[i] != heads.NoLabel {
				y[r] = int(labels[i])
			}
		}
		opt := heads.TrainOptions{Seed: uint64(cfg.Seed) + uint64(hi)}
		var head heads.Head
		if cfg.HeadHidden > 0 {
			head, err = heads.TrainMLP(x, in, y, len(names), heads.MLPOptions{TrainOptions: opt, Hidden: cfg.HeadHidden})
		} else {
			head.W, head.B, err = heads.Train(x, in, y, len(names), opt)
		}
		if err != nil {
			return nil, fmt.Errorf("head %q: %w", col, err)
		}
		head.Column, head.Classes, head.Weight = col, names, defaultHeadWeight[hi]
		if hi < len(cfg.HeadWeights) {
			head.Weight = float32(cfg.HeadWeights[hi])
		}
		set.Heads = append(set.Heads, head)
		set.Labels = append(set.Labels, labels)
	}
	b, err := set.Marshal()
	if err != nil {
		return nil, err
	}
	if _, err := w.add(search.KindHeads, "bin", b); err != nil {
		return nil, err
	}
	if f, ok := relevanceFloor(set, vecs, dim, x[n*in:], asrc, in); ok {
		floor = &f
		fmt.Fprintf(cfg.Log, "build: relevance floor %.3f (below it fewer than half the results of shopper-like photos share their %s)\n", f, cols[0])
	}
	fmt.Fprintf(cfg.Log, "build: heads %s learned on %d products and %d shopper-like variants in %s (%.2f MB)\n", strings.Join(cols, ", "), n, len(asrc), time.Since(t0).Round(time.Millisecond), float64(len(b))/1e6)
	return floor, nil
}

// relevanceFloor calibrates the score below which a result is not called
// a lookalike: shopper-like variants (rows of x, showing products src) are
// searched as the page searches (visual cosine + the heads' terms, the
// product itself left out); walking down the pooled results by score, the
// floor is where fewer than half of a window of results share the photo's
// label under the first head (the product type). ok is false when there
// are too few variants to tell.
func relevanceFloor(set *heads.Set, vecs []float32, dim int, x []float32, src []int, in int) (float32, bool) {
	const queries, perQuery, window = 800, 40, 200
	nq := min(len(src), queries)
	if nq < 50 {
		return 0, false
	}
	n := len(vecs) / dim
	type pair struct {
		score float32
		same  bool
	}
	pairs := make([][]pair, nq)
	par.All(nq, func(q int) {
		xq := x[q*in : (q+1)*in]
		hp := set.Predict(xq)
		top := topk.New(perQuery)
		for j := 0; j < n; j++ {
			if j == src[q] {
				continue
			}
			s := vec.Dot(xq[:dim], vecs[j*dim:(j+1)*dim])
			for h, p := range hp {
				if l := set.Labels[h][j]; l != heads.NoLabel {
					s += set.Heads[h].Weight * p[l]
				}
			}
			top.Push(j, s)
		}
		want := set.Labels[0][src[q]]
		for _, e := range top.Sorted() {
			pairs[q] = append(pairs[q], pair{e.Score, want != heads.NoLabel && set.Labels[0][e.Item] == want})
		}
	})
	var all []pair
	for _, p := range pairs {
		all = append(all, p...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a].score > all[b].score })
	same := 0
	for i, p := range all {
		if p.same {
			same++
		}
		if i >= window {
			if all[i-window].same {
				same--
			}
			if same*2 < window {
				return all[i-window/2].score, true
			}
		}
	}
	return all[len(all)-1].score, true
}

// colourDescriptors decodes every product photo once more for its colour
// descriptor (cheap next to the model: a few ms per photo, in parallel).
func colourDescriptors(cfg *BuildConfig, good []*item) ([][]float32, error) {
	out := make([][]float32, len(good))
	errs := make([]error, len(good))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				img, err := cfg.images.decode(good[i].Image)
				if err == nil {
					img, _ = embed.Deblocked(img) // as the photo pipeline
					out[i] = imageprep.ColourDescriptor(img)
				}
				errs[i] = err
			}
		}()
	}
	for i := range good {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("row %d (%s): colour of %s: %w", good[i].Row, good[i].ID, good[i].Image, err)
		}
	}
	return out, nil
}

// By default the heads learn from augmentPerProduct shopper-like variants
// of each product, at most defaultAugment in all: on the 3k split, one per
// product (3,000) left type at 0.790 and the crop 0.107 below clean; four
// (12,000) gave 0.797, crop −0.095 and the busy scene 0.680 against 0.652
// (docs/quality.md). A variant costs one inference at build time (≈ 35 a
// second on 2 cores), cached like every embedding.
const (
	defaultAugment    = 12000
	augmentPerProduct = 4
)

// augmentedRows embeds cfg.Augment shopper-like variants (one per product
// of a seeded sample; over the catalogue's size, more than one) through
// the photo pipeline (localisation included), cached by the variant's
// pixels, and returns their head inputs and the products they show.
func augmentedRows(cfg *BuildConfig, good []*item, emb *embed.Embedder, pc *embedcache.Cache, in int) ([]float32, []int, error) {
	want := cfg.Augment
	if want < 0 || pc == nil {
		return nil, nil, nil
	}
	if want == 0 {
		want = min(defaultAugment, augmentPerProduct*len(good))
	}
	n := len(good)
	// Round 0 gives up to n products one variant each (a seeded sample);
	// a larger want goes round again, another sample each time, with
	// variants of their own (round r seeds the generators differently).
	var pick, round []int
	for r := 0; len(pick) < want && n > 0; r++ {
		seq := uint64(0x617567)
		if r > 0 {
			seq ^= uint64(r) * 0x9e3779b97f4a7c15
		}
		some := rand.New(rand.NewPCG(uint64(cfg.Seed), seq)).Perm(n)[:min(want-len(pick), n)]
		sort.Ints(some)
		pick = append(pick, some...)
		for range some {
			round = append(round, r)
		}
	}
	rows := make([][]float32, len(pick))
	errs := make([]error, len(pick))
	decode := func(i int) image.Image {
		img, err := cfg.images.decode(good[i].Image)
		if err != nil {
			return nil
		}
		return img
	}
	t0 := time.Now()
	var fresh atomic.Int64
	prog := progress.New(cfg.Log, "heads: shopper-like variants", len(pick))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, cfg.Workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				i := pick[j]
				h := sha256.Sum256([]byte(good[i].ID))
				rng := rand.New(rand.NewPCG(uint64(cfg.Seed), binary.LittleEndian.Uint64(h[:8])^uint64(round[j])*0x9e3779b97f4a7c15))
				img := decode(i)
				if img == nil {
					errs[j] = fmt.Errorf("row %d (%s): %s no longer decodes", good[i].Row, good[i].ID, good[i].Image)
					continue
				}
				tex := rng.IntN(n)
				v := augment(img, rng, func() image.Image { return decode(tex) })
				key := augmentKey(v)
				p, ran, err := embedcache.Photo(pc, key, emb, v, true)
				errs[j] = err
				if ran {
					fresh.Add(1)
					prog.Add(1)
				} else {
					prog.Cached(1)
				}
				if errs[j] == nil {
					rows[j] = append(append(make([]float32, 0, in), p.Vector...), p.Colour...)
				}
			}
		}()
	}
	for j := range pick {
		next <- j
	}
	close(next)
	wg.Wait()
	prog.Finish()
	var x []float32
	var src []int
	for j, r := range rows {
		if errs[j] != nil {
			return nil, nil, errs[j]
		}
		if len(r) != in {
			return nil, nil, fmt.Errorf("heads: a variant's input has %d values, want %d", len(r), in)
		}
		x = append(x, r...)
		src = append(src, pick[j])
	}
	fmt.Fprintf(cfg.Log, "build: %d shopper-like variants for the heads (%d embedded now, the rest cached) in %s\n", len(pick), fresh.Load(), time.Since(t0).Round(time.Second))
	return x, src, nil
}
