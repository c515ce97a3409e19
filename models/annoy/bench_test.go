package annoy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lookalike/lookalike/models/vecfile"
)

// Benchmarks: p50 query time of the tree search (default search_k) against
// the exact scan, at catalogue sizes around the real one (40k), with and
// without a section filter, and re-ranking with int8 vectors. Run natively
// and under js/wasm:
//
//	go test -run '^$' -bench Search -benchtime 200x ./models/annoy
//	GOOS=js GOARCH=wasm go test -run '^$' -bench Search -benchtime 200x ./models/annoy
//
// (the second needs $(go env GOROOT)/lib/wasm on PATH). Indexes are cached
// in .cache/annoy-bench; set LOOKALIKE_BENCH_WIDE=1 to add 2048-d.

type benchSet struct {
	vecs    []float32
	queries []float32
	ix      *Index
	i8      *vecfile.Vectors
	truth   [][]int
}

var (
	benchMu   sync.Mutex
	benchSets = map[string]*benchSet{}
)

func loadBenchSet(b *testing.B, n, dim int) *benchSet {
	benchMu.Lock()
	defer benchMu.Unlock()
	key := fmt.Sprintf("%dx%d", n, dim)
	if s, ok := benchSets[key]; ok {
		return s
	}
	s := &benchSet{
		vecs:    clusteredVectors(n, dim, 200, 0.7, 31),
		queries: clusteredVectors(100, dim, 200, 0.7, 31^0xabc),
	}
	unitRows(s.vecs, dim)
	cache := filepath.Join(repoRoot(b), ".cache", "annoy-bench", key+"-t16-s1.ann")
	data, err := os.ReadFile(cache)
	if err != nil {
		start := time.Now()
		data, err = Build(s.vecs, dim, BuildOptions{Trees: DefaultTrees, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("built %s in %v (%d MB)", key, time.Since(start), len(data)>>20)
		if os.MkdirAll(filepath.Dir(cache), 0o755) == nil {
			os.WriteFile(cache, data, 0o644)
		}
	}
	if s.ix, err = Load(data, dim); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := vecfile.WriteVectors(&buf, vecfile.Int8, dim, s.vecs); err != nil {
		b.Fatal(err)
	}
	if s.i8, err = vecfile.ParseVectors(buf.Bytes()); err != nil {
		b.Fatal(err)
	}
	for qi := 0; qi < 100; qi++ {
		r, _ := s.ix.Exact(s.queries[qi*dim:(qi+1)*dim], Options{K: 10})
		s.truth = append(s.truth, items(r))
	}
	benchSets[key] = s
	return s
}

func BenchmarkSearch(b *testing.B) {
	sizes := []struct{ n, dim int }{{10000, 256}, {40000, 256}}
	if os.Getenv("LOOKALIKE_BENCH_WIDE") != "" {
		sizes = append(sizes, struct{ n, dim int }{40000, 2048})
	}
	for _, sz := range sizes {
		section := func(i int) bool { return i%7 == 3 } // a seventh of the items
		methods := []struct {
			name   string
			filter Filter
			run    func(s *benchSet, q []float32, f Filter) []Result
		}{
			{"tree", nil, func(s *benchSet, q []float32, f Filter) []Result {
				r, _ := s.ix.Search(q, Options{K: 10, Filter: f})
				return r
			}},
			{"exact", nil, func(s *benchSet, q []float32, f Filter) []Result {
				r, _ := s.ix.Exact(q, Options{K: 10, Filter: f})
				return r
			}},
			{"exact-int8", nil, func(s *benchSet, q []float32, f Filter) []Result {
				r, _ := BruteForce(s.i8, s.i8.Len(), q, 10, f)
				return r
			}},
			{"tree-int8rerank", nil, func(s *benchSet, q []float32, f Filter) []Result {
				r, _ := s.ix.Search(q, Options{K: 10, Filter: f, Rerank: s.i8})
				return r
			}},
			{"tree-section", section, nil},
			{"exact-section", section, nil},
		}
		methods[4].run = methods[0].run
		methods[5].run = methods[1].run
		for _, m := range methods {
			b.Run(fmt.Sprintf("n=%d/dim=%d/%s", sz.n, sz.dim, m.name), func(b *testing.B) {
				s := loadBenchSet(b, sz.n, sz.dim)
				times := make([]time.Duration, 0, b.N)
				var hits, total float64
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					qi := i % 100
					q := s.queries[qi*sz.dim : (qi+1)*sz.dim]
					t0 := time.Now()
					res := m.run(s, q, m.filter)
					times = append(times, time.Since(t0))
					if m.filter == nil && i < 100 {
						hits += recall(items(res), s.truth[qi]) * 10
						total += 10
					}
				}
				b.StopTimer()
				sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
				b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
				if total > 0 {
					b.ReportMetric(hits/total, "recall@10")
				}
			})
		}
	}
}

// BenchmarkBuild times Build at the real catalogue size.
func BenchmarkBuild(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("LOOKALIKE_BENCH_BUILD_N"))
	if n == 0 {
		n = 40000
	}
	vecs := clusteredVectors(n, 256, 200, 0.7, 31)
	unitRows(vecs, 256)
	for i := 0; i < b.N; i++ {
		if _, err := Build(vecs, 256, BuildOptions{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
