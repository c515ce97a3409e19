package heads

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/lookalike/lookalike/internal/half"
	"github.com/lookalike/lookalike/models/engine"
)

// MLPOptions control TrainMLP. Zero values take the defaults.
type MLPOptions struct {
	TrainOptions
	Hidden  int     // hidden units (ReLU); required
	Dropout float64 // on the hidden units while training (default 0.5; < 0: none)
}

// TrainMLP fits a one-hidden-layer classifier (ReLU, dropout) to rows of
// x (n×in) with class ids y (negative: skipped) by minibatch Adam on the
// cross-entropy plus L2, and returns the Head's W1, B1 (hidden×in, the
// first layer's weights rounded to binary16 as the file stores them), W
// (classes×hidden) and B; Column, Classes and Weight are the caller's. The
// same inputs and seed give the same weights on one machine.
func TrainMLP(x []float32, in int, y []int, classes int, opt MLPOptions) (Head, error) {
	hid := opt.Hidden
	if hid < 1 || hid > MaxHidden {
		return Head{}, fmt.Errorf("heads: %d hidden units", hid)
	}
	if opt.LR <= 0 {
		opt.LR = 0.002
	}
	drop := opt.Dropout
	if drop == 0 {
		drop = 0.5
	} else if drop < 0 {
		drop = 0
	}
	rows, err := opt.check(x, in, y, classes)
	if err != nil {
		return Head{}, err
	}
	k := classes
	h := Head{W1: make([]float32, hid*in), B1: make([]float32, hid), W: make([]float32, k*hid), B: make([]float32, k)}
	if len(rows) == 0 {
		return h, nil
	}
	mu, inv := standardise(x, in, rows)
	rng := rand.New(rand.NewPCG(opt.Seed, 0x6d6c70))
	// Layouts for the GEMMs: w1 in×hid, w2 hid×k.
	w1 := make([]float32, in*hid)
	for i := range w1 {
		w1[i] = float32(rng.NormFloat64() * math.Sqrt(2/float64(in)))
	}
	b1 := make([]float32, hid)
	w2 := make([]float32, hid*k)
	for i := range w2 {
		w2[i] = float32(rng.NormFloat64() * math.Sqrt(1/float64(hid)))
	}
	b2 := make([]float32, k)
	logPriors(b2, y, rows)
	params := [][]float32{w1, b1, w2, b2}
	decay := []bool{true, false, true, false}
	adam := newAdam(params)
	bs := min(opt.Batch, len(rows))
	xb, xbt := make([]float32, bs*in), make([]float32, in*bs)
	z1 := make([]float32, bs*hid)  // pre-activations, then activations
	a1t := make([]float32, hid*bs) // activations transposed
	keep := make([]float32, bs*hid)
	logits := make([]float32, bs*k)
	w2t := make([]float32, k*hid)
	da1 := make([]float32, bs*hid)
	gb2 := make([]float64, k)
	grads := [][]float32{make([]float32, in*hid), make([]float32, hid), make([]float32, hid*k), make([]float32, k)}
	scale := float32(1 / (1 - drop))
	for ep := 0; ep < opt.Epochs; ep++ {
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		lr := opt.LR * 0.5 * (1 + math.Cos(math.Pi*float64(ep)/float64(opt.Epochs)))
		for at := 0; at+bs <= len(rows); at += bs {
			batch := rows[at : at+bs]
			for r, i := range batch {
				for j := 0; j < in; j++ {
					v := float32((float64(x[i*in+j]) - mu[j]) * inv[j])
					xb[r*in+j] = v
					xbt[j*bs+r] = v
				}
			}
			// Forward: a1 = dropout(relu(x·w1 + b1)), logits = a1·w2 + b2.
			engine.Gemm(bs, hid, in, xb, in, w1, hid, z1, hid, false)
			for r := 0; r < bs; r++ {
				for u := 0; u < hid; u++ {
					v := z1[r*hid+u] + b1[u]
					m := float32(0)
					if v > 0 && (drop == 0 || rng.Float64() >= drop) {
						m = scale
					}
					keep[r*hid+u] = m
					z1[r*hid+u] = v * m
					a1t[u*bs+r] = v * m
				}
			}
			engine.Gemm(bs, k, hid, z1, hid, w2, k, logits, k, false)
			for g := range grads {
				clear(grads[g])
			}
			softmaxGrad(logits, b2, y, batch, gb2)
			for c, g := range gb2 {
				grads[3][c] = float32(g)
			}
			// Backward.
			engine.Gemm(hid, k, bs, a1t, bs, logits, k, grads[2], k, false)
			for u := 0; u < hid; u++ {
				for c := 0; c < k; c++ {
					w2t[c*hid+u] = w2[u*k+c]
				}
			}
			engine.Gemm(bs, hid, k, logits, k, w2t, hid, da1, hid, false)
			for r := 0; r < bs; r++ {
				for u := 0; u < hid; u++ {
					d := da1[r*hid+u] * keep[r*hid+u]
					da1[r*hid+u] = d
					grads[1][u] += d
				}
			}
			engine.Gemm(in, hid, bs, xbt, bs, da1, hid, grads[0], hid, false)
			adam.step(params, grads, decay, lr, opt.L2)
		}
	}
	// Fold the standardisation into the first layer and store it
	// hidden-major, its weights rounded to binary16 (the file's precision).
	for u := 0; u < hid; u++ {
		off := 0.0
		for j := 0; j < in; j++ {
			wj := half.To32(half.From32(float32(float64(w1[j*hid+u]) * inv[j])))
			h.W1[u*in+j] = wj
			off += float64(wj) * mu[j]
		}
		h.B1[u] = float32(float64(b1[u]) - off)
	}
	for c := 0; c < k; c++ {
		for u := 0; u < hid; u++ {
			h.W[c*hid+u] = w2[u*k+c]
		}
	}
	copy(h.B, b2)
	return h, nil
}

// standardise returns each column's mean and 1/sd over rows (0 for a
// constant column).
func standardise(x []float32, in int, rows []int) (mu, inv []float64) {
	mu, inv = make([]float64, in), make([]float64, in)
	for _, i := range rows {
		for j := 0; j < in; j++ {
			mu[j] += float64(x[i*in+j])
		}
	}
	for j := range mu {
		mu[j] /= float64(max(1, len(rows)))
	}
	for _, i := range rows {
		for j := 0; j < in; j++ {
			d := float64(x[i*in+j]) - mu[j]
			inv[j] += d * d
		}
	}
	for j := range inv {
		sd := math.Sqrt(inv[j] / float64(max(1, len(rows))))
		inv[j] = 0
		if sd > 1e-12 {
			inv[j] = 1 / sd
		}
	}
	return mu, inv
}

// adam keeps Adam's moments for a list of parameter slices.
type adam struct {
	m, v [][]float64
	t    int
}

func newAdam(params [][]float32) *adam {
	a := &adam{}
	for _, p := range params {
		a.m = append(a.m, make([]float64, len(p)))
		a.v = append(a.v, make([]float64, len(p)))
	}
	return a
}

func (a *adam) step(params, grads [][]float32, decay []bool, lr, l2 float64) {
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	a.t++
	c1 := 1 - math.Pow(beta1, float64(a.t))
	c2 := 1 - math.Pow(beta2, float64(a.t))
	for pi, p := range params {
		m, v, g := a.m[pi], a.v[pi], grads[pi]
		for i := range p {
			gd := float64(g[i])
			if decay[pi] {
				gd += l2 * float64(p[i])
			}
			m[i] = beta1*m[i] + (1-beta1)*gd
			v[i] = beta2*v[i] + (1-beta2)*gd*gd
			p[i] -= float32(lr * (m[i] / c1) / (math.Sqrt(v[i]/c2) + eps))
		}
	}
}
