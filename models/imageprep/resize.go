package imageprep

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"
)

// ResizeMode says how an image's aspect ratio is reconciled with the target.
type ResizeMode int

const (
	// Stretch scales each axis independently to fill the target.
	Stretch ResizeMode = iota
	// Letterbox scales to fit inside the target, keeping the aspect ratio,
	// centred, and pads with white.
	Letterbox
	// CenterCrop scales to cover the target, keeping the aspect ratio, and
	// keeps the middle.
	CenterCrop
)

// String returns the name ParseResizeMode accepts.
func (m ResizeMode) String() string {
	switch m {
	case Stretch:
		return "stretch"
	case Letterbox:
		return "letterbox"
	case CenterCrop:
		return "centercrop"
	}
	return fmt.Sprintf("ResizeMode(%d)", int(m))
}

// ParseResizeMode accepts "stretch", "letterbox" (or "pad"), "centercrop"
// (or "center_crop", "crop"), in any case; "" means Stretch.
func ParseResizeMode(s string) (ResizeMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "stretch":
		return Stretch, nil
	case "letterbox", "pad":
		return Letterbox, nil
	case "centercrop", "center_crop", "crop":
		return CenterCrop, nil
	}
	return 0, fmt.Errorf("%w: unknown resize mode %q (want stretch, letterbox or centercrop)", ErrBadSpec, s)
}

// Crop returns the part of img inside r, clipped to img's bounds, sharing
// img's pixels when the type allows. r is in img's coordinates; for an image
// from Decode that is upright pixel coordinates from the top-left. It fails
// with ErrBadCrop if nothing is left.
func Crop(img image.Image, r image.Rectangle) (image.Image, error) {
	b := img.Bounds()
	c := r.Canon().Intersect(b)
	if c.Empty() {
		return nil, fmt.Errorf("%w: %v does not overlap the image %v", ErrBadCrop, r, b)
	}
	if c == b {
		return img, nil
	}
	if s, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return s.SubImage(c), nil
	}
	return cropped{img, c}, nil
}

// cropped is the view Crop returns for image types without SubImage.
type cropped struct {
	image.Image
	r image.Rectangle
}

func (c cropped) Bounds() image.Rectangle { return c.r }

// Resize returns img resampled to an opaque w×h image with the given mode
// (transparency on white, padding white). Downscaling averages the covered
// source area (no aliasing); upscaling is bilinear. The arithmetic is integer
// after the filter weights, so results are bit-identical on every platform.
// It panics if w or h is not positive.
func Resize(img image.Image, w, h int, mode ResizeMode) *image.RGBA {
	rgb := resizeRGB(img, w, h, mode, nil)
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, j := 0, 0; i < len(rgb); i, j = i+3, j+4 {
		out.Pix[j], out.Pix[j+1], out.Pix[j+2], out.Pix[j+3] = rgb[i], rgb[i+1], rgb[i+2], 0xff
	}
	return out
}

// Thumbnail fits img inside w×h, keeping the aspect ratio, centred on white,
// with Resize's resampler. Safe for concurrent use.
func Thumbnail(img image.Image, w, h int) image.Image {
	return Resize(img, w, h, Letterbox)
}

// Fixed-point filter weights: each output sample's weights sum to 1<<wBits.
const wBits = 14

// axis is the separable filter for one axis: output i reads source samples
// first[i] … first[i]+taps-1 with weights w[i*taps:(i+1)*taps].
type axis struct {
	taps   int
	first  []int
	w      []int32
	lo, hi int // source samples touched: [lo, hi)
}

// makeAxis builds the filter mapping the source interval [a,b) (pixel
// edges, inside [0,L]) onto n output samples: area averaging when shrinking,
// bilinear (pixel centres aligned, edges clamped) when enlarging.
//
// Products are wrapped in explicit float64 conversions so no platform may
// fuse them into FMAs: the weights, and so every output, are identical
// natively and in wasm.
func makeAxis(L int, a, b float64, n int) axis {
	scale := (b - a) / float64(n) // source pixels per output pixel
	ax := axis{first: make([]int, n), lo: L, hi: 0}
	var fw []float64
	if scale > 1 {
		ax.taps = int(math.Ceil(scale)) + 1
		fw = make([]float64, ax.taps)
	} else {
		ax.taps = 2
		fw = make([]float64, 2)
	}
	ax.w = make([]int32, n*ax.taps)
	for i := 0; i < n; i++ {
		clear(fw)
		var j0 int
		if scale > 1 {
			s0 := a + float64(float64(i)*scale)
			s1 := a + float64(float64(i+1)*scale)
			if i == n-1 {
				s1 = b
			}
			j0 = int(math.Floor(s0))
			for k := range fw {
				j := float64(j0 + k)
				ov := math.Min(j+1, s1) - math.Max(j, s0)
				if ov > 0 {
					fw[k] = ov / scale
				}
			}
		} else {
			c := a + float64((float64(i)+0.5)*scale) - 0.5
			f := math.Floor(c)
			t := c - f
			j0 = int(f)
			fw[0], fw[1] = 1-t, t
		}
		// Clamp taps to the image, folding weight onto the edge samples.
		for k := range fw {
			j := j0 + k
			if j < 0 && fw[k] != 0 {
				fw[-j0] += fw[k] // j0 < 0, so -j0 indexes sample 0
				fw[k] = 0
			}
			if j > L-1 && fw[k] != 0 {
				fw[L-1-j0] += fw[k]
				fw[k] = 0
			}
		}
		// Quantise so the weights sum exactly to 1<<wBits.
		q := ax.w[i*ax.taps : (i+1)*ax.taps]
		var sum int32
		big := 0
		for k, v := range fw {
			q[k] = int32(math.Round(v * (1 << wBits)))
			sum += q[k]
			if q[k] > q[big] {
				big = k
			}
		}
		q[big] += 1<<wBits - sum
		// Shift so the first tap is the first non-zero weight, in range.
		s := 0
		for s < len(q)-1 && q[s] == 0 {
			s++
		}
		copy(q, q[s:])
		clear(q[len(q)-s:])
		// Zero-weight taps are skipped, so trailing ones may lie past L.
		first := j0 + s
		ax.first[i] = first
		last := first
		for k := range q {
			if q[k] != 0 {
				last = first + k
			}
		}
		ax.lo = min(ax.lo, first)
		ax.hi = max(ax.hi, last+1)
	}
	return ax
}

// layout works out, for a w×h target, the source interval to sample on
// each axis and the target rectangle it lands in.
func layout(W, H, w, h int, mode ResizeMode) (x0, x1, y0, y1 float64, dst image.Rectangle) {
	x0, x1, y0, y1 = 0, float64(W), 0, float64(H)
	dst = image.Rect(0, 0, w, h)
	// Integer comparisons of W/H against w/h: exact everywhere.
	wide := int64(W)*int64(h) > int64(H)*int64(w)
	switch mode {
	case Letterbox:
		cw, ch := w, h
		if wide {
			ch = int((2*int64(H)*int64(w) + int64(W)) / (2 * int64(W)))
		} else {
			cw = int((2*int64(W)*int64(h) + int64(H)) / (2 * int64(H)))
		}
		cw, ch = max(1, min(cw, w)), max(1, min(ch, h))
		ox, oy := (w-cw)/2, (h-ch)/2
		dst = image.Rect(ox, oy, ox+cw, oy+ch)
	case CenterCrop:
		if wide {
			span := float64(int64(H)*int64(w)) / float64(h)
			x0 = (float64(W) - span) / 2
			x1 = x0 + span
		} else {
			span := float64(int64(W)*int64(h)) / float64(w)
			y0 = (float64(H) - span) / 2
			y1 = y0 + span
		}
	}
	return
}

// resizeRGB resamples img to w×h packed RGB (3 bytes a pixel, row-major),
// reusing dst when it is large enough.
func resizeRGB(img image.Image, w, h int, mode ResizeMode, dst []uint8) []uint8 {
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("imageprep: resize to %dx%d", w, h))
	}
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	n := 3 * w * h
	if cap(dst) < n {
		dst = make([]uint8, n)
	}
	dst = dst[:n]
	if W <= 0 || H <= 0 {
		fill(dst, 0xff)
		return dst
	}
	x0, x1, y0, y1, r := layout(W, H, w, h, mode)
	if r != image.Rect(0, 0, w, h) {
		fill(dst, 0xff)
	}
	out := dst[3*(r.Min.Y*w+r.Min.X):]
	if ycc, ok := img.(*image.YCbCr); ok && resizeYCbCr(ycc, x0, x1, y0, y1, r.Dx(), r.Dy(), out, 3*w) {
		return dst
	}
	read := rowReader(img)
	p := plane{w: W, h: H, nc: 3, read: func(y, xa, xb int, buf []uint8) []uint8 {
		buf = buf[:3*(xb-xa)]
		read(b.Min.Y+y, b.Min.X+xa, b.Min.X+xb, buf)
		return buf
	}}
	resample(p, x0, x1, y0, y1, r.Dx(), r.Dy(), out, 3*w)
	return dst
}

// resizeYCbCr resamples the luma and chroma planes of m separately — at
// their own resolutions, with no full-size colour conversion — and converts
// only the cw×ch result to RGB, written to out (row stride outStride, 3
// bytes a pixel). Resampling commutes with the affine YCbCr→RGB map, so this
// matches converting first to within rounding, except that subsampled chroma
// is interpolated rather than replicated when enlarging. It reports false,
// having written nothing, for layouts it does not handle.
func resizeYCbCr(m *image.YCbCr, x0, x1, y0, y1 float64, cw, ch int, out []uint8, outStride int) bool {
	var fx, fy int
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		fx, fy = 1, 1
	case image.YCbCrSubsampleRatio422:
		fx, fy = 2, 1
	case image.YCbCrSubsampleRatio420:
		fx, fy = 2, 2
	case image.YCbCrSubsampleRatio440:
		fx, fy = 1, 2
	case image.YCbCrSubsampleRatio411:
		fx, fy = 4, 1
	case image.YCbCrSubsampleRatio410:
		fx, fy = 4, 2
	default:
		return false
	}
	r := m.Rect
	if r.Min.X < 0 || r.Min.Y < 0 { // chroma indexing truncates towards zero
		return false
	}
	W, H := r.Dx(), r.Dy()
	// Chroma sample of absolute luma x is x/fx; the plane starts at
	// Min.X/fx (see image.YCbCr.COffset).
	cx0, cy0 := r.Min.X/fx, r.Min.Y/fy
	cW, cH := (r.Max.X-1)/fx-cx0+1, (r.Max.Y-1)/fy-cy0+1
	if len(m.Y) < (H-1)*m.YStride+W || len(m.Cb) < (cH-1)*m.CStride+cW || len(m.Cr) < (cH-1)*m.CStride+cW {
		return false
	}
	view := func(pix []uint8, stride int) func(y, xa, xb int, _ []uint8) []uint8 {
		return func(y, xa, xb int, _ []uint8) []uint8 { return pix[y*stride+xa : y*stride+xb] }
	}
	n := cw * ch
	buf := make([]uint8, 3*n)
	yb, cbb, crb := buf[:n], buf[n:2*n], buf[2*n:]
	resample(plane{W, H, 1, view(m.Y, m.YStride)}, x0, x1, y0, y1, cw, ch, yb, cw)
	// The same span in chroma coordinates.
	ax := func(v float64, org, f int) float64 { return (float64(org)+v)/float64(f) - float64(org/f) }
	c0, c1 := ax(x0, r.Min.X, fx), ax(x1, r.Min.X, fx)
	d0, d1 := ax(y0, r.Min.Y, fy), ax(y1, r.Min.Y, fy)
	resample(plane{cW, cH, 1, view(m.Cb, m.CStride)}, c0, c1, d0, d1, cw, ch, cbb, cw)
	resample(plane{cW, cH, 1, view(m.Cr, m.CStride)}, c0, c1, d0, d1, cw, ch, crb, cw)
	for j := range ch {
		o := out[j*outStride : j*outStride+3*cw]
		for i := range cw {
			k := j*cw + i
			o[3*i], o[3*i+1], o[3*i+2] = color.YCbCrToRGB(yb[k], cbb[k], crb[k])
		}
	}
	return true
}

// plane is a resampler source of w×h pixels with nc interleaved 8-bit
// channels. read returns row y, columns [xa,xb), either as a view of the
// source or after filling buf (which holds nc·(xb-xa) bytes).
type plane struct {
	w, h, nc int
	read     func(y, xa, xb int, buf []uint8) []uint8
}

// resample maps the span [x0,x1)×[y0,y1) of p onto cw×ch pixels, writing
// channel c of output pixel (i,j) to out[j*outStride+i*p.nc+c].
func resample(p plane, x0, x1, y0, y1 float64, cw, ch int, out []uint8, outStride int) {
	hx := makeAxis(p.w, x0, x1, cw)
	vy := makeAxis(p.h, y0, y1, ch)
	nc := p.nc

	// Horizontal pass over every source row the vertical filter reads, at
	// 8 extra bits of precision (0 … 255<<8 fits uint16).
	const sh = wBits - 8
	const half = 1 << (sh - 1)
	buf := make([]uint8, nc*(hx.hi-hx.lo))
	rowLen := nc * cw
	tmp := make([]uint16, (vy.hi-vy.lo)*rowLen)
	for y := vy.lo; y < vy.hi; y++ {
		src := p.read(y, hx.lo, hx.hi, buf)
		dst := tmp[(y-vy.lo)*rowLen : (y-vy.lo+1)*rowLen]
		if nc == 1 {
			for i := range cw {
				ws := hx.w[i*hx.taps : (i+1)*hx.taps]
				s := src[hx.first[i]-hx.lo:]
				var acc int32
				for k, wk := range ws {
					if wk != 0 {
						acc += wk * int32(s[k])
					}
				}
				dst[i] = uint16((acc + half) >> sh)
			}
			continue
		}
		for i := range cw {
			ws := hx.w[i*hx.taps : (i+1)*hx.taps]
			s := src[3*(hx.first[i]-hx.lo):]
			var r, g, bl int32
			for k, wk := range ws {
				if wk == 0 {
					continue
				}
				q := s[3*k : 3*k+3 : 3*k+3]
				r += wk * int32(q[0])
				g += wk * int32(q[1])
				bl += wk * int32(q[2])
			}
			o := dst[3*i : 3*i+3 : 3*i+3]
			o[0] = uint16((r + half) >> sh)
			o[1] = uint16((g + half) >> sh)
			o[2] = uint16((bl + half) >> sh)
		}
	}

	// Vertical pass: accumulate weighted rows, then round back to 8 bits.
	const vsh = wBits + 8
	acc := make([]int32, rowLen)
	for j := range ch {
		clear(acc)
		ws := vy.w[j*vy.taps : (j+1)*vy.taps]
		for k, wk := range ws {
			if wk == 0 {
				continue
			}
			y := vy.first[j] + k - vy.lo
			row := tmp[y*rowLen : (y+1)*rowLen]
			for x, v := range row {
				acc[x] += wk * int32(v)
			}
		}
		o := out[j*outStride : j*outStride+rowLen]
		for x, v := range acc {
			o[x] = clamp255(int((v + 1<<(vsh-1)) >> vsh))
		}
	}
}

func fill(b []uint8, v uint8) {
	for i := range b {
		b[i] = v
	}
}
