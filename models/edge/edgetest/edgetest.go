// Package edgetest builds synthetic staged catalogues for the tests of
// models/edge and of the edge worker's API (wasm/worker/api): a fixture
// shared by both, native only.
package edgetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/edge"
	"github.com/lookalike/lookalike/models/vecfile"
)

// Store is an edge.Store over a map that counts reads. Safe for
// concurrent use.
type Store struct {
	mu    sync.Mutex
	Files map[string][]byte
	gets  int
}

// Get returns a copy of the named file, or an error wrapping
// edge.ErrNotFound.
func (s *Store) Get(_ context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	b, ok := s.Files[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", edge.ErrNotFound, name)
	}
	return bytes.Clone(b), nil
}

// Gets returns the number of Get calls so far and resets the count.
func (s *Store) Gets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.gets
	s.gets = 0
	return n
}

// Copy returns a Store with the same files (a fresh map).
func (s *Store) Copy() *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Store{Files: make(map[string][]byte, len(s.Files))}
	for k, v := range s.Files {
		c.Files[k] = v
	}
	return c
}

// Build is a synthetic build, staged: n items in three sections, odd ids
// (an escaped slash, non-ASCII, quotes), and neighbour lists that differ
// per item so that a wrong offset shows.
type Build struct {
	Manifest []byte             // manifest.json
	Disp     *catalog.Display   // the display metadata
	NB       *vecfile.Neighbors // the neighbour lists (global ones if asked)
	Store    *Store             // the staged files
	IDs      []string           // product ids by item index
	Assets   map[string][]byte  // the build's asset files
}

// New builds and stages n items with k neighbours per list; global adds
// the global lists next to the same-section ones.
func New(t testing.TB, n, k int, global bool) *Build {
	t.Helper()
	sections := []string{"Apparel", "Footwear", "Accessories"}
	items := make([]catalog.Item, n)
	ids := make([]string, n)
	for i := range items {
		id := fmt.Sprintf("p%d", i)
		switch i % 97 {
		case 5:
			id = fmt.Sprintf("a/b %d", i) // escaped slash and space in a URL
		case 6:
			id = fmt.Sprintf("ünï-%d", i)
		case 8:
			id = fmt.Sprintf(`q"\\%d`, i) // a quote and a backslash
		}
		ids[i] = id
		title := fmt.Sprintf("Item %d", i)
		if i%97 == 9 { // must not confuse the thumbnail rewrite
			title = `evil "thumb":"http://x" \`
		}
		items[i] = catalog.Item{ID: id, Title: title, Price: fmt.Sprint(10 + i),
			Attrs: map[string]string{"masterCategory": sections[i%3], "baseColour": []string{"Red", "Blue"}[i%2]}}
	}
	header := []string{"id", "image", "title", "price", "masterCategory", "baseColour"}
	thumbs := make([]string, n)
	for i := range thumbs {
		thumbs[i] = fmt.Sprintf("thumbs-%012x.jpg#xywh=%d,0,60,80", i/50, (i%50)*60)
	}
	db, err := catalog.BuildDisplay(items, header, catalog.DisplayOptions{Section: "masterCategory", Attributes: []string{"baseColour"}, Thumbs: thumbs})
	if err != nil {
		t.Fatal(err)
	}
	nl := vecfile.NeighborLists{K: k, Section: make([][]vecfile.Neighbor, n)}
	if global {
		nl.Global = make([][]vecfile.Neighbor, n)
	}
	for i := 0; i < n; i++ {
		for j := 1; j <= k; j++ {
			// Same section: i+3j; item 7 has a short list (padding).
			if i != 7 || j <= 2 {
				nl.Section[i] = append(nl.Section[i], vecfile.Neighbor{Item: uint32((i + 3*j) % n), Score: 1 - float32(j)/100})
			}
			if global {
				nl.Global[i] = append(nl.Global[i], vecfile.Neighbor{Item: uint32((i + j*7) % n), Score: 0.9 - float32(j)/200})
			}
		}
	}
	var nbuf bytes.Buffer
	if err := vecfile.WriteNeighbors(&nbuf, nl); err != nil {
		t.Fatal(err)
	}
	mb, files, staged := Stage(t, n, db, nbuf.Bytes())
	disp, err := catalog.ParseDisplay(db)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := vecfile.ParseNeighbors(nbuf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return &Build{Manifest: mb, Disp: disp, NB: nb, Store: &Store{Files: staged}, IDs: ids, Assets: files}
}

// Stage publishes a display file and a neighbours file of n items as a
// build would (content-named assets and a manifest) and stages them for
// the edge (models/edge.Stage). It returns the manifest, the asset files
// by name and the staged files.
func Stage(t testing.TB, n int, display, neighbors []byte) (manifest []byte, files, staged map[string][]byte) {
	t.Helper()
	files = map[string][]byte{}
	m := catalog.Manifest{FormatVersion: catalog.ManifestVersion, BuilderVersion: "test", ItemCount: n,
		Model: catalog.ModelInfo{File: "model-000000000000.onnx", SHA256: catalog.SHA256Hex(nil)}}
	for _, a := range []struct {
		kind, ext string
		data      []byte
	}{{"catalog", "json", display}, {"neighbors", "bin", neighbors}} {
		asset, fs := catalog.NewAsset(a.kind, a.ext, a.data, 0)
		m.Assets = append(m.Assets, asset)
		for name, b := range fs {
			files[name] = b
		}
	}
	manifest, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	staged, err = edge.Stage(manifest, func(a catalog.Asset) ([]byte, error) {
		b, ok := files[a.File]
		if !ok {
			return nil, fmt.Errorf("no %s", a.File)
		}
		return b, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return manifest, files, staged
}
