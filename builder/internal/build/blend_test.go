//go:build !js

package build

import (
	"path/filepath"
	"testing"

	"github.com/lookalike/lookalike/builder/internal/buildtest"
	"github.com/lookalike/lookalike/models/search"
)

// TestBlendBuildWritesManifestWeights: the blend weights reach the
// manifest (defaults from search.DefaultBlend, or the flags) and read back
// through search; bad weights are refused.
func TestBlendBuildWritesManifestWeights(t *testing.T) {
	model := buildtest.TinyModel(t)
	f := buildtest.NewFixture(t, 24)
	cache := t.TempDir()
	out := filepath.Join(t.TempDir(), "site")
	if r := btBuild(t, model, f.Catalog(), out, cache); r.err != nil {
		t.Fatalf("build: %v\n%s", r.err, r.log)
	}
	b := buildtest.Manifest(t, out).Blend
	if b == nil || b.WCF == nil || b.WPersonal == nil || b.HalfLifeHours == nil {
		t.Fatalf("manifest blend section %+v: want all three fields", b)
	}
	if *b.WCF != shortFloat(search.DefaultBlend.WCF) || *b.WPersonal != shortFloat(search.DefaultBlend.WPersonal) || *b.HalfLifeHours != search.DefaultBlend.HalfLife.Hours() {
		t.Fatalf("default blend %v/%v/%v, want %+v", *b.WCF, *b.WPersonal, *b.HalfLifeHours, search.DefaultBlend)
	}
	if r := btBuild(t, model, f.Catalog(), out, cache, "--w-cf", "0.7", "--w-personal", "0.2", "--half-life-hours", "12"); r.err != nil {
		t.Fatalf("build: %v", r.err)
	}
	e, err := OpenAssets(out, search.Options{SkipModel: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Blend(); got.WCF != 0.7 || got.WPersonal != 0.2 || got.HalfLife.Hours() != 12 {
		t.Fatalf("overridden blend read back as %+v", got)
	}
	for _, bad := range [][]string{{"--w-cf", "-1"}, {"--w-personal", "NaN"}, {"--half-life-hours", "-2"}} {
		if _, err := ParseBuildFlags(append([]string{"--catalog", "c.csv", "--out", "o"}, bad...)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}
