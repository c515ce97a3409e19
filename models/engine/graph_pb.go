package engine

import "github.com/lookalike/lookalike/models/onnxpb"

// decodedOp is one ONNX node as onnx-go reports it.
type decodedOp struct {
	opType  string
	attrs   map[string]interface{}
	inputs  []string
	outputs []string
}

// opsFromProto lists the graph's operators from our own protobuf decoder,
// in the same form onnx-go's decoder gives (decodedOp). Native builds use
// onnx-go and check it against this list (TestDecodersAgree); the js/wasm
// build uses this list alone, because onnx-go and its dependencies
// (gorgonia's tensor, gonum's LAPACK, two protobuf runtimes) add about
// 20 MB to the browser's engine.wasm for a graph walk of ~200 nodes.
func opsFromProto(pb *onnxpb.Model) []decodedOp {
	ops := make([]decodedOp, len(pb.Graph.Nodes))
	for i := range pb.Graph.Nodes {
		n := &pb.Graph.Nodes[i]
		d := decodedOp{opType: n.OpType, attrs: map[string]interface{}{},
			inputs: append([]string(nil), n.Inputs...), outputs: append([]string(nil), n.Outputs...)}
		for _, a := range n.Attrs {
			switch a.Kind {
			case onnxpb.AttrFloat:
				d.attrs[a.Name] = a.F
			case onnxpb.AttrInt:
				d.attrs[a.Name] = a.I
			case onnxpb.AttrString:
				d.attrs[a.Name] = a.S
			case onnxpb.AttrFloats:
				d.attrs[a.Name] = append([]float32{}, a.Floats...)
			case onnxpb.AttrInts:
				d.attrs[a.Name] = append([]int64{}, a.Ints...)
			case onnxpb.AttrStrings:
				d.attrs[a.Name] = append([]string{}, a.Strings...)
			case onnxpb.AttrTensor:
				d.attrs[a.Name] = a.T // read from n.Attrs by the lowering (Constant)
			}
		}
		ops[i] = d
	}
	return ops
}
