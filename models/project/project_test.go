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

func TestConcatBlendsCosines(t *testing.T) {
	// Two 2-d projections of 3-d input; the blended cosine must equal the
	// weighted sum of the block cosines.
	a := &Projection{Kind: "lda", In: 3, Out: 2, Mean: []float32{1, 0, 0}, W: []float32{1, 0, 0, 0, 1, 0}}
	b := &Projection{Kind: "pca", In: 3, Out: 2, Mean: []float32{0, 0, 2}, W: []float32{0, 1, 0, 0, 0, 1}}
	p, err := Concat(a, b, 0.7, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	x, y := []float32{3, 1, 5}, []float32{-2, 4, 1}
	cos := func(u, v []float32) float64 {
		var uv, uu, vv float64
		for i := range u {
			uv += float64(u[i] * v[i])
			uu += float64(u[i] * u[i])
			vv += float64(v[i] * v[i])
		}
		return uv / math.Sqrt(uu*vv)
	}
	want := 0.7*cos(a.Apply(x, nil), a.Apply(y, nil)) + 0.3*cos(b.Apply(x, nil), b.Apply(y, nil))
	px, py := p.Apply(x, nil), p.Apply(y, nil)
	Normalize(px)
	Normalize(py)
	if got := cos(px, py); math.Abs(got-want) > 1e-5 {
		t.Fatalf("blended cosine %v, want %v", got, want)
	}
	raw, _ := p.MarshalBinary()
	q, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	qx, want2 := q.Apply(x, nil), p.Apply(x, nil)
	for i := range qx {
		if qx[i] != want2[i] {
			t.Fatalf("decoded projection differs at %d: %v vs %v", i, qx[i], want2[i])
		}
	}
	if len(q.Blocks) != 2 || q.Bias == nil || q.Kind != "lda+pca" {
		t.Fatalf("decoded %+v", q)
	}
	if _, err := Decode(raw[:len(raw)-3]); err == nil {
		t.Fatal("truncated v2 file: want error")
	}
}

// TestInt8RoundTrip: a projection quantised per row reads back to the very
// same weights (so the builder's catalogue vectors and the page's query
// vectors agree), in about a quarter of the bytes, close to the float one.
func TestInt8RoundTrip(t *testing.T) {
	const in, out = 256, 32
	p := &Projection{Kind: "pca", In: in, Out: out, Mean: make([]float32, in), W: make([]float32, in*out),
		Blocks: []Block{{20, 0.5}, {12, 0.5}}, Bias: make([]float32, out)}
	for i := range p.W {
		p.W[i] = float32(math.Sin(float64(i)*0.37)) * float32(1+i%7)
	}
	for i := range p.Mean {
		p.Mean[i] = float32(i) / 10
	}
	p.Bias[2] = 0.25
	orig := append([]float32(nil), p.W...)
	fb, _ := p.MarshalBinary()
	p.QuantizeRows()
	for i, w := range p.W {
		if d := math.Abs(float64(w - orig[i])); d > float64(7.0/127/2)+1e-6 {
			t.Fatalf("weight %d moved by %v", i, d)
		}
	}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b)*3 > len(fb) {
		t.Fatalf("int8 file %d bytes, float32 %d: want about a quarter", len(b), len(fb))
	}
	q, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.W {
		if q.W[i] != p.W[i] {
			t.Fatalf("weight %d: %v after the round trip, %v before", i, q.W[i], p.W[i])
		}
	}
	if !q.Int8 || q.Bias[2] != 0.25 || len(q.Blocks) != 2 || q.Mean[5] != p.Mean[5] {
		t.Fatalf("round trip lost fields: %+v", q.Blocks)
	}
	if _, err := Decode(b[:len(b)-1]); err == nil {
		t.Fatal("truncated int8 projection accepted")
	}
}

// The 4-bit form (version 4): each weight within half a step of its
// group's scale, the file an eighth of float32, the round trip exact, odd
// row lengths and a ragged last group included.
func TestInt4RoundTrip(t *testing.T) {
	for _, in := range []int{256, 301} {
		const out = 24
		p := &Projection{Kind: "lda+pca", In: in, Out: out, Mean: make([]float32, in), W: make([]float32, in*out),
			Blocks: []Block{{16, 0.6}, {8, 0.4}}, Bias: make([]float32, out)}
		for i := range p.W {
			p.W[i] = float32(math.Sin(float64(i)*0.37)) * float32(1+i%7)
		}
		for i := range p.Mean {
			p.Mean[i] = float32(i) / 10
		}
		p.Bias[3] = -0.5
		orig := append([]float32(nil), p.W...)
		fb, _ := p.MarshalBinary()
		p.QuantizeRows4()
		for o := 0; o < out; o++ {
			for i := 0; i < in; i++ {
				g0 := (i / Group4) * Group4
				m := 0.0
				for _, w := range orig[o*in+g0 : o*in+min(g0+Group4, in)] {
					m = math.Max(m, math.Abs(float64(w)))
				}
				if d := math.Abs(float64(p.W[o*in+i] - orig[o*in+i])); d > m/7/2+1e-6 {
					t.Fatalf("in %d: weight (%d,%d) moved by %v, more than half a step of %v", in, o, i, d, m/7)
				}
			}
		}
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(b)*5 > len(fb) { // W an eighth; the means and scales stay float32
			t.Fatalf("4-bit file %d bytes, float32 %d: want under a fifth", len(b), len(fb))
		}
		q, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p.W {
			if q.W[i] != p.W[i] {
				t.Fatalf("in %d: weight %d: %v after the round trip, %v before", in, i, q.W[i], p.W[i])
			}
		}
		if !q.Int4 || q.Int8 || q.Bias[3] != -0.5 || len(q.Blocks) != 2 || q.Mean[7] != p.Mean[7] {
			t.Fatalf("round trip lost fields: %+v", q.Blocks)
		}
		x := make([]float32, in)
		for i := range x {
			x[i] = float32(math.Cos(float64(i)))
		}
		a, c := p.Apply(x, nil), q.Apply(x, nil)
		for i := range a {
			if a[i] != c[i] {
				t.Fatalf("Apply differs after the round trip at %d: %v vs %v", i, a[i], c[i])
			}
		}
		if _, err := Decode(b[:len(b)-1]); err == nil {
			t.Fatal("truncated 4-bit projection accepted")
		}
	}
}
