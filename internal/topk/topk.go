// Package topk keeps the k best (item, score) pairs of a stream: a bounded
// min-heap whose root is the worst pair kept. Higher scores are better and
// equal scores prefer the lower item, so results are deterministic. The
// tree search (models/annoy), the neighbour lists (models/vecfile) and the
// builder's SGEMM neighbours all select with it.
package topk

import (
	"math"
	"sort"
)

// Entry is one kept pair.
type Entry struct {
	Item  int
	Score float32
}

// List keeps up to k entries. The zero value keeps none; use New or Reset.
type List struct {
	k int
	h []Entry
}

// New returns a list keeping the k best entries.
func New(k int) *List { return &List{k: k, h: make([]Entry, 0, min(max(k, 0), 1<<16))} }

// Reset empties the list and sets k, keeping its memory.
func (t *List) Reset(k int) { t.k, t.h = k, t.h[:0] }

// Len is the number of entries kept.
func (t *List) Len() int { return len(t.h) }

// worse reports whether a ranks below b.
func worse(a, b Entry) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return a.Item > b.Item
}

// Floor is the score an entry must reach to be kept: −Inf until k are
// held, then the worst kept score. An entry scoring below it is not kept
// by Push, so a caller with many entries may skip those (an entry equal
// to it may still be, by the lower item index).
func (t *List) Floor() float32 {
	if len(t.h) < t.k || len(t.h) == 0 {
		return float32(math.Inf(-1))
	}
	return t.h[0].Score
}

// Push offers an entry. A NaN score (from a damaged vector) is dropped.
func (t *List) Push(item int, score float32) {
	if score != score {
		return
	}
	e := Entry{item, score}
	h := t.h
	if len(h) < t.k {
		h = append(h, e)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if !worse(h[i], h[p]) {
				break
			}
			h[p], h[i] = h[i], h[p]
			i = p
		}
		t.h = h
		return
	}
	if len(h) == 0 || !worse(h[0], e) {
		return
	}
	h[0] = e
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && worse(h[r], h[l]) {
			c = r
		}
		if !worse(h[c], h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// Sorted returns the entries kept, best first (a new slice).
func (t *List) Sorted() []Entry {
	out := append([]Entry(nil), t.h...)
	sort.Slice(out, func(a, b int) bool { return worse(out[b], out[a]) })
	return out
}
