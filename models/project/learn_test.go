//go:build !js

package project

import (
	"math"
	"math/rand"
	"testing"
)

// gaussianData: two classes separated along axis 0 by a small gap, with a
// large shared variance along axis 1 and small noise elsewhere.
func gaussianData(n, in int) ([]float32, []string) {
	r := rand.New(rand.NewSource(7))
	x := make([]float32, n*in)
	labels := make([]string, n)
	for i := 0; i < n; i++ {
		c := i % 2
		labels[i] = []string{"a", "b"}[c]
		row := x[i*in : (i+1)*in]
		for j := range row {
			row[j] = float32(r.NormFloat64() * 0.1)
		}
		row[0] += float32(c) * 1.0
		row[1] += float32(r.NormFloat64() * 5)
	}
	return x, labels
}

func TestPCAFindsHighVarianceAxis(t *testing.T) {
	x, _ := gaussianData(2000, 6)
	p, err := LearnPCA(x, 6, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(p.W[1])) < 0.99 {
		t.Fatalf("first PCA direction %v, want ≈ ±e1", p.W[:6])
	}
}

func TestLDAFindsSeparatingAxis(t *testing.T) {
	x, labels := gaussianData(2000, 6)
	p, err := LearnLDA(x, 6, labels, 5, 0.01, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Out != 1 {
		t.Fatalf("out = %d, want capped at classes-1 = 1", p.Out)
	}
	if math.Abs(float64(p.W[0])) < 0.95 {
		t.Fatalf("LDA direction %v, want ≈ ±e0", p.W)
	}
	if _, err := LearnLDA(x, 6, make([]string, 2000), 1, 0.1, 1); err == nil {
		t.Fatal("LDA with no labels: want error")
	}
}

func TestSubspaceIterationMatchesFullEigen(t *testing.T) {
	// 600-d data with a few dominant, well separated directions.
	const n, in = 3000, 600
	r := rand.New(rand.NewSource(5))
	x := make([]float32, n*in)
	for i := 0; i < n; i++ {
		row := x[i*in : (i+1)*in]
		for j := range row {
			row[j] = float32(r.NormFloat64() * 0.05)
		}
		for d := 0; d < 4; d++ {
			row[d*7] += float32(r.NormFloat64() * (8 - float64(d)*1.5))
		}
	}
	p, err := LearnPCA(x, in, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	for d := 0; d < 4; d++ {
		if v := p.W[d*in+d*7]; math.Abs(float64(v)) < 0.99 {
			t.Errorf("component %d: weight on axis %d = %v, want ≈ ±1", d, d*7, v)
		}
	}
}

func TestLDAComposedWithPCA(t *testing.T) {
	// 600-d: classes differ along axis 3 only, big nuisance variance on axis 0.
	const n, in = 2000, 600
	r := rand.New(rand.NewSource(9))
	x := make([]float32, n*in)
	labels := make([]string, n)
	for i := 0; i < n; i++ {
		c := i % 2
		labels[i] = []string{"a", "b"}[c]
		row := x[i*in : (i+1)*in]
		for j := range row {
			row[j] = float32(r.NormFloat64() * 0.2)
		}
		row[0] += float32(r.NormFloat64() * 10)
		row[3] += float32(c) * 2
	}
	p, err := LearnLDA(x, in, labels, 1, 0.01, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Projected class means must separate well relative to the spread.
	var m [2]float64
	var cnt [2]int
	proj := make([]float64, n)
	for i := 0; i < n; i++ {
		v := p.Apply(x[i*in:(i+1)*in], nil)
		proj[i] = float64(v[0])
		m[i%2] += proj[i]
		cnt[i%2]++
	}
	m[0] /= float64(cnt[0])
	m[1] /= float64(cnt[1])
	var sd float64
	for i := 0; i < n; i++ {
		d := proj[i] - m[i%2]
		sd += d * d
	}
	sd = math.Sqrt(sd / n)
	if sep := math.Abs(m[1]-m[0]) / sd; sep < 5 {
		t.Fatalf("class separation %.2f standard deviations, want > 5", sep)
	}
}
