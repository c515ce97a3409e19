package par

import (
	"sync/atomic"
	"testing"
)

func TestForCallsEachIndexOnce(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 64} {
		const n = 1000
		var calls [n]atomic.Int32
		var running, most atomic.Int32
		For(n, workers, func(i int) {
			r := running.Add(1)
			for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
			}
			calls[i].Add(1)
			running.Add(-1)
		})
		for i := range calls {
			if c := calls[i].Load(); c != 1 {
				t.Fatalf("workers %d: index %d called %d times", workers, i, c)
			}
		}
		if m := int(most.Load()); m > max(1, workers) {
			t.Fatalf("workers %d: %d calls at once", workers, m)
		}
	}
	For(0, 4, func(int) { t.Fatal("called for n = 0") })
}
