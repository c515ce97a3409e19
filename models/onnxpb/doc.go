// Package onnxpb reads and writes the subset of the ONNX protobuf format
// (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto,
// AttributeProto) that Lookalike's model assets use, directly on the wire
// format with google.golang.org/protobuf/encoding/protowire.
//
// Why not generated types: the weights of a model are tens of megabytes;
// Decode keeps every initializer's raw_data as a sub-slice of the input (no
// copy), so the engine can dequantise int8 weights straight from the file
// bytes. onnx-go (the graph decoder the engine uses) cannot hand out int8
// initializers, and its protobuf types are internal.
//
// Works natively and in js/wasm. Values are plain data: safe for concurrent
// reads, not for concurrent mutation.
//
// Example:
//
//	m := &onnxpb.Model{IRVersion: 8, Opset: 13, Graph: onnxpb.Graph{...}}
//	b := m.Marshal()
//	back, err := onnxpb.Decode(b)
package onnxpb
