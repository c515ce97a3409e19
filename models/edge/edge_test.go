package edge_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/edge"
	"github.com/lookalike/lookalike/models/edge/edgetest"
)

func TestStageErrors(t *testing.T) {
	f := edgetest.New(t, 50, 4, true)
	m, err := catalog.ReadManifest(f.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	read := func(a catalog.Asset) ([]byte, error) { return nil, fmt.Errorf("unreadable") }
	if _, err := edge.Stage(f.Manifest, read); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Errorf("unreadable asset: %v", err)
	}
	readOK := func(a catalog.Asset) ([]byte, error) { return f.Assets[a.File], nil }
	m.Assets = m.Assets[:1] // no neighbours
	mb, _ := m.Marshal()
	if _, err := edge.Stage(mb, readOK); err == nil || !strings.Contains(err.Error(), "neighbors") {
		t.Errorf("manifest without neighbours: %v", err)
	}
	// Neighbours of another build (60 items for a 50-item catalogue).
	other := edgetest.New(t, 60, 4, true)
	m2, _ := catalog.ReadManifest(f.Manifest)
	o2, _ := catalog.ReadManifest(other.Manifest)
	m2.Assets[1] = o2.Assets[1]
	mb, _ = m2.Marshal()
	mixed := func(a catalog.Asset) ([]byte, error) {
		if b, ok := f.Assets[a.File]; ok {
			return b, nil
		}
		return other.Assets[a.File], nil
	}
	if _, err := edge.Stage(mb, mixed); err == nil || !strings.Contains(err.Error(), "different builds") {
		t.Errorf("mixed builds: %v", err)
	}
	if _, err := edge.Stage([]byte("{}"), read); err == nil {
		t.Error("bad manifest: no error")
	}
}

func TestParseMeta(t *testing.T) {
	f := edgetest.New(t, 20, 4, true)
	good := f.Store.Files[edge.MetaName]
	if _, err := edge.ParseMeta(good); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*edge.Meta){
		"format":  func(m *edge.Meta) { m.Format = "x" },
		"version": func(m *edge.Meta) { m.Version = 2 },
		"k":       func(m *edge.Meta) { m.K = 0 },
		"lists":   func(m *edge.Meta) { m.Lists = 3 },
		"shards":  func(m *edge.Meta) { m.IDShards = 0 },
		"cards":   func(m *edge.Meta) { m.CardShardSize = 0 },
		"count":   func(m *edge.Meta) { m.ItemCount = -1 },
	} {
		var m edge.Meta
		json.Unmarshal(good, &m)
		mut(&m)
		b, _ := json.Marshal(m)
		if _, err := edge.ParseMeta(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzShards feeds arbitrary bytes to the shard readers: errors, never
// panics.
func FuzzShards(f *testing.F) {
	fx := edgetest.New(f, 300, 8, true)
	f.Add(fx.Store.Files["nb-0.bin"], fx.Store.Files["cards-0.jsonl"], 3)
	f.Add([]byte("LKNB"), []byte("{}\n{"), 1)
	meta, err := edge.ParseMeta(fx.Store.Files[edge.MetaName])
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, nb, cards []byte, i int) {
		edge.NeighborsAt(nb, meta, i, 0, 1)
		edge.NeighborsAt(nb, meta, i, 0, 0)
		edge.CardAt(cards, i)
		edge.FindID(cards, string(nb), 10)
		edge.ParseMeta(cards)
	})
}

// FuzzJSONString: the hand-written JSON string encoder round-trips through
// encoding/json (invalid UTF-8 becomes U+FFFD, as ranging over it does).
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"\`, "\x00\x1f\u2028\u2029", "\xff\xfe", "ünï 😀", "</script>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := edge.AppendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, b, err)
		}
		var want []rune
		for _, r := range s {
			want = append(want, r)
		}
		if got != string(want) {
			t.Fatalf("%q → %s → %q", s, b, got)
		}
	})
}
