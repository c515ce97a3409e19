package pq

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/lookalike/lookalike/internal/vec"
)

// clustered returns n unit vectors of dim around c random centres.
func clustered(n, dim, c int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float32, c*dim)
	for i := range centres {
		centres[i] = float32(r.NormFloat64())
	}
	out := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		k := r.IntN(c)
		v := out[i*dim : (i+1)*dim]
		for j := range v {
			v[j] = centres[k*dim+j] + 0.6*float32(r.NormFloat64())
		}
		norm := float32(math.Sqrt(float64(vec.Dot(v, v))))
		for j := range v {
			v[j] /= norm
		}
	}
	return out
}

func TestRoundTripAndDeterminism(t *testing.T) {
	const n, dim = 3000, 32
	vecs := clustered(n, dim, 20, 3)
	cb, err := Train(vecs, dim, TrainOptions{M: 8, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	file := Write(cb, cb.Encode(vecs))
	cb2, _ := Train(vecs, dim, TrainOptions{M: 8, Seed: 5})
	if !bytes.Equal(file, Write(cb2, cb2.Encode(vecs))) {
		t.Fatal("same vectors and seed gave different bytes")
	}
	c, err := Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != n || c.Dim != dim || c.M != 8 || int64(len(file)) != c.FileSize() {
		t.Fatalf("header %+v, %d bytes", c.Header, len(file))
	}
	// Decoded vectors are close to the originals, and Scores agrees with
	// Score and with the dot product with the decoded vector.
	q := vecs[:dim]
	tab := c.Table(q, nil)
	scores := c.Scores(tab, nil)
	var errSum float64
	var dec []float32
	for i := 0; i < n; i++ {
		dec = c.Decode(i, dec)
		d := 0.0
		for j := range dec {
			e := float64(dec[j] - vecs[i*dim+j])
			d += e * e
		}
		errSum += d
		if got, want := scores[i], vec.Dot(q, dec); math.Abs(float64(got-want)) > 1e-5 {
			t.Fatalf("item %d: Scores %v, dot with decoded %v", i, got, want)
		}
		if s := c.Score(tab, i); s != scores[i] {
			t.Fatalf("item %d: Score %v, Scores %v", i, s, scores[i])
		}
	}
	if mse := errSum / n; mse > 0.25 {
		t.Fatalf("mean squared reconstruction error %.3f of unit vectors: the codebook learned nothing", mse)
	}
}

// TestRecall: the top 10 by codes holds most of the exact top 10.
func TestRecall(t *testing.T) {
	const n, dim = 5000, 64
	vecs := clustered(n, dim, 50, 9)
	cb, err := Train(vecs, dim, TrainOptions{M: 32, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(Write(cb, cb.Encode(vecs)))
	if err != nil {
		t.Fatal(err)
	}
	hit, total := 0, 0
	for qi := 0; qi < 50; qi++ {
		q := vecs[qi*dim : (qi+1)*dim]
		exact := make([]int, n)
		ex := make([]float32, n)
		for i := range exact {
			exact[i] = i
			ex[i] = vec.Dot(q, vecs[i*dim:(i+1)*dim])
		}
		sort.Slice(exact, func(a, b int) bool { return ex[exact[a]] > ex[exact[b]] })
		sc := c.Scores(c.Table(q, nil), nil)
		approx := append([]int(nil), exact...)
		sort.Slice(approx, func(a, b int) bool { return sc[approx[a]] > sc[approx[b]] })
		top := map[int]bool{}
		for _, i := range exact[:10] {
			top[i] = true
		}
		for _, i := range approx[:10] {
			if top[i] {
				hit++
			}
		}
		total += 10
	}
	if r := float64(hit) / float64(total); r < 0.6 {
		t.Fatalf("recall@10 %.2f with 32 subspaces of 2 dims", r)
	}
}

func TestParseErrors(t *testing.T) {
	vecs := clustered(300, 16, 4, 2)
	cb, _ := Train(vecs, 16, TrainOptions{M: 4, Seed: 1})
	good := Write(cb, cb.Encode(vecs))
	for _, tc := range []struct {
		name string
		edit func([]byte) []byte
	}{
		{"short", func(b []byte) []byte { return b[:10] }},
		{"magic", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"version", func(b []byte) []byte { b[4] = 9; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }},
		{"subspaces", func(b []byte) []byte { b[16] = 3; return b }}, // file size no longer matches
		{"reserved", func(b []byte) []byte { b[25] = 1; return b }},
		{"nan centroid", func(b []byte) []byte { copy(b[HeaderSize:], []byte{0, 0, 0xc0, 0x7f}); return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.edit(append([]byte(nil), good...)))
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want ErrFormat", err)
			}
		})
	}
	if _, err := Train(vecs, 16, TrainOptions{M: 17}); err == nil {
		t.Fatal("17 subspaces of 16 dims accepted")
	}
}

func FuzzParse(f *testing.F) {
	vecs := clustered(40, 8, 2, 2)
	cb, _ := Train(vecs, 8, TrainOptions{M: 2, Seed: 1})
	f.Add(Write(cb, cb.Encode(vecs)))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		q := make([]float32, c.Dim)
		c.Scores(c.Table(q, nil), nil)
	})
}

// TestUnevenSubspaces: a dimension M does not divide is padded with zeros:
// scores still match the decoded vectors.
func TestUnevenSubspaces(t *testing.T) {
	const n, dim = 600, 26
	vecs := clustered(n, dim, 6, 4)
	cb, err := Train(vecs, dim, TrainOptions{M: 4, Seed: 1}) // sub 7, the last 5 long
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(Write(cb, cb.Encode(vecs)))
	if err != nil {
		t.Fatal(err)
	}
	q := vecs[dim : 2*dim]
	sc := c.Scores(c.Table(q, nil), nil)
	for i := 0; i < n; i++ {
		d := c.Decode(i, nil)
		if len(d) != dim {
			t.Fatalf("decoded length %d", len(d))
		}
		if math.Abs(float64(sc[i]-vec.Dot(q, d))) > 1e-5 {
			t.Fatalf("item %d: %v vs %v", i, sc[i], vec.Dot(q, d))
		}
	}
}

// BenchmarkScores40k: the page's scan at 40k products, 32-byte codes.
func BenchmarkScores40k(b *testing.B) {
	const n, dim = 40000, 256
	vecs := clustered(n, dim, 100, 5)
	cb, err := Train(vecs[:20000*dim], dim, TrainOptions{M: 32, Seed: 1, Iters: 4})
	if err != nil {
		b.Fatal(err)
	}
	benchScores(b, cb, cb.Encode(vecs), vecs[:dim])
}

// benchScores times Scores over codes with the table of query q.
func benchScores(b *testing.B, cb *Codebook, codes []byte, q []float32) {
	c, err := Parse(Write(cb, codes))
	if err != nil {
		b.Fatal(err)
	}
	tab := c.Table(q, nil)
	out := make([]float32, c.Len())
	b.ResetTimer()
	for range b.N {
		c.Scores(tab, out)
	}
}

// BenchmarkScores1M: the scan at a million products, 16-byte codes
// (random codes: the scan's cost does not depend on their values).
func BenchmarkScores1M(b *testing.B) {
	const n, dim, m = 1_000_000, 256, 16
	vecs := clustered(4096, dim, 100, 5)
	cb, err := Train(vecs, dim, TrainOptions{M: m, Seed: 1, Iters: 2})
	if err != nil {
		b.Fatal(err)
	}
	codes := make([]byte, n*m)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range codes {
		codes[i] = byte(r.Uint32())
	}
	benchScores(b, cb, codes, vecs[:dim])
}

// Scores sums four subspaces a pass, then the rest one at a time: every
// score is still the float Score gives, for any M.
func TestScoresEqualsScore(t *testing.T) {
	const n, dim = 300, 24
	vecs := clustered(n, dim, 10, 3)
	for _, m := range []int{1, 3, 4, 5, 7, 8, 11} {
		cb, err := Train(vecs, dim, TrainOptions{M: m, Seed: 4, Iters: 2})
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(Write(cb, cb.Encode(vecs)))
		if err != nil {
			t.Fatal(err)
		}
		tab := c.Table(vecs[dim:2*dim], nil)
		sc := c.Scores(tab, nil)
		for i := 0; i < n; i++ {
			if s := c.Score(tab, i); s != sc[i] {
				t.Fatalf("M=%d item %d: Score %v, Scores %v", m, i, s, sc[i])
			}
		}
	}
}

// Version 2 stores the centroids as binary16, and Parse gives back exactly
// the (rounded) centroids Train made; a version 1 file (float32
// centroids) still reads, with the same codes.
func TestVersionsAndHalfCentroids(t *testing.T) {
	const n, dim = 600, 20
	vecs := clustered(n, dim, 10, 7)
	cb, err := Train(vecs, dim, TrainOptions{M: 6, Seed: 2}) // 6 does not divide 20: padded
	if err != nil {
		t.Fatal(err)
	}
	codes := cb.Encode(vecs)
	file := Write(cb, codes)
	c, err := Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 2 || len(file) != HeaderSize+2*len(cb.Centroids)+len(codes) {
		t.Fatalf("version %d, %d bytes", c.Version, len(file))
	}
	for i, v := range c.Codebook().Centroids {
		if v != cb.Centroids[i] {
			t.Fatalf("centroid value %d: %v read, %v trained", i, v, cb.Centroids[i])
		}
	}
	// The same codebook as a version 1 file.
	v1 := append([]byte(nil), file[:HeaderSize]...)
	binary.LittleEndian.PutUint16(v1[4:], 1)
	for _, v := range cb.Centroids {
		v1 = binary.LittleEndian.AppendUint32(v1, math.Float32bits(v))
	}
	v1 = append(v1, codes...)
	c1, err := Parse(v1)
	if err != nil {
		t.Fatal(err)
	}
	if c1.Version != 1 || !bytes.Equal(c1.Code(5), c.Code(5)) || c1.Codebook().Centroids[7] != cb.Centroids[7] {
		t.Fatalf("version 1 file read as %+v", c1.Header)
	}
	if _, err := Parse(v1[:len(v1)-1]); err == nil {
		t.Fatal("truncated version 1 file accepted")
	}
	binary.LittleEndian.PutUint16(v1[4:], 3)
	if _, err := Parse(v1); err == nil {
		t.Fatal("version 3 accepted")
	}
}
