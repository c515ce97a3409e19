package topk

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestAgainstSort: the kept entries are the k best of the stream by a full
// sort (score descending, lower item first on ties), for many k and
// streams with many ties; NaN scores never appear.
func TestAgainstSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		n := r.IntN(200)
		k := r.IntN(30)
		var all []Entry
		l, skip := New(k), New(k)
		for i := 0; i < n; i++ {
			s := float32(r.IntN(20)) / 4 // many ties
			if r.IntN(25) == 0 {
				s = float32(math.NaN())
			}
			item := r.IntN(1000)
			l.Push(item, s)
			if !(s < skip.Floor()) { // what a scan may skip: Floor's promise
				skip.Push(item, s)
			}
			if s == s {
				all = append(all, Entry{item, s})
			}
		}
		sort.Slice(all, func(a, b int) bool { return worse(all[b], all[a]) })
		want := all[:min(k, len(all))]
		got := l.Sorted()
		if g := skip.Sorted(); !slices.Equal(g, got) {
			t.Fatalf("trial %d: skipping entries below Floor kept %v, want %v", trial, g, got)
		}
		if len(got) != len(want) {
			t.Fatalf("trial %d: kept %d, want %d", trial, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("trial %d: entry %d = %+v, want %+v (got %v)", trial, i, got[i], want[i], got)
			}
		}
	}
	var zero List
	zero.Push(1, 1)
	if zero.Len() != 0 {
		t.Error("the zero List kept an entry")
	}
	l := New(2)
	l.Push(1, 1)
	l.Reset(1)
	if l.Len() != 0 {
		t.Error("Reset kept entries")
	}
}
