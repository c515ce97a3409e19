package embed

import (
	"image"
	"math"
	"testing"

	"github.com/lookalike/lookalike/internal/tinymodel"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/objectness"
)

func TestLocalise(t *testing.T) {
	const c, h, w = 3, 7, 7
	m := make([]float32, c*h*w)
	// A product in cells x 1..2, y 3..5, and weaker clutter elsewhere that
	// is not connected to it.
	for ch := 0; ch < c; ch++ {
		for y := 3; y <= 5; y++ {
			for x := 1; x <= 2; x++ {
				m[ch*h*w+y*w+x] = 5
			}
		}
		m[ch*h*w+0*w+6] = 1
	}
	bounds := image.Rect(0, 0, 700, 1400)
	box, share, clutter := Localise(m, c, h, w, bounds)
	// cells 1..2 widened by half a cell: 0.5/7..3.5/7 of 700 = 50..350;
	// rows 3..5: 2.5/7..6.5/7 of 1400 = 500..1300.
	want := image.Rect(50, 500, 350, 1300)
	if box != want {
		t.Fatalf("box %v, want %v", box, want)
	}
	if s := float64(want.Dx()*want.Dy()) / (700 * 1400); share != s {
		t.Fatalf("share %v, want %v", share, s)
	}
	// outside: one cell of 3 (sum over channels) among 43 cells; inside 15 per cell.
	if wantC := (3.0 / 43) / 15; math.Abs(clutter-wantC) > 1e-9 {
		t.Fatalf("clutter %v, want %v", clutter, wantC)
	}
	// A flat (or dead) map proposes the whole photo.
	if box, share, _ := Localise(make([]float32, c*h*w), c, h, w, bounds); box != bounds || share != 1 {
		t.Fatalf("empty map: %v %v", box, share)
	}
	// Offset bounds (a cropped photo) stay inside.
	off := image.Rect(100, 100, 800, 1500)
	if box, _, _ := Localise(m, c, h, w, off); !box.In(off) || box.Min.X != 150 {
		t.Fatalf("offset: %v", box)
	}
}

func TestPhotoRecordRoundTrip(t *testing.T) {
	e, err := New(tinymodel.Build(tinymodel.Options{Channels: 8}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	p, err := e.EmbedPhoto(img, true) // no conv5: nothing to localise
	if err != nil {
		t.Fatal(err)
	}
	if p.Auto || p.Box != img.Bounds() || !p.Proposed.Empty() {
		t.Fatalf("without conv5: box %v auto %v proposed %v", p.Box, p.Auto, p.Proposed)
	}
	rec := p.Record()
	if len(rec) != PhotoRecordDim(len(p.Raw)) {
		t.Fatalf("record of %d values, want %d", len(rec), PhotoRecordDim(len(p.Raw)))
	}
	q, err := e.PhotoFromRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Vector {
		if q.Vector[i] != p.Vector[i] {
			t.Fatalf("vector[%d] %v after the round trip, %v before", i, q.Vector[i], p.Vector[i])
		}
	}
	if q.Box != p.Box || q.Auto != p.Auto || len(q.Colour) != len(p.Colour) {
		t.Fatalf("round trip: %+v", q)
	}
	if _, err := e.PhotoFromRecord(rec[:5]); err == nil {
		t.Fatal("a short record was accepted")
	}
}

// TestEmbedPhotoTwoViews: a photo whose product does not fill a busy
// frame is searched as the mean of the whole photo and the box (pooled
// outputs) with the box's colour; one on a plain backdrop, as the whole
// photo alone.
func TestEmbedPhotoTwoViews(t *testing.T) {
	e, err := New(tinymodel.Build(tinymodel.Options{Size: 128, Channels: 8, Conv5: true}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !e.CanLocalise() {
		t.Fatal("the tiny model with conv5 cannot localise")
	}
	// A bright textured product in the lower left of a dim, noisy scene.
	busy := image.NewRGBA(image.Rect(0, 0, 160, 120))
	plain := image.NewRGBA(busy.Rect)
	for y := 0; y < 120; y++ {
		for x := 0; x < 160; x++ {
			o := busy.PixOffset(x, y)
			n := byte((x*37 + y*91 + x*y) % 150)
			copy(busy.Pix[o:], []byte{40 + n, 60 + n, 50 + n, 255})
			copy(plain.Pix[o:], []byte{255, 255, 255, 255})
			if x >= 20 && x < 70 && y >= 60 && y < 110 {
				v := byte(150 + (x*y)%100)
				copy(busy.Pix[o:], []byte{v, 30, 200, 255})
				copy(plain.Pix[o:], []byte{v, 30, 200, 255})
			}
		}
	}
	p, err := e.EmbedPhoto(busy, true)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Auto || p.Box != p.Proposed || p.Box == busy.Bounds() {
		t.Fatalf("busy scene: auto %v box %v proposed %v", p.Auto, p.Box, p.Proposed)
	}
	whole, err := e.EmbedPhoto(busy, false)
	if err != nil {
		t.Fatal(err)
	}
	crop, err := imageprep.Crop(busy, p.Box)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := e.EmbedPhoto(crop, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Raw {
		if want := (whole.Raw[i] + inner.Raw[i]) / 2; math.Abs(float64(p.Raw[i]-want)) > 1e-6 {
			t.Fatalf("raw[%d] %v, want the mean of %v (photo) and %v (box)", i, p.Raw[i], whole.Raw[i], inner.Raw[i])
		}
	}
	// The colour is the product's: the box's alone.
	for i := range p.Colour {
		if p.Colour[i] != inner.Colour[i] {
			t.Fatalf("colour[%d] %v, want the box's %v (the photo's: %v)", i, p.Colour[i], inner.Colour[i], whole.Colour[i])
		}
	}
	// The same product on a white backdrop: nothing to look past.
	q, err := e.EmbedPhoto(plain, true)
	if err != nil {
		t.Fatal(err)
	}
	alone, err := e.EmbedPhoto(plain, false)
	if err != nil {
		t.Fatal(err)
	}
	if q.Auto || q.Box != plain.Bounds() || q.Proposed.Empty() {
		t.Fatalf("plain backdrop: auto %v box %v proposed %v", q.Auto, q.Box, q.Proposed)
	}
	for i := range q.Raw {
		if q.Raw[i] != alone.Raw[i] {
			t.Fatalf("plain backdrop: raw[%d] %v, the photo alone %v", i, q.Raw[i], alone.Raw[i])
		}
	}
}

// TestEmbedPhotoLearnedFinder: with a product finder installed, its box is
// searched alone (not averaged with the whole photo); a finder that sees
// no product leaves the heuristic's two views; one of another model's
// depth is an error.
func TestEmbedPhotoLearnedFinder(t *testing.T) {
	e, err := New(tinymodel.Build(tinymodel.Options{Size: 128, Channels: 8, Conv5: true}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	busy := image.NewRGBA(image.Rect(0, 0, 128, 128))
	product := image.Rect(0, 64, 64, 128) // the lower-left quarter: 2×2 of the 4×4 cells
	for y := 0; y < 128; y++ {
		for x := 0; x < 128; x++ {
			o := busy.PixOffset(x, y)
			n := byte((x*37 + y*91 + x*y) % 150)
			copy(busy.Pix[o:], []byte{40 + n, 60 + n, 50 + n, 255})
			if image.Pt(x, y).In(product) {
				copy(busy.Pix[o:], []byte{byte(150 + (x*y)%100), 30, 200, 255})
			}
		}
	}
	heuristic, err := e.EmbedPhoto(busy, true)
	if err != nil {
		t.Fatal(err)
	}
	c := installFinder(t, e, busy, product)
	p, err := e.EmbedPhoto(busy, true)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Auto || p.Box != p.Proposed {
		t.Fatalf("auto %v box %v proposed %v", p.Auto, p.Box, p.Proposed)
	}
	if iou := objectness.IoU(p.Box, product); iou < 0.8 {
		t.Fatalf("the finder's box %v, the product %v: IoU %.2f", p.Box, product, iou)
	}
	crop, err := imageprep.Crop(busy, p.Box)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := e.EmbedPhoto(crop, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Raw {
		if p.Raw[i] != inner.Raw[i] {
			t.Fatalf("raw[%d] %v, want the box's alone %v", i, p.Raw[i], inner.Raw[i])
		}
	}

	// Sees nothing: the heuristic's result, unchanged.
	e.SetObjectness(&objectness.Map{W: make([]float32, c), B: -20, Threshold: 0.7, Margin: 0.25})
	q, err := e.EmbedPhoto(busy, true)
	if err != nil {
		t.Fatal(err)
	}
	if q.Box != heuristic.Box || q.Auto != heuristic.Auto || q.Proposed != heuristic.Proposed {
		t.Fatalf("a finder that sees nothing: box %v auto %v, the heuristic's %v %v", q.Box, q.Auto, heuristic.Box, heuristic.Auto)
	}
	for i := range q.Raw {
		if q.Raw[i] != heuristic.Raw[i] {
			t.Fatalf("raw[%d] %v, the heuristic's %v", i, q.Raw[i], heuristic.Raw[i])
		}
	}

	e.SetObjectness(&objectness.Map{W: make([]float32, c+1), Threshold: 0.7})
	if _, err := e.EmbedPhoto(busy, true); err == nil {
		t.Fatal("a finder for another model's depth was accepted")
	}
	if _, err := e.EmbedPhoto(busy, false); err != nil {
		t.Fatalf("without localisation the finder is not used: %v", err)
	}
}

// TestEmbedPhotoSmallOnPlainWall: a product small on a plain coloured wall
// is cropped to (the border is plain but not a white backdrop); the same
// product small on a white backdrop, the catalogue's kind of photo, is
// searched whole.
func TestEmbedPhotoSmallOnPlainWall(t *testing.T) {
	e, err := New(tinymodel.Build(tinymodel.Options{Size: 128, Channels: 8, Conv5: true}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	product := image.Rect(64, 64, 128, 128)
	scene := func(bg [3]byte) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, 128, 128))
		for y := 0; y < 128; y++ {
			for x := 0; x < 128; x++ {
				c := bg[:]
				if image.Pt(x, y).In(product) {
					c = []byte{byte(150 + (x*y)%100), 30, byte(60 + (x*7)%120)}
				}
				copy(img.Pix[img.PixOffset(x, y):], []byte{c[0], c[1], c[2], 255})
			}
		}
		return img
	}
	for _, tc := range []struct {
		name string
		bg   [3]byte
		crop bool
	}{
		{"blue wall", [3]byte{40, 120, 200}, true},
		{"white backdrop", [3]byte{255, 255, 255}, false},
		{"white backdrop in dim light", [3]byte{110, 110, 104}, false},
	} {
		img := scene(tc.bg)
		if !imageprep.PlainBorder(img) {
			t.Fatalf("%s: the border is not plain", tc.name)
		}
		installFinder(t, e, img, product)
		p, err := e.EmbedPhoto(img, true)
		if err != nil {
			t.Fatal(err)
		}
		if objectness.IoU(p.Proposed, product) < 0.8 {
			t.Fatalf("%s: the finder's box %v, the product %v", tc.name, p.Proposed, product)
		}
		if p.Auto != tc.crop {
			t.Errorf("%s: searched the box: %v, want %v", tc.name, p.Auto, tc.crop)
		}
	}
}

// installFinder trains a product finder on img alone (the product at
// product) and installs it on e: a finder that sees exactly this product.
// It returns the depth of e's feature map.
func installFinder(t *testing.T, e *Embedder, img image.Image, product image.Rectangle) int {
	t.Helper()
	fm, c, side, err := e.Map(img)
	if err != nil {
		t.Fatal(err)
	}
	finder, err := objectness.Train([]objectness.Sample{{Map: fm, Cover: objectness.Cover(product, img.Bounds(), side, side)}}, c, side*side, objectness.TrainOptions{Margin: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	e.SetObjectness(finder)
	return c
}
