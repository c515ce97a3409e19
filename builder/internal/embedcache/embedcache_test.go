//go:build !js

package embedcache

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
)

func TestEmbedCacheResumesAfterTornWrite(t *testing.T) {
	root := t.TempDir()
	c, err := Open(root, "modelsha", "gap/stretch", 3)
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	if err := c.Put(k1, []float32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(k2, []float32{4, 5, 6}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// Simulate a kill in the middle of a third record.
	log := filepath.Join(c.Dir(), "features.log")
	f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte("partial record"))
	f.Close()

	c2, err := Open(root, "modelsha", "gap/stretch", 3)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Len() != 2 {
		t.Fatalf("after torn write: %d records, want 2", c2.Len())
	}
	if v, ok := c2.Get(k2); !ok || v[2] != 6 {
		t.Fatalf("Get(k2) = %v, %v", v, ok)
	}
	k3 := sha256.Sum256([]byte("c"))
	c2.Put(k3, []float32{7, 8, 9})
	c2.Close()
	c3, _ := Open(root, "modelsha", "gap/stretch", 3)
	defer c3.Close()
	if v, ok := c3.Get(k3); !ok || v[0] != 7 || c3.Len() != 3 {
		t.Fatalf("record after the cut tail lost: %v %v len=%d", v, ok, c3.Len())
	}
	// A different model or pipeline is a different cache.
	c4, _ := Open(root, "othermodel", "gap/stretch", 3)
	defer c4.Close()
	if c4.Len() != 0 {
		t.Fatal("cache keyed by model hash leaked across models")
	}
}

func TestEmbedCacheRejectsCorruptRecord(t *testing.T) {
	root := t.TempDir()
	c, _ := Open(root, "m", "p", 2)
	c.Put(sha256.Sum256([]byte("x")), []float32{1, 2})
	c.Close()
	log := filepath.Join(c.Dir(), "features.log")
	b, _ := os.ReadFile(log)
	b[40] ^= 0xff // flip a bit in the vector
	os.WriteFile(log, b, 0o644)
	c2, _ := Open(root, "m", "p", 2)
	defer c2.Close()
	if c2.Len() != 0 {
		t.Fatal("corrupt record was trusted")
	}
}

// Two builds sharing one cache must not clobber each other's records.
func TestEmbedCacheSharedByTwoWriters(t *testing.T) {
	root := t.TempDir()
	a, _ := Open(root, "m", "p", 4)
	b, _ := Open(root, "m", "p", 4)
	done := make(chan bool)
	write := func(c *Cache, prefix string) {
		for i := 0; i < 300; i++ {
			c.Put(sha256.Sum256([]byte(prefix+string(rune(i)))), []float32{float32(i), 1, 2, 3})
		}
		c.Close()
		done <- true
	}
	go write(a, "a")
	go write(b, "b")
	<-done
	<-done
	c, _ := Open(root, "m", "p", 4)
	defer c.Close()
	if c.Len() != 600 {
		t.Fatalf("%d records after two concurrent writers, want 600", c.Len())
	}
}

func TestEmbedCacheSkipsDamagedRecordKeepsLater(t *testing.T) {
	root := t.TempDir()
	c, _ := Open(root, "m", "p", 2)
	for i := 0; i < 3; i++ {
		c.Put(sha256.Sum256([]byte{byte(i)}), []float32{float32(i), 0})
	}
	c.Close()
	log := filepath.Join(c.Dir(), "features.log")
	b, _ := os.ReadFile(log)
	b[c.recordSize()+33] ^= 0xff // damage the middle record's vector
	os.WriteFile(log, b, 0o644)
	c2, _ := Open(root, "m", "p", 2)
	defer c2.Close()
	if _, ok := c2.Get(sha256.Sum256([]byte{2})); !ok || c2.Len() != 2 {
		t.Fatalf("len %d; the record after a damaged one must survive", c2.Len())
	}
}

func TestEmbedCacheRefreshSeesOtherWriters(t *testing.T) {
	root := t.TempDir()
	a, _ := Open(root, "m", "p", 2)
	defer a.Close()
	b, _ := Open(root, "m", "p", 2)
	k := sha256.Sum256([]byte("later"))
	b.Put(k, []float32{4, 2})
	b.Close()
	if _, ok := a.Get(k); ok {
		t.Fatal("seen before Refresh")
	}
	if err := a.Refresh(); err != nil {
		t.Fatal(err)
	}
	if v, ok := a.Get(k); !ok || v[0] != 4 {
		t.Fatalf("after Refresh: %v %v", v, ok)
	}
}
