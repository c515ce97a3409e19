package vec

import (
	"math"
	"testing"
)

func TestDot(t *testing.T) {
	for n := 0; n <= 9; n++ {
		a, b := make([]float32, n), make([]float32, n+2)
		var want float64
		for i := range a {
			a[i], b[i] = float32(i)+0.5, float32(n-i)*0.25
			want += float64(a[i]) * float64(b[i])
		}
		if got := Dot(a, b); math.Abs(float64(got)-want) > 1e-4*math.Max(1, want) {
			t.Errorf("n=%d: Dot = %v, want %v", n, got, want)
		}
	}
}
