// Package engine runs ONNX image models — above all Lookalike's int8
// ResNet50 feature extractor — on the CPU, natively and in js/wasm, from
// one source.
//
// Load decodes the file twice over the same bytes: onnx-go (root package
// only, with a small backend in onnxgraph.go) walks the graph — node list,
// operator types, attributes, ordered inputs — and models/onnxpb hands over
// initializer bytes, names and metadata without copying. DequantizeLinear
// over int8 weights is folded once at load into float32 weights; Conv
// absorbs a following BatchNormalization, residual Add and Relu; the
// weights are packed for the GEMM kernel (with int8 activations,
// quantised per output channel to int8 first). Supported operators: Conv, Relu,
// Add, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Flatten,
// Reshape, Identity, Gemm, Softmax, BatchNormalization, DequantizeLinear,
// Constant. Anything else is a Load error naming the node and operator.
//
// API:
//
//	m, err := engine.Load(onnxBytes)          // *Model: immutable, safe for concurrent use; int8 activations
//	m, err = engine.LoadWith(onnxBytes, engine.Options{Activations: engine.FP32}) // float32 throughout
//	p := m.Activations()                      // engine.Int8 or engine.FP32
//	pre, ok := m.Metadata("lookalike.preprocessing")
//	names := m.Outputs()                      // e.g. [conv5 gap gmp]
//	s := m.NewSession()                       // owns the activation arena; one per goroutine
//	out, err := s.Run(x, n, "gap", "gmp")     // x: n×3×224×224 float32, NCHW
//	engine.SetGemm("generic")                 // force the plain-Go GEMM ("auto" undoes it)
//
// Int8 activations (quant.go, the default): every group-1 convolution
// quantises its input per image and tensor to uint8 (scale max/255 measured
// at run time; a zero point when the input may be negative, as the stem's
// image) and runs a u8×s8 GEMM with exact int32 sums and a fused float
// epilogue (qgemm.go): AVX-512 VNNI assembly (qgemm_amd64.s) natively, the
// WebAssembly kernel's int8 tiles in js/wasm (qgemm_wasm.go), plain Go
// elsewhere — all bit-identical, so js/wasm and native embeddings are the
// same numbers. The GEMM also returns the largest value it stored: the next
// convolution's scale. Lowest cosine to float32 activations on catalogue
// photos ≈ 0.998 (quant_test.go).
//
// Execution: every convolution is a GEMM, C[m×n] = A[m×k]·B[k×n] row-major
// (A = weights, B = the input itself for 1×1 stride-1 convolutions, an
// im2col copy otherwise). The GEMM (gemm.go) is a blocked, packed driver
// split over runtime.GOMAXPROCS goroutines with a register-tile
// micro-kernel: plain Go in gemm_generic.go (every platform), AVX2+FMA or
// AVX-512 assembly on amd64 (gemm_amd64.s, chosen by CPUID at start-up).
// After its first Run a Session allocates nothing but the result maps and
// slices (activations live in an arena planned by liveness).
//
// Platform hook (js/wasm): Go's wasm target has neither SIMD nor threads,
// so a build-tagged file (gemm_wasm.go, `//go:build js && wasm`) may set
//
//	var platformGemm func(m, n, k int, a []float32, lda int, b []float32, ldb int,
//		c []float32, ldc int, accumulate bool) bool
//
// from an init function. Every GEMM is offered to it first with plain
// row-major operands (C = A·B, or C += A·B when accumulate is set; leading
// dimensions in elements); returning false falls back to the Go kernel.
// Bias and Relu are applied by the engine after it returns. When the hook
// is set at Load, conv weights stay plain row-major (lda = k) so nothing is
// repacked per call. SetGemm("generic") bypasses the hook too.
//
// In js/wasm the int8 GEMMs can be shared with helper Web Workers (a GEMM
// pool, wasm/kernels/pool.js, when the page is cross-origin isolated): the
// engine only passes each weight matrix's id along; nothing here changes.
//
// Tests: go test ./models/engine (native), and under js/wasm with
// GOOS=js GOARCH=wasm go test -exec wasm/exec/go_js_wasm_exec (SIMD kernel;
// LOOKALIKE_WASM_THREADS=2 with the pool) or -tags lookalike_purego with
// Go's stock wrapper. Every fast int8 path is checked for exact agreement
// with the plain-Go one. The real-model tests and BenchmarkResNet50 find
// resnet50-int8.onnx via $LOOKALIKE_MODEL or the builder's model cache and
// skip when it is absent.
//
// Where it runs: native (linux/amd64 and any other GOARCH) and js/wasm.
// Concurrency: Model is safe for concurrent use; Session is not; SetGemm is
// process-wide.
package engine
