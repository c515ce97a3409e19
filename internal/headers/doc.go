// Package headers is Lookalike's one header policy: what every host of a
// staged site sends with each file and API answer — the CSP, nosniff,
// COOP/COEP, CORS and CORP (pages stay same-origin; scripts, assets and
// the API may be used by other sites), caching (content-hashed names are
// immutable, the rest revalidated), pinned content types, the service
// worker's scope, CORS preflights, and how precompressed siblings (F.br,
// F.gz) are served.
//
// Three kinds of host read it:
//
//   - `go run ./builder serve` calls File, Negotiate and friends per request;
//   - the edge entry (wasm/worker/entry.mjs) imports JSON (written by
//     wasm/worker/build.sh through `builder headers --format json`);
//   - static hosts get recipes: PagesFile (Cloudflare Pages `_headers`,
//     which `builder stage` writes into the site) and Nginx (a snippet);
//     docs/deploy.md shows both, generated from here.
//
// Tests check all three against File: the builder's serve tests, the
// worker e2e test (wrangler dev next to builder serve), and this
// package's tests (the `_headers` rules evaluated as Pages does; the
// nginx snippet in a real nginx when one is installed).
//
// Pure functions and constant data; safe for concurrent use; builds for
// every platform.
//
//	for _, f := range headers.File("/assets/manifest.json") {
//		fmt.Printf("%s: %s\n", f.Name, f.Value) // … Cache-Control: no-cache
//	}
package headers
