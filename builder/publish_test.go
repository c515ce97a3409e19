//go:build !js

package main

import "testing"

// What serve and stage publish from an asset folder: the manifest and
// content-named files with their parts and precompressed siblings; never
// the report, the lock or a stray file.
func TestPublishable(t *testing.T) {
	for name, want := range map[string]bool{
		"manifest.json": true, "manifest.json.br": true, "manifest.json.gz": true,
		"index-0123456789ab.ann": true, "index-0123456789ab.ann.part1": true, "index-0123456789ab.ann.part1.br": true,
		"thumbs-0123456789ab.jpg": true, "codes-0123456789ab.bin.gz": true,
		"build-report.json": false, ".lookalike-build.lock": false, "notes.txt": false, "manifest.json.bak": false,
		"index-0123456789ab": false, "index-0123.ann": false, "sub/index-0123456789ab.ann": false, "../manifest.json": false,
	} {
		if got := publishable(name); got != want {
			t.Errorf("publishable(%q) = %v, want %v", name, got, want)
		}
	}
}
