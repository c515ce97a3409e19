// Package par runs the iterations of a loop on several goroutines: the
// builder's embedding and training loops, builder eval's queries, the
// product finder's training shards. Native and js/wasm.
package par

import (
	"runtime"
	"sync"
)

// For calls f(0..n-1), each index once, on workers goroutines (at least
// one) and returns when all have returned. The order of the calls is not
// fixed: f writes its result where its index says.
func For(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// All is For on every core (GOMAXPROCS).
func All(n int, f func(i int)) { For(n, runtime.GOMAXPROCS(0), f) }
