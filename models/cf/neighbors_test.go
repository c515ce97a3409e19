package cf

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustLog(t testing.TB, csv string) *Log {
	t.Helper()
	l, errs, err := ReadLog(strings.NewReader(csv), ReadOptions{})
	if err != nil || len(errs) > 0 {
		t.Fatalf("ReadLog: %v %v", err, errs)
	}
	return l
}

func names(m *Model, nbs []Neighbor) []string {
	var s []string
	for _, nb := range nbs {
		s = append(s, m.Items[nb.Item])
	}
	return s
}

// A log where the answer is clear: shoppers who buy a tent buy a sleeping
// bag (5 of them), some also a lamp (2), and one buys a tent and a mug; the
// scarf is only ever bought with a hat.
const campingLog = `user,item,event
u1,tent,purchase
u1,bag,purchase
u1,lamp,view
u2,tent,view
u2,bag,cart
u2,lamp,view
u3,tent,view
u3,bag,view
u4,tent,purchase
u4,bag,purchase
u5,tent,view
u5,bag,view
u6,tent,view
u6,mug,view
u7,scarf,view
u7,hat,view
u8,scarf,view
u8,hat,view
`

func TestBuildObviousNeighbours(t *testing.T) {
	for _, w := range []Weighting{WeightBM25, WeightTFIDF, WeightNone} {
		t.Run(w.String(), func(t *testing.T) {
			opt := DefaultOptions()
			opt.Weighting = w
			m, err := Build(mustLog(t, campingLog), opt)
			if err != nil {
				t.Fatal(err)
			}
			nb := func(id string) []string { return names(m, m.Neighbors[m.ItemIndex(id)]) }
			if got := nb("tent"); len(got) != 3 || got[0] != "bag" || got[1] != "lamp" || got[2] != "mug" {
				t.Errorf("tent neighbours %v, want [bag lamp mug]", got)
			}
			if got := nb("scarf"); !reflect.DeepEqual(got, []string{"hat"}) {
				t.Errorf("scarf neighbours %v, want [hat]", got)
			}
			for _, n := range nb("hat") {
				if n != "scarf" {
					t.Errorf("hat has neighbour %s from another basket", n)
				}
			}
			for i, row := range m.Neighbors {
				for _, n := range row {
					if n.Score <= 0 || n.Score > 1.0001 || n.Item == int32(i) {
						t.Errorf("item %s neighbour %+v", m.Items[i], n)
					}
				}
			}
			if m.Users[m.ItemIndex("tent")] != 6 || m.Rows[m.ItemIndex("bag")] != 5 {
				t.Errorf("popularity tent %d users, bag %d rows", m.Users[m.ItemIndex("tent")], m.Rows[m.ItemIndex("bag")])
			}
		})
	}
}

// Items p,q are linked only through a heavy user (20 items); x,y only
// through a light one. IDF weighting must trust the light user more; raw
// cosine cannot tell them apart.
func TestHeavyUserDownWeighted(t *testing.T) {
	var b strings.Builder
	b.WriteString("user,item\nheavy,p\nheavy,q\n")
	for i := 0; i < 18; i++ {
		fmt.Fprintf(&b, "heavy,filler%d\n", i)
	}
	b.WriteString("light,x\nlight,y\nu1,p\nu2,q\nu3,x\nu4,y\n")
	l := mustLog(t, b.String())
	sim := func(w Weighting, a, c string) float32 {
		opt := DefaultOptions()
		opt.Weighting, opt.Shrink = w, 0
		m, err := Build(l, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, nb := range m.Neighbors[m.ItemIndex(a)] {
			if m.Items[nb.Item] == c {
				return nb.Score
			}
		}
		t.Fatalf("%s: %s not a neighbour of %s", w, c, a)
		return 0
	}
	for _, w := range []Weighting{WeightBM25, WeightTFIDF} {
		if pq, xy := sim(w, "p", "q"), sim(w, "x", "y"); !(pq < xy) {
			t.Errorf("%s: sim(p,q) = %g via a heavy user, sim(x,y) = %g via a light one; want the first smaller", w, pq, xy)
		}
	}
	if pq, xy := sim(WeightNone, "p", "q"), sim(WeightNone, "x", "y"); math.Abs(float64(pq-xy)) > 1e-6 {
		t.Errorf("raw cosine: %g vs %g, want equal", pq, xy)
	}
}

// A is co-viewed with c a year ago and with b today, by as many users. With
// decay b must come first; without decay the tie goes to the lower index (c).
func TestTimeDecayOrdering(t *testing.T) {
	var s strings.Builder
	s.WriteString("user,item,timestamp\n")
	old, now := 1_670_000_000, 1_700_000_000
	for u := 0; u < 3; u++ {
		fmt.Fprintf(&s, "old%d,c,%d\nold%d,a,%d\n", u, old, u, old)
	}
	for u := 0; u < 3; u++ {
		fmt.Fprintf(&s, "new%d,b,%d\nnew%d,a,%d\n", u, now, u, now)
	}
	l := mustLog(t, s.String())
	for _, tc := range []struct {
		halfLife time.Duration
		want     []string
	}{
		{30 * 24 * time.Hour, []string{"b", "c"}},
		{0, []string{"c", "b"}},
	} {
		opt := DefaultOptions()
		opt.HalfLife = tc.halfLife
		m, err := Build(l, opt)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(m, m.Neighbors[m.ItemIndex("a")]); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("half-life %v: neighbours of a %v, want %v", tc.halfLife, got, tc.want)
		}
	}
}

func TestDecay(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		age  int64
		hl   time.Duration
		want float64
	}{
		{0, day, 1}, {86400, day, 0.5}, {2 * 86400, day, 0.25}, {-5, day, 1}, {86400, 0, 1},
	} {
		if got := Decay(tc.age, tc.hl); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Decay(%d, %v) = %g, want %g", tc.age, tc.hl, got, tc.want)
		}
	}
}

func TestBuildDeterministic(t *testing.T) {
	var s strings.Builder
	s.WriteString("user,item\n")
	for u := 0; u < 300; u++ {
		for k := 0; k < 1+u%7; k++ {
			fmt.Fprintf(&s, "u%d,i%d\n", u, (u*7+k*13)%97)
		}
	}
	l := mustLog(t, s.String())
	var first *Model
	for _, workers := range []int{1, 2, 5} {
		opt := DefaultOptions()
		opt.Workers, opt.K = workers, 5
		m, err := Build(l, opt)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = m
			continue
		}
		if !reflect.DeepEqual(first.Neighbors, m.Neighbors) {
			t.Fatalf("workers=%d changed the neighbours", workers)
		}
	}
	for i, row := range first.Neighbors {
		if len(row) > 5 {
			t.Errorf("item %d has %d neighbours, K=5", i, len(row))
		}
		for j := 1; j < len(row); j++ {
			if less(row[j], row[j-1]) {
				t.Errorf("item %d neighbours out of order: %v", i, row)
			}
		}
	}
}

func TestBuildRejectsBadOptions(t *testing.T) {
	l := mustLog(t, campingLog)
	for _, mod := range []func(*Options){
		func(o *Options) { o.K = 0 },
		func(o *Options) { o.B = 2 },
		func(o *Options) { o.Alpha = -1 },
		func(o *Options) { o.Shrink = -1 },
		func(o *Options) { o.HalfLife = -time.Second },
	} {
		o := DefaultOptions()
		mod(&o)
		if _, err := Build(l, o); err == nil {
			t.Errorf("Build(%+v) accepted", o)
		}
	}
	if _, err := Build(nil, DefaultOptions()); err == nil {
		t.Error("Build(nil) accepted")
	}
}

func TestRecommend(t *testing.T) {
	m, err := Build(mustLog(t, campingLog), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	got := names(m, m.Recommend([]ItemWeight{{m.ItemIndex("bag"), 1}}, 2))
	if !reflect.DeepEqual(got, []string{"tent", "lamp"}) {
		t.Errorf("after a bag: %v, want [tent lamp]", got)
	}
	// History items never come back; unknown indices are ignored.
	got = names(m, m.Recommend([]ItemWeight{{m.ItemIndex("tent"), 1}, {m.ItemIndex("bag"), 1}, {-1, 1}, {999, 1}}, 10))
	if len(got) != 2 || got[0] != "lamp" || got[1] != "mug" {
		t.Errorf("after tent+bag: %v, want [lamp mug]", got)
	}
	if r := m.Recommend(nil, 0); r != nil {
		t.Errorf("n=0 gave %v", r)
	}
}
