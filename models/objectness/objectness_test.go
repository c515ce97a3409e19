package objectness

import (
	"bytes"
	"errors"
	"image"
	"math/rand/v2"
	"runtime"
	"testing"
)

// scene makes a c×side×side feature map of a product occupying r of a
// 224×224 photo: product cells fire on the first quarter of the channels,
// scene cells on the rest (with noise everywhere), as a busy background
// does on conv5.
func scene(rng *rand.Rand, c, side int, r image.Rectangle) Sample {
	bounds := image.Rect(0, 0, 224, 224)
	cover := Cover(r, bounds, side, side)
	n := side * side
	m := make([]float32, c*n)
	for ch := 0; ch < c; ch++ {
		for i := 0; i < n; i++ {
			v := 0.3 * rng.Float64()
			if ch < c/4 {
				v += 2 * cover[i] * (0.5 + rng.Float64())
			} else {
				v += (1 - cover[i]) * rng.Float64()
			}
			m[ch*n+i] = float32(v * v)
		}
	}
	return Sample{Map: m, Cover: cover}
}

func randomRect(rng *rand.Rand) image.Rectangle {
	w, h := 60+rng.IntN(90), 60+rng.IntN(90)
	x, y := rng.IntN(224-w), rng.IntN(224-h)
	return image.Rect(x, y, x+w, y+h)
}

func TestTrainFindsTheProduct(t *testing.T) {
	const c, side = 32, 7
	rng := rand.New(rand.NewPCG(1, 2))
	var train []Sample
	for range 80 {
		train = append(train, scene(rng, c, side, randomRect(rng)))
	}
	m, err := Train(train, c, side*side, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	const tests = 40
	for range tests {
		r := randomRect(rng)
		s := scene(rng, c, side, r)
		box, share, ok, err := m.Box(s.Map, side, side, image.Rect(0, 0, 224, 224))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Fatalf("no product found at %v", r)
		}
		if share <= 0 || share > 1 {
			t.Fatalf("share %v", share)
		}
		sum += IoU(box, r)
	}
	if iou := sum / tests; iou < 0.6 {
		t.Errorf("mean IoU with the product %.2f, want ≥ 0.6", iou)
	}
	// A scene with no product: no cell is above the threshold.
	empty := scene(rng, c, side, image.Rectangle{})
	if _, _, ok, _ := m.Box(empty.Map, side, side, image.Rect(0, 0, 224, 224)); ok {
		t.Error("a product was found in a photo without one")
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	const c, side = 16, 7
	rng := rand.New(rand.NewPCG(3, 4))
	var train []Sample
	for range 30 {
		train = append(train, scene(rng, c, side, randomRect(rng)))
	}
	a, err := Train(train, c, side*side, TrainOptions{Iters: 40})
	if err != nil {
		t.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(1)
	b, err := Train(train, c, side*side, TrainOptions{Iters: 40})
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := a.MarshalBinary()
	bb, _ := b.MarshalBinary()
	if !bytes.Equal(ab, bb) {
		t.Error("the same photos trained on 1 core and on all gave different maps")
	}
	if a.Digest() != b.Digest() {
		t.Error("digests differ")
	}
}

func TestTrainRejects(t *testing.T) {
	s := Sample{Map: make([]float32, 4*9), Cover: make([]float64, 9)}
	if _, err := Train([]Sample{s}, 4, 9, TrainOptions{}); err == nil {
		t.Error("trained with no product cell")
	}
	if _, err := Train([]Sample{{Map: make([]float32, 5), Cover: make([]float64, 9)}}, 4, 9, TrainOptions{}); err == nil {
		t.Error("trained on a map of the wrong size")
	}
	if _, err := Train(nil, 4, 9, TrainOptions{}); err == nil {
		t.Error("trained on nothing")
	}
}

func TestRoundTripAndMalformed(t *testing.T) {
	m := &Map{W: []float32{0.5, -1, 2}, B: -0.25, Threshold: 0.7, Margin: 0.25}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.B != m.B || got.Threshold != m.Threshold || got.Margin != m.Margin || len(got.W) != 3 || got.W[1] != -1 {
		t.Errorf("round trip: %+v, want %+v", got, m)
	}
	bad := map[string][]byte{
		"short":     b[:10],
		"magic":     append([]byte("NOPE"), b[4:]...),
		"version":   append(append([]byte{}, b[:4]...), append([]byte{9, 0}, b[6:]...)...),
		"truncated": b[:len(b)-4],
		"longer":    append(append([]byte{}, b...), 0, 0, 0, 0),
	}
	nan := append([]byte{}, b...)
	copy(nan[24:], []byte{0, 0, 0xc0, 0x7f})
	bad["nan"] = nan
	thr := append([]byte{}, b...)
	copy(thr[16:], []byte{0, 0, 0x80, 0x3f}) // threshold 1
	bad["threshold"] = thr
	for name, bb := range bad {
		if _, err := Parse(bb); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
	if _, err := m.Probabilities(make([]float32, 10), 4, nil); err == nil {
		t.Error("a map of the wrong depth was accepted")
	}
}

func TestBoxOfMapsCellsOntoThePhoto(t *testing.T) {
	// 4×4 cells over a 400×200 photo at (100,50); the product is cells
	// (1,1)–(2,1), and a lone likely cell not connected to it at (3,3).
	p := make([]float64, 16)
	p[1*4+1], p[1*4+2], p[3*4+3] = 0.9, 0.8, 0.75
	bounds := image.Rect(100, 50, 500, 250)
	box, share, ok, err := BoxOf(p, 4, 4, 0.7, 0, bounds)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if want := image.Rect(200, 100, 400, 150); box != want {
		t.Errorf("box %v, want %v", box, want)
	}
	if share != 0.125 {
		t.Errorf("share %v, want 0.125", share)
	}
	if box, _, _, _ := BoxOf(p, 4, 4, 0.7, 0.5, bounds); box != image.Rect(150, 75, 450, 175) {
		t.Errorf("with half a cell's margin: %v", box)
	}
}

func FuzzParse(f *testing.F) {
	b, _ := (&Map{W: []float32{0.5, -1, 2}, B: -0.25, Threshold: 0.7, Margin: 0.25}).MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		// Whatever parses boxes a map of its depth without panicking.
		fm := make([]float32, m.Channels()*9)
		for i := range fm {
			fm[i] = float32(i % 5)
		}
		if _, _, _, err := m.Box(fm, 3, 3, image.Rect(0, 0, 30, 30)); err != nil {
			t.Fatal(err)
		}
	})
}
