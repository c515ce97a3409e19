package embed

import (
	"image"
	"testing"
)

func TestLocalise(t *testing.T) {
	const c, h, w = 3, 7, 7
	m := make([]float32, c*h*w)
	// A product in cells x 1..2, y 3..5, and a weaker blob elsewhere that
	// is not connected to it.
	for ch := 0; ch < c; ch++ {
		for y := 3; y <= 5; y++ {
			for x := 1; x <= 2; x++ {
				m[ch*h*w+y*w+x] = 5
			}
		}
		m[ch*h*w+0*w+6] = 3
	}
	bounds := image.Rect(0, 0, 700, 1400)
	box, share := Localise(m, c, h, w, bounds)
	// cells 1..2 widened by half a cell: 0.5/7..3.5/7 of 700 = 50..350;
	// rows 3..5: 2.5/7..6.5/7 of 1400 = 500..1300.
	want := image.Rect(50, 500, 350, 1300)
	if box != want {
		t.Fatalf("box %v, want %v", box, want)
	}
	if s := float64(want.Dx()*want.Dy()) / (700 * 1400); share != s {
		t.Fatalf("share %v, want %v", share, s)
	}
	// A flat (or dead) map proposes the whole photo.
	if box, share := Localise(make([]float32, c*h*w), c, h, w, bounds); box != bounds || share != 1 {
		t.Fatalf("empty map: %v %v", box, share)
	}
	// Offset bounds (a cropped photo) stay inside.
	off := image.Rect(100, 100, 800, 1500)
	if box, _ := Localise(m, c, h, w, off); !box.In(off) || box.Min.X != 150 {
		t.Fatalf("offset: %v", box)
	}
}
