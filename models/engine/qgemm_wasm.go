//go:build js && wasm && !lookalike_purego

package engine

// The js/wasm int8 fast path: qgemm.wat in the kernel module (see
// gemm_wasm.go for how Go reaches it). Go quantises each convolution's
// input with the kernel's quantize, lays it out with its im2col8, and the
// kernel's qgemm packs B and runs the 4×8 int8 tile with the epilogue:
// the plain SIMD128 tile (i32x4.dot_i16x8_s), or the relaxed-SIMD dot tile
// where the module has it and it is exact on this machine (probed below).
// All of it computes exactly what the Go code computes.

import (
	"math"
	"os"
	"runtime"
	"sync"
)

// kernelQgemm is qgemm from wasm/kernels/qgemm.wat. id names the weight
// matrix a belongs to (unique per quantised matrix, never reused), so a
// GEMM pool (wasm/kernels/pool.js) can keep its own copy of the weights
// instead of copying them on every call.
//
//go:wasmimport lookalike qgemm
//go:noescape
func kernelQgemm(m, n, k int32, a *byte, b *byte, ldb int32, c *float32, ldc int32,
	rs, bias *float32, flags int32, ws *byte, ncb int32, id int32, mx *float32) int32

//go:wasmimport lookalike quantize
//go:noescape
func kernelQuantize(src *float32, n int32, inv float32, z int32, dst *byte) int32

//go:wasmimport lookalike minmax
//go:noescape
func kernelMinmax(src *float32, n int32, out *float32) int32

//go:wasmimport lookalike im2col8
//go:noescape
func kernelIm2col8(x *byte, geo *int32, dst *byte) int32

//go:wasmimport lookalike qweights
//go:noescape
func kernelQweights(src *float32, m, k int32, dst *byte, scale *float32) int32

//go:wasmimport lookalike maxpool
//go:noescape
func kernelMaxpool(x, y *float32, planes int32, geo *int32) int32

// qDotFlag asks qgemm for the relaxed-SIMD dot tile.
const qDotFlag = 4

// wasmQDot is set when the kernel's dot tile exists and is exact here.
var wasmQDot bool

// qBlockBytesWasm bounds the packed B block of one qgemm call.
const qBlockBytesWasm = 256 << 10

var wasmQScratch = sync.Pool{New: func() any { return new([]byte) }}

// initWasmInt8 installs the int8 kernels once the float one answers
// (called from gemm_wasm.go's init).
func initWasmInt8() {
	if !wasmQgemmWorks(0) {
		return
	}
	platformQgemm = wasmQgemm
	quantizeFast = wasmQuantize
	minmaxFast = wasmMinmax
	amaxFast = func(x []float32) float32 { _, hi := wasmMinmax(x); return hi }
	im2col8Fast = wasmIm2col8
	platformMaxPool = wasmMaxPool
	quantizeWeightsFast = wasmQuantizeWeights
	wasmQDot = os.Getenv("LOOKALIKE_WASM_QDOT") != "off" && wasmQgemmWorks(qDotFlag)
	platformQName = "wasm simd128"
	if wasmQDot {
		platformQName = "wasm relaxed dot"
	}
}

// wasmQgemmWorks runs one int8 product through the kernel with the given
// tile flag and compares it with the Go path: the weights ±127 and the
// activations 0..255 with their extremes, where a saturating or signed
// relaxed dot product goes wrong.
func wasmQgemmWorks(tile int) bool {
	const m, n, k = 5, 11, 37
	w := make([]float32, m*k)
	b := qsrc{u8: make([]byte, k*n+16), ld: n}
	for i := range w {
		w[i] = float32((i*37)%255 - 127)
	}
	for i := range b.u8 {
		b.u8[i] = byte((i * 101) % 256)
	}
	for p := 0; p < k; p++ { // column 0: all 255 against rows of ±127
		b.u8[p*n] = 255
	}
	for p := 0; p < k; p++ {
		w[p], w[k+p] = 127, -127
	}
	q := quantizeWeights(w, m, k, genericQKernel.qLayout)
	rs, bias := make([]float32, qRowPad), make([]float32, qRowPad)
	for i := range rs {
		rs[i], bias[i] = 1, float32(i)
	}
	want, got := make([]float32, m*n), make([]float32, m*n)
	qgemmBlocked(&genericQKernel, &gemmScratch{}, q, 0, m, 0, n, b, want, n, rs, bias, 0)
	if ok, _ := wasmQgemmCall(q, 0, m, n, b, got, n, rs, bias, tile); !ok {
		return false
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return false
		}
	}
	return true
}

// wasmQgemm is platformQgemm: the kernel's qgemm with the best tile.
func wasmQgemm(w *qweights, row0, m, n int, b qsrc, c []float32, ldc int, rs, bias []float32, flags int) (bool, float32) {
	if wasmQDot {
		flags |= qDotFlag
	}
	return wasmQgemmCall(w, row0, m, n, b, c, ldc, rs, bias, flags)
}

// wasmQgemmCall checks that every byte the kernel will touch lies inside
// the slices (it has no bounds checks of its own beyond Go's memory) and
// calls it; false leaves C untouched. With qMax it also returns the
// largest value written.
func wasmQgemmCall(w *qweights, row0, m, n int, b qsrc, c []float32, ldc int, rs, bias []float32, flags int) (bool, float32) {
	lay := genericQKernel.qLayout
	if b.u8 == nil || w.lay != lay || row0%lay.mr != 0 || m <= 0 || n <= 0 || w.k <= 0 || b.ld < n || ldc < n {
		return false, 0
	}
	sb := lay.stripBytes(w.kq)
	strips := (m + lay.mr - 1) / lay.mr
	a0 := row0 / lay.mr * sb
	if row0+m > w.m || len(w.a) < a0+strips*sb || len(b.u8) < (w.k-1)*b.ld+n || len(c) < (m-1)*ldc+n ||
		len(rs) < strips*lay.mr || len(bias) < strips*lay.mr {
		return false, 0
	}
	const maxBytes = 1<<31 - 1
	if len(b.u8) > maxBytes || 4*len(c) > maxBytes {
		return false, 0
	}
	ncb := max(8, min(qBlockBytesWasm/(8*w.kq), roundUp(n, 8))&^7)
	sp := wasmQScratch.Get().(*[]byte)
	*sp = growBytes(*sp, 144+32*w.kq+8*w.kq*ncb)
	ws := *sp
	mx := negInf32
	done := kernelQgemm(int32(m), int32(n), int32(w.k), &w.a[a0], &b.u8[0], int32(b.ld), &c[0], int32(ldc),
		&rs[0], &bias[0], int32(flags), &ws[0], int32(ncb), int32(w.id), &mx)
	runtime.KeepAlive(w)
	runtime.KeepAlive(b)
	runtime.KeepAlive(c)
	runtime.KeepAlive(rs)
	runtime.KeepAlive(bias)
	runtime.KeepAlive(ws)
	wasmQScratch.Put(sp)
	return done == 1, mx
}

func wasmQuantize(dst []byte, x []float32, inv float32, z uint8) {
	if len(x) == 0 {
		return
	}
	_ = dst[len(x)-1]
	kernelQuantize(&x[0], int32(len(x)), inv, int32(z), &dst[0])
	runtime.KeepAlive(x)
	runtime.KeepAlive(dst)
}

func wasmMinmax(x []float32) (float32, float32) {
	if len(x) == 0 {
		return 0, 0
	}
	var out [2]float32
	kernelMinmax(&x[0], int32(len(x)), &out[0])
	runtime.KeepAlive(x)
	return out[0], out[1]
}

func wasmIm2col8(dst, x []byte, c int, win *window, g geom, pad byte) {
	rows := c * win.kh * win.kw
	if len(dst) < rows*g.oh*g.ow || len(x) < c*g.h*g.w || len(dst) == 0 || len(x) == 0 {
		im2col8(dst, x, c, win, g, pad)
		return
	}
	geo := [14]int32{int32(c), int32(g.h), int32(g.w), int32(win.kh), int32(win.kw), int32(win.sh), int32(win.sw),
		int32(win.dh), int32(win.dw), int32(g.pt), int32(g.pl), int32(g.oh), int32(g.ow), int32(pad)}
	kernelIm2col8(&x[0], &geo[0], &dst[0])
	runtime.KeepAlive(x)
	runtime.KeepAlive(dst)
	runtime.KeepAlive(&geo)
}

// wasmMaxPool is platformMaxPool: the kernel's maxpool (no dilation).
func wasmMaxPool(x, y []float32, planes int, win *window, g geom) bool {
	if win.dh != 1 || win.dw != 1 || planes <= 0 || len(x) < planes*g.h*g.w || len(y) < planes*g.oh*g.ow || g.oh <= 0 || g.ow <= 0 {
		return false
	}
	geo := [10]int32{int32(g.h), int32(g.w), int32(g.oh), int32(g.ow), int32(win.kh), int32(win.kw),
		int32(win.sh), int32(win.sw), int32(g.pt), int32(g.pl)}
	done := kernelMaxpool(&x[0], &y[0], int32(planes), &geo[0])
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
	runtime.KeepAlive(&geo)
	return done == 1
}

// wasmQuantizeWeights is quantizeWeightsFast: the kernel's qweights.
func wasmQuantizeWeights(dst []byte, scale, w []float32, m, k int) bool {
	if m <= 0 || k <= 0 || len(w) < m*k || len(scale) < m || len(dst) < (m+3)/4*16*((k+3)/4) || len(w) > 1<<29 {
		return false
	}
	done := kernelQweights(&w[0], int32(m), int32(k), &dst[0], &scale[0])
	runtime.KeepAlive(w)
	runtime.KeepAlive(dst)
	runtime.KeepAlive(scale)
	return done == 1
}
