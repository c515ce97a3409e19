//go:build !js

package build

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/builder/internal/buildtest"
	"github.com/lookalike/lookalike/models/search"
)

// synthAssets runs builder synth on a tiny real build and returns the
// asset sha256 by kind (thumbs: the first sheet).
func synthAssets(t *testing.T, from, out, cache string, seed string) map[string]string {
	t.Helper()
	cfg, err := parseSynthFlags([]string{"--from", from, "--out", out, "--copies", "3", "--seed", seed, "--code-bytes", "4", "--cache", cache})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Synth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Synthetic || rep.Items != 24 || rep.Real != 6 || rep.Sigma <= 0 {
		t.Fatalf("report %+v: want 6 real × 4 = 24 synthetic items with a measured spread", rep)
	}
	m, err := readManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, a := range m.Assets {
		if _, ok := sums[a.Kind]; !ok {
			sums[a.Kind] = a.SHA256
		}
	}
	return sums
}

func TestSynthDeterministic(t *testing.T) {
	assets, _, _, cache := buildtest.TinyAssets(t, buildQuiet)
	dir := t.TempDir()
	a := synthAssets(t, assets, filepath.Join(dir, "a"), cache, "7")
	b := synthAssets(t, assets, filepath.Join(dir, "b"), cache, "7")
	c := synthAssets(t, assets, filepath.Join(dir, "c"), cache, "8")
	for _, kind := range []string{search.KindVectors, search.KindCodes, search.KindNeighbors, search.KindCatalog, search.KindModel} {
		if a[kind] == "" || a[kind] != b[kind] {
			t.Errorf("%s: %q and %q from the same seed", kind, a[kind], b[kind])
		}
	}
	for _, kind := range []string{search.KindVectors, search.KindCodes} {
		if a[kind] == c[kind] {
			t.Errorf("%s: the same bytes from seeds 7 and 8", kind)
		}
	}

	e, err := OpenAssets(filepath.Join(dir, "a"), search.Options{SkipModel: true})
	if err != nil {
		t.Fatal(err)
	}
	if e.Display.Len() != 24 || e.Codes == nil || e.Codes.M != 4 {
		t.Fatalf("synthetic engine: %d items, codes %v", e.Display.Len(), e.Codes)
	}
	for i := 0; i < 24; i++ {
		it, orig := e.Display.Item(i), e.Display.Item(i/4*4)
		if i%4 != 0 && (!strings.HasPrefix(it.ID, orig.ID+"~") || it.Section != orig.Section || it.Thumb != orig.Thumb ||
			it.Attrs["articleType"] != orig.Attrs["articleType"] || it.Attrs["baseColour"] != orig.Attrs["baseColour"]) {
			t.Errorf("item %d %+v is not a copy of %+v", i, it, orig)
		}
		// Lists come from exact cosine over the candidate families
		// (one section here: section lists only).
		got := map[uint32]bool{}
		for _, nb := range e.Neighbors.Section(i) {
			got[nb.Item] = true
			if int(nb.Item) == i {
				t.Errorf("item %d lists itself", i)
			}
		}
		if len(got) == 0 {
			t.Errorf("item %d has no neighbours", i)
		}
	}
	// The real products keep their stored vectors: item 0 of a family
	// is its real product's own nearest match.
	hits, err := e.SearchVector(e.ItemVector(0, nil), search.Query{K: 1, Exact: true})
	if err != nil || len(hits) != 1 {
		t.Fatalf("search: %v %v", hits, err)
	}
}
