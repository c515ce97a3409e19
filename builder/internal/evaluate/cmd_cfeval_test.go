//go:build !js

package evaluate

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/models/cf"
)

func writeTemp(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func byMethod(t *testing.T, rs []cfMethodResult, name string) cfMethodResult {
	t.Helper()
	for _, r := range rs {
		if r.Method == name {
			return r
		}
	}
	t.Fatalf("no method %q in %+v", name, rs)
	return cfMethodResult{}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestCFEvalHoldout(t *testing.T) {
	// socks is the bestseller; tent↔bag and hat↔scarf are bought together.
	train := "user,item\n"
	for _, u := range []string{"s1", "s2", "s3", "s4", "s5", "s6"} {
		train += u + ",socks\n"
	}
	for _, u := range []string{"p1", "p2", "p3"} {
		train += u + ",tent\n" + u + ",bag\n"
	}
	for _, u := range []string{"q1", "q2", "q3"} {
		train += u + ",hat\n" + u + ",scarf\n"
	}
	train += "t1,tent\nt2,hat\n"
	// t1 and t2 come back for the partner item; t3 is new and buys socks.
	test := "user,item\nt1,bag\nt2,scarf\nt3,socks\nt1,tent\n"
	c := cfEvalConfig{Interactions: writeTemp(t, "train.csv", train), Test: writeTemp(t, "test.csv", test), Protocol: "holdout", K: 1}
	opt := cf.DefaultOptions()
	rep, err := cfEvaluate(c, opt, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Queries != 3 || rep.Evaluable != 2 || rep.RelevantPairs != 3 || rep.RelevantInTrain != 3 {
		t.Errorf("queries %d evaluable %d relevant %d/%d, want 3 2 3/3", rep.Queries, rep.Evaluable, rep.RelevantInTrain, rep.RelevantPairs)
	}
	for _, tc := range []struct {
		rs        []cfMethodResult
		method    string
		hit, full float64
	}{
		{rep.All, "popularity", 1.0 / 3, 1},
		{rep.All, "item-cf", 2.0 / 3, 2.0 / 3},
		{rep.All, "item-cf+popularity", 1, 1},
		{rep.OnEvaluable, "popularity", 0, 1},
		{rep.OnEvaluable, "item-cf", 1, 1},
	} {
		r := byMethod(t, tc.rs, tc.method)
		if !near(r.HitRate, tc.hit) || !near(r.Recall, tc.hit) || !near(r.NDCG, tc.hit) || !near(r.Answered, tc.full) {
			t.Errorf("%s: %+v, want hit = recall = ndcg = %g, full lists %g", tc.method, r, tc.hit, tc.full)
		}
	}
}

const outfits = `outfit_idx,split,position,item_id,semantic_category
0,train,0,a,tops
0,train,1,b,shoes
1,valid,0,a,tops
1,valid,1,b,shoes
2,train,0,c,tops
2,train,1,d,bags
3,train,0,c,tops
3,train,1,d,bags
4,train,0,e,hats
5,train,0,e,hats
6,train,0,e,hats
7,test,0,a,tops
7,test,1,b,shoes
8,test,0,c,tops
8,test,1,x,bags
9,test,0,y,tops
`

func TestCFEvalLeaveOneOut(t *testing.T) {
	p := writeTemp(t, "outfits.csv", outfits)
	for _, tc := range []struct {
		leaveOut               string
		queries, evaluable     int
		cfHit, cfEval, popEval float64
	}{
		// last: {a,b} holds b (found from a); {c,x} holds x, unseen in train.
		{"last", 2, 1, 0.5, 1, 0},
		// each: a from b, b from a (hits); c from x (no history); x.
		{"each", 4, 2, 0.5, 1, 0},
	} {
		c := cfEvalConfig{Interactions: p, Test: p, SplitColumn: "split", TrainSplits: []string{"train", "valid"}, TestSplits: []string{"test"},
			Protocol: "leave-one-out", LeaveOut: tc.leaveOut, K: 1}
		rep, err := cfEvaluate(c, cf.DefaultOptions(), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Queries != tc.queries || rep.Evaluable != tc.evaluable || rep.TrainUsers != 7 {
			t.Errorf("%s: queries %d evaluable %d train sessions %d", tc.leaveOut, rep.Queries, rep.Evaluable, rep.TrainUsers)
		}
		if r := byMethod(t, rep.All, "item-cf"); !near(r.HitRate, tc.cfHit) {
			t.Errorf("%s: item-cf over all %+v, want hit %g", tc.leaveOut, r, tc.cfHit)
		}
		if r := byMethod(t, rep.OnEvaluable, "item-cf"); !near(r.HitRate, tc.cfEval) {
			t.Errorf("%s: item-cf evaluable %+v, want hit %g", tc.leaveOut, r, tc.cfEval)
		}
		if r := byMethod(t, rep.OnEvaluable, "popularity"); !near(r.HitRate, tc.popEval) {
			t.Errorf("%s: popularity evaluable %+v, want hit %g", tc.leaveOut, r, tc.popEval)
		}
	}
}

func TestCFEvalSampledLeaveOneOut(t *testing.T) {
	p := writeTemp(t, "outfits.csv", outfits)
	c := cfEvalConfig{Interactions: p, SplitColumn: "split", TrainSplits: []string{"train", "valid"}, LOOSample: 2, Protocol: "leave-one-out", K: 1}
	rep, err := cfEvaluate(c, cf.DefaultOptions(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// Sessions 0, 2 (indices 0 and 2 of 7) have two items: hold out b and
	// d; session 4 is a single. One row each leaves training.
	if rep.Queries != 2 || rep.TrainRows != 11-2 || rep.Evaluable != 2 {
		t.Errorf("queries %d train rows %d evaluable %d, want 2 9 2", rep.Queries, rep.TrainRows, rep.Evaluable)
	}
	if r := byMethod(t, rep.All, "item-cf"); !near(r.HitRate, 1) {
		t.Errorf("item-cf %+v, want hit 1 (the twin sessions still link the pairs)", r)
	}
}

func TestCFEvalFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--interactions", "x.csv"},
		{"--interactions", "x.csv", "--test", "y.csv", "--protocol", "magic"},
		{"--interactions", "x.csv", "--test", "y.csv", "--k", "0"},
		{"--interactions", "x.csv", "--test", "y.csv", "--weighting", "magic"},
		{"--interactions", filepath.Join(t.TempDir(), "missing.csv"), "--test", "y.csv"},
	} {
		if err := runCFEval(args); err == nil {
			t.Errorf("cf-eval %v: no error", args)
		}
	}
}

func TestSimulateShoppersCommand(t *testing.T) {
	var cat strings.Builder
	cat.WriteString("id,title,articleType,baseColour\n")
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&cat, "p%d,t,%s,%s\n", i, []string{"Shirts", "Shoes"}[i%2], []string{"Blue", "Red", "Black"}[i%3])
	}
	catalog := writeTemp(t, "catalog.csv", cat.String())
	dir := t.TempDir()
	err := runSimulateShoppers([]string{"--catalog", catalog, "--out", filepath.Join(dir, "interactions.csv")})
	if err == nil || !strings.Contains(err.Error(), "simulated") {
		t.Errorf("unlabelled output name: err %v", err)
	}
	out := filepath.Join(dir, "interactions-simulated.csv")
	if err := runSimulateShoppers([]string{"--catalog", catalog, "--out", out, "--users", "20", "--seed", "3"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, errs, err := cf.ReadLog(f, cf.ReadOptions{})
	if err != nil || len(errs) > 0 || len(l.Users) != 20 {
		t.Errorf("simulated log: %v %v, %d users", err, errs, len(l.Users))
	}
}
