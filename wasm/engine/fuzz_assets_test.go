package main

import (
	"strings"
	"testing"
)

// FuzzSessionAssets hands the engine a good build with one file replaced
// by arbitrary bytes, as a hostile or broken build whose hashes match
// would (the worker checks sha256; Go gets the verified bytes): the
// manifest, the index, the vectors, the neighbours or the catalog. Loading
// must fail with an error, or give an engine whose answers hold only
// products of the catalogue.
func FuzzSessionAssets(f *testing.F) {
	fx := newFixture(f, 24, 6, true, true)
	kinds := []string{"manifest", "index", "vectors", "neighbors", "catalog"}
	for i, k := range kinds {
		f.Add(uint8(i), fx.files[k])
		if b := fx.files[k]; len(b) > 40 {
			f.Add(uint8(i), b[:len(b)/2])
		}
	}
	f.Add(uint8(0), []byte(strings.Replace(string(fx.files["manifest"]), `"dim": 6`, `"dim": 2147483648`, 1)))
	f.Add(uint8(4), []byte(`{"format":"lookalike-catalog","version":1,"count":24,"id":[],"url":["javascript:alert(3)"]}`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		s := newSession()
		for i, k := range kinds {
			b := fx.files[k]
			if int(which)%len(kinds) == i {
				b = data
			}
			if err := s.load(k, b); err != nil {
				return
			}
		}
		if _, err := s.ready(); err != nil {
			return
		}
		for _, id := range []string{"p0", "p7", "nope"} {
			for _, sec := range []string{"", "Shoes"} {
				a, err := s.similar(id, 5, sec, nil, nil)
				if err != nil {
					continue
				}
				for _, r := range a.Results {
					if _, ok := s.eng.Display.IndexOf(r.ID); !ok {
						t.Fatalf("similar(%s) answered %q, not in the catalogue", id, r.ID)
					}
					if strings.Contains(strings.ToLower(r.URL), "javascript:") {
						t.Fatalf("unsafe url %q in an answer", r.URL)
					}
				}
			}
		}
	})
}
