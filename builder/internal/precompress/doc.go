// Package precompress writes the brotli (.br) and gzip (.gz) siblings of
// static files that every host of ours serves in place of the file when
// the browser accepts them (the rule is in internal/headers): content-
// hashed assets never change, so they are compressed once, at build time,
// at the highest settings, instead of on every request. The browser
// decodes them before any code sees the bytes, so the sha256 in the
// manifest still holds. Native only in practice (the builder); pure Go.
package precompress
