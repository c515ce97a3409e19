//go:build !js

package build

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/builder/internal/buildtest"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/search"
)

func TestQueryJSONLines(t *testing.T) {
	assets, _, _, _ := buildtest.TinyAssets(t, buildQuiet)
	e, err := OpenAssets(assets, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	red := filepath.Join(dir, "red.png")
	buildtest.WriteSolidPNG(t, red, color.RGBA{250, 5, 5, 255}, 20, 20)
	blue := filepath.Join(dir, "blue.png")
	buildtest.WriteSolidPNG(t, blue, color.RGBA{5, 5, 250, 255}, 20, 20)
	notImage := filepath.Join(dir, "notes.jpg")
	if err := os.WriteFile(notImage, []byte("not a photo"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.png")

	for _, tc := range []struct {
		name    string
		q       search.Query
		images  []string
		want    []string // per line: comma-joined ids, or "error"
		wantErr error
	}{
		{"k2", search.Query{K: 2}, []string{red, notImage, blue, missing}, []string{"A,C", "error", "D,F", "error"}, nil},
		{"k1", search.Query{K: 1}, []string{blue}, []string{"D"}, nil},
		{"filter", search.Query{K: 2, Filters: map[string]string{"articleType": "Shirts"}}, []string{red}, []string{"A,B"}, nil},
		{"section", search.Query{K: 2, Section: "Apparel"}, []string{blue}, []string{"D,F"}, nil},
		{"all bad", search.Query{K: 2}, []string{notImage, missing}, []string{"error", "error"}, errAllQueriesFailed},
		{"unknown section", search.Query{K: 2, Section: "Garden"}, []string{red}, []string{"error"}, errAllQueriesFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := queryImages(&out, e, tc.q, tc.images)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tc.want), out.String())
			}
			for i, l := range lines {
				var got struct {
					Image   string
					Results []struct {
						ID     string
						Score  float64
						Visual float64
					}
					Box *struct {
						X, Y, W, H int
						Auto       bool
					}
					Predicted map[string]struct {
						Label string
						P     float64
					}
					Error string
				}
				dec := json.NewDecoder(strings.NewReader(l))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&got); err != nil {
					t.Fatalf("line %d %q: %v", i, l, err)
				}
				if got.Image != tc.images[i] {
					t.Errorf("line %d: image %q, want %q", i, got.Image, tc.images[i])
				}
				if tc.want[i] == "error" {
					if got.Error == "" || got.Results != nil {
						t.Errorf("line %d: want an error line, got %s", i, l)
					}
					continue
				}
				var ids []string
				for j, r := range got.Results {
					ids = append(ids, r.ID)
					if r.Score > 1.0001 || r.Score < -1.0001 || (j > 0 && r.Score > got.Results[j-1].Score) {
						t.Errorf("line %d: scores out of order or range: %s", i, l)
					}
				}
				if strings.Join(ids, ",") != tc.want[i] || got.Error != "" {
					t.Errorf("line %d: %s, want ids %s", i, l, tc.want[i])
				}
			}
		})
	}
}

func TestQueryCommand(t *testing.T) {
	assets, _, _, _ := buildtest.TinyAssets(t, buildQuiet)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no images", []string{"--assets", assets}, "IMAGE"},
		{"no assets", []string{"x.png"}, "--assets"},
		{"bad filter", []string{"--assets", assets, "--filter", "nocolon", "x.png"}, "col=value"},
		{"missing folder", []string{"--assets", filepath.Join(assets, "nope"), "x.png"}, "manifest.json"},
		{"all fail", []string{"--assets", assets, filepath.Join(assets, "nope.png")}, "no image could be searched"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := queryCommand(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestLoadAssetParts(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("lookalike"), 100)
	a, files := catalog.NewAsset("vectors", "bin", data, 128)
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.Parts) < 2 {
		t.Fatalf("%d parts", len(a.Parts))
	}
	got, err := LoadAsset(dir, a)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("LoadAsset: %v, %d bytes", err, len(got))
	}
	// A changed part fails the checksum.
	if err := os.WriteFile(filepath.Join(dir, a.Parts[1].File), bytes.Repeat([]byte("X"), int(a.Parts[1].Size)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAsset(dir, a); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("err = %v, want a checksum error", err)
	}
}

// --stored-vectors ranks as the page does with the vector file on disk:
// the same answers as the vector file in memory (a tiny catalogue fits
// either shortlist whole), read through the parts; a damaged part is an
// error naming it.
func TestQueryStoredVectors(t *testing.T) {
	assets, _, _, _ := buildtest.TinyAssets(t, buildQuiet)
	dir := t.TempDir()
	red := filepath.Join(dir, "red.png")
	buildtest.WriteSolidPNG(t, red, color.RGBA{250, 5, 5, 255}, 20, 20)
	blue := filepath.Join(dir, "blue.png")
	buildtest.WriteSolidPNG(t, blue, color.RGBA{5, 5, 250, 255}, 20, 20)
	run := func(extra ...string) string {
		var out bytes.Buffer
		if err := queryCommand(append(append([]string{"--assets", assets, "--k", "4"}, extra...), red, blue), &out); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	if got, want := run("--stored-vectors"), run(); got != want {
		t.Fatalf("--stored-vectors:\n%s\nin memory:\n%s", got, want)
	}
	e, err := OpenAssets(assets, search.Options{FirstSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	closeFn, err := AttachStoredVectors(assets, e)
	if err != nil {
		t.Fatal(err)
	}
	closeFn()
	if e.Stored == nil || e.Vectors != nil {
		t.Fatal("the vector file was not attached as stored")
	}
	a, _ := e.Manifest.Asset(search.KindVectors)
	f := filepath.Join(assets, a.Files()[0].File)
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := AttachStoredVectors(assets, e); err == nil || !strings.Contains(err.Error(), a.Files()[0].File) {
		t.Fatalf("a damaged vector file: err %v, want one naming %s", err, a.Files()[0].File)
	}
}

// partsReaderAt reads across part boundaries as one file.
func TestPartsReaderAt(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var pr partsReaderAt
	for i, cut := range [][2]int{{0, 130}, {130, 131}, {131, 600}, {600, 1000}} {
		path := filepath.Join(dir, fmt.Sprint("part", i))
		if err := os.WriteFile(path, data[cut[0]:cut[1]], 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		pr.files = append(pr.files, f)
		pr.size += int64(cut[1] - cut[0])
		pr.ends = append(pr.ends, pr.size)
	}
	for _, r := range [][2]int{{0, 1000}, {125, 140}, {130, 131}, {599, 601}, {990, 1000}, {0, 1}} {
		got := make([]byte, r[1]-r[0])
		if n, err := pr.ReadAt(got, int64(r[0])); err != nil || n != len(got) || !bytes.Equal(got, data[r[0]:r[1]]) {
			t.Fatalf("ReadAt [%d, %d): %d bytes, %v", r[0], r[1], n, err)
		}
	}
	if _, err := pr.ReadAt(make([]byte, 10), 995); err == nil {
		t.Fatal("a read past the end succeeded")
	}
}
