package imageprep

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

func TestDecodeFormats(t *testing.T) {
	src := pattern(24, 16)
	pal := image.NewPaletted(image.Rect(0, 0, 8, 6), color.Palette{opaque(200, 10, 10), opaque(10, 200, 10)})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i % 2)
	}
	webp := webpLossless(2, 2, false, 255, 40, 220, [2]uint8{10, 200}, []int{0, 1, 1, 0})
	tests := []struct {
		name   string
		data   []byte
		format string
		w, h   int
		want   image.Image // expected pixels
		tol    int
	}{
		{"png", encPNG(t, src), "png", 24, 16, src, 0},
		{"jpeg", encJPEG(t, src, 100), "jpeg", 24, 16, src, 40},
		{"gif", encGIF(t, pal), "gif", 8, 6, pal, 0},
		{"bmp", encBMP(t, src), "bmp", 24, 16, src, 0},
		{"webp-lossless", webp, "webp", 2, 2, func() image.Image {
			m := image.NewRGBA(image.Rect(0, 0, 2, 2))
			m.Set(0, 0, opaque(40, 10, 220))
			m.Set(1, 0, opaque(40, 200, 220))
			m.Set(0, 1, opaque(40, 200, 220))
			m.Set(1, 1, opaque(40, 10, 220))
			return m
		}(), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, info, err := Decode(tc.data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != tc.format || info.Width != tc.w || info.Height != tc.h || info.Orientation != 1 {
				t.Fatalf("info = %+v, want %s %dx%d orientation 1", info, tc.format, tc.w, tc.h)
			}
			if b := img.Bounds(); b != image.Rect(0, 0, tc.w, tc.h) {
				t.Fatalf("bounds %v", b)
			}
			switch img.(type) {
			case *image.RGBA, *image.YCbCr:
			default:
				t.Fatalf("Decode returned %T", img)
			}
			worst := 0
			for y := range tc.h {
				for x := range tc.w {
					got, want := rgbAt(img, x, y), rgbAt(tc.want, x, y)
					for c := range 3 {
						worst = max(worst, abs(int(got[c])-int(want[c])))
					}
				}
			}
			if worst > tc.tol {
				t.Errorf("max channel error %d > %d", worst, tc.tol)
			}
		})
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestDecodeAlphaOnWhite(t *testing.T) {
	// NRGBA: opaque red, transparent black, half-transparent blue.
	n := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	n.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	n.SetNRGBA(1, 0, color.NRGBA{0, 0, 0, 0})
	n.SetNRGBA(2, 0, color.NRGBA{0, 0, 255, 128})
	want := [][3]uint8{{255, 0, 0}, {255, 255, 255}, {127, 127, 255}}

	pal := image.NewPaletted(image.Rect(0, 0, 3, 1), color.Palette{opaque(255, 0, 0), color.RGBA{}, color.RGBA{0, 0, 128, 128}})
	pal.Pix = []uint8{0, 1, 2}

	for _, tc := range []struct {
		name string
		data []byte
		want [][3]uint8
	}{
		{"png", encPNG(t, n), want},
		{"gif", encGIF(t, pal), want[:2]}, // GIF has 1-bit transparency
		{"webp-transparent", webpLossless(1, 1, true, 0, 9, 9, [2]uint8{9, 9}, nil), [][3]uint8{{255, 255, 255}}},
		{"webp-half", webpLossless(1, 1, true, 128, 0, 0, [2]uint8{0, 0}, nil), [][3]uint8{{127, 127, 127}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, _, err := Decode(tc.data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for x, w := range tc.want {
				if got := rgbAt(img, x, 0); !near(got, w, 1) {
					t.Errorf("pixel %d = %v, want %v", x, got, w)
				}
				if _, _, _, a := img.At(x, 0).RGBA(); a != 0xffff {
					t.Errorf("pixel %d alpha %#x, want opaque", x, a)
				}
			}
		})
	}
}

func TestDecodeGrey(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range g.Pix {
		g.Pix[i] = uint8(i)
	}
	for _, tc := range []struct {
		name string
		data []byte
		tol  int
	}{{"png", encPNG(t, g), 0}, {"jpeg", encJPEG(t, g, 100), 3}} {
		t.Run(tc.name, func(t *testing.T) {
			img, _, err := Decode(tc.data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for y := range 16 {
				for x := range 16 {
					v := g.GrayAt(x, y).Y
					if got := rgbAt(img, x, y); !near(got, [3]uint8{v, v, v}, tc.tol) {
						t.Fatalf("(%d,%d) = %v, want grey %d", x, y, got, v)
					}
				}
			}
		})
	}
}

// TestCMYK checks the CMYK conversion on an in-memory image (the fast path
// against the colour model), then an Adobe CMYK JPEG from Go's own test data
// against its PNG rendering, when GOROOT is readable.
func TestCMYK(t *testing.T) {
	c := image.NewCMYK(image.Rect(0, 0, 4, 1))
	vals := [][4]uint8{{0, 0, 0, 0}, {255, 0, 0, 0}, {0, 0, 0, 255}, {20, 140, 200, 30}}
	for x, v := range vals {
		c.SetCMYK(x, 0, color.CMYK{v[0], v[1], v[2], v[3]})
	}
	out := Resize(c, 4, 1, Stretch)
	for x, v := range vals {
		r, g, b := color.CMYKToRGB(v[0], v[1], v[2], v[3])
		if got := rgbAt(out, x, 0); got != [3]uint8{r, g, b} {
			t.Errorf("CMYK %v -> %v, want %v", v, got, [3]uint8{r, g, b})
		}
	}
	if got := rgbAt(out, 1, 0); got != [3]uint8{0, 255, 255} {
		t.Errorf("pure cyan -> %v", got)
	}

	root := os.Getenv("GOROOT")
	if root == "" {
		root = runtime.GOROOT()
	}
	dir := filepath.Join(root, "src", "image", "testdata")
	jpg, err1 := os.ReadFile(filepath.Join(dir, "video-001.cmyk.jpeg"))
	ref, err2 := os.ReadFile(filepath.Join(dir, "video-001.cmyk.png"))
	if err1 != nil || err2 != nil {
		t.Skipf("Go's CMYK test images not readable: %v %v", err1, err2)
	}
	got, info, err := Decode(jpg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := Decode(ref, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds() != want.Bounds() {
		t.Fatalf("bounds %v vs %v", got.Bounds(), want.Bounds())
	}
	var sum, n int
	for y := range info.Height {
		for x := range info.Width {
			a, b := rgbAt(got, x, y), rgbAt(want, x, y)
			for c := range 3 {
				sum += abs(int(a[c]) - int(b[c]))
				n++
			}
		}
	}
	if mean := float64(sum) / float64(n); mean > 4 {
		t.Errorf("CMYK JPEG differs from its PNG rendering by %.2f levels on average", mean)
	}
}

func TestDecodeErrors(t *testing.T) {
	okPNG := encPNG(t, pattern(32, 32))
	okJPEG := encJPEG(t, pattern(64, 64), 90)
	okGIF := encGIF(t, pattern(16, 16))
	okWebP := webpLossless(2, 2, false, 255, 40, 220, [2]uint8{10, 200}, []int{0, 1, 1, 0})
	flipped := append([]byte{}, okPNG...)
	flipped[len(flipped)-20] ^= 0xff // inside IDAT: checksum mismatch
	tests := []struct {
		name string
		data []byte
		opt  Options
		want error
	}{
		{"empty", nil, Options{}, ErrEmpty},
		{"empty-slice", []byte{}, Options{}, ErrEmpty},
		{"text", []byte("hello, this is not an image"), Options{}, ErrUnsupportedFormat},
		{"html", []byte("<!doctype html><html></html>"), Options{}, ErrUnsupportedFormat},
		{"one-byte", []byte{0xFF}, Options{}, ErrUnsupportedFormat},
		{"png-huge", pngHeaderOnly(50000, 50000), Options{}, ErrTooLarge},
		{"jpeg-huge", jpegHeaderOnly(50000, 50000), Options{}, ErrTooLarge},
		{"png-long-side", pngHeaderOnly(30000, 10), Options{}, ErrTooLarge},
		{"png-budget", okPNG, Options{MaxPixels: 32*32 - 1}, ErrTooLarge},
		{"png-side", okPNG, Options{MaxSide: 31}, ErrTooLarge},
		{"png-header-lies", pngHeaderOnly(30000, 10), Options{MaxSide: 40000}, ErrCorrupt},
		{"png-truncated", okPNG[:len(okPNG)/2], Options{}, ErrCorrupt},
		{"png-signature-only", okPNG[:8], Options{}, ErrCorrupt},
		{"png-flipped", flipped, Options{}, ErrCorrupt},
		{"png-zero", pngHeaderOnly(0, 0), Options{}, ErrCorrupt},
		{"jpeg-truncated", okJPEG[:len(okJPEG)/2], Options{}, ErrCorrupt},
		{"jpeg-soi-garbage", []byte{0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3}, Options{}, ErrCorrupt},
		{"gif-truncated", okGIF[:len(okGIF)-8], Options{}, ErrCorrupt},
		{"webp-truncated", okWebP[:len(okWebP)-3], Options{}, ErrCorrupt},
		{"riff-not-webp", []byte("RIFF\x04\x00\x00\x00WAVEfmt "), Options{}, ErrUnsupportedFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, _, err := Decode(tc.data, tc.opt)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if img != nil {
				t.Error("image returned with an error")
			}
			if !strings.HasPrefix(err.Error(), "imageprep: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			for _, other := range []error{ErrEmpty, ErrUnsupportedFormat, ErrTooLarge, ErrCorrupt} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("error %q also matches %v", err, other)
				}
			}
		})
	}
}

// TestTooLargeRefusedBeforeDecoding: a 50,000×50,000 header (7.5 GB of
// RGB) must be refused from the header alone.
func TestTooLargeRefusedBeforeDecoding(t *testing.T) {
	for name, data := range map[string][]byte{
		"png":  pngHeaderOnly(50000, 50000),
		"jpeg": jpegHeaderOnly(50000, 50000),
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _, err := Decode(data, Options{})
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("%s: err = %v, want ErrTooLarge", name, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("%s: refusing allocated %d bytes", name, alloc)
		}
	}
}

// TestExifOrientation stores an upright 3×2-block picture the way a camera
// would for each orientation (following the EXIF table of where the stored
// 0th row and 0th column lie), tags it, and checks Decode turns it upright.
func TestExifOrientation(t *testing.T) {
	const B = 16 // block side: one 4:2:0 MCU, so colours survive JPEG
	blocks := [2][3]color.RGBA{
		{opaque(230, 20, 20), opaque(20, 230, 20), opaque(20, 20, 230)},
		{opaque(230, 230, 20), opaque(230, 20, 230), opaque(20, 230, 230)},
	}
	const Wu, Hu = 3 * B, 2 * B
	upright := func(x, y int) color.RGBA { return blocks[y/B][x/B] }
	// The EXIF table: side of the picture holding the stored 0th row, and
	// side holding the stored 0th column.
	table := map[int][2]string{
		1: {"top", "left"}, 2: {"top", "right"}, 3: {"bottom", "right"}, 4: {"bottom", "left"},
		5: {"left", "top"}, 6: {"right", "top"}, 7: {"right", "bottom"}, 8: {"left", "bottom"},
	}
	for o := 1; o <= 8; o++ {
		row0, col0 := table[o][0], table[o][1]
		var stored *image.RGBA
		if row0 == "top" || row0 == "bottom" {
			stored = image.NewRGBA(image.Rect(0, 0, Wu, Hu))
			for r := range Hu {
				for c := range Wu {
					vx, vy := c, r
					if col0 == "right" {
						vx = Wu - 1 - c
					}
					if row0 == "bottom" {
						vy = Hu - 1 - r
					}
					stored.SetRGBA(c, r, upright(vx, vy))
				}
			}
		} else { // stored rows run along the picture's columns
			stored = image.NewRGBA(image.Rect(0, 0, Hu, Wu))
			for r := range Wu {
				for c := range Hu {
					vx, vy := r, c
					if row0 == "right" {
						vx = Wu - 1 - r
					}
					if col0 == "bottom" {
						vy = Hu - 1 - c
					}
					stored.SetRGBA(c, r, upright(vx, vy))
				}
			}
		}
		data := withAPP1(encJPEG(t, stored, 100), exifAPP1(uint16(o), o%2 == 0))
		img, info, err := Decode(data, Options{})
		if err != nil {
			t.Fatalf("orientation %d: %v", o, err)
		}
		if info.Orientation != o || info.Width != Wu || info.Height != Hu {
			t.Fatalf("orientation %d: info %+v", o, info)
		}
		for by := range 2 {
			for bx := range 3 {
				x, y := bx*B+B/2, by*B+B/2
				want := upright(x, y)
				if got := rgbAt(img, x, y); !near(got, [3]uint8{want.R, want.G, want.B}, 30) {
					t.Errorf("orientation %d: block (%d,%d) = %v, want %v", o, bx, by, got, want)
				}
			}
		}
		// IgnoreOrientation returns the stored pixels.
		raw, info2, err := Decode(data, Options{IgnoreOrientation: true})
		if err != nil || raw.Bounds() != stored.Bounds() || info2.Orientation != o {
			t.Errorf("orientation %d ignored: %v %v %+v", o, err, raw.Bounds(), info2)
		}
	}
}

func TestJPEGOrientationParser(t *testing.T) {
	jpg := encJPEG(t, pattern(8, 8), 80)
	le, be := exifAPP1(6, false), exifAPP1(8, true)
	badOffset := append([]byte{}, le...)
	badOffset[4+6+4] = 0xF0 // IFD0 offset far past the end
	outOfRange := exifAPP1(9, false)
	truncated := append([]byte{}, le[:len(le)-10]...)
	truncated[3] = byte(len(truncated) - 2) // consistent segment length
	notExif := append([]byte{}, le...)
	copy(notExif[4:], "Exix")
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"none", jpg, 1},
		{"little-endian", withAPP1(jpg, le), 6},
		{"big-endian", withAPP1(jpg, be), 8},
		{"bad-offset", withAPP1(jpg, badOffset), 1},
		{"value-9", withAPP1(jpg, outOfRange), 1},
		{"truncated-ifd", withAPP1(jpg, truncated), 1},
		{"not-exif", withAPP1(jpg, notExif), 1},
		{"after-app0", withAPP1(withAPP1(jpg, be), []byte{0xFF, 0xE0, 0, 4, 'x', 'y'}), 8},
		{"segment-past-end", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E'}, 1},
		{"not-jpeg", []byte("MM\x00*"), 1},
	}
	for _, tc := range tests {
		if got := jpegOrientation(tc.data); got != tc.want {
			t.Errorf("%s: orientation %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestGIFFrameOnScreen: a first frame smaller than the logical screen is
// drawn in place on white.
func TestGIFFrameOnScreen(t *testing.T) {
	frame := image.NewPaletted(image.Rect(2, 1, 4, 3), color.Palette{opaque(0, 0, 0)})
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{ColorModel: frame.Palette, Width: 6, Height: 4}})
	if err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	img, info, err := Decode(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 6 || info.Height != 4 {
		t.Fatalf("size %dx%d, want 6x4", info.Width, info.Height)
	}
	for y := range 4 {
		for x := range 6 {
			want := [3]uint8{255, 255, 255}
			if image.Pt(x, y).In(frame.Rect) {
				want = [3]uint8{}
			}
			if got := rgbAt(img, x, y); got != want {
				t.Errorf("(%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

func TestCatalogPhoto(t *testing.T) {
	dir := sharedDir()
	if dir == "" {
		t.Skip("../shared not found (set LOOKALIKE_SHARED)")
	}
	imgs := filepath.Join(dir, "fashion", "images")
	// Read only a few directory entries: listing 40k files is slow in wasm.
	d, err := os.Open(imgs)
	if err != nil {
		t.Skip(err)
	}
	entries, err := d.ReadDir(64)
	d.Close()
	if err != nil {
		t.Skip(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".jpg") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) > 5 {
		names = names[:5]
	}
	if len(names) == 0 {
		t.Skip("no catalogue photos")
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(imgs, n))
		if err != nil {
			t.Fatal(err)
		}
		img, info, err := Decode(data, Options{})
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if info.Format != "jpeg" || info.Width != 60 || info.Height != 80 {
			t.Errorf("%s: %+v, want a 60x80 jpeg", n, info)
		}
		x, err := Prepare(data, nil, CaffeSpec())
		if err != nil || len(x) != 3*224*224 {
			t.Fatalf("%s: Prepare: %d floats, %v", n, len(x), err)
		}
		// Catalogue shots sit on white: the corner pixel is near white.
		if c := rgbAt(img, 0, 0); c[0] < 200 || c[1] < 200 || c[2] < 200 {
			t.Logf("%s: corner %v is not white", n, c)
		}
	}
}
