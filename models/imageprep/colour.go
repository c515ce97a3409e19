package imageprep

import (
	"image"
	"math"
)

// ColourBins is the length of ColourDescriptor's vector.
const ColourBins = 32

// colourSide is the working size: photos are sampled on a grid of at most
// colourSide×colourSide points (the descriptor does not need more).
const colourSide = 64

// ColourDescriptor summarises the colours of the product in a photo: a
// soft histogram of 12 hues × 2 saturation levels (24 chromatic bins) and
// 5 grey levels, plus the mean chromaticity (r, g, b shares) of the
// product's pixels — each pixel weighted by a centre prior and left out
// when it is near-white background connected to the border (a studio
// shot's backdrop). A plain, bright, faintly tinted border is taken for a
// white backdrop under coloured or dim light and the photo's channels are
// scaled to make it white first (balance). The histogram is L1-normalised, then square-rooted
// (Hellinger), so its L2 norm is 1. It is an input of the colour head
// (models/heads), computed the same way for catalogue photos and shopper
// photos. Safe for concurrent use; native and js/wasm.
func ColourDescriptor(img image.Image) []float32 { return colourDescriptor(img, true) }

// colourDescriptor is ColourDescriptor, with or without the balance step.
func colourDescriptor(img image.Image, balanced bool) []float32 {
	out := make([]float32, ColourBins)
	b := img.Bounds()
	if b.Empty() {
		out[28] = 1 // white
		return out
	}
	// Sample the photo on a grid (nearest pixel): w×h points.
	w, h := b.Dx(), b.Dy()
	if w > colourSide || h > colourSide {
		s := float64(colourSide) / float64(max(w, h))
		w, h = max(1, int(float64(w)*s)), max(1, int(float64(h)*s))
	}
	read := rowReader(img)
	row := make([]uint8, 3*b.Dx())
	px := make([]uint8, 3*w*h)
	for y := 0; y < h; y++ {
		sy := b.Min.Y + (2*y+1)*b.Dy()/(2*h)
		read(sy, b.Min.X, b.Max.X, row)
		for x := 0; x < w; x++ {
			sx := (2*x + 1) * b.Dx() / (2 * w)
			copy(px[3*(y*w+x):], row[3*sx:3*sx+3])
		}
	}
	if balanced {
		balance(px, w, h)
	}
	bg := backdrop(px, w, h)
	var hist [29]float64
	var chroma [3]float64
	total := 0.0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if bg[i] {
				continue
			}
			dx := (float64(x)+0.5)/float64(w) - 0.5
			dy := (float64(y)+0.5)/float64(h) - 0.5
			wt := math.Exp(-(dx*dx + dy*dy) / (2 * 0.3 * 0.3))
			r, g, bl := float64(px[3*i]), float64(px[3*i+1]), float64(px[3*i+2])
			addColour(&hist, r, g, bl, wt)
			if s := r + g + bl; s > 0 {
				chroma[0] += wt * r / s
				chroma[1] += wt * g / s
				chroma[2] += wt * bl / s
			} else {
				chroma[0] += wt / 3
				chroma[1] += wt / 3
				chroma[2] += wt / 3
			}
			total += wt
		}
	}
	if total == 0 { // all backdrop: a white product on white
		out[28] = 1
		return out
	}
	for k, v := range hist {
		out[k] = float32(math.Sqrt(v / total))
	}
	for k, v := range chroma {
		// Centred shares, scaled to the histogram's magnitude.
		out[29+k] = float32(2 * (v/total - 1.0/3))
	}
	return out
}

// addColour adds one pixel to the 29-bin histogram: chromatic pixels go to
// the two nearest of 12 hue bins (linear split) at their saturation level
// (bins 0..23), greys to the nearest two of 5 value levels (24..28).
func addColour(h *[29]float64, r, g, b, wt float64) {
	mx := max(r, g, b)
	mn := min(r, g, b)
	v := mx / 255
	s := 0.0
	if mx > 0 {
		s = (mx - mn) / mx
	}
	// How chromatic: fades in between saturation 0.15 and 0.3 and for
	// values above 0.12 (very dark pixels have no reliable hue).
	c := clamp01((s-0.15)/0.15) * clamp01((v-0.08)/0.08)
	if c > 0 {
		hue := 0.0
		d := mx - mn
		switch mx {
		case r:
			hue = math.Mod((g-b)/d, 6)
		case g:
			hue = (b-r)/d + 2
		default:
			hue = (r-g)/d + 4
		}
		if hue < 0 {
			hue += 6
		}
		pos := hue * 2 // 12 bins
		k0 := int(pos) % 12
		f := pos - math.Floor(pos)
		sat := 0
		if s >= 0.55 {
			sat = 1
		}
		h[sat*12+k0] += wt * c * (1 - f)
		h[sat*12+(k0+1)%12] += wt * c * f
	}
	if c < 1 {
		pos := v * 4
		k0 := min(3, int(pos))
		f := pos - float64(k0)
		h[24+k0] += wt * (1 - c) * (1 - f)
		h[24+k0+1] += wt * (1 - c) * f
	}
}

func clamp01(x float64) float64 { return max(0, min(1, x)) }

// backdrop marks the sampled pixels at or above WhiteThreshold-8 in every
// channel that are connected to the border.
func backdrop(px []uint8, w, h int) []bool {
	const level = WhiteThreshold - 8
	bg := make([]bool, w*h)
	white := func(i int) bool { return px[3*i] >= level && px[3*i+1] >= level && px[3*i+2] >= level }
	var stack []int
	push := func(x, y int) {
		if x < 0 || y < 0 || x >= w || y >= h {
			return
		}
		i := y*w + x
		if bg[i] || !white(i) {
			return
		}
		bg[i] = true
		stack = append(stack, i)
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
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := i%w, i/w
		push(x+1, y)
		push(x-1, y)
		push(x, y+1)
		push(x, y-1)
	}
	return bg
}

// PlainBorder reports whether the photo's border is one plain colour (at
// least 60 % of the pixels along its four edges within 24 levels of their
// median in every channel): a studio backdrop, a wall, a table — nothing
// the search has to look past. Safe for concurrent use.
func PlainBorder(img image.Image) bool {
	_, plain := borderMedian(img)
	return plain
}

// borderMedian samples the photo's four edges (about 64 pixels along
// each) and returns their median colour and whether they are plain.
func borderMedian(img image.Image) ([3]int, bool) {
	b := img.Bounds()
	if b.Dx() < 3 || b.Dy() < 3 {
		return [3]int{255, 255, 255}, true
	}
	read := rowReader(img)
	row := make([]uint8, 3*b.Dx())
	var px [][3]uint8
	stepX := max(1, b.Dx()/64)
	stepY := max(1, b.Dy()/64)
	for _, y := range []int{b.Min.Y, b.Max.Y - 1} {
		read(y, b.Min.X, b.Max.X, row)
		for x := 0; x < b.Dx(); x += stepX {
			px = append(px, [3]uint8{row[3*x], row[3*x+1], row[3*x+2]})
		}
	}
	for y := b.Min.Y + 1; y < b.Max.Y-1; y += stepY {
		read(y, b.Min.X, b.Max.X, row)
		for _, x := range []int{0, b.Dx() - 1} {
			px = append(px, [3]uint8{row[3*x], row[3*x+1], row[3*x+2]})
		}
	}
	return plainMedian(px)
}

// plainMedian returns the per-channel median of the pixels and whether
// they are one plain colour: at least 60 % of them within 24 levels of the
// median in every channel (PlainBorder's rule, also balance's).
func plainMedian(px [][3]uint8) (med [3]int, plain bool) {
	for c := 0; c < 3; c++ {
		var hist [256]int
		for _, p := range px {
			hist[p[c]]++
		}
		half, acc := len(px)/2, 0
		for v, n := range hist {
			acc += n
			if acc > half {
				med[c] = v
				break
			}
		}
	}
	near := 0
	for _, p := range px {
		ok := true
		for c := 0; c < 3; c++ {
			if d := int(p[c]) - med[c]; d > 24 || d < -24 {
				ok = false
			}
		}
		if ok {
			near++
		}
	}
	return med, near*10 >= len(px)*6
}

// litWhite reports whether a plain border's median colour can be a white
// backdrop or wall under some light: not dark (its largest channel at
// least 80) and only faintly tinted (saturation at most 0.35).
func litWhite(m [3]int) bool {
	hi, lo := float64(max(m[0], m[1], m[2])), float64(min(m[0], m[1], m[2]))
	return hi >= 80 && (hi-lo)/hi <= 0.35
}

// Backdrop samples the photo's border once and reports whether it is
// plain (PlainBorder) and, if so, whether it is of a colour a white
// backdrop takes under warm, cool or dim light (the catalogue's own kind
// of photo) rather than a coloured wall or table.
func Backdrop(img image.Image) (plain, white bool) {
	med, plain := borderMedian(img)
	return plain, plain && litWhite(med)
}

// balance undoes a light's cast when the photo shows one: when the
// sampled border is plain (at least 60 % of its pixels within 24 levels of
// its median in every channel), not dark (the median's largest channel at
// least 80) and only faintly tinted (saturation at most 0.35: a white
// wall or backdrop under warm, cool or dim light, not a coloured one),
// each channel is scaled so that the median becomes white (each gain at
// most 2.5). A studio shot's white backdrop is left as it is.
func balance(px []uint8, w, h int) {
	if w < 3 || h < 3 {
		return
	}
	var border [][3]uint8
	at := func(i int) [3]uint8 { return [3]uint8{px[3*i], px[3*i+1], px[3*i+2]} }
	for x := 0; x < w; x++ {
		border = append(border, at(x), at((h-1)*w+x))
	}
	for y := 1; y < h-1; y++ {
		border = append(border, at(y*w), at(y*w+w-1))
	}
	m, plain := plainMedian(border)
	med := [3]float64{float64(m[0]), float64(m[1]), float64(m[2])}
	if !plain || !litWhite(m) || min(med[0], med[1], med[2]) >= 247 {
		return
	}
	var gain [3]float64
	for c := range gain {
		gain[c] = min(2.5, 255/max(med[c], 1))
	}
	var lut [3][256]uint8
	for c := range lut {
		for v := range lut[c] {
			lut[c][v] = uint8(min(255, float64(v)*gain[c]+0.5))
		}
	}
	for i := 0; i < len(px); i += 3 {
		px[i], px[i+1], px[i+2] = lut[0][px[i]], lut[1][px[i+1]], lut[2][px[i+2]]
	}
}
