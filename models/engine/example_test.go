package engine_test

import (
	"fmt"
	"log"

	"github.com/lookalike/lookalike/models/engine"
	"github.com/lookalike/lookalike/models/onnxpb"
)

// A two-channel 1×1 convolution (swap the channels, add a bias), Relu and
// global average pooling, built in memory with onnxpb and run on a batch
// of two 2×2 images.
func Example() {
	g := onnxpb.Graph{
		Nodes: []onnxpb.Node{
			{Name: "conv", OpType: "Conv", Inputs: []string{"input", "w", "b"}, Outputs: []string{"c"}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"c"}, Outputs: []string{"r"}},
			{Name: "pool", OpType: "GlobalAveragePool", Inputs: []string{"r"}, Outputs: []string{"p"}},
			{Name: "gap", OpType: "Flatten", Inputs: []string{"p"}, Outputs: []string{"gap"}},
		},
		Initializers: []onnxpb.Tensor{
			onnxpb.FloatTensor("w", []int64{2, 2, 1, 1}, []float32{0, 1, 1, 0}),
			onnxpb.FloatTensor("b", []int64{2}, []float32{0, -1}),
		},
		Inputs:  []onnxpb.ValueInfo{{Name: "input", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: 2}, {Value: 2}, {Value: 2}}}},
		Outputs: []onnxpb.ValueInfo{{Name: "gap", ElemType: onnxpb.Float}},
	}
	file := (&onnxpb.Model{IRVersion: 8, Opset: 13, Graph: g}).Marshal()

	// Float32 activations give these small numbers exactly; engine.Load
	// (int8 activations) gives them to about 1/255 of each tensor's range.
	m, err := engine.LoadWith(file, engine.Options{Activations: engine.FP32})
	if err != nil {
		log.Fatal(err)
	}
	s := m.NewSession() // one per goroutine
	x := []float32{
		1, 2, 3, 4, 10, 20, 30, 40, // image 0: channel 0, then channel 1
		-1, -2, -3, -4, 0, 0, 0, 8, // image 1
	}
	out, err := s.Run(x, 2, "gap")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Outputs(), out["gap"])
	// Output: [gap] [25 1.5 2 0]
}
