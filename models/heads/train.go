package heads

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/lookalike/lookalike/models/engine"
)

// TrainOptions control Train. Zero values take the defaults.
type TrainOptions struct {
	Epochs int     // passes over the data (default 40)
	Batch  int     // rows per step (default 256)
	LR     float64 // Adam step size (default 0.003)
	L2     float64 // weight decay (default 1e-4)
	Seed   uint64  // order of the rows
}

// Train fits a softmax classifier to rows of x (n×in) with class ids y
// (0..classes-1; a negative id is skipped) by minibatch Adam on the
// cross-entropy plus L2, and returns W (classes×in, class-major) and B.
// The same inputs and seed give the same weights on one machine.
func Train(x []float32, in int, y []int, classes int, opt TrainOptions) (w, b []float32, err error) {
	if in <= 0 || len(x)%in != 0 || len(x)/in != len(y) {
		return nil, nil, fmt.Errorf("heads: %d values and %d labels for input length %d", len(x), len(y), in)
	}
	if classes < 1 || classes > MaxClasses {
		return nil, nil, fmt.Errorf("heads: %d classes", classes)
	}
	if opt.Epochs <= 0 {
		opt.Epochs = 40
	}
	if opt.Batch <= 0 {
		opt.Batch = 256
	}
	if opt.LR <= 0 {
		opt.LR = 0.003
	}
	if opt.L2 < 0 {
		opt.L2 = 0
	} else if opt.L2 == 0 {
		opt.L2 = 1e-4
	}
	var rows []int
	for i, c := range y {
		if c >= classes {
			return nil, nil, fmt.Errorf("heads: label %d of row %d ≥ %d classes", c, i, classes)
		}
		if c >= 0 {
			rows = append(rows, i)
		}
	}
	k := classes
	wt := make([]float32, in*k) // in×k during training (the GEMM's layout)
	bias := make([]float32, k)
	if len(rows) == 0 {
		return make([]float32, k*in), bias, nil
	}
	// Start the biases at the log class frequencies.
	freq := make([]float64, k)
	for _, i := range rows {
		freq[y[i]]++
	}
	for c := range bias {
		bias[c] = float32(math.Log((freq[c] + 0.5) / float64(len(rows))))
	}
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
				copy(xb[r*in:(r+1)*in], x[i*in:(i+1)*in])
				for j := 0; j < in; j++ {
					xbt[j*bs+r] = x[i*in+j]
				}
			}
			engine.Gemm(bs, k, in, xb, in, wt, k, logits, k, false)
			clear(gb)
			for r, i := range batch {
				z := logits[r*k : (r+1)*k]
				for c := range z {
					z[c] += bias[c]
				}
				softmax(z)
				z[y[i]] -= 1
				for c := range z {
					z[c] /= float32(bs)
					gb[c] += float64(z[c])
				}
			}
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
	w = make([]float32, k*in)
	for j := 0; j < in; j++ {
		for c := 0; c < k; c++ {
			w[c*in+j] = wt[j*k+c]
		}
	}
	return w, bias, nil
}
