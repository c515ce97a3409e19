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

func TestPlainBorder(t *testing.T) {
	if !PlainBorder(product(color.RGBA{200, 20, 20, 255})) {
		t.Fatal("a product on a white backdrop: border not plain")
	}
	busy := image.NewRGBA(image.Rect(0, 0, 90, 120))
	for y := 0; y < 120; y++ {
		for x := 0; x < 90; x++ {
			busy.Set(x, y, color.RGBA{uint8((x * 37) % 256), uint8((y * 53) % 256), uint8(((x + y) * 29) % 256), 255})
		}
	}
	if PlainBorder(busy) {
		t.Fatal("a busy pattern counted as a plain border")
	}
	for _, tc := range []struct {
		name         string
		img          image.Image
		plain, white bool
	}{
		{"white backdrop", product(color.RGBA{200, 20, 20, 255}), true, true},
		{"white backdrop, dim light", cast(product(color.RGBA{200, 20, 20, 255}), 0.45, 0.45, 0.45, 0), true, true},
		{"busy", busy, false, false},
	} {
		if plain, white := Backdrop(tc.img); plain != tc.plain || white != tc.white {
			t.Errorf("%s: Backdrop = %v, %v; want %v, %v", tc.name, plain, white, tc.plain, tc.white)
		}
	}
	wall := image.NewRGBA(image.Rect(0, 0, 60, 60))
	for i := 0; i < len(wall.Pix); i += 4 {
		copy(wall.Pix[i:], []byte{40, 120, 200, 255})
	}
	if plain, white := Backdrop(wall); !plain || white {
		t.Errorf("a blue wall: Backdrop = %v, %v; want plain, not white", plain, white)
	}
}

// cast applies a light's cast as builder eval's "warm" and "dim" do.
func cast(img image.Image, kr, kg, kb, add float64) image.Image {
	b := img.Bounds()
	out := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			f := func(v uint32, k, a float64) uint8 { return uint8(min(255, float64(v>>8)*k+a)) }
			out.Set(x, y, color.RGBA{f(r, kr, add), f(g, kg, add/3), f(bl, kb, 0), 255})
		}
	}
	return out
}

func dist(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i] - b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// A white backdrop under warm or dim light is made white again before the
// colours are counted: a blue product under a warm cast describes as it
// does in the studio, not as grey-brown. A coloured wall, a busy border
// and a studio backdrop are left as they are.
func TestColourBalance(t *testing.T) {
	blue := product(color.RGBA{40, 70, 200, 255})
	clean := ColourDescriptor(blue)
	for _, c := range []struct {
		name           string
		kr, kg, kb, ad float64
	}{{"warm", 1.13, 1.02, 0.75, 19}, {"dim", 0.45, 0.45, 0.45, 0}, {"dim and warm", 0.55, 0.5, 0.38, 4}} {
		lit := cast(blue, c.kr, c.kg, c.kb, c.ad)
		got := ColourDescriptor(lit)
		if argmax(got[:29]) != argmax(clean[:29]) {
			t.Errorf("%s: strongest bin %d, studio %d", c.name, argmax(got[:29]), argmax(clean[:29]))
		}
		// Without the balance (the pixels as they are) the cast moves the
		// descriptor further than with it.
		if d, raw := dist(got, clean), dist(unbalanced(lit), clean); d >= raw || d > 0.35 {
			t.Errorf("%s: distance to the studio descriptor %.3f balanced, %.3f as lit", c.name, d, raw)
		}
	}
	px := func(c [3]uint8, n int) []uint8 {
		out := make([]uint8, 0, 3*n)
		for range n {
			out = append(out, c[0], c[1], c[2])
		}
		return out
	}
	for name, p := range map[string][]uint8{
		"studio white": px([3]uint8{255, 255, 255}, 100),
		"orange wall":  px([3]uint8{230, 120, 40}, 100),
		"dark room":    px([3]uint8{50, 45, 40}, 100),
	} {
		was := append([]uint8(nil), p...)
		balance(p, 10, 10)
		if string(p) != string(was) {
			t.Errorf("%s: balanced to %v", name, p[:3])
		}
	}
	busy := make([]uint8, 300)
	for i := range busy {
		busy[i] = uint8(i * 97 % 251)
	}
	was := append([]uint8(nil), busy...)
	balance(busy, 10, 10)
	if string(busy) != string(was) {
		t.Error("a busy border was balanced")
	}
	warmWall := px([3]uint8{250, 235, 180}, 100)
	balance(warmWall, 10, 10)
	if warmWall[0] != 255 || warmWall[1] != 255 || warmWall[2] != 255 {
		t.Errorf("a warm-lit white wall balanced to %v, want white", warmWall[:3])
	}
}

func unbalanced(img image.Image) []float32 { return colourDescriptor(img, false) }
