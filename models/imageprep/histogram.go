package imageprep

import "image"

// WhiteThreshold: ColorHistogram treats a pixel whose three channels are
// all at or above this level as background.
const WhiteThreshold = 240

// ColorHistogram returns a bins×bins×bins joint RGB histogram (index
// (r·bins + g)·bins + b, each channel quantised to bins levels) over the
// pixels that are not near-white background, L1-normalised to sum to 1. If
// every pixel is background it counts them all, so the result is never all
// zeros. Transparency counts as white. bins is clamped to 1…16. It is a
// cheap colour baseline for evaluation; safe for concurrent use.
func ColorHistogram(img image.Image, bins int) []float32 {
	bins = max(1, min(bins, 16))
	h := make([]float32, bins*bins*bins)
	b := img.Bounds()
	if b.Empty() {
		h[len(h)-1] = 1
		return h
	}
	var q [256]int
	for v := range q {
		q[v] = v * bins / 256
	}
	counts := make([]int, len(h))
	all := make([]int, len(h))
	read := rowReader(img)
	row := make([]uint8, 3*b.Dx())
	n, nAll := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		read(y, b.Min.X, b.Max.X, row)
		for i := 0; i < len(row); i += 3 {
			r, g, bl := row[i], row[i+1], row[i+2]
			k := (q[r]*bins+q[g])*bins + q[bl]
			all[k]++
			nAll++
			if r >= WhiteThreshold && g >= WhiteThreshold && bl >= WhiteThreshold {
				continue
			}
			counts[k]++
			n++
		}
	}
	if n == 0 {
		counts, n = all, nAll
	}
	for k, c := range counts {
		h[k] = float32(c) / float32(n)
	}
	return h
}
