// Command benchgo measures our own engine and search for `make bench`, and
// prints one JSON object whose keys go into docs/bench.json next to the
// peers' figures. Built natively it reports the *_native_* keys; compiled
// to js/wasm and run under Node (wasm/exec/go_js_wasm_exec) the *_wasm_*
// keys.
//
//	go run ./e2e/cmd/benchgo engine --model M [--runs 7] [--activations int8|fp32] [--variant mt]
//	go run ./e2e/cmd/benchgo search --assets DIR [--queries 500]
//	go run ./e2e/cmd/benchgo codes --assets DIR [--queries 200] [--suffix _1m]
//	go run ./e2e/cmd/benchgo int8cos --model M --catalog CSV [--n 24] [--assets DIR]
//
// engine's keys are embed_<where>[_<variant>]_ms …: --variant mt for a run
// with several threads (LOOKALIKE_WASM_THREADS under js/wasm), fp32 for
// float32 activations beside the default int8.
package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"sort"
	"time"

	"github.com/lookalike/lookalike/internal/vec"
	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/engine"
	"github.com/lookalike/lookalike/models/project"
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
	case "codes":
		out, err = benchCodes(os.Args[2:])
	case "int8cos":
		out, err = benchInt8Cos(os.Args[2:])
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

// readManifest reads and checks DIR/manifest.json.
func readManifest(dir string) (*catalog.Manifest, error) {
	mb, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	return catalog.ReadManifest(mb)
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
	act := fs.String("activations", string(engine.DefaultActivations), "int8 or fp32")
	variant := fs.String("variant", "", "key infix: embed_<where>_<variant>_ms (e.g. mt, fp32)")
	fs.Parse(args)
	prec, err := engine.ParsePrecision(*act)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(*model)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	m, err := engine.LoadWith(b, engine.Options{Activations: prec})
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
	if *variant != "" {
		out := map[string]any{
			"embed_" + w + "_" + *variant + "_ms":     quantile(times, 0.5),
			"embed_" + w + "_" + *variant + "_cpu_ms": quantile(cpu, 0.5),
			"activations_" + w + "_" + *variant:       string(m.Activations()),
			"threads_" + w + "_" + *variant:           os.Getenv("LOOKALIKE_WASM_THREADS"),
		}
		return out, nil
	}
	out := map[string]any{
		"embed_" + w + "_ms":      quantile(times, 0.5),
		"embed_" + w + "_cpu_ms":  quantile(cpu, 0.5),
		"model_load_" + w + "_ms": ms(load),
		"gemm_kernel_" + w:        engine.GemmKernel(),
		"int8_kernel_" + w:        engine.Int8Kernel(),
		"activations_" + w:        string(m.Activations()),
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
	man, err := readManifest(*dir)
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

// benchInt8Cos embeds n catalogue photos (every 97th row) with int8 and with
// float32 activations, through the whole embedder (with the projection of
// --assets when given, else the pooled features), and reports the lowest
// and mean cosine between the two.
func benchInt8Cos(args []string) (map[string]any, error) {
	fs := flag.NewFlagSet("int8cos", flag.ExitOnError)
	model := fs.String("model", "", "ONNX model")
	csvPath := fs.String("catalog", "", "catalogue CSV with an image column (paths relative to it)")
	n := fs.Int("n", 24, "photos")
	assets := fs.String("assets", "", "assets folder whose projection to apply (optional)")
	fs.Parse(args)
	mb, err := os.ReadFile(*model)
	if err != nil {
		return nil, err
	}
	var proj *project.Projection
	if *assets != "" {
		if proj, err = assetsProjection(*assets); err != nil {
			return nil, err
		}
	}
	embs := map[engine.Precision]*embed.Embedder{}
	for _, p := range []engine.Precision{engine.Int8, engine.FP32} {
		e, err := embed.New(mb, embed.Options{Pooling: embed.Both, Activations: p})
		if err != nil {
			return nil, err
		}
		if proj != nil {
			e.SetProjection(proj)
		}
		embs[p] = e
	}
	photos, err := everyNth(*csvPath, 97, *n)
	if err != nil {
		return nil, err
	}
	lo, sum := 1.0, 0.0
	for _, ph := range photos {
		data, err := os.ReadFile(ph)
		if err != nil {
			return nil, err
		}
		var v [2][]float32
		for i, p := range []engine.Precision{engine.Int8, engine.FP32} {
			if v[i], err = embs[p].EmbedBytes(data, nil); err != nil {
				return nil, fmt.Errorf("%s: %w", ph, err)
			}
		}
		c := float64(vec.Dot(v[0], v[1])) // both unit length
		lo, sum = min(lo, c), sum+c
	}
	what := "pooled gap+gmp features"
	if proj != nil {
		what = "embeddings with the projection of " + *assets
	}
	return map[string]any{
		"embed_int8_cos_min":  lo,
		"embed_int8_cos_mean": sum / float64(len(photos)),
		"embed_int8_photos":   len(photos),
		"embed_int8_compared": what,
	}, nil
}

// everyNth returns the image paths of every nth row of a catalogue CSV,
// up to count.
func everyNth(path string, nth, count int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	col := slices.Index(head, "image")
	if col < 0 {
		return nil, fmt.Errorf("%s: no image column", path)
	}
	var out []string
	for row := 1; len(out) < count; row++ {
		rec, err := r.Read()
		if err != nil {
			return nil, fmt.Errorf("%s: %d photos of %d: %w", path, len(out), count, err)
		}
		if row%nth == 0 {
			out = append(out, filepath.Join(filepath.Dir(path), rec[col]))
		}
	}
	return out, nil
}

// assetsProjection reads the projection asset a build wrote.
func assetsProjection(dir string) (*project.Projection, error) {
	mb, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	man, err := catalog.ReadManifest(mb)
	if err != nil {
		return nil, err
	}
	a, ok := man.Asset(search.KindProjection)
	if !ok {
		return nil, fmt.Errorf("%s: no projection asset", dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, a.File))
	if err != nil {
		return nil, err
	}
	return project.Decode(b)
}
