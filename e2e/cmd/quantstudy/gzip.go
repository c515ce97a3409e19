package main

import (
	"compress/gzip"
	"io"
)

func newGzip(w io.Writer) io.WriteCloser {
	z, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
	return z
}
