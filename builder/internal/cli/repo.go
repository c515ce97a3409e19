//go:build !js

package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// RepoRoot walks up from the working directory to the folder holding
// go.mod (the builder's default cache and static/ live there).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run the builder from the repository (or pass --cache / --static)")
		}
		dir = parent
	}
}

// CacheRoot picks the cache folder: the flag, else $LOOKALIKE_CACHE, else
// .cache at the repository root.
func CacheRoot(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if env := os.Getenv("LOOKALIKE_CACHE"); env != "" {
		return env, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache"), nil
}
