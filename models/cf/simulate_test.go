package cf

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/internal/testenv"
)

func toyCatalogue() []Product {
	var ps []Product
	types, colours := []string{"Tshirts", "Shoes", "Watches"}, []string{"Black", "Blue", "Red", "White"}
	for i := 0; i < 240; i++ {
		ps = append(ps, Product{fmt.Sprint(1000 + i), types[i%3], colours[(i/3)%4]})
	}
	return ps
}

func TestSimulateBehaviourModel(t *testing.T) {
	ps := toyCatalogue()
	opt := DefaultSimOptions()
	opt.Users = 400
	var a, b bytes.Buffer
	st, err := Simulate(&a, ps, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Simulate(&b, ps, opt); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("same seed gave different output (%v)", err)
	}
	opt2 := opt
	opt2.Seed++
	var c bytes.Buffer
	if _, err := Simulate(&c, ps, opt2); err != nil || bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatalf("a different seed gave the same output (%v)", err)
	}
	if st.Users != 400 || st.Pairs != 12 {
		t.Errorf("stats %+v, want 400 users, 12 pairs", st)
	}
	// The output is a valid interactions log.
	l, errs, err := ReadLog(bytes.NewReader(a.Bytes()), ReadOptions{})
	if err != nil || len(errs) > 0 || len(l.Rows) != st.Rows || !l.HasTime || len(l.Users) != 400 {
		t.Fatalf("ReadLog: %v %v rows %d/%d", err, errs, len(l.Rows), st.Rows)
	}
	byID := map[string]Product{}
	for _, p := range ps {
		byID[p.ID] = p
	}
	recs, _ := csv.NewReader(bytes.NewReader(a.Bytes())).ReadAll()
	views, match, typeMatch := 0, 0, 0
	for _, r := range recs[1:] {
		p, ok := byID[r[1]]
		if !ok {
			t.Fatalf("unknown product %q", r[1])
		}
		if r[2] != "view" {
			if p.ArticleType != r[4] || p.Colour != r[5] {
				t.Fatalf("%s of a non-preferred product: %v", r[2], r)
			}
			continue
		}
		views++
		if p.ArticleType == r[4] && p.Colour == r[5] {
			match++
		}
		if p.ArticleType == r[4] {
			typeMatch++
		}
	}
	// Expected shares, with the noise pools hitting the pair by chance:
	// pair ≥ PPair, type ≥ PPair+PType.
	if f := float64(match) / float64(views); f < opt.PPair-0.03 || f > opt.PPair+0.15 {
		t.Errorf("%.3f of views match the preferred pair, want ≈ %.2f", f, opt.PPair)
	}
	if f := float64(typeMatch) / float64(views); f < opt.PPair+opt.PType-0.03 {
		t.Errorf("%.3f of views match the preferred type, want ≥ %.2f", f, opt.PPair+opt.PType)
	}
	// Preferences follow the item data, so CF trained on the log must put a
	// product's pair-mates first more often than chance (1/12).
	m, err := Build(l, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	same, all := 0, 0
	for i, row := range m.Neighbors {
		p := byID[m.Items[i]]
		for _, nb := range row[:min(5, len(row))] {
			q := byID[m.Items[nb.Item]]
			all++
			if q.ArticleType == p.ArticleType && q.Colour == p.Colour {
				same++
			}
		}
	}
	if f := float64(same) / float64(all); f < 0.3 || math.IsNaN(f) {
		t.Errorf("CF top-5 share the pair %.3f of the time, want well above 1/12", f)
	}
}

func TestSimulateRejects(t *testing.T) {
	ps := toyCatalogue()
	for _, mod := range []func(*SimOptions){
		func(o *SimOptions) { o.Users = 0 },
		func(o *SimOptions) { o.ViewsMax = 1 },
		func(o *SimOptions) { o.PPair = 0.9 },
		func(o *SimOptions) { o.MinPairProducts = 1000 },
	} {
		o := DefaultSimOptions()
		mod(&o)
		if _, err := Simulate(&bytes.Buffer{}, ps, o); err == nil {
			t.Errorf("Simulate(%+v) accepted", o)
		}
	}
}

func TestReadProducts(t *testing.T) {
	ps, err := ReadProducts(strings.NewReader("id,title,articleType,baseColour\n1,A,Shirts,Blue\n,skip,x,y\n2,B,Shoes,Black\n"))
	if err != nil || len(ps) != 2 || ps[1] != (Product{"2", "Shoes", "Black"}) {
		t.Errorf("ReadProducts = %v, %v", ps, err)
	}
	if _, err := ReadProducts(strings.NewReader("id,title,baseColour\n1,A,Blue\n")); err == nil || !strings.Contains(err.Error(), "articletype") {
		t.Errorf("missing column: %v", err)
	}
}

// sharedDir is ../shared next to the repository (or $LOOKALIKE_SHARED).
func sharedDir(t *testing.T) string { return testenv.SharedDir(t) }

func TestSimulateRealCatalogue(t *testing.T) {
	f, err := os.Open(filepath.Join(sharedDir(t), "fashion", "catalog.csv"))
	if err != nil {
		t.Skipf("shared catalogue not available: %v", err)
	}
	defer f.Close()
	ps, err := ReadProducts(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < 40000 {
		t.Fatalf("%d products, want the whole catalogue", len(ps))
	}
	opt := DefaultSimOptions()
	opt.Users = 50
	var b bytes.Buffer
	st, err := Simulate(&b, ps, opt)
	if err != nil || st.Rows < 50*opt.ViewsMin || st.Pairs < 100 {
		t.Fatalf("Simulate: %+v %v", st, err)
	}
}
