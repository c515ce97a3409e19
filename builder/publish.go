//go:build !js

package main

import "regexp"

// What a build's asset folder publishes: manifest.json (and its
// precompressed siblings) and content-named
// files (<kind>-<12 hex>.<ext>, with any further extensions: .partN,
// precompressed .br/.gz siblings). Nothing else in the folder reaches a
// shopper through `builder serve` or `builder stage`: not
// build-report.json (it names local paths and the catalogue's rows), not
// the build lock, not a file a shop left there.
var publishedAsset = regexp.MustCompile(`^[a-z0-9_]+-[0-9a-f]{12}(\.[a-z0-9]+)+$`)

// publishable reports whether the asset folder's file name (slash
// separated, relative to the folder) may be published.
func publishable(name string) bool {
	switch name {
	case "manifest.json", "manifest.json.br", "manifest.json.gz":
		return true
	}
	return publishedAsset.MatchString(name)
}
