package imageprep

import (
	"errors"
	"image"
	"image/color"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode: it must never panic, must
// return exactly one sentinel on failure, and on success an opaque, upright
// image within the budget that ToTensor accepts.
func FuzzDecode(f *testing.F) {
	small := pattern(9, 7)
	pal := image.NewPaletted(image.Rect(0, 0, 5, 3), color.Palette{opaque(1, 2, 3), color.RGBA{}})
	f.Add(encPNG(f, small))
	f.Add(encJPEG(f, small, 75))
	f.Add(withAPP1(encJPEG(f, small, 75), exifAPP1(6, true)))
	f.Add(encGIF(f, pal))
	f.Add(encBMP(f, small))
	f.Add(webpLossless(2, 2, true, 200, 40, 220, [2]uint8{10, 200}, []int{0, 1, 1, 0}))
	f.Add(pngHeaderOnly(50000, 50000))
	f.Add(jpegHeaderOnly(3, 2))
	f.Add([]byte("GIF89a"))
	f.Add([]byte{})
	opt := Options{MaxPixels: 1 << 20} // keep fuzzing memory small
	spec := CaffeSpec()
	spec.Size = 16
	f.Fuzz(func(t *testing.T, data []byte) {
		img, info, err := Decode(data, opt)
		if err != nil {
			n := 0
			for _, s := range []error{ErrEmpty, ErrUnsupportedFormat, ErrTooLarge, ErrCorrupt} {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %q matches %d sentinels", err, n)
			}
			return
		}
		b := img.Bounds()
		if b.Min != (image.Point{}) || b.Dx() != info.Width || b.Dy() != info.Height {
			t.Fatalf("bounds %v vs info %+v", b, info)
		}
		if int64(b.Dx())*int64(b.Dy()) > opt.MaxPixels {
			t.Fatalf("%v over budget", b)
		}
		if info.Orientation < 1 || info.Orientation > 8 {
			t.Fatalf("orientation %d", info.Orientation)
		}
		if _, _, _, a := img.At(b.Dx()/2, b.Dy()/2).RGBA(); a != 0xffff {
			t.Fatalf("not opaque")
		}
		if x := ToTensor(img, spec, nil); len(x) != 3*16*16 {
			t.Fatalf("tensor len %d", len(x))
		}
	})
}

// FuzzExif feeds arbitrary bytes to the EXIF/TIFF orientation parser and the
// JPEG marker walk: no panics, results always in range.
func FuzzExif(f *testing.F) {
	f.Add(exifAPP1(6, false)[10:])
	f.Add(exifAPP1(8, true)[10:])
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x03\x00\x00"))
	f.Add([]byte("II*\x00\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, tiff []byte) {
		if o := exifOrientation(tiff); o < 0 || o > 8 {
			t.Fatalf("exifOrientation = %d", o)
		}
		seg := append([]byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(tiff) + 8) >> 8), byte(len(tiff) + 8)}, "Exif\x00\x00"...)
		seg = append(seg, tiff...)
		if o := jpegOrientation(seg); o < 1 || o > 8 {
			t.Fatalf("jpegOrientation = %d", o)
		}
		if o := jpegOrientation(tiff); o < 1 || o > 8 {
			t.Fatalf("jpegOrientation(raw) = %d", o)
		}
	})
}

// FuzzParseSpec: a spec from a manifest either fails with ErrBadSpec or
// validates and survives a round trip.
func FuzzParseSpec(f *testing.F) {
	f.Add(`{"layout":"NCHW","size":224,"channels":"BGR","scale":255,"mean":[103.939,116.779,123.68],"std":[1,1,1]}`)
	f.Add(`{"size":7,"mode":"letterbox","std":[0.2,0.2,0.2]}`)
	f.Add(`{"mean":[1e39,0,0]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpec(s)
		if err != nil {
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("error %v is not ErrBadSpec", err)
			}
			return
		}
		if err := sp.Validate(); err != nil {
			t.Fatal(err)
		}
		js, err := sp.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSpec(string(js))
		if err != nil || back != sp {
			t.Fatalf("round trip %s: %+v %v", js, back, err)
		}
	})
}
