package cf

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// Product is what the shopper simulation needs from a catalogue row.
type Product struct {
	ID, ArticleType, Colour string
}

// ReadProducts reads id, articleType and baseColour from a catalogue CSV
// (other columns ignored). Rows with an empty id are skipped; a missing
// column is an error.
func ReadProducts(r io.Reader) ([]Product, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("cf: reading catalogue header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	var idx [3]int
	for k, name := range []string{"id", "articletype", "basecolour"} {
		i, ok := col[name]
		if !ok {
			return nil, fmt.Errorf("cf: catalogue header %q has no %s column", strings.Join(header, ","), name)
		}
		idx[k] = i
	}
	var ps []Product
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("cf: reading catalogue: %w", err)
		}
		if max(idx[0], idx[1], idx[2]) >= len(rec) || strings.TrimSpace(rec[idx[0]]) == "" {
			continue
		}
		ps = append(ps, Product{strings.TrimSpace(rec[idx[0]]), strings.TrimSpace(rec[idx[1]]), strings.TrimSpace(rec[idx[2]])})
	}
	return ps, nil
}

// SimOptions is the shopper behaviour model. Each simulated shopper:
//
//  1. prefers one (articleType, baseColour) pair, drawn with probability
//     proportional to the pair's product count among pairs with at least
//     MinPairProducts products (popular kinds of product have more fans);
//  2. views between ViewsMin and ViewsMax products (uniform). Each view is
//     drawn from the preferred pair with probability PPair, else from the
//     preferred articleType in any colour (PType), else the preferred colour
//     in any type (PColour), else anywhere in the catalogue (noise);
//  3. inside any of those pools picks products with a Zipf(ZipfS) law over
//     a seeded shuffle of the pool: shops have bestsellers;
//  4. after a view of a preferred-pair product adds it to the cart with
//     probability PCart, and buys a carted product with PPurchase.
//
// Timestamps start at Epoch plus a uniform offset within 30 days and grow
// 20–600 s per view. The same options and seed give the same bytes.
type SimOptions struct {
	Users                 int
	Seed                  uint64
	MinPairProducts       int
	ViewsMin, ViewsMax    int
	PPair, PType, PColour float64
	ZipfS                 float64
	PCart, PPurchase      float64
	Epoch                 int64
}

// DefaultSimOptions is the documented behaviour model (docs/cf.md).
func DefaultSimOptions() SimOptions {
	return SimOptions{
		Users: 2000, Seed: 1, MinPairProducts: 10,
		ViewsMin: 5, ViewsMax: 25,
		PPair: 0.6, PType: 0.15, PColour: 0.1,
		ZipfS: 0.8, PCart: 0.15, PPurchase: 0.3,
		Epoch: 1_700_000_000,
	}
}

// SimStats summarises a simulation.
type SimStats struct {
	Users, Rows, Pairs int
}

// SimulatedHeader is the CSV header Simulate writes. ReadLog reads the
// first four columns; pref_* and source let an evaluation score rankings
// against each shopper's hidden preference.
var SimulatedHeader = []string{"user", "item", "event", "timestamp", "pref_articleType", "pref_baseColour", "source"}

// pool is a list of product indices with cumulative Zipf weights.
type pool struct {
	items []int
	cum   []float64
}

func newPool(items []int, s float64, rng *rand.Rand) *pool {
	p := &pool{items: append([]int(nil), items...)}
	rng.Shuffle(len(p.items), func(i, j int) { p.items[i], p.items[j] = p.items[j], p.items[i] })
	var t float64
	p.cum = make([]float64, len(p.items))
	for r := range p.items {
		t += 1 / math.Pow(float64(r+1), s)
		p.cum[r] = t
	}
	return p
}

func (p *pool) pick(rng *rand.Rand) int {
	x := rng.Float64() * p.cum[len(p.cum)-1]
	r := sort.SearchFloat64s(p.cum, x)
	return p.items[min(r, len(p.items)-1)]
}

// Simulate writes a simulated interactions CSV (SimulatedHeader) for
// opt.Users shoppers over products. Its output is a test fixture: it says
// nothing about real shoppers.
func Simulate(w io.Writer, products []Product, opt SimOptions) (SimStats, error) {
	switch {
	case opt.Users <= 0:
		return SimStats{}, fmt.Errorf("cf: Simulate: %d users, want > 0", opt.Users)
	case opt.ViewsMin <= 0 || opt.ViewsMax < opt.ViewsMin:
		return SimStats{}, fmt.Errorf("cf: Simulate: views %d..%d", opt.ViewsMin, opt.ViewsMax)
	case opt.PPair < 0 || opt.PType < 0 || opt.PColour < 0 || opt.PPair+opt.PType+opt.PColour > 1:
		return SimStats{}, errors.New("cf: Simulate: PPair, PType, PColour must be ≥ 0 and sum to ≤ 1")
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x4c4b4346))
	type pair struct{ t, c string }
	byPair, byType, byColour := map[pair][]int{}, map[string][]int{}, map[string][]int{}
	all := make([]int, len(products))
	for i, p := range products {
		all[i] = i
		byPair[pair{p.ArticleType, p.Colour}] = append(byPair[pair{p.ArticleType, p.Colour}], i)
		byType[p.ArticleType] = append(byType[p.ArticleType], i)
		byColour[p.Colour] = append(byColour[p.Colour], i)
	}
	var pairs []pair
	for k, v := range byPair {
		if len(v) >= max(1, opt.MinPairProducts) {
			pairs = append(pairs, k)
		}
	}
	if len(pairs) == 0 {
		return SimStats{}, fmt.Errorf("cf: Simulate: no articleType+colour pair has %d products", opt.MinPairProducts)
	}
	sort.Slice(pairs, func(a, b int) bool {
		if pairs[a].t != pairs[b].t {
			return pairs[a].t < pairs[b].t
		}
		return pairs[a].c < pairs[b].c
	})
	// Pools are built lazily in a deterministic order of first use.
	pools := map[string]*pool{}
	get := func(key string, items []int) *pool {
		if p, ok := pools[key]; ok {
			return p
		}
		p := newPool(items, opt.ZipfS, rng)
		pools[key] = p
		return p
	}
	global := get("*", all)
	cumPair := make([]float64, len(pairs))
	var t float64
	for i, p := range pairs {
		t += float64(len(byPair[p]))
		cumPair[i] = t
	}

	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	if err := cw.Write(SimulatedHeader); err != nil {
		return SimStats{}, fmt.Errorf("cf: Simulate: %w", err)
	}
	st := SimStats{Users: opt.Users, Pairs: len(pairs)}
	for u := 0; u < opt.Users; u++ {
		user := fmt.Sprintf("sim-%06d", u+1)
		pr := pairs[min(sort.SearchFloat64s(cumPair, rng.Float64()*t), len(pairs)-1)]
		pPair := get("p\x00"+pr.t+"\x00"+pr.c, byPair[pr])
		pType := get("t\x00"+pr.t, byType[pr.t])
		pColour := get("c\x00"+pr.c, byColour[pr.c])
		ts := opt.Epoch + rng.Int64N(30*24*3600)
		views := opt.ViewsMin + rng.IntN(opt.ViewsMax-opt.ViewsMin+1)
		for v := 0; v < views; v++ {
			ts += 20 + rng.Int64N(581)
			x := rng.Float64()
			var item int
			var source string
			switch {
			case x < opt.PPair:
				item, source = pPair.pick(rng), "pair"
			case x < opt.PPair+opt.PType:
				item, source = pType.pick(rng), "type"
			case x < opt.PPair+opt.PType+opt.PColour:
				item, source = pColour.pick(rng), "colour"
			default:
				item, source = global.pick(rng), "noise"
			}
			rows := [][2]string{{"view", strconv.FormatInt(ts, 10)}}
			p := products[item]
			if p.ArticleType == pr.t && p.Colour == pr.c && rng.Float64() < opt.PCart {
				rows = append(rows, [2]string{"cart", strconv.FormatInt(ts+30, 10)})
				if rng.Float64() < opt.PPurchase {
					rows = append(rows, [2]string{"purchase", strconv.FormatInt(ts+90, 10)})
				}
			}
			for _, r := range rows {
				if err := cw.Write([]string{user, p.ID, r[0], r[1], pr.t, pr.c, source}); err != nil {
					return st, fmt.Errorf("cf: Simulate: %w", err)
				}
				st.Rows++
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return st, fmt.Errorf("cf: Simulate: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("cf: Simulate: %w", err)
	}
	return st, nil
}
