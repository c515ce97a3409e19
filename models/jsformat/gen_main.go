//go:build ignore

// gen_main.go writes static/lookalike/gen_formats.js (jsformat.Source):
//
//	go generate ./models/jsformat
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/lookalike/lookalike/models/jsformat"
)

func main() {
	// go generate runs in the package folder: the repository is two up.
	out := filepath.Join("..", "..", filepath.FromSlash(jsformat.GeneratedFile))
	if err := os.WriteFile(out, jsformat.Source(), 0o644); err != nil {
		log.Fatalf("jsformat: %v", err)
	}
}
