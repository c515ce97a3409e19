//go:build !js

package precompress

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/andybalholm/brotli"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	text := bytes.Repeat([]byte("lookalike catalogue row, "), 400)
	p := filepath.Join(dir, "catalog-0123456789ab.json")
	names, err := Write(p, text)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 {
		t.Fatalf("wrote %v, want .br and .gz", names)
	}
	br, _ := os.ReadFile(p + ".br")
	got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(br)))
	if err != nil || !bytes.Equal(got, text) {
		t.Fatalf("brotli sibling does not decode to the file (%v)", err)
	}
	gz, _ := os.ReadFile(p + ".gz")
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, text) {
		t.Fatal("gzip sibling does not decode to the file")
	}
	// Random bytes do not compress: no sibling, and the old ones go.
	noise := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	if names, err = Write(p, noise); err != nil || len(names) != 0 {
		t.Fatalf("incompressible: wrote %v (%v)", names, err)
	}
	if _, err := os.Stat(p + ".br"); !os.IsNotExist(err) {
		t.Fatal("a stale .br sibling was left")
	}
	if s, _ := Siblings([]byte("tiny")); len(s) != 0 {
		t.Fatal("a tiny file got siblings")
	}
}

func TestCache(t *testing.T) {
	CacheDir = t.TempDir()
	defer func() { CacheDir = "" }()
	text := bytes.Repeat([]byte("cached sibling "), 200)
	a, err := Siblings(text)
	if err != nil || len(a) != 2 {
		t.Fatalf("%v %v", a, err)
	}
	entries, _ := os.ReadDir(CacheDir)
	if len(entries) != 3 {
		t.Fatalf("cache holds %d files, want .br, .gz and .done", len(entries))
	}
	// A second call reads the cache: damage the cached .gz and see it come back.
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".gz" {
			os.WriteFile(filepath.Join(CacheDir, e.Name()), []byte("x"), 0o644)
		}
	}
	b, _ := Siblings(text)
	if string(b[".gz"]) != "x" || !bytes.Equal(b[".br"], a[".br"]) {
		t.Fatal("the second call did not come from the cache")
	}
}
