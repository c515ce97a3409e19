package imageprep

import "image"

// DeblockAbove is the Blockiness over which the photo pipeline smooths a
// query photo before embedding it (Deblock). Measured on 200 held-out
// catalogue photos (builder/internal/evaluate blocky_study_test.go): clean
// shots p50 1.17, p95 1.56; the same photos saved at JPEG quality 10 p5
// 1.42, p50 1.89; cropped, rotated, dim and busy-scene variants p95 ≤ 1.6.
const DeblockAbove = 1.5

// DeblockMaxSide: a photo whose shorter side is over this many pixels is
// shrunk at least 2× on its way to the model's 224-pixel input, which
// averages its 8×8 blocks away; its blockiness is not measured.
const DeblockMaxSide = 448

// Blockiness measures how much of a photo's detail sits on the 8×8 grid
// of a JPEG's blocks: the mean luma step across the grid's lines (between
// pixels 7 and 8 of each block, across and down, in the photo's own
// coordinates, so a crop keeps its grid) over the mean step elsewhere. About 1 for a photo whose compression left no trace; well
// above it for a heavily compressed one (quality 10–20), whose blocks are
// flat squares with edges between them. 0 when it cannot tell: under 16
// pixels a side, over DeblockMaxSide on the shorter one, or no detail.
func Blockiness(img image.Image) float64 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 16 || h < 16 || min(w, h) > DeblockMaxSide {
		return 0
	}
	l := luma(img)
	var on, off float64
	var non, noff int
	add := func(d float32, boundary bool) {
		if d < 0 {
			d = -d
		}
		if boundary {
			on += float64(d)
			non++
		} else {
			off += float64(d)
			noff++
		}
	}
	for y := 0; y < h; y++ {
		row := l[y*w : (y+1)*w]
		for x := 0; x+1 < w; x++ {
			add(row[x+1]-row[x], (b.Min.X+x+1)%8 == 0)
		}
		if y+1 < h {
			next := l[(y+1)*w : (y+2)*w]
			for x := 0; x < w; x++ {
				add(next[x]-row[x], (b.Min.Y+y+1)%8 == 0)
			}
		}
	}
	if non == 0 || noff == 0 || off == 0 {
		return 0
	}
	return (on / float64(non)) / (off / float64(noff))
}

// luma is the photo's Rec. 601 luma (on white), row-major, 0..255.
func luma(img image.Image) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, w*h)
	read := rowReader(img)
	row := make([]uint8, 3*w)
	for y := 0; y < h; y++ {
		read(b.Min.Y+y, b.Min.X, b.Max.X, row)
		o := out[y*w : (y+1)*w]
		for x := range o {
			o[x] = 0.299*float32(row[3*x]) + 0.587*float32(row[3*x+1]) + 0.114*float32(row[3*x+2])
		}
	}
	return out
}

// Deblock returns the photo smoothed by a 3×3 binomial filter (weights
// 1-2-1 each way, edges clamped), opaque, at its own size: it blurs the
// edges between a heavily compressed JPEG's blocks, which the model
// otherwise sees as detail (held-out 3k split, JPEG quality 10: type
// precision +0.04; docs/quality.md). Applied to clean photos it costs
// nothing measurable, to cropped and rotated ones 0.05–0.07, hence the
// DeblockAbove gate. The result has the photo's bounds.
func Deblock(img image.Image) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewRGBA(b)
	if w == 0 || h == 0 {
		return out
	}
	read := rowReader(img)
	rows := [3][]uint8{make([]uint8, 3*w), make([]uint8, 3*w), make([]uint8, 3*w)}
	read(b.Min.Y, b.Min.X, b.Max.X, rows[1])
	copy(rows[0], rows[1])
	for y := 0; y < h; y++ {
		if y+1 < h {
			read(b.Min.Y+y+1, b.Min.X, b.Max.X, rows[2])
		} else {
			copy(rows[2], rows[1])
		}
		dst := out.Pix[out.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := 0; x < w; x++ {
			xl, xr := max(0, x-1), min(w-1, x+1)
			for c := 0; c < 3; c++ {
				col := func(r []uint8) int {
					return int(r[3*xl+c]) + 2*int(r[3*x+c]) + int(r[3*xr+c])
				}
				s := col(rows[0]) + 2*col(rows[1]) + col(rows[2])
				dst[4*x+c] = uint8((s + 8) / 16)
			}
			dst[4*x+3] = 255
		}
		rows[0], rows[1], rows[2] = rows[1], rows[2], rows[0]
	}
	return out
}
