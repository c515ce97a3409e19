package imageprep

import (
	"image"
	"image/color"
	"math"
	"testing"
)

// product draws a w×h photo: white backdrop, a centred block of c.
func product(c color.RGBA) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 60, 80))
	for y := 0; y < 80; y++ {
		for x := 0; x < 60; x++ {
			img.Set(x, y, color.White)
			if x >= 15 && x < 45 && y >= 20 && y < 60 {
				img.Set(x, y, c)
			}
		}
	}
	return img
}

func argmax(v []float32) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

func TestColourDescriptor(t *testing.T) {
	red := ColourDescriptor(product(color.RGBA{200, 20, 20, 255}))
	green := ColourDescriptor(product(color.RGBA{20, 160, 40, 255}))
	black := ColourDescriptor(product(color.RGBA{15, 15, 15, 255}))
	white := ColourDescriptor(product(color.RGBA{255, 255, 255, 255}))
	if len(red) != ColourBins {
		t.Fatalf("length %d", len(red))
	}
	var n float64
	for _, v := range red[:29] {
		n += float64(v) * float64(v)
	}
	if math.Abs(n-1) > 1e-5 {
		t.Fatalf("histogram part has squared norm %v, want 1", n)
	}
	// The backdrop is left out: a red product is red, not mostly white.
	if k := argmax(red[:29]); k != 12 && k != 23 {
		t.Fatalf("red product: strongest bin %d, want the saturated red hue (12 or 23)", k)
	}
	if k := argmax(green[:29]); k < 14 || k > 17 {
		t.Fatalf("green product: strongest bin %d", k)
	}
	if k := argmax(black[:29]); k != 24 {
		t.Fatalf("black product: strongest bin %d, want the darkest grey (24)", k)
	}
	if white[28] != 1 {
		t.Fatalf("all-white photo: %v", white)
	}
	// Dimming the red product keeps its hue.
	dim := ColourDescriptor(product(color.RGBA{110, 12, 12, 255}))
	if k := argmax(dim[:24]); k != 12 && k != 23 {
		t.Fatalf("dim red: strongest hue bin %d", k)
	}
	if red[29] <= red[30] || green[30] <= green[29] {
		t.Fatalf("chromaticity: red %v, green %v", red[29:], green[29:])
	}
}
