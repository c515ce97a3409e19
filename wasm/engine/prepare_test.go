package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/internal/tinymodel"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/project"
)

// withModel adds internal/tinymodel's model and a projection of its
// 32 pooled features (gap+gmp) to the fixture's dimension.
func withModel(t *testing.T, f *fixture) {
	t.Helper()
	m, err := catalog.ReadManifest(f.files["manifest"])
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(3))
	p := &project.Projection{Kind: "pca", In: 32, Out: f.dim, Mean: make([]float32, 32), W: make([]float32, 32*f.dim)}
	for i := range p.W {
		p.W[i] = float32(rng.NormFloat64())
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for kind, b := range map[string][]byte{"model": tinymodel.Build(tinymodel.Options{}), "projection": pb} {
		ext := map[string]string{"model": "onnx", "projection": "bin"}[kind]
		a, _ := catalog.NewAsset(kind, ext, b, catalog.MaxAssetSize)
		m.Assets = append(m.Assets, a)
		f.files[kind] = b
	}
	m.Model.Embedding.Pooling = "gap+gmp"
	if f.files["manifest"], err = m.Marshal(); err != nil {
		t.Fatal(err)
	}
}

func testPhoto(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 48, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 48; x++ {
			img.Set(x, y, color.RGBA{uint8(200 - 3*y), uint8(40 + 4*x), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func loadKinds(t *testing.T, s *session, f *fixture, kinds ...string) {
	t.Helper()
	for _, kind := range kinds {
		if err := s.load(kind, f.files[kind]); err != nil {
			t.Fatalf("load %s: %v", kind, err)
		}
	}
}

// A photo run through the model before the rest of the catalogue (and the
// projection) has arrived gets the same answer as one embedded at search
// time; prepare before the model, or of a bad photo, changes nothing.
func TestPrepareBeforeReady(t *testing.T) {
	f := newFixture(t, 60, 8, false, false)
	withModel(t, f)
	photo := testPhoto(t)

	// The reference: everything loaded, then a search.
	ref := newSession()
	loadKinds(t, ref, f, "manifest", "projection", "model", "vectors", "index", "catalog")
	want, err := ref.search(photo, nil, 10, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	s := newSession()
	loadKinds(t, s, f, "manifest")
	s.prepare(photo, nil) // no model yet: nothing
	if s.prepPhoto != nil {
		t.Fatal("prepared without a model")
	}
	loadKinds(t, s, f, "model") // the projection comes after it
	if s.emb == nil || s.emb.Projection() != nil {
		t.Fatalf("after the model alone: embedder %v", s.emb)
	}
	s.prepare([]byte("not an image"), nil)
	if s.prepPhoto != nil {
		t.Fatal("a bad photo was prepared")
	}
	s.prepare(photo, nil)
	if s.prepPhoto == nil {
		t.Fatal("prepare did not run the model")
	}
	// Without the projection the engine does not open.
	loadKinds(t, s, f, "vectors", "index", "catalog")
	if _, err := s.ready(); err == nil || !strings.Contains(err.Error(), "projection") {
		t.Fatalf("ready without the projection: %v", err)
	}
	loadKinds(t, s, f, "projection")
	if s.emb.Projection() == nil {
		t.Fatal("the projection was not installed")
	}
	got, err := s.search(photo, nil, 10, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.prepPhoto != nil {
		t.Error("the prepared photo was kept after its search")
	}
	if !reflect.DeepEqual(got.Results, want.Results) || len(got.Results) == 0 {
		t.Errorf("prepared search: %v\nwant %v", got.Results, want.Results)
	}
	if !reflect.DeepEqual(got.Query["vector"], want.Query["vector"]) {
		t.Errorf("prepared vector %v, want %v", got.Query["vector"], want.Query["vector"])
	}

	// Another photo than the prepared one is embedded at search time.
	s2 := newSession()
	loadKinds(t, s2, f, "manifest", "model")
	other := testPhoto(t)
	other[len(other)-20] ^= 1 // a different file (CRC aside, png decodes by chunks)
	s2.prepare(photo, nil)
	loadKinds(t, s2, f, "projection", "vectors", "index", "catalog")
	crop := &rect{X: 0, Y: 0, W: 40, H: 60}
	got2, err := s2.search(photo, crop, 10, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want2, err := ref.search(photo, crop, 10, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got2.Results, want2.Results) {
		t.Errorf("a cropped search after preparing the whole photo: %v\nwant %v", got2.Results, want2.Results)
	}
}
