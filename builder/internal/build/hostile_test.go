//go:build !js

package build

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lookalike/lookalike/builder/internal/buildtest"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/search"
)

// The probes of issue #14 against `builder build`: rows naming things
// that are not photos of the shop, and links that are not links.

// TestBuildHostileImagePaths: each bad path is one bad row with a clear
// reason; the build neither hangs nor reads what it must not, and no byte
// of a non-image file reaches the report.
func TestBuildHostileImagePaths(t *testing.T) {
	model := buildtest.TinyModel(t)
	cache := t.TempDir()
	elsewhere := t.TempDir()
	secret := filepath.Join(elsewhere, "secret.jpg")
	os.WriteFile(secret, buildtest.JPEG(t, buildtest.Photo(77, 0)), 0o644)
	passwd := filepath.Join(elsewhere, "passwd")
	os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o644)
	cases := []struct {
		name, image string
		setup       func(f *buildtest.Fixture)
		args        []string
		reason      string
	}{
		{name: "/dev/zero", image: "/dev/zero", args: []string{"--image-root", "/"}, reason: "not a regular file"},
		{name: "a FIFO", image: "images/fifo.jpg", setup: func(f *buildtest.Fixture) {
			if err := syscall.Mkfifo(filepath.Join(f.Dir, "images", "fifo.jpg"), 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
		}, reason: "not a regular file"},
		{name: "a folder", image: "images", reason: "not a regular file"},
		{name: "../ out of the folder", image: "../" + filepath.Base(elsewhere) + "/secret.jpg", reason: catalog.ReasonOutsideImage},
		{name: "an absolute path", image: secret, reason: catalog.ReasonOutsideImage},
		{name: "/etc/passwd", image: "/etc/passwd", reason: catalog.ReasonOutsideImage},
		{name: "a symbolic link out of the folder", image: "images/link.jpg", setup: func(f *buildtest.Fixture) {
			os.Symlink(secret, filepath.Join(f.Dir, "images", "link.jpg"))
		}, reason: catalog.ReasonOutsideImage},
		{name: "a text file, paths allowed anywhere", image: passwd, args: []string{"--image-root", "/"}, reason: "not an image"},
		{name: "a file over --max-image-bytes", image: "images/big.jpg", setup: func(f *buildtest.Fixture) {
			f.WriteImage(t, "images/big.jpg", append(buildtest.JPEG(t, buildtest.Photo(5, 1)), make([]byte, 100_000)...))
		}, args: []string{"--max-image-bytes", "50000"}, reason: "file too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := buildtest.NewFixture(t, 20)
			// The fixture lives beside elsewhere (both under the test's
			// temporary root), so "../<elsewhere>/secret.jpg" resolves.
			if strings.HasPrefix(tc.image, "../") {
				rel, _ := filepath.Rel(f.Dir, secret)
				tc.image = filepath.ToSlash(rel)
			}
			if tc.setup != nil {
				tc.setup(f)
			}
			row := []string{"bad1", tc.image, "t", "Apparel", "Tshirts", "Red"}
			f.Rows = append(f.Rows, row)
			f.WriteCSV(t)
			out := t.TempDir()
			args := append([]string{"--max-errors", "5"}, tc.args...)
			r := btBuild(t, model, f.Catalog(), out, cache, args...)
			if r.err != nil {
				t.Fatalf("build: %v\n%s", r.err, r.log)
			}
			var bad *rowProblem
			for i, p := range r.report.Problems {
				if p.ID == "bad1" {
					bad = &r.report.Problems[i]
				}
			}
			if bad == nil || !strings.Contains(bad.Reason, tc.reason) {
				t.Fatalf("problems %+v; want row bad1 with %q", r.report.Problems, tc.reason)
			}
			if r.report.Items != 20 {
				t.Errorf("%d items, want 20", r.report.Items)
			}
			report, _ := os.ReadFile(filepath.Join(out, "build-report.json"))
			for _, leak := range []string{"root:x", "726f6f74", "72 6f 6f 74"} {
				if bytes.Contains(report, []byte(leak)) {
					t.Errorf("the report quotes the file's bytes (%q): %s", leak, report)
				}
			}
			// The secret photo is not in the build: no thumbnail of it.
			if m := btCheckPublished(t, out); m.ItemCount != 20 {
				t.Errorf("item_count %d, want 20", m.ItemCount)
			}
		})
	}
}

// TestBuildRelativeCatalogue: the catalogue and its photos named by
// relative paths (as `go run ./builder build --catalog ../shared/…` does)
// are inside the folder: the symbolic-link check compares like with like.
func TestBuildRelativeCatalogue(t *testing.T) {
	model := buildtest.TinyModel(t)
	f := buildtest.NewFixture(t, 12)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, f.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{nil, {"--image-root", filepath.Dir(rel)}} {
		r := btBuild(t, model, rel, t.TempDir(), t.TempDir(), args...)
		if r.err != nil || r.report.Items != 12 {
			t.Fatalf("build --catalog %s %v: %v, %d items\n%s", rel, args, r.err, r.report.Items, r.log)
		}
	}
}

// TestBuildUnsafeURL: a javascript: link is dropped and listed as "unsafe
// url"; the product stays searchable and is not counted as skipped.
func TestBuildUnsafeURL(t *testing.T) {
	model := buildtest.TinyModel(t)
	f := buildtest.NewFixture(t, 12)
	header := append(append([]string(nil), buildtest.Header...), "url")
	urls := map[int]string{2: "javascript:alert(3)", 5: "JaVaScRiPt:alert(3)", 7: "data:text/html,<script>alert(1)</script>", 9: "https://shop.example/p9"}
	for i := range f.Rows {
		f.Rows[i] = append(f.Rows[i], urls[i])
	}
	var b bytes.Buffer
	b.WriteString(strings.Join(header, ",") + "\n")
	for _, r := range f.Rows {
		for j, v := range r {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + strings.ReplaceAll(v, `"`, `""`) + `"`)
		}
		b.WriteByte('\n')
	}
	os.WriteFile(f.Catalog(), b.Bytes(), 0o644)
	out := t.TempDir()
	r := btBuild(t, model, f.Catalog(), out, t.TempDir(), "--max-errors", "0")
	if r.err != nil {
		t.Fatalf("build: %v\n%s", r.err, r.log)
	}
	if r.report.Items != 12 || r.report.Skipped != 0 || len(r.report.Problems) != 3 {
		t.Fatalf("items %d skipped %d problems %+v; want 12 items, 0 skipped, 3 kept problems", r.report.Items, r.report.Skipped, r.report.Problems)
	}
	for _, p := range r.report.Problems {
		if p.Reason != catalog.ReasonUnsafeURL || !p.Kept || !strings.Contains(p.Detail, `column "url"`) {
			t.Errorf("problem %+v, want a kept %q on column url", p, catalog.ReasonUnsafeURL)
		}
	}
	if !strings.Contains(r.log, "[product kept]") {
		t.Errorf("the log does not say the products were kept:\n%s", r.log)
	}
	m := btCheckPublished(t, out)
	a, _ := m.Asset("catalog")
	disp := btAssetBytes(t, out, a)
	low := strings.ToLower(string(disp))
	if strings.Contains(low, "javascript:") || strings.Contains(low, "data:") || !strings.Contains(string(disp), "https://shop.example/p9") {
		t.Errorf("catalog asset: %s", disp)
	}
	eng, err := OpenAssets(out, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := eng.Display.IndexOf("p2"); !ok || eng.Display.Item(i).URL != "" {
		t.Errorf("p2 not searchable or still linked")
	}
}

// TestQueryRefusesManifestWithoutHash: an empty sha256 used to switch
// `builder query`'s integrity check off, so a flipped byte gave results.
func TestQueryRefusesManifestWithoutHash(t *testing.T) {
	model := buildtest.TinyModel(t)
	f := buildtest.NewFixture(t, 12)
	out := t.TempDir()
	if r := btBuild(t, model, f.Catalog(), out, t.TempDir()); r.err != nil {
		t.Fatal(r.err)
	}
	var raw map[string]any
	mb, _ := os.ReadFile(filepath.Join(out, "manifest.json"))
	json.Unmarshal(mb, &raw)
	for _, a := range raw["assets"].([]any) {
		a := a.(map[string]any)
		if a["kind"] == "vectors" {
			a["sha256"] = ""
			vb, _ := os.ReadFile(filepath.Join(out, a["file"].(string)))
			vb[len(vb)-1] ^= 0xff
			os.WriteFile(filepath.Join(out, a["file"].(string)), vb, 0o644)
		}
	}
	mb, _ = json.Marshal(raw)
	os.WriteFile(filepath.Join(out, "manifest.json"), mb, 0o644)
	_, err := OpenAssets(out, search.Options{})
	if err == nil || !strings.Contains(err.Error(), "no sha256") {
		t.Fatalf("openAssets with an empty sha256: %v, want a load error naming the missing hash", err)
	}
}
