package main

import (
	"strings"
	"testing"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/objectness"
)

// withObjectness lists a product finder for the tiny model's 16 channels.
func withObjectness(t *testing.T, f *fixture) *objectness.Map {
	t.Helper()
	o := &objectness.Map{W: make([]float32, 16), B: 0.5, Threshold: 0.7, Margin: 0.25}
	o.W[3] = 1
	b, err := o.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	m, err := catalog.ReadManifest(f.files["manifest"])
	if err != nil {
		t.Fatal(err)
	}
	a, _ := catalog.NewAsset("objectness", "bin", b, catalog.MaxAssetSize)
	m.Assets = append(m.Assets, a)
	f.files["objectness"] = b
	if f.files["manifest"], err = m.Marshal(); err != nil {
		t.Fatal(err)
	}
	return o
}

// The product finder arrives before the model (asset-plan.js STAGES) and
// is installed with it; should it come after, it is installed then and a
// photo prepared without it is dropped; a manifest that lists it opens
// only once it is in.
func TestObjectnessLoading(t *testing.T) {
	f := newFixture(t, 60, 8, false, false)
	withModel(t, f)
	want := withObjectness(t, f)
	photo := testPhoto(t)

	s := newSession()
	loadKinds(t, s, f, "manifest", "objectness", "model")
	if o := s.emb.Objectness(); o == nil || o.Digest() != want.Digest() {
		t.Fatalf("finder before the model: installed %v", o)
	}
	if _, ok := s.files["objectness"]; ok {
		t.Error("the finder's bytes were kept after it was installed")
	}
	loadKinds(t, s, f, "projection", "vectors", "index", "catalog")
	if _, err := s.ready(); err != nil {
		t.Fatal(err)
	}

	late := newSession()
	loadKinds(t, late, f, "manifest", "model", "projection", "vectors", "index", "catalog")
	late.prepare(photo, nil)
	if late.prepPhoto == nil {
		t.Fatal("prepare did not run the model")
	}
	if _, err := late.ready(); err == nil || !strings.Contains(err.Error(), "objectness") {
		t.Fatalf("ready without the finder the manifest lists: %v", err)
	}
	loadKinds(t, late, f, "objectness")
	if late.emb.Objectness() == nil {
		t.Fatal("a finder after the model was not installed")
	}
	if late.prepPhoto != nil {
		t.Error("a photo prepared without the finder was kept")
	}
	if _, err := late.ready(); err != nil {
		t.Fatal(err)
	}

	bad := newSession()
	f.files["objectness"] = []byte("LKOBnonsense-------------")
	loadKinds(t, bad, f, "manifest", "objectness")
	if err := bad.load("model", f.files["model"]); err == nil {
		t.Error("a malformed finder was accepted")
	}
}
