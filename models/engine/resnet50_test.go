package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lookalike/lookalike/internal/testenv"
)

// resnet50Path finds the converted model: $LOOKALIKE_MODEL (the int8 file;
// its sibling for other names), else model/*/<file> under $LOOKALIKE_CACHE
// or under .cache at the repository root (the cache `go run ./builder
// model` fills). It skips the test or benchmark when absent.
func resnet50Path(tb testing.TB, file string) string {
	tb.Helper()
	if p := os.Getenv("LOOKALIKE_MODEL"); p != "" {
		if file != "resnet50-int8.onnx" {
			p = filepath.Join(filepath.Dir(p), file)
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
		tb.Skipf("LOOKALIKE_MODEL: %s not found", p)
	}
	if c := os.Getenv("LOOKALIKE_CACHE"); c != "" {
		if matches, _ := filepath.Glob(filepath.Join(c, "model", "*", file)); len(matches) > 0 {
			return matches[len(matches)-1]
		}
	}
	matches, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(tb), ".cache", "model", "*", file))
	if len(matches) == 0 {
		tb.Skipf("%s not found under .cache/model: run `go run ./builder model --out DIR` first, or set LOOKALIKE_MODEL", file)
	}
	return matches[len(matches)-1]
}

func loadResNet50(tb testing.TB, file string) *Model {
	b, err := os.ReadFile(resnet50Path(tb, file))
	if err != nil {
		tb.Fatal(err)
	}
	m, err := Load(b)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// resnetInput is a deterministic caffe-style input: values in about
// [-124, 152] like mean-subtracted 0..255 pixels.
func resnetInput(n int) []float32 {
	r := rand.New(rand.NewPCG(42, uint64(n)))
	x := make([]float32, n*3*224*224)
	for i := range x {
		x[i] = r.Float32()*255 - 120
	}
	return x
}

// TestResNet50FastMatchesGeneric runs the real model through the fast and
// the plain-Go GEMM and checks that they agree, and that batching does
// not change an image's features.
func TestResNet50FastMatchesGeneric(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the generic ResNet50 pass takes seconds")
	}
	m := loadResNet50(t, "resnet50-int8.onnx")
	x := resnetInput(2)
	fast, err := m.NewSession().Run(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"conv5", "gap", "gmp"} {
		if _, ok := fast[o]; !ok {
			t.Fatalf("output %s missing (outputs %v)", o, m.Outputs())
		}
	}
	if len(fast["gap"]) != 2*2048 {
		t.Fatalf("gap has %d values, want 2×2048", len(fast["gap"]))
	}
	SetGemm("generic")
	slow, err := m.NewSession().Run(x[:3*224*224], 1, "gap", "gmp")
	SetGemm("auto")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"gap", "gmp"} {
		assertClose(t, o, fast[o][:2048], f64(slow[o]), 1e-4)
		if cos := cosine(fast[o][:2048], fast[o][2048:]); cos > 0.9999 {
			t.Errorf("%s: two different images give the same features (cosine %f)", o, cos)
		}
	}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// BenchmarkResNet50 reports ms/image (wall) and cpu-ms/image (all
// threads) for the ResNet50 feature extractor at batch 1 and 8, with int8
// activations (each int8 kernel this CPU has) and float32 activations
// (each float kernel); the first kernel of each is what "auto" uses:
//
//	go test ./models/engine -run XXX -bench ResNet50 -benchtime 20x
func BenchmarkResNet50(b *testing.B) {
	b8, err := os.ReadFile(resnet50Path(b, "resnet50-int8.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	for _, kern := range append(cpuQKernels(), &genericQKernel) {
		var m *Model
		var err error
		// Loaded under the kernel: weights packed for its layout.
		withQKernel(kern, func() { m, err = LoadWith(b8, Options{Activations: Int8}) })
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 8} {
			b.Run(fmt.Sprintf("int8/%s/batch=%d", kern.name, n), func(b *testing.B) {
				withQKernel(kern, func() { benchRun(b, m, n) })
			})
		}
	}
	m, err := LoadWith(b8, Options{Activations: FP32})
	if err != nil {
		b.Fatal(err)
	}
	kernels := cpuKernels()
	if len(kernels) == 0 {
		kernels = []*microKernel{&genericKernel}
	}
	for _, kern := range kernels {
		for _, n := range []int{1, 8} {
			b.Run(fmt.Sprintf("fp32/%s/batch=%d", kern.name, n), func(b *testing.B) {
				withKernel(kern, func() { benchRun(b, m, n) })
			})
		}
	}
}

func benchRun(b *testing.B, m *Model, n int) {
	s := m.NewSession()
	x := resnetInput(n)
	if _, err := s.Run(x, n, "gap", "gmp"); err != nil { // plan the arena
		b.Fatal(err)
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := s.Run(x, n, "gap", "gmp"); err != nil {
			b.Fatal(err)
		}
	}
	images := float64(b.N * n)
	b.ReportMetric(float64(time.Since(start).Microseconds())/1e3/images, "ms/image")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/1e3/images, "cpu-ms/image")
	}
}
