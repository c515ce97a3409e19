package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"time"

	"github.com/lookalike/lookalike/internal/topk"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/search"
	"github.com/lookalike/lookalike/models/vecfile"
)

// benchCodes measures the search the page runs on a catalogue with codes
// (the engine loaded as the page loads it: codes, heads, catalogue; no
// index, no vector file) against the exact cosine scan of the stored
// vectors, unfiltered and within the query product's own section (a
// section tab). Keys end in --suffix (e.g. _1m).
func benchCodes(args []string) (map[string]any, error) {
	fs := flag.NewFlagSet("codes", flag.ExitOnError)
	dir := fs.String("assets", "", "assets folder (manifest.json)")
	nq := fs.Int("queries", 200, "queries")
	k := fs.Int("k", 10, "results per query")
	suffix := fs.String("suffix", "", "suffix of every key (e.g. _1m)")
	laterMax := fs.Int64("later-max-bytes", 64<<20, "the page fetches the vector file after its first results when it is at most this size (static/asset-plan.js LATER_MAX_BYTES)")
	diskMax := fs.Int64("disk-max-bytes", 1<<30, "past later-max-bytes and up to this size the page keeps the vector file on disk and re-scores the codes' best StoredPool from it (static/asset-plan.js DISK_MAX_BYTES)")
	rerank := fs.Int("rerank", 0, "also: recall when the codes' best R are re-ranked by exact cosine of the stored vectors (what a re-rank stage would reach; 0 = skip)")
	fs.Parse(args)
	man, err := readManifest(*dir)
	if err != nil {
		return nil, err
	}
	read := func(a catalog.Asset) ([]byte, error) {
		var all []byte
		for _, p := range a.Files() {
			b, err := os.ReadFile(filepath.Join(*dir, p.File))
			if err != nil {
				return nil, err
			}
			all = append(all, b...)
		}
		return all, nil
	}
	t0 := time.Now()
	e, err := search.Open(man, func(a catalog.Asset) ([]byte, error) {
		switch a.Kind {
		case search.KindIndex, search.KindVectors, search.KindNeighbors, search.KindCF:
			return nil, search.ErrNotLoaded // as the page: codes only
		}
		return read(a)
	}, search.Options{SkipModel: true})
	if err != nil {
		return nil, err
	}
	if e.Codes == nil {
		return nil, errors.New("the assets have no codes")
	}
	open := ms(time.Since(t0))
	peak := peakMB()
	va, ok := man.Asset(search.KindVectors)
	if !ok {
		return nil, errors.New("the assets have no vector file (needed for the exact answers)")
	}
	vb, err := read(va)
	if err != nil {
		return nil, err
	}
	vecs, err := vecfile.ParseVectors(vb)
	if err != nil {
		return nil, err
	}
	n := vecs.Len()
	sections := e.Display.Sections()
	secOf := make([]int, n)
	for i := range secOf {
		secOf[i] = e.Display.SectionIndex(i)
	}
	exact := func(v []float32, self, sec int) map[int]bool {
		t := topk.New(*k)
		for i := 0; i < n; i++ {
			if i != self && (sec < 0 || secOf[i] == sec) {
				t.Push(i, vecs.Score(v, i))
			}
		}
		set := map[int]bool{}
		for _, r := range t.Sorted() {
			set[r.Item] = true
		}
		return set
	}
	out := map[string]any{}
	// First as the page's first search (codes alone), then as every search
	// after it once the vector file has arrived (asset-plan.js LATER; the
	// page fetches it only up to LATER_MAX_BYTES): the codes' shortlist
	// re-scored by the stored vectors.
	if err := measure(e, vecs, secOf, sections, exact, *nq, *k, *rerank, "_first", *suffix, out); err != nil {
		return nil, err
	}
	stored := false
	if va.Size <= *laterMax {
		if err := e.Attach(search.KindVectors, vb); err != nil {
			return nil, err
		}
	} else if va.Size <= *diskMax {
		// As the page past LATER_MAX_BYTES: the whole file on disk (the
		// page's private file system; here a temporary file), the
		// shortlist's records read back from it.
		path, err := writeTemp(vb)
		if err != nil {
			return nil, err
		}
		defer os.Remove(path)
		r, closeFn, err := openRecords(path)
		if err != nil {
			return nil, err
		}
		defer closeFn()
		if err := e.AttachStored(vb[:vecfile.HeaderSize], r); err != nil {
			return nil, err
		}
		stored = true
	}
	if err := measure(e, vecs, secOf, sections, exact, *nq, *k, 0, "", *suffix, out); err != nil {
		return nil, err
	}
	out["search_reranked"+*suffix] = e.Vectors != nil || e.Stored != nil
	out["search_stored"+*suffix] = stored
	w := where()
	out["search_"+w+"_open_ms"+*suffix] = open
	out["search_"+w+"_peak_mb"+*suffix] = peak
	out["search_items"+*suffix] = n
	out["search_codes"+*suffix] = fmt.Sprintf("%d bytes per product (models/pq), scanned exhaustively, as the page loads them (no index; _first: no vectors, as the first search; without _first: the best %d re-scored by the vector file the page fetches after its first results, when it is at most %d bytes, or the best %d re-scored from its copy on disk up to %d bytes)", e.Codes.M, search.RerankPool, *laterMax, search.StoredPool, *diskMax)
	out["search_queries"+*suffix] = "stored vectors of random products, the product itself left out; _section: within the product's own section; truth: exact cosine over the stored vectors"
	return out, nil
}

// measure runs nq queries unfiltered and within the query product's
// section and records latency and recall@k under keys with phase (e.g.
// "_first") before the suffix; rerank > 0 also records what re-ranking the
// search's best rerank by the stored vectors would reach (the caller asks
// for it on the codes alone).
func measure(e *search.Engine, vecs *vecfile.Vectors, secOf []int, sections []string, exact func([]float32, int, int) map[int]bool, nq, k, rerank int, phase, suffix string, out map[string]any) error {
	n := vecs.Len()
	r := rand.New(rand.NewSource(7))
	for _, mode := range []string{"", "_section"} {
		var times []float64
		hits, rhits := 0, 0
		for q := 0; q < nq; q++ {
			self := r.Intn(n)
			v := vecs.Vector(self, nil)
			sec, name := -1, ""
			if mode != "" {
				sec = secOf[self]
				name = sections[sec]
			}
			t := time.Now()
			got, err := e.SearchVector(v, search.Query{K: k + 1, Section: name})
			if err != nil {
				return err
			}
			times = append(times, ms(time.Since(t)))
			want := exact(v, self, sec)
			for _, h := range leaveOut(got, self, k) {
				if want[h.Index] {
					hits++
				}
			}
			if rerank > 0 {
				short, err := e.SearchVector(v, search.Query{K: rerank + 1, Section: name})
				if err != nil {
					return err
				}
				t := topk.New(k)
				for _, h := range short {
					if h.Index != self {
						t.Push(h.Index, vecs.Score(v, h.Index))
					}
				}
				for _, r := range t.Sorted() {
					if want[r.Item] {
						rhits++
					}
				}
			}
		}
		w := where()
		out["search_"+w+mode+phase+"_p50_ms"+suffix] = quantile(times, 0.5)
		out["search_"+w+mode+phase+"_p99_ms"+suffix] = quantile(times, 0.99)
		native := ""
		if w == "native" {
			native = "_native"
		}
		out["recall_at_10"+mode+phase+native+suffix] = float64(hits) / float64(nq*k)
		if rerank > 0 {
			out[fmt.Sprintf("recall_at_10%s%s_rerank%d%s", mode, native, rerank, suffix)] = float64(rhits) / float64(nq*k)
		}
	}
	return nil
}

// writeTemp writes b to a new temporary file and returns its path.
func writeTemp(b []byte) (string, error) {
	f, err := os.CreateTemp("", "lookalike-vectors-*.bin")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), f.Close()
}
