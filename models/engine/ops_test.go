package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/models/onnxpb"
)

// oneOpModel wraps a single node reading "x" [N,c,h,w] and writing "y".
func oneOpModel(op string, c, h, w int, attrs []onnxpb.Attr, extra ...onnxpb.Tensor) []byte {
	inputs := []string{"x"}
	for _, t := range extra {
		inputs = append(inputs, t.Name)
	}
	m := &onnxpb.Model{IRVersion: 8, Opset: 13, Graph: onnxpb.Graph{
		Nodes:        []onnxpb.Node{{Name: "op", OpType: op, Inputs: inputs, Outputs: []string{"y"}, Attrs: attrs}},
		Initializers: extra,
		Inputs:       []onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: int64(c)}, {Value: int64(h)}, {Value: int64(w)}}}},
		Outputs:      []onnxpb.ValueInfo{{Name: "y", ElemType: onnxpb.Float}},
	}}
	return m.Marshal()
}

// refPool is the textbook definition from the ONNX operator docs.
func refPool(x *tensor4, isMax bool, k, s, d, pt, pl, pb, pr int, ceil, countPad bool) *tensor4 {
	ext := (k-1)*d + 1
	out := func(n, p0, p1 int) int {
		span := n + p0 + p1 - ext
		if ceil {
			o := int(math.Ceil(float64(span)/float64(s))) + 1
			if (o-1)*s >= n+p0 {
				o--
			}
			return o
		}
		return span/s + 1
	}
	oh, ow := out(x.h, pt, pb), out(x.w, pl, pr)
	y := newT4(x.n, x.c, oh, ow)
	for n := 0; n < x.n; n++ {
		for c := 0; c < x.c; c++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					acc, cnt, padCnt := 0.0, 0, 0
					if isMax {
						acc = math.Inf(-1)
					}
					for i := 0; i < k; i++ {
						for j := 0; j < k; j++ {
							iy, ix := oy*s-pt+i*d, ox*s-pl+j*d
							if iy < x.h+pb && ix < x.w+pr {
								padCnt++
							}
							if iy < 0 || iy >= x.h || ix < 0 || ix >= x.w {
								continue
							}
							v := x.at(n, c, iy, ix)
							if isMax {
								acc = math.Max(acc, v)
							} else {
								acc += v
							}
							cnt++
						}
					}
					if !isMax {
						if countPad {
							cnt = padCnt
						}
						acc /= float64(cnt)
					}
					y.d[((n*x.c+c)*oh+oy)*ow+ox] = acc
				}
			}
		}
	}
	return y
}

func TestPoolsAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	type pc struct {
		k, s, d, pt, pl, pb, pr int
		ceil, countPad          bool
	}
	cases := []pc{
		{3, 2, 1, 1, 1, 1, 1, false, false}, // ResNet's MaxPool
		{2, 2, 1, 0, 0, 0, 0, false, false},
		{3, 1, 1, 1, 1, 1, 1, false, true},
		{3, 2, 1, 0, 1, 2, 0, true, false},
		{3, 2, 2, 1, 1, 1, 1, false, false},
		{5, 3, 1, 2, 2, 2, 2, true, true},
	}
	for _, op := range []string{"MaxPool", "AveragePool"} {
		for _, tc := range cases {
			if op == "AveragePool" && tc.d != 1 {
				continue // dilated AveragePool is opset 19
			}
			name := fmt.Sprintf("%s/%+v", op, tc)
			attrs := []onnxpb.Attr{
				onnxpb.IntsAttr("kernel_shape", int64(tc.k), int64(tc.k)),
				onnxpb.IntsAttr("strides", int64(tc.s), int64(tc.s)),
				onnxpb.IntsAttr("pads", int64(tc.pt), int64(tc.pl), int64(tc.pb), int64(tc.pr)),
			}
			if tc.ceil {
				attrs = append(attrs, onnxpb.IntAttr("ceil_mode", 1))
			}
			if op == "MaxPool" {
				attrs = append(attrs, onnxpb.IntsAttr("dilations", int64(tc.d), int64(tc.d)))
			} else if tc.countPad {
				attrs = append(attrs, onnxpb.IntAttr("count_include_pad", 1))
			}
			const n, c, h, w = 2, 3, 13, 10
			m, err := Load(oneOpModel(op, c, h, w, attrs))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			x := randSlice(r, n*c*h*w)
			out, err := m.NewSession().Run(x, n)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want := refPool(fromF32(x, n, c, h, w), op == "MaxPool", tc.k, tc.s, tc.d, tc.pt, tc.pl, tc.pb, tc.pr, tc.ceil, tc.countPad && op == "AveragePool")
			assertClose(t, name, out["y"], want.d, 1e-6)
		}
	}
}

// TestBatchNormAndBroadcastAdd covers a standalone BatchNormalization and
// an Add with a broadcast constant.
func TestBatchNormAndBroadcastAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const n, c, h, w = 2, 4, 3, 5
	scale, bias, mean, vr := randSlice(r, c), randSlice(r, c), randSlice(r, c), randSlice(r, c)
	for i := range vr {
		vr[i] = vr[i]*vr[i] + 0.1
	}
	x, out := runRandom(t, oneOpModel("BatchNormalization", c, h, w, []onnxpb.Attr{onnxpb.FloatAttr("epsilon", 1e-3)},
		onnxpb.FloatTensor("s", []int64{c}, scale), onnxpb.FloatTensor("b", []int64{c}, bias),
		onnxpb.FloatTensor("m", []int64{c}, mean), onnxpb.FloatTensor("v", []int64{c}, vr)), r, n, c*h*w)
	want := make([]float64, len(x))
	for i, v := range x {
		ch := (i / (h * w)) % c
		want[i] = (float64(v)-float64(mean[ch]))/math.Sqrt(float64(vr[ch])+1e-3)*float64(scale[ch]) + float64(bias[ch])
	}
	assertClose(t, "batchnorm", out["y"], want, 1e-5)

	cb := randSlice(r, c)
	m, err := Load(oneOpModel("Add", c, h, w, nil, onnxpb.FloatTensor("cb", []int64{c, 1, 1}, cb)))
	if err != nil {
		t.Fatal(err)
	}
	out, err = m.NewSession().Run(x, n)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range x {
		want[i] = float64(v) + float64(cb[(i/(h*w))%c])
	}
	assertClose(t, "broadcast add", out["y"], want, 1e-6)
}

// TestAllocsPerRunParallel uses shapes big enough that the GEMM, im2col
// and pooling are split over the worker goroutines.
func TestAllocsPerRunParallel(t *testing.T) {
	if pool.size() < 2 {
		t.Skip("one CPU: no parallel path")
	}
	for _, p := range []Precision{FP32, Int8} {
		t.Run(string(p), func(t *testing.T) { testAllocsPerRunParallel(t, p) })
	}
}

func testAllocsPerRunParallel(t *testing.T, p Precision) {
	r := rand.New(rand.NewPCG(15, 16))
	const c, h, w, o = 16, 64, 64, 32
	g := onnxpb.Graph{
		Nodes: []onnxpb.Node{
			{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"}, Attrs: []onnxpb.Attr{onnxpb.IntsAttr("kernel_shape", 3, 3), onnxpb.IntsAttr("pads", 1, 1, 1, 1)}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"c"}, Outputs: []string{"r"}},
			{Name: "pool", OpType: "MaxPool", Inputs: []string{"r"}, Outputs: []string{"y"}, Attrs: []onnxpb.Attr{onnxpb.IntsAttr("kernel_shape", 3, 3), onnxpb.IntsAttr("strides", 2, 2), onnxpb.IntsAttr("pads", 1, 1, 1, 1)}},
		},
		Initializers: []onnxpb.Tensor{
			onnxpb.FloatTensor("w", []int64{o, c, 3, 3}, randSlice(r, o*c*9)),
			onnxpb.FloatTensor("b", []int64{o}, randSlice(r, o)),
		},
		Inputs:  []onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: c}, {Value: h}, {Value: w}}}},
		Outputs: []onnxpb.ValueInfo{{Name: "y", ElemType: onnxpb.Float}},
	}
	m, err := LoadWith((&onnxpb.Model{IRVersion: 8, Opset: 13, Graph: g}).Marshal(), Options{Activations: p})
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSession()
	x := randSlice(r, c*h*w)
	if _, err := s.Run(x, 1); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := s.Run(x, 1); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 3 {
		t.Errorf("Run allocates %.1f times per call, want ≤ 3", allocs)
	}
}

// TestResidualOfOwnInput: Relu(Add(Conv1x1(x), x)) fuses into one conv
// whose residual is its own input; the output must not overwrite x while
// the GEMM still reads it.
func TestResidualOfOwnInput(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	const c, h, w = 300, 6, 7 // k > blockK: B is packed in several blocks
	wt, bias := randSlice(r, c*c), randSlice(r, c)
	g := onnxpb.Graph{
		Nodes: []onnxpb.Node{
			{Name: "r0", OpType: "Relu", Inputs: []string{"in"}, Outputs: []string{"x"}},
			{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"}},
			{Name: "add", OpType: "Add", Inputs: []string{"c", "x"}, Outputs: []string{"s"}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"s"}, Outputs: []string{"y"}},
		},
		Initializers: []onnxpb.Tensor{
			onnxpb.FloatTensor("w", []int64{c, c, 1, 1}, wt),
			onnxpb.FloatTensor("b", []int64{c}, bias),
		},
		Inputs:  []onnxpb.ValueInfo{{Name: "in", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: c}, {Value: h}, {Value: w}}}},
		Outputs: []onnxpb.ValueInfo{{Name: "y", ElemType: onnxpb.Float}},
	}
	model := (&onnxpb.Model{IRVersion: 8, Opset: 13, Graph: g}).Marshal()
	in := randSlice(r, c*h*w)
	x := refRelu(fromF32(in, 1, c, h, w))
	want := refRelu(refAdd(refConv(x, wt, c, 1, 1, bias, 1, 1, 0, 0, 0, 0, 1, 1), x))
	for _, p := range []Precision{FP32, Int8} {
		m, err := LoadWith(model, Options{Activations: p})
		if err != nil {
			t.Fatal(err)
		}
		if len(m.steps) != 2 {
			t.Fatalf("want Relu + one fused conv, got %d steps", len(m.steps))
		}
		out, err := m.NewSession().Run(in, 1)
		if err != nil {
			t.Fatal(err)
		}
		if p == FP32 {
			assertClose(t, "y", out["y"], want.d, 1e-5)
		} else if c := cosine(out["y"], f32s(want.d)); c < 0.9999 {
			t.Errorf("int8: cosine to the float64 reference %f", c)
		}
	}
}

// TestSharedConvWeightsFoldedOnce: two 1×1 convs read the same weight
// initializer and each is followed by its own BatchNormalization. The
// loader folds each BN into the conv's weights; the folding must not leak
// from one conv into the other (a conv folds in place only when it owns
// its weights).
func TestSharedConvWeightsFoldedOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const n, c, o, h, w = 1, 3, 2, 2, 2
	wt := randSlice(r, o*c)
	bn := func(p string) ([]float32, []float32, []onnxpb.Tensor) {
		s, b := randSlice(r, o), randSlice(r, o)
		return s, b, []onnxpb.Tensor{onnxpb.FloatTensor(p+".s", []int64{o}, s), onnxpb.FloatTensor(p+".b", []int64{o}, b),
			onnxpb.FloatTensor(p+".m", []int64{o}, make([]float32, o)), onnxpb.FloatTensor(p+".v", []int64{o}, []float32{1, 1})}
	}
	s1, b1, t1 := bn("bn1")
	s2, b2, t2 := bn("bn2")
	convAttrs := []onnxpb.Attr{onnxpb.IntsAttr("kernel_shape", 1, 1)}
	bnAttrs := []onnxpb.Attr{onnxpb.FloatAttr("epsilon", 0)}
	g := onnxpb.Graph{
		Initializers: append(append([]onnxpb.Tensor{onnxpb.FloatTensor("w", []int64{o, c, 1, 1}, wt)}, t1...), t2...),
		Nodes: []onnxpb.Node{
			{Name: "c1", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"c1"}, Attrs: convAttrs},
			{Name: "n1", OpType: "BatchNormalization", Inputs: []string{"c1", "bn1.s", "bn1.b", "bn1.m", "bn1.v"}, Outputs: []string{"y1"}, Attrs: bnAttrs},
			{Name: "c2", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"c2"}, Attrs: convAttrs},
			{Name: "n2", OpType: "BatchNormalization", Inputs: []string{"c2", "bn2.s", "bn2.b", "bn2.m", "bn2.v"}, Outputs: []string{"y2"}, Attrs: bnAttrs},
		},
		Inputs:  []onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: c}, {Value: h}, {Value: w}}}},
		Outputs: []onnxpb.ValueInfo{{Name: "y1", ElemType: onnxpb.Float}, {Name: "y2", ElemType: onnxpb.Float}},
	}
	x, out := runRandom(t, (&onnxpb.Model{IRVersion: 8, Opset: 13, Graph: g}).Marshal(), r, n, c*h*w)
	for i, bnp := range [][2][]float32{{s1, b1}, {s2, b2}} {
		want := make([]float64, o*h*w)
		for oc := 0; oc < o; oc++ {
			for p := 0; p < h*w; p++ {
				var acc float64
				for ic := 0; ic < c; ic++ {
					acc += float64(wt[oc*c+ic]) * float64(x[ic*h*w+p])
				}
				want[oc*h*w+p] = acc*float64(bnp[0][oc]) + float64(bnp[1][oc])
			}
		}
		assertClose(t, fmt.Sprintf("y%d", i+1), out[fmt.Sprintf("y%d", i+1)], want, 1e-5)
	}
}

// runRandom loads a model and runs it on a random batch of n inputs of
// size values each; returns the input and the outputs.
func runRandom(t *testing.T, model []byte, r *rand.Rand, n, size int) ([]float32, map[string][]float32) {
	t.Helper()
	m, err := LoadWith(model, fp32)
	if err != nil {
		t.Fatal(err)
	}
	x := randSlice(r, n*size)
	out, err := m.NewSession().Run(x, n)
	if err != nil {
		t.Fatal(err)
	}
	return x, out
}

// TestDequantizeAxes: DequantizeLinear of a constant (uint8 and int8, with
// zero points, per-axis on axis 1 and per-tensor) folded at load, checked
// through y = x + dequant(q) against the ONNX definition
// (q - zero_point) · scale, channel = (i / inner) % chans.
func TestDequantizeAxes(t *testing.T) {
	const c, h, w = 3, 2, 4
	r := rand.New(rand.NewPCG(31, 32))
	for _, tc := range []struct {
		name  string
		dtype onnxpb.DataType
		scale []float32
		zp    []byte
	}{
		{"uint8 per channel", onnxpb.Uint8, []float32{0.5, 0.25, 2}, []byte{128, 3, 250}},
		{"int8 per channel", onnxpb.Int8, []float32{0.1, 0.2, 0.3}, []byte{0, 0xff, 5}},
		{"uint8 per tensor", onnxpb.Uint8, []float32{0.75}, []byte{10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := make([]byte, c*h*w)
			for i := range raw {
				raw[i] = byte(r.IntN(256))
			}
			dims := []int64{1, c, h, w}
			zdims := []int64{int64(len(tc.zp))}
			attrs := []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}
			g := onnxpb.Graph{
				Initializers: []onnxpb.Tensor{
					{Name: "q", DataType: tc.dtype, Dims: dims, Raw: raw},
					onnxpb.FloatTensor("s", []int64{int64(len(tc.scale))}, tc.scale),
					{Name: "z", DataType: tc.dtype, Dims: zdims, Raw: tc.zp},
				},
				Nodes: []onnxpb.Node{
					{Name: "dq", OpType: "DequantizeLinear", Inputs: []string{"q", "s", "z"}, Outputs: []string{"d"}, Attrs: attrs},
					{Name: "add", OpType: "Add", Inputs: []string{"x", "d"}, Outputs: []string{"y"}},
				},
				Inputs:  []onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: c}, {Value: h}, {Value: w}}}},
				Outputs: []onnxpb.ValueInfo{{Name: "y", ElemType: onnxpb.Float}},
			}
			x, out := runRandom(t, (&onnxpb.Model{IRVersion: 8, Opset: 13, Graph: g}).Marshal(), r, 1, c*h*w)
			val := func(b byte) float64 {
				if tc.dtype == onnxpb.Int8 {
					return float64(int8(b))
				}
				return float64(b)
			}
			want := make([]float64, len(x))
			for i := range want {
				ch := 0
				if len(tc.scale) > 1 {
					ch = (i / (h * w)) % c
				}
				want[i] = float64(x[i]) + (val(raw[i])-val(tc.zp[ch]))*float64(tc.scale[ch])
			}
			assertClose(t, tc.name, out["y"], want, 1e-5)
		})
	}
}

// TestDequantize4Bit: packed int4/uint4 weights (two per byte, low nibble
// first), per axis, per tensor and in blocks along an axis (opset 21
// block_size: the scale has the data's rank, that axis ceil(D/B) long),
// checked against the ONNX definition written out here.
func TestDequantize4Bit(t *testing.T) {
	const c, h, w = 5, 2, 3 // odd element count: the last high nibble is padding
	const n = c * h * w
	r := rand.New(rand.NewPCG(41, 42))
	nib := func(raw []byte, i int, signed bool) float64 {
		b := raw[i/2]
		if i%2 == 1 {
			b >>= 4
		}
		v := int(b & 15)
		if signed && v > 7 {
			v -= 16
		}
		return float64(v)
	}
	for _, tc := range []struct {
		name   string
		dtype  onnxpb.DataType
		block  int64
		sdims  []int64
		nscale int
		// index of the scale (and zero point) of element i
		sidx func(i int) int
	}{
		{"int4 per channel", onnxpb.Int4, 0, []int64{c}, c, func(i int) int { return (i / (h * w)) % c }},
		{"uint4 per tensor", onnxpb.Uint4, 0, []int64{1}, 1, func(int) int { return 0 }},
		{"int4 blocks of 2 along axis 1", onnxpb.Int4, 2, []int64{1, 3, h, w}, 3 * h * w, func(i int) int {
			ch, in := (i/(h*w))%c, i%(h*w)
			return (ch/2)*(h*w) + in
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := make([]byte, (n+1)/2)
			for i := range raw {
				raw[i] = byte(r.IntN(256))
			}
			scale := make([]float32, tc.nscale)
			for i := range scale {
				scale[i] = 0.05 + r.Float32()
			}
			zp := make([]byte, (tc.nscale+1)/2)
			for i := range zp {
				zp[i] = byte(r.IntN(256))
			}
			attrs := []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}
			if tc.block > 0 {
				attrs = append(attrs, onnxpb.IntAttr("block_size", tc.block))
			}
			g := onnxpb.Graph{
				Initializers: []onnxpb.Tensor{
					{Name: "q", DataType: tc.dtype, Dims: []int64{1, c, h, w}, Raw: raw},
					onnxpb.FloatTensor("s", tc.sdims, scale),
					{Name: "z", DataType: tc.dtype, Dims: tc.sdims, Raw: zp},
				},
				Nodes: []onnxpb.Node{
					{Name: "dq", OpType: "DequantizeLinear", Inputs: []string{"q", "s", "z"}, Outputs: []string{"d"}, Attrs: attrs},
					{Name: "add", OpType: "Add", Inputs: []string{"x", "d"}, Outputs: []string{"y"}},
				},
				Inputs:  []onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: c}, {Value: h}, {Value: w}}}},
				Outputs: []onnxpb.ValueInfo{{Name: "y", ElemType: onnxpb.Float}},
			}
			x, out := runRandom(t, (&onnxpb.Model{IRVersion: 10, Opset: 21, Graph: g}).Marshal(), r, 1, n)
			signed := tc.dtype == onnxpb.Int4
			want := make([]float64, n)
			for i := range want {
				s := tc.sidx(i)
				want[i] = float64(x[i]) + (nib(raw, i, signed)-nib(zp, s, signed))*float64(scale[s])
			}
			assertClose(t, tc.name, out["y"], want, 1e-5)
		})
	}
	// A scale whose shape does not match the blocks is refused at load.
	g := onnxpb.Graph{
		Initializers: []onnxpb.Tensor{
			onnxpb.Int4Tensor("q", []int64{1, c, h, w}, make([]int8, n)),
			onnxpb.FloatTensor("s", []int64{1, 2, h, w}, make([]float32, 2*h*w)),
		},
		Nodes: []onnxpb.Node{
			{Name: "dq", OpType: "DequantizeLinear", Inputs: []string{"q", "s"}, Outputs: []string{"d"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1), onnxpb.IntAttr("block_size", 2)}},
			{Name: "add", OpType: "Add", Inputs: []string{"x", "d"}, Outputs: []string{"y"}},
		},
		Inputs:  []onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: c}, {Value: h}, {Value: w}}}},
		Outputs: []onnxpb.ValueInfo{{Name: "y", ElemType: onnxpb.Float}},
	}
	if _, err := Load((&onnxpb.Model{IRVersion: 10, Opset: 21, Graph: g}).Marshal()); err == nil || !strings.Contains(err.Error(), "block_size") {
		t.Fatalf("mismatched block scale: err = %v, want a block_size error", err)
	}
}

func f32s(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}
