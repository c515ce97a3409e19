//go:build !js

package build

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// TestRandomOrderHidesSections: a sheet must say nothing about a section
// or the catalogue's order (issue #14: the sheet a page fetched after a
// photo gave the matches' section away). Every item is placed once, the
// same seed gives the same runs, and a catalogue sorted by section (as
// feeds usually are) still gets sheets mixing sections in proportion.
func TestRandomOrderHidesSections(t *testing.T) {
	const n, per = 4000, 64
	section := make([]int, n) // sorted: 1000 items in each of 4 sections
	for i := range section {
		section[i] = i / 1000
	}
	runs := randomOrder(n, per, 1)
	if len(runs) != (n+per-1)/per {
		t.Fatalf("%d runs, want %d", len(runs), (n+per-1)/per)
	}
	seen := map[int]bool{}
	for r, run := range runs {
		if len(run) > per {
			t.Fatalf("run of %d > %d", len(run), per)
		}
		count := map[int]int{}
		for _, it := range run {
			if seen[it] || it < 0 || it >= n {
				t.Fatalf("item %d placed twice or out of range", it)
			}
			seen[it] = true
			count[section[it]]++
		}
		// 64 draws from 4 equal sections: each section appears; a sheet
		// of one section would be the old, revealing layout.
		if len(run) == per && len(count) < 4 {
			t.Errorf("run %d holds sections %v: a sheet tells its section", r, count)
		}
		// Not in catalogue order either.
		ascending := true
		for i := 1; i < len(run); i++ {
			if run[i] < run[i-1] {
				ascending = false
			}
		}
		if len(run) > 1 && ascending {
			t.Errorf("run %d is in catalogue order: %v", r, run)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d items placed, want %d", len(seen), n)
	}
	again := randomOrder(n, per, 1)
	other := randomOrder(n, per, 2)
	if fmt.Sprint(again) != fmt.Sprint(runs) {
		t.Error("the same seed gave other runs: builds would not be reproducible")
	}
	if fmt.Sprint(other) == fmt.Sprint(runs) {
		t.Error("another seed gave the same runs")
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
