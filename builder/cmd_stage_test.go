//go:build !js

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/edge"
	"github.com/lookalike/lookalike/models/vecfile"
)

// stageFixture writes a page folder and a small but real asset folder
// (display metadata + neighbours named in a manifest) under dir.
func stageFixture(t *testing.T, dir string, n int) (static, assets string) {
	t.Helper()
	static, assets = filepath.Join(dir, "static"), filepath.Join(dir, "assets")
	write := func(p string, b []byte) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(static, "index.html"), []byte("<!doctype html>"))
	write(filepath.Join(static, "README.md"), []byte("# dev notes"))
	write(filepath.Join(static, ".hidden"), []byte("no"))
	write(filepath.Join(static, "build", "engine-0123456789ab.wasm"), []byte("\x00asm"))
	write(filepath.Join(static, "build", "engine-0123456789ab.wasm.br"), []byte("br bytes"))
	write(filepath.Join(static, "build", "engine-0123456789ab.wasm.gz"), []byte("gz bytes"))
	items := make([]catalog.Item, n)
	nl := vecfile.NeighborLists{K: 3, Section: make([][]vecfile.Neighbor, n)}
	for i := range items {
		items[i] = catalog.Item{ID: "id" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('0'+i/26%10)),
			Title: "t", Attrs: map[string]string{"masterCategory": "S"}}
		nl.Section[i] = []vecfile.Neighbor{{Item: uint32((i + 1) % n), Score: 0.5}}
	}
	db, err := catalog.BuildDisplay(items, []string{"id", "image", "title", "masterCategory"}, catalog.DisplayOptions{Attributes: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var nb bytes.Buffer
	if err := vecfile.WriteNeighbors(&nb, nl); err != nil {
		t.Fatal(err)
	}
	m := catalog.Manifest{ItemCount: n}
	for _, a := range []struct {
		kind, ext string
		b         []byte
	}{{"catalog", "json", db}, {"neighbors", "bin", nb.Bytes()}} {
		asset, files := catalog.NewAsset(a.kind, a.ext, a.b, 0)
		m.Assets = append(m.Assets, asset)
		for name, b := range files {
			write(filepath.Join(assets, name), b)
		}
	}
	mb, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(assets, "manifest.json"), mb)
	write(filepath.Join(assets, "build-report.json"), []byte("{}"))
	return static, assets
}

func TestStageSite(t *testing.T) {
	dir := t.TempDir()
	static, assets := stageFixture(t, dir, 300)
	out := filepath.Join(dir, "site")
	st, err := stageSite(static, assets, out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"index.html", "build/engine-0123456789ab.wasm", "assets/manifest.json",
		"_worker/meta.json", "_worker/ids-0.txt", "_worker/nb-0.bin", "_worker/nb-4.bin", "_worker/cards-9.jsonl", siteMarker, ".assetsignore"} {
		if _, err := os.Stat(filepath.Join(out, want)); err != nil {
			t.Errorf("staged site lacks %s: %v", want, err)
		}
	}
	for _, not := range []string{"README.md", ".hidden", "assets/build-report.json"} {
		if _, err := os.Stat(filepath.Join(out, not)); err == nil {
			t.Errorf("staged site has %s", not)
		}
	}
	ceil := func(a, b int) int { return (a + b - 1) / b }
	if want := 3 + ceil(300, edge.ShardSize) + ceil(300, edge.CardShardSize); st.edgeFiles != want || st.files < 10 { // meta, ids, encodings, nb and cards shards
		t.Errorf("stats %+v", st)
	}
	// The static-host recipe, kept out of a wrangler upload, and the index
	// of precompressed siblings for the edge entry.
	ph, err := os.ReadFile(filepath.Join(out, "_headers"))
	if err != nil || !strings.Contains(string(ph), "/assets/*\n  ! Cache-Control\n  Cache-Control: public, max-age=31536000, immutable\n") ||
		!strings.Contains(string(ph), "/assets/manifest.json\n  ! Cache-Control\n  Cache-Control: no-cache\n") {
		t.Errorf("_headers (%v):\n%s", err, ph)
	}
	if ig, _ := os.ReadFile(filepath.Join(out, ".assetsignore")); !strings.Contains(string(ig), "_headers") {
		t.Errorf(".assetsignore %q lets _headers into the upload", ig)
	}
	var enc map[string][]string
	eb, _ := os.ReadFile(filepath.Join(out, "_worker", "encodings.json"))
	if err := json.Unmarshal(eb, &enc); err != nil || len(enc) != 1 || strings.Join(enc["/build/engine-0123456789ab.wasm"], ",") != "br,gzip" {
		t.Errorf("encodings.json %s (%v)", eb, err)
	}
	// Staging again replaces the folder (it carries the marker).
	os.WriteFile(filepath.Join(out, "stale.js"), []byte("old"), 0o644)
	if _, err := stageSite(static, assets, out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "stale.js")); err == nil {
		t.Error("a stale file survived re-staging")
	}
}

func TestStageRefuses(t *testing.T) {
	dir := t.TempDir()
	static, assets := stageFixture(t, dir, 20)
	// A folder stage did not write is never deleted.
	other := filepath.Join(dir, "precious")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "keep.txt"), []byte("keep"), 0o644)
	if _, err := stageSite(static, assets, other); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("non-empty foreign folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "keep.txt")); err != nil {
		t.Error("the foreign folder was touched")
	}
	for _, out := range []string{dir, static, filepath.Join(assets, "site")} {
		if _, err := stageSite(static, assets, out); err == nil {
			t.Errorf("--out %s overlapping the inputs: no error", out)
		}
	}
	// An asset over the static-host limit.
	big := filepath.Join(assets, "huge-0123456789ab.bin")
	f, _ := os.Create(big)
	f.Truncate(catalog.MaxAssetSize + 1)
	f.Close()
	if _, err := stageSite(static, assets, filepath.Join(dir, "site2")); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized asset: %v", err)
	}
	os.Remove(big)
	// A manifest whose asset does not match its checksum.
	m, _ := os.ReadFile(filepath.Join(assets, "manifest.json"))
	var man catalog.Manifest
	json.Unmarshal(m, &man)
	os.WriteFile(filepath.Join(assets, man.Assets[0].File), []byte("tampered"), 0o644)
	if _, err := stageSite(static, assets, filepath.Join(dir, "site3")); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("tampered asset: %v", err)
	}
}
