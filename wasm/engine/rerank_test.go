package main

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/pq"
	"github.com/lookalike/lookalike/models/vecfile"
)

// withCodes adds coarse product-quantisation codes of the fixture's
// vectors to its manifest (the page then skips the index and, until its
// first results, the vector file).
func withCodes(t *testing.T, f *fixture) {
	t.Helper()
	m, err := catalog.ReadManifest(f.files["manifest"])
	if err != nil {
		t.Fatal(err)
	}
	cb, err := pq.Train(f.vecs, f.dim, pq.TrainOptions{M: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := pq.Write(cb, cb.Encode(f.vecs))
	a, _ := catalog.NewAsset("codes", "bin", b, catalog.MaxAssetSize)
	m.Assets = append(m.Assets, a)
	f.files["codes"] = b
	if f.files["manifest"], err = m.Marshal(); err != nil {
		t.Fatal(err)
	}
}

// The vector file loaded after the engine opened (asset-plan.js LATER) is
// attached without reopening, and from then on the answers are those of
// an engine that had it from the start: the codes' shortlist re-scored.
// codesSessions is a fixture with codes and two sessions over it: ref
// loaded with the vector file, s without it (as the page before its first
// results); neither is ready yet.
func codesSessions(t *testing.T) (f *fixture, ref, s *session) {
	t.Helper()
	f = newFixture(t, 400, 16, false, false)
	withCodes(t, f)
	ref = newSession()
	loadKinds(t, ref, f, "manifest", "codes", "vectors", "catalog")
	s = newSession()
	loadKinds(t, s, f, "manifest", "codes", "catalog")
	return f, ref, s
}

// ready readies each session.
func ready(t *testing.T, sessions ...*session) {
	t.Helper()
	for _, s := range sessions {
		if _, err := s.ready(); err != nil {
			t.Fatal(err)
		}
	}
}

// similarAnswers is "more like this" for the first 40 products.
func similarAnswers(t *testing.T, s *session) [][]result {
	t.Helper()
	var out [][]result
	for i := 0; i < 40; i++ {
		a, err := s.similar(fmt.Sprintf("p%d", i), 10, "", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a.Results)
	}
	return out
}

func TestVectorsAfterReady(t *testing.T) {
	f, ref, s := codesSessions(t)
	ready(t, s, ref)
	before, want := similarAnswers(t, s), similarAnswers(t, ref)
	eng := s.eng
	loadKinds(t, s, f, "vectors")
	if s.eng != eng || s.eng.Vectors == nil {
		t.Fatalf("the vector file reopened the engine (%v) or was not attached (%v)", s.eng != eng, s.eng.Vectors != nil)
	}
	after := similarAnswers(t, s)
	if !reflect.DeepEqual(after, want) {
		t.Error("answers after attaching the vector file differ from an engine opened with it")
	}
	if reflect.DeepEqual(before, want) {
		t.Error("the codes alone answered exactly as the re-rank: the fixture does not test it")
	}
}

// The vector file kept on disk (engine-worker.js at a million products) is
// attached after ready through a record reader, and from then on the
// answers are those of an engine with the file in memory; before ready it
// is refused.
func TestStoredVectorsAfterReady(t *testing.T) {
	f, ref, s := codesSessions(t)
	r := vecfile.ReaderAtRecords{R: bytes.NewReader(f.files["vectors"])}
	if err := s.attachStored(f.files["vectors"][:vecfile.HeaderSize], r); err == nil {
		t.Fatal("a stored vector file was attached before ready")
	}
	ready(t, s, ref)
	if err := s.attachStored(f.files["vectors"][:vecfile.HeaderSize], r); err != nil {
		t.Fatal(err)
	}
	if s.eng.Stored == nil || s.eng.Vectors != nil {
		t.Fatal("the stored file was not attached as stored")
	}
	got, want := similarAnswers(t, s), similarAnswers(t, ref)
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("p%d: stored %v, in memory %v", i, got[i], want[i])
		}
	}
}
