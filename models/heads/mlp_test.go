package heads

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
)

// rings: class 0 inside the unit circle, class 1 outside it (to 2): no
// linear head separates them.
func rings(n int, seed uint64) ([]float32, []int) {
	r := rand.New(rand.NewPCG(seed, 5))
	x := make([]float32, 2*n)
	y := make([]int, n)
	for i := range y {
		a, b := 4*r.Float64()-2, 4*r.Float64()-2
		x[2*i], x[2*i+1] = float32(a), float32(b)
		if a*a+b*b > 1.6 {
			y[i] = 1
		}
	}
	return x, y
}

func TestTrainMLPLearnsWhatALinearHeadCannot(t *testing.T) {
	x, y := rings(3000, 1)
	tx, ty := rings(1000, 2)
	w, b, err := Train(x, 2, y, 2, TrainOptions{Epochs: 30, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	lin := accuracy(&Head{Classes: []string{"in", "out"}, W: w, B: b}, tx, ty, 2)
	opt := MLPOptions{TrainOptions: TrainOptions{Epochs: 60, Seed: 1}, Hidden: 32, Dropout: -1}
	h, err := TrainMLP(x, 2, y, 2, opt)
	if err != nil {
		t.Fatal(err)
	}
	h.Classes = []string{"in", "out"}
	mlp := accuracy(&h, tx, ty, 2)
	if mlp < 0.9 || mlp < lin+0.15 {
		t.Errorf("held-out accuracy: hidden layer %.3f, linear %.3f; want ≥ 0.9 and well above linear", mlp, lin)
	}
	again, err := TrainMLP(x, 2, y, 2, opt)
	if err != nil {
		t.Fatal(err)
	}
	again.Classes = h.Classes
	if !reflect.DeepEqual(again, h) {
		t.Error("the same rows and seed trained different weights")
	}
	if _, err := TrainMLP(x, 2, y, 2, MLPOptions{}); err == nil {
		t.Error("trained without hidden units")
	}
}

func TestMLPRoundTrip(t *testing.T) {
	x, y := rings(600, 3)
	h, err := TrainMLP(x, 2, y, 2, MLPOptions{TrainOptions: TrainOptions{Epochs: 5, Seed: 4}, Hidden: 8})
	if err != nil {
		t.Fatal(err)
	}
	h.Column, h.Classes, h.Weight = "ring", []string{"in", "out"}, 1
	lin := Head{Column: "other", Classes: []string{"a", "b", "c"}, Weight: 0.5, W: make([]float32, 6), B: []float32{0, 1, 2}}
	set := &Set{In: 2, Heads: []Head{h, lin}, Labels: [][]uint16{{0, 1, NoLabel}, {2, 0, 1}}}
	b, err := set.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if v := b[4]; v != 2 {
		t.Fatalf("a set with a hidden layer was written as version %d", v)
	}
	got, err := Parse(b, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		q := x[2*i : 2*i+2]
		if want, have := set.Predict(q), got.Predict(q); !reflect.DeepEqual(want, have) {
			t.Fatalf("row %d: parsed %v, trained %v (the first layer is stored at binary16: training must return it rounded)", i, have, want)
		}
	}
	if len(got.Heads[1].B1) != 0 || !reflect.DeepEqual(got.Heads[1].W, lin.W) {
		t.Errorf("the linear head beside it: %+v", got.Heads[1])
	}
	// Without a hidden layer the file stays version 1.
	v1, err := (&Set{In: 2, Heads: []Head{lin}, Labels: [][]uint16{{2, 0, 1}}}).Marshal()
	if err != nil || v1[4] != 1 {
		t.Fatalf("a linear set: version %d, %v", v1[4], err)
	}
	for name, bad := range map[string][]byte{
		"truncated": b[:len(b)-7],
		"version 3": append(append([]byte{}, b[:4]...), append([]byte{3, 0}, b[6:]...)...),
	} {
		if _, err := Parse(bad, 3); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
	h.W1 = h.W1[:len(h.W1)-1]
	if _, err := (&Set{In: 2, Heads: []Head{h}, Labels: [][]uint16{{0, 1, 0}}}).Marshal(); err == nil {
		t.Error("a hidden layer of the wrong size was written")
	}
}
