//go:build js

package engine

import "github.com/lookalike/lookalike/models/onnxpb"

// decodeGraph lists the operators. In js/wasm it reads our own decoder's
// nodes (see opsFromProto for why not onnx-go here).
func decodeGraph(_ []byte, pb *onnxpb.Model) ([]decodedOp, error) {
	return opsFromProto(pb), nil
}
