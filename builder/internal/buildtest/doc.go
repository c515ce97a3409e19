// Package buildtest makes what the builder's tests build from: tiny ONNX
// image models (so builds take seconds without ResNet50), generated product
// photos and catalogues, and a tiny asset folder whose rankings can be
// worked out by hand. Shared by the tests of builder/internal/build and
// builder/internal/evaluate; it cannot import build (build's own tests
// import it), so TinyAssets takes the build to run as a function.
package buildtest
