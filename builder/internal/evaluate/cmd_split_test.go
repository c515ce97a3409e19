//go:build !js

package evaluate

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/builder/internal/buildtest"
	"github.com/lookalike/lookalike/models/catalog"
)

// splitFixture writes a 60-row catalogue (three article types: 30/20/10)
// whose images live in a sibling folder, and returns the CSV's path.
func splitFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	var b strings.Builder
	b.WriteString("id,title,articleType,image\n")
	types := []string{"Tshirts", "Shoes", "Watches"}
	for i := 0; i < 60; i++ {
		typ := types[0]
		switch {
		case i%6 == 5:
			typ = types[2]
		case i%3 == 1:
			typ = types[1]
		}
		img := filepath.Join(root, "photos", fmt.Sprintf("%d.png", i))
		buildtest.WriteSolidPNG(t, img, color.RGBA{uint8(i * 4), 0, 0, 255}, 2, 2)
		fmt.Fprintf(&b, "%d,\"Item, number %d\",%s,../photos/%d.png\n", 100+i, i, typ, i)
	}
	// A bad row (duplicate id) is dropped from both outputs.
	b.WriteString("100,dup,Shoes,../photos/0.png\n")
	csvPath := filepath.Join(root, "shop", "catalog.csv")
	if err := os.MkdirAll(filepath.Dir(csvPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(csvPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return csvPath
}

func runSplitTest(t *testing.T, args ...string) (cat, queries *catalog.Catalog, catBytes, qBytes []byte) {
	t.Helper()
	if err := runSplitWithLog(args, io.Discard); err != nil {
		t.Fatal(err)
	}
	out := args[len(args)-1]
	var err error
	if catBytes, err = os.ReadFile(filepath.Join(out, "catalog.csv")); err != nil {
		t.Fatal(err)
	}
	if qBytes, err = os.ReadFile(filepath.Join(out, "queries.csv")); err != nil {
		t.Fatal(err)
	}
	if cat, err = catalog.ParseFile(filepath.Join(out, "catalog.csv")); err != nil {
		t.Fatal(err)
	}
	if queries, err = catalog.ParseFile(filepath.Join(out, "queries.csv")); err != nil {
		t.Fatal(err)
	}
	return
}

func TestSplit(t *testing.T) {
	src := splitFixture(t)
	orig, err := catalog.ParseFile(src)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]catalog.Item{}
	for _, it := range orig.Items {
		byID[it.ID] = it
	}
	base := t.TempDir()
	for _, tc := range []struct {
		name           string
		args           []string
		wantCat, wantQ int
		wantQTypes     map[string]int // nil: not checked
	}{
		{"stratified", []string{"--holdout", "12"}, 48, 12, map[string]int{"Tshirts": 6, "Shoes": 4, "Watches": 2}},
		{"random", []string{"--holdout", "12", "--stratify", "none", "--seed", "3"}, 48, 12, nil},
		{"sized", []string{"--holdout", "6", "--size", "24"}, 24, 6, map[string]int{"Tshirts": 3, "Shoes": 2, "Watches": 1}},
		{"size larger than catalogue", []string{"--holdout", "6", "--size", "1000"}, 54, 6, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(base, tc.name, "out")
			args := append([]string{"--catalog", src}, tc.args...)
			args = append(args, "--out", out)
			cat, q, catBytes, qBytes := runSplitTest(t, args...)
			if len(cat.Items) != tc.wantCat || len(q.Items) != tc.wantQ || len(cat.RowErrors)+len(q.RowErrors) != 0 {
				t.Fatalf("%d catalogue + %d queries (row errors %v %v), want %d + %d", len(cat.Items), len(q.Items), cat.RowErrors, q.RowErrors, tc.wantCat, tc.wantQ)
			}
			if strings.Join(cat.Header, ",") != "id,title,articleType,image" || strings.Join(q.Header, ",") != "id,title,articleType,image" {
				t.Errorf("headers %v %v", cat.Header, q.Header)
			}
			seen := map[string]bool{}
			types := map[string]int{}
			for _, part := range []*catalog.Catalog{cat, q} {
				prevRow := 0
				for _, it := range part.Items {
					if seen[it.ID] {
						t.Errorf("id %s in both files", it.ID)
					}
					seen[it.ID] = true
					o, ok := byID[it.ID]
					if !ok {
						t.Fatalf("unknown id %s", it.ID)
					}
					if it.Title != o.Title || it.Value("articleType") != o.Value("articleType") {
						t.Errorf("id %s: row changed: %+v vs %+v", it.ID, it, o)
					}
					// Images resolve to the same files, via relative paths.
					a, _ := filepath.Abs(it.Image)
					b, _ := filepath.Abs(o.Image)
					if a != b {
						t.Errorf("id %s: image %s, want %s", it.ID, a, b)
					}
					if _, err := os.Stat(it.Image); err != nil {
						t.Errorf("id %s: %v", it.ID, err)
					}
					if o.Row <= prevRow {
						t.Errorf("rows out of the catalogue's order")
					}
					prevRow = o.Row
				}
			}
			for _, it := range q.Items {
				types[it.Value("articleType")]++
			}
			if tc.wantQTypes != nil && fmt.Sprint(types) != fmt.Sprint(tc.wantQTypes) {
				t.Errorf("held-out article types %v, want %v", types, tc.wantQTypes)
			}
			for _, b := range [][]byte{catBytes, qBytes} {
				if bytes.Contains(b, []byte(base)) || bytes.Contains(b, []byte(filepath.Dir(src))) {
					t.Errorf("absolute path in the output:\n%s", b)
				}
				if !bytes.Contains(b, []byte(`"Item, number`)) {
					t.Errorf("quoted field lost:\n%s", b)
				}
			}
			// Deterministic: the same flags give the same bytes, in another
			// folder at the same depth too.
			out2 := filepath.Join(base, tc.name, "again")
			args2 := append(append([]string{"--catalog", src}, tc.args...), "--out", out2)
			_, _, catBytes2, qBytes2 := runSplitTest(t, args2...)
			if !bytes.Equal(catBytes, catBytes2) || !bytes.Equal(qBytes, qBytes2) {
				t.Error("same seed, different files")
			}
		})
	}
	// Another seed holds out other rows.
	_, q1, _, _ := runSplitTest(t, "--catalog", src, "--holdout", "12", "--seed", "1", "--out", filepath.Join(base, "s1"))
	_, q2, _, _ := runSplitTest(t, "--catalog", src, "--holdout", "12", "--seed", "2", "--out", filepath.Join(base, "s2"))
	ids := func(c *catalog.Catalog) string {
		var s []string
		for _, it := range c.Items {
			s = append(s, it.ID)
		}
		sort.Strings(s)
		return strings.Join(s, ",")
	}
	if ids(q1) == ids(q2) {
		t.Errorf("seeds 1 and 2 hold out the same rows: %s", ids(q1))
	}
}

func TestSplitErrors(t *testing.T) {
	src := splitFixture(t)
	out := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no holdout", []string{"--catalog", src, "--out", out}, "required"},
		{"holdout too big", []string{"--catalog", src, "--out", out, "--holdout", "60"}, "only 60"},
		{"bad column", []string{"--catalog", src, "--out", out, "--holdout", "5", "--stratify", "colour"}, "no column"},
		{"no catalogue", []string{"--catalog", src + ".nope", "--out", out, "--holdout", "5"}, "no such file"},
		{"negative size", []string{"--catalog", src, "--out", out, "--holdout", "5", "--size", "-1"}, "--size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runSplitWithLog(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestRelocateImage(t *testing.T) {
	for _, tc := range []struct{ img, dir, want string }{
		{"/data/shop/images/1.jpg", "/data/split", "../shop/images/1.jpg"},
		{"/data/shop/images/1.jpg", "/data/shop", "images/1.jpg"},
		{"https://example.com/1.jpg", "/data", "https://example.com/1.jpg"},
		{"", "/data", ""},
	} {
		if got := relocateImage(tc.img, tc.dir); got != filepath.FromSlash(tc.want) && got != tc.want {
			t.Errorf("relocateImage(%q, %q) = %q, want %q", tc.img, tc.dir, got, tc.want)
		}
	}
}
