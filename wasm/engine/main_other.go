//go:build !js

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "wasm/engine: this program runs in the browser; build it with GOOS=js GOARCH=wasm (go run ./builder serve does)")
	os.Exit(2)
}
