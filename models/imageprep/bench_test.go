package imageprep

import (
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// photo is a synthetic w×h "photograph": smooth gradients plus grain, so
// JPEG sizes and decode times resemble a camera's.
func photo(w, h int) *image.RGBA {
	rng := rand.New(rand.NewPCG(1, 2))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			i := m.PixOffset(x, y)
			n := rng.IntN(24)
			m.Pix[i] = uint8((x*200/w + n) & 0xff)
			m.Pix[i+1] = uint8((y*200/h + n) & 0xff)
			m.Pix[i+2] = uint8(((x+y)*100/(w+h) + 60 + n) & 0xff)
			m.Pix[i+3] = 255
		}
	}
	return m
}

func catalogJPEG(b *testing.B) []byte {
	dir := sharedDir()
	if dir != "" {
		if data, err := os.ReadFile(filepath.Join(dir, "fashion", "images", "10000.jpg")); err == nil {
			return data
		}
	}
	b.Log("catalogue photo not found; using a synthetic 60x80 JPEG")
	return encJPEG(b, photo(60, 80), 90)
}

// BenchmarkPrepareCatalog: decode + resize to 224 + normalise one 60×80
// catalogue photo.
func BenchmarkPrepareCatalog(b *testing.B) {
	data := catalogJPEG(b)
	spec := CaffeSpec()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Prepare(data, nil, spec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeCatalog(b *testing.B) {
	data := catalogJPEG(b)
	for b.Loop() {
		if _, _, err := Decode(data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

var bigJPEG []byte

func big(b *testing.B) []byte {
	if bigJPEG == nil {
		bigJPEG = encJPEG(b, photo(4000, 3000), 90)
	}
	return bigJPEG
}

// BenchmarkPrepare4000x3000: decode + resize + normalise a 12 MP JPEG.
func BenchmarkPrepare4000x3000(b *testing.B) {
	data := big(b)
	spec := CaffeSpec()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Prepare(data, nil, spec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode4000x3000(b *testing.B) {
	data := big(b)
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := Decode(data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToTensor4000x3000 is the resize + normalise part alone.
func BenchmarkToTensor4000x3000(b *testing.B) {
	img, _, err := Decode(big(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	spec := CaffeSpec()
	dst := make([]float32, 3*224*224)
	b.ResetTimer()
	for b.Loop() {
		dst = ToTensor(img, spec, dst)
	}
}

func BenchmarkToTensorCatalog(b *testing.B) {
	img, _, err := Decode(catalogJPEG(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	spec := CaffeSpec()
	dst := make([]float32, 3*224*224)
	for b.Loop() {
		dst = ToTensor(img, spec, dst)
	}
}
