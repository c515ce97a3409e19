//go:build !js

package engine

import "github.com/lookalike/lookalike/models/onnxpb"

// decodeGraph lists the operators with onnx-go's decoder (natively).
func decodeGraph(b []byte, _ *onnxpb.Model) ([]decodedOp, error) {
	return decodeOps(b)
}
