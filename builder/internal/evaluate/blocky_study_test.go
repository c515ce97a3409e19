//go:build !js

package evaluate

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/lookalike/lookalike/builder/internal/buildtest"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/imageprep"
)

// TestBlockyStudy prints imageprep.Blockiness over held-out photos, clean
// and as eval distorts them (imageprep.DeblockAbove was set from it). A
// study, not a check: LOOKALIKE_STUDY=1 and .cache/split3k.
func TestBlockyStudy(t *testing.T) {
	root := studyRoot(t)
	cat, err := catalog.ParseFile(filepath.Join(root, ".cache/split3k/queries.csv"))
	if err != nil {
		t.Skip(err)
	}
	for _, d := range []string{"clean", "crop", "rotate", "jpeg", "scene", "dim", "warm"} {
		var bs []float64
		for i, it := range cat.Items {
			if i == 200 {
				break
			}
			data, _ := os.ReadFile(it.Image)
			if d != "clean" {
				data, _ = distortPhoto(data, []string{d}, distortSeed(1, it.ID, d))
			}
			img, _, err := imageprep.Decode(data, imageprep.Options{})
			if err != nil {
				continue
			}
			bs = append(bs, imageprep.Blockiness(img))
		}
		sort.Float64s(bs)
		q := func(f float64) float64 { return bs[int(f*float64(len(bs)-1))] }
		fmt.Printf("%-7s p5 %.2f p25 %.2f p50 %.2f p75 %.2f p95 %.2f max %.2f\n", d, q(0.05), q(0.25), q(0.5), q(0.75), q(0.95), q(1))
	}
}

// TestBlockySynthetic: the same for the generated photos of the builder's
// tests (flat shapes, JPEG quality 90), which often score over the gate.
func TestBlockySynthetic(t *testing.T) {
	studyRoot(t)
	var bs []float64
	for i := 0; i < 40; i++ {
		img, _, _ := imageprep.Decode(buildtest.JPEG(t, buildtest.Photo(i, 0)), imageprep.Options{})
		bs = append(bs, imageprep.Blockiness(img))
	}
	sort.Float64s(bs)
	fmt.Printf("synthetic p50 %.2f p90 %.2f max %.2f\n", bs[20], bs[36], bs[39])
}
