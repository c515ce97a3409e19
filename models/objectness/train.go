package objectness

import (
	"fmt"
	"image"
	"math"
	"runtime"

	"github.com/lookalike/lookalike/internal/par"
)

// Sample is one training photo: its feature map (c×n, channel-major, as
// the model computed it) and, per cell, the share of the cell that lies
// inside the product (Cover).
type Sample struct {
	Map   []float32
	Cover []float64
}

// TrainOptions control Train. Zero values take the defaults, which are
// the settings measured on the 3k split (docs/quality.md).
type TrainOptions struct {
	Iters     int     // full-batch Adam steps (default 150)
	LR        float64 // Adam step size (default 0.02)
	L2        float64 // weight decay on the standardised inputs (default 1e-3; < 0: none)
	Inside    float64 // a cell is "product" when at least this share of it is (default 0.5)
	Threshold float64 // the Map's threshold (default 0.7)
	Margin    float64 // the Map's margin, in cells (default 0.25)
}

func (o *TrainOptions) defaults() {
	if o.Iters <= 0 {
		o.Iters = 150
	}
	if o.LR <= 0 {
		o.LR = 0.02
	}
	if o.L2 == 0 {
		o.L2 = 1e-3
	} else if o.L2 < 0 {
		o.L2 = 0
	}
	if o.Inside <= 0 {
		o.Inside = 0.5
	}
	if o.Threshold <= 0 {
		o.Threshold = 0.7
	}
	if o.Margin <= 0 {
		o.Margin = 0.25
	}
}

// shards is how many fixed parts the gradient is summed over (in order, so
// the weights do not depend on the number of cores).
const shards = 8

// Train fits the per-cell logistic regression to the samples (c channels,
// n cells each) by full-batch Adam from zero weights, and returns the Map
// with the standardisation folded in. The same samples give the same Map
// on one machine.
func Train(samples []Sample, c, n int, opt TrainOptions) (*Map, error) {
	opt.defaults()
	if c < 1 || c > MaxChannels || n < 1 {
		return nil, fmt.Errorf("objectness: %d channels × %d cells", c, n)
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("objectness: no training photos")
	}
	pos := 0
	for i, s := range samples {
		if len(s.Map) != c*n || len(s.Cover) != n {
			return nil, fmt.Errorf("objectness: training photo %d has %d values and %d covers, want %d and %d", i, len(s.Map), len(s.Cover), c*n, n)
		}
		for _, v := range s.Cover {
			if v >= opt.Inside {
				pos++
			}
		}
	}
	rows := len(samples) * n
	if pos == 0 || pos == rows {
		return nil, fmt.Errorf("objectness: %d of %d cells show the product: nothing to tell apart", pos, rows)
	}
	// Per-channel mean and sd of √activation over every cell.
	mu, sd := make([]float64, c), make([]float64, c)
	for _, s := range samples {
		for ch := 0; ch < c; ch++ {
			for _, v := range s.Map[ch*n : (ch+1)*n] {
				r := sqrt0(v)
				mu[ch] += r
				sd[ch] += r * r
			}
		}
	}
	for ch := range mu {
		mu[ch] /= float64(rows)
		sd[ch] = math.Sqrt(math.Max(sd[ch]/float64(rows)-mu[ch]*mu[ch], 0)) + 1e-3
	}
	// The standardised inputs, row-major (rows × c), and the labels.
	x := make([]float32, rows*c)
	y := make([]float64, rows)
	for si, s := range samples {
		for cell := 0; cell < n; cell++ {
			r := si*n + cell
			row := x[r*c : (r+1)*c]
			for ch := range row {
				row[ch] = float32((sqrt0(s.Map[ch*n+cell]) - mu[ch]) / sd[ch])
			}
			if s.Cover[cell] >= opt.Inside {
				y[r] = 1
			}
		}
	}
	w := make([]float64, c)
	var b float64
	mw, vw := make([]float64, c), make([]float64, c)
	var mb, vb float64
	grads := make([][]float64, shards)
	gbs := make([]float64, shards)
	for k := range grads {
		grads[k] = make([]float64, c)
	}
	const beta1, beta2 = 0.9, 0.999
	for it := 1; it <= opt.Iters; it++ {
		par.For(shards, min(shards, runtime.GOMAXPROCS(0)), func(k int) {
			g := grads[k]
			clear(g)
			gb := 0.0
			for r := k * rows / shards; r < (k+1)*rows/shards; r++ {
				row := x[r*c : (r+1)*c]
				z := b
				for j, v := range row {
					z += w[j] * float64(v)
				}
				d := 1/(1+math.Exp(-z)) - y[r]
				for j, v := range row {
					g[j] += d * float64(v)
				}
				gb += d
			}
			gbs[k] = gb
		})
		m := float64(rows)
		c1, c2 := 1-math.Pow(beta1, float64(it)), 1-math.Pow(beta2, float64(it))
		for j := range w {
			gj := opt.L2 * w[j]
			for k := range grads {
				gj += grads[k][j] / m
			}
			mw[j] = beta1*mw[j] + (1-beta1)*gj
			vw[j] = beta2*vw[j] + (1-beta2)*gj*gj
			w[j] -= opt.LR * (mw[j] / c1) / (math.Sqrt(vw[j]/c2) + 1e-8)
		}
		gb := 0.0
		for _, v := range gbs {
			gb += v / m
		}
		mb = beta1*mb + (1-beta1)*gb
		vb = beta2*vb + (1-beta2)*gb*gb
		b -= opt.LR * (mb / c1) / (math.Sqrt(vb/c2) + 1e-8)
	}
	// Fold the standardisation in: Σ w·(r−μ)/σ + b = Σ (w/σ)·r + (b − Σ w·μ/σ).
	out := &Map{W: make([]float32, c), Threshold: float32(opt.Threshold), Margin: float32(opt.Margin)}
	bias := b
	for j := range w {
		out.W[j] = float32(w[j] / sd[j])
		bias -= w[j] * mu[j] / sd[j]
	}
	out.B = float32(bias)
	return out, nil
}

func sqrt0(v float32) float64 {
	if v <= 0 {
		return 0
	}
	return math.Sqrt(float64(v))
}

// Cover returns, for an h×w grid laid over bounds, the share of each cell
// (row-major) that lies inside r: the labels of a training photo whose
// product occupies r.
func Cover(r, bounds image.Rectangle, h, w int) []float64 {
	out := make([]float64, h*w)
	W, H := float64(bounds.Dx()), float64(bounds.Dy())
	for cy := 0; cy < h; cy++ {
		y0 := float64(bounds.Min.Y) + float64(cy)*H/float64(h)
		y1 := float64(bounds.Min.Y) + float64(cy+1)*H/float64(h)
		iy := math.Max(0, math.Min(y1, float64(r.Max.Y))-math.Max(y0, float64(r.Min.Y)))
		for cx := 0; cx < w; cx++ {
			x0 := float64(bounds.Min.X) + float64(cx)*W/float64(w)
			x1 := float64(bounds.Min.X) + float64(cx+1)*W/float64(w)
			ix := math.Max(0, math.Min(x1, float64(r.Max.X))-math.Max(x0, float64(r.Min.X)))
			out[cy*w+cx] = ix * iy / ((x1 - x0) * (y1 - y0))
		}
	}
	return out
}

// IoU is the intersection over union of two rectangles (0 when either is
// empty).
func IoU(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	i := float64(in.Dx() * in.Dy())
	return i / (float64(a.Dx()*a.Dy()) + float64(b.Dx()*b.Dy()) - i)
}
