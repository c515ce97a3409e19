package imageprep

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// Default limits applied when the corresponding Options field is zero.
const (
	// DefaultMaxPixels is the pixel budget: 40 megapixels.
	DefaultMaxPixels = 40_000_000
	// DefaultMaxSide is the longest side accepted, whatever the area.
	DefaultMaxSide = 20_000
)

// Options controls Decode. The zero value is ready to use.
type Options struct {
	// MaxPixels refuses images whose header declares more pixels
	// (width×height). 0 means DefaultMaxPixels.
	MaxPixels int64
	// MaxSide refuses images with a side longer than this. 0 means
	// DefaultMaxSide.
	MaxSide int
	// IgnoreOrientation leaves JPEG pixels as stored, ignoring the EXIF
	// orientation tag (Info.Orientation still reports it).
	IgnoreOrientation bool
}

func (o Options) maxPixels() int64 {
	if o.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

func (o Options) maxSide() int {
	if o.MaxSide <= 0 {
		return DefaultMaxSide
	}
	return o.MaxSide
}

// Info describes a decoded image.
type Info struct {
	// Format is "jpeg", "png", "gif", "webp" or "bmp".
	Format string
	// Width and Height are the dimensions of the returned (upright) image.
	Width, Height int
	// Orientation is the EXIF orientation tag, 1 (upright) to 8; 1 when
	// absent or not a JPEG.
	Orientation int
}

type format struct {
	name   string
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var (
	fmtJPEG = format{"jpeg", jpeg.DecodeConfig, jpeg.Decode}
	fmtPNG  = format{"png", png.DecodeConfig, png.Decode}
	fmtGIF  = format{"gif", gif.DecodeConfig, gif.Decode}
	fmtWebP = format{"webp", webp.DecodeConfig, webp.Decode}
	fmtBMP  = format{"bmp", bmp.DecodeConfig, bmp.Decode}
)

// sniff picks the decoder from the magic bytes. It deliberately does not use
// image.RegisterFormat's global table, so the accepted set does not change
// with whatever else the program imports.
func sniff(data []byte) (format, bool) {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return fmtJPEG, true
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return fmtPNG, true
	case bytes.HasPrefix(data, []byte("GIF87a")) || bytes.HasPrefix(data, []byte("GIF89a")):
		return fmtGIF, true
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return fmtWebP, true
	case len(data) >= 2 && data[0] == 'B' && data[1] == 'M':
		return fmtBMP, true
	}
	return format{}, false
}

// Decode decodes a JPEG, PNG, GIF (first frame), WebP or BMP image from
// untrusted bytes. It reads the header first and refuses, before decoding any
// pixel, an image over the pixel budget or side limit (ErrTooLarge).
//
// The returned image is upright (JPEG EXIF orientation applied), opaque
// (transparency composited on white) and has Bounds().Min == (0,0). Its
// concrete type is *image.YCbCr for an upright JPEG in YCbCr and *image.RGBA
// for everything else (grey, paletted, CMYK, 16-bit and alpha images are
// converted). Errors wrap ErrEmpty, ErrUnsupportedFormat, ErrTooLarge or
// ErrCorrupt.
//
// Decode works natively and in js/wasm and is safe for concurrent use.
func Decode(data []byte, opt Options) (img image.Image, info Info, err error) {
	if len(data) == 0 {
		return nil, Info{}, ErrEmpty
	}
	f, ok := sniff(data)
	if !ok {
		return nil, Info{}, fmt.Errorf("%w: unrecognised header %s", ErrUnsupportedFormat, describeHeader(data))
	}
	info.Format = f.name
	// Third-party decoders fed hostile bytes must not take the process down.
	defer func() {
		if r := recover(); r != nil {
			img, info, err = nil, Info{Format: f.name}, fmt.Errorf("%w: %s decoder panicked: %v", ErrCorrupt, f.name, r)
		}
	}()
	cfg, err := f.config(bytes.NewReader(data))
	if err != nil {
		return nil, info, classify(f.name, "header", err)
	}
	if err := checkSize(cfg.Width, cfg.Height, opt); err != nil {
		return nil, info, fmt.Errorf("%w (%s)", err, f.name)
	}
	info.Orientation = 1
	if f.name == "jpeg" {
		info.Orientation = jpegOrientation(data)
	}
	src, err := f.decode(bytes.NewReader(data))
	if err != nil {
		return nil, info, classify(f.name, "data", err)
	}
	b := src.Bounds()
	if b.Empty() {
		return nil, info, fmt.Errorf("%w: %s: no pixels", ErrCorrupt, f.name)
	}
	// A decoder may in principle return more than the header said; hold it
	// to the same budget.
	if err := checkSize(b.Dx(), b.Dy(), opt); err != nil {
		return nil, info, fmt.Errorf("%w (%s, decoded)", err, f.name)
	}
	orient := info.Orientation
	if opt.IgnoreOrientation {
		orient = 1
	}
	canvas := image.Rect(0, 0, cfg.Width, cfg.Height)
	if f.name != "gif" || !b.In(canvas) {
		// Only a GIF's first frame is drawn on a logical screen larger than
		// itself; everything else is its own canvas.
		canvas = b
	}
	img = normalise(src, canvas, orient)
	info.Width, info.Height = img.Bounds().Dx(), img.Bounds().Dy()
	return img, info, nil
}

// checkSize applies the pixel budget without overflowing.
func checkSize(w, h int, opt Options) error {
	if w < 0 || h < 0 {
		return fmt.Errorf("%w: negative dimensions %dx%d", ErrCorrupt, w, h)
	}
	if w == 0 || h == 0 {
		return fmt.Errorf("%w: zero-sized image %dx%d", ErrCorrupt, w, h)
	}
	if side := opt.maxSide(); w > side || h > side {
		return fmt.Errorf("%w: %dx%d has a side over %d pixels", ErrTooLarge, w, h, side)
	}
	if px := int64(w) * int64(h); px > opt.maxPixels() {
		return fmt.Errorf("%w: %dx%d is %.1f megapixels, over the %.1f megapixel budget",
			ErrTooLarge, w, h, float64(px)/1e6, float64(opt.maxPixels())/1e6)
	}
	return nil
}

// classify maps a decoder error onto ErrUnsupportedFormat or ErrCorrupt.
func classify(name, stage string, err error) error {
	var ju jpeg.UnsupportedError
	var pu png.UnsupportedError
	switch {
	case errors.As(err, &ju), errors.As(err, &pu), errors.Is(err, bmp.ErrUnsupported):
		return fmt.Errorf("%w: %s %s: %v", ErrUnsupportedFormat, name, stage, err)
	}
	return fmt.Errorf("%w: %s %s: %v", ErrCorrupt, name, stage, err)
}

// describeHeader says what the data is not, never what it holds: the
// message may reach a report, and the file may be anything (the builder
// was once pointed at /etc/passwd and quoted "root:x:0" back).
func describeHeader(data []byte) string {
	return fmt.Sprintf("(not JPEG, PNG, GIF, WebP or BMP; %d bytes)", len(data))
}
