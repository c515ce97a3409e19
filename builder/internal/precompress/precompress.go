//go:build !js

package precompress

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/andybalholm/brotli"

	"github.com/lookalike/lookalike/builder/internal/atomicfile"
)

// gzip encoders are reused (brotli's are sized to each file).
var (
	gzWriters = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.BestCompression)
		return w
	}}
)

// MinSize: smaller files are not worth a sibling.
const MinSize = 1024

// worth: a sibling is written only when it saves at least a tenth.
func worth(raw, packed int) bool { return packed*10 < raw*9 }

// CacheDir, when set, keeps every sibling computed, by the SHA-256 of the
// data: the model (15 MB, a minute of brotli) is compressed once, not
// once per output folder. Set it before concurrent use.
var CacheDir string

// Siblings returns the siblings of data that pay for themselves, by
// suffix (".br", ".gz").
func Siblings(data []byte) (map[string][]byte, error) {
	if CacheDir == "" || len(data) < MinSize {
		return siblings(data)
	}
	sum := sha256.Sum256(data)
	key := filepath.Join(CacheDir, hex.EncodeToString(sum[:]))
	out := map[string][]byte{}
	if _, err := os.Stat(key + ".done"); err == nil {
		for _, suf := range []string{".br", ".gz"} {
			if b, err := os.ReadFile(key + suf); err == nil {
				out[suf] = b
			}
		}
		return out, nil
	}
	out, err := siblings(data)
	if err != nil {
		return nil, err
	}
	// The cache only saves time: a failure to write it is not an error.
	if os.MkdirAll(CacheDir, 0o755) == nil {
		ok := true
		for suf, b := range out {
			ok = ok && atomicfile.Write(key+suf, b) == nil
		}
		if ok {
			atomicfile.Write(key+".done", nil)
		}
	}
	return out, nil
}

func siblings(data []byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	if len(data) < MinSize {
		return out, nil
	}
	var br bytes.Buffer
	// A window no larger than the file: small files need far less memory.
	lg := 16
	for lg < 22 && 1<<lg < len(data) {
		lg++
	}
	q := 9
	if len(data) < 64<<10 {
		q = 6
	}
	bw := brotli.NewWriterOptions(&br, brotli.WriterOptions{Quality: q, LGWin: lg})
	if _, err := bw.Write(data); err != nil {
		return nil, fmt.Errorf("precompress: brotli: %w", err)
	}
	if err := bw.Close(); err != nil {
		return nil, fmt.Errorf("precompress: brotli: %w", err)
	}
	if worth(len(data), br.Len()) {
		out[".br"] = br.Bytes()
	}
	var gz bytes.Buffer
	zw := gzWriters.Get().(*gzip.Writer)
	defer gzWriters.Put(zw)
	zw.Reset(&gz)
	if _, err := zw.Write(data); err != nil {
		return nil, fmt.Errorf("precompress: gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("precompress: gzip: %w", err)
	}
	if worth(len(data), gz.Len()) {
		out[".gz"] = gz.Bytes()
	}
	return out, nil
}

// Write writes path's siblings for data (path itself is not written) and
// removes siblings that no longer pay; it returns the names written.
func Write(path string, data []byte) ([]string, error) {
	sib, err := Siblings(data)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, suf := range []string{".br", ".gz"} {
		b, ok := sib[suf]
		if !ok {
			os.Remove(path + suf)
			continue
		}
		if old, err := os.ReadFile(path + suf); err == nil && bytes.Equal(old, b) {
			names = append(names, path+suf)
			continue
		}
		if err := atomicfile.Write(path+suf, b); err != nil {
			return nil, err
		}
		names = append(names, path+suf)
	}
	return names, nil
}
