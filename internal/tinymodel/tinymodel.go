// Package tinymodel is a tiny ONNX image model for tests of every layer
// that runs a model (the builder's, the engine's in js/wasm): no download,
// milliseconds to run, the real file format and graph shape (a conv, then
// both poolings the embedder reads).
package tinymodel

import (
	"math/rand"

	"github.com/lookalike/lookalike/models/onnxpb"
)

// Bytes is an ONNX image model small enough for tests:
// input [N,3,32,32] → Conv(3→16, 3×3, stride 2) → Relu → GlobalAveragePool
// → Flatten ("gap") and GlobalMaxPool → Flatten ("gmp"), with its
// preprocessing declared in the lookalike.preprocessing metadata.
func Bytes() []byte {
	const c, o, k = 3, 16, 3
	r := rand.New(rand.NewSource(7))
	w := make([]float32, o*c*k*k)
	for i := range w {
		w[i] = float32(r.NormFloat64() * 0.4)
	}
	b := make([]float32, o)
	for i := range b {
		b[i] = float32(r.NormFloat64() * 0.1)
	}
	g := onnxpb.Graph{
		Name: "tiny-image",
		Nodes: []onnxpb.Node{
			{Name: "conv", OpType: "Conv", Inputs: []string{"input", "w", "b"}, Outputs: []string{"c"}, Attrs: []onnxpb.Attr{
				onnxpb.IntsAttr("kernel_shape", k, k), onnxpb.IntsAttr("strides", 2, 2),
				onnxpb.IntsAttr("pads", 1, 1, 1, 1), onnxpb.IntsAttr("dilations", 1, 1), onnxpb.IntAttr("group", 1)}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"c"}, Outputs: []string{"r"}},
			{Name: "gap_pool", OpType: "GlobalAveragePool", Inputs: []string{"r"}, Outputs: []string{"gap4"}},
			{Name: "gap", OpType: "Flatten", Inputs: []string{"gap4"}, Outputs: []string{"gap"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
			{Name: "gmp_pool", OpType: "GlobalMaxPool", Inputs: []string{"r"}, Outputs: []string{"gmp4"}},
			{Name: "gmp", OpType: "Flatten", Inputs: []string{"gmp4"}, Outputs: []string{"gmp"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
		},
		Initializers: []onnxpb.Tensor{
			onnxpb.FloatTensor("w", []int64{o, c, k, k}, w),
			onnxpb.FloatTensor("b", []int64{o}, b),
		},
		Inputs:  []onnxpb.ValueInfo{{Name: "input", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: c}, {Value: 32}, {Value: 32}}}},
		Outputs: []onnxpb.ValueInfo{{Name: "gap", ElemType: onnxpb.Float}, {Name: "gmp", ElemType: onnxpb.Float}},
	}
	m := &onnxpb.Model{IRVersion: 8, Opset: 13, ProducerName: "builder-test", Graph: g,
		Metadata: []onnxpb.KV{{Key: "lookalike.preprocessing",
			Value: `{"size":32,"channels":"RGB","scale":1,"mean":[0.5,0.5,0.5],"std":[0.25,0.25,0.25]}`}}}
	return m.Marshal()
}
