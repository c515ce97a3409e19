package engine

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/models/onnxpb"
)

func smallConvModel() []byte {
	return convModel(2, 5, 5, 3, 3, 3, []onnxpb.Attr{onnxpb.IntsAttr("kernel_shape", 3, 3), onnxpb.IntsAttr("pads", 1, 1, 1, 1)},
		make([]float32, 3*2*9), make([]float32, 3))
}

// FuzzLoad feeds arbitrary bytes to Load; it must return an error or a
// model that runs, never panic.
func FuzzLoad(f *testing.F) {
	good := smallConvModel()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Add([]byte("not an onnx file"))
	f.Add(buildTinyNet(rand.New(rand.NewPCG(1, 1))).model)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Load(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "engine: ") {
				t.Fatalf("error without package prefix: %v", err)
			}
			return
		}
		// Run only models that are cheap to run: small activations and
		// pooling windows.
		sh, err := m.inferShapes(1)
		if err != nil {
			t.Fatalf("loaded model fails shape inference: %v", err)
		}
		total := 0
		for _, s := range sh {
			n, _ := numElems(s)
			total += n
		}
		for _, st := range m.steps {
			if p, ok := st.(*poolStep); ok && p.win.kh*p.win.kw > 64 {
				return
			}
		}
		if total > 1<<16 {
			return
		}
		_, dims := m.Input()
		per, _ := numElems(dims)
		if _, err := m.NewSession().Run(make([]float32, per), 1); err != nil && !strings.HasPrefix(err.Error(), "engine: ") {
			t.Fatalf("run error without package prefix: %v", err)
		}
	})
}

func TestLoadErrors(t *testing.T) {
	base := func() *onnxpb.Model {
		return &onnxpb.Model{IRVersion: 8, Opset: 13, Graph: onnxpb.Graph{
			Nodes:        []onnxpb.Node{{Name: "r", OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}},
			Initializers: []onnxpb.Tensor{onnxpb.FloatTensor("w", []int64{1, 1, 1, 1}, []float32{1})},
			Inputs:       []onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: 1}, {Value: 4}, {Value: 4}}}},
			Outputs:      []onnxpb.ValueInfo{{Name: "y", ElemType: onnxpb.Float}},
		}}
	}
	for _, tc := range []struct {
		name string
		edit func(m *onnxpb.Model)
		want string
	}{
		{"unsupported op", func(m *onnxpb.Model) { m.Graph.Nodes[0].OpType = "Sigmoid" }, "node r (Sigmoid): unsupported operator Sigmoid"},
		{"undefined input", func(m *onnxpb.Model) { m.Graph.Nodes[0].Inputs[0] = "ghost" }, `input "ghost" is not defined`},
		{"symbolic spatial dim", func(m *onnxpb.Model) { m.Graph.Inputs[0].Dims[2] = onnxpb.Dim{Param: "H"} }, "only the batch dim may be symbolic"},
		{"int input", func(m *onnxpb.Model) { m.Graph.Inputs[0].ElemType = onnxpb.Int64 }, "want float32"},
		{"missing output", func(m *onnxpb.Model) { m.Graph.Outputs[0].Name = "z" }, `output "z" is never computed`},
		{"conv bad weight rank", func(m *onnxpb.Model) {
			m.Graph.Initializers[0].Dims = []int64{1}
			m.Graph.Nodes[0] = onnxpb.Node{Name: "c", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"}}
		}, "want [O, I/group, kh, kw]"},
		{"conv channel mismatch", func(m *onnxpb.Model) {
			m.Graph.Initializers[0] = onnxpb.FloatTensor("w", []int64{1, 2, 1, 1}, []float32{1, 1})
			m.Graph.Nodes[0] = onnxpb.Node{Name: "c", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"}}
		}, "input has 1 channels, weights want 2"},
		{"conv window too big", func(m *onnxpb.Model) {
			m.Graph.Initializers[0] = onnxpb.FloatTensor("w", []int64{1, 1, 5, 5}, make([]float32, 25))
			m.Graph.Nodes[0] = onnxpb.Node{Name: "c", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"}}
		}, "larger than the padded input"},
		{"truncated weights", func(m *onnxpb.Model) {
			m.Graph.Initializers[0].Raw = m.Graph.Initializers[0].Raw[:2]
		}, "bytes of data"},
		{"dequantize scale count", func(m *onnxpb.Model) {
			m.Graph.Initializers = append(m.Graph.Initializers,
				onnxpb.Int8Tensor("q", []int64{2, 1, 1, 1}, []int8{1, 2}),
				onnxpb.FloatTensor("s", []int64{3}, []float32{1, 1, 1}))
			m.Graph.Nodes = append([]onnxpb.Node{{Name: "dq", OpType: "DequantizeLinear", Inputs: []string{"q", "s"}, Outputs: []string{"wq"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 0)}}}, m.Graph.Nodes...)
		}, "scale \"s\" has 3 values for 2 channels"},
	} {
		m := base()
		tc.edit(m)
		_, err := Load(m.Marshal())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	if _, err := Load(base().Marshal()); err != nil {
		t.Errorf("base model: %v", err)
	}
	if _, err := Load([]byte{0xff, 0xff}); err == nil {
		t.Error("garbage loaded")
	}
}
