package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/lookalike/lookalike/models/edge"
	"github.com/lookalike/lookalike/models/edge/edgetest"
)

func TestCached(t *testing.T) {
	s := &edgetest.Store{Files: map[string][]byte{
		"a":    []byte(strings.Repeat("a", 40)),
		"b":    []byte(strings.Repeat("b", 40)),
		"c":    []byte(strings.Repeat("c", 40)),
		"huge": []byte(strings.Repeat("h", 200)),
	}}
	c := Cached(s, 100)
	ctx := context.Background()
	get := func(name string) {
		t.Helper()
		b, err := c.Get(ctx, name)
		if err != nil || string(b) != string(s.Files[name]) {
			t.Fatalf("Get(%s) = %q, %v", name, b, err)
		}
	}
	reads := func(want int) {
		t.Helper()
		if got := s.Gets(); got != want {
			t.Errorf("%d reads of the store, want %d", got, want)
		}
	}
	get("a")
	get("b")
	get("a")
	reads(2) // a and b kept
	get("c") // 120 bytes > 100: b (least recently used) goes
	reads(1)
	get("a")
	reads(0)
	get("b")
	reads(1)
	get("huge") // larger than the whole cache: read every time, never kept
	get("huge")
	reads(2)
	get("a")
	get("b")
	reads(0) // huge evicted nothing
	if _, err := c.Get(ctx, "nope"); !errors.Is(err, edge.ErrNotFound) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := c.Get(ctx, "nope"); err == nil {
		t.Error("a miss was cached")
	}
	reads(2)
}

func TestCachedConcurrent(t *testing.T) {
	files := map[string][]byte{}
	for i := 0; i < 50; i++ {
		files[fmt.Sprint(i)] = []byte(strings.Repeat(fmt.Sprint(i%10), 10+i))
	}
	s := &edgetest.Store{Files: files}
	c := Cached(s, 400)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				name := fmt.Sprint((i * (g + 1)) % 50)
				b, err := c.Get(context.Background(), name)
				if err != nil || string(b) != string(files[name]) {
					t.Errorf("Get(%s) = %q, %v", name, b, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	cs := c.(*cachedStore)
	var sum int64
	for _, e := range cs.files {
		sum += int64(len(e.Value.(*cachedFile).b))
	}
	if sum != cs.size || cs.size > 400 || cs.lru.Len() != len(cs.files) {
		t.Errorf("cache books: size %d, sum %d, %d entries, %d in the list", cs.size, sum, len(cs.files), cs.lru.Len())
	}
}

func TestMetaParsedOnce(t *testing.T) {
	f := edgetest.New(t, 40, 4, true)
	h := Handler(Cached(f.Store, 1<<20)).(*handler)
	ctx := context.Background()
	m1, err := h.meta(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := h.meta(ctx)
	if m1 != m2 {
		t.Error("the same meta.json bytes were parsed again")
	}
	// A store that copies (the uncached one) gets a fresh parse each time.
	u := Handler(f.Store).(*handler)
	u1, _ := u.meta(ctx)
	u2, _ := u.meta(ctx)
	if u1 == u2 || u1.Build != u2.Build {
		t.Errorf("fresh bytes reused a parse (%p %p) or differ", u1, u2)
	}
}
