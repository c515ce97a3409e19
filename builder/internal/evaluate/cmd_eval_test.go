//go:build !js

package evaluate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/builder/internal/build"
	"github.com/lookalike/lookalike/builder/internal/buildtest"
	"github.com/lookalike/lookalike/builder/internal/embedcache"
	"github.com/lookalike/lookalike/models/imageprep"
)

// buildQuiet is buildtest.BuildFunc: `builder build` with args, no log.
func buildQuiet(args []string) error {
	cfg, err := build.ParseBuildFlags(args)
	if err != nil {
		return err
	}
	cfg.Log = io.Discard
	return build.Build(context.Background(), cfg)
}

func TestEvalPrecisionOnKnownAnswers(t *testing.T) {
	for _, tc := range []struct{ pooling, vectors string }{{"gap", "float32"}, {"gmp", "int8"}} {
		t.Run(tc.pooling+"-"+tc.vectors, func(t *testing.T) {
			assets, _, queries, cache := buildtest.TinyAssets(t, buildQuiet, "--pooling", tc.pooling, "--vectors", tc.vectors)
			var out, log bytes.Buffer
			cfg := &evalConfig{Assets: assets, Queries: queries, K: 2, Methods: []string{methodOurs, methodRaw, methodHist, methodStored},
				Distort: []string{"clean"}, Cache: cache, LatencySample: 2, Workers: 2, Out: &out, Log: &log}
			res, err := evaluate(cfg)
			if err != nil {
				t.Fatalf("evaluate: %v\n%s", err, log.String())
			}
			if got, want := strings.Join(res.Labels, "|"), "articleType|baseColour|articleType+baseColour"; got != want {
				t.Fatalf("labels %q, want %q", got, want)
			}
			if fmt.Sprint(res.Cutoffs) != "[1 2]" || res.Queries != 2 || res.CatalogItems != 6 {
				t.Fatalf("cutoffs %v, queries %d, items %d", res.Cutoffs, res.Queries, res.CatalogItems)
			}
			// Worked out by hand (see tinyCatalog). ours, stored and raw rank q1 → A, C
			// and q2 → D, F. The histogram baseline puts A and C in the same
			// bin as q1 but F in another bin than q2, so q2 → D, then the
			// first item with a zero intersection (A).
			want := map[string]map[string][]float64{
				methodOurs: {
					"articleType": {0.5, 0.5}, "baseColour": {1, 1}, "articleType+baseColour": {0.5, 0.5},
				},
				methodRaw: {
					"articleType": {0.5, 0.5}, "baseColour": {1, 1}, "articleType+baseColour": {0.5, 0.5},
				},
				methodHist: {
					"articleType": {0.5, 0.5}, "baseColour": {1, 0.75}, "articleType+baseColour": {0.5, 0.25},
				},
			}
			want[methodStored] = want[methodOurs]
			if len(res.Runs) != 1 || len(res.Runs[0].Methods) != 4 {
				t.Fatalf("runs %+v", res.Runs)
			}
			for _, m := range res.Runs[0].Methods {
				for label, w := range want[m.Method] {
					got := m.Precision[label]
					if len(got) != len(w) {
						t.Fatalf("%s %s: %v, want %v", m.Method, label, got, w)
					}
					for i := range w {
						if math.Abs(got[i]-w[i]) > 1e-9 {
							t.Errorf("%s precision@%d %s = %v, want %v", m.Method, res.Cutoffs[i], label, got[i], w[i])
						}
					}
				}
				// q1 scores 1 and q2 0 at @1 (standard error 0.5); both 0.5 at @2.
				if se := m.StdErr["articleType"]; len(se) != 2 || math.Abs(se[0]-0.5) > 1e-9 || se[1] != 0 {
					t.Errorf("%s: articleType standard errors %v, want [0.5 0]", m.Method, se)
				}
				if want[m.Method] == nil {
					t.Errorf("unexpected method %q", m.Method)
				}
				if m.Queries != 2 {
					t.Errorf("%s: %d queries", m.Method, m.Queries)
				}
			}
			// eval shares the build's embedding cache (both pooled outputs per
			// photo): the 6 catalogue photos from the build, plus the 2 queries;
			// and keeps the 2 queries' photo records (ours' pipeline) beside it.
			if n := cachedImages(t, cache); n != 10 {
				t.Errorf("the embedding caches hold %d records, want 8 photos + 2 photo records", n)
			}
			if lat := res.Runs[0].Methods[0].Latency; lat == nil || lat.Samples != 2 {
				t.Errorf("ours latency %+v, want 2 samples", lat)
			}
			if err := res.writeTable(&out); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"articleType p@1/2", "articleType+baseColour p@1/2", "ours", "raw", "hist", "1.000/0.750", "0.500/0.250"} {
				if !strings.Contains(out.String(), s) {
					t.Errorf("table lacks %q:\n%s", s, out.String())
				}
			}
		})
	}
}

// cachedImages counts the photos in every embedding cache under root.
func cachedImages(t *testing.T, root string) int {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(root, "embed", "*", "meta.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no embedding cache under %s (%v)", root, err)
	}
	n := 0
	for _, m := range dirs {
		var meta embedcache.Meta
		b, _ := os.ReadFile(m)
		if err := json.Unmarshal(b, &meta); err != nil {
			t.Fatal(err)
		}
		c, err := embedcache.Open(filepath.Join(root, "embed"), meta.Model, meta.Pipeline, meta.Dim)
		if err != nil {
			t.Fatal(err)
		}
		n += c.Len()
		c.Close()
	}
	return n
}

func TestEvalSkipsQueriesInCatalogueAndDistorts(t *testing.T) {
	assets, catalogCSV, queries, cache := buildtest.TinyAssets(t, buildQuiet)
	var log bytes.Buffer
	// The catalogue itself as queries: every row is in the assets.
	cfg := &evalConfig{Assets: assets, Queries: catalogCSV, K: 2, Methods: []string{methodOurs}, Distort: []string{"clean"},
		Cache: cache, Workers: 1, Out: io.Discard, Log: &log}
	if _, err := evaluate(cfg); err == nil || !strings.Contains(err.Error(), "no usable queries") {
		t.Fatalf("err = %v, want no usable queries", err)
	}
	if !strings.Contains(log.String(), "is in the catalogue") {
		t.Errorf("log does not say why queries were skipped:\n%s", log.String())
	}
	// Distorted runs: JSON output with one run per distortion, same numbers
	// twice (the distortions are seeded).
	var outs [2]bytes.Buffer
	for i := range outs {
		cfg := &evalConfig{Assets: assets, Queries: queries, Catalog: catalogCSV, K: 2, Methods: []string{methodOurs, methodHist},
			Distort: []string{"clean", "dim", "warm", "crop+jpeg", "scene", "rotate"}, Cache: cache, Workers: 2, Out: io.Discard, Log: io.Discard}
		res, err := evaluate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Runs) != 6 {
			t.Fatalf("%d runs, want 6", len(res.Runs))
		}
		for _, r := range res.Runs {
			for _, m := range r.Methods {
				json.NewEncoder(&outs[i]).Encode([]any{r.Distortion, m.Method, m.Precision}) // timings vary
			}
		}
	}
	if outs[0].String() != outs[1].String() {
		t.Errorf("two runs differ:\n%s\n%s", outs[0].String(), outs[1].String())
	}
}

func TestEvalErrors(t *testing.T) {
	assets, catalogCSV, queries, _ := buildtest.TinyAssets(t, buildQuiet)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no assets", []string{"--queries", queries}, "required"},
		{"bad k", []string{"--assets", assets, "--queries", queries, "--k", "0"}, "--k"},
		{"bad method", []string{"--assets", assets, "--queries", queries, "--methods", "ours,magic"}, "unknown method"},
		{"bad distortion", []string{"--assets", assets, "--queries", queries, "--distort", "clean,blur"}, "unknown mode"},
		{"bad label", []string{"--assets", assets, "--queries", queries, "--catalog", catalogCSV, "--labels", "size"}, "no column"},
		{"missing assets", []string{"--assets", filepath.Join(assets, "nope"), "--queries", queries}, "manifest.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runEval(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestEvalTopK(t *testing.T) {
	scores := []float64{0.1, 0.9, math.Inf(-1), 0.5, 0.9, 0.3}
	for _, tc := range []struct {
		k    int
		want string
	}{{1, "[1]"}, {2, "[1 4]"}, {3, "[1 4 3]"}, {10, "[1 4 3 5 0]"}} {
		got := fmt.Sprint(evalTopK(len(scores), tc.k, func(i int) float64 { return scores[i] }))
		if got != tc.want {
			t.Errorf("evalTopK k=%d = %s, want %s", tc.k, got, tc.want)
		}
	}
	if got := fmt.Sprint(cutoffs(10), cutoffs(3), cutoffs(1), cutoffs(20)); got != "[1 5 10] [1 3] [1] [1 5 10 20]" {
		t.Errorf("cutoffs: %s", got)
	}
}

// photoPNG is a 30×40 product-like photo: a coloured block on white.
func photoPNG(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 30, 40))
	for y := 0; y < 40; y++ {
		for x := 0; x < 30; x++ {
			c := color.RGBA{255, 255, 255, 255}
			if x >= 8 && x < 22 && y >= 6 && y < 34 {
				c = color.RGBA{uint8(40 + 5*x), 60, uint8(200 - 4*y), 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDistortPhoto(t *testing.T) {
	src := photoPNG(t)
	srcImg, _, _ := imageprep.Decode(src, imageprep.Options{})
	for _, tc := range []struct {
		modes      string
		w, h       int // 0: same as the source
		wantFormat string
	}{
		{"dim", 0, 0, "png"}, {"warm", 0, 0, "png"}, {"rotate", 0, 0, "png"}, {"jpeg", 0, 0, "jpeg"},
		{"scene", 51, 68, "png"}, {"crop", -1, -1, "png"}, {"crop+jpeg", -1, -1, "jpeg"}, {"jpeg+dim", 0, 0, "png"},
	} {
		t.Run(tc.modes, func(t *testing.T) {
			modes, err := parseDistortion(tc.modes)
			if err != nil {
				t.Fatal(err)
			}
			a, err := distortPhoto(src, modes, 7)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := distortPhoto(src, modes, 7)
			if !bytes.Equal(a, b) {
				t.Error("same seed, different output")
			}
			img, info, err := imageprep.Decode(a, imageprep.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != tc.wantFormat {
				t.Errorf("format %s, want %s", info.Format, tc.wantFormat)
			}
			w, h := img.Bounds().Dx(), img.Bounds().Dy()
			switch {
			case tc.w == 0 && (w != 30 || h != 40):
				t.Errorf("size %dx%d, want 30x40", w, h)
			case tc.w > 0 && (w != tc.w || h != tc.h):
				t.Errorf("size %dx%d, want %dx%d", w, h, tc.w, tc.h)
			case tc.w < 0 && (w < 18 || w > 24 || h < 24 || h > 32):
				t.Errorf("crop %dx%d, want 60–80%% of 30x40", w, h)
			}
			if tc.w == 0 && meanAbsDiff(srcImg, img) < 3 {
				t.Errorf("%s barely changed the photo", tc.modes)
			}
		})
	}
	// Different seeds give different distortions.
	a, _ := distortPhoto(src, []string{"crop"}, 1)
	b, _ := distortPhoto(src, []string{"crop"}, 2)
	c, _ := distortPhoto(src, []string{"crop"}, 3)
	if bytes.Equal(a, b) && bytes.Equal(b, c) {
		t.Error("three seeds, one crop")
	}
	// The dimmed photo is darker, the warm one redder and less blue.
	dim, _ := distortPhoto(src, []string{"dim"}, 1)
	warm, _ := distortPhoto(src, []string{"warm"}, 1)
	r0, _, b0 := meanRGB(srcImg)
	dimImg, _, _ := imageprep.Decode(dim, imageprep.Options{})
	warmImg, _, _ := imageprep.Decode(warm, imageprep.Options{})
	if r, g, b := meanRGB(dimImg); r+g+b >= r0+b0 {
		t.Errorf("dim: mean %v %v %v not darker", r, g, b)
	}
	if r, _, b := meanRGB(warmImg); r <= r0 || b >= b0 {
		t.Errorf("warm: red %v (was %v), blue %v (was %v)", r, r0, b, b0)
	}
	// The scene keeps the product's pixels and replaces the white.
	sc, _ := distortPhoto(src, []string{"scene"}, 1)
	scImg, _, _ := imageprep.Decode(sc, imageprep.Options{})
	white := 0
	for y := 0; y < scImg.Bounds().Dy(); y++ {
		for x := 0; x < scImg.Bounds().Dx(); x++ {
			r, g, b, _ := scImg.At(x, y).RGBA()
			if r>>8 >= 240 && g>>8 >= 240 && b>>8 >= 240 {
				white++
			}
		}
	}
	if white > scImg.Bounds().Dx()*scImg.Bounds().Dy()/20 {
		t.Errorf("scene: %d near-white pixels left of %d", white, scImg.Bounds().Dx()*scImg.Bounds().Dy())
	}
	if _, err := parseDistortion("crop+blur"); err == nil {
		t.Error("parseDistortion accepted blur")
	}
	if m, err := parseDistortion("clean"); err != nil || m != nil {
		t.Errorf("clean = %v, %v", m, err)
	}
}

func meanRGB(img image.Image) (r, g, b float64) {
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			r, g, b = r+float64(cr>>8), g+float64(cg>>8), b+float64(cb>>8)
		}
	}
	n := float64(bd.Dx() * bd.Dy())
	return r / n, g / n, b / n
}

func meanAbsDiff(a, b image.Image) float64 {
	bd := a.Bounds()
	var s float64
	for y := 0; y < bd.Dy(); y++ {
		for x := 0; x < bd.Dx(); x++ {
			ar, ag, ab, _ := a.At(bd.Min.X+x, bd.Min.Y+y).RGBA()
			br, bg, bb, _ := b.At(b.Bounds().Min.X+x, b.Bounds().Min.Y+y).RGBA()
			s += math.Abs(float64(ar>>8)-float64(br>>8)) + math.Abs(float64(ag>>8)-float64(bg>>8)) + math.Abs(float64(ab>>8)-float64(bb>>8))
		}
	}
	return s / float64(3*bd.Dx()*bd.Dy())
}

// FuzzDistortPhoto: any bytes either fail to decode with an error or
// distort without panicking.
func FuzzDistortPhoto(f *testing.F) {
	f.Add(photoPNG(f), "scene")
	f.Add(photoPNG(f), "crop+rotate+jpeg")
	f.Add([]byte("GIF89a"), "dim")
	f.Add([]byte{0xff, 0xd8, 0xff}, "warm")
	f.Fuzz(func(t *testing.T, data []byte, modes string) {
		ms, err := parseDistortion(modes)
		if err != nil {
			return
		}
		if len(data) > 1<<16 {
			return
		}
		out, err := distortPhoto(data, ms, 1)
		if err == nil && len(out) == 0 {
			t.Fatal("no error and no output")
		}
	})
}
