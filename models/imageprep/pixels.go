package imageprep

import (
	"image"
	"image/color"
)

// rowFunc writes row y, columns [x0,x1) (absolute coordinates, inside the
// image bounds) as packed RGB triples composited on white into dst, which
// holds at least 3*(x1-x0) bytes.
type rowFunc func(y, x0, x1 int, dst []uint8)

// rowReader returns a row converter for img with fast paths for the types
// the decoders produce, so hot loops never go through the image.Image
// interface. All paths agree with the generic one: colour.RGBA() (16-bit,
// alpha-premultiplied) composited on white as (c + 0xffff - a) >> 8, within
// one level where the 8-bit arithmetic rounds differently.
func rowReader(img image.Image) rowFunc {
	switch m := img.(type) {
	case *image.RGBA:
		return func(y, x0, x1 int, dst []uint8) {
			p := m.Pix[m.PixOffset(x0, y):]
			for i, n := 0, x1-x0; i < n; i++ {
				s := p[4*i : 4*i+4 : 4*i+4]
				w := 255 - int(s[3])
				d := dst[3*i : 3*i+3 : 3*i+3]
				d[0] = clamp255(int(s[0]) + w)
				d[1] = clamp255(int(s[1]) + w)
				d[2] = clamp255(int(s[2]) + w)
			}
		}
	case *image.NRGBA:
		return func(y, x0, x1 int, dst []uint8) {
			p := m.Pix[m.PixOffset(x0, y):]
			for i, n := 0, x1-x0; i < n; i++ {
				s := p[4*i : 4*i+4 : 4*i+4]
				d := dst[3*i : 3*i+3 : 3*i+3]
				a := int(s[3])
				if a == 255 {
					d[0], d[1], d[2] = s[0], s[1], s[2]
					continue
				}
				w := 255 * (255 - a)
				d[0] = uint8((int(s[0])*a + w + 127) / 255)
				d[1] = uint8((int(s[1])*a + w + 127) / 255)
				d[2] = uint8((int(s[2])*a + w + 127) / 255)
			}
		}
	case *image.YCbCr:
		return func(y, x0, x1 int, dst []uint8) {
			for i, x := 0, x0; x < x1; i, x = i+1, x+1 {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				r, g, b := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				d := dst[3*i : 3*i+3 : 3*i+3]
				d[0], d[1], d[2] = r, g, b
			}
		}
	case *image.Gray:
		return func(y, x0, x1 int, dst []uint8) {
			p := m.Pix[m.PixOffset(x0, y):]
			for i, n := 0, x1-x0; i < n; i++ {
				v := p[i]
				d := dst[3*i : 3*i+3 : 3*i+3]
				d[0], d[1], d[2] = v, v, v
			}
		}
	case *image.CMYK:
		return func(y, x0, x1 int, dst []uint8) {
			p := m.Pix[m.PixOffset(x0, y):]
			for i, n := 0, x1-x0; i < n; i++ {
				s := p[4*i : 4*i+4 : 4*i+4]
				r, g, b := color.CMYKToRGB(s[0], s[1], s[2], s[3])
				d := dst[3*i : 3*i+3 : 3*i+3]
				d[0], d[1], d[2] = r, g, b
			}
		}
	case *image.Paletted:
		// Indices past the palette read as opaque black, never panic.
		var lut [256 * 3]uint8
		for i, c := range m.Palette {
			if i >= 256 {
				break
			}
			lut[3*i], lut[3*i+1], lut[3*i+2] = onWhite(c)
		}
		return func(y, x0, x1 int, dst []uint8) {
			p := m.Pix[m.PixOffset(x0, y):]
			for i, n := 0, x1-x0; i < n; i++ {
				j := 3 * int(p[i])
				copy(dst[3*i:3*i+3], lut[j:j+3])
			}
		}
	}
	return func(y, x0, x1 int, dst []uint8) {
		for i, x := 0, x0; x < x1; i, x = i+1, x+1 {
			dst[3*i], dst[3*i+1], dst[3*i+2] = onWhite(img.At(x, y))
		}
	}
}

// onWhite composites a colour on opaque white and returns 8-bit RGB.
func onWhite(c color.Color) (r, g, b uint8) {
	cr, cg, cb, ca := c.RGBA()
	w := 0xffff - ca
	return uint8(min(cr+w, 0xffff) >> 8), uint8(min(cg+w, 0xffff) >> 8), uint8(min(cb+w, 0xffff) >> 8)
}

func clamp255(v int) uint8 {
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// normalise turns a decoded image into the opaque, upright form Decode
// promises. canvas is the area to return in src coordinates (a GIF's logical
// screen may be larger than its first frame; uncovered pixels are white) and
// orient the EXIF orientation to apply. An upright YCbCr image that fills its
// canvas at the origin is returned as is: it is already opaque and has a fast
// path everywhere.
func normalise(src image.Image, canvas image.Rectangle, orient int) image.Image {
	if ycc, ok := src.(*image.YCbCr); ok && orient == 1 && ycc.Rect == canvas && canvas.Min == (image.Point{}) {
		return ycc
	}
	W, H := canvas.Dx(), canvas.Dy()
	dw, dh := W, H
	if orient >= 5 {
		dw, dh = H, W
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	area := src.Bounds().Intersect(canvas)
	if area != canvas {
		for i := range dst.Pix {
			dst.Pix[i] = 0xff
		}
	}
	// Destination pixel index of source pixel (sx,sy), relative to the
	// canvas origin, is base + sx*ax + sy*ay.
	var base, ax, ay int
	switch orient {
	default: // 1
		base, ax, ay = 0, 1, dw
	case 2:
		base, ax, ay = W-1, -1, dw
	case 3:
		base, ax, ay = W-1+(H-1)*dw, -1, -dw
	case 4:
		base, ax, ay = (H-1)*dw, 1, -dw
	case 5:
		base, ax, ay = 0, dw, 1
	case 6:
		base, ax, ay = H-1, dw, -1
	case 7:
		base, ax, ay = (W-1)*dw+H-1, -dw, -1
	case 8:
		base, ax, ay = (W-1)*dw, -dw, 1
	}
	read := rowReader(src)
	row := make([]uint8, 3*area.Dx())
	for y := area.Min.Y; y < area.Max.Y; y++ {
		read(y, area.Min.X, area.Max.X, row)
		sy := y - canvas.Min.Y
		idx := base + (area.Min.X-canvas.Min.X)*ax + sy*ay
		for i := 0; i < len(row); i += 3 {
			d := dst.Pix[4*idx : 4*idx+4 : 4*idx+4]
			d[0], d[1], d[2], d[3] = row[i], row[i+1], row[i+2], 0xff
			idx += ax
		}
	}
	return dst
}
