package engine

import "unsafe"

// The amd64 fast path: FMA micro-kernels in gemm_amd64.s, chosen by CPUID
// at start-up (AVX-512F 12×32, else AVX2+FMA 6×16, else the Go kernel).

//go:noescape
func cpuid(eax, ecx uint32) (a, b, c, d uint32)

//go:noescape
func xgetbv0() (eax, edx uint32)

//go:noescape
func kernelAVX2(kc int, a, b, c *float32, ldc int, flags int, bias *float32)

//go:noescape
func kernelAVX512(kc int, a, b, c *float32, ldc int, flags int, bias *float32)

// asmFlags encodes the epilogue for the assembly kernels: bit 0 accumulate
// into C, bit 1 add bias[row], bit 2 Relu.
func asmFlags(acc bool, bias []float32, relu bool, mr int) (int, *float32) {
	f := 0
	if acc {
		f |= 1
	}
	var bp *float32
	if bias != nil {
		_ = bias[mr-1]
		f |= 2
		bp = unsafe.SliceData(bias)
	}
	if relu {
		f |= 4
	}
	return f, bp
}

var (
	kernAVX2 = microKernel{name: "avx2", mr: 6, nr: 16, run: func(kc int, a, b, c []float32, ldc int, acc bool, bias []float32, relu bool) {
		// The driver guarantees the lengths; check them once here so the
		// assembly never reads or writes outside the slices.
		_ = a[6*kc-1]
		_ = b[16*kc-1]
		_ = c[5*ldc+15]
		f, bp := asmFlags(acc, bias, relu, 6)
		kernelAVX2(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, f, bp)
	}}
	kernAVX512 = microKernel{name: "avx512", mr: 12, nr: 32, run: func(kc int, a, b, c []float32, ldc int, acc bool, bias []float32, relu bool) {
		_ = a[12*kc-1]
		_ = b[32*kc-1]
		_ = c[11*ldc+31]
		f, bp := asmFlags(acc, bias, relu, 12)
		kernelAVX512(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, f, bp)
	}}
)

// cpuKernels lists the kernels this CPU and OS can run, fastest first.
func cpuKernels() []*microKernel {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return nil
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return nil
	}
	xcr0, _ := xgetbv0()
	if xcr0&6 != 6 { // XMM and YMM state enabled by the OS
		return nil
	}
	_, ebx7, _, _ := cpuid(7, 0)
	var ks []*microKernel
	if ebx7&(1<<16) != 0 && xcr0&0xe6 == 0xe6 { // AVX-512F and opmask/ZMM state
		ks = append(ks, &kernAVX512)
	}
	if ebx7&(1<<5) != 0 { // AVX2
		ks = append(ks, &kernAVX2)
	}
	return ks
}

func init() {
	if ks := cpuKernels(); len(ks) > 0 {
		archKernel = ks[0]
	}
}
