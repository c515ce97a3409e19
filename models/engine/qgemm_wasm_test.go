//go:build js && wasm && !lookalike_purego

package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
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
				if !wasmQgemmCall(w, 0, s.m, s.n, b, got, ldc, rs, bias, flags|tile) {
					t.Fatalf("%s: kernel did not handle a valid call", name)
				}
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: C[%d][%d] = %v, want %v", name, i/ldc, i%ldc, got[i], want[i])
					}
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
		if wasmQgemmCall(w, 0, tc.m, tc.n, tc.b, tc.c, 8, rs, rs, 0) {
			t.Errorf("%s: handled", tc.name)
		}
	}
}
