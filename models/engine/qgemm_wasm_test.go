//go:build js && wasm && !lookalike_purego

package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lookalike/lookalike/models/onnxpb"
)

// TestWasmQgemmMatchesGo: the kernel's int8 GEMM, with each tile it has
// here, gives exactly the Go reference's floats and touches nothing else.
func TestWasmQgemmMatchesGo(t *testing.T) {
	requireKernel(t)
	if platformQgemm == nil {
		t.Fatal("the float kernel is loaded but the int8 one did not pass its start-up probe")
	}
	tiles := []int{0}
	if wasmQDot {
		tiles = append(tiles, qDotFlag)
	} else {
		t.Log("relaxed-SIMD dot tile absent or not exact here: the plain SIMD128 tile runs")
	}
	r := rand.New(rand.NewPCG(9, 9))
	for _, tile := range tiles {
		for _, s := range qgemmShapes {
			for _, flags := range []int{0, qAccumulate | qRelu} {
				name := fmt.Sprintf("tile%d/%dx%dx%d/flags%d", tile, s.m, s.n, s.k, flags)
				w := quantizeWeights(randSlice(r, s.m*s.k), s.m, s.k, genericQKernel.qLayout)
				ldb, ldc := s.n+5, s.n+1
				b := qsrc{u8: make([]byte, s.k*ldb+16), ld: ldb}
				for i := range b.u8 {
					b.u8[i] = byte(r.IntN(256))
				}
				rs, bias := randSlice(r, roundUp(s.m, qRowPad)), randSlice(r, roundUp(s.m, qRowPad))
				c0 := randSlice(r, s.m*ldc+3)
				want := append([]float32(nil), c0...)
				got := append([]float32(nil), c0...)
				qReference(w, 0, s.m, s.n, b, want, ldc, rs, bias, flags)
				ok, mx := wasmQgemmCall(w, 0, s.m, s.n, b, got, ldc, rs, bias, flags|tile|qMax)
				if !ok {
					t.Fatalf("%s: kernel did not handle a valid call", name)
				}
				wantMax := negInf32
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: C[%d][%d] = %v, want %v", name, i/ldc, i%ldc, got[i], want[i])
					}
					if i%ldc < s.n && i < s.m*ldc {
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

// TestWasmQgemmRejects: calls the kernel cannot do safely come back false.
func TestWasmQgemmRejects(t *testing.T) {
	requireKernel(t)
	w := quantizeWeights(make([]float32, 8*8), 8, 8, genericQKernel.qLayout)
	b := qsrc{u8: make([]byte, 8*8), ld: 8}
	c := make([]float32, 64)
	rs := make([]float32, qRowPad)
	for _, tc := range []struct {
		name string
		m, n int
		b    qsrc
		c    []float32
	}{
		{"float source", 8, 8, qsrc{f32: make([]float32, 64), ld: 8}, c},
		{"short B", 8, 8, qsrc{u8: b.u8[:60], ld: 8}, c},
		{"short C", 8, 8, b, c[:60]},
		{"too many rows", 9, 8, b, make([]float32, 72)},
		{"zero columns", 8, 0, b, c},
	} {
		if ok, _ := wasmQgemmCall(w, 0, tc.m, tc.n, tc.b, tc.c, 8, rs, rs, 0); ok {
			t.Errorf("%s: handled", tc.name)
		}
	}
}

// TestWasmMaxPoolMatchesGo: the kernel's MaxPool gives exactly the Go
// pooling's values (the ops test checks both against the definition).
func TestWasmMaxPoolMatchesGo(t *testing.T) {
	requireKernel(t)
	r := rand.New(rand.NewPCG(13, 14))
	for _, tc := range []struct{ k, s, pt, pl, pb, pr int }{
		{3, 2, 1, 1, 1, 1}, {2, 2, 0, 0, 0, 0}, {3, 1, 1, 1, 1, 1}, {3, 2, 0, 1, 2, 0}, {5, 3, 2, 2, 2, 2}, {7, 1, 3, 3, 3, 3},
	} {
		attrs := []onnxpb.Attr{
			onnxpb.IntsAttr("kernel_shape", int64(tc.k), int64(tc.k)),
			onnxpb.IntsAttr("strides", int64(tc.s), int64(tc.s)),
			onnxpb.IntsAttr("pads", int64(tc.pt), int64(tc.pl), int64(tc.pb), int64(tc.pr)),
		}
		m, err := Load(oneOpModel("MaxPool", 3, 17, 12, attrs))
		if err != nil {
			t.Fatal(err)
		}
		x := randSlice(r, 2*3*17*12)
		x[5] = float32(math.Copysign(0, -1)) // signed zeros
		x[6] = 0
		got, err := m.NewSession().Run(x, 2)
		if err != nil {
			t.Fatal(err)
		}
		SetGemm("generic") // also bypasses the kernel's MaxPool
		want, err := m.NewSession().Run(x, 2)
		SetGemm("auto")
		if err != nil {
			t.Fatal(err)
		}
		for i := range want["y"] {
			if math.Float32bits(got["y"][i]) != math.Float32bits(want["y"][i]) {
				t.Fatalf("%+v: y[%d] = %v, Go %v", tc, i, got["y"][i], want["y"][i])
			}
		}
	}
}

// TestWasmQuantizeWeightsMatchesGo: the kernel's weight quantiser packs
// exactly what the Go loop packs, zero and Inf rows and ragged edges too.
func TestWasmQuantizeWeightsMatchesGo(t *testing.T) {
	requireKernel(t)
	r := rand.New(rand.NewPCG(15, 16))
	for _, s := range []struct{ m, k int }{{1, 1}, {3, 5}, {4, 4}, {13, 37}, {64, 576}, {7, 4608}} {
		w := randSlice(r, s.m*s.k)
		for i := range w {
			w[i] *= 0.05
		}
		if s.m > 2 {
			clear(w[s.k : 2*s.k])                          // a zero row
			w[2*s.k+s.k/2] = float32(math.Inf(1))          // a row with Inf
			w[(s.m-1)*s.k] = float32(math.Copysign(0, -1)) // a signed zero
		}
		fast := quantizeWeights(w, s.m, s.k, genericQKernel.qLayout)
		saved := quantizeWeightsFast
		quantizeWeightsFast = nil
		slow := quantizeWeights(w, s.m, s.k, genericQKernel.qLayout)
		quantizeWeightsFast = saved
		for i := range slow.scale {
			if math.Float32bits(fast.scale[i]) != math.Float32bits(slow.scale[i]) {
				t.Fatalf("%dx%d: scale[%d] = %v, Go %v", s.m, s.k, i, fast.scale[i], slow.scale[i])
			}
		}
		for i := range slow.a {
			if fast.a[i] != slow.a[i] {
				t.Fatalf("%dx%d: byte %d = %d, Go %d", s.m, s.k, i, int8(fast.a[i]), int8(slow.a[i]))
			}
		}
	}
}
