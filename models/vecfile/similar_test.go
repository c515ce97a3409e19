package vecfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/similar-rule.json from the rule")

// similarFixture is testdata/similar-rule.json: a tiny catalogue's sections
// and stored lists, queries, and the rule's answers for a caller holding
// only the lists (the edge API, the embed carousel). The JS side can check
// itself against the same file.
type similarFixture struct {
	Doc      string          `json:"doc"`
	Sections []string        `json:"sections"` // item i's section
	Section  [][]uint32      `json:"section"`  // stored section lists (items, best first; 4294967295 = empty slot)
	Global   [][]uint32      `json:"global"`   // stored global lists, or null
	Queries  []similarAnswer `json:"queries"`
}

type similarAnswer struct {
	Item       int      `json:"item"`
	Section    string   `json:"section"`
	K          int      `json:"k"`
	Lists      int      `json:"lists"` // lists stored per item: 1 = section only, 2 = also global
	List       string   `json:"list"`  // the edge API's "list"
	Results    []uint32 `json:"results"`
	CanBeShort bool     `json:"can_be_short"`
}

func (f *similarFixture) answer(q similarAnswer) (similarAnswer, error) {
	c := ChooseSimilar(q.Lists, f.Sections[q.Item], q.Section)
	var list []Neighbor
	stored := f.Section
	if c.List == GlobalList {
		stored = f.Global
	}
	if c.List != NoList {
		for _, it := range stored[q.Item] {
			list = append(list, Neighbor{Item: it, Score: 0.5})
		}
	}
	got, err := c.Take(list, q.Item, q.K, func(j int) (string, error) {
		if j >= len(f.Sections) {
			return "", fmt.Errorf("no item %d", j)
		}
		return f.Sections[j], nil
	})
	if err != nil {
		return q, err
	}
	q.List, q.CanBeShort, q.Results = c.Name, c.CanBeShort(), []uint32{}
	for _, nb := range got {
		q.Results = append(q.Results, nb.Item)
	}
	return q, nil
}

func TestSimilarRule(t *testing.T) {
	const none = NoItem
	f := similarFixture{
		Doc: "The rule for \"more like this\" from precomputed lists (models/vecfile/similar.go). " +
			"Regenerate: go test ./models/vecfile -run TestSimilarRule -update",
		//           0    1    2    3    4    5    6    7
		Sections: []string{"A", "A", "A", "B", "B", "C", "A", "B"},
		Section: [][]uint32{
			{1, 2, 6, none}, {0, 6, 2, none}, {6, 0, 1, none}, {4, 7, none, none},
			{3, 7, none, none}, {none, none, none, none}, {2, 1, 0, none}, {7, 3, 4, none},
		},
		Global: [][]uint32{
			{3, 1, 5, 2}, {0, 6, 4, 2}, {6, 0, 3, 1}, {4, 0, 7, 5},
			{3, 2, 7, 6}, {0, 3, 4, 1}, {2, 6, 5, 1}, {3, 4, 1, 2},
		},
	}
	// Hand-worked answers: the table is the rule's specification.
	for _, tc := range []struct {
		q    similarAnswer
		want similarAnswer
	}{
		{similarAnswer{Item: 0, K: 3, Lists: 2}, similarAnswer{List: "global", Results: []uint32{3, 1, 5}}},
		{similarAnswer{Item: 0, K: 3, Lists: 1}, similarAnswer{List: "section", Results: []uint32{1, 2, 6}}},
		{similarAnswer{Item: 0, Section: "A", K: 2, Lists: 2}, similarAnswer{List: "section", Results: []uint32{1, 2}}},
		{similarAnswer{Item: 0, Section: "B", K: 3, Lists: 2}, similarAnswer{List: "global, filtered by section", Results: []uint32{3}, CanBeShort: true}},
		{similarAnswer{Item: 0, Section: "B", K: 3, Lists: 1}, similarAnswer{List: "section", Results: []uint32{}, CanBeShort: true}},
		{similarAnswer{Item: 5, Section: "C", K: 4, Lists: 2}, similarAnswer{List: "section", Results: []uint32{}}},
		{similarAnswer{Item: 5, Section: "A", K: 4, Lists: 2}, similarAnswer{List: "global, filtered by section", Results: []uint32{0, 1}, CanBeShort: true}},
		{similarAnswer{Item: 3, K: 10, Lists: 2}, similarAnswer{List: "global", Results: []uint32{4, 0, 7, 5}}},
		{similarAnswer{Item: 2, Section: "B", K: 1, Lists: 2}, similarAnswer{List: "global, filtered by section", Results: []uint32{3}, CanBeShort: true}},
		// Never the product itself, wherever a list names it.
		{similarAnswer{Item: 4, Section: "B", K: 4, Lists: 2}, similarAnswer{List: "section", Results: []uint32{3, 7}}},
		{similarAnswer{Item: 7, Section: "B", K: 4, Lists: 2}, similarAnswer{List: "section", Results: []uint32{3, 4}}},
		{similarAnswer{Item: 6, K: 3, Lists: 2}, similarAnswer{List: "global", Results: []uint32{2, 5, 1}}},
		{similarAnswer{Item: 1, Section: "B", K: 4, Lists: 2}, similarAnswer{List: "global, filtered by section", Results: []uint32{4}, CanBeShort: true}},
	} {
		got, err := f.answer(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		w := tc.q
		w.List, w.Results, w.CanBeShort = tc.want.List, tc.want.Results, tc.want.CanBeShort
		if got.List != w.List || !slices.Equal(got.Results, w.Results) || got.CanBeShort != w.CanBeShort {
			t.Errorf("item %d section %q k %d lists %d: got %s %v short=%v, want %s %v short=%v",
				tc.q.Item, tc.q.Section, tc.q.K, tc.q.Lists, got.List, got.Results, got.CanBeShort, w.List, w.Results, w.CanBeShort)
		}
		f.Queries = append(f.Queries, got)
	}

	// The golden file holds the same fixture and answers.
	want, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	path := filepath.Join("testdata", "similar-rule.json")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestSimilarRule -update writes it)", err)
	}
	if !bytes.Equal(have, want) {
		t.Errorf("%s is not the rule's answer: regenerate with go test ./models/vecfile -run TestSimilarRule -update", path)
	}
	// And every answer in it follows from its own inputs.
	var g similarFixture
	if err := json.Unmarshal(have, &g); err != nil {
		t.Fatal(err)
	}
	for _, q := range g.Queries {
		a, err := g.answer(q)
		if err != nil || a.List != q.List || !slices.Equal(a.Results, q.Results) || a.CanBeShort != q.CanBeShort {
			t.Errorf("golden query %+v: the rule answers %+v (%v)", q, a, err)
		}
	}
}

func TestSimilarTakeErrors(t *testing.T) {
	c := ChooseSimilar(2, "A", "B")
	boom := errors.New("no card")
	if _, err := c.Take([]Neighbor{{Item: 1}}, 0, 3, func(int) (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Errorf("Take: %v, want the section lookup's error", err)
	}
	// Without a section filter the lookup is never called.
	if got, err := ChooseSimilar(2, "A", "").Take([]Neighbor{{Item: 1}, {Item: NoItem}, {Item: 2}}, 0, 5, nil); err != nil || len(got) != 2 {
		t.Errorf("unfiltered Take: %v, %v", got, err)
	}
}
