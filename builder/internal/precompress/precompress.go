//go:build !js

package precompress

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"

	"github.com/andybalholm/brotli"

	"github.com/lookalike/lookalike/builder/internal/atomicfile"
)

// MinSize: smaller files are not worth a sibling.
const MinSize = 1024

// worth: a sibling is written only when it saves at least a tenth.
func worth(raw, packed int) bool { return packed*10 < raw*9 }

// Siblings returns the siblings of data that pay for themselves, by
// suffix (".br", ".gz").
func Siblings(data []byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	if len(data) < MinSize {
		return out, nil
	}
	var br bytes.Buffer
	bw := brotli.NewWriterOptions(&br, brotli.WriterOptions{Quality: 9, LGWin: 22})
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
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
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
