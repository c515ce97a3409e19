// Package e2e holds the tests that check Lookalike against independent
// references and real runtimes: the original TF.js model run by
// @tensorflow/tfjs, ONNX Runtime (node and web) on the files we write, our
// engine compiled to js/wasm under Node, and (in the *.test.mjs files) the
// page in a real headless Chromium.
//
// These tests need Node and the npm dev dependencies (`npm ci`) and the
// converted model (`make model`); `make test` provides both. Run alone:
//
//	LOOKALIKE_REFERENCE=1 go test -run Reference -v ./e2e/
package e2e
