//go:build !js

package engine

import (
	"os"
	"reflect"
	"testing"

	"github.com/lookalike/lookalike/internal/tinymodel"
	"github.com/lookalike/lookalike/models/onnxpb"
)

// The browser build reads the graph with onnxpb, the native build with
// onnx-go: both must see the same operators, wiring and attributes.
func TestDecodersAgree(t *testing.T) {
	files := map[string][]byte{
		"tiny fp32": tinymodel.Build(tinymodel.Options{}),
		"tiny int8": tinymodel.Build(tinymodel.Options{Int8: true, Channels: 7}),
	}
	if !testing.Short() {
		for _, f := range []string{"resnet50-int8.onnx", "resnet50-fp32.onnx"} {
			t.Run(f, func(t *testing.T) {
				b, err := os.ReadFile(resnet50Path(t, f))
				if err != nil {
					t.Fatal(err)
				}
				compareDecoders(t, b)
			})
		}
	}
	for name, b := range files {
		t.Run(name, func(t *testing.T) { compareDecoders(t, b) })
	}
}

func compareDecoders(t *testing.T, b []byte) {
	t.Helper()
	pb, err := onnxpb.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	viaGo, err := decodeOps(b)
	if err != nil {
		t.Fatal(err)
	}
	viaPB := opsFromProto(pb)
	if len(viaGo) != len(viaPB) {
		t.Fatalf("onnx-go %d nodes, onnxpb %d", len(viaGo), len(viaPB))
	}
	for i := range viaGo {
		g, p := viaGo[i], viaPB[i]
		if g.opType != p.opType || !reflect.DeepEqual(g.inputs, p.inputs) || !reflect.DeepEqual(g.outputs, p.outputs) {
			t.Fatalf("node %d: onnx-go %s %v→%v, onnxpb %s %v→%v", i, g.opType, g.inputs, g.outputs, p.opType, p.inputs, p.outputs)
		}
		for k, gv := range g.attrs {
			if _, isTensor := p.attrs[k].(*onnxpb.Tensor); isTensor {
				continue
			}
			if !reflect.DeepEqual(gv, p.attrs[k]) {
				t.Fatalf("node %d (%s) attribute %s: onnx-go %#v, onnxpb %#v", i, g.opType, k, gv, p.attrs[k])
			}
		}
		if len(g.attrs) != len(p.attrs) {
			t.Fatalf("node %d (%s): onnx-go %d attributes, onnxpb %d", i, g.opType, len(g.attrs), len(p.attrs))
		}
	}
}
