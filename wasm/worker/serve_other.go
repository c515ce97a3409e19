//go:build !(js && wasm)

package main

import (
	"net/http"

	"github.com/syumai/workers"
)

// serve listens on PORT (default 9900): syumai/workers' native server.
func serve(h http.Handler) { workers.Serve(h) }
