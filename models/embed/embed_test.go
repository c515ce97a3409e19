package embed

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/internal/tinymodel"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/project"
)

func solid(c color.RGBA, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestPoolingsAndDims(t *testing.T) {
	model := tinymodel.Build(tinymodel.Options{Channels: 12})
	img := solid(color.RGBA{200, 30, 30, 255}, 40, 50)
	for _, tc := range []struct {
		p   Pooling
		dim int
	}{{GAP, 12}, {GMP, 12}, {Both, 24}} {
		e, err := New(model, Options{Pooling: tc.p})
		if err != nil {
			t.Fatal(err)
		}
		if d := e.FeatureDim(); d != tc.dim {
			t.Fatalf("%s: FeatureDim %d, want %d", tc.p, d, tc.dim)
		}
		v, err := e.Embed(img)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != tc.dim || math.Abs(norm(v)-1) > 1e-5 {
			t.Fatalf("%s: len %d norm %v", tc.p, len(v), norm(v))
		}
		if tc.p == Both {
			f, _ := e.Features([]image.Image{img})
			// Each half is unit length before concatenation.
			if a, b := norm(f[0][:12]), norm(f[0][12:]); math.Abs(a-1) > 1e-5 || math.Abs(b-1) > 1e-5 {
				t.Fatalf("gap+gmp halves not normalised: %v %v", a, b)
			}
		}
	}
}

func TestBatchEqualsSingle(t *testing.T) {
	model := tinymodel.Build(tinymodel.Options{Int8: true})
	e1, _ := New(model, Options{})
	e4, _ := New(model, Options{Batch: 4})
	imgs := []image.Image{
		solid(color.RGBA{255, 0, 0, 255}, 20, 20), solid(color.RGBA{0, 255, 0, 255}, 30, 10),
		solid(color.RGBA{0, 0, 255, 255}, 5, 40), solid(color.RGBA{9, 9, 9, 255}, 64, 64),
		solid(color.RGBA{250, 250, 0, 255}, 8, 8),
	}
	a, err := e1.EmbedBatch(imgs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e4.EmbedBatch(imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		for j := range a[i] {
			if math.Abs(float64(a[i][j]-b[i][j])) > 1e-5 {
				t.Fatalf("image %d dim %d: batch 1 %v, batch 4 %v", i, j, a[i][j], b[i][j])
			}
		}
	}
	// Different images give different embeddings (the test can fail).
	var d float64
	for j := range a[0] {
		d += math.Abs(float64(a[0][j] - a[1][j]))
	}
	if d < 1e-3 {
		t.Fatal("red and green images embed identically")
	}
}

func TestProjectionApplied(t *testing.T) {
	e, _ := New(tinymodel.Build(tinymodel.Options{Channels: 8}), Options{})
	p := &project.Projection{Kind: "pca", In: 8, Out: 2, Mean: make([]float32, 8), W: make([]float32, 16)}
	p.W[0], p.W[8+1] = 1, 1
	e.SetProjection(p)
	if e.Dim() != 2 {
		t.Fatalf("Dim %d, want 2", e.Dim())
	}
	v, err := e.Embed(solid(color.RGBA{10, 200, 90, 255}, 16, 16))
	if err != nil || len(v) != 2 {
		t.Fatalf("Embed = %v, %v", v, err)
	}
}

func TestEmbedBytesAndErrors(t *testing.T) {
	model := tinymodel.Build(tinymodel.Options{})
	e, _ := New(model, Options{Decode: imageprep.Options{MaxPixels: 10_000}})
	var buf bytes.Buffer
	png.Encode(&buf, solid(color.RGBA{1, 2, 3, 255}, 50, 50))
	crop := image.Rect(0, 0, 20, 20)
	if _, err := e.EmbedBytes(buf.Bytes(), &crop); err != nil {
		t.Fatal(err)
	}
	if _, err := e.EmbedBytes([]byte("not an image"), nil); !errors.Is(err, imageprep.ErrUnsupportedFormat) {
		t.Fatalf("text: %v", err)
	}
	buf.Reset()
	png.Encode(&buf, solid(color.RGBA{1, 2, 3, 255}, 200, 200))
	if _, err := e.EmbedBytes(buf.Bytes(), nil); !errors.Is(err, imageprep.ErrTooLarge) {
		t.Fatalf("over the pixel budget: %v", err)
	}
	// A model without preprocessing metadata needs an explicit spec.
	noMeta := tinymodel.Build(tinymodel.Options{Spec: "{}"})
	if _, err := New(noMeta, Options{Pooling: "nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown pooling output: %v", err)
	}
}

func TestFromPooledMatchesFeatures(t *testing.T) {
	model := tinymodel.Build(tinymodel.Options{Channels: 6})
	img := solid(color.RGBA{90, 140, 220, 255}, 33, 21)
	for _, p := range []Pooling{GAP, GMP, Both} {
		e, _ := New(model, Options{Pooling: p})
		if !e.HasBothPoolings() {
			t.Fatal("tiny model has gap and gmp")
		}
		both, err := e.PooledBoth([]image.Image{img})
		if err != nil || len(both[0]) != 12 {
			t.Fatalf("PooledBoth: %v %v", both, err)
		}
		want, _ := e.Features([]image.Image{img})
		got := e.FromPooled(both[0])
		if len(got) != len(want[0]) {
			t.Fatalf("%s: %d values, want %d", p, len(got), len(want[0]))
		}
		for i := range got {
			if math.Abs(float64(got[i]-want[0][i])) > 1e-6 {
				t.Fatalf("%s: value %d: %v vs %v", p, i, got[i], want[0][i])
			}
		}
	}
}
