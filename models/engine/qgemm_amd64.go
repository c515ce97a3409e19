package engine

import "unsafe"

// The amd64 int8 fast path (qgemm_amd64.s): an AVX-512 VNNI 12×32 tile
// (VPDPBUSD: 64 u8·s8 products a cycle per instruction), its B packing
// from float32 or quantised rows, and the quantiser and min/max scans —
// chosen by CPUID at start-up. Without VNNI the plain-Go int8 kernel runs.

//go:noescape
func kernelQVNNI(kq int, a, b *byte, c *float32, ldc int, rs, bias *float32, flags int, mx *float32)

//go:noescape
func packQVNNIf32(dst *byte, src *float32, ld, kq int, inv float32, mask uint32)

//go:noescape
func packQVNNIu8(dst *byte, src *byte, ld, kq int, mask uint32)

//go:noescape
func quantizeAVX512(dst *byte, src *float32, n int, inv float32, z int)

//go:noescape
func minmaxAVX512(src *float32, n int) (lo, hi float32)

var kernQVNNI = qKernel{name: "avx512vnni", qLayout: qLayout{mr: 12, nr: 32}, run: func(kq int, a, b []byte, c []float32, ldc int, rs, bias []float32, flags int, mx *[16]float32) {
	// The driver guarantees the lengths; check them once here so the
	// assembly never reads or writes outside the slices.
	_ = a[48*kq-1]
	_ = b[128*kq-1]
	_ = c[11*ldc+31]
	_ = rs[11]
	_ = bias[11]
	var mp *float32
	if flags&qMax != 0 {
		mp = &mx[0]
	} else {
		flags &^= qMax
	}
	kernelQVNNI(kq, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, unsafe.SliceData(rs), unsafe.SliceData(bias), flags, mp)
}}

// packQPanelVNNI packs a panel's full groups of four rows with the
// assembly (columns past w masked off) and a ragged last group in Go.
func packQPanelVNNI(dst []byte, src qsrc, k, kq, j0, w int, lay qLayout) {
	if lay != kernQVNNI.qLayout || k < 4 {
		packQPanel(dst, src, k, kq, j0, w, lay)
		return
	}
	full := k / 4
	dst = dst[:lay.panelBytes(kq)]
	mask := uint32(1<<w - 1)
	if src.u8 != nil {
		_ = src.u8[(4*full-1)*src.ld+j0+w-1]
		packQVNNIu8(&dst[0], &src.u8[j0], src.ld, full, mask)
	} else {
		_ = src.f32[(4*full-1)*src.ld+j0+w-1]
		packQVNNIf32(&dst[0], &src.f32[j0], src.ld, full, src.inv, mask)
	}
	if full == kq {
		return
	}
	clear(dst[full*128:])
	packQRows(dst, src, 4*full, k, j0, w, lay)
}

func quantizeAVX512Go(dst []byte, x []float32, inv float32, z uint8) {
	n := len(x) &^ 15
	if n > 0 {
		_ = dst[n-1]
		quantizeAVX512(&dst[0], &x[0], n, inv, int(z))
	}
	quantize(dst[n:len(x)], x[n:], inv, z)
}

func minmaxAVX512Go(x []float32) (float32, float32) {
	n := len(x) &^ 15
	var lo, hi float32
	if n > 0 {
		lo, hi = minmaxAVX512(&x[0], n)
	}
	tl, th := minmax(x[n:])
	return min(lo, tl), max(hi, th)
}

func amaxAVX512Go(x []float32) float32 {
	_, hi := minmaxAVX512Go(x)
	return hi
}

// hasVNNI reports AVX-512F + AVX512_VNNI with the ZMM state enabled.
func hasVNNI() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave = 1 << 27
	if ecx1&osxsave == 0 {
		return false
	}
	if xcr0, _ := xgetbv0(); xcr0&0xe6 != 0xe6 {
		return false
	}
	_, ebx7, ecx7, _ := cpuid(7, 0)
	return ebx7&(1<<16) != 0 && ecx7&(1<<11) != 0
}

// cpuQKernels lists the int8 kernels this CPU and OS can run, fastest first.
func cpuQKernels() []*qKernel {
	if hasVNNI() {
		return []*qKernel{&kernQVNNI}
	}
	return nil
}

func init() {
	if hasVNNI() {
		archQKernel = &kernQVNNI
		packQPanelFast = packQPanelVNNI
		quantizeFast = quantizeAVX512Go
		minmaxFast = minmaxAVX512Go
		amaxFast = amaxAVX512Go
	}
}
