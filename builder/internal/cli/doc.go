// Package cli is the frame every builder command runs in: the command
// registry and its help (`go run ./builder`, `builder help CMD`), flag
// parsing that answers a typo with the error and a one-line hint instead of
// every flag, and the folders the commands default to (the repository root
// and its .cache).
//
// Commands register themselves from init() in their own package (the
// product commands in builder/internal/build and builder/, the evaluation
// commands in builder/internal/evaluate); builder/main.go imports those
// packages and hands os.Args to Main.
//
// Native only, like the whole builder. Not safe for concurrent use: the
// registry is filled by init() and read by Main.
package cli
