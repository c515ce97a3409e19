package imageprep

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/bmp"
)

// pattern is a deterministic, asymmetric RGB test image.
func pattern(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			i := m.PixOffset(x, y)
			m.Pix[i] = uint8(x * 255 / max(1, w-1))
			m.Pix[i+1] = uint8(y * 255 / max(1, h-1))
			m.Pix[i+2] = uint8((x*x + y*y) * 255 / max(1, (w-1)*(w-1)+(h-1)*(h-1)))
			m.Pix[i+3] = 255
		}
	}
	return m
}

func encPNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encJPEG(t testing.TB, m image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encGIF(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encBMP(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := bmp.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bitWriter packs bits least-significant first, as VP8L reads them.
type bitWriter struct {
	buf  []byte
	nbit int
}

func (w *bitWriter) put(v uint32, n int) {
	for i := range n {
		if w.nbit%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		w.buf[len(w.buf)-1] |= byte(v>>i&1) << (w.nbit % 8)
		w.nbit++
	}
}

// simpleCode writes a VP8L "simple" prefix code of one or two 8-bit symbols.
func (w *bitWriter) simpleCode(syms ...uint32) {
	w.put(1, 1)                   // simple code
	w.put(uint32(len(syms)-1), 1) // number of symbols - 1
	w.put(1, 1)                   // first symbol is 8 bits wide
	for _, s := range syms {
		w.put(s, 8)
	}
}

// webpLossless builds, from the WebP lossless bitstream specification, a
// w×h VP8L image in a RIFF container. Red, blue and alpha are constant; green
// is g[0] or g[1] per pixel as chosen by bits (g[0] < g[1]; a single-symbol
// code when g[0] == g[1] and bits is nil).
func webpLossless(w, h int, alpha bool, a, r, b uint8, g [2]uint8, bits []int) []byte {
	var bw bitWriter
	bw.put(0x2f, 8)         // VP8L signature
	bw.put(uint32(w-1), 14) // width - 1
	bw.put(uint32(h-1), 14) // height - 1
	if alpha {
		bw.put(1, 1)
	} else {
		bw.put(0, 1)
	}
	bw.put(0, 3) // version
	bw.put(0, 1) // no transform
	bw.put(0, 1) // no colour cache
	bw.put(0, 1) // no meta prefix codes
	if g[0] == g[1] {
		bw.simpleCode(uint32(g[0])) // green: zero bits a pixel
	} else {
		bw.simpleCode(uint32(g[0]), uint32(g[1])) // green: one bit a pixel
	}
	bw.simpleCode(uint32(r))
	bw.simpleCode(uint32(b))
	bw.simpleCode(uint32(a))
	bw.put(1, 1) // distance: simple code,
	bw.put(0, 1) // one symbol,
	bw.put(0, 1) // one bit wide,
	bw.put(0, 1) // symbol 0
	for _, bit := range bits {
		bw.put(uint32(bit), 1)
	}
	payload := bw.buf
	var out bytes.Buffer
	chunk := len(payload) + len(payload)%2
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(4+8+chunk))
	out.WriteString("WEBPVP8L")
	binary.Write(&out, binary.LittleEndian, uint32(len(payload)))
	out.Write(payload)
	if len(payload)%2 == 1 {
		out.WriteByte(0)
	}
	return out.Bytes()
}

// pngHeaderOnly is a PNG whose IHDR claims w×h RGB, followed by a tiny
// IDAT and IEND: any decoder that trusts it allocates w×h×3 bytes.
func pngHeaderOnly(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		b.Write(c)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit truecolour
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// jpegHeaderOnly is SOI + a baseline SOF0 claiming w×h, 3 components, + SOS
// with no tables and no scan data.
func jpegHeaderOnly(w, h uint16) []byte {
	b := []byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8}
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	b = append(b, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
	// Without a JFIF APP0, DecodeConfig reads on to the start of scan.
	b = append(b, 0xFF, 0xDA, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0)
	return append(b, 0xFF, 0xD9)
}

// exifAPP1 is an APP1 segment holding a TIFF IFD0 with one Orientation tag.
func exifAPP1(orient uint16, bigEndian bool) []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	tiff := []byte("II")
	if bigEndian {
		bo, tiff = binary.BigEndian, []byte("MM")
	}
	tiff = bo.AppendUint16(tiff, 42)
	tiff = bo.AppendUint32(tiff, 8)      // IFD0 offset
	tiff = bo.AppendUint16(tiff, 2)      // two entries
	tiff = bo.AppendUint16(tiff, 0x010F) // Make, ASCII, 4 bytes inline: skipped
	tiff = bo.AppendUint16(tiff, 2)
	tiff = bo.AppendUint32(tiff, 4)
	tiff = append(tiff, 'G', 'o', 'p', 0)
	tiff = bo.AppendUint16(tiff, 0x0112) // Orientation, SHORT, 1
	tiff = bo.AppendUint16(tiff, 3)
	tiff = bo.AppendUint32(tiff, 1)
	tiff = bo.AppendUint16(tiff, orient)
	tiff = bo.AppendUint16(tiff, 0)
	tiff = bo.AppendUint32(tiff, 0) // no next IFD
	body := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(2+len(body)))
	return append(seg, body...)
}

// withAPP1 inserts seg right after a JPEG's SOI marker.
func withAPP1(jpg, seg []byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// rgbAt reads img at (x,y) as 8-bit RGB composited on white, through the
// generic interface only.
func rgbAt(img image.Image, x, y int) [3]uint8 {
	r, g, b := onWhite(img.At(x, y))
	return [3]uint8{r, g, b}
}

func near(a, b [3]uint8, tol int) bool {
	for i := range 3 {
		d := int(a[i]) - int(b[i])
		if d < -tol || d > tol {
			return false
		}
	}
	return true
}

// sharedDir finds ../shared next to the repository root (the folder holding
// go.mod), or $LOOKALIKE_SHARED. It returns "" when absent.
func sharedDir() string {
	if d := os.Getenv("LOOKALIKE_SHARED"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			s := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(s); err == nil {
				return s
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// opaque is a colour for table tests.
func opaque(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 255} }
