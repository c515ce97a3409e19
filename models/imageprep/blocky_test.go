package imageprep

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"
)

// texture is a photo-like w×h picture: a shaded garment shape with a
// woven pattern and sensor noise on a white backdrop, seeded.
func texture(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{255, 255, 255, 255}
			dx, dy := float64(x-w/2)/float64(w), float64(y-h/2)/float64(h)
			if dx*dx+dy*dy < 0.12 {
				shade := 0.6 + 0.4*math.Sin(float64(x)*0.7)*math.Cos(float64(y)*0.45)
				n := 20 * (rng.Float64() - 0.5)
				c = color.RGBA{clamp255(int(160*shade + n)), clamp255(int(60*shade + n)), clamp255(int(90*shade + n)), 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func jpegAt(t *testing.T, img image.Image, q int) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBlockiness(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		src := texture(60, 80, seed)
		clean, fine, heavy := Blockiness(src), Blockiness(jpegAt(t, src, 95)), Blockiness(jpegAt(t, src, 10))
		if clean > DeblockAbove || fine > DeblockAbove {
			t.Errorf("seed %d: an uncompressed photo %.2f, quality 95 %.2f: over the gate %.1f", seed, clean, fine, DeblockAbove)
		}
		if heavy <= DeblockAbove {
			t.Errorf("seed %d: quality 10 scores %.2f, not over the gate %.1f", seed, heavy, DeblockAbove)
		}
	}
	// Too small, too large, or no detail at all: cannot tell.
	for name, img := range map[string]image.Image{
		"12×12":   texture(12, 12, 1),
		"500×600": jpegAt(t, texture(500, 600, 1), 10),
		"blank":   image.NewRGBA(image.Rect(0, 0, 64, 64)), // transparent: white
	} {
		if b := Blockiness(img); b != 0 {
			t.Errorf("%s: %.2f, want 0", name, b)
		}
	}
}

func TestDeblock(t *testing.T) {
	heavy := jpegAt(t, texture(60, 80, 7), 10)
	out := Deblock(heavy)
	if out.Bounds() != heavy.Bounds() {
		t.Fatalf("bounds %v, want %v", out.Bounds(), heavy.Bounds())
	}
	if b0, b1 := Blockiness(heavy), Blockiness(out); b1 >= b0 || b1 > DeblockAbove {
		t.Errorf("blockiness %.2f before, %.2f after", b0, b1)
	}
	// A flat photo stays as it is; an offset one keeps its coordinates.
	flat := image.NewRGBA(image.Rect(10, 20, 40, 60))
	for i := range flat.Pix {
		flat.Pix[i] = 200
	}
	for i := 3; i < len(flat.Pix); i += 4 {
		flat.Pix[i] = 255
	}
	got := Deblock(flat)
	if got.Bounds() != flat.Bounds() || !bytes.Equal(got.Pix, flat.Pix) {
		t.Errorf("a flat photo changed: bounds %v", got.Bounds())
	}
	// One bright pixel spreads by the 1-2-1 weights: 4/16 of it stays.
	dot := image.NewRGBA(image.Rect(0, 0, 5, 5))
	for i := 3; i < len(dot.Pix); i += 4 {
		dot.Pix[i] = 255
	}
	dot.Pix[dot.PixOffset(2, 2)] = 160
	d := Deblock(dot)
	if c, e, k := d.Pix[d.PixOffset(2, 2)], d.Pix[d.PixOffset(3, 2)], d.Pix[d.PixOffset(3, 3)]; c != 40 || e != 20 || k != 10 {
		t.Errorf("spread of a dot: centre %d, side %d, corner %d; want 40, 20, 10", c, e, k)
	}
}
