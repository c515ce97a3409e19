package engine

import (
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/lookalike/lookalike/internal/testenv"
	"github.com/lookalike/lookalike/models/imageprep"
)

func TestQuant8(t *testing.T) {
	for _, tc := range []struct {
		x, inv float32
		want   uint8
	}{
		{0, 1, 0}, {-3, 1, 0}, {0.5, 1, 0}, {1.5, 1, 2}, {2.5, 1, 2}, {2.5000002, 1, 3},
		{254.5, 1, 254}, {255.49, 1, 255}, {300, 1, 255}, {10, 25.5, 255}, {1, 127.5, 128},
		{float32(math.Inf(1)), 1, 255}, {float32(math.NaN()), 1, 0},
	} {
		if got := quant8(tc.x, tc.inv); got != tc.want {
			t.Errorf("quant8(%v, %v) = %d, want %d", tc.x, tc.inv, got, tc.want)
		}
	}
}

// TestQuantizeWeightsExact: weights on a per-row int8 grid (what the int8
// model file stores) come back as exactly those integers and scales, in
// every layout.
func TestQuantizeWeightsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const m, k = 13, 37
	q := make([]int, m*k)
	scale := make([]float32, m)
	w := make([]float32, m*k)
	for i := 0; i < m; i++ {
		scale[i] = 0.001 + r.Float32()*0.01
		for p := 0; p < k; p++ {
			v := r.IntN(255) - 127
			if p == i%k {
				v = 127 // every row reaches the grid's end, as a symmetric quantiser's does
			}
			q[i*k+p] = v
			w[i*k+p] = float32(v) * scale[i]
		}
	}
	lays := []qLayout{genericQKernel.qLayout, {mr: 12, nr: 32}, {mr: 6, nr: 16, pair: true}}
	for _, lay := range lays {
		qw := quantizeWeights(w, m, k, lay)
		for i := 0; i < m; i++ {
			if d := math.Abs(float64(qw.scale[i]-scale[i])) / float64(scale[i]); d > 1e-6 {
				t.Errorf("%+v: row %d scale %v, want %v", lay, i, qw.scale[i], scale[i])
			}
			for p := 0; p < k; p++ {
				if got := qw.at(i, p); got != int32(q[i*k+p]) {
					t.Fatalf("%+v: (%d,%d) = %d, want %d", lay, i, p, got, q[i*k+p])
				}
			}
		}
		for _, other := range lays {
			back := qw.repack(other)
			for i := 0; i < m; i++ {
				for p := 0; p < k; p++ {
					if back.at(i, p) != qw.at(i, p) {
						t.Fatalf("repack %+v → %+v changed (%d,%d)", lay, other, i, p)
					}
				}
			}
		}
	}
	// A zero row stays zero, with scale 0.
	z := quantizeWeights(make([]float32, 2*5), 2, 5, lays[0])
	if z.scale[0] != 0 || z.at(1, 4) != 0 {
		t.Errorf("zero weights: scale %v, q %d", z.scale[0], z.at(1, 4))
	}
}

// qReference is the int8 GEMM by definition: exact integer sums, then the
// epilogue in the order every kernel uses.
func qReference(w *qweights, row0, m, n int, b qsrc, c []float32, ldc int, rs, bias []float32, flags int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int64
			for p := 0; p < w.k; p++ {
				var v uint8
				if b.u8 != nil {
					v = b.u8[p*b.ld+j]
				} else {
					v = quant8(b.f32[p*b.ld+j], b.inv)
				}
				s += int64(w.at(row0+i, p)) * int64(v)
			}
			qEpilogue(int32(s), rs[i], bias[i], &c[i*ldc+j], flags)
		}
	}
}

// allQKernels is the generic kernel plus every int8 kernel this CPU runs.
func allQKernels() []*qKernel {
	return append([]*qKernel{&genericQKernel}, cpuQKernels()...)
}

func withQKernel(k *qKernel, f func()) {
	old := archQKernel
	archQKernel = k
	defer func() { archQKernel = old }()
	f()
}

var qgemmShapes = []struct{ m, n, k int }{
	{1, 1, 1}, {4, 4, 4}, {3, 5, 7}, {12, 32, 16}, {13, 33, 257}, {6, 16, 3},
	{64, 49, 576}, {100, 3, 513}, {5, 1000, 20}, {200, 70, 600}, {1, 2048, 64},
	{37, 2100, 9}, {24, 64, 4608}, {256, 196, 64},
}

// TestQgemmKernelsAgainstReference: every int8 kernel gives exactly the
// reference's floats, for float and byte sources, with and without the
// old-C add and Relu, and touches nothing outside the m×n window.
func TestQgemmKernelsAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, kern := range allQKernels() {
		for _, s := range qgemmShapes {
			for _, flags := range []int{0, qAccumulate, qRelu, qAccumulate | qRelu} {
				for _, bytesIn := range []bool{false, true} {
					name := fmt.Sprintf("%s/%dx%dx%d/flags%d/u8=%v", kern.name, s.m, s.n, s.k, flags, bytesIn)
					wf := randSlice(r, s.m*s.k)
					w := quantizeWeights(wf, s.m, s.k, kern.qLayout)
					ldb, ldc := s.n+3, s.n+2
					var b qsrc
					if bytesIn {
						b = qsrc{u8: make([]byte, s.k*ldb), ld: ldb}
						for i := range b.u8 {
							b.u8[i] = byte(r.IntN(256))
						}
						// Extremes: all-255 against all-±127 rows.
						for j := 0; j < min(3, s.n); j++ {
							for p := 0; p < s.k; p++ {
								b.u8[p*ldb+j] = 255
							}
						}
					} else {
						b = qsrc{f32: randSlice(r, s.k*ldb), ld: ldb, inv: 200}
						for i := range b.f32 {
							b.f32[i] = max(0, b.f32[i]) * 1.3
						}
					}
					rs, bias := randSlice(r, roundUp(s.m, qRowPad)), randSlice(r, roundUp(s.m, qRowPad))
					for i := range rs {
						rs[i] *= 1e-3
					}
					c0 := randSlice(r, s.m*ldc)
					want := append([]float32(nil), c0...)
					got := append([]float32(nil), c0...)
					qReference(w, 0, s.m, s.n, b, want, ldc, rs, bias, flags)
					var mx float32
					withQKernel(kern, func() {
						mx = qgemm(w, 0, s.m, s.n, b, got, ldc, rs, bias, flags|qMax)
					})
					wantMax := negInf32
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: C[%d][%d] = %v, want %v", name, i/ldc, i%ldc, got[i], want[i])
						}
						if i%ldc < s.n {
							wantMax = max(wantMax, want[i])
						}
					}
					if mx != wantMax {
						t.Fatalf("%s: largest value written %v, want %v", name, mx, wantMax)
					}
				}
			}
		}
	}
}

// TestIm2col8MatchesIm2col: the byte im2col is the float one on bytes.
func TestIm2col8MatchesIm2col(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, tc := range []struct{ c, h, w, k, s, p, d int }{
		{3, 9, 11, 3, 1, 1, 1}, {2, 8, 8, 1, 2, 0, 1}, {4, 7, 7, 3, 1, 1, 1}, {2, 12, 10, 3, 2, 1, 1},
		{1, 15, 14, 3, 1, 2, 2}, {3, 23, 21, 7, 2, 3, 1}, {2, 5, 6, 5, 1, 0, 1},
	} {
		win := &window{kh: tc.k, kw: tc.k, sh: tc.s, sw: tc.s, dh: tc.d, dw: tc.d, pt: tc.p, pl: tc.p, pb: tc.p, pr: tc.p}
		g, err := win.apply(tc.h, tc.w)
		if err != nil {
			t.Fatal(err)
		}
		for _, pad := range []byte{0, 117} {
			// The float im2col pads with 0: run it on x − pad and add pad back.
			x8 := make([]byte, tc.c*tc.h*tc.w, tc.c*tc.h*tc.w+16)
			x32 := make([]float32, len(x8))
			for i := range x8 {
				x8[i] = byte(r.IntN(256))
				x32[i] = float32(x8[i]) - float32(pad)
			}
			rows := tc.c * tc.k * tc.k
			want := make([]float32, rows*g.oh*g.ow)
			im2col(want, x32, tc.c, win, g)
			for _, f := range []struct {
				name string
				fn   func(dst, x []byte, c int, win *window, g geom, pad byte)
			}{{"go", im2col8}, {"fast", im2col8Fast}} {
				got := make([]byte, len(want)+16)
				for i := range got {
					got[i] = 0xAA
				}
				f.fn(got[:len(want):len(want)+16], x8, tc.c, win, g, pad)
				for i, v := range want {
					if float32(got[i]) != v+float32(pad) {
						t.Fatalf("%s %+v pad %d: element %d = %d, want %v", f.name, tc, pad, i, got[i], v+float32(pad))
					}
				}
				for i := len(want); i < len(got); i++ {
					if got[i] != 0xAA {
						t.Fatalf("%s %+v: wrote past the matrix at %d", f.name, tc, i)
					}
				}
			}
		}
	}
}

func TestQuantizeAndAmax(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{0, 1, 3, 15, 16, 17, 63, 64, 65, 1000, 4097} {
		x := make([]float32, n)
		for i := range x {
			x[i] = max(0, r.Float32()*4-1)
		}
		if n > 2 {
			x[n-1] = 7 // the maximum in the tail
		}
		if got, want := amaxFast(x), amax(x); got != want {
			t.Errorf("n=%d: amaxFast %v, amax %v", n, got, want)
		}
		inv, _, _ := scaleFor(0, amax(x))
		for _, z := range []uint8{0, 100} {
			if z != 0 {
				for i := range x {
					x[i] = r.Float32()*4 - 2.5 // signed, with a zero point
				}
				lo, hi := minmax(x)
				glo, ghi := minmaxFast(x)
				if glo != lo || ghi != hi {
					t.Errorf("n=%d: minmaxFast %v %v, minmax %v %v", n, glo, ghi, lo, hi)
				}
				inv, _, z = scaleFor(lo, hi)
			}
			got, want := make([]byte, n+16), make([]byte, n)
			quantizeFast(got[:n], x, inv, z)
			quantize(want, x, inv, z)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("n=%d z=%d: quantizeFast[%d] = %d, want %d (x %v)", n, z, i, got[i], want[i], x[i])
				}
			}
		}
	}
}

// TestTinyNetInt8: the tiny ResNet runs its convolutions after the stem in
// int8, and agrees with a float64 reference of the same quantisation.
func TestTinyNetInt8(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	tn := buildTinyNet(r)
	m, err := LoadWith(tn.model, Options{Activations: Int8})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Int8Convs(); got != 8 {
		t.Errorf("Int8Convs() = %d, want 8", got)
	}
	if m.Activations() != Int8 {
		t.Errorf("Activations() = %q", m.Activations())
	}
	f, err := LoadWith(tn.model, Options{Activations: FP32})
	if err != nil {
		t.Fatal(err)
	}
	if f.Int8Convs() != 0 {
		t.Errorf("FP32 model has %d int8 convs", f.Int8Convs())
	}
	x := randSlice(r, 2*3*tn.h*tn.wdt)
	for i := range x {
		x[i] *= 50
	}
	for _, mode := range []string{"auto", "generic"} {
		SetGemm(mode)
		got, err := m.NewSession().Run(x, 2)
		if err != nil {
			t.Fatal(err)
		}
		want, err := f.NewSession().Run(x, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"conv5", "gap", "gmp"} {
			if c := cosine(got[name], want[name]); c < 0.999 {
				t.Errorf("%s: %s: cosine to float32 %f, want ≥ 0.999", mode, name, c)
			}
		}
	}
	SetGemm("auto")
}

// catalogPhotos prepares n catalogue photos (every 97th row) or skips.
func catalogPhotos(tb testing.TB, n int) [][]float32 {
	dir := filepath.Join(testenv.SharedDir(tb), "fashion")
	f, err := os.Open(filepath.Join(dir, "catalog.csv"))
	if err != nil {
		tb.Skipf("catalogue photos: %v", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		tb.Fatal(err)
	}
	col := -1
	for i, h := range head {
		if h == "image" {
			col = i
		}
	}
	var out [][]float32
	for row := 1; len(out) < n; row++ {
		rec, err := r.Read()
		if err != nil {
			tb.Fatalf("catalogue ended after %d photos: %v", len(out), err)
		}
		if row%97 != 0 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, rec[col]))
		if err != nil {
			continue
		}
		x, err := imageprep.Prepare(data, nil, imageprep.CaffeSpec())
		if err != nil {
			continue
		}
		out = append(out, x)
	}
	return out
}

// TestResNet50Int8Agrees: on catalogue photos the int8 path's pooled
// features (each half L2-normalised, as the embedder uses them) stay within
// cosine 0.995 of float32 activations, and the fast kernels give exactly
// the plain-Go int8 path's numbers.
func TestResNet50Int8Agrees(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b, err := os.ReadFile(resnet50Path(t, "resnet50-int8.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	m8, err := LoadWith(b, Options{Activations: Int8})
	if err != nil {
		t.Fatal(err)
	}
	if got := m8.Int8Convs(); got != 53 {
		t.Errorf("Int8Convs() = %d, want 53 (every conv)", got)
	}
	m32, err := LoadWith(b, Options{Activations: FP32})
	if err != nil {
		t.Fatal(err)
	}
	// js/wasm runs everything several times slower (the plain-Go int8
	// kernel tens of times): fewer photos there, the fast-vs-generic check
	// on one.
	nPhotos, nGeneric := 24, 2
	if runtime.GOARCH == "wasm" {
		nPhotos, nGeneric = 4, 1
	}
	photos := catalogPhotos(t, nPhotos)
	s8, s32 := m8.NewSession(), m32.NewSession()
	worst := 1.0
	for i, x := range photos {
		a, err := s8.Run(x, 1, "gap", "gmp")
		if err != nil {
			t.Fatal(err)
		}
		f, err := s32.Run(x, 1, "gap", "gmp")
		if err != nil {
			t.Fatal(err)
		}
		c := cosine(halves(a), halves(f))
		worst = min(worst, c)
		if i < nGeneric { // the plain-Go int8 kernel is slow
			var g map[string][]float32
			// Every conv is int8, so "generic" changes only the int8 GEMMs
			// (and the classifier head, not compared).
			SetGemm("generic")
			g, err = m8.NewSession().Run(x, 1, "gap", "gmp")
			SetGemm("auto")
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []string{"gap", "gmp"} {
				for j := range g[o] {
					if g[o][j] != a[o][j] {
						t.Fatalf("photo %d: %s[%d]: fast %v, generic %v", i, o, j, a[o][j], g[o][j])
					}
				}
			}
		}
	}
	t.Logf("lowest cosine int8 vs fp32 activations over %d photos: %.5f", len(photos), worst)
	if worst < 0.995 && len(photos) >= 20 {
		t.Errorf("lowest cosine %.5f < 0.995", worst)
	}
}

// halves is gap‖gmp with each half L2-normalised.
func halves(o map[string][]float32) []float32 {
	var out []float32
	for _, name := range []string{"gap", "gmp"} {
		v := o[name]
		var s float64
		for _, x := range v {
			s += float64(x) * float64(x)
		}
		s = math.Sqrt(s)
		for _, x := range v {
			out = append(out, float32(float64(x)/s))
		}
	}
	return out
}
