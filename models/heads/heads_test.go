package heads

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
)

// blobs returns n rows of dim around k centres, and their classes.
func blobs(n, dim, k int, seed uint64) ([]float32, []int) {
	r := rand.New(rand.NewPCG(seed, 1))
	c := make([]float32, k*dim)
	for i := range c {
		c[i] = float32(r.NormFloat64())
	}
	x := make([]float32, n*dim)
	y := make([]int, n)
	for i := range y {
		y[i] = r.IntN(k)
		for j := 0; j < dim; j++ {
			x[i*dim+j] = c[y[i]*dim+j] + 0.7*float32(r.NormFloat64())
		}
	}
	return x, y
}

func accuracy(h *Head, x []float32, y []int, in int) float64 {
	ok := 0
	for i := range y {
		p := h.Predict(x[i*in:(i+1)*in], nil)
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		if best == y[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(y))
}

func TestTrainLearnsAndIsDeterministic(t *testing.T) {
	const in, k = 12, 5
	x, y := blobs(2000, in, k, 1)
	y[3] = -1 // an unlabelled row is skipped
	w, b, err := Train(x, in, y, k, TrainOptions{Epochs: 15, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	w2, b2, _ := Train(x, in, y, k, TrainOptions{Epochs: 15, Seed: 2})
	if !reflect.DeepEqual(w, w2) || !reflect.DeepEqual(b, b2) {
		t.Fatal("same data and seed, different weights")
	}
	h := &Head{Column: "type", Classes: []string{"a", "b", "c", "d", "e"}, W: w, B: b}
	tx, ty := blobs(500, in, k, 1) // same centres, new points
	if acc := accuracy(h, tx[:500*in], ty, in); acc < 0.9 {
		t.Fatalf("held-out accuracy %.2f on separable blobs", acc)
	}
	// Untrained weights would be at chance.
	zero := &Head{Classes: h.Classes, W: make([]float32, len(w)), B: make([]float32, k)}
	if acc := accuracy(zero, tx, ty, in); acc > 0.5 {
		t.Fatalf("zero head scores %.2f: the test data is too easy to tell anything", acc)
	}
	if _, _, err := Train(x, in, y, 2, TrainOptions{}); err == nil {
		t.Fatal("labels beyond the class count accepted")
	}
}

func TestMarshalParse(t *testing.T) {
	s := &Set{In: 3, Heads: []Head{
		{Column: "articleType", Classes: []string{"Tshirts", "Watches"}, Weight: 0.5, W: []float32{1, 2, 3, 4, 5, 6}, B: []float32{0.1, -0.1}},
		{Column: "baseColour", Classes: []string{"Blue", "Grün", "Red"}, Weight: 0.25, W: make([]float32, 9), B: make([]float32, 3)},
	}, Labels: [][]uint16{{0, 1, NoLabel}, {2, NoLabel, 0}}}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, s)
	}
	for _, tc := range []struct {
		name  string
		edit  func([]byte) []byte
		items int
	}{
		{"magic", func(b []byte) []byte { b[1] = 'X'; return b }, 3},
		{"version", func(b []byte) []byte { b[4] = 7; return b }, 3},
		{"items", func(b []byte) []byte { return b }, 4},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }, 3},
		{"trailing", func(b []byte) []byte { return append(b, 0) }, 3},
		{"label out of range", func(b []byte) []byte { b[len(b)-2] = 9; return b }, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.edit(append([]byte(nil), b...)), tc.items); !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	s := &Set{In: 2, Heads: []Head{{Column: "c", Classes: []string{"x", "y"}, Weight: 1, W: make([]float32, 4), B: make([]float32, 2)}}, Labels: [][]uint16{{0, 1}}}
	b, _ := s.Marshal()
	f.Add(b)
	mlp := &Set{In: 2, Heads: []Head{{Column: "c", Classes: []string{"x", "y"}, Weight: 1, W1: make([]float32, 6), B1: make([]float32, 3), W: make([]float32, 6), B: make([]float32, 2)}}, Labels: [][]uint16{{0, 1}}}
	b2, _ := mlp.Marshal()
	f.Add(b2) // version 2: a hidden layer
	f.Fuzz(func(t *testing.T, b []byte) {
		set, err := Parse(b, -1)
		if err != nil {
			return
		}
		set.Predict(make([]float32, set.In))
	})
}
