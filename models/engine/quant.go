package engine

import (
	"fmt"
	"math"
)

// Int8 activations: a convolution whose input is provably non-negative
// (it comes from a Relu, or a pool of one — every convolution of ResNet50
// but the first) runs as an int8 GEMM. Its weights are quantised once at
// load per output channel (symmetric int8, from whatever float weights the
// file dequantised to: int8, 4-bit or float32 files alike); its input is
// quantised per image and per tensor to uint8 with the scale max/255,
// measured on the tensor itself at run time (no calibration data). The
// products are summed exactly in int32 and dequantised in the epilogue:
//
//	y[o][j] = float32(Σ q_w[o][p]·q_x[p][j]) · (s_w[o]·s_x) + bias[o] (+ residual), Relu
//
// Measured on catalogue photos: the lowest cosine between the pooled
// gap+gmp features of this path and of float32 activations is ≈ 0.998
// (7-bit activations, what a relaxed-SIMD i7 dot product would allow, give
// 0.993; 7-bit weights 0.989: so u8 × s8 it is). Other convolutions, and
// every one when the model is loaded with FP32, run in float32.

// Precision is the arithmetic of the convolutions' activations.
type Precision string

const (
	// FP32 runs every convolution in float32 (weights dequantised at load).
	FP32 Precision = "fp32"
	// Int8 runs the convolutions with non-negative inputs as u8×s8 GEMMs
	// with int32 accumulation.
	Int8 Precision = "int8"
)

// DefaultActivations is what Load uses and what an empty
// Options.Activations means.
const DefaultActivations = Int8

// ParsePrecision accepts "fp32", "int8" and "" (DefaultActivations).
func ParsePrecision(s string) (Precision, error) {
	switch Precision(s) {
	case "":
		return DefaultActivations, nil
	case FP32, Int8:
		return Precision(s), nil
	}
	return "", fmt.Errorf("engine: unknown activation precision %q (want fp32 or int8)", s)
}

// Options adjust LoadWith.
type Options struct {
	// Activations: FP32 or Int8; "" is DefaultActivations.
	Activations Precision
}

// LoadWith is Load with options.
func LoadWith(b []byte, opt Options) (*Model, error) {
	p, err := ParsePrecision(string(opt.Activations))
	if err != nil {
		return nil, err
	}
	return load(b, p)
}

// Activations reports the precision the model was loaded with.
func (m *Model) Activations() Precision { return m.prec }

// Int8Convs is the number of convolutions that run with int8 activations
// (the others run in float32).
func (m *Model) Int8Convs() int {
	n := 0
	for _, st := range m.steps {
		if c, ok := st.(*convStep); ok && c.q != nil {
			n++
		}
	}
	return n
}

// qconv is the int8 form of a convolution.
type qconv struct {
	w      *qweights
	bias   []float32 // padded to qRowPad rows
	rowSum []int32   // Σ_p q_w[o][p], for the zero point of a signed input
}

// planInt8 marks the convolutions that run with int8 activations: group
// 1 and K within qMaxK. Those whose input no step can make negative (it
// comes from a Relu, or a pool of one) quantise it with zero point 0; the
// others (the stem, reading the image) with a zero point.
// Called after fuse, before pack.
func (l *loader) planInt8() {
	m := l.m
	nonneg := make([]bool, len(m.values))
	for _, st := range m.steps {
		switch s := st.(type) {
		case *convStep:
			if s.group == 1 && s.kdim() <= qMaxK && len(s.w) > 0 {
				s.int8 = true
				s.signedIn = !nonneg[s.inIDs[0]]
			}
			nonneg[s.outIDs[0]] = s.relu
		case *addStep:
			nonneg[s.outIDs[0]] = s.relu || (nonneg[s.inIDs[0]] && nonneg[s.inIDs[1]])
		case *reluStep:
			nonneg[s.outIDs[0]] = true
		case *poolStep:
			nonneg[s.outIDs[0]] = nonneg[s.inIDs[0]]
		}
	}
}

// packInt8 quantises the weights of a convolution planned for int8.
func (c *convStep) packInt8() {
	kern := activeQKernel()
	lay := kern.qLayout
	if platformQgemm != nil {
		lay = genericQKernel.qLayout // the wasm kernel reads the generic layout
	}
	q := &qconv{w: quantizeWeights(c.w, c.cout, c.kdim(), lay)}
	q.bias = make([]float32, roundUp(c.cout, qRowPad))
	copy(q.bias, c.bias)
	if c.signedIn {
		q.rowSum = make([]int32, c.cout)
		for o := range q.rowSum {
			for p := 0; p < q.w.k; p++ {
				q.rowSum[o] += q.w.at(o, p)
			}
		}
	}
	c.q = q
	c.w = nil
}

// qScratch is the byte scratch an int8 convolution needs: its input
// quantised and its im2col matrix (when it is not its own B operand), plus
// 16 bytes of slack each for kernels that read whole vectors.
func (c *convStep) qScratch(sh [][]int) int {
	if c.q == nil || c.floatB() {
		return 0
	}
	in, o := sh[c.inIDs[0]], sh[c.outIDs[0]]
	return in[1]*in[2]*in[3] + 16 + c.kdim()*o[2]*o[3] + 16
}

// floatB is true when the GEMM quantises the float input itself while
// packing it: a pointwise convolution of a non-negative input, natively
// (the wasm kernel packs from bytes only).
func (c *convStep) floatB() bool { return c.pointwise() && !c.signedIn && platformQgemm == nil }

// scaleFor returns the quantisation of a tensor with values in [mn, mx]
// (the range is widened to include 0): q = clamp(round(x·inv) + z, 0, 255)
// and x ≈ s·(q − z).
func scaleFor(mn, mx float32) (inv, s float32, z uint8) {
	mn, mx = min(mn, 0), max(mx, 0)
	span := mx - mn
	if !(span > 0) || span >= maxFinite32 {
		return 0, 0, 0 // all zero, or unusable (Inf, NaN): every q is 0
	}
	inv, s = 255/span, span/255
	return inv, s, quant8(-mn, inv)
}

// runInt8 computes image b: xb is its input (C×H×W), yb its output,
// holding the residual when acc is set. The input's maximum comes from the
// convolution that wrote it when there is one (its GEMM tracks what it
// stores), else from a pass over the input.
func (c *convStep) runInt8(s *Session, b int, xb, yb []float32, acc bool, g geom) {
	q := c.q
	ohw := g.oh * g.ow
	hw := g.h * g.w
	var mn, mx float32
	switch in := c.inIDs[0]; {
	case c.signedIn:
		mn, mx = minmaxFast(xb)
	case s.vmaxOK[in*s.n+b]:
		mx = max(s.vmax[in*s.n+b], 0)
	default:
		mx = amaxFast(xb)
	}
	inv, sx, z := scaleFor(mn, mx)
	rs := s.scratch[:2*len(q.bias)]
	rs, bias := rs[:len(q.bias)], rs[len(q.bias):]
	for o := range rs {
		rs[o], bias[o] = 0, q.bias[o]
		if o < c.cout {
			rs[o] = q.w.scale[o] * sx
			if z != 0 {
				// Σ w·(q − z) = Σ w·q − z·Σ w: folded into the bias, so the
				// kernels see one form. Computed here, identically on every
				// platform; explicit conversions keep Go from fusing.
				bias[o] = q.bias[o] - float32(float32(int32(z)*q.rowSum[o])*rs[o])
			}
		}
	}
	flags := qMax
	if acc {
		flags |= qAccumulate
	}
	if c.relu {
		flags |= qRelu
	}
	var src qsrc
	if c.floatB() {
		src = qsrc{f32: xb, ld: ohw, inv: inv}
	} else {
		cin := c.cinG
		xq := s.bscratch[: cin*hw : cin*hw+16]
		quantizeFast(xq, xb, inv, z)
		if c.pointwise() {
			src = qsrc{u8: xq, ld: ohw}
		} else {
			col := s.bscratch[cin*hw+16:]
			col = col[: c.kdim()*ohw : c.kdim()*ohw+16]
			s.im2col8Par(col, xq, cin, &c.win, g, z)
			src = qsrc{u8: col, ld: ohw}
		}
	}
	out := c.outIDs[0]*s.n + b
	s.vmax[out] = qgemm(q.w, 0, c.cout, ohw, src, yb, ohw, rs, bias, flags)
	s.vmaxOK[out] = true
}

const maxFinite32 = 3.4028234663852886e38

// amax returns the largest value of x (0 for an empty or all-negative x).
func amax(x []float32) float32 {
	var m float32
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

// minmax returns the smallest and largest values of x, each widened to
// include 0.
func minmax(x []float32) (float32, float32) {
	var lo, hi float32
	for _, v := range x {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	return lo, hi
}

// quantize writes quant8z(x[i], inv, z) to dst[i].
func quantize(dst []byte, x []float32, inv float32, z uint8) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = quant8z(v, inv, z)
	}
}

// quant8z is quant8 with a zero point: clamp(round(x·inv) + z, 0, 255).
func quant8z(x, inv float32, z uint8) uint8 {
	v := x * inv
	if v != v {
		return 0
	}
	v = max(-512, min(512, v))
	r := int(math.RoundToEven(float64(v))) + int(z)
	return uint8(max(0, min(255, r)))
}

// Fast versions: assembly natively (qgemm_amd64.go), the SIMD kernel in
// js/wasm (gemm_wasm.go); the Go loops above elsewhere.
var (
	amaxFast     = amax
	minmaxFast   = minmax
	quantizeFast = quantize
)

// im2col8 is im2col over quantised bytes (see im2colOf).
func im2col8(dst, x []byte, c int, win *window, g geom, pad byte) { im2colOf(dst, x, c, win, g, pad) }

// im2col8Fast is im2col8, or the SIMD kernel's in js/wasm.
var im2col8Fast = im2col8
