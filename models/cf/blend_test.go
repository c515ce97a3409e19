package cf

import (
	"reflect"
	"testing"
)

func TestForCatalog(t *testing.T) {
	l := mustLog(t, campingLog+"u9,ghost,view\nu9,tent,view\n")
	m, err := Build(l, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	// Catalogue order differs from the log's; "stove" has no interactions;
	// "ghost" and "hat"/"scarf" are not in the catalogue.
	cat := []string{"lamp", "stove", "bag", "tent", "mug"}
	rows, rep := m.ForCatalog(cat)
	if rep.UnknownItems != 3 || rep.UnknownRows != 5 {
		t.Errorf("unknown %d items / %d rows, want 3 / 5", rep.UnknownItems, rep.UnknownRows)
	}
	if rep.ColdItems != 1 || rows[1] != nil {
		t.Errorf("cold items %d, stove row %v; want 1 and nil", rep.ColdItems, rows[1])
	}
	var tent []int32
	for _, nb := range rows[3] {
		tent = append(tent, nb.Item)
	}
	if !reflect.DeepEqual(tent, []int32{2, 0, 4}) { // bag, lamp, mug; ghost dropped
		t.Errorf("tent row %v, want catalogue indices [2 0 4]", tent)
	}
}

func nbs(items ...int32) []Neighbor {
	var r []Neighbor
	for i, it := range items {
		r = append(r, Neighbor{it, float32(10-i) / 10})
	}
	return r
}

func items(r []Neighbor) []int32 {
	out := []int32{}
	for _, n := range r {
		out = append(out, n.Item)
	}
	return out
}

func TestFallback(t *testing.T) {
	cf := [][]Neighbor{nbs(3, 1), nil, nbs(0)}
	visual := [][]Neighbor{nbs(0, 1, 2, 4, 5), nbs(1, 4, 0, 3), nbs(2, 1, 0, 3), nbs(4)}
	got := Fallback(cf, visual, 3)
	want := [][]int32{{3, 1, 2}, {4, 0, 3}, {0, 1, 3}, {4}}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(items(got[i]), want[i]) {
			t.Errorf("row %d = %v, want %v", i, items(got[i]), want[i])
		}
	}
	// A cold item keeps the visual scores as given.
	if got[1][0].Score != visual[1][1].Score {
		t.Errorf("cold row score %g, want the visual %g", got[1][0].Score, visual[1][1].Score)
	}
}

func TestBlend(t *testing.T) {
	visual := []Neighbor{{1, 0.9}, {2, 0.8}, {3, 0.7}}
	cf := []Neighbor{{3, 0.5}, {4, 0.4}}
	// 1: 0.9, 2: 0.8, 3: 0.7+0.25=0.95, 4: 0.2
	if got := items(Blend(visual, cf, 0.5, 3)); !reflect.DeepEqual(got, []int32{3, 1, 2}) {
		t.Errorf("Blend w=0.5 = %v, want [3 1 2]", got)
	}
	// w = 0: visual order; no CF: visual order (cold start).
	if got := items(Blend(visual, cf, 0, 4)); !reflect.DeepEqual(got, []int32{1, 2, 3, 4}) {
		t.Errorf("Blend w=0 = %v", got)
	}
	if got := items(Blend(visual, nil, 2, 2)); !reflect.DeepEqual(got, []int32{1, 2}) {
		t.Errorf("Blend cold = %v", got)
	}
}
