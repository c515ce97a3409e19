//go:build js && wasm && !lookalike_purego

package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// goGemm runs the portable Go GEMM (the path the kernel stands in for).
func goGemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	if err := SetGemm("generic"); err != nil {
		panic(err)
	}
	defer SetGemm("auto")
	Gemm(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

// requireKernel fails the test when the kernel is not loaded, unless the run
// asked for the portable path (LOOKALIKE_WASM_KERNEL=off), then it skips.
func requireKernel(tb testing.TB) {
	tb.Helper()
	if os.Getenv("LOOKALIKE_WASM_KERNEL") == "off" {
		tb.Skip("LOOKALIKE_WASM_KERNEL=off: SIMD kernel not loaded")
	}
	a, b, c := []float32{2}, []float32{3}, []float32{0}
	if !wasmGemm(1, 1, 1, a, 1, b, 1, c, 1, false) || c[0] != 6 {
		tb.Fatalf("SIMD kernel not active (got %v, handled=false): run through wasm/exec/go_js_wasm_exec", c[0])
	}
}

// gemmCase is one shape; pad adds to each leading dimension.
type gemmCase struct{ m, n, k, pad int }

func TestWasmGemmMatchesGo(t *testing.T) {
	requireKernel(t)
	cases := []gemmCase{
		{1, 1, 1, 0}, {1, 3, 7, 0}, {3, 7, 1, 0}, {4, 8, 1, 0}, {4, 8, 4, 0},
		{5, 9, 33, 1}, {7, 1, 64, 3}, {33, 64, 127, 0}, {64, 127, 65, 2},
		{127, 33, 7, 0}, {13, 300, 513, 5}, {6, 1030, 260, 1}, {9, 17, 600, 0},
		{64, 49, 64, 0}, {2, 2049, 3, 0},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range cases {
		for _, accumulate := range []bool{false, true} {
			t.Run(fmt.Sprintf("%dx%dx%d_pad%d_acc%v", tc.m, tc.n, tc.k, tc.pad, accumulate), func(t *testing.T) {
				m, n, k := tc.m, tc.n, tc.k
				lda, ldb, ldc := k+tc.pad, n+tc.pad, n+tc.pad
				a := randSlice(r, (m-1)*lda+k)
				b := randSlice(r, (k-1)*ldb+n)
				c0 := randSlice(r, m*ldc)
				cKernel := append([]float32(nil), c0...)
				cGo := append([]float32(nil), c0...)
				if !wasmGemm(m, n, k, a, lda, b, ldb, cKernel, ldc, accumulate) {
					t.Fatal("kernel did not handle a valid call")
				}
				goGemm(m, n, k, a, lda, b, ldb, cGo, ldc, accumulate)
				for i := 0; i < m; i++ {
					for j := 0; j < ldc && i*ldc+j < len(c0); j++ {
						idx := i*ldc + j
						if j >= n {
							if cKernel[idx] != c0[idx] {
								t.Fatalf("C[%d][%d] outside the n columns changed: %v -> %v", i, j, c0[idx], cKernel[idx])
							}
							continue
						}
						// Error bound for a float32 dot product in any order:
						// relative to Σ|a||b| (+|c| when accumulating).
						scale := 0.0
						for p := 0; p < k; p++ {
							scale += math.Abs(float64(a[i*lda+p]) * float64(b[p*ldb+j]))
						}
						if accumulate {
							scale += math.Abs(float64(c0[idx]))
						}
						if d := math.Abs(float64(cKernel[idx]) - float64(cGo[idx])); d > 1e-5*scale {
							t.Fatalf("C[%d][%d]: kernel %v, Go %v (|diff| %.3g > 1e-5·%.3g)", i, j, cKernel[idx], cGo[idx], d, scale)
						}
					}
				}
			})
		}
	}
}

func TestWasmGemmDeclines(t *testing.T) {
	requireKernel(t)
	a, b := make([]float32, 12), make([]float32, 12)
	tests := []struct {
		name          string
		m, n, k       int
		lda, ldb, ldc int
		c             []float32
	}{
		{"k=0", 2, 2, 0, 2, 2, 2, make([]float32, 4)},
		{"m=0", 0, 2, 2, 2, 2, 2, make([]float32, 4)},
		{"lda<k", 2, 2, 3, 2, 2, 2, make([]float32, 4)},
		{"ldc<n", 2, 3, 2, 2, 3, 2, make([]float32, 6)},
		{"short C", 3, 3, 2, 2, 3, 3, make([]float32, 8)},
		{"short A", 7, 2, 2, 2, 2, 2, make([]float32, 14)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.c {
				tc.c[i] = 42
			}
			if wasmGemm(tc.m, tc.n, tc.k, a, tc.lda, b, tc.ldb, tc.c, tc.ldc, false) {
				t.Fatal("kernel accepted an invalid call")
			}
			for i, v := range tc.c {
				if v != 42 {
					t.Fatalf("C[%d] changed to %v on a declined call", i, v)
				}
			}
		})
	}
}

// TestWasmGemmHooked checks that the hook is set exactly when the kernel is
// loaded and that Gemm reaches it: with the hook replaced by a counting
// wrapper, a Gemm call must go through it.
func TestWasmGemmHooked(t *testing.T) {
	if os.Getenv("LOOKALIKE_WASM_KERNEL") == "off" && platformGemm != nil {
		t.Fatal("platformGemm set although the kernel is off")
	}
	requireKernel(t)
	if platformGemm == nil {
		t.Fatal("platformGemm not set by gemm_wasm.go")
	}
	old, calls := platformGemm, 0
	platformGemm = func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) bool {
		calls++
		return old(m, n, k, a, lda, b, ldb, c, ldc, acc)
	}
	defer func() { platformGemm = old }()
	c := []float32{0}
	Gemm(1, 1, 1, []float32{2}, 1, []float32{5}, 1, c, 1, false)
	if calls != 1 || c[0] != 10 {
		t.Fatalf("Gemm: %d kernel calls, C = %v; want 1 call, C = 10", calls, c[0])
	}
	calls = 0
	SetGemm("generic")
	Gemm(1, 1, 1, []float32{2}, 1, []float32{5}, 1, c, 1, false)
	SetGemm("auto")
	if calls != 0 {
		t.Fatal(`Gemm reached the kernel under SetGemm("generic")`)
	}
}

// BenchmarkWasmGemm runs the GEMMs of ResNet50's convolutions at 224×224
// (C[outC × H·W] = W[outC × inC·kh·kw] · im2col) with the kernel and with
// the portable Go path; compare the GFLOP/s metrics.
func BenchmarkWasmGemm(b *testing.B) {
	shapes := []struct{ m, n, k int }{
		{64, 12544, 147}, // conv1 7×7/2
		{64, 3136, 576},  // conv2_x 3×3
		{256, 3136, 64},  // conv2_x 1×1 expand (and projection)
		{64, 3136, 256},  // conv2_x 1×1 reduce
		{128, 784, 1152}, // conv3_x 3×3
		{512, 784, 1152}, // wide 3×3-sized product at 28×28
		{512, 784, 256},  // conv3_x projection
		{256, 196, 2304}, // conv4_x 3×3
		{1024, 196, 256}, // conv4_x 1×1 expand
		{2048, 49, 512},  // conv5_x 1×1 expand
		{512, 49, 4608},  // conv5_x 3×3
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range shapes {
		a := randSlice(r, s.m*s.k)
		bm := randSlice(r, s.k*s.n)
		c := make([]float32, s.m*s.n)
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		for _, path := range []string{"kernel", "go"} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.m, s.n, s.k, path), func(b *testing.B) {
				if path == "kernel" {
					requireKernel(b)
				}
				for b.Loop() {
					if path == "go" || !wasmGemm(s.m, s.n, s.k, a, s.k, bm, s.n, c, s.n, false) {
						goGemm(s.m, s.n, s.k, a, s.k, bm, s.n, c, s.n, false)
					}
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// resnet50Convs lists every convolution GEMM of Keras ResNet50 at 224×224
// (outC, H·W, inC·kh·kw) with how often it occurs: about 7.7 GFLOP.
var resnet50Convs = []struct{ m, n, k, times int }{
	{64, 12544, 147, 1},                                                           // conv1
	{64, 3136, 64, 1}, {64, 3136, 576, 3}, {256, 3136, 64, 4}, {64, 3136, 256, 2}, // conv2_x
	{128, 784, 256, 1}, {128, 784, 1152, 4}, {512, 784, 128, 4}, {512, 784, 256, 1}, {128, 784, 512, 3},
	{256, 196, 512, 1}, {256, 196, 2304, 6}, {1024, 196, 256, 6}, {1024, 196, 512, 1}, {256, 196, 1024, 5},
	{512, 49, 1024, 1}, {512, 49, 4608, 3}, {2048, 49, 512, 3}, {2048, 49, 1024, 1}, {512, 49, 2048, 2},
}

// BenchmarkWasmResNet50Convs runs all convolution GEMMs of one ResNet50
// forward pass: ms/photo is the time the convolutions of one photo take.
func BenchmarkWasmResNet50Convs(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	var maxA, maxB, maxC int
	var flops float64
	for _, s := range resnet50Convs {
		maxA, maxB, maxC = max(maxA, s.m*s.k), max(maxB, s.k*s.n), max(maxC, s.m*s.n)
		flops += 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(s.times)
	}
	a, bm, c := randSlice(r, maxA), randSlice(r, maxB), make([]float32, maxC)
	for _, path := range []string{"kernel", "go"} {
		b.Run(path, func(b *testing.B) {
			if path == "kernel" {
				requireKernel(b)
			}
			for b.Loop() {
				for _, s := range resnet50Convs {
					for range s.times {
						if path == "go" || !wasmGemm(s.m, s.n, s.k, a, s.k, bm, s.n, c, s.n, false) {
							goGemm(s.m, s.n, s.k, a, s.k, bm, s.n, c, s.n, false)
						}
					}
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(sec*1e3, "ms/photo")
			b.ReportMetric(flops/sec/1e9, "GFLOP/s")
		})
	}
}

func TestWasmBlock(t *testing.T) {
	tests := []struct{ total, max, align, want int }{
		{1, 256, 4, 4}, {147, 256, 4, 148}, {256, 256, 4, 256}, {257, 256, 4, 132},
		{4608, 256, 4, 256}, {49, 1024, 8, 56}, {3136, 1024, 8, 784}, {12544, 1024, 8, 968},
	}
	for _, tc := range tests {
		got := wasmBlock(tc.total, tc.max, tc.align)
		if got != tc.want {
			t.Errorf("wasmBlock(%d, %d, %d) = %d, want %d", tc.total, tc.max, tc.align, got, tc.want)
		}
		if got > tc.max || got%tc.align != 0 {
			t.Errorf("wasmBlock(%d, %d, %d) = %d: above max or not aligned", tc.total, tc.max, tc.align, got)
		}
	}
}
