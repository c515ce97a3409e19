package onnxpb

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func sampleModel() *Model {
	return &Model{
		IRVersion:       8,
		Opset:           13,
		ProducerName:    "lookalike-test",
		ProducerVersion: "0",
		Metadata:        []KV{{"lookalike.preprocessing", `{"size":224}`}, {"k", "v"}},
		Graph: Graph{
			Name: "g",
			Nodes: []Node{
				{Name: "dq", OpType: "DequantizeLinear", Inputs: []string{"w.q", "w.scale", "w.zp"}, Outputs: []string{"w"}, Attrs: []Attr{IntAttr("axis", 0)}},
				{Name: "conv", OpType: "Conv", Inputs: []string{"input", "w", "b"}, Outputs: []string{"y"},
					Attrs: []Attr{IntsAttr("kernel_shape", 3, 3), IntsAttr("pads", 1, 1, 1, 1), FloatAttr("alpha", 0.5), StringAttr("auto_pad", "NOTSET"), FloatsAttr("scales", 1, -2.5)}},
			},
			Initializers: []Tensor{
				Int8Tensor("w.q", []int64{2, 1, 3, 3}, []int8{-127, 0, 1, 2, 3, 4, 5, 6, 127, -1, -2, -3, -4, -5, -6, -7, -8, -9}),
				FloatTensor("w.scale", []int64{2}, []float32{0.5, 0.25}),
				Int8Tensor("w.zp", []int64{2}, []int8{0, 0}),
				FloatTensor("b", []int64{2}, []float32{1, -1}),
				Int64Tensor("shape", []int64{2}, []int64{-1, 2048}),
			},
			Inputs:  []ValueInfo{{Name: "input", ElemType: Float, Dims: []Dim{{Param: "N"}, {Value: 1}, {Value: 5}, {Value: 5}}}},
			Outputs: []ValueInfo{{Name: "y", ElemType: Float, Dims: []Dim{{Param: "N"}, {Value: 2}, {Value: 5}, {Value: 5}}}},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	m := sampleModel()
	b := m.Marshal()
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, m)
	}
	// Raw data must alias the input, not be copied.
	w, _ := got.Graph.Initializer("w.q")
	if !bytes.Contains(b, w.Raw) || &w.Raw[0] == nil {
		t.Fatal("raw data not found in input")
	}
	idx := bytes.Index(b, w.Raw)
	if &b[idx] != &w.Raw[0] {
		t.Error("initializer raw data was copied; want a sub-slice of the input")
	}
	if v, ok := got.MetadataValue("lookalike.preprocessing"); !ok || v != `{"size":224}` {
		t.Errorf("metadata = %q, %v", v, ok)
	}
	q, err := w.Int8s()
	if err != nil || q[0] != -127 || q[8] != 127 {
		t.Errorf("Int8s = %v, %v", q, err)
	}
	s, _ := got.Graph.Initializer("shape")
	if v, err := s.Int64s(); err != nil || v[0] != -1 {
		t.Errorf("Int64s = %v, %v", v, err)
	}
	if _, err := w.Float32s(); err == nil {
		t.Error("Float32s on an int8 tensor: want error")
	}
}

func TestDeterministic(t *testing.T) {
	if !bytes.Equal(sampleModel().Marshal(), sampleModel().Marshal()) {
		t.Fatal("Marshal is not deterministic")
	}
}

func TestDecodeErrors(t *testing.T) {
	good := sampleModel().Marshal()
	cases := map[string][]byte{
		"empty":     nil,
		"text":      []byte("this is not an onnx file at all\n"),
		"truncated": good[:len(good)/2],
		"no graph":  (&Model{IRVersion: 8}).Marshal(),
	}
	for name, b := range cases {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: want error", name)
		} else if !strings.HasPrefix(err.Error(), "onnxpb:") {
			t.Errorf("%s: error %q lacks package prefix", name, err)
		}
	}
	// Size mismatch between dims and data is caught by the accessors.
	bad := FloatTensor("x", []int64{3}, []float32{1, 2})
	if _, err := bad.Float32s(); err == nil {
		t.Error("dims/data mismatch: want error")
	}
	huge := Tensor{Name: "h", DataType: Float, Dims: []int64{1 << 40, 1 << 40}}
	if _, err := huge.NumElements(); err == nil {
		t.Error("overflowing dims: want error")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(sampleModel().Marshal())
	f.Add([]byte{0x3a, 0x02, 0x0a, 0x00})
	f.Add([]byte("junk"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		for i := range m.Graph.Initializers {
			m.Graph.Initializers[i].Float32s()
			m.Graph.Initializers[i].Int8s()
		}
		// Whatever decodes must re-encode and decode to the same structure.
		if _, err := Decode(m.Marshal()); err != nil {
			t.Fatalf("re-decode failed: %v", err)
		}
	})
}
