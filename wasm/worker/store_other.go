//go:build !(js && wasm)

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lookalike/lookalike/models/edge"
)

// dirStore reads staged files from a folder, for running the worker
// natively (`LOOKALIKE_SITE=.cache/site go run ./wasm/worker`).
type dirStore struct{ root *os.Root }

func newStore() edge.Store {
	site := os.Getenv("LOOKALIKE_SITE")
	if site == "" {
		site = filepath.Join(".cache", "site")
	}
	r, err := os.OpenRoot(filepath.Join(site, strings.Trim(dataPrefix, "/")))
	if err != nil {
		fmt.Fprintf(os.Stderr, "worker: %v (stage a site with 'go run ./builder stage' and set LOOKALIKE_SITE)\n", err)
		os.Exit(1)
	}
	return &dirStore{root: r}
}

func (s *dirStore) Get(_ context.Context, name string) ([]byte, error) {
	b, err := s.root.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", edge.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	return b, nil
}
