package imageprep

import (
	"errors"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"testing"
)

// refWeights is an independent float64 statement of the filter: for output
// sample i over source interval [a,b) of an L-sample axis, the weight of
// every source sample. Area coverage when shrinking, bilinear (clamped)
// when enlarging.
func refWeights(L int, a, b float64, n, i int) []float64 {
	w := make([]float64, L)
	s := (b - a) / float64(n)
	if s > 1 {
		lo, hi := a+float64(i)*s, a+float64(i+1)*s
		for j := range L {
			if ov := math.Min(float64(j+1), hi) - math.Max(float64(j), lo); ov > 0 {
				w[j] = ov / s
			}
		}
		return w
	}
	c := a + (float64(i)+0.5)*s - 0.5
	f := math.Floor(c)
	t := c - f
	clampi := func(j int) int { return max(0, min(L-1, j)) }
	w[clampi(int(f))] += 1 - t
	w[clampi(int(f)+1)] += t
	return w
}

// refResize resizes with refWeights in float64, no intermediate rounding.
func refResize(img image.Image, w, h int, mode ResizeMode) [][3]float64 {
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	x0, x1, y0, y1, r := layout(W, H, w, h, mode)
	out := make([][3]float64, w*h)
	for i := range out {
		out[i] = [3]float64{255, 255, 255}
	}
	for oy := 0; oy < r.Dy(); oy++ {
		wy := refWeights(H, y0, y1, r.Dy(), oy)
		for ox := 0; ox < r.Dx(); ox++ {
			wx := refWeights(W, x0, x1, r.Dx(), ox)
			var acc [3]float64
			for sy, fy := range wy {
				if fy == 0 {
					continue
				}
				for sx, fx := range wx {
					if fx == 0 {
						continue
					}
					p := rgbAt(img, b.Min.X+sx, b.Min.Y+sy)
					for c := range 3 {
						acc[c] += fx * fy * float64(p[c])
					}
				}
			}
			out[(r.Min.Y+oy)*w+r.Min.X+ox] = acc
		}
	}
	return out
}

func noise(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			m.Pix[i] = 255
		}
	}
	return m
}

func TestResizeMatchesReference(t *testing.T) {
	tests := []struct {
		W, H, w, h int
		mode       ResizeMode
	}{
		{60, 80, 224, 224, Stretch},   // catalogue photo, enlarged
		{60, 80, 224, 224, Letterbox}, // enlarged with bands
		{60, 80, 224, 224, CenterCrop},
		{301, 203, 32, 32, Stretch}, // shrunk by non-integer factors
		{301, 203, 32, 32, Letterbox},
		{301, 203, 32, 32, CenterCrop},
		{64, 64, 64, 64, Stretch},    // identity
		{100, 10, 20, 40, Stretch},   // shrink one axis, enlarge the other
		{1, 1, 7, 5, Stretch},        // single pixel
		{7, 3, 1, 1, CenterCrop},     // everything into one
		{40, 30, 120, 90, Stretch},   // exact 3× enlargement
		{120, 90, 40, 30, Letterbox}, // exact 3× reduction
	}
	for k, tc := range tests {
		src := noise(tc.W, tc.H, uint64(k))
		got := Resize(src, tc.w, tc.h, tc.mode)
		if got.Bounds() != image.Rect(0, 0, tc.w, tc.h) {
			t.Fatalf("%+v: bounds %v", tc, got.Bounds())
		}
		ref := refResize(src, tc.w, tc.h, tc.mode)
		worst := 0.0
		for y := range tc.h {
			for x := range tc.w {
				p := rgbAt(got, x, y)
				for c := range 3 {
					worst = math.Max(worst, math.Abs(float64(p[c])-ref[y*tc.w+x][c]))
				}
			}
		}
		if worst > 1 {
			t.Errorf("%dx%d -> %dx%d %v: max deviation from float64 reference %.3f levels", tc.W, tc.H, tc.w, tc.h, tc.mode, worst)
		}
	}
}

func TestResizeGeometry(t *testing.T) {
	red, blue, green := opaque(255, 0, 0), opaque(0, 0, 255), opaque(0, 255, 0)
	white := [3]uint8{255, 255, 255}
	// 300×100: blue | red | green thirds.
	src := image.NewRGBA(image.Rect(0, 0, 300, 100))
	draw.Draw(src, image.Rect(0, 0, 100, 100), image.NewUniform(blue), image.Point{}, draw.Src)
	draw.Draw(src, image.Rect(100, 0, 200, 100), image.NewUniform(red), image.Point{}, draw.Src)
	draw.Draw(src, image.Rect(200, 0, 300, 100), image.NewUniform(green), image.Point{}, draw.Src)

	t.Run("centercrop keeps the middle", func(t *testing.T) {
		out := Resize(src, 50, 50, CenterCrop)
		for y := range 50 {
			for x := range 50 {
				if p := rgbAt(out, x, y); p != [3]uint8{255, 0, 0} {
					t.Fatalf("(%d,%d) = %v, want pure red", x, y, p)
				}
			}
		}
	})
	t.Run("letterbox bands are white", func(t *testing.T) {
		out := Resize(src, 60, 60, Letterbox) // content 60×20 at rows 20…39
		for y := range 60 {
			for x := range 60 {
				p := rgbAt(out, x, y)
				inBand := y < 20 || y >= 40
				if inBand && p != white {
					t.Fatalf("band pixel (%d,%d) = %v", x, y, p)
				}
				if !inBand && x < 19 && p != [3]uint8{0, 0, 255} {
					t.Fatalf("content pixel (%d,%d) = %v, want blue", x, y, p)
				}
			}
		}
	})
	t.Run("letterbox tall source pads the sides", func(t *testing.T) {
		tall := image.NewRGBA(image.Rect(0, 0, 60, 80))
		draw.Draw(tall, tall.Rect, image.NewUniform(red), image.Point{}, draw.Src)
		out := Resize(tall, 224, 224, Letterbox) // content 168×224 at x 28…195
		for _, x := range []int{0, 27, 196, 223} {
			if p := rgbAt(out, x, 100); p != white {
				t.Errorf("x=%d: %v, want white", x, p)
			}
		}
		for _, x := range []int{28, 112, 195} {
			if p := rgbAt(out, x, 100); p != [3]uint8{255, 0, 0} {
				t.Errorf("x=%d: %v, want red", x, p)
			}
		}
	})
	t.Run("stretch keeps left to right order", func(t *testing.T) {
		out := Resize(src, 30, 30, Stretch)
		if p := rgbAt(out, 2, 15); p != [3]uint8{0, 0, 255} {
			t.Errorf("left %v", p)
		}
		if p := rgbAt(out, 15, 15); p != [3]uint8{255, 0, 0} {
			t.Errorf("middle %v", p)
		}
		if p := rgbAt(out, 27, 15); p != [3]uint8{0, 255, 0} {
			t.Errorf("right %v", p)
		}
	})
}

// TestResizeConstant: a flat image stays exactly flat in every mode and
// scale, i.e. the fixed-point weights sum to one.
func TestResizeConstant(t *testing.T) {
	c := opaque(201, 37, 99)
	for _, sz := range [][4]int{{4000, 3000, 224, 224}, {60, 80, 224, 224}, {13, 17, 5, 29}, {3, 1, 1000, 7}} {
		src := image.NewRGBA(image.Rect(0, 0, sz[0], sz[1]))
		draw.Draw(src, src.Rect, image.NewUniform(c), image.Point{}, draw.Src)
		for _, m := range []ResizeMode{Stretch, CenterCrop} {
			out := Resize(src, sz[2], sz[3], m)
			for i := 0; i < len(out.Pix); i += 4 {
				if out.Pix[i] != c.R || out.Pix[i+1] != c.G || out.Pix[i+2] != c.B || out.Pix[i+3] != 255 {
					t.Fatalf("%v %v: pixel %d = %v", sz, m, i/4, out.Pix[i:i+4])
				}
			}
		}
	}
}

// TestResizeNoAliasing: a one-pixel checkerboard shrunk 7.3× must come out
// mid-grey everywhere (point sampling would give black and white moiré).
func TestResizeNoAliasing(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 730, 730))
	for y := range 730 {
		for x := range 730 {
			if (x+y)%2 == 0 {
				src.Pix[y*730+x] = 255
			}
		}
	}
	out := Resize(src, 100, 100, Stretch)
	for i := 0; i < len(out.Pix); i += 4 {
		if v := int(out.Pix[i]); v < 120 || v > 135 {
			t.Fatalf("pixel %d = %d, want ≈127", i/4, v)
		}
	}
}

func TestCrop(t *testing.T) {
	src := pattern(40, 30)
	ycc := image.NewYCbCr(image.Rect(0, 0, 40, 30), image.YCbCrSubsampleRatio420)
	for _, img := range []image.Image{src, ycc, cropped{src, src.Rect}} {
		c, err := Crop(img, image.Rect(30, 20, 10, 5)) // non-canonical on purpose
		if err != nil {
			t.Fatal(err)
		}
		if c.Bounds() != image.Rect(10, 5, 30, 20) {
			t.Errorf("%T: bounds %v", img, c.Bounds())
		}
		if rgbAt(c, 12, 7) != rgbAt(img, 12, 7) {
			t.Errorf("%T: crop changed pixels", img)
		}
		out := Resize(c, 20, 15, Stretch) // same size: identity
		if rgbAt(out, 2, 2) != rgbAt(img, 12, 7) {
			t.Errorf("%T: resized crop (2,2) = %v, want %v", img, rgbAt(out, 2, 2), rgbAt(img, 12, 7))
		}
		if c, err := Crop(img, image.Rect(-10, -10, 5, 100)); err != nil || c.Bounds() != image.Rect(0, 0, 5, 30) {
			t.Errorf("%T: clipped crop %v %v", img, c, err)
		}
		if _, err := Crop(img, image.Rect(50, 50, 60, 60)); !errors.Is(err, ErrBadCrop) {
			t.Errorf("%T: outside crop err = %v", img, err)
		}
	}
}

// TestRowReadersAgree: every fast path matches the generic colour-model
// path to within one level.
func TestRowReadersAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	r := image.Rect(3, 2, 20, 11)
	nrgba := image.NewNRGBA(r)
	rgba := image.NewRGBA(r)
	gray := image.NewGray(r)
	cmyk := image.NewCMYK(r)
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	pal := image.NewPaletted(r, color.Palette{opaque(1, 2, 3), color.NRGBA{200, 100, 50, 77}, color.RGBA{}})
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(rng.IntN(256))
		cmyk.Pix[i] = uint8(rng.IntN(256))
	}
	draw.Draw(rgba, r, nrgba, r.Min, draw.Src)
	for i := range gray.Pix {
		gray.Pix[i] = uint8(rng.IntN(256))
		pal.Pix[i] = uint8(rng.IntN(4)) // index 3 is past the palette
	}
	for i := range ycc.Y {
		ycc.Y[i] = uint8(rng.IntN(256))
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
	}
	for _, img := range []image.Image{nrgba, rgba, gray, cmyk, ycc, pal} {
		fast, slow := rowReader(img), rowReader(cropped{img, img.Bounds()})
		n := r.Dx() - 2
		a, b := make([]uint8, 3*n), make([]uint8, 3*n)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			fast(y, r.Min.X+1, r.Max.X-1, a)
			if _, ok := img.(*image.Paletted); ok {
				// The generic path would panic on index 3; compare the rest.
				for i := range n {
					if pal.ColorIndexAt(r.Min.X+1+i, y) == 3 {
						if a[3*i] != 0 || a[3*i+1] != 0 || a[3*i+2] != 0 {
							t.Fatalf("index past palette read as %v", a[3*i:3*i+3])
						}
						continue
					}
					if p := rgbAt(img, r.Min.X+1+i, y); !near(p, [3]uint8(a[3*i:3*i+3]), 1) {
						t.Fatalf("paletted: %v vs %v", a[3*i:3*i+3], p)
					}
				}
				continue
			}
			slow(y, r.Min.X+1, r.Max.X-1, b)
			for i := range a {
				if d := int(a[i]) - int(b[i]); d < -1 || d > 1 {
					t.Fatalf("%T row %d byte %d: fast %d, generic %d", img, y, i, a[i], b[i])
				}
			}
		}
	}
}

func TestThumbnail(t *testing.T) {
	src := pattern(60, 80)
	th := Thumbnail(src, 90, 60) // fits as 45×60 at x 22…66
	if th.Bounds() != image.Rect(0, 0, 90, 60) {
		t.Fatalf("bounds %v", th.Bounds())
	}
	if p := rgbAt(th, 5, 30); p != [3]uint8{255, 255, 255} {
		t.Errorf("side band %v", p)
	}
	if p, q := rgbAt(th, 23, 1), rgbAt(th, 65, 58); p == q || p == [3]uint8{255, 255, 255} {
		t.Errorf("content corners %v %v", p, q)
	}
}

func TestColorHistogram(t *testing.T) {
	// Half white background, a quarter red, a quarter dark blue.
	m := image.NewRGBA(image.Rect(0, 0, 4, 4))
	draw.Draw(m, m.Rect, image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(m, image.Rect(0, 0, 4, 1), image.NewUniform(opaque(250, 10, 10)), image.Point{}, draw.Src)
	draw.Draw(m, image.Rect(0, 1, 4, 2), image.NewUniform(opaque(10, 10, 100)), image.Point{}, draw.Src)
	h := ColorHistogram(m, 4)
	if len(h) != 64 {
		t.Fatalf("len %d", len(h))
	}
	want := map[int]float32{(3*4+0)*4 + 0: 0.5, (0*4+0)*4 + 1: 0.5}
	var sum float32
	for k, v := range h {
		sum += v
		if v != want[k] {
			t.Errorf("bin %d = %v, want %v", k, v, want[k])
		}
	}
	if sum != 1 {
		t.Errorf("sum %v", sum)
	}
	// All white: counts everything, in the last bin.
	allWhite := ColorHistogram(&image.RGBA{Pix: []uint8{255, 255, 255, 255}, Stride: 4, Rect: image.Rect(0, 0, 1, 1)}, 2)
	if allWhite[7] != 1 {
		t.Errorf("all-white histogram %v", allWhite)
	}
}

// TestResizeYCbCrPlanes: resampling the Y, Cb, Cr planes separately (the
// JPEG fast path) agrees with converting every pixel to RGB first, for
// every subsampling ratio, for sub-images at odd offsets, shrinking and
// enlarging.
func TestResizeYCbCrPlanes(t *testing.T) {
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410}
	for _, ratio := range ratios {
		full := image.NewYCbCr(image.Rect(0, 0, 203, 151), ratio)
		for y := range 151 {
			for x := range 203 {
				// In gamut everywhere, so per-pixel clamping cannot
				// make the two orders differ; sharp edges included.
				full.Y[full.YOffset(x, y)] = uint8(60 + (x*x+3*y*y)%140)
				ci := full.COffset(x, y)
				full.Cb[ci] = uint8(110 + x*36/203)
				full.Cr[ci] = uint8(110 + y*36/151)
			}
		}
		sub := full.SubImage(image.Rect(3, 5, 190, 140))
		for _, img := range []image.Image{full, sub} {
			for _, tc := range []struct {
				w, h int
				mode ResizeMode
			}{{40, 30, Stretch}, {224, 224, Letterbox}, {64, 64, CenterCrop}, {500, 400, Stretch}} {
				fast := Resize(img, tc.w, tc.h, tc.mode)
				slow := Resize(cropped{img, img.Bounds()}, tc.w, tc.h, tc.mode)
				worst, sum := 0, 0
				for i := range fast.Pix {
					d := abs(int(fast.Pix[i]) - int(slow.Pix[i]))
					worst, sum = max(worst, d), sum+d
				}
				if mean := float64(sum) / float64(len(fast.Pix)); worst > 3 || mean > 0.3 {
					t.Errorf("%v %v -> %dx%d %v: planes vs RGB max %d mean %.3f", ratio, img.Bounds(), tc.w, tc.h, tc.mode, worst, mean)
				}
			}
		}
	}
}
