//go:build !js

package build

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lookalike/lookalike/models/heads"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/pq"
	"github.com/lookalike/lookalike/models/search"
)

// What the page scans and what makes it type- and colour-aware: the
// product-quantisation codes of the item vectors (models/pq) and the
// softmax heads learned from the catalogue's label columns (models/heads).

// defaultCodeBytes is the code size per product: 32 bytes (K=256
// centroids per subspace) keep recall@10 against the exact float search
// above 0.95 at 40k products (docs/bench.md) for 1.3 MB at 40k.
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
		l := strings.ToLower(a)
		if strings.Contains(l, "colour") || strings.Contains(l, "color") {
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
// descriptor] of every product and writes the heads asset.
func addHeads(cfg *BuildConfig, cols []string, good []*item, vecs []float32, dim int, w *assetWriter) error {
	if len(cols) == 0 {
		return nil
	}
	t0 := time.Now()
	n := len(good)
	in := dim + imageprep.ColourBins
	x := make([]float32, n*in)
	for i := 0; i < n; i++ {
		copy(x[i*in:], vecs[i*dim:(i+1)*dim])
	}
	colours, err := colourDescriptors(good)
	if err != nil {
		return err
	}
	for i, c := range colours {
		copy(x[i*in+dim:], c)
	}
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
		y := make([]int, n)
		labels := make([]uint16, n)
		for i, it := range good {
			y[i], labels[i] = -1, heads.NoLabel
			if v := it.Value(col); v != "" {
				y[i], labels[i] = ids[v], uint16(ids[v])
			}
		}
		wts, b, err := heads.Train(x, in, y, len(names), heads.TrainOptions{Seed: uint64(cfg.Seed) + uint64(hi)})
		if err != nil {
			return fmt.Errorf("head %q: %w", col, err)
		}
		weight := defaultHeadWeight[hi]
		if hi < len(cfg.HeadWeights) {
			weight = float32(cfg.HeadWeights[hi])
		}
		set.Heads = append(set.Heads, heads.Head{Column: col, Classes: names, Weight: weight, W: wts, B: b})
		set.Labels = append(set.Labels, labels)
	}
	b, err := set.Marshal()
	if err != nil {
		return err
	}
	if _, err := w.add(search.KindHeads, "bin", b); err != nil {
		return err
	}
	fmt.Fprintf(cfg.Log, "build: heads %s learned on %d products in %s (%.2f MB)\n", strings.Join(cols, ", "), n, time.Since(t0).Round(time.Millisecond), float64(len(b))/1e6)
	return nil
}

// colourDescriptors decodes every product photo once more for its colour
// descriptor (cheap next to the model: a few ms per photo, in parallel).
func colourDescriptors(good []*item) ([][]float32, error) {
	out := make([][]float32, len(good))
	errs := make([]error, len(good))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				data, err := os.ReadFile(good[i].Image)
				if err == nil {
					img, _, derr := imageprep.Decode(data, imageprep.Options{})
					if err = derr; err == nil {
						out[i] = imageprep.ColourDescriptor(img)
					}
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
