package heads

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/lookalike/lookalike/models/engine"
)

// TrainOptions control Train. Zero values take the defaults.
type TrainOptions struct {
	Epochs int     // passes over the data (default: enough for 3,000 steps, 20..200)
	Batch  int     // rows per step (default 256)
	LR     float64 // Adam step size (default 0.01)
	L2     float64 // weight decay on the standardised inputs' weights (default 0.2/√rows; < 0: none)
	Seed   uint64  // order of the rows
}

// Train fits a softmax classifier to rows of x (n×in) with class ids y
// (0..classes-1; a negative id is skipped) by minibatch Adam on the
// cross-entropy plus L2, and returns W (classes×in, class-major) and B.
// The same inputs and seed give the same weights on one machine.
func Train(x []float32, in int, y []int, classes int, opt TrainOptions) (w, b []float32, err error) {
	if opt.LR <= 0 {
		opt.LR = 0.01
	}
	rows, err := opt.check(x, in, y, classes)
	if err != nil {
		return nil, nil, err
	}
	// Standardised inputs (each column to mean 0, sd 1 over the labelled
	// rows), so one step size suits every column; folded back into W and B
	// at the end, so Predict takes the raw input.
	mu, inv := standardise(x, in, rows)
	std := func(i, j int) float32 { return float32((float64(x[i*in+j]) - mu[j]) * inv[j]) }
	k := classes
	wt := make([]float32, in*k) // in×k during training (the GEMM's layout)
	bias := make([]float32, k)
	if len(rows) == 0 {
		return make([]float32, k*in), bias, nil
	}
	logPriors(bias, y, rows)
	rng := rand.New(rand.NewPCG(opt.Seed, 0x68656164))
	bs := min(opt.Batch, len(rows))
	xb := make([]float32, bs*in)
	xbt := make([]float32, in*bs)
	logits := make([]float32, bs*k)
	gw := make([]float32, in*k)
	gb := make([]float64, k)
	mw, vw := make([]float64, in*k), make([]float64, in*k)
	mb, vb := make([]float64, k), make([]float64, k)
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	step := 0
	for ep := 0; ep < opt.Epochs; ep++ {
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		lr := opt.LR * 0.5 * (1 + math.Cos(math.Pi*float64(ep)/float64(opt.Epochs))) // cosine decay
		for at := 0; at+bs <= len(rows); at += bs {
			batch := rows[at : at+bs]
			for r, i := range batch {
				for j := 0; j < in; j++ {
					v := std(i, j)
					xb[r*in+j] = v
					xbt[j*bs+r] = v
				}
			}
			engine.Gemm(bs, k, in, xb, in, wt, k, logits, k, false)
			softmaxGrad(logits, bias, y, batch, gb)
			engine.Gemm(in, k, bs, xbt, bs, logits, k, gw, k, false)
			step++
			c1 := 1 - math.Pow(beta1, float64(step))
			c2 := 1 - math.Pow(beta2, float64(step))
			for i, g := range gw {
				gd := float64(g) + opt.L2*float64(wt[i])
				mw[i] = beta1*mw[i] + (1-beta1)*gd
				vw[i] = beta2*vw[i] + (1-beta2)*gd*gd
				wt[i] -= float32(lr * (mw[i] / c1) / (math.Sqrt(vw[i]/c2) + eps))
			}
			for c, g := range gb {
				mb[c] = beta1*mb[c] + (1-beta1)*g
				vb[c] = beta2*vb[c] + (1-beta2)*g*g
				bias[c] -= float32(lr * (mb[c] / c1) / (math.Sqrt(vb[c]/c2) + eps))
			}
		}
	}
	// Fold the standardisation in: W·((x−μ)·s) + B = (W·s)·x + (B − W·s·μ).
	w = make([]float32, k*in)
	for c := 0; c < k; c++ {
		off := 0.0
		for j := 0; j < in; j++ {
			wj := float64(wt[j*k+c]) * inv[j]
			w[c*in+j] = float32(wj)
			off += wj * mu[j]
		}
		bias[c] = float32(float64(bias[c]) - off)
	}
	return w, bias, nil
}

// check validates the training data, fills in the defaults that depend on
// it and returns the labelled rows.
func (opt *TrainOptions) check(x []float32, in int, y []int, classes int) ([]int, error) {
	if in <= 0 || len(x)%in != 0 || len(x)/in != len(y) {
		return nil, fmt.Errorf("heads: %d values and %d labels for input length %d", len(x), len(y), in)
	}
	if classes < 1 || classes > MaxClasses {
		return nil, fmt.Errorf("heads: %d classes", classes)
	}
	if opt.Batch <= 0 {
		opt.Batch = 256
	}
	var rows []int
	for i, c := range y {
		if c >= classes {
			return nil, fmt.Errorf("heads: label %d of row %d ≥ %d classes", c, i, classes)
		}
		if c >= 0 {
			rows = append(rows, i)
		}
	}
	// The weight decay shrinks as the examples grow: 0.2/√rows is 2.6e-3
	// at 6,000 rows (a 3k catalogue and as many shopper-like variants) and
	// 9.6e-4 at 43,600 (40k and 4,000 variants). Against the fixed 1e-4
	// before, on the held-out splits (docs/quality.md) the type head's
	// accuracy rose +0.02 on clean photos at 3k and at 40k and the colour
	// head's +0.05 at 3k: with a few dozen photos of a type, the weaker
	// decay learnt the photos rather than the type.
	if opt.L2 < 0 {
		opt.L2 = 0
	} else if opt.L2 == 0 {
		opt.L2 = 0.2 / math.Sqrt(float64(max(1, len(rows))))
	}
	if opt.Epochs <= 0 {
		steps := max(1, len(rows)/min(opt.Batch, max(1, len(rows))))
		opt.Epochs = max(20, min(200, (3000+steps-1)/steps))
	}
	return rows, nil
}

// logPriors starts the biases at the log frequencies of the labelled rows'
// classes.
func logPriors(bias []float32, y, rows []int) {
	freq := make([]float64, len(bias))
	for _, i := range rows {
		freq[y[i]]++
	}
	for c := range bias {
		bias[c] = float32(math.Log((freq[c] + 0.5) / float64(len(rows))))
	}
}

// softmaxGrad turns logits (one row of len(bias) per batch row) into the
// cross-entropy gradient of logits+bias for the rows' labels y[batch[r]],
// divided by the batch size, and sets gb to its sum over the batch (the
// bias gradient).
func softmaxGrad(logits, bias []float32, y, batch []int, gb []float64) {
	k := len(bias)
	clear(gb)
	for r, i := range batch {
		z := logits[r*k : (r+1)*k]
		for c := range z {
			z[c] += bias[c]
		}
		softmax(z)
		z[y[i]] -= 1
		for c := range z {
			z[c] /= float32(len(batch))
			gb[c] += float64(z[c])
		}
	}
}
