package project

import (
	"math"
	"testing"
)

func TestApplyNormalizeRoundTrip(t *testing.T) {
	p := &Projection{Kind: "pca", In: 3, Out: 2, Mean: []float32{1, 1, 1}, W: []float32{1, 0, 0, 0, 2, 0}}
	got := p.Apply([]float32{2, 3, 4}, nil)
	if got[0] != 1 || got[1] != 4 {
		t.Fatalf("Apply = %v, want [1 4]", got)
	}
	Normalize(got)
	if n := math.Hypot(float64(got[0]), float64(got[1])); math.Abs(n-1) > 1e-6 {
		t.Fatalf("norm after Normalize = %v", n)
	}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if q.Kind != "pca" || q.In != 3 || q.Out != 2 || q.W[4] != 2 || q.Mean[2] != 1 {
		t.Fatalf("decoded %+v", q)
	}
	var nilp *Projection
	if c := nilp.Apply([]float32{5, 6}, nil); len(c) != 2 || c[1] != 6 || nilp.OutDim(2) != 2 {
		t.Fatalf("nil projection must copy: %v", c)
	}
}

func TestDecodeErrors(t *testing.T) {
	p := &Projection{Kind: "x", In: 2, Out: 1, Mean: []float32{0, 0}, W: []float32{1, 1}}
	good, _ := p.MarshalBinary()
	bad := map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("NOPE"), good[4:]...),
		"truncated": good[:len(good)-1],
		"huge":      append(append([]byte{}, good[:8]...), 0xff, 0xff, 0xff, 0x7f, 1, 0, 0, 0, 1, 0, 0, 0, 'x'),
	}
	ver := append([]byte{}, good...)
	ver[4] = 9
	bad["version"] = ver
	for name, b := range bad {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	p := &Projection{Kind: "pca", In: 2, Out: 1, Mean: []float32{0, 1}, W: []float32{1, 0}}
	b, _ := p.MarshalBinary()
	f.Add(b)
	f.Add([]byte("LKPJ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			return
		}
		if len(p.W) != p.In*p.Out || len(p.Mean) != p.In {
			t.Fatalf("inconsistent projection %d×%d", p.Out, p.In)
		}
	})
}
