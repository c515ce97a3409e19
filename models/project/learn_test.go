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

