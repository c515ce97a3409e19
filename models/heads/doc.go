// Package heads holds the small classifiers that make the search aware of
// what the shopper's photo shows: for each label column of the catalogue
// that names a product type or a colour (e.g. articleType, baseColour),
// a softmax over that column's values, trained by the builder on the
// catalogue's own rows (Train), stored in a heads asset
// (heads-<hash>.bin) that the browser engine loads, and applied to the
// query photo's features (Set.Predict). The search adds, for every
// product, Weight·p(the product's own label) to its visual similarity, so
// products of the type and colour the photo most likely shows rank first,
// and an unsure prediction (a flat p) changes little.
//
// The input of every head is the photo's embedding (the projected,
// normalised vector the index holds) followed by a colour descriptor of
// the product's own pixels (imageprep.ColourDescriptor).
//
// File layout (little-endian):
//
//	header 16 bytes: magic "LKHD", uint16 version, uint16 heads,
//	       uint32 items, uint32 input length
//	per head: uint16 column length, column, float32 weight, uint32 classes,
//	       per class uint16 length + name; version 2 only: uint32 hidden
//	       units h, and when h > 0, h×input binary16 first-layer weights
//	       (unit-major) and h float32 biases; then classes×(h or input)
//	       float32 weights (class-major) and classes float32 biases
//	labels: per head, items uint16 class ids (0xFFFF: no label), in
//	       catalogue order
//
// A head may have one hidden layer of ReLU units (TrainMLP; `builder
// build --head-hidden N`); a set without one is written as version 1.
//
// Training is seeded and deterministic on one machine. A Set is read-only
// after Parse and safe for concurrent use. Native and js/wasm.
package heads
