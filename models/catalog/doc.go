// Package catalog reads a shop's catalogue (CSV or JSON Lines), reports
// per-row problems without stopping, picks the section and filter
// attributes, and defines the catalogue-side assets the builder writes and
// the browser reads: the display metadata file (catalog-<hash>.json) and the
// manifest (manifest.json) with content-hashed asset names.
//
// Parsing (Parse, ParseFile) is for the native builder but has no native
// dependencies; the display and manifest readers (ParseDisplay,
// ReadManifest) are meant for js/wasm and work on []byte. Everything builds
// for both. Parsed values are not modified by the package after they are
// returned and are safe for concurrent reads.
//
// A catalogue needs the columns id and image; title, url, price and
// currency are understood; every other column is an attribute (for
// example masterCategory, articleType, baseColour). Column names match
// case-insensitively. Fatal problems (unreadable input, a missing required
// column, broken CSV quoting) are returned as errors naming the line; row
// problems (empty or duplicate id, invalid UTF-8, missing or remote image)
// are collected as RowErrors and the good rows are kept in file order.
package catalog
