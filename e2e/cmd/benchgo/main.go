// Command benchgo measures our own engine and search for `make bench`, and
// prints one JSON object whose keys go into docs/bench.json next to the
// peers' figures. Built natively it reports the *_native_* keys; compiled
// to js/wasm and run under Node (wasm/exec/go_js_wasm_exec) the *_wasm_*
// keys.
//
//	go run ./e2e/cmd/benchgo engine --model M [--runs 7]
//	go run ./e2e/cmd/benchgo search --assets DIR [--queries 500]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sort"
	"time"

	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/engine"
	"github.com/lookalike/lookalike/models/search"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchgo engine|search [flags]")
		os.Exit(2)
	}
	var out map[string]any
	var err error
	switch os.Args[1] {
	case "engine":
		out, err = benchEngine(os.Args[2:])
	case "search":
		out, err = benchSearch(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchgo:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

// where is "wasm" or "native".
func where() string {
	if runtime.GOARCH == "wasm" {
		return "wasm"
	}
	return "native"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func quantile(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// peakMB is the memory the Go runtime has mapped: in js/wasm, the linear
// memory it has grown to (which never shrinks), i.e. the instance's peak.
func peakMB() float64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64()) / (1 << 20)
}

func benchEngine(args []string) (map[string]any, error) {
	fs := flag.NewFlagSet("engine", flag.ExitOnError)
	model := fs.String("model", "", "ONNX model")
	runs := fs.Int("runs", 7, "timed runs after one warm-up")
	fs.Parse(args)
	b, err := os.ReadFile(*model)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	m, err := engine.Load(b)
	if err != nil {
		return nil, err
	}
	load := time.Since(t0)
	b = nil
	s := m.NewSession()
	in := make([]float32, 3*224*224)
	r := rand.New(rand.NewSource(1))
	for i := range in {
		in[i] = float32(r.NormFloat64() * 50)
	}
	var times, cpu []float64
	for i := 0; i <= *runs; i++ {
		t, c := time.Now(), cpuMS()
		if _, err := s.Run(in, 1, "gap"); err != nil {
			return nil, err
		}
		if i > 0 {
			times = append(times, ms(time.Since(t)))
			cpu = append(cpu, cpuMS()-c)
		}
	}
	w := where()
	out := map[string]any{
		"embed_" + w + "_ms":      quantile(times, 0.5),
		"embed_" + w + "_cpu_ms":  quantile(cpu, 0.5),
		"model_load_" + w + "_ms": ms(load),
		"gemm_kernel_" + w:        engine.GemmKernel(),
	}
	if w == "wasm" {
		out["wasm_peak_mb"] = peakMB()
		out["model_load_ms"] = ms(load)
	} else {
		out["native_threads"] = runtime.GOMAXPROCS(0)
	}
	return out, nil
}

func benchSearch(args []string) (map[string]any, error) {
	fs := flag.NewFlagSet("search", flag.ExitOnError)
	dir := fs.String("assets", "", "assets folder (manifest.json)")
	nq := fs.Int("queries", 500, "queries")
	k := fs.Int("k", 10, "results per query")
	searchK := fs.Int("search-k", 0, "tree search candidate budget (0 = the engine's default)")
	section := fs.String("section", "", "restrict queries and answers to this section")
	exactAll := fs.Bool("force-exact", false, "answer with the exact scan (to compare with the tree)")
	browser := fs.Bool("browser", runtime.GOARCH == "wasm", "load the assets as the page does: index without item nodes, int8 vectors score")
	fs.Parse(args)
	mb, err := os.ReadFile(filepath.Join(*dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	man, err := catalog.ReadManifest(mb)
	if err != nil {
		return nil, err
	}
	// Like the page: in js/wasm the index's item nodes are skipped and the
	// int8 vector file scores the candidates (--browser=false: whole index).
	var from int64
	if *browser {
		if _, ok := man.Asset(search.KindVectors); ok {
			from = annoy.ItemsSize(man.ItemCount, man.Model.Embedding.Dim)
		}
	}
	e, err := search.Open(man, func(a catalog.Asset) ([]byte, error) {
		if len(a.Parts) == 0 {
			return os.ReadFile(filepath.Join(*dir, a.File))
		}
		var all []byte
		for _, p := range a.Parts {
			b, err := os.ReadFile(filepath.Join(*dir, p.File))
			if err != nil {
				return nil, err
			}
			all = append(all, b...)
		}
		if a.Kind == search.KindIndex && from > 0 {
			all = all[from:]
		}
		return all, nil
	}, search.Options{SkipModel: true, IndexFrom: from})
	if err != nil {
		return nil, err
	}
	// Queries: the stored vectors of randomly drawn catalogue products, the
	// product itself left out of both answers ("photo of a product, find
	// the others like it"): the nearest neighbours are other products, so
	// the tree has to find them rather than the query's own item.
	n, dim := e.Index.NumItems(), man.Model.Embedding.Dim
	r := rand.New(rand.NewSource(7))
	var tree, exact []float64
	hits := 0
	for q := 0; q < *nq; q++ {
		self := r.Intn(n)
		v := e.ItemVector(self, nil)
		t := time.Now()
		got, err := e.SearchVector(v, search.Query{K: *k + 1, SearchK: *searchK, Section: *section, Exact: *exactAll})
		if err != nil {
			return nil, err
		}
		tree = append(tree, ms(time.Since(t)))
		t = time.Now()
		want, err := e.SearchVector(v, search.Query{K: *k + 1, Exact: true, Section: *section})
		if err != nil {
			return nil, err
		}
		exact = append(exact, ms(time.Since(t)))
		set := map[int]bool{}
		for _, h := range leaveOut(want, self, *k) {
			set[h.Index] = true
		}
		for _, h := range leaveOut(got, self, *k) {
			if set[h.Index] {
				hits++
			}
		}
	}
	w := where()
	// recall_at_10 is the page's (js/wasm) figure; natively recall_at_10_native.
	recallKey := "recall_at_10"
	if w == "native" {
		recallKey += "_native"
	}
	return map[string]any{
		"search_" + w + "_p50_ms":       quantile(tree, 0.5),
		"search_" + w + "_p99_ms":       quantile(tree, 0.99),
		"search_" + w + "_exact_p50_ms": quantile(exact, 0.5),
		recallKey:                       float64(hits) / float64(*nq**k),
		"search_items":                  n,
		"search_dim":                    dim,
		"search_mode":                   map[bool]string{true: "exact scan", false: "annoy tree"}[annoy.PreferExact(n)],
		"search_k":                      *searchK,
		"search_scoring":                map[bool]string{true: "int8 vector file (index item nodes not loaded, as in the page)", false: "float32 index item nodes"}[e.Index.SplitsOnly()],
		"search_queries":                "stored vectors of random catalogue products, the product itself left out",
	}, nil
}

// leaveOut drops item self from hits and keeps the first k.
func leaveOut(hits []search.Hit, self, k int) []search.Hit {
	out := make([]search.Hit, 0, k)
	for _, h := range hits {
		if h.Index != self && len(out) < k {
			out = append(out, h)
		}
	}
	return out
}
