//go:build !js

package evaluate

import (
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/lookalike/lookalike/builder/internal/build"
	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/cf"
	"github.com/lookalike/lookalike/models/search"
)

func init() {
	register("blend-eval", "measure the visual + CF + personal blend on SIMULATED shoppers; choose its weights", runBlendEval)
}

// blendEvalConfig is what blend-eval was asked to do.
type blendEvalConfig struct {
	Assets       string    `json:"assets"`
	Interactions string    `json:"interactions,omitempty"` // "" = simulated in-process
	Users        int       `json:"users"`
	Seed         uint64    `json:"seed"`
	K            int       `json:"k"`
	TypeColumn   string    `json:"type_column"`
	ColourColumn string    `json:"colour_column"`
	GridCF       []float64 `json:"grid_w_cf"`
	GridPersonal []float64 `json:"grid_w_personal"`
	// Weights, when set, skips the sweep: the test set is scored at
	// these (w_cf, w_personal).
	Weights       []float64 `json:"weights,omitempty"`
	MaxLoss       float64   `json:"max_fidelity_loss"`
	MinKept       float64   `json:"min_kept"`
	MinKeptPers   float64   `json:"min_kept_personal"`
	ViewTaste     float64   `json:"view_taste_weight"`
	HalfLifeHours float64   `json:"half_life_hours"`
	Workers       int       `json:"-"`
}

// blendMetrics are averages over one set of shoppers.
type blendMetrics struct {
	// Photo of a product of the shopper's preferred articleType.
	TypeQueries int     `json:"type_queries"`
	PairAtK     float64 `json:"pair_precision"` // results of the preferred articleType and colour
	TypeAtK     float64 `json:"type_precision"` // results of the preferred (= photographed) articleType
	// Photo of a product of another articleType.
	OtherQueries int     `json:"other_queries"`
	OtherPairAtK float64 `json:"other_pair_precision"`
	FidelityAtK  float64 `json:"other_fidelity"` // results of the photographed articleType
	// Results of the photographed articleType and colour.
	PhotoPairAtK float64 `json:"other_photo_pair_precision"`
	// Share of the visual-only top k still in the top k.
	KeptAtK float64 `json:"other_kept"`
	// "More like this" on the preferred-type product (test set only).
	SimilarQueries int     `json:"similar_queries,omitempty"`
	SimilarPairAtK float64 `json:"similar_pair_precision,omitempty"`
}

// blendPoint is one (w_cf, w_personal) setting and its metrics.
type blendPoint struct {
	Method    string       `json:"method,omitempty"`
	WCF       float64      `json:"w_cf"`
	WPersonal float64      `json:"w_personal"`
	Metrics   blendMetrics `json:"metrics"`
}

// blendEvalReport is what blend-eval prints (and emits with --json).
type blendEvalReport struct {
	Simulated   bool            `json:"simulated"` // always true: the figures are about simulated shoppers
	Config      blendEvalConfig `json:"config"`
	Items       int             `json:"items"`
	Shoppers    [3]int          `json:"shoppers_train_validation_test"`
	TrainRows   int             `json:"train_rows"`
	UnknownRows int             `json:"rows_naming_unknown_items"`
	ItemsWithCF int             `json:"items_with_cf_neighbors"`
	Validation  []blendPoint    `json:"validation_grid"`
	VisualFid   float64         `json:"validation_visual_fidelity"`
	Test        []blendPoint    `json:"test"`
	EvalSeconds float64         `json:"eval_seconds"`
	ChosenWCF   float64         `json:"chosen_w_cf"`
	ChosenWPers float64         `json:"chosen_w_personal"`
}

// simEvent is one row of a simulated log.
type simEvent struct {
	item  int // catalogue index
	id    string
	event string
	ts    int64
}

// simShopper is one simulated shopper with the hidden preference.
type simShopper struct {
	user         string
	prefType     string
	prefColour   string
	events       []simEvent
	personal     search.Personal
	history      map[int]bool
	typeQ, other int // query products (catalogue index, -1 = none)
}

func parseFloatList(s string) ([]float64, error) {
	var out []float64
	for _, f := range splitList(s) {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil || x < 0 {
			return nil, fmt.Errorf("%q: want numbers ≥ 0", s)
		}
		out = append(out, x)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q: empty list", s)
	}
	return out, nil
}

func runBlendEval(args []string) error {
	fs := flag.NewFlagSet("blend-eval", flag.ContinueOnError)
	var c blendEvalConfig
	def := cf.DefaultSimOptions()
	fs.StringVar(&c.Assets, "assets", "", "built asset folder (go run ./builder build …) (required)")
	fs.StringVar(&c.Interactions, "interactions", "", "a SIMULATED log from simulate-shoppers over the same catalogue (default: simulate --users shoppers over the assets' items)")
	fs.IntVar(&c.Users, "users", 5000, "simulated shoppers (without --interactions): 3 in 5 train the CF, 1 in 5 validate, 1 in 5 test")
	fs.Uint64Var(&c.Seed, "seed", def.Seed, "seed of the simulation and of the query photos")
	fs.IntVar(&c.K, "k", 10, "precision cut-off")
	fs.StringVar(&c.TypeColumn, "type-column", "articleType", "catalogue attribute holding the product type")
	fs.StringVar(&c.ColourColumn, "colour-column", "baseColour", "catalogue attribute holding the colour")
	gridCF := fs.String("grid-w-cf", "0,0.1,0.2,0.3,0.5,0.75,1,1.5,2,2.5,3", "w_cf values swept on the validation shoppers")
	gridP := fs.String("grid-w-personal", "0,0.05,0.1,0.15,0.2,0.25,0.3,0.4,0.5", "w_personal values swept on the validation shoppers")
	weights := fs.String("weights", "", "W_CF,W_PERSONAL: skip the validation sweep and score the test shoppers at these weights")
	fs.Float64Var(&c.MaxLoss, "max-fidelity-loss", 0.05, "chosen weights may lower the share of results of the photographed articleType, for a photo of another type than the preferred, by at most this much")
	fs.Float64Var(&c.MinKept, "min-kept", 0.8, "chosen weights must keep at least this share of the visual top k for a photo of another type than the preferred")
	fs.Float64Var(&c.MinKeptPers, "min-kept-personal", 0.9, "the same for w_personal alone (chosen first, for shops without an interactions log)")
	fs.Float64Var(&c.ViewTaste, "view-taste", float64(search.DefaultSignals.ViewTaste), "weight of a viewed product in the taste vector (likes weigh 1)")
	fs.Float64Var(&c.HalfLifeHours, "half-life-hours", search.DefaultBlend.HalfLife.Hours(), "signal half-life (simulated histories span hours, so it barely matters here)")
	fs.IntVar(&c.Workers, "workers", runtime.GOMAXPROCS(0), "shoppers evaluated in parallel")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./builder blend-eval --assets DIR [--users 5000] [--interactions X-simulated.csv] [--json]\n\nAll figures are about SIMULATED shoppers (docs/personal.md).\n\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if c.Assets == "" {
		fs.Usage()
		return errors.New("--assets is required")
	}
	var err error
	if c.GridCF, err = parseFloatList(*gridCF); err != nil {
		return fmt.Errorf("--grid-w-cf %w", err)
	}
	if c.GridPersonal, err = parseFloatList(*gridP); err != nil {
		return fmt.Errorf("--grid-w-personal %w", err)
	}
	if *weights != "" {
		if c.Weights, err = parseFloatList(*weights); err != nil || len(c.Weights) != 2 {
			return fmt.Errorf("--weights %q: want W_CF,W_PERSONAL", *weights)
		}
	}
	switch {
	case c.K <= 0 || c.K > 100:
		return fmt.Errorf("--k %d: want 1..100", c.K)
	case c.Interactions == "" && c.Users < 5:
		return fmt.Errorf("--users %d: want ≥ 5", c.Users)
	case c.ViewTaste < 0 || c.HalfLifeHours < 0 || c.MaxLoss < 0 || c.MinKept < 0 || c.MinKept > 1 || c.MinKeptPers < 0 || c.MinKeptPers > 1:
		return errors.New("--view-taste, --half-life-hours and --max-fidelity-loss must be ≥ 0, --min-kept and --min-kept-personal 0..1")
	}
	if c.Interactions != "" && !strings.Contains(strings.ToLower(filepath.Base(c.Interactions)), "simulated") {
		return fmt.Errorf("--interactions %q: blend-eval needs a simulated log (its file name contains \"simulated\"): the hidden preferences are what it scores", c.Interactions)
	}
	rep, err := blendEvaluate(c, os.Stderr)
	if err != nil {
		return err
	}
	return writeReport(os.Stdout, *asJSON, rep, func(w io.Writer) error { printBlendReport(w, rep); return nil })
}

// blendEvaluate runs the protocol of docs/personal.md.
func blendEvaluate(c blendEvalConfig, warn io.Writer) (*blendEvalReport, error) {
	t0 := time.Now()
	e, err := build.OpenAssets(c.Assets, search.Options{SkipModel: true})
	if err != nil {
		return nil, err
	}
	n := e.Display.Len()
	products := make([]cf.Product, n)
	for i := range products {
		it := e.Display.Item(i)
		t, okT := it.Attrs[c.TypeColumn]
		col, okC := it.Attrs[c.ColourColumn]
		if !okT || !okC {
			return nil, fmt.Errorf("assets %s: the catalogue has no %q and %q filter columns (has %q)", c.Assets, c.TypeColumn, c.ColourColumn, e.Display.Attributes())
		}
		products[i] = cf.Product{ID: it.ID, ArticleType: t, Colour: col}
	}
	var logBytes []byte
	if c.Interactions != "" {
		if logBytes, err = os.ReadFile(c.Interactions); err != nil {
			return nil, err
		}
	} else {
		opt := cf.DefaultSimOptions()
		opt.Users, opt.Seed = c.Users, c.Seed
		var b bytes.Buffer
		if _, err := cf.Simulate(&b, products, opt); err != nil {
			return nil, err
		}
		logBytes = b.Bytes()
	}
	shoppers, unknown, err := readSimulated(logBytes, e.Display.IndexOf)
	if err != nil {
		return nil, fmt.Errorf("simulated log: %w", err)
	}
	rep := &blendEvalReport{Simulated: true, Config: c, Items: n, UnknownRows: unknown}

	// Split: shopper u (log order) trains if u%5 < 3, validates if 3,
	// tests if 4. Only training shoppers reach the CF asset.
	var train bytes.Buffer
	cw := csv.NewWriter(&train)
	cw.Write([]string{"user", "item", "event", "timestamp"})
	var val, test []*simShopper
	for u, s := range shoppers {
		switch u % 5 {
		case 3:
			val = append(val, s)
		case 4:
			test = append(test, s)
		default:
			for _, ev := range s.events {
				cw.Write([]string{s.user, products[ev.item].ID, ev.event, strconv.FormatInt(ev.ts, 10)})
				rep.TrainRows++
			}
		}
	}
	cw.Flush()
	rep.Shoppers = [3]int{len(shoppers) - len(val) - len(test), len(val), len(test)}
	if len(val) == 0 || len(test) == 0 {
		return nil, fmt.Errorf("%d shoppers: too few for a train/validation/test split", len(shoppers))
	}
	l, _, err := cf.ReadLog(&train, cf.ReadOptions{})
	if err != nil {
		return nil, err
	}
	cfOpt := cf.DefaultOptions()
	m, err := cf.Build(l, cfOpt)
	if err != nil {
		return nil, err
	}
	ids := make([]string, n)
	for i, p := range products {
		ids[i] = p.ID
	}
	rows, _ := m.ForCatalog(ids)
	for _, r := range rows {
		if len(r) > 0 {
			rep.ItemsWithCF++
		}
	}
	if e.CF, err = cf.NewTable(rows, cfOpt.K); err != nil {
		return nil, err
	}
	hl := c.HalfLifeHours
	if e.Manifest.Blend == nil {
		e.Manifest.Blend = new(catalog.Blend)
	}
	e.Manifest.Blend.HalfLifeHours = &hl
	e.Signals = search.DefaultSignals
	e.Signals.ViewTaste = float32(c.ViewTaste)

	// Queries: a photo (the stored vector) of a product of the preferred
	// articleType, and one of another articleType, neither in the history.
	byType := map[string][]int{}
	for i, p := range products {
		byType[p.ArticleType] = append(byType[p.ArticleType], i)
	}
	for u, s := range append(append([]*simShopper(nil), val...), test...) {
		rng := rand.New(rand.NewPCG(c.Seed, uint64(u)+1))
		s.typeQ, s.other = -1, -1
		if pool := byType[s.prefType]; len(pool) > 0 {
			for try := 0; try < 50 && s.typeQ < 0; try++ {
				if i := pool[rng.IntN(len(pool))]; !s.history[i] {
					s.typeQ = i
				}
			}
		}
		for try := 0; try < 200 && s.other < 0; try++ {
			if i := rng.IntN(n); !s.history[i] && products[i].ArticleType != s.prefType {
				s.other = i
			}
		}
	}

	ev := &blendEvaluator{e: e, c: c, products: products}
	fmt.Fprintf(warn, "blend-eval: %d items, %d SIMULATED shoppers (%d train / %d validation / %d test)\n",
		n, len(shoppers), rep.Shoppers[0], len(val), len(test))
	if len(c.Weights) == 2 {
		rep.ChosenWCF, rep.ChosenWPers = c.Weights[0], c.Weights[1]
		rep.Test = testPoints(rep.ChosenWCF, rep.ChosenWPers, rep.ChosenWCF, rep.ChosenWPers)
		ev.run(test, rep.Test, true)
		rep.EvalSeconds = time.Since(t0).Seconds()
		return rep, nil
	}
	// Both axes always include 0: (0, 0) is the visual ranking.
	c.GridCF, c.GridPersonal = withZero(c.GridCF), withZero(c.GridPersonal)
	rep.Config = c
	var grid []blendPoint
	for _, wc := range c.GridCF {
		for _, wp := range c.GridPersonal {
			grid = append(grid, blendPoint{WCF: wc, WPersonal: wp})
		}
	}
	ev.run(val, grid, false)
	rep.Validation = grid
	base := grid[0].Metrics
	rep.VisualFid = base.FidelityAtK
	// The choice: the best precision on preferred-type photos among the
	// settings that leave photos of other types alone enough (guards).
	// w_personal is chosen first, alone (shops without a log), under the
	// stricter guard; then w_cf on top of it.
	best := func(minKept float64, ok func(blendPoint) bool) blendPoint {
		b := blendPoint{Metrics: base}
		for _, g := range grid {
			m := g.Metrics
			if ok(g) && m.FidelityAtK >= base.FidelityAtK-c.MaxLoss-1e-9 && m.KeptAtK >= minKept-1e-9 && m.PairAtK > b.Metrics.PairAtK {
				b = g
			}
		}
		return b
	}
	persOnly := best(c.MinKeptPers, func(g blendPoint) bool { return g.WCF == 0 })
	cfOnly := best(c.MinKept, func(g blendPoint) bool { return g.WPersonal == 0 })
	both := best(c.MinKept, func(g blendPoint) bool { return g.WPersonal == persOnly.WPersonal })
	rep.ChosenWCF, rep.ChosenWPers = both.WCF, both.WPersonal
	rep.Test = testPoints(cfOnly.WCF, persOnly.WPersonal, both.WCF, both.WPersonal)
	ev.run(test, rep.Test, true)
	rep.EvalSeconds = time.Since(t0).Seconds()
	return rep, nil
}

// testPoints are the rankings the test table compares.
func testPoints(cfOnly, persOnly, bothCF, bothPers float64) []blendPoint {
	return []blendPoint{
		{Method: "visual only"},
		{Method: "+ cf", WCF: cfOnly},
		{Method: "+ personal", WPersonal: persOnly},
		{Method: "+ cf + personal", WCF: bothCF, WPersonal: bothPers},
	}
}

// withZero returns the sorted distinct values of ws with 0 first.
func withZero(ws []float64) []float64 {
	out := []float64{0}
	for _, w := range ws {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}

// readSimulated groups a simulated log (SimulatedHeader) by shopper, in
// first-appearance order, and turns each history into the Personal the
// page would send: carted or bought products are likes, every product is
// a view; ages are counted back from a minute after the shopper's last
// event. Rows naming products the catalogue lacks are counted and dropped.
func readSimulated(data []byte, indexOf func(string) (int, bool)) ([]*simShopper, int, error) {
	r := csv.NewReader(bytes.NewReader(data))
	header, err := r.Read()
	if err != nil {
		return nil, 0, err
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	var idx [6]int
	for k, name := range []string{"user", "item", "event", "timestamp", "pref_articletype", "pref_basecolour"} {
		i, ok := col[name]
		if !ok {
			return nil, 0, fmt.Errorf("no %s column (header %q): not a simulate-shoppers log", name, header)
		}
		idx[k] = i
	}
	byUser := map[string]*simShopper{}
	var out []*simShopper
	unknown := 0
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		s := byUser[rec[idx[0]]]
		if s == nil {
			s = &simShopper{user: rec[idx[0]], prefType: rec[idx[4]], prefColour: rec[idx[5]], history: map[int]bool{}}
			byUser[s.user] = s
			out = append(out, s)
		}
		item, ok := indexOf(rec[idx[1]])
		if !ok {
			unknown++
			continue
		}
		ts, err := strconv.ParseInt(rec[idx[3]], 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("line %d: timestamp %q", line, rec[idx[3]])
		}
		s.events = append(s.events, simEvent{item, rec[idx[1]], rec[idx[2]], ts})
	}
	for _, s := range out {
		var last int64
		for _, ev := range s.events {
			last = max(last, ev.ts)
		}
		type key struct {
			id   string
			like bool
		}
		latest := map[key]int64{} // newest time
		var order []key
		for _, ev := range s.events {
			k := key{ev.id, ev.event == "cart" || ev.event == "purchase" || ev.event == "like"}
			if _, seen := latest[k]; !seen {
				order = append(order, k)
			}
			latest[k] = max(latest[k], ev.ts)
			s.history[ev.item] = true
		}
		for _, k := range order {
			sig := search.Signal{ID: k.id, AgeSeconds: float64(last + 60 - latest[k])}
			if k.like {
				s.personal.Likes = append(s.personal.Likes, sig)
			} else {
				s.personal.Views = append(s.personal.Views, sig)
			}
		}
	}
	return out, unknown, nil
}

// blendEvaluator scores shoppers' queries under weight settings.
type blendEvaluator struct {
	e        *search.Engine
	c        blendEvalConfig
	products []cf.Product
}

// run fills each point's Metrics, averaged over the shoppers; similar adds
// the "more like this" queries.
func (ev *blendEvaluator) run(shoppers []*simShopper, points []blendPoint, similar bool) {
	type acc struct {
		nT, nO, nS     int
		pT, tT, pO, fO float64
		pS, fP, kO     float64
	}
	// One row of sums per shopper, added up in shopper order afterwards:
	// the figures do not depend on the worker count.
	per := make([][]acc, len(shoppers))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < max(1, ev.c.Workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for si := range next {
				s := shoppers[si]
				a := make([]acc, len(points))
				per[si] = a
				var visual []int
				if s.other >= 0 {
					visual = ev.query(s, s.other, nil, false)
				}
				for pi, pt := range points {
					p := ev.personalFor(s, pt)
					if s.typeQ >= 0 {
						res := ev.query(s, s.typeQ, p, false)
						pair, typ := ev.precision(res, s.prefType, s.prefColour)
						a[pi].nT++
						a[pi].pT += pair
						a[pi].tT += typ
						if similar {
							pair, _ := ev.precision(ev.query(s, s.typeQ, p, true), s.prefType, s.prefColour)
							a[pi].nS++
							a[pi].pS += pair
						}
					}
					if s.other >= 0 {
						res := ev.query(s, s.other, p, false)
						pair, _ := ev.precision(res, s.prefType, s.prefColour)
						photo := ev.products[s.other]
						fPair, fid := ev.precision(res, photo.ArticleType, photo.Colour)
						a[pi].nO++
						a[pi].pO += pair
						a[pi].fO += fid
						a[pi].fP += fPair
						a[pi].kO += overlap(res, visual) / float64(ev.c.K)
					}
				}
			}
		}()
	}
	for si := range shoppers {
		next <- si
	}
	close(next)
	wg.Wait()
	for pi := range points {
		var t acc
		for si := range per {
			a := per[si][pi]
			t.nT, t.nO, t.nS = t.nT+a.nT, t.nO+a.nO, t.nS+a.nS
			t.pT, t.tT, t.pO, t.fO, t.pS, t.fP, t.kO = t.pT+a.pT, t.tT+a.tT, t.pO+a.pO, t.fO+a.fO, t.pS+a.pS, t.fP+a.fP, t.kO+a.kO
		}
		m := &points[pi].Metrics
		m.TypeQueries, m.OtherQueries, m.SimilarQueries = t.nT, t.nO, t.nS
		m.PairAtK, m.TypeAtK = div(t.pT, t.nT), div(t.tT, t.nT)
		m.OtherPairAtK, m.FidelityAtK, m.PhotoPairAtK = div(t.pO, t.nO), div(t.fO, t.nO), div(t.fP, t.nO)
		m.SimilarPairAtK = div(t.pS, t.nS)
		m.KeptAtK = div(t.kO, t.nO)
	}
}

// overlap counts the items of a also in b.
func overlap(a, b []int) float64 {
	in := make(map[int]bool, len(b))
	for _, i := range b {
		in[i] = true
	}
	n := 0.0
	for _, i := range a {
		if in[i] {
			n++
		}
	}
	return n
}

func div(a float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return a / float64(n)
}

// personalFor is the shopper's Personal with a point's weights; nil for
// the visual ranking.
func (ev *blendEvaluator) personalFor(s *simShopper, pt blendPoint) *search.Personal {
	if pt.WCF == 0 && pt.WPersonal == 0 {
		return nil
	}
	p := s.personal
	wc, wp := float32(pt.WCF), float32(pt.WPersonal)
	p.WCF, p.WPersonal = &wc, &wp
	return &p
}

// query returns the top k items for a photo of product q (its stored
// vector; similar = "more like this" on q), leaving out q itself and the
// shopper's history: re-finding products already seen proves nothing.
func (ev *blendEvaluator) query(s *simShopper, q int, p *search.Personal, similar bool) []int {
	k := min(search.MaxK, ev.c.K+len(s.history)+1)
	var hits []search.Hit
	var err error
	if similar {
		hits, err = ev.e.SimilarIndex(q, search.Query{K: k, Personal: p})
	} else {
		hits, err = ev.e.SearchVector(ev.e.Vectors.Vector(q, nil), search.Query{K: k, Personal: p})
	}
	if err != nil {
		panic(err) // inputs are built here: an error is a bug
	}
	out := make([]int, 0, ev.c.K)
	for _, h := range hits {
		if len(out) == ev.c.K {
			break
		}
		if h.Index != q && !s.history[h.Index] {
			out = append(out, h.Index)
		}
	}
	return out
}

// precision returns the share of the k slots holding the type and colour
// ("" colour: any), and holding the type.
func (ev *blendEvaluator) precision(res []int, typ, colour string) (pair, ofType float64) {
	for _, i := range res {
		p := ev.products[i]
		if p.ArticleType == typ {
			ofType++
			if colour == "" || p.Colour == colour {
				pair++
			}
		}
	}
	k := float64(ev.c.K)
	return pair / k, ofType / k
}

func printBlendReport(w io.Writer, r *blendEvalReport) {
	c := r.Config
	src := "simulated in-process, seed " + strconv.FormatUint(c.Seed, 10)
	if c.Interactions != "" {
		src = filepath.Base(c.Interactions)
	}
	fmt.Fprintf(w, "blend-eval on SIMULATED shoppers (%s) — not evidence about real shoppers\n", src)
	fmt.Fprintf(w, "catalogue: %d items (%s); shoppers train/validation/test %d/%d/%d; CF from %d train rows, %d items with CF neighbours; %d rows naming unknown items\n",
		r.Items, filepath.Base(c.Assets), r.Shoppers[0], r.Shoppers[1], r.Shoppers[2], r.TrainRows, r.ItemsWithCF, r.UnknownRows)
	fmt.Fprintf(w, "signals: view weight in taste %g, half-life %gh; k=%d\n", c.ViewTaste, c.HalfLifeHours, c.K)
	if len(r.Validation) == 0 {
		fmt.Fprintf(w, "\nweights given (--weights): no validation sweep\n")
	} else {
		printBlendGrid(w, r)
	}
	fmt.Fprintf(w, "\ntest shoppers (held out of the CF asset and the sweep):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\t\t\tpreferred-type photo\t\t\tother-type photo\t\t\t\t\t\n")
	fmt.Fprintf(tw, "ranking\tw_cf\tw_personal\tpair@%d\ttype@%d\tmore-like-this pair@%d\tpair@%d\ttype fidelity@%d\tphoto type+colour@%d\tkept@%d\tqueries\t\n", c.K, c.K, c.K, c.K, c.K, c.K, c.K)
	for _, p := range r.Test {
		m := p.Metrics
		fmt.Fprintf(tw, "%s\t%g\t%g\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.2f\t%d/%d\t\n", p.Method, p.WCF, p.WPersonal,
			m.PairAtK, m.TypeAtK, m.SimilarPairAtK, m.OtherPairAtK, m.FidelityAtK, m.PhotoPairAtK, m.KeptAtK, m.TypeQueries, m.OtherQueries)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%.1fs\n", r.EvalSeconds)
}

// printBlendGrid prints the validation sweep and the choice.
func printBlendGrid(w io.Writer, r *blendEvalReport) {
	c := r.Config
	fmt.Fprintf(w, "\nvalidation shoppers: pair@%d (photo of the preferred type) / for a photo of another type: type fidelity@%d, photo type+colour@%d, kept@%d\n", c.K, c.K, c.K, c.K)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "w_cf \\ w_personal\t")
	for _, wp := range c.GridPersonal {
		fmt.Fprintf(tw, "%g\t", wp)
	}
	fmt.Fprintln(tw)
	for i, wc := range c.GridCF {
		fmt.Fprintf(tw, "%g\t", wc)
		for j := range c.GridPersonal {
			m := r.Validation[i*len(c.GridPersonal)+j].Metrics
			fmt.Fprintf(tw, "%.3f/%.3f/%.3f/%.2f\t", m.PairAtK, m.FidelityAtK, m.PhotoPairAtK, m.KeptAtK)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(w, "chosen: w_personal %g (best pair@%d alone with kept@%d ≥ %g), then w_cf %g (best with it, kept@%d ≥ %g); type fidelity ≥ %.3f − %g throughout\n",
		r.ChosenWPers, c.K, c.K, c.MinKeptPers, r.ChosenWCF, c.K, c.MinKept, r.VisualFid, c.MaxLoss)
}
