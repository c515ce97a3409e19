//go:build !(js && wasm)

package main

import (
	"os"

	"github.com/lookalike/lookalike/models/vecfile"
)

// openRecords reads records of the vector file at path as native tools
// do: positioned reads of the file.
func openRecords(path string) (vecfile.RecordReader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return vecfile.ReaderAtRecords{R: f}, func() { f.Close() }, nil
}
