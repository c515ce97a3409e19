package vecfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/lookalike/lookalike/models/annoy"
)

var _ annoy.Scorer = (*Vectors)(nil)

func unitVectors(n, dim int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		row := v[i*dim : (i+1)*dim]
		var s float64
		for j := range row {
			x := r.NormFloat64()
			row[j] = float32(x)
			s += x * x
		}
		for j := range row {
			row[j] = float32(float64(row[j]) / math.Sqrt(s))
		}
	}
	return v
}

func encode(t testing.TB, e Encoding, dim int, v []float32) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteVectors(&b, e, dim, v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestVectorsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		enc    Encoding
		dim    int
		maxErr float64
	}{
		{Float32, 8, 0},
		{Float32, 5, 0},
		{Int8, 8, 0.5 / 127 * 1.0001}, // half a step of max|x|/127; |x| ≤ 1
		{Int8, 7, 0.5 / 127 * 1.0001},
	} {
		t.Run(tc.enc.String(), func(t *testing.T) {
			v := unitVectors(50, tc.dim, 1)
			data := encode(t, tc.enc, tc.dim, v)
			if want := HeaderSize + 50*RecordSize(tc.enc, tc.dim); len(data) != want {
				t.Fatalf("file is %d bytes, want %d", len(data), want)
			}
			h, err := ReadVectorsHeader(bytes.NewReader(data[:HeaderSize]))
			if err != nil {
				t.Fatal(err)
			}
			if h.Count != 50 || h.Dim != tc.dim || h.Encoding != tc.enc || h.Version != VectorsVersion {
				t.Fatalf("header %+v", h)
			}
			vs, err := ParseVectors(data)
			if err != nil {
				t.Fatal(err)
			}
			var buf []float32
			for i := 0; i < 50; i++ {
				buf = vs.Vector(i, buf)
				for j, x := range buf {
					if d := math.Abs(float64(x - v[i*tc.dim+j])); d > tc.maxErr {
						t.Fatalf("vector %d[%d] = %v, want %v (err %g > %g)", i, j, x, v[i*tc.dim+j], d, tc.maxErr)
					}
				}
				// Score against itself is a cosine of ~1.
				if s := vs.Score(v[i*tc.dim:(i+1)*tc.dim], i); math.Abs(float64(s)-1) > 2e-3 {
					t.Fatalf("self score %v", s)
				}
			}
		})
	}
}

// TestInt8RerankQuality measures what int8 costs: ranking by int8 vectors
// versus float32 on the same data (recall@10 of the int8 top 10).
func TestInt8RerankQuality(t *testing.T) {
	const n, dim, nq = 4000, 64, 50
	v := unitVectors(n, dim, 2)
	f32, _ := ParseVectors(encode(t, Float32, dim, v))
	i8, _ := ParseVectors(encode(t, Int8, dim, v))
	qs := unitVectors(nq, dim, 3)
	var sum, maxDiff float64
	for qi := 0; qi < nq; qi++ {
		q := qs[qi*dim : (qi+1)*dim]
		a, _ := annoy.BruteForce(f32, n, q, 10, nil)
		b, _ := annoy.BruteForce(i8, n, q, 10, nil)
		in := map[int]bool{}
		for _, r := range a {
			in[r.Item] = true
		}
		for _, r := range b {
			if in[r.Item] {
				sum++
			}
		}
		for it := 0; it < n; it += 97 {
			maxDiff = max(maxDiff, math.Abs(float64(f32.Score(q, it)-i8.Score(q, it))))
		}
	}
	r := sum / (10 * nq)
	t.Logf("int8 vs float32 (isotropic %d×%d): recall@10 %.3f, max |Δcos| %.4f", n, dim, r, maxDiff)
	if r < 0.9 || maxDiff > 0.02 {
		t.Errorf("int8 re-rank too lossy: recall %.3f, max Δ %.4f", r, maxDiff)
	}
}

func TestVectorsErrors(t *testing.T) {
	good := encode(t, Int8, 4, unitVectors(3, 4, 4))
	mut := func(off int, v uint32, width int) []byte {
		b := append([]byte(nil), good...)
		if width == 2 {
			binary.LittleEndian.PutUint16(b[off:], uint16(v))
		} else {
			binary.LittleEndian.PutUint32(b[off:], v)
		}
		return b
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short header", good[:10]},
		{"bad magic", append([]byte("XXXX"), good[4:]...)},
		{"future version", mut(4, 2, 2)},
		{"unknown encoding", mut(6, 9, 2)},
		{"zero dim", mut(12, 0, 4)},
		{"huge dim", mut(12, 1<<30, 4)},
		{"record size mismatch", mut(16, 99, 4)},
		{"count too big", mut(8, 4, 4)},
		{"truncated", good[:len(good)-1]},
		{"trailing bytes", append(append([]byte(nil), good...), 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseVectors(tc.data); !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want ErrFormat", err)
			}
		})
	}
	if err := WriteVectors(&bytes.Buffer{}, Float32, 3, []float32{1, 2}); err == nil {
		t.Fatal("ragged input accepted")
	}
	if err := WriteVectors(&bytes.Buffer{}, Int8, 1, []float32{float32(math.NaN())}); err == nil {
		t.Fatal("NaN accepted")
	}
	if err := WriteVectors(&bytes.Buffer{}, Encoding(7), 1, []float32{1}); err == nil {
		t.Fatal("unknown encoding accepted")
	}
}

func TestNeighborsRoundTrip(t *testing.T) {
	nl := NeighborLists{
		K: 3,
		Section: [][]Neighbor{
			{{1, 0.9}, {2, -0.25}},
			{{0, 0.9}},
			{},
		},
		Global: [][]Neighbor{
			{{1, 0.9}, {2, -0.25}, {1, 0.1}, {2, 0}}, // longer than K: cut
			{{2, 1}, {0, 0.9}},
			{{0, -1}},
		},
	}
	for _, global := range []bool{false, true} {
		in := nl
		if !global {
			in.Global = nil
		}
		var b bytes.Buffer
		if err := WriteNeighbors(&b, in); err != nil {
			t.Fatal(err)
		}
		lists := 1
		if global {
			lists = 2
		}
		if want := HeaderSize + 3*lists*3*6; b.Len() != want {
			t.Fatalf("size %d, want %d", b.Len(), want)
		}
		h, err := ReadNeighborsHeader(bytes.NewReader(b.Bytes()))
		if err != nil || h.Count != 3 || h.K != 3 || h.Lists != lists {
			t.Fatalf("header %+v, %v", h, err)
		}
		nb, err := ParseNeighbors(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if nb.HasGlobal() != global {
			t.Fatal("HasGlobal wrong")
		}
		check := func(got, want []Neighbor) {
			t.Helper()
			want = want[:min(len(want), 3)]
			if len(got) != len(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			for i := range got {
				if got[i].Item != want[i].Item || math.Abs(float64(got[i].Score-want[i].Score)) > 1.6e-5 {
					t.Fatalf("got %v, want %v", got, want)
				}
			}
		}
		for i := 0; i < 3; i++ {
			check(nb.Section(i), nl.Section[i])
			if global {
				check(nb.Global(i), nl.Global[i])
			} else if nb.Global(i) != nil {
				t.Fatal("Global without global lists")
			}
		}
		if nb.Section(-1) != nil || nb.Section(3) != nil {
			t.Fatal("out of range item gave a list")
		}
	}
	bad := NeighborLists{K: 2, Section: [][]Neighbor{{{5, 0.1}}}}
	if err := WriteNeighbors(&bytes.Buffer{}, bad); err == nil {
		t.Fatal("neighbour outside the catalogue accepted")
	}
}

func TestNeighborsErrors(t *testing.T) {
	var b bytes.Buffer
	if err := WriteNeighbors(&b, NeighborLists{K: 2, Section: [][]Neighbor{{{1, 0.5}}, {{0, 0.5}}}}); err != nil {
		t.Fatal(err)
	}
	good := b.Bytes()
	mut := func(off int, v uint32) []byte {
		c := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(c[off:], v)
		return c
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"bad magic", append([]byte("LKVC"), good[4:]...)},
		{"version", mut(4, 7|1<<16)},
		{"k zero", mut(12, 0)},
		{"three lists", mut(16, 3)},
		{"item out of range", mut(HeaderSize, 2)},
		{"truncated", good[:len(good)-2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseNeighbors(tc.data); !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want ErrFormat", err)
			}
		})
	}
}

func TestScoreQuantization(t *testing.T) {
	for _, s := range []float32{-1, -0.5, 0, 0.3333, 0.99999, 1} {
		if d := math.Abs(float64(DequantizeScore(QuantizeScore(s)) - s)); d > 1.6e-5 {
			t.Errorf("score %v round-trips with error %g", s, d)
		}
	}
	if QuantizeScore(2) != 65535 || QuantizeScore(-3) != 0 {
		t.Error("scores outside [-1, 1] not clamped")
	}
}

func TestComputeNeighbors(t *testing.T) {
	const n, dim, k = 300, 8, 5
	v := unitVectors(n, dim, 5)
	sections := make([]int32, n)
	for i := range sections {
		sections[i] = int32(i % 3)
	}
	nl, err := ComputeNeighbors(v, dim, sections, k, true)
	if err != nil {
		t.Fatal(err)
	}
	naive := func(i int, keep func(int) bool) []int {
		type p struct {
			j int
			s float64
		}
		var ps []p
		for j := 0; j < n; j++ {
			if j == i || !keep(j) {
				continue
			}
			var s float64
			for d := 0; d < dim; d++ {
				s += float64(v[i*dim+d]) * float64(v[j*dim+d])
			}
			ps = append(ps, p{j, s})
		}
		sort.Slice(ps, func(a, b int) bool { return ps[a].s > ps[b].s })
		out := []int{}
		for _, x := range ps[:k] {
			out = append(out, x.j)
		}
		return out
	}
	for i := 0; i < n; i++ {
		ws := naive(i, func(j int) bool { return sections[j] == sections[i] })
		wg := naive(i, func(int) bool { return true })
		for r := 0; r < k; r++ {
			if int(nl.Section[i][r].Item) != ws[r] || int(nl.Global[i][r].Item) != wg[r] {
				t.Fatalf("item %d: section %v want %v; global %v want %v", i, nl.Section[i], ws, nl.Global[i], wg)
			}
		}
	}
	if _, err := ComputeNeighbors(v, dim, sections[:5], k, false); err == nil {
		t.Fatal("short section list accepted")
	}
}

func FuzzVectors(f *testing.F) {
	f.Add(encode(f, Float32, 3, unitVectors(2, 3, 1)))
	f.Add(encode(f, Int8, 5, unitVectors(3, 5, 1)))
	f.Add([]byte("LKVC"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ReadVectorsHeader(bytes.NewReader(data)); err != nil {
			if _, err2 := ParseVectors(data); err2 == nil {
				t.Fatal("ParseVectors accepted what the header reader refused")
			}
			return
		}
		vs, err := ParseVectors(data)
		if err != nil {
			return
		}
		q := make([]float32, vs.Dim())
		q[0] = 1
		var buf []float32
		for i := 0; i < vs.Len(); i++ {
			buf = vs.Vector(i, buf)
			_ = vs.Score(q, i)
		}
	})
}

func FuzzNeighbors(f *testing.F) {
	var b bytes.Buffer
	WriteNeighbors(&b, NeighborLists{K: 2, Section: [][]Neighbor{{{1, 0.5}}, {{0, 0.5}}}, Global: [][]Neighbor{{}, {{0, 1}}}})
	f.Add(b.Bytes())
	f.Add([]byte("LKNB\x01\x00\x01\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		nb, err := ParseNeighbors(data)
		if err != nil {
			return
		}
		for i := 0; i < nb.Len(); i++ {
			for _, e := range append(nb.Section(i), nb.Global(i)...) {
				if int(e.Item) >= nb.Len() || e.Score < -1 || e.Score > 1 {
					t.Fatalf("entry %+v out of range", e)
				}
			}
		}
	})
}
