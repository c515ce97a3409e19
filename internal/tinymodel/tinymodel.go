// Package tinymodel builds a small ONNX image model with the same interface
// as Lookalike's ResNet50 asset — input `input` [N,3,S,S], outputs `gap` and
// `gmp` [N,C], `lookalike.preprocessing` metadata — so tests of the
// packages above the engine run in milliseconds without the real weights.
// Deterministic: the same Options give the same bytes.
package tinymodel

import (
	"fmt"
	"math/rand"

	"github.com/lookalike/lookalike/models/onnxpb"
)

// Options shape the model.
type Options struct {
	Size     int    // input side S (default 32)
	Channels int    // output channels C (default 16)
	Seed     int64  // weight seed (default 1)
	Spec     string // preprocessing JSON (default: S×S, RGB, 0…1, stretch)
	Int8     bool   // store the conv weights as int8 QDQ like the real asset
	// Conv5 adds the output `conv5` [N,C,S/32,S/32], the feature map at
	// the real model's stride of 32 (16×16 average pools of the last
	// conv's map), which localisation needs; S must be a multiple of 32.
	Conv5 bool
}

// Build returns the model's ONNX bytes: Conv 3×3 stride 2 → Relu → Conv 1×1
// → Relu → GlobalAveragePool/GlobalMaxPool → Flatten.
func Build(o Options) []byte {
	if o.Size == 0 {
		o.Size = 32
	}
	if o.Channels == 0 {
		o.Channels = 16
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Spec == "" {
		o.Spec = fmt.Sprintf(`{"layout":"NCHW","size":%d,"channels":"RGB","scale":1,"mean":[0.5,0.5,0.5],"std":[0.25,0.25,0.25]}`, o.Size)
	}
	r := rand.New(rand.NewSource(o.Seed))
	c := int64(o.Channels)
	g := onnxpb.Graph{Name: "tiny"}
	conv := func(name, in, out string, cin, cout, k, stride, pad int64) {
		w := make([]float32, cout*cin*k*k)
		for i := range w {
			w[i] = float32(r.NormFloat64() * 0.3)
		}
		b := make([]float32, cout)
		for i := range b {
			b[i] = float32(r.NormFloat64() * 0.1)
		}
		dims := []int64{cout, cin, k, k}
		if o.Int8 {
			q := make([]int8, len(w))
			scale := make([]float32, cout)
			per := int(cin * k * k)
			for oc := 0; oc < int(cout); oc++ {
				var m float32
				for _, v := range w[oc*per : (oc+1)*per] {
					if v < 0 {
						v = -v
					}
					m = max(m, v)
				}
				scale[oc] = m / 127
				for i := oc * per; i < (oc+1)*per; i++ {
					q[i] = int8(max(-127, min(127, int(w[i]/scale[oc]+0.5*sign(w[i])))))
				}
			}
			g.Initializers = append(g.Initializers,
				onnxpb.Int8Tensor(name+".wq", dims, q),
				onnxpb.FloatTensor(name+".scale", []int64{cout}, scale),
				onnxpb.Int8Tensor(name+".zp", []int64{cout}, make([]int8, cout)))
			g.Nodes = append(g.Nodes, onnxpb.Node{Name: name + "_dq", OpType: "DequantizeLinear",
				Inputs: []string{name + ".wq", name + ".scale", name + ".zp"}, Outputs: []string{name + ".w"},
				Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 0)}})
		} else {
			g.Initializers = append(g.Initializers, onnxpb.FloatTensor(name+".w", dims, w))
		}
		g.Initializers = append(g.Initializers, onnxpb.FloatTensor(name+".b", []int64{cout}, b))
		g.Nodes = append(g.Nodes,
			onnxpb.Node{Name: name, OpType: "Conv", Inputs: []string{in, name + ".w", name + ".b"}, Outputs: []string{name + ".y"},
				Attrs: []onnxpb.Attr{onnxpb.IntsAttr("kernel_shape", k, k), onnxpb.IntsAttr("strides", stride, stride),
					onnxpb.IntsAttr("pads", pad, pad, pad, pad), onnxpb.IntsAttr("dilations", 1, 1), onnxpb.IntAttr("group", 1)}},
			onnxpb.Node{Name: name + "_relu", OpType: "Relu", Inputs: []string{name + ".y"}, Outputs: []string{out}})
	}
	conv("conv1", "input", "a1", 3, c, 3, 2, 1)
	last := "conv5"
	if o.Conv5 {
		last = "a2"
	}
	conv("conv2", "a1", last, c, c, 1, 1, 0)
	if o.Conv5 {
		g.Nodes = append(g.Nodes, onnxpb.Node{Name: "c5_pool", OpType: "AveragePool", Inputs: []string{last}, Outputs: []string{"conv5"},
			Attrs: []onnxpb.Attr{onnxpb.IntsAttr("kernel_shape", 16, 16), onnxpb.IntsAttr("strides", 16, 16)}})
	}
	g.Nodes = append(g.Nodes,
		onnxpb.Node{Name: "gap_pool", OpType: "GlobalAveragePool", Inputs: []string{last}, Outputs: []string{"gap4"}},
		onnxpb.Node{Name: "gap_flat", OpType: "Flatten", Inputs: []string{"gap4"}, Outputs: []string{"gap"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
		onnxpb.Node{Name: "gmp_pool", OpType: "GlobalMaxPool", Inputs: []string{last}, Outputs: []string{"gmp4"}},
		onnxpb.Node{Name: "gmp_flat", OpType: "Flatten", Inputs: []string{"gmp4"}, Outputs: []string{"gmp"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
	)
	s := int64(o.Size)
	g.Inputs = []onnxpb.ValueInfo{{Name: "input", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: 3}, {Value: s}, {Value: s}}}}
	g.Outputs = []onnxpb.ValueInfo{
		{Name: "gap", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: c}}},
		{Name: "gmp", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: c}}},
	}
	if o.Conv5 {
		g.Outputs = append(g.Outputs, onnxpb.ValueInfo{Name: "conv5", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: c}, {Value: s / 32}, {Value: s / 32}}})
	}
	m := &onnxpb.Model{IRVersion: 8, Opset: 13, ProducerName: "lookalike-tinymodel",
		Metadata: []onnxpb.KV{{Key: "lookalike.preprocessing", Value: o.Spec}}, Graph: g}
	return m.Marshal()
}

func sign(v float32) float32 {
	if v < 0 {
		return -1
	}
	return 1
}
