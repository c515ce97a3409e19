package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func naiveGemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a[i*lda+p]) * float64(b[p*ldb+j])
			}
			if acc {
				s += float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(s)
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// maxRelErr compares got to want relative to the largest |want| (GEMM
// round-off grows with k, not with each element).
func maxRelErr(got, want []float32) float64 {
	var scale, worst float64
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	if scale == 0 {
		scale = 1
	}
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(float64(got[i])) {
			return math.Inf(1)
		}
		worst = math.Max(worst, d/scale)
	}
	return worst
}

// allKernels returns the generic kernel plus every kernel this CPU runs.
func allKernels() []*microKernel {
	return append([]*microKernel{&genericKernel}, cpuKernels()...)
}

// withKernel runs f with archKernel temporarily set to k.
func withKernel(k *microKernel, f func()) {
	old := archKernel
	archKernel = k
	defer func() { archKernel = old }()
	f()
}

var gemmShapes = []struct{ m, n, k int }{
	{1, 1, 1}, {3, 5, 7}, {6, 16, 1}, {7, 17, 3}, {13, 33, 257}, {12, 32, 256},
	{64, 49, 300}, {100, 3, 513}, {5, 1000, 20}, {200, 70, 600}, {1, 2048, 64},
	{37, 2100, 9}, {130, 260, 0},
}

func TestGemmKernelsAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, kern := range allKernels() {
		for _, s := range gemmShapes {
			for _, acc := range []bool{false, true} {
				for _, packed := range []bool{false, true} {
					name := fmt.Sprintf("%s/%dx%dx%d/acc=%v/packed=%v", kern.name, s.m, s.n, s.k, acc, packed)
					lda, ldb, ldc := s.k+3, s.n+1, s.n+5
					a := randSlice(r, s.m*lda)
					b := randSlice(r, max(s.k, 1)*ldb)
					c0 := randSlice(r, s.m*ldc)
					want := append([]float32(nil), c0...)
					naiveGemm(s.m, s.n, s.k, a, lda, b, ldb, want, ldc, acc)
					got := append([]float32(nil), c0...)
					am := matA{data: a, ld: lda, k: s.k}
					if packed {
						am = packMatrix(a, lda, s.m, s.k, kern.mr)
					}
					withKernel(kern, func() {
						gemm(s.m, s.n, s.k, am, b, ldb, got, ldc, acc, epilogue{})
					})
					if e := maxRelErr(got, want); e > 1e-5 {
						t.Errorf("%s: max relative error %g", name, e)
					}
					// Elements outside the m×n window (ldc padding) must be untouched.
					for i := 0; i < s.m; i++ {
						for j := s.n; j < ldc; j++ {
							if got[i*ldc+j] != c0[i*ldc+j] {
								t.Fatalf("%s: wrote outside C at (%d,%d)", name, i, j)
							}
						}
					}
				}
			}
		}
	}
}

func TestGemmEpilogue(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k := 29, 71, 45
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	bias := randSlice(r, m)
	want := make([]float32, m*n)
	naiveGemm(m, n, k, a, k, b, n, want, n, false)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			want[i*n+j] = max(want[i*n+j]+bias[i], 0)
		}
	}
	for _, kern := range allKernels() {
		got := randSlice(r, m*n)
		withKernel(kern, func() {
			gemm(m, n, k, packMatrix(a, k, m, k, kern.mr), b, n, got, n, false, epilogue{bias: bias, relu: true})
		})
		if e := maxRelErr(got, want); e > 1e-5 {
			t.Errorf("%s: epilogue max relative error %g", kern.name, e)
		}
	}
}

// TestGemmPackedOtherMR feeds A packed for one kernel to another kernel.
func TestGemmPackedOtherMR(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m, n, k := 50, 40, 30
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	want := make([]float32, m*n)
	naiveGemm(m, n, k, a, k, b, n, want, n, false)
	for _, mr := range []int{1, 4, 6, 12} {
		got := make([]float32, m*n)
		SetGemm("generic")
		gemm(m, n, k, packMatrix(a, k, m, k, mr), b, n, got, n, false, epilogue{})
		SetGemm("auto")
		if e := maxRelErr(got, want); e > 1e-5 {
			t.Errorf("mr=%d: max relative error %g", mr, e)
		}
	}
}

func TestSetGemm(t *testing.T) {
	if err := SetGemm("bogus"); err == nil {
		t.Fatal("SetGemm accepted an unknown mode")
	}
	if err := SetGemm("generic"); err != nil || GemmKernel() != "generic" {
		t.Fatalf("SetGemm(generic): err %v, kernel %s", err, GemmKernel())
	}
	if err := SetGemm("auto"); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range []struct{ m, n, k int }{{64, 3136, 576}, {256, 3136, 64}, {512, 49, 4608}, {2048, 49, 512}} {
		for _, mode := range []string{"generic", "auto"} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", mode, s.m, s.n, s.k), func(b *testing.B) {
				SetGemm(mode)
				defer SetGemm("auto")
				kern := activeKernel()
				a := packMatrix(randSlice(r, s.m*s.k), s.k, s.m, s.k, kern.mr)
				bb, c := randSlice(r, s.k*s.n), make([]float32, s.m*s.n)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					gemm(s.m, s.n, s.k, a, bb, s.n, c, s.n, false, epilogue{})
				}
				b.ReportMetric(float64(2*s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
