package convert

import (
	"fmt"
	"math"

	"github.com/lookalike/lookalike/models/onnxpb"
)

// Layer describes one conv for a quantisation Plan.
type Layer struct {
	Name      string // the Keras layer name, e.g. "conv4_block3_2_conv"
	Index     int    // 0-based position among the model's convs
	Cout, Cin int
	KH, KW    int
}

// Params is the number of weights of the conv.
func (l Layer) Params() int { return l.Cout * l.Cin * l.KH * l.KW }

// Quant is how one conv's weights are stored.
type Quant struct {
	// Bits is 4 (packed int4), 5..7 (int8 holding only that many bits'
	// levels), 8 (int8, max-abs scale) or 32 (float32).
	Bits int
	// Block > 0 (4 bits only) gives one scale per Block consecutive input
	// channels of each output channel and kernel position (ONNX
	// block_size along axis 1); 0 gives one scale per output channel.
	Block int
}

// Plan picks each conv's storage.
type Plan func(Layer) Quant

// lowBitConv stores w with `bits`-bit levels: packed int4 for 4 bits, an
// int8 tensor using only 2^bits levels for 5..7 (the file stays plain
// int8, and the wire compression, which codes bytes by frequency, gets
// close to the levels' entropy).
func (c *converter) lowBitConv(layer, wname string, w []float32, bits, cout, cin, kh, kw, block int) error {
	k := kh * kw
	dims := []int64{int64(cout), int64(cin), int64(kh), int64(kw)}
	attrs := []onnxpb.Attr{onnxpb.IntAttr("axis", 0)}
	var q []int8
	var scale []float32
	var sdims []int64
	if h := c.opt.Calibration[layer]; h != nil && (block <= 0 || block >= cin) {
		var err error
		if q, scale, err = gptq(w, cout, cin*k, bits, h); err != nil {
			return fmt.Errorf("convert: layer %q: %w", layer, err)
		}
		sdims = []int64{int64(cout)}
	} else if block <= 0 || block >= cin {
		per := cin * k
		q, scale = QuantizeBits(w, bits, cout, func(g int, idx []int) []int {
			for i := g * per; i < (g+1)*per; i++ {
				idx = append(idx, i)
			}
			return idx
		})
		sdims = []int64{int64(cout)}
	} else {
		nb := (cin + block - 1) / block
		// group (o, b, p): input channels b·block.. of output channel o at
		// kernel position p, in the scale's row-major order.
		q, scale = QuantizeBits(w, bits, cout*nb*k, func(g int, idx []int) []int {
			o, b, p := g/(nb*k), (g/k)%nb, g%k
			for ci := b * block; ci < min(cin, (b+1)*block); ci++ {
				idx = append(idx, (o*cin+ci)*k+p)
			}
			return idx
		})
		sdims = []int64{int64(cout), int64(nb), int64(kh), int64(kw)}
		attrs = []onnxpb.Attr{onnxpb.IntAttr("axis", 1), onnxpb.IntAttr("block_size", int64(block))}
	}
	qt := onnxpb.Int8Tensor(layer+".wq", dims, q)
	if bits == 4 {
		qt = onnxpb.Int4Tensor(layer+".wq", dims, q)
	}
	c.g.Initializers = append(c.g.Initializers, qt, onnxpb.FloatTensor(layer+".scale", sdims, scale))
	c.g.Nodes = append(c.g.Nodes, onnxpb.Node{
		Name: layer + ".dequantize", OpType: "DequantizeLinear",
		Inputs: []string{layer + ".wq", layer + ".scale"}, Outputs: []string{wname},
		Attrs: attrs,
	})
	return nil
}

// QuantizeInt4 quantises the groups of w to int4 (-8..7, zero point 0);
// see QuantizeBits.
func QuantizeInt4(w []float32, groups int, group func(g int, idx []int) []int) (q []int8, scale []float32) {
	return QuantizeBits(w, 4, groups, group)
}

// QuantizeBits quantises the groups of w to signed `bits`-bit levels
// (-2^(bits-1)..2^(bits-1)-1, zero point 0),
// each group with the scale that minimises its squared error among clip
// ratios 0.30..1.00 of its largest magnitude (coarse, then fine) (for 4 bits the best clip is
// well inside the maximum: the levels are better spent on the bulk of the
// weights than on one outlier). group(g) lists the element indices of
// group g; the result q has w's layout, scale one value per group.
func QuantizeBits(w []float32, bits, groups int, group func(g int, idx []int) []int) (q []int8, scale []float32) {
	lv := levels(bits)
	q = make([]int8, len(w))
	scale = make([]float32, groups)
	var idx []int
	vals := make([]float32, 0, 64)
	for g := range groups {
		idx = group(g, idx[:0])
		vals = vals[:0]
		for _, i := range idx {
			vals = append(vals, w[i])
		}
		s := bestScale(vals, lv)
		scale[g] = s
		for j, i := range idx {
			q[i] = lv.round(vals[j], s)
		}
	}
	return q, scale
}

// levelRange is a signed quantisation grid lo..hi.
type levelRange struct{ lo, hi float64 }

func levels(bits int) levelRange {
	h := float64(int(1) << (bits - 1))
	return levelRange{-h, h - 1}
}

func (l levelRange) round(v, s float32) int8 {
	r := math.Round(float64(v) / float64(s))
	return int8(max(l.lo, min(l.hi, r)))
}

// bestScale is the MSE-minimising scale of vals on the grid (1 if all
// zero).
func bestScale(vals []float32, lv levelRange) float32 {
	m := 0.0
	for _, v := range vals {
		m = max(m, math.Abs(float64(v)))
	}
	if m == 0 {
		return 1
	}
	sq := func(s float32) float64 {
		e := 0.0
		for _, v := range vals {
			d := float64(v - float32(lv.round(v, s))*s)
			e += d * d
		}
		return e
	}
	// A coarse pass over clip ratios 0.30..1.00, then a fine one around
	// the best (the error is smooth enough in the ratio for this).
	bestR, bestErr := 1.0, math.Inf(1)
	for r := 0.30; r <= 1.0001; r += 0.05 {
		if e := sq(float32(m * r / lv.hi)); e < bestErr {
			bestR, bestErr = r, e
		}
	}
	lo, hi := max(0.30, bestR-0.05), min(1.0, bestR+0.05)
	for r := lo; r <= hi+1e-9; r += 0.01 {
		if e := sq(float32(m * r / lv.hi)); e < bestErr {
			bestR, bestErr = r, e
		}
	}
	return float32(m * bestR / lv.hi)
}

// DefaultPlan is the shipped plan, chosen from the per-conv study in
// docs/quality.md (each conv alone at 4 bits, GPTQ-rounded, the rest int8,
// cosine of the pooled features lost against all-int8 on catalogue
// photos): 4 bits wherever it is cheap; 8 bits for the small convs
// (conv1 and every conv of ≤ 70k weights: 0.9M weights in all, half the
// loss of stage 2 and 3, about 0.4 MB more on the wire). The five stage-5
// convs that lose the most alone were kept at 5 bits until issue #11's
// first-visit budget: at 4 bits they save 0.83 MB on the wire for a loss
// in retrieval within the noise of the held-out evaluation (docs/quality.md).
func DefaultPlan(l Layer) Quant {
	if l.Index == 0 || l.Params() <= 70_000 {
		return Quant{Bits: 8}
	}
	return Quant{Bits: 4}
}
