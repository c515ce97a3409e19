package engine

import "unsafe"

// The amd64 int8 fast path, chosen by CPUID at start-up: an AVX-512 VNNI
// 12×32 tile (qgemm_amd64.s; VPDPBUSD: 64 u8·s8 products per instruction)
// with its B packing from float32 or quantised rows and the quantiser and
// min/max scans; else an AVX2 6×16 tile over int16 pairs (VPMADDWD,
// qgemm_avx2_amd64.s); else the plain-Go int8 kernel.

//go:noescape
func kernelQVNNI(kq int, a, b *byte, c *float32, ldc int, rs, bias *float32, flags int, mx *float32)

//go:noescape
func packQVNNIf32(dst *byte, src *float32, ld, kq int, inv float32, mask uint32)

//go:noescape
func packQVNNIu8(dst *byte, src *byte, ld, kq int, mask uint32)

//go:noescape
func kernelQAVX2(kq int, a, b *byte, c *float32, ldc int, rs, bias *float32, flags int, mx *float32)

//go:noescape
func packQAVX2f32(dst *byte, src *float32, ld, kp int, inv float32)

//go:noescape
func packQAVX2u8(dst *byte, src *byte, ld, kp int)

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
	kernelQVNNI(kq, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, unsafe.SliceData(rs), unsafe.SliceData(bias), flags, maxArg(flags, mx))
}}

// maxArg is the assembly's mx argument: the running max, with qMax only.
func maxArg(flags int, mx *[16]float32) *float32 {
	if flags&qMax == 0 {
		return nil
	}
	return &mx[0]
}

var kernQAVX2 = qKernel{name: "avx2", qLayout: qLayout{mr: 6, nr: 16, pair: true}, run: func(kq int, a, b []byte, c []float32, ldc int, rs, bias []float32, flags int, mx *[16]float32) {
	_ = a[48*kq-1] // 6 rows × 4kq int16
	_ = b[128*kq-1]
	_ = c[5*ldc+15]
	_ = rs[5]
	_ = bias[5]
	kernelQAVX2(kq, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, unsafe.SliceData(rs), unsafe.SliceData(bias), flags, maxArg(flags, mx))
}}

// packQPanelAMD64 packs with the assembly of the layout's kernel.
func packQPanelAMD64(dst []byte, src qsrc, k, kq, j0, w int, lay qLayout) {
	switch lay {
	case kernQVNNI.qLayout:
		packQPanelVNNI(dst, src, k, kq, j0, w, lay)
	case kernQAVX2.qLayout:
		packQPanelAVX2(dst, src, k, kq, j0, w, lay)
	default:
		packQPanel(dst, src, k, kq, j0, w, lay)
	}
}

// packQPanelAVX2 packs a full-width panel's pairs of rows with the assembly
// and a ragged last row (and narrow panels) in Go.
func packQPanelAVX2(dst []byte, src qsrc, k, kq, j0, w int, lay qLayout) {
	if w < 16 || k < 2 {
		packQPanel(dst, src, k, kq, j0, w, lay)
		return
	}
	pairs := k / 2
	dst = dst[:lay.panelBytes(kq)]
	if src.u8 != nil {
		_ = src.u8[(2*pairs-1)*src.ld+j0+15]
		packQAVX2u8(&dst[0], &src.u8[j0], src.ld, pairs)
	} else {
		_ = src.f32[(2*pairs-1)*src.ld+j0+15]
		packQAVX2f32(&dst[0], &src.f32[j0], src.ld, pairs, src.inv)
	}
	if 2*pairs == 4*kq {
		return
	}
	clear(dst[pairs*64:])
	packQRows(dst, src, 2*pairs, k, j0, w, lay)
}

// packQPanelVNNI packs a panel's full groups of four rows with the
// assembly (columns past w masked off) and a ragged last group in Go.
func packQPanelVNNI(dst []byte, src qsrc, k, kq, j0, w int, lay qLayout) {
	if k < 4 {
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

// hasAVX2 reports AVX2 with the YMM state enabled.
func hasAVX2() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&(osxsave|avx) != osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbv0(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
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
	var ks []*qKernel
	if hasVNNI() {
		ks = append(ks, &kernQVNNI)
	}
	if hasAVX2() {
		ks = append(ks, &kernQAVX2)
	}
	return ks
}

func init() {
	if ks := cpuQKernels(); len(ks) > 0 {
		archQKernel = ks[0]
		packQPanelFast = packQPanelAMD64
	}
	if hasVNNI() {
		quantizeFast = quantizeAVX512Go
		minmaxFast = minmaxAVX512Go
		amaxFast = amaxAVX512Go
	}
}
