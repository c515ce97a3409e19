package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/models/onnxpb"
)

// tensor4 is a dense NCHW tensor for the reference implementation.
type tensor4 struct {
	n, c, h, w int
	d          []float64
}

func (t *tensor4) at(n, c, y, x int) float64 { return t.d[((n*t.c+c)*t.h+y)*t.w+x] }

func newT4(n, c, h, w int) *tensor4 { return &tensor4{n, c, h, w, make([]float64, n*c*h*w)} }

func fromF32(x []float32, n, c, h, w int) *tensor4 {
	t := newT4(n, c, h, w)
	for i, v := range x {
		t.d[i] = float64(v)
	}
	return t
}

// refConv is a direct convolution: no im2col, no GEMM.
func refConv(x *tensor4, w []float32, o, kh, kw int, bias []float32, sh, sw, pt, pl, pb, pr, dh, dw int) *tensor4 {
	oh := (x.h+pt+pb-((kh-1)*dh+1))/sh + 1
	ow := (x.w+pl+pr-((kw-1)*dw+1))/sw + 1
	y := newT4(x.n, o, oh, ow)
	for n := 0; n < x.n; n++ {
		for oc := 0; oc < o; oc++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					s := float64(bias[oc])
					for ic := 0; ic < x.c; ic++ {
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								iy, ix := oy*sh-pt+i*dh, ox*sw-pl+j*dw
								if iy < 0 || iy >= x.h || ix < 0 || ix >= x.w {
									continue
								}
								s += x.at(n, ic, iy, ix) * float64(w[((oc*x.c+ic)*kh+i)*kw+j])
							}
						}
					}
					y.d[((n*o+oc)*oh+oy)*ow+ox] = s
				}
			}
		}
	}
	return y
}

func refRelu(t *tensor4) *tensor4 {
	y := &tensor4{t.n, t.c, t.h, t.w, make([]float64, len(t.d))}
	for i, v := range t.d {
		y.d[i] = math.Max(v, 0)
	}
	return y
}

func refAdd(a, b *tensor4) *tensor4 {
	y := &tensor4{a.n, a.c, a.h, a.w, make([]float64, len(a.d))}
	for i := range a.d {
		y.d[i] = a.d[i] + b.d[i]
	}
	return y
}

func refMaxPool(x *tensor4, k, s, p int) *tensor4 {
	oh, ow := (x.h+2*p-k)/s+1, (x.w+2*p-k)/s+1
	y := newT4(x.n, x.c, oh, ow)
	for n := 0; n < x.n; n++ {
		for c := 0; c < x.c; c++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					m := math.Inf(-1)
					for i := 0; i < k; i++ {
						for j := 0; j < k; j++ {
							iy, ix := oy*s-p+i, ox*s-p+j
							if iy >= 0 && iy < x.h && ix >= 0 && ix < x.w {
								m = math.Max(m, x.at(n, c, iy, ix))
							}
						}
					}
					y.d[((n*x.c+c)*oh+oy)*ow+ox] = m
				}
			}
		}
	}
	return y
}

// refGlobal returns [N×C] average or max over H×W.
func refGlobal(x *tensor4, isMax bool) []float64 {
	out := make([]float64, x.n*x.c)
	for i := range out {
		plane := x.d[i*x.h*x.w : (i+1)*x.h*x.w]
		acc := 0.0
		if isMax {
			acc = math.Inf(-1)
		}
		for _, v := range plane {
			if isMax {
				acc = math.Max(acc, v)
			} else {
				acc += v
			}
		}
		if !isMax {
			acc /= float64(len(plane))
		}
		out[i] = acc
	}
	return out
}

func assertClose(t *testing.T, name string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", name, len(got), len(want))
	}
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	scale = math.Max(scale, 1e-6)
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol*scale) {
			t.Fatalf("%s: element %d: got %g, want %g (|diff|/max|want| = %g > %g)", name, i, got[i], want[i], d/scale, tol)
		}
	}
}

func f64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// convModel builds a one-Conv model with float weights.
func convModel(c, h, w, o, kh, kw int, attrs []onnxpb.Attr, wt, bias []float32) []byte {
	m := &onnxpb.Model{IRVersion: 8, Opset: 13, Graph: onnxpb.Graph{
		Name:  "conv",
		Nodes: []onnxpb.Node{{Name: "c", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: attrs}},
		Initializers: []onnxpb.Tensor{
			onnxpb.FloatTensor("w", []int64{int64(o), int64(c), int64(kh), int64(kw)}, wt),
			onnxpb.FloatTensor("b", []int64{int64(o)}, bias),
		},
		Inputs:  []onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: int64(c)}, {Value: int64(h)}, {Value: int64(w)}}}},
		Outputs: []onnxpb.ValueInfo{{Name: "y", ElemType: onnxpb.Float}},
	}}
	return m.Marshal()
}

func TestConvAgainstDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	cases := []struct {
		c, h, w, o, k, s, pt, pl, pb, pr, d int
	}{
		{5, 9, 11, 7, 1, 1, 0, 0, 0, 0, 1},
		{5, 9, 11, 7, 1, 2, 0, 0, 0, 0, 1},
		{3, 12, 10, 13, 3, 1, 1, 1, 1, 1, 1},
		{3, 12, 10, 13, 3, 2, 1, 1, 1, 1, 1},
		{4, 13, 9, 6, 3, 1, 0, 2, 1, 0, 1},
		{3, 23, 21, 8, 7, 2, 3, 3, 3, 3, 1},
		{3, 16, 16, 5, 7, 1, 3, 3, 3, 3, 1},
		{2, 15, 14, 4, 3, 1, 2, 2, 2, 2, 2},
		{6, 8, 8, 20, 1, 1, 1, 1, 1, 1, 1},
	}
	for _, mode := range []string{"auto", "generic"} {
		for _, tc := range cases {
			name := fmt.Sprintf("%s/c%d_%dx%d_o%d_k%d_s%d_p%d%d%d%d_d%d", mode, tc.c, tc.h, tc.w, tc.o, tc.k, tc.s, tc.pt, tc.pl, tc.pb, tc.pr, tc.d)
			t.Run(name, func(t *testing.T) {
				if err := SetGemm(mode); err != nil {
					t.Fatal(err)
				}
				defer SetGemm("auto")
				wt := randSlice(r, tc.o*tc.c*tc.k*tc.k)
				bias := randSlice(r, tc.o)
				attrs := []onnxpb.Attr{
					onnxpb.IntsAttr("kernel_shape", int64(tc.k), int64(tc.k)),
					onnxpb.IntsAttr("strides", int64(tc.s), int64(tc.s)),
					onnxpb.IntsAttr("pads", int64(tc.pt), int64(tc.pl), int64(tc.pb), int64(tc.pr)),
					onnxpb.IntsAttr("dilations", int64(tc.d), int64(tc.d)),
				}
				m, err := LoadWith(convModel(tc.c, tc.h, tc.w, tc.o, tc.k, tc.k, attrs, wt, bias), fp32)
				if err != nil {
					t.Fatal(err)
				}
				const n = 2
				x := randSlice(r, n*tc.c*tc.h*tc.w)
				out, err := m.NewSession().Run(x, n)
				if err != nil {
					t.Fatal(err)
				}
				want := refConv(fromF32(x, n, tc.c, tc.h, tc.w), wt, tc.o, tc.k, tc.k, bias, tc.s, tc.s, tc.pt, tc.pl, tc.pb, tc.pr, tc.d, tc.d)
				assertClose(t, "y", out["y"], want.d, 1e-5)
			})
		}
	}
}

// tinyNet is a small ResNet-shaped model in the contract's form: int8 QDQ
// conv weights, a stem conv 7×7/2 + Relu, MaxPool 3×3/2, a bottleneck block
// with a projection shortcut and another with an identity shortcut, then
// conv5 / gap / gmp outputs and an fp32 Gemm+Softmax head.
type tinyNet struct {
	model     []byte
	w         map[string][]float32 // dequantised weights
	b         map[string][]float32
	shapes    map[string][4]int // O, I, k, stride
	fc, fcB   []float32
	classes   int
	c, h, wdt int
}

func buildTinyNet(r *rand.Rand) *tinyNet {
	tn := &tinyNet{w: map[string][]float32{}, b: map[string][]float32{}, shapes: map[string][4]int{}, classes: 10, c: 3, h: 29, wdt: 31}
	g := onnxpb.Graph{Name: "tiny"}
	conv := func(name, in, out string, o, i, k, s, pad int) {
		q := make([]int8, o*i*k*k)
		scale := make([]float32, o)
		w := make([]float32, len(q))
		per := i * k * k
		for oc := 0; oc < o; oc++ {
			scale[oc] = 0.01 + r.Float32()*0.02
			for p := 0; p < per; p++ {
				v := int8(r.IntN(255) - 127)
				q[oc*per+p] = v
				w[oc*per+p] = float32(v) * scale[oc]
			}
		}
		b := randSlice(r, o)
		tn.w[name], tn.b[name], tn.shapes[name] = w, b, [4]int{o, i, k, s}
		dims := []int64{int64(o), int64(i), int64(k), int64(k)}
		g.Initializers = append(g.Initializers,
			onnxpb.Int8Tensor(name+".wq", dims, q),
			onnxpb.FloatTensor(name+".scale", []int64{int64(o)}, scale),
			onnxpb.Int8Tensor(name+".zp", []int64{int64(o)}, make([]int8, o)),
			onnxpb.FloatTensor(name+".b", []int64{int64(o)}, b))
		g.Nodes = append(g.Nodes,
			onnxpb.Node{Name: name + "_dq", OpType: "DequantizeLinear", Inputs: []string{name + ".wq", name + ".scale", name + ".zp"}, Outputs: []string{name + ".w"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 0)}},
			onnxpb.Node{Name: name, OpType: "Conv", Inputs: []string{in, name + ".w", name + ".b"}, Outputs: []string{out}, Attrs: []onnxpb.Attr{
				onnxpb.IntsAttr("kernel_shape", int64(k), int64(k)), onnxpb.IntsAttr("strides", int64(s), int64(s)),
				onnxpb.IntsAttr("pads", int64(pad), int64(pad), int64(pad), int64(pad)), onnxpb.IntsAttr("dilations", 1, 1), onnxpb.IntAttr("group", 1)}})
	}
	relu := func(in, out string) {
		g.Nodes = append(g.Nodes, onnxpb.Node{Name: out, OpType: "Relu", Inputs: []string{in}, Outputs: []string{out}})
	}
	conv("conv1", "input", "conv1.y", 8, 3, 7, 2, 3)
	relu("conv1.y", "conv1.r")
	g.Nodes = append(g.Nodes, onnxpb.Node{Name: "pool1", OpType: "MaxPool", Inputs: []string{"conv1.r"}, Outputs: []string{"pool1"}, Attrs: []onnxpb.Attr{
		onnxpb.IntsAttr("kernel_shape", 3, 3), onnxpb.IntsAttr("strides", 2, 2), onnxpb.IntsAttr("pads", 1, 1, 1, 1)}})
	// Block a: projection shortcut, stride 2 on the 1×1 convs.
	conv("a2a", "pool1", "a2a.y", 4, 8, 1, 2, 0)
	relu("a2a.y", "a2a.r")
	conv("a2b", "a2a.r", "a2b.y", 4, 4, 3, 1, 1)
	relu("a2b.y", "a2b.r")
	conv("a2c", "a2b.r", "a2c.y", 12, 4, 1, 1, 0)
	conv("a1", "pool1", "a1.y", 12, 8, 1, 2, 0)
	g.Nodes = append(g.Nodes, onnxpb.Node{Name: "a_add", OpType: "Add", Inputs: []string{"a2c.y", "a1.y"}, Outputs: []string{"a.sum"}})
	relu("a.sum", "a.out")
	// Block b: identity shortcut; the shortcut is the Add's first input.
	conv("b2a", "a.out", "b2a.y", 4, 12, 1, 1, 0)
	relu("b2a.y", "b2a.r")
	conv("b2b", "b2a.r", "b2b.y", 4, 4, 3, 1, 1)
	relu("b2b.y", "b2b.r")
	conv("b2c", "b2b.r", "b2c.y", 12, 4, 1, 1, 0)
	g.Nodes = append(g.Nodes, onnxpb.Node{Name: "b_add", OpType: "Add", Inputs: []string{"a.out", "b2c.y"}, Outputs: []string{"b.sum"}})
	relu("b.sum", "conv5")
	g.Nodes = append(g.Nodes,
		onnxpb.Node{Name: "gap_pool", OpType: "GlobalAveragePool", Inputs: []string{"conv5"}, Outputs: []string{"gap4"}},
		onnxpb.Node{Name: "gap", OpType: "Flatten", Inputs: []string{"gap4"}, Outputs: []string{"gap"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
		onnxpb.Node{Name: "gmp_pool", OpType: "GlobalMaxPool", Inputs: []string{"conv5"}, Outputs: []string{"gmp4"}},
		onnxpb.Node{Name: "gmp", OpType: "Flatten", Inputs: []string{"gmp4"}, Outputs: []string{"gmp"}},
		onnxpb.Node{Name: "fc", OpType: "Gemm", Inputs: []string{"gap", "fc.w", "fc.b"}, Outputs: []string{"logits"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("transB", 1)}},
		onnxpb.Node{Name: "probs", OpType: "Softmax", Inputs: []string{"logits"}, Outputs: []string{"probs"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
	)
	tn.fc, tn.fcB = randSlice(r, tn.classes*12), randSlice(r, tn.classes)
	g.Initializers = append(g.Initializers,
		onnxpb.FloatTensor("fc.w", []int64{int64(tn.classes), 12}, tn.fc),
		onnxpb.FloatTensor("fc.b", []int64{int64(tn.classes)}, tn.fcB))
	g.Inputs = []onnxpb.ValueInfo{{Name: "input", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: 3}, {Value: int64(tn.h)}, {Value: int64(tn.wdt)}}}}
	for _, o := range []string{"conv5", "gap", "gmp", "probs"} {
		g.Outputs = append(g.Outputs, onnxpb.ValueInfo{Name: o, ElemType: onnxpb.Float})
	}
	m := &onnxpb.Model{IRVersion: 8, Opset: 13, ProducerName: "engine-test",
		Metadata: []onnxpb.KV{{Key: "lookalike.weights", Value: "int8-per-channel-symmetric"}}, Graph: g}
	tn.model = m.Marshal()
	return tn
}

// reference runs the tiny net with the direct reference ops.
func (tn *tinyNet) reference(x []float32, n int) map[string][]float64 {
	conv := func(name string, in *tensor4) *tensor4 {
		s := tn.shapes[name]
		pad := s[2] / 2
		return refConv(in, tn.w[name], s[0], s[2], s[2], tn.b[name], s[3], s[3], pad, pad, pad, pad, 1, 1)
	}
	t := fromF32(x, n, tn.c, tn.h, tn.wdt)
	c1 := refRelu(conv("conv1", t))
	p1 := refMaxPool(c1, 3, 2, 1)
	a := refRelu(conv("a2a", p1))
	a = refRelu(conv("a2b", a))
	aOut := refRelu(refAdd(conv("a2c", a), conv("a1", p1)))
	b := refRelu(conv("b2a", aOut))
	b = refRelu(conv("b2b", b))
	conv5 := refRelu(refAdd(aOut, conv("b2c", b)))
	gap := refGlobal(conv5, false)
	probs := make([]float64, n*tn.classes)
	for i := 0; i < n; i++ {
		mx := math.Inf(-1)
		for j := 0; j < tn.classes; j++ {
			s := float64(tn.fcB[j])
			for k := 0; k < 12; k++ {
				s += gap[i*12+k] * float64(tn.fc[j*12+k])
			}
			probs[i*tn.classes+j] = s
			mx = math.Max(mx, s)
		}
		sum := 0.0
		for j := 0; j < tn.classes; j++ {
			probs[i*tn.classes+j] = math.Exp(probs[i*tn.classes+j] - mx)
			sum += probs[i*tn.classes+j]
		}
		for j := 0; j < tn.classes; j++ {
			probs[i*tn.classes+j] /= sum
		}
	}
	return map[string][]float64{"conv5": conv5.d, "gap": gap, "gmp": refGlobal(conv5, true), "probs": probs}
}

func TestTinyNetAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	tn := buildTinyNet(r)
	m, err := LoadWith(tn.model, fp32)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Outputs(), ","); got != "conv5,gap,gmp,probs" {
		t.Errorf("Outputs() = %s", got)
	}
	if v, ok := m.Metadata("lookalike.weights"); !ok || v != "int8-per-channel-symmetric" {
		t.Errorf("Metadata(lookalike.weights) = %q, %v", v, ok)
	}
	if _, ok := m.Metadata("nope"); ok {
		t.Error("Metadata found a missing key")
	}
	// Fusion must have removed every Relu and Add of the net.
	for _, st := range m.steps {
		switch st.(type) {
		case *reluStep, *addStep:
			t.Errorf("step %s was not fused into a conv", st.node())
		}
	}
	for _, mode := range []string{"auto", "generic"} {
		SetGemm(mode)
		s := m.NewSession()
		for _, n := range []int{1, 3, 2} {
			x := randSlice(r, n*3*tn.h*tn.wdt)
			for i := range x {
				x[i] *= 50
			}
			out, err := s.Run(x, n)
			if err != nil {
				t.Fatal(err)
			}
			want := tn.reference(x, n)
			for _, name := range []string{"conv5", "gap", "gmp", "probs"} {
				assertClose(t, fmt.Sprintf("%s/n=%d/%s", mode, n, name), out[name], want[name], 1e-5)
			}
			// Asking for a subset returns just that.
			sub, err := s.Run(x, n, "gmp")
			if err != nil || len(sub) != 1 {
				t.Fatalf("Run(gmp): %v, %d outputs", err, len(sub))
			}
			assertClose(t, "gmp again", sub["gmp"], want["gmp"], 1e-5)
		}
	}
	SetGemm("auto")
}

func TestRunErrors(t *testing.T) {
	tn := buildTinyNet(rand.New(rand.NewPCG(1, 1)))
	m, err := Load(tn.model)
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSession()
	x := make([]float32, 3*tn.h*tn.wdt)
	for _, tc := range []struct {
		name string
		x    []float32
		n    int
		outs []string
		want string
	}{
		{"short input", x[:10], 1, nil, "input has 10 values"},
		{"zero batch", x, 0, nil, "batch size 0"},
		{"wrong batch", x, 2, nil, "want 2×"},
		{"unknown output", x, 1, []string{"nope"}, `"nope" is not an output`},
	} {
		if _, err := s.Run(tc.x, tc.n, tc.outs...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// fp32 loads a model with float32 activations: the tests of the float
// operators compare with float64 references closely.
var fp32 = Options{Activations: FP32}

func TestAllocsPerRun(t *testing.T) {
	for _, p := range []Precision{FP32, Int8} {
		t.Run(string(p), func(t *testing.T) { testAllocsPerRun(t, p) })
	}
}

func testAllocsPerRun(t *testing.T, p Precision) {
	r := rand.New(rand.NewPCG(2, 2))
	tn := buildTinyNet(r)
	m, err := LoadWith(tn.model, Options{Activations: p})
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSession()
	x := randSlice(r, 2*3*tn.h*tn.wdt)
	if _, err := s.Run(x, 2); err != nil {
		t.Fatal(err)
	}
	arena := &s.slots[0][0]
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := s.Run(x, 2, "gap"); err != nil {
			t.Fatal(err)
		}
	})
	// One result map, its one slice, the ids slice: nothing per operator.
	if allocs > 3 {
		t.Errorf("Run allocates %.1f times per call, want ≤ 3 (nothing per op)", allocs)
	}
	if &s.slots[0][0] != arena {
		t.Error("the arena was re-allocated between runs of the same batch size")
	}
}
