package convert

import (
	"math/rand/v2"
	"testing"
)

// patches returns a Hessian of n correlated random patches of length d
// (each a mix of a few shared factors plus noise, as conv inputs are).
func patches(n, d int, seed uint64) *Hessian {
	r := rand.New(rand.NewPCG(seed, 2))
	const factors = 4
	mix := make([]float64, factors*d)
	for i := range mix {
		mix[i] = r.NormFloat64()
	}
	h := NewHessian(d)
	x := make([]float64, d)
	for range n {
		var f [factors]float64
		for k := range f {
			f[k] = r.NormFloat64()
		}
		for j := range x {
			x[j] = 0.3 * r.NormFloat64()
			for k := range f {
				x[j] += f[k] * mix[k*d+j]
			}
		}
		for i := range d {
			for j := range d {
				h.H[i*d+j] += x[i] * x[j]
			}
		}
		h.N++
	}
	return h
}

func randomWeights(rows, d int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	w := make([]float32, rows*d)
	for i := range w {
		w[i] = float32(r.NormFloat64() * 0.05)
	}
	return w
}

// TestGPTQBeatsRounding: on correlated inputs the error-spreading rounding
// changes the layer's outputs less than rounding each weight, at 4 and 5
// bits, and its levels and scales are the same kind.
func TestGPTQBeatsRounding(t *testing.T) {
	const rows, d = 16, 48
	h := patches(400, d, 1)
	w := randomWeights(rows, d, 2)
	for _, bits := range []int{4, 5} {
		q, scale, err := gptq(w, rows, d, bits, h)
		if err != nil {
			t.Fatal(err)
		}
		rq, rscale := QuantizeBits(w, bits, rows, func(g int, idx []int) []int {
			for i := g * d; i < (g+1)*d; i++ {
				idx = append(idx, i)
			}
			return idx
		})
		for i := range rscale {
			if rscale[i] != scale[i] {
				t.Fatalf("bits %d: row %d scale %v, plain rounding's %v (both should choose it on the weights)", bits, i, scale[i], rscale[i])
			}
		}
		lv := levels(bits)
		for _, v := range q {
			if float64(v) < lv.lo || float64(v) > lv.hi {
				t.Fatalf("bits %d: level %d outside %v..%v", bits, v, lv.lo, lv.hi)
			}
		}
		eg, er := outputError(w, q, scale, rows, d, h), outputError(w, rq, rscale, rows, d, h)
		if !(eg < 0.8*er) {
			t.Fatalf("bits %d: output error %.4g with GPTQ, %.4g with rounding: want clearly less", bits, eg, er)
		}
	}
}

// TestGPTQUncorrelated: with uncorrelated inputs there is nothing to
// spread an error onto, and GPTQ rounds like plain rounding.
func TestGPTQUncorrelated(t *testing.T) {
	const rows, d = 8, 20
	h := NewHessian(d)
	for i := range d {
		h.H[i*d+i] = float64(1 + i)
	}
	h.N = 1
	w := randomWeights(rows, d, 5)
	q, _, err := gptq(w, rows, d, 4, h)
	if err != nil {
		t.Fatal(err)
	}
	rq, _ := QuantizeInt4(w, rows, func(g int, idx []int) []int {
		for i := g * d; i < (g+1)*d; i++ {
			idx = append(idx, i)
		}
		return idx
	})
	for i := range q {
		if q[i] != rq[i] {
			t.Fatalf("weight %d: %d, plain rounding %d", i, q[i], rq[i])
		}
	}
	if _, _, err := gptq(w, rows, d, 4, NewHessian(d+1)); err == nil {
		t.Fatal("a Hessian of the wrong size was accepted")
	}
}
