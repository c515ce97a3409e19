//go:build js && wasm && !lookalike_purego

package engine

// The js/wasm fast path for GEMM: a hand-written WebAssembly SIMD128 kernel
// (wasm/kernels/sgemm.wat) that works on Go's slices in place. Go's wasm
// target has no SIMD; the kernel runs the ResNet50 convolution GEMMs about
// ten times faster than the portable Go loops.
//
// The kernel is a separate wasm module that imports this instance's memory,
// so it can only be instantiated after Go. Go reaches it through the import
// `lookalike.sgemm`, a JS trampoline installed by wasm/kernels/loader.js
// (browser) or wasm/exec/go_js_wasm_exec (Node, tests), which answers 0 —
// "not handled" — until the kernel is loaded. The host loads it between
// instantiating Go and go.run, so init can probe it: only when the kernel
// answers is platformGemm set (and Load keeps weights row-major for it);
// otherwise the engine runs its portable path as on any platform, and a
// page without wasm SIMD still works, only slower.
//
// A binary that links this file needs the `lookalike` import module to be
// instantiated at all: Go's stock go_js_wasm_exec does not provide it. Build
// with -tags lookalike_purego to leave the kernel out entirely.
//
// The kernel comes in two builds of one source, plain SIMD128 and relaxed
// SIMD (FMA, and the int8 dot tile that qgemm_wasm.go probes before use);
// the host picks one (loader.js kernelFile).
//
// Switches: SetGemm("generic") bypasses the kernel at run time;
// LOOKALIKE_WASM_KERNEL=off in the program's environment keeps the hook
// from being installed (and the Node runner from loading the kernel).

import (
	"os"
	"runtime"
	"sync"
)

// kernelSgemm is sgemm from wasm/kernels/sgemm.wat, reached through the JS
// trampoline. Pointers arrive as byte offsets into Go's memory; leading
// dimensions are in elements; ws is caller-owned scratch of
// wasmScratchLen(kc, nc) floats. It returns 1 when C was written, 0 when the
// call was not handled (no kernel loaded, or arguments it rejects).
//
//go:wasmimport lookalike sgemm
//go:noescape
func kernelSgemm(m, n, k int32, a *float32, lda int32, b *float32, ldb int32,
	c *float32, ldc int32, accumulate int32, ws *float32, kc, nc int32) int32

// Blocking: a kc-deep slice of B, nc columns wide, is packed into scratch and
// reused by every 4-row block of A; kc·8 floats of it (one register-tile
// panel) stay in L1, the whole block in L2.
const (
	wasmMaxKC = 256
	wasmMaxNC = 1024
)

// wasmScratch pools the packing buffers; sized for the largest blocks.
var wasmScratch = sync.Pool{New: func() any {
	s := make([]float32, wasmScratchLen(wasmMaxKC, wasmMaxNC))
	return &s
}}

func init() {
	if os.Getenv("LOOKALIKE_WASM_KERNEL") != "off" && wasmKernelLoaded() {
		platformGemm = wasmGemm
		initWasmInt8()
	}
}

// wasmKernelLoaded reports whether the kernel answers a 1×1×1 product.
func wasmKernelLoaded() bool {
	a, b, c := []float32{2}, []float32{3}, []float32{0}
	return wasmGemm(1, 1, 1, a, 1, b, 1, c, 1, false) && c[0] == 6
}

// wasmScratchLen is the scratch the kernel needs for kc×nc blocks, in
// floats: a 4×8 tile, a [kc][4] A panel and kc×⌈nc/8⌉·8 of packed B.
func wasmScratchLen(kc, nc int) int {
	return 32 + 4*kc + kc*((nc+7)&^7)
}

// wasmBlock splits total into the fewest near-equal blocks of at most max,
// rounded up to a multiple of align (max must be one) so that only the last
// block has a ragged edge.
func wasmBlock(total, max, align int) int {
	blocks := (total + max - 1) / max
	size := (total + blocks - 1) / blocks
	return (size + align - 1) / align * align
}

// wasmGemm computes C[m×n] (+)= A[m×k]·B[k×n] (row-major) with the SIMD
// kernel. It returns false, leaving C untouched, when the kernel is not
// loaded, or when the arguments are degenerate or inconsistent with the
// slices (the portable path then handles or reports them).
func wasmGemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) bool {
	if m <= 0 || n <= 0 || k <= 0 || lda < k || ldb < n || ldc < n {
		return false
	}
	// Every element the kernel touches must lie inside the slices: it has
	// no bounds checks of its own beyond Go's whole memory.
	if len(a) < (m-1)*lda+k || len(b) < (k-1)*ldb+n || len(c) < (m-1)*ldc+n {
		return false
	}
	// Offsets are i32 arithmetic in the kernel.
	const maxElems = 1<<29 - 1
	if len(a) > maxElems || len(b) > maxElems || len(c) > maxElems {
		return false
	}
	kc, nc := wasmBlock(k, wasmMaxKC, 4), wasmBlock(n, wasmMaxNC, 8)
	sp := wasmScratch.Get().(*[]float32)
	ws := *sp
	acc := int32(0)
	if accumulate {
		acc = 1
	}
	done := kernelSgemm(int32(m), int32(n), int32(k), &a[0], int32(lda), &b[0], int32(ldb),
		&c[0], int32(ldc), acc, &ws[0], int32(kc), int32(nc))
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(c)
	runtime.KeepAlive(ws)
	wasmScratch.Put(sp)
	return done == 1
}
