//go:build js && wasm

// Command probe is run by the runner's tests: it prints its arguments, one
// environment variable and whether the SIMD kernel answers, then exits with
// the code given as its first argument.
package main

import (
	"fmt"
	"os"
	"strconv"
)

//go:wasmimport lookalike sgemm
//go:noescape
func sgemm(m, n, k int32, a *float32, lda int32, b *float32, ldb int32,
	c *float32, ldc int32, accumulate int32, ws *float32, kc, nc int32) int32

func main() {
	// C[2×3] = A[2×2]·B[2×3]
	a := []float32{1, 2, 3, 4}
	b := []float32{1, 0, 2, 0, 1, 3}
	c := make([]float32, 6)
	ws := make([]float32, 32+4*2+2*8)
	handled := sgemm(2, 3, 2, &a[0], 2, &b[0], 3, &c[0], 3, 0, &ws[0], 2, 3)
	fmt.Printf("args=%q env=%q kernel=%d c=%v\n", os.Args[1:], os.Getenv("PROBE_VALUE"), handled, c)
	fmt.Fprintln(os.Stderr, "probe: to stderr")
	code, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(2)
	}
	os.Exit(code)
}
