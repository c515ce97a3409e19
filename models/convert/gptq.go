package convert

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// Hessian is the calibration statistic of one conv's input: the mean of
// x·xᵀ over the im2col patches x of calibration photos (D = cin·kh·kw, in
// the order of the ONNX kernel [cout][cin][kh][kw]). Accumulate with Add,
// then hand it to Keras through Options.Calibration.
type Hessian struct {
	D int
	N int       // patches added
	H []float64 // D×D, row-major, symmetric
}

// NewHessian returns an empty statistic for patches of length d.
func NewHessian(d int) *Hessian { return &Hessian{D: d, H: make([]float64, d*d)} }

// AddGram adds g = Σ x·xᵀ over n patches (a D×D float32 Gram matrix, e.g.
// from a GEMM of the patch matrix with itself).
func (h *Hessian) AddGram(g []float32, n int) {
	for i, v := range g[:h.D*h.D] {
		h.H[i] += float64(v)
	}
	h.N += n
}

// gptq quantises the rows of w ([rows][d]) to `bits`-bit levels with one
// scale per row (chosen on the original weights to minimise their squared
// error), rounding column by column and spreading each column's error
// over the columns not yet rounded, weighted by the inverse Hessian of the
// layer's inputs (the optimal brain surgeon update of GPTQ: Frantar et
// al., 2022), so that the layer's output on the calibration patches moves
// as little as it can. Columns go in order of decreasing input energy.
// It falls back to plain rounding when the Hessian is not positive
// definite even after dampening.
func gptq(w []float32, rows, d, bits int, h *Hessian) (q []int8, scale []float32, err error) {
	if h == nil || h.D != d || h.N == 0 {
		return nil, nil, fmt.Errorf("convert: gptq: Hessian of %d columns for a %d×%d kernel", hdim(h), rows, d)
	}
	lv := levels(bits)
	scale = make([]float32, rows)
	for r := range rows {
		scale[r] = bestScale(w[r*d:(r+1)*d], lv)
	}
	// H (mean), dead inputs, dampening.
	hm := make([]float64, d*d)
	inv := 1 / float64(h.N)
	for i := range hm {
		hm[i] = h.H[i] * inv
	}
	mean := 0.0
	for i := range d {
		mean += hm[i*d+i]
	}
	mean /= float64(d)
	if mean <= 0 {
		mean = 1
	}
	wd := make([]float64, rows*d) // working copy, columns permuted below
	dead := make([]bool, d)
	for i := range d {
		if hm[i*d+i] <= 0 {
			dead[i] = true
			hm[i*d+i] = 1
		}
	}
	perm := make([]int, d)
	for i := range perm {
		perm[i] = i
	}
	sort.SliceStable(perm, func(a, b int) bool { return hm[perm[a]*d+perm[a]] > hm[perm[b]*d+perm[b]] })
	// U, the upper Cholesky factor of H⁻¹ (H⁻¹ = Uᵀ·U), from one
	// factorisation: with R the reversal of the column order and
	// R·H·R = L·Lᵀ, U = R·L⁻¹·R (upper triangular, and
	// Uᵀ·U = R·L⁻ᵀ·L⁻¹·R = H⁻¹).
	hr := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			v := hm[perm[d-1-i]*d+perm[d-1-j]]
			if i == j {
				v += 0.01 * mean
			}
			hr.SetSym(i, j, v)
		}
	}
	for r := range rows {
		for j := range d {
			if !dead[perm[j]] {
				wd[r*d+j] = float64(w[r*d+perm[j]])
			}
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(hr) {
		return nil, nil, fmt.Errorf("convert: gptq: the calibration Hessian (%d×%d) is not positive definite", d, d)
	}
	l := ch.LTo(nil)
	var linv mat.TriDense
	if err := linv.InverseTri(l); err != nil {
		return nil, nil, fmt.Errorf("convert: gptq: %w", err)
	}
	ud := make([]float64, d*d)
	for i := range d {
		for j := i; j < d; j++ {
			ud[i*d+j] = linv.At(d-1-i, d-1-j)
		}
	}
	qp := make([]int8, rows*d)
	// Rows are independent: each worker rounds a share of them, column by
	// column; inside a block of columns the update is immediate, the rest
	// of the row gets the block's errors at once (lazy batch update).
	const blk = 128
	workers := min(rows, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs := make([]float64, blk)
			for r := wk; r < rows; r += workers {
				row := wd[r*d : (r+1)*d]
				s := scale[r]
				for b0 := 0; b0 < d; b0 += blk {
					b1 := min(d, b0+blk)
					for i := b0; i < b1; i++ {
						qv := lv.round(float32(row[i]), s)
						qp[r*d+i] = qv
						e := (row[i] - float64(qv)*float64(s)) / ud[i*d+i]
						errs[i-b0] = e
						urow := ud[i*d : i*d+b1]
						for j := i + 1; j < b1; j++ {
							row[j] -= e * urow[j]
						}
					}
					for i := b0; i < b1; i++ {
						e := errs[i-b0]
						if e == 0 {
							continue
						}
						urow := ud[i*d+b1 : (i+1)*d]
						tail := row[b1:]
						for j, u := range urow {
							tail[j] -= e * u
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	q = make([]int8, rows*d)
	for r := range rows {
		for j := range d {
			q[r*d+perm[j]] = qp[r*d+j]
		}
	}
	return q, scale, nil
}

func hdim(h *Hessian) int {
	if h == nil {
		return 0
	}
	return h.D
}

// outputError is Σ_r (w_r - q_r·s_r)ᵀ H (w_r - q_r·s_r) / N: the mean
// squared change of the layer's outputs on the calibration patches (for
// tests and the study).
func outputError(w []float32, q []int8, scale []float32, rows, d int, h *Hessian) float64 {
	total := 0.0
	diff := make([]float64, d)
	for r := range rows {
		for j := range d {
			diff[j] = float64(w[r*d+j]) - float64(q[r*d+j])*float64(scale[r])
		}
		for i := range d {
			if diff[i] == 0 {
				continue
			}
			s := 0.0
			hr := h.H[i*d : (i+1)*d]
			for j := range d {
				s += hr[j] * diff[j]
			}
			total += diff[i] * s
		}
	}
	return total / math.Max(1, float64(h.N))
}
