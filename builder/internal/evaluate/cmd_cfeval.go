//go:build !js

package evaluate

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/models/cf"
)

func init() {
	register("cf-eval", "measure item-item collaborative filtering against a popularity baseline", runCFEval)
	register("simulate-shoppers", "write a SIMULATED interactions log over a catalogue (test fixture)", runSimulateShoppers)
}

// cfEvalConfig is everything cf-eval needs besides the files' contents.
type cfEvalConfig struct {
	Interactions string   `json:"interactions"`
	Test         string   `json:"test"`
	SplitColumn  string   `json:"split_column,omitempty"`
	TrainSplits  []string `json:"train_splits,omitempty"`
	TestSplits   []string `json:"test_splits,omitempty"`
	Protocol     string   `json:"protocol"`
	LeaveOut     string   `json:"leave_out,omitempty"`
	LOOSample    int      `json:"loo_sample,omitempty"`
	K            int      `json:"k"`
	Options      struct {
		Neighbors       int     `json:"neighbors"`
		HalfLife        string  `json:"half_life"`
		Weighting       string  `json:"weighting"`
		K1              float64 `json:"k1"`
		B               float64 `json:"b"`
		Alpha           float64 `json:"alpha"`
		Shrink          float64 `json:"shrink"`
		MinCommon       int     `json:"min_common"`
		MaxItemsPerUser int     `json:"max_items_per_user"`
	} `json:"options"`
}

// cfMethodResult is one method's averages over a set of queries.
type cfMethodResult struct {
	Method   string  `json:"method"`
	Queries  int     `json:"queries"`
	HitRate  float64 `json:"hit_rate"`
	Recall   float64 `json:"recall"`
	NDCG     float64 `json:"ndcg"`
	Answered float64 `json:"answered"` // share of queries given ≥ k items
}

// cfEvalReport is what cf-eval prints (and emits with --json).
type cfEvalReport struct {
	Config          cfEvalConfig     `json:"config"`
	TrainRows       int              `json:"train_rows"`
	TrainUsers      int              `json:"train_users"`
	TrainItems      int              `json:"train_items"`
	TrainBadRows    int              `json:"train_bad_rows"`
	TestRows        int              `json:"test_rows"`
	TestBadRows     int              `json:"test_bad_rows"`
	ItemsWithCF     int              `json:"items_with_neighbors"`
	Queries         int              `json:"queries"`
	Evaluable       int              `json:"evaluable_queries"`
	RelevantPairs   int              `json:"relevant_pairs"`
	RelevantInTrain int              `json:"relevant_pairs_in_train"`
	All             []cfMethodResult `json:"all_queries"`
	OnEvaluable     []cfMethodResult `json:"evaluable_only"`
	BuildSeconds    float64          `json:"build_seconds"`
	EvalSeconds     float64          `json:"eval_seconds"`
}

// cfQuery is one evaluation query: a history and the held-out items.
type cfQuery struct {
	history  []cf.ItemWeight // train-model indices (items unknown to train dropped)
	exclude  map[string]bool // ids never to recommend (the whole history)
	relevant map[string]bool // held-out ids
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func runCFEval(args []string) error {
	fs := flag.NewFlagSet("cf-eval", flag.ContinueOnError)
	var c cfEvalConfig
	def := cf.DefaultOptions()
	fs.StringVar(&c.Interactions, "interactions", "", "training interactions CSV (required)")
	fs.StringVar(&c.Test, "test", "", "test interactions CSV (required; may be the same file with --split-column)")
	fs.StringVar(&c.SplitColumn, "split-column", "", "column holding the split name (e.g. split); train and test rows are then taken from it")
	trainSplits := fs.String("train-split", "train", "comma-separated split values used for training (with --split-column)")
	testSplits := fs.String("test-split", "test", "comma-separated split values used for testing (with --split-column)")
	fs.StringVar(&c.Protocol, "protocol", "holdout", "holdout: a test user's train items are the history, their test items are relevant; leave-one-out: each test session stands alone, one item is held out and ranked from the others")
	fs.StringVar(&c.LeaveOut, "leave-out", "last", "leave-one-out: last (the last item of each session in file order) or each (every item in turn)")
	fs.IntVar(&c.LOOSample, "loo-sample", 0, "leave-one-out inside the training sessions instead of a test file: every Nth training session (first-appearance order, ≥ 2 items) loses its last item, which is removed from training and ranked from the rest; --test is then ignored")
	fs.IntVar(&c.K, "k", 10, "cut-off for hit-rate, recall and NDCG")
	fs.IntVar(&c.Options.Neighbors, "neighbors", def.K, "neighbours kept per item (what the asset ships)")
	halfLife := fs.Duration("half-life", def.HalfLife, "time-decay half-life when the log has timestamps (0 = none)")
	fs.StringVar(&c.Options.Weighting, "weighting", def.Weighting.String(), "bm25, tfidf or none")
	fs.Float64Var(&c.Options.K1, "k1", def.K1, "BM25 k1")
	fs.Float64Var(&c.Options.B, "b", def.B, "BM25 b")
	fs.Float64Var(&c.Options.Alpha, "alpha", def.Alpha, "asymmetric cosine exponent (0.5 = cosine)")
	fs.Float64Var(&c.Options.Shrink, "shrink", def.Shrink, "similarity shrinkage λ in n/(n+λ)")
	fs.IntVar(&c.Options.MinCommon, "min-common", def.MinCommon, "minimum users shared by a pair")
	fs.IntVar(&c.Options.MaxItemsPerUser, "max-items-per-user", def.MaxItemsPerUser, "keep only a user's heaviest items")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./builder cf-eval --interactions TRAIN --test TEST [--k 10] [--json]\n\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if c.Interactions == "" || (c.Test == "" && c.LOOSample <= 0) {
		fs.Usage()
		return errors.New("--interactions and --test (or --loo-sample N) are required")
	}
	if c.LOOSample > 0 {
		c.Test, c.Protocol, c.LeaveOut, c.TestSplits = "", "leave-one-out", "last", nil
	}
	if c.K <= 0 {
		return fmt.Errorf("--k %d: want > 0", c.K)
	}
	if c.Protocol != "holdout" && c.Protocol != "leave-one-out" {
		return fmt.Errorf("--protocol %q: want holdout or leave-one-out", c.Protocol)
	}
	if c.Protocol == "leave-one-out" && c.LeaveOut != "last" && c.LeaveOut != "each" {
		return fmt.Errorf("--leave-out %q: want last or each", c.LeaveOut)
	}
	if c.Protocol != "leave-one-out" {
		c.LeaveOut = ""
	}
	if c.SplitColumn != "" {
		c.TrainSplits, c.TestSplits = splitList(*trainSplits), splitList(*testSplits)
	}
	c.Options.HalfLife = halfLife.String()
	opt := def
	opt.K, opt.HalfLife = c.Options.Neighbors, *halfLife
	opt.K1, opt.B, opt.Alpha, opt.Shrink = c.Options.K1, c.Options.B, c.Options.Alpha, c.Options.Shrink
	opt.MinCommon, opt.MaxItemsPerUser = c.Options.MinCommon, c.Options.MaxItemsPerUser
	w, err := cf.ParseWeighting(c.Options.Weighting)
	if err != nil {
		return err
	}
	opt.Weighting = w

	rep, err := cfEvaluate(c, opt, os.Stderr)
	if err != nil {
		return err
	}
	return writeReport(os.Stdout, *asJSON, rep, func(w io.Writer) error { printCFReport(w, rep); return nil })
}

func readLogFile(path string, opt cf.ReadOptions, warn io.Writer) (*cf.Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l, rowErrs, err := cf.ReadLog(f, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, e := range rowErrs {
		if i == 5 {
			fmt.Fprintf(warn, "%s: … %d malformed rows in all (skipped)\n", path, l.BadRows)
			break
		}
		fmt.Fprintf(warn, "%s: skipped: %v\n", path, e)
	}
	return l, nil
}

// cfEvaluate reads the logs, builds the model and scores every method.
func cfEvaluate(c cfEvalConfig, opt cf.Options, warn io.Writer) (*cfEvalReport, error) {
	trainOpt := cf.ReadOptions{SplitColumn: c.SplitColumn, Splits: c.TrainSplits}
	testOpt := cf.ReadOptions{SplitColumn: c.SplitColumn, Splits: c.TestSplits}
	train, err := readLogFile(c.Interactions, trainOpt, warn)
	if err != nil {
		return nil, err
	}
	var test *cf.Log
	var sampled [][]string
	if c.LOOSample > 0 {
		sampled = sampleLeaveOneOut(train, c.LOOSample)
		test = &cf.Log{}
	} else if test, err = readLogFile(c.Test, testOpt, warn); err != nil {
		return nil, err
	}
	t0 := time.Now()
	m, err := cf.Build(train, opt)
	if err != nil {
		return nil, err
	}
	rep := &cfEvalReport{
		Config:    c,
		TrainRows: len(train.Rows), TrainUsers: len(train.Users), TrainItems: len(train.Items),
		TrainBadRows: train.BadRows, TestRows: len(test.Rows), TestBadRows: test.BadRows,
		BuildSeconds: time.Since(t0).Seconds(),
	}
	for _, nb := range m.Neighbors {
		if len(nb) > 0 {
			rep.ItemsWithCF++
		}
	}
	t1 := time.Now()
	var queries []cfQuery
	switch {
	case c.LOOSample > 0:
		queries = sessionQueries(sampled, m, false)
	case c.Protocol == "holdout":
		queries = holdoutQueries(train, test, m)
	default:
		queries = leaveOneOutQueries(test, m, c.LeaveOut == "each")
	}
	rep.Queries = len(queries)

	// Popularity: distinct train users per item, ties by first appearance.
	pop := make([]int32, len(m.Items))
	for i := range pop {
		pop[i] = int32(i)
	}
	sort.SliceStable(pop, func(a, b int) bool { return m.Users[pop[a]] > m.Users[pop[b]] })

	methods := []string{"popularity", "item-cf", "item-cf+popularity"}
	all := make([]cfMethodResult, len(methods))
	eval := make([]cfMethodResult, len(methods))
	for i, name := range methods {
		all[i].Method, eval[i].Method = name, name
	}
	for _, q := range queries {
		rep.RelevantPairs += len(q.relevant)
		inTrain := 0
		for id := range q.relevant {
			if i := m.ItemIndex(id); i >= 0 && m.Users[i] > 0 {
				inTrain++
			}
		}
		rep.RelevantInTrain += inTrain
		evaluable := inTrain > 0 && len(q.history) > 0
		if evaluable {
			rep.Evaluable++
		}
		cfList := m.Recommend(q.history, c.K)
		cfIDs := make([]string, 0, c.K)
		for _, nb := range cfList {
			cfIDs = append(cfIDs, m.Items[nb.Item])
		}
		popIDs := fillFrom(nil, pop, m, q.exclude, c.K)
		blend := fillFrom(append([]string(nil), cfIDs...), pop, m, q.exclude, c.K)
		for i, ranked := range [][]string{popIDs, cfIDs, blend} {
			add := func(r *cfMethodResult) {
				r.Queries++
				r.HitRate += cf.HitRate(ranked, q.relevant, c.K)
				r.Recall += cf.Recall(ranked, q.relevant, c.K)
				r.NDCG += cf.NDCG(ranked, q.relevant, c.K)
				if len(ranked) >= c.K {
					r.Answered++
				}
			}
			add(&all[i])
			if evaluable {
				add(&eval[i])
			}
		}
	}
	for _, rs := range [][]cfMethodResult{all, eval} {
		for i := range rs {
			if n := float64(rs[i].Queries); n > 0 {
				rs[i].HitRate /= n
				rs[i].Recall /= n
				rs[i].NDCG /= n
				rs[i].Answered /= n
			}
		}
	}
	rep.All, rep.OnEvaluable = all, eval
	rep.EvalSeconds = time.Since(t1).Seconds()
	return rep, nil
}

// fillFrom appends popular items not excluded and not already listed until
// the list has k entries.
func fillFrom(list []string, pop []int32, m *cf.Model, exclude map[string]bool, k int) []string {
	have := make(map[string]bool, len(list))
	for _, id := range list {
		have[id] = true
	}
	for _, i := range pop {
		if len(list) >= k {
			break
		}
		id := m.Items[i]
		if !exclude[id] && !have[id] {
			list = append(list, id)
			have[id] = true
		}
	}
	return list
}

// userItems groups a log's rows by user: ids in first-seen order with the
// summed weight.
func userItems(l *cf.Log) [][]string {
	per := make([][]string, len(l.Users))
	seen := make([]map[int32]bool, len(l.Users))
	for _, r := range l.Rows {
		if seen[r.User] == nil {
			seen[r.User] = map[int32]bool{}
		}
		if !seen[r.User][r.Item] {
			seen[r.User][r.Item] = true
			per[r.User] = append(per[r.User], l.Items[r.Item])
		}
	}
	return per
}

// holdoutQueries: one query per test user; history = the user's train items
// (weighted by their summed train weight), relevant = test items not already
// in the history.
func holdoutQueries(train, test *cf.Log, m *cf.Model) []cfQuery {
	weight := map[[2]int32]float64{}
	trainItems := userItems(train)
	for _, r := range train.Rows {
		weight[[2]int32{r.User, r.Item}] += r.Weight
	}
	var qs []cfQuery
	for u, items := range userItems(test) {
		q := cfQuery{exclude: map[string]bool{}, relevant: map[string]bool{}}
		if tu := train.UserIndex(test.Users[u]); tu >= 0 {
			for _, id := range trainItems[tu] {
				q.exclude[id] = true
				ti := train.ItemIndex(id)
				if w := weight[[2]int32{tu, ti}]; w > 0 {
					q.history = append(q.history, cf.ItemWeight{Item: m.ItemIndex(id), Weight: w})
				}
			}
		}
		for _, id := range items {
			if !q.exclude[id] {
				q.relevant[id] = true
			}
		}
		if len(q.relevant) > 0 {
			qs = append(qs, q)
		}
	}
	return qs
}

// leaveOneOutQueries: each test session with ≥ 2 distinct items gives one
// query holding out its last item (file order), or with each=true one query
// per item. History weights are 1.
func leaveOneOutQueries(test *cf.Log, m *cf.Model, each bool) []cfQuery {
	return sessionQueries(userItems(test), m, each)
}

// sampleLeaveOneOut picks every nth session of train (first-appearance
// order) with ≥ 2 distinct items, removes every row of its last item from
// train.Rows and returns those sessions (held-out item last).
func sampleLeaveOneOut(train *cf.Log, n int) [][]string {
	per := userItems(train)
	drop := map[[2]int32]bool{}
	var out [][]string
	for u, items := range per {
		if u%n != 0 || len(items) < 2 {
			continue
		}
		out = append(out, items)
		drop[[2]int32{int32(u), train.ItemIndex(items[len(items)-1])}] = true
	}
	kept := train.Rows[:0]
	for _, r := range train.Rows {
		if !drop[[2]int32{r.User, r.Item}] {
			kept = append(kept, r)
		}
	}
	train.Rows = kept
	return out
}

// sessionQueries turns sessions (item ids in order) into leave-one-out
// queries.
func sessionQueries(sessions [][]string, m *cf.Model, each bool) []cfQuery {
	var qs []cfQuery
	for _, items := range sessions {
		if len(items) < 2 {
			continue
		}
		first := len(items) - 1
		if each {
			first = 0
		}
		for h := first; h < len(items); h++ {
			q := cfQuery{exclude: map[string]bool{}, relevant: map[string]bool{items[h]: true}}
			for j, id := range items {
				if j == h {
					continue
				}
				q.exclude[id] = true
				if i := m.ItemIndex(id); i >= 0 {
					q.history = append(q.history, cf.ItemWeight{Item: i, Weight: 1})
				}
			}
			qs = append(qs, q)
		}
	}
	return qs
}

func printCFReport(w io.Writer, r *cfEvalReport) {
	c := r.Config
	fmt.Fprintf(w, "cf-eval  protocol=%s", c.Protocol)
	if c.LeaveOut != "" {
		fmt.Fprintf(w, " (leave out %s)", c.LeaveOut)
	}
	if c.LOOSample > 0 {
		fmt.Fprintf(w, " inside train, 1 session in %d", c.LOOSample)
	}
	fmt.Fprintf(w, "  k=%d  neighbours/item=%d  weighting=%s shrink=%g alpha=%g\n", c.K, c.Options.Neighbors, c.Options.Weighting, c.Options.Shrink, c.Options.Alpha)
	fmt.Fprintf(w, "train: %d rows, %d users/sessions, %d items (%d with CF neighbours), %d bad rows  [%s]\n",
		r.TrainRows, r.TrainUsers, r.TrainItems, r.ItemsWithCF, r.TrainBadRows, filepath.Base(c.Interactions))
	fmt.Fprintf(w, "test:  %d rows, %d bad rows; %d queries, %d evaluable (history known to train and ≥1 held-out item seen in train)\n",
		r.TestRows, r.TestBadRows, r.Queries, r.Evaluable)
	if r.RelevantPairs > 0 {
		fmt.Fprintf(w, "coverage: %d of %d held-out items (%.1f%%) appear in train at all\n",
			r.RelevantInTrain, r.RelevantPairs, 100*float64(r.RelevantInTrain)/float64(r.RelevantPairs))
	}
	for _, block := range []struct {
		title string
		rs    []cfMethodResult
	}{{"all queries", r.All}, {"evaluable queries only", r.OnEvaluable}} {
		fmt.Fprintf(w, "\n%s:\n", block.title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "method\tqueries\thit@%d\trecall@%d\tndcg@%d\tfull list\t\n", c.K, c.K, c.K)
		for _, m := range block.rs {
			fmt.Fprintf(tw, "%s\t%d\t%.4f\t%.4f\t%.4f\t%.1f%%\t\n", m.Method, m.Queries, m.HitRate, m.Recall, m.NDCG, 100*m.Answered)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nbuild %.2fs, eval %.2fs\n", r.BuildSeconds, r.EvalSeconds)
}

func runSimulateShoppers(args []string) error {
	fs := flag.NewFlagSet("simulate-shoppers", flag.ContinueOnError)
	catalog := fs.String("catalog", "", "catalogue CSV with id, articleType, baseColour columns (required)")
	out := fs.String("out", "", "output CSV; its file name must contain \"simulated\" (required)")
	def := cf.DefaultSimOptions()
	users := fs.Int("users", def.Users, "number of simulated shoppers")
	seed := fs.Uint64("seed", def.Seed, "random seed (same seed, same file)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./builder simulate-shoppers --catalog CATALOG.csv --out interactions-simulated.csv [--users N] [--seed S]\n\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *catalog == "" || *out == "" {
		fs.Usage()
		return errors.New("--catalog and --out are required")
	}
	if !strings.Contains(strings.ToLower(filepath.Base(*out)), "simulated") {
		return fmt.Errorf("--out %q: the file name must contain \"simulated\" so nobody mistakes it for real shopper data", *out)
	}
	f, err := os.Open(*catalog)
	if err != nil {
		return err
	}
	products, err := cf.ReadProducts(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *catalog, err)
	}
	opt := def
	opt.Users, opt.Seed = *users, *seed
	tmp := *out + ".tmp"
	o, err := os.Create(tmp)
	if err != nil {
		return err
	}
	st, err := cf.Simulate(o, products, opt)
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "simulate-shoppers: wrote %s: %d SIMULATED shoppers, %d rows over %d products (%d preference pairs), seed %d\n",
		*out, st.Users, st.Rows, len(products), st.Pairs, opt.Seed)
	return nil
}
