//go:build !js

package build

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand"
	"testing"
)

func TestSimilarityOrderKeepsSectionsAndClusters(t *testing.T) {
	// Two tight clusters per section in 4-d; runs must never mix sections
	// and, with per = cluster size, each run must be one cluster.
	const dim, per = 4, 8
	r := rand.New(rand.NewSource(1))
	var vecs []float32
	var section, cluster []int
	for i := 0; i < 64; i++ {
		c := i % 4
		center := []float32{0, 0, 0, 0}
		center[c] = 10
		for j := 0; j < dim; j++ {
			vecs = append(vecs, center[j]+float32(r.NormFloat64()*0.1))
		}
		section = append(section, c/2)
		cluster = append(cluster, c)
	}
	runs := similarityOrder(vecs, dim, section, per, 1)
	seen := map[int]bool{}
	for _, run := range runs {
		if len(run) > per {
			t.Fatalf("run of %d > %d", len(run), per)
		}
		for _, it := range run {
			if seen[it] {
				t.Fatalf("item %d twice", it)
			}
			seen[it] = true
			if section[it] != section[run[0]] {
				t.Fatalf("run mixes sections: %v", run)
			}
			if cluster[it] != cluster[run[0]] {
				t.Fatalf("run mixes clusters: %v", run)
			}
		}
	}
	if len(seen) != 64 {
		t.Fatalf("%d items placed, want 64", len(seen))
	}
}

func TestPackSheets(t *testing.T) {
	l := thumbLayout{CellW: 6, CellH: 8, Cols: 2, Rows: 2, Quality: 90}
	runs := [][]int{{0, 1, 2}, {3}, {4, 5}}
	colors := []color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {0, 0, 0, 255}, {255, 255, 0, 255}, {0, 255, 255, 255}}
	sheets, places, err := packSheets(runs, 6, l, func(i int) image.Image {
		img := image.NewRGBA(image.Rect(0, 0, 30, 40))
		for p := 0; p < len(img.Pix); p += 4 {
			c := colors[i]
			img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = c.R, c.G, c.B, 255
		}
		return img
	})
	if err != nil {
		t.Fatal(err)
	}
	// {0,1,2}+{3} fill sheet 0; {4,5} go to sheet 1.
	if len(sheets) != 2 || places[3].Sheet != 0 || places[4].Sheet != 1 {
		t.Fatalf("sheets=%d places=%v", len(sheets), places)
	}
	img, err := jpeg.Decode(bytes.NewReader(sheets[0]))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		p := places[i]
		r, g, b, _ := img.At(p.X+3, p.Y+4).RGBA()
		want := colors[i]
		if absDiff(r>>8, uint32(want.R)) > 40 || absDiff(g>>8, uint32(want.G)) > 40 || absDiff(b>>8, uint32(want.B)) > 40 {
			t.Errorf("item %d at %v: got %d,%d,%d want %v", i, p, r>>8, g>>8, b>>8, want)
		}
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
