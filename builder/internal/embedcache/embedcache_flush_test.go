//go:build !js

package embedcache

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// fakeTimers stands in for time.AfterFunc: the test fires the timers.
type fakeTimers struct {
	armed []*fakeTimer
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool { was := !t.stopped; t.stopped = true; return was }

func (ft *fakeTimers) afterFunc(d time.Duration, f func()) stopper {
	t := &fakeTimer{d: d, f: f}
	ft.armed = append(ft.armed, t)
	return t
}

// live returns the timers not stopped.
func (ft *fakeTimers) live() []*fakeTimer {
	var out []*fakeTimer
	for _, t := range ft.armed {
		if !t.stopped {
			out = append(out, t)
		}
	}
	return out
}

func logRecords(t *testing.T, c *Cache) int64 {
	t.Helper()
	st, err := os.Stat(filepath.Join(c.Dir(), "features.log"))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size() / int64(c.recordSize())
}

func cacheKey(i int) [32]byte { return sha256.Sum256([]byte("img" + strconv.Itoa(i))) }

// TestEmbedCacheFlushesOnTime: a record waits in memory at most
// flushInterval (one timer per flush, armed by its first record), and 64
// records still flush at once; either way the batch is one write.
func TestEmbedCacheFlushesOnTime(t *testing.T) {
	root := t.TempDir()
	c, err := Open(root, "m", "p", 2)
	if err != nil {
		t.Fatal(err)
	}
	ft := &fakeTimers{}
	c.afterFunc = ft.afterFunc
	for i := 0; i < 3; i++ {
		if err := c.Put(cacheKey(i), []float32{1, float32(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := logRecords(t, c); n != 0 {
		t.Fatalf("%d records written before the interval was up", n)
	}
	live := ft.live()
	if len(live) != 1 || live[0].d != flushInterval || flushInterval > 2*time.Second {
		t.Fatalf("timers %+v: want one, of %s (≤ 2 s)", live, flushInterval)
	}
	live[0].f() // the interval is up
	if n := logRecords(t, c); n != 3 {
		t.Fatalf("after the timed flush: %d records on disk, want 3", n)
	}
	// A second build opening the cache now finds them: a SIGKILL here
	// would lose nothing.
	other, err := Open(root, "m", "p", 2)
	if err != nil {
		t.Fatal(err)
	}
	if other.Len() != 3 {
		t.Fatalf("another process sees %d records, want 3", other.Len())
	}
	other.Close()

	// The next record arms a new timer; 64 records flush without it and
	// stop it.
	for i := 3; i < 3+flushRecords; i++ {
		if err := c.Put(cacheKey(i), []float32{2, float32(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := logRecords(t, c); n != 3+flushRecords {
		t.Fatalf("after 64 more records: %d on disk, want %d", n, 3+flushRecords)
	}
	if l := ft.live(); len(l) != 0 {
		t.Fatalf("%d timers still armed after a full flush", len(l))
	}
	if len(ft.armed) != 2 {
		t.Fatalf("%d timers armed in all, want 2 (one per flush)", len(ft.armed))
	}
	if err := c.Put(cacheKey(1000), []float32{3, 3}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := logRecords(t, c); n != 4+flushRecords {
		t.Fatalf("after Close: %d records, want %d", n, 4+flushRecords)
	}
	ft.armed[len(ft.armed)-1].f() // a timer firing after Close does nothing
}

// Two builds sharing one cache, their timed flushes interleaved with each
// other's writes: every flush is one write of whole records, so none is
// torn or mixed.
func TestEmbedCacheTimedFlushesDoNotInterleave(t *testing.T) {
	root := t.TempDir()
	a, _ := Open(root, "m", "p", 4)
	b, _ := Open(root, "m", "p", 4)
	fa, fb := &fakeTimers{}, &fakeTimers{}
	a.afterFunc, b.afterFunc = fa.afterFunc, fb.afterFunc
	for i := 0; i < 40; i++ {
		c, ft := a, fa
		if i%3 == 0 {
			c, ft = b, fb
		}
		if err := c.Put(cacheKey(i), []float32{float32(i), 1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		if i%5 == 4 {
			for _, tm := range ft.live() {
				tm.f()
			}
		}
	}
	a.Close()
	b.Close()
	c, _ := Open(root, "m", "p", 4)
	defer c.Close()
	if c.Len() != 40 {
		t.Fatalf("%d records after interleaved flushes, want 40", c.Len())
	}
	for i := 0; i < 40; i++ {
		if v, ok := c.Get(cacheKey(i)); !ok || v[0] != float32(i) {
			t.Fatalf("record %d: %v %v", i, v, ok)
		}
	}
}
