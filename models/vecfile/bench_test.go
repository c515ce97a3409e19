package vecfile

import (
	"os"
	"strconv"
	"testing"
)

// BenchmarkComputeNeighbors: section (7 sections) + global lists, K=24,
// 256-d; LOOKALIKE_BENCH_N sets the item count (default 10000; the time
// grows with n²).
func BenchmarkComputeNeighbors(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("LOOKALIKE_BENCH_N"))
	if n == 0 {
		n = 10000
	}
	v := unitVectors(n, 256, 1)
	sec := make([]int32, n)
	for i := range sec {
		sec[i] = int32(i % 7)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ComputeNeighbors(v, 256, sec, DefaultK, true); err != nil {
			b.Fatal(err)
		}
	}
}
