//go:build !js

package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// Shopper-like variants of catalogue photos for training the heads: a
// shopper's photo is rarely a studio shot, so the heads also learn from
// each product pasted into a busy scene, cropped, in poor light or as a
// heavily compressed JPEG. These generators are the builder's own and
// deliberately differ from `builder eval --distort` (its scenes are flat
// boxes and noise; these are fabric-like textures taken from other
// products, waves and gradients), so an evaluation never grades the heads
// on the very images they were trained on.

// augmentVersion names the generators in the cache key of the augmented
// photos' features; bump it when they change.
const augmentVersion = "aug-1" // the photo pipeline has its own version (embedcache.PhotoVersion)

// augment returns one variant of img; texture gives another catalogue
// photo to borrow a background texture from.
func augment(img image.Image, rng *rand.Rand, texture func() image.Image) *image.RGBA {
	src := toRGBA(img)
	var out *image.RGBA
	switch r := rng.Float64(); {
	case r < 0.45:
		out, _ = augScene(src, rng, texture)
	case r < 0.65:
		out = augCrop(src, rng)
	case r < 0.82:
		out = augLight(src, rng)
	default:
		out = augJPEG(src, rng)
	}
	if rng.Float64() < 0.35 {
		out = augLight(out, rng)
	}
	if rng.Float64() < 0.25 {
		out = augJPEG(out, rng)
	}
	return out
}

// augmentKey is the cache key of a variant: its pixels and the generators.
func augmentKey(img *image.RGBA) [32]byte {
	h := sha256.New()
	h.Write([]byte(augmentVersion))
	var d [8]byte
	binary.LittleEndian.PutUint32(d[:], uint32(img.Rect.Dx()))
	binary.LittleEndian.PutUint32(d[4:], uint32(img.Rect.Dy()))
	h.Write(d[:])
	h.Write(img.Pix)
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

func toRGBA(src image.Image) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Over)
	return dst
}

// augScene pastes the product (its near-white backdrop left out) at
// 20–60 % of the frame's area onto a textured background, and returns
// the product's box in it (the objectness learns from it).
func augScene(img *image.RGBA, rng *rand.Rand, texture func() image.Image) (*image.RGBA, image.Rectangle) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	area := 0.2 + 0.4*rng.Float64()
	side := math.Sqrt(area)
	W, H := max(w+1, int(float64(w)/side)), max(h+1, int(float64(h)/side))
	bg := image.NewRGBA(image.Rect(0, 0, W, H))
	if t := texture(); t != nil && rng.Float64() < 0.6 {
		// Zoom into the middle of another product: a fabric, a sole, a strap.
		tb := t.Bounds()
		cw, ch := max(1, tb.Dx()*(25+rng.IntN(30))/100), max(1, tb.Dy()*(25+rng.IntN(30))/100)
		x0 := tb.Min.X + (tb.Dx()-cw)/2 + rng.IntN(cw/2+1) - cw/4
		y0 := tb.Min.Y + (tb.Dy()-ch)/2 + rng.IntN(ch/2+1) - ch/4
		src := toRGBA(t)
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				sx := min(max(x0+x*cw/W, 0), src.Rect.Dx()-1)
				sy := min(max(y0+y*ch/H, 0), src.Rect.Dy()-1)
				copy(bg.Pix[bg.PixOffset(x, y):][:4], src.Pix[src.PixOffset(sx, sy):][:4])
			}
		}
	} else {
		// Waves over a gradient: a wall, a bedspread, a floor.
		var c [2][3]float64
		for i := range c {
			for j := range c[i] {
				c[i][j] = 30 + 200*rng.Float64()
			}
		}
		fx, fy, ph := 0.05+0.4*rng.Float64(), 0.05+0.4*rng.Float64(), 6*rng.Float64()
		amp := 20 + 60*rng.Float64()
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				t := float64(y) / float64(H)
				wave := amp * math.Sin(fx*float64(x)+fy*float64(y)+ph)
				o := bg.PixOffset(x, y)
				for k := 0; k < 3; k++ {
					bg.Pix[o+k] = clamp8(c[0][k]*(1-t) + c[1][k]*t + wave)
				}
				bg.Pix[o+3] = 255
			}
		}
	}
	for i := 0; i < len(bg.Pix); i += 4 { // sensor noise
		n := 24 * (rng.Float64() - 0.5)
		for k := 0; k < 3; k++ {
			bg.Pix[i+k] = clamp8(float64(bg.Pix[i+k]) + n)
		}
	}
	mask := backdropMask(img)
	ox, oy := rng.IntN(W-w+1), rng.IntN(H-h+1)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if mask[y*w+x] {
				continue
			}
			copy(bg.Pix[bg.PixOffset(ox+x, oy+y):][:4], img.Pix[img.PixOffset(x, y):][:4])
		}
	}
	// The product's own extent: its pixels' bounding box, not the pasted
	// photo's (whose white margin is left out of the scene). As the
	// objectness's labels it found the eval's busy scenes better than the
	// photo's rectangle did (docs/quality.md).
	x0, y0, x1, y1 := w, h, 0, 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if !mask[y*w+x] {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x+1), max(y1, y+1)
			}
		}
	}
	if x1 <= x0 || y1 <= y0 {
		return bg, image.Rect(ox, oy, ox+w, oy+h) // all backdrop
	}
	return bg, image.Rect(ox+x0, oy+y0, ox+x1, oy+y1)
}

// backdropMask marks the near-white pixels connected to the border.
func backdropMask(img *image.RGBA) []bool {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	mask := make([]bool, w*h)
	white := func(x, y int) bool {
		p := img.Pix[img.PixOffset(x, y):]
		return p[0] >= 228 && p[1] >= 228 && p[2] >= 228
	}
	var stack []int
	push := func(x, y int) {
		if x < 0 || y < 0 || x >= w || y >= h || mask[y*w+x] || !white(x, y) {
			return
		}
		mask[y*w+x] = true
		stack = append(stack, y*w+x)
	}
	for x := 0; x < w; x++ {
		push(x, 0)
		push(x, h-1)
	}
	for y := 0; y < h; y++ {
		push(0, y)
		push(w-1, y)
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := p%w, p/w
		push(x+1, y)
		push(x-1, y)
		push(x, y+1)
		push(x, y-1)
	}
	return mask
}

// augCrop keeps 55–90 % of each side.
func augCrop(img *image.RGBA, rng *rand.Rand) *image.RGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	cw := max(1, int(float64(w)*(0.55+0.35*rng.Float64())))
	ch := max(1, int(float64(h)*(0.55+0.35*rng.Float64())))
	x0, y0 := rng.IntN(w-cw+1), rng.IntN(h-ch+1)
	return toRGBA(img.SubImage(image.Rect(x0, y0, x0+cw, y0+ch)))
}

// augLight scales brightness (0.4–1.15), tints warm or cool and bends the
// gamma, as indoor light and phone cameras do.
func augLight(img *image.RGBA, rng *rand.Rand) *image.RGBA {
	gain := 0.4 + 0.75*rng.Float64()
	t := 0.2 * (rng.Float64() - 0.5) // warm > 0 > cool
	gamma := 0.8 + 0.5*rng.Float64()
	k := [3]float64{gain * (1 + t), gain, gain * (1 - t)}
	out := image.NewRGBA(img.Rect)
	for i := 0; i < len(img.Pix); i += 4 {
		for c := 0; c < 3; c++ {
			v := float64(img.Pix[i+c]) / 255
			out.Pix[i+c] = clamp8(255 * math.Pow(v, gamma) * k[c])
		}
		out.Pix[i+3] = 255
	}
	return out
}

// augJPEG re-encodes at quality 8–40.
func augJPEG(img *image.RGBA, rng *rand.Rand) *image.RGBA {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 8 + rng.IntN(33)}); err != nil {
		return img
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		return img
	}
	return toRGBA(dec)
}

func clamp8(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}
