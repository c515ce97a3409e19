//go:build !js

package build

import (
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/builder/internal/buildtest"
	"github.com/lookalike/lookalike/internal/tinymodel"
	"github.com/lookalike/lookalike/models/heads"
	"github.com/lookalike/lookalike/models/objectness"
	"github.com/lookalike/lookalike/models/search"
)

// TestBuildObjectness: a model with conv5 and a catalogue of 100+
// products get a product finder; it is the same for the same seed
// whatever the workers, comes from the cache the second time, changes with
// the seed, and is left out with --objectness -1.
func TestBuildObjectness(t *testing.T) {
	model := filepath.Join(t.TempDir(), "conv5.onnx")
	if err := os.WriteFile(model, tinymodel.Build(tinymodel.Options{Size: 64, Channels: 8, Conv5: true}), 0o644); err != nil {
		t.Fatal(err)
	}
	f := buildtest.NewFixture(t, 110)
	cache := t.TempDir()
	finder := func(out string) []byte {
		t.Helper()
		a, ok := buildtest.Manifest(t, out).Asset(search.KindObjectness)
		if !ok {
			return nil
		}
		b := btAssetBytes(t, out, a)
		if _, err := objectness.Parse(b); err != nil {
			t.Fatalf("%s: %v", a.File, err)
		}
		return b
	}
	outA, outB := t.TempDir(), t.TempDir()
	ra := btBuild(t, model, f.Catalog(), outA, cache, "--workers", "1", "--objectness", "40", "--augment", "-1")
	if ra.err != nil {
		t.Fatal(ra.err)
	}
	a := finder(outA)
	if a == nil {
		t.Fatalf("no objectness asset; log:\n%s", ra.log)
	}
	if !strings.Contains(ra.log, "product finder learned on 40 busy scenes") {
		t.Errorf("the log does not say the finder was learned:\n%s", ra.log)
	}
	if o := ra.report.Objectness; o == nil || o.Scenes != 40 || o.Checked != objectnessCheck || o.IoU <= 0 || o.IoU > 1 || o.HeuristicIoU <= 0 || o.Cached {
		t.Errorf("build-report.json objectness: %+v", o)
	}
	rb := btBuild(t, model, f.Catalog(), outB, t.TempDir(), "--workers", "2", "--objectness", "40", "--augment", "-1")
	if rb.err != nil {
		t.Fatal(rb.err)
	}
	if b := finder(outB); string(a) != string(b) {
		t.Error("the same seed learned different finders with 1 and 2 workers")
	}
	rc := btBuild(t, model, f.Catalog(), t.TempDir(), cache, "--objectness", "40", "--augment", "-1")
	if rc.err != nil {
		t.Fatal(rc.err)
	}
	if !strings.Contains(rc.log, "product finder from the cache") || rc.report.Objectness == nil || !rc.report.Objectness.Cached {
		t.Errorf("the second build with the same cache trained again:\n%s", rc.log)
	} else if *rc.report.Objectness != (ObjectnessReport{Scenes: 40, Checked: objectnessCheck, IoU: ra.report.Objectness.IoU, HeuristicIoU: ra.report.Objectness.HeuristicIoU, Cached: true}) {
		t.Errorf("cached finder's report %+v, the first build's %+v", rc.report.Objectness, ra.report.Objectness)
	}
	outD := t.TempDir()
	if rd := btBuild(t, model, f.Catalog(), outD, cache, "--objectness", "40", "--augment", "-1", "--seed", "2"); rd.err != nil {
		t.Fatal(rd.err)
	} else if string(finder(outD)) == string(a) {
		t.Error("seeds 1 and 2 learned the same finder: the seed picks nothing")
	}
	outE := t.TempDir()
	if re := btBuild(t, model, f.Catalog(), outE, cache, "--objectness", "-1", "--augment", "-1"); re.err != nil {
		t.Fatal(re.err)
	} else if finder(outE) != nil || re.report.Objectness != nil {
		t.Error("--objectness -1 still wrote a finder")
	}
}

// TestAugSceneBox: the box augScene returns is where the product's own
// pixels landed (not its white margin), for the objectness's labels.
func TestAugSceneBox(t *testing.T) {
	photo := image.NewRGBA(image.Rect(0, 0, 80, 100))
	draw.Draw(photo, photo.Rect, image.NewUniform(color.White), image.Point{}, draw.Src)
	product := image.Rect(20, 30, 50, 90)
	red := color.RGBA{200, 20, 20, 255}
	draw.Draw(photo, product, image.NewUniform(red), image.Point{}, draw.Src)
	for seed := uint64(0); seed < 20; seed++ {
		v, box := augScene(photo, rand.New(rand.NewPCG(seed, 1)), func() image.Image { return nil })
		if box.Dx() != product.Dx() || box.Dy() != product.Dy() {
			t.Fatalf("seed %d: box %v, the product is %v", seed, box, product.Size())
		}
		if !box.In(v.Rect) {
			t.Fatalf("seed %d: box %v outside the scene %v", seed, box, v.Rect)
		}
		for _, p := range []image.Point{box.Min, box.Max.Sub(image.Pt(1, 1))} {
			if v.RGBAAt(p.X, p.Y) != red {
				t.Fatalf("seed %d: %v at the box's corner %v, want the product's red", seed, v.RGBAAt(p.X, p.Y), p)
			}
		}
	}
}

// TestBuildHeadHidden: --head-hidden writes heads with a hidden layer
// (format version 2) that the search reads; out of range is refused
// before anything is built.
func TestBuildHeadHidden(t *testing.T) {
	model := buildtest.TinyModel(t)
	f := buildtest.NewFixture(t, 110)
	out := t.TempDir()
	if r := btBuild(t, model, f.Catalog(), out, t.TempDir(), "--head-hidden", "8", "--augment", "-1"); r.err != nil {
		t.Fatal(r.err)
	}
	a, ok := buildtest.Manifest(t, out).Asset(search.KindHeads)
	if !ok {
		t.Fatal("no heads asset")
	}
	b := btAssetBytes(t, out, a)
	set, err := heads.Parse(b, 110)
	if err != nil {
		t.Fatal(err)
	}
	if b[4] != 2 || len(set.Heads) == 0 || len(set.Heads[0].B1) != 8 {
		t.Fatalf("heads file version %d, %d heads, hidden %d", b[4], len(set.Heads), len(set.Heads[0].B1))
	}
	if _, err := ParseBuildFlags([]string{"--catalog", f.Catalog(), "--out", t.TempDir(), "--head-hidden", "-1"}); err == nil || !strings.Contains(err.Error(), "--head-hidden") {
		t.Errorf("--head-hidden -1: %v", err)
	}
}
