//go:build !js

package evaluate

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/builder/internal/buildtest"
	"github.com/lookalike/lookalike/models/cf"
	"github.com/lookalike/lookalike/models/search"
)

func TestBlendEvalReadSimulated(t *testing.T) {
	log := strings.Join([]string{
		"user,item,event,timestamp,pref_articleType,pref_baseColour,source",
		"sim-1,a,view,1000,Shirts,Blue,pair",
		"sim-1,gone,view,1010,Shirts,Blue,noise",
		"sim-1,b,view,1100,Shirts,Blue,pair",
		"sim-1,b,cart,1130,Shirts,Blue,pair",
		"sim-1,a,view,1200,Shirts,Blue,pair",
		"sim-2,c,view,5000,Shoes,Red,pair",
	}, "\n") + "\n"
	index := map[string]int{"a": 0, "b": 1, "c": 2}
	shoppers, unknown, err := readSimulated([]byte(log), func(id string) (int, bool) { i, ok := index[id]; return i, ok })
	if err != nil {
		t.Fatal(err)
	}
	if len(shoppers) != 2 || unknown != 1 {
		t.Fatalf("%d shoppers, %d unknown rows", len(shoppers), unknown)
	}
	s := shoppers[0]
	if s.prefType != "Shirts" || s.prefColour != "Blue" || len(s.history) != 2 {
		t.Fatalf("shopper %+v", s)
	}
	// Ages count back from a minute after the last event (1200): a was
	// last viewed at 1200, b at 1100, carted (liked) at 1130.
	want := search.Personal{
		Likes: []search.Signal{{ID: "b", AgeSeconds: 130}},
		Views: []search.Signal{{ID: "a", AgeSeconds: 60}, {ID: "b", AgeSeconds: 160}},
	}
	gotJSON, _ := json.Marshal(s.personal)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("personal %s, want %s", gotJSON, wantJSON)
	}
	if _, _, err := readSimulated([]byte("user,item\nu,a\n"), nil); err == nil {
		t.Fatal("a log without the preference columns: want an error")
	}
	ev := &blendEvaluator{c: blendEvalConfig{K: 4}, products: []cf.Product{{ID: "a", ArticleType: "Shirts", Colour: "Blue"}, {ID: "b", ArticleType: "Shirts", Colour: "Red"}, {ID: "c", ArticleType: "Shoes", Colour: "Blue"}}}
	if pair, typ := ev.precision([]int{0, 1, 2}, "Shirts", "Blue"); pair != 0.25 || typ != 0.5 {
		t.Fatalf("precision = %v, %v; want 0.25, 0.5 (k = 4, a short list counts its empty slots as misses)", pair, typ)
	}
	if o := overlap([]int{0, 1, 2}, []int{2, 0, 5}); o != 2 {
		t.Fatalf("overlap %v, want 2", o)
	}
	if got := withZero([]float64{1, 0.5, 1}); len(got) != 3 || got[0] != 0 || got[1] != 0.5 || got[2] != 1 {
		t.Fatalf("withZero: %v", got)
	}
}

func TestBlendEvalTinyFixture(t *testing.T) {
	// 120 products: 4 types × 3 colours, 10 of each pair (buildtest.Row).
	f := buildtest.NewFixture(t, 120)
	out := filepath.Join(t.TempDir(), "site")
	if err := buildQuiet([]string{"--catalog", f.Catalog(), "--out", out, "--model", buildtest.TinyModel(t), "--cache", t.TempDir(), "--workers", "2"}); err != nil {
		t.Fatalf("build: %v", err)
	}
	c := blendEvalConfig{Assets: out, Users: 200, Seed: 3, K: 5, TypeColumn: "articleType", ColourColumn: "baseColour",
		GridCF: []float64{1, 0.5}, GridPersonal: []float64{0.5}, MaxLoss: 1, MinKept: 0, MinKeptPers: 0, HalfLifeHours: 168, Workers: 2}
	var warn bytes.Buffer
	rep, err := blendEvaluate(c, &warn)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Shoppers != [3]int{120, 40, 40} || rep.Items != 120 || rep.ItemsWithCF == 0 || !rep.Simulated {
		t.Fatalf("report header %+v", rep)
	}
	// The grid gains the 0 axes: {0, 0.5, 1} × {0, 0.5}.
	if len(rep.Validation) != 6 || rep.Validation[0].WCF != 0 || rep.Validation[0].WPersonal != 0 {
		t.Fatalf("validation grid %+v", rep.Validation)
	}
	if len(rep.Test) != 4 || rep.Test[0].Method != "visual only" {
		t.Fatalf("test rows %+v", rep.Test)
	}
	for _, p := range append(append([]blendPoint(nil), rep.Validation...), rep.Test...) {
		m := p.Metrics
		for _, x := range []float64{m.PairAtK, m.TypeAtK, m.OtherPairAtK, m.FidelityAtK, m.PhotoPairAtK, m.KeptAtK, m.SimilarPairAtK} {
			if x < 0 || x > 1 || math.IsNaN(x) {
				t.Fatalf("%+v: metric out of 0..1", p)
			}
		}
		if m.TypeQueries == 0 || m.OtherQueries == 0 {
			t.Fatalf("%+v: no queries", p)
		}
	}
	visual, cfRow := rep.Test[0].Metrics, rep.Test[1].Metrics
	if visual.KeptAtK != 1 {
		t.Fatalf("visual ranking keeps %v of itself", visual.KeptAtK)
	}
	// The tiny model's photos are random with respect to type and colour,
	// so CF (planted structure) must beat looks by a wide margin.
	if rep.Test[1].WCF == 0 || cfRow.PairAtK < visual.PairAtK+0.1 {
		t.Fatalf("cf pair@5 %v (w_cf %v) vs visual %v", cfRow.PairAtK, rep.Test[1].WCF, visual.PairAtK)
	}
	// Without guards the choice is the best validation point.
	var best blendPoint
	for _, g := range rep.Validation {
		if g.WPersonal == rep.ChosenWPers && g.Metrics.PairAtK > best.Metrics.PairAtK {
			best = g
		}
	}
	if best.WCF != rep.ChosenWCF {
		t.Fatalf("chose w_cf %v, best validation %+v", rep.ChosenWCF, best)
	}
	var txt bytes.Buffer
	printBlendReport(&txt, rep)
	for _, want := range []string{"SIMULATED", "visual only", "+ cf + personal", "chosen:"} {
		if !strings.Contains(txt.String(), want) {
			t.Fatalf("report lacks %q:\n%s", want, txt.String())
		}
	}
	// Fixed weights skip the sweep; the same seed gives the same figures.
	c.Weights = []float64{rep.ChosenWCF, rep.ChosenWPers}
	again, err := blendEvaluate(c, &warn)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Validation) != 0 || again.Test[3].Metrics != rep.Test[3].Metrics {
		t.Fatalf("--weights: %+v vs %+v", again.Test[3], rep.Test[3])
	}
	// Refusals.
	for _, args := range [][]string{
		{},
		{"--assets", out, "--interactions", filepath.Join(t.TempDir(), "real-log.csv")},
		{"--assets", out, "--weights", "1"},
		{"--assets", out, "--k", "0"},
		{"--assets", out, "--min-kept", "2"},
	} {
		if err := runBlendEval(args); err == nil {
			t.Errorf("blend-eval %q: want an error", args)
		}
	}
}
