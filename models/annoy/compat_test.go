//go:build !js

package annoy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The compatibility tests drive Spotify Annoy's own C++ header through
// testdata/annoycheck.cc. They need g++ and annoylib.h + kissrandom.h in
// $ANNOYLIB_INCLUDE or <repo>/.cache/annoy. Debian's r-cran-rcppannoy
// package carries the header; without installing R:
//
//	apt-get download r-cran-rcppannoy && dpkg-deb -x r-cran-rcppannoy_*.deb x &&
//	mkdir -p .cache/annoy && cp x/usr/lib/R/site-library/RcppAnnoy/include/*.h .cache/annoy/
var (
	checkOnce sync.Once
	checkBin  string
	checkErr  error
)

func annoyCheck(t *testing.T) string {
	t.Helper()
	checkOnce.Do(func() {
		inc := os.Getenv("ANNOYLIB_INCLUDE")
		if inc == "" {
			inc = filepath.Join(repoRoot(t), ".cache", "annoy")
		}
		if _, err := os.Stat(filepath.Join(inc, "annoylib.h")); err != nil {
			checkErr = fmt.Errorf("annoylib.h not found in %s (set ANNOYLIB_INCLUDE)", inc)
			return
		}
		gxx, err := exec.LookPath("g++")
		if err != nil {
			checkErr = err
			return
		}
		dir, err := os.MkdirTemp("", "annoycheck-")
		if err != nil {
			checkErr = err
			return
		}
		checkBin = filepath.Join(dir, "annoycheck")
		out, err := exec.Command(gxx, "-O2", "-std=c++14", "-I", inc, "-o", checkBin, "testdata/annoycheck.cc").CombinedOutput()
		if err != nil {
			checkErr = fmt.Errorf("compiling annoycheck: %v\n%s", err, out)
		}
	})
	if checkErr != nil {
		t.Skipf("Spotify Annoy not available: %v", checkErr)
	}
	return checkBin
}

func writeFloats(t *testing.T, path string, v []float32) {
	t.Helper()
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("annoycheck %v: %v", args, err)
	}
	return string(out)
}

func parseIDs(t *testing.T, out string) [][]int {
	t.Helper()
	var res [][]int
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		var ids []int
		for _, f := range strings.Fields(line) {
			id, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		res = append(res, ids)
	}
	return res
}

// TestAnnoyOpensOurIndex: Annoy loads what Build writes, sees the same items,
// trees and vectors, and its exhaustive search agrees with our Exact.
func TestAnnoyOpensOurIndex(t *testing.T) {
	bin := annoyCheck(t)
	const n, dim, trees = 3000, 32, 8
	vecs := randomVectors(n, dim, 11)
	data, err := Build(vecs, dim, BuildOptions{Trees: trees, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ann := filepath.Join(dir, "ours.ann")
	if err := os.WriteFile(ann, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(run(t, bin, "info", strconv.Itoa(dim), ann)), fmt.Sprintf("%d %d", n, trees); got != want {
		t.Fatalf("Annoy sees items/trees %q, want %q", got, want)
	}
	ix, err := Load(data, dim)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		fs := strings.Fields(run(t, bin, "item", strconv.Itoa(dim), ann, strconv.Itoa(i)))
		for j, f := range fs {
			x, _ := strconv.ParseFloat(f, 32)
			if float32(x) != ix.Item(i)[j] {
				t.Fatalf("item %d[%d]: Annoy reads %v, we read %v", i, j, x, ix.Item(i)[j])
			}
		}
	}
	queries := randomVectors(20, dim, 12)
	qf := filepath.Join(dir, "q.f32")
	writeFloats(t, qf, queries)
	// search_k = n·trees makes Annoy visit every leaf: its answer is exact.
	annoyRes := parseIDs(t, run(t, bin, "query", strconv.Itoa(dim), ann, qf, "10", strconv.Itoa(n*trees*4)))
	for qi := range 20 {
		exact, err := ix.Exact(queries[qi*dim:(qi+1)*dim], Options{K: 10})
		if err != nil {
			t.Fatal(err)
		}
		if r := recall(annoyRes[qi], items(exact)); r < 1 {
			t.Errorf("query %d: Annoy exhaustive %v vs our Exact %v", qi, annoyRes[qi], items(exact))
		}
	}
}

// TestWeOpenAnnoysIndex: we load an index Annoy built; our tree search over
// it reaches at least Annoy's own recall at the same search_k.
func TestWeOpenAnnoysIndex(t *testing.T) {
	bin := annoyCheck(t)
	const n, dim, trees = 5000, 32, 10
	vecs := randomVectors(n, dim, 13)
	dir := t.TempDir()
	vf, ann := filepath.Join(dir, "v.f32"), filepath.Join(dir, "annoy.ann")
	writeFloats(t, vf, vecs)
	run(t, bin, "build", strconv.Itoa(dim), strconv.Itoa(trees), "3", vf, ann)
	data, err := os.ReadFile(ann)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := Load(data, dim)
	if err != nil {
		t.Fatal(err)
	}
	if ix.NumItems() != n || ix.NumTrees() != trees {
		t.Fatalf("items %d trees %d, want %d %d", ix.NumItems(), ix.NumTrees(), n, trees)
	}
	const nq = 50
	queries := randomVectors(nq, dim, 14)
	qf := filepath.Join(dir, "q.f32")
	writeFloats(t, qf, queries)
	for _, searchK := range []int{200, 1000} {
		annoyRes := parseIDs(t, run(t, bin, "query", strconv.Itoa(dim), ann, qf, "10", strconv.Itoa(searchK)))
		var ra, ro float64
		for qi := range nq {
			q := queries[qi*dim : (qi+1)*dim]
			want := naiveTop(vecs, dim, q, 10, nil)
			exact, _ := ix.Exact(q, Options{K: 10})
			if r := recall(items(exact), want); r < 1 {
				t.Fatalf("Exact over Annoy's index disagrees with naive: %v vs %v", items(exact), want)
			}
			got, err := ix.Search(q, Options{K: 10, SearchK: searchK})
			if err != nil {
				t.Fatal(err)
			}
			ra += recall(annoyRes[qi], want)
			ro += recall(items(got), want)
		}
		ra, ro = ra/nq, ro/nq
		t.Logf("Annoy-built index n=%d dim=%d trees=%d search_k=%d: recall@10 Annoy %.3f, ours %.3f", n, dim, trees, searchK, ra, ro)
		if ro < ra-0.02 || math.IsNaN(ro) {
			t.Errorf("our search recall %.3f is below Annoy's %.3f at search_k=%d", ro, ra, searchK)
		}
	}
}

// TestBuildMatchesAnnoyBytes: Build writes the bytes Annoy's own build does
// for the same items, trees and seed (Annoy compiled with its scalar
// kernels, as here).
func TestBuildMatchesAnnoyBytes(t *testing.T) {
	bin := annoyCheck(t)
	for _, tc := range []struct{ n, dim, trees int }{{1, 4, 2}, {5, 3, 1}, {300, 8, 3}, {4000, 32, 6}} {
		t.Run(fmt.Sprintf("%dx%d", tc.n, tc.dim), func(t *testing.T) {
			vecs := randomVectors(tc.n, tc.dim, 21)
			dir := t.TempDir()
			vf, ann := filepath.Join(dir, "v.f32"), filepath.Join(dir, "annoy.ann")
			writeFloats(t, vf, vecs)
			run(t, bin, "build", strconv.Itoa(tc.dim), strconv.Itoa(tc.trees), "77", vf, ann)
			want, err := os.ReadFile(ann)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Build(vecs, tc.dim, BuildOptions{Trees: tc.trees, Seed: 77})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				ns := NodeSize(tc.dim)
				first := -1
				for i := 0; i < min(len(got), len(want)); i++ {
					if got[i] != want[i] {
						first = i
						break
					}
				}
				t.Fatalf("bytes differ: ours %d bytes (%d nodes), Annoy %d (%d nodes); first difference at byte %d (node %d, offset %d)",
					len(got), len(got)/ns, len(want), len(want)/ns, first, first/ns, first%ns)
			}
		})
	}
}
