package pq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/lookalike/lookalike/internal/half"
)

// HeaderSize is the size of the file header in bytes.
const HeaderSize = 32

// Version is the format version this package writes: 2 stores the
// centroids as binary16 (half the codebook's bytes; Train rounds them, so
// the codes are chosen against exactly what a reader gets). Version 1
// (float32 centroids) is still read.
const Version = 2

// K is the number of centroids per subspace (codes are bytes).
const K = 256

var magic = [4]byte{'L', 'K', 'P', 'Q'}

// ErrFormat is wrapped by every error about malformed file bytes.
var ErrFormat = errors.New("pq: malformed codes file")

// Codebook is the centroids of every subspace.
type Codebook struct {
	Dim, M int
	// Centroids holds M·K·(Dim/M) values: subspace m, centroid k at
	// [(m·K+k)·sub : +sub].
	Centroids []float32
}

// Sub is the length of one subvector: Dim/M rounded up (the last
// subvector is padded with zeros when M does not divide Dim).
func (cb *Codebook) Sub() int { return subLen(cb.Dim, cb.M) }

func subLen(dim, m int) int { return (dim + m - 1) / m }

// subvector copies subvector m of v (length dim) into dst (length sub),
// zero-padded.
func subvector(dst, v []float32, m, sub int) []float32 {
	lo := min(m*sub, len(v))
	hi := min(lo+sub, len(v))
	n := copy(dst, v[lo:hi])
	clear(dst[n:])
	return dst
}

// TrainOptions control Train.
type TrainOptions struct {
	M      int    // subspaces, 1..Dim (default: Dim/4 rounded up)
	Iters  int    // k-means iterations (default 16)
	Sample int    // most vectors k-means sees (default 65,536; chosen with Seed)
	Seed   uint64 // for the sample and the initial centroids
}

// Train learns a codebook for n = len(vecs)/dim vectors.
func Train(vecs []float32, dim int, opt TrainOptions) (*Codebook, error) {
	if dim <= 0 || len(vecs)%dim != 0 || len(vecs) == 0 {
		return nil, fmt.Errorf("pq: %d values are not whole vectors of %d", len(vecs), dim)
	}
	if opt.M == 0 {
		opt.M = max(1, (dim+3)/4)
	}
	if opt.M <= 0 || opt.M > dim {
		return nil, fmt.Errorf("pq: %d subspaces for dimension %d", opt.M, dim)
	}
	if opt.Iters <= 0 {
		opt.Iters = 16
	}
	if opt.Sample <= 0 {
		opt.Sample = 1 << 16
	}
	n := len(vecs) / dim
	rng := rand.New(rand.NewPCG(opt.Seed, 0x7071))
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	if n > opt.Sample {
		for i := 0; i < opt.Sample; i++ { // partial Fisher-Yates
			j := i + rng.IntN(n-i)
			rows[i], rows[j] = rows[j], rows[i]
		}
		rows = rows[:opt.Sample]
	}
	sub := subLen(dim, opt.M)
	cb := &Codebook{Dim: dim, M: opt.M, Centroids: make([]float32, opt.M*K*sub)}
	pts := make([]float32, len(rows)*sub)
	for m := 0; m < opt.M; m++ {
		for r, i := range rows {
			subvector(pts[r*sub:(r+1)*sub], vecs[i*dim:(i+1)*dim], m, sub)
		}
		kmeans(pts, sub, cb.Centroids[m*K*sub:(m+1)*K*sub], opt.Iters, rng)
	}
	for i, v := range cb.Centroids {
		cb.Centroids[i] = half.To32(half.From32(v))
	}
	return cb, nil
}

// kmeans fills cent (K×sub) with Lloyd's k-means of pts, started from
// K distinct points chosen at random (all points, repeated, when fewer);
// an empty cluster takes the point farthest from its centroid.
func kmeans(pts []float32, sub int, cent []float32, iters int, rng *rand.Rand) {
	n := len(pts) / sub
	perm := rng.Perm(n)
	for k := 0; k < K; k++ {
		p := perm[k%n]
		copy(cent[k*sub:(k+1)*sub], pts[p*sub:(p+1)*sub])
	}
	assign := make([]int32, n)
	dist := make([]float32, n)
	sum := make([]float64, K*sub)
	count := make([]int, K)
	for it := 0; it < iters; it++ {
		for i := 0; i < n; i++ {
			assign[i], dist[i] = nearest(pts[i*sub:(i+1)*sub], cent, sub)
		}
		clear(sum)
		clear(count)
		for i := 0; i < n; i++ {
			k := int(assign[i])
			count[k]++
			for j := 0; j < sub; j++ {
				sum[k*sub+j] += float64(pts[i*sub+j])
			}
		}
		for k := 0; k < K; k++ {
			if count[k] == 0 {
				// The worst-served point seeds the empty cluster.
				far := 0
				for i := 1; i < n; i++ {
					if dist[i] > dist[far] {
						far = i
					}
				}
				copy(cent[k*sub:(k+1)*sub], pts[far*sub:(far+1)*sub])
				dist[far] = 0
				continue
			}
			for j := 0; j < sub; j++ {
				cent[k*sub+j] = float32(sum[k*sub+j] / float64(count[k]))
			}
		}
	}
}

// nearest returns the centroid closest to x (squared L2) and the distance.
func nearest(x, cent []float32, sub int) (int32, float32) {
	best, bd := int32(0), float32(math.Inf(1))
	for k := 0; k < K; k++ {
		c := cent[k*sub : (k+1)*sub]
		var d float32
		for j, v := range x {
			e := v - c[j]
			d += e * e
		}
		if d < bd {
			best, bd = int32(k), d
		}
	}
	return best, bd
}

// Encode returns the codes of vecs (len(vecs)/Dim vectors, M bytes each),
// subspace-major: the n codes of subspace 0, then of subspace 1, …
func (cb *Codebook) Encode(vecs []float32) []byte {
	n, sub := len(vecs)/cb.Dim, cb.Sub()
	codes := make([]byte, n*cb.M)
	x := make([]float32, sub)
	for i := 0; i < n; i++ {
		for m := 0; m < cb.M; m++ {
			subvector(x, vecs[i*cb.Dim:(i+1)*cb.Dim], m, sub)
			k, _ := nearest(x, cb.Centroids[m*K*sub:(m+1)*K*sub], sub)
			codes[m*n+i] = byte(k) // subspace-major: the scan streams one subspace at a time
		}
	}
	return codes
}

// Write returns the file bytes for a codebook and codes.
func Write(cb *Codebook, codes []byte) []byte {
	n := len(codes) / cb.M
	b := make([]byte, HeaderSize, HeaderSize+2*len(cb.Centroids)+len(codes))
	copy(b, magic[:])
	binary.LittleEndian.PutUint16(b[4:], Version)
	binary.LittleEndian.PutUint16(b[6:], K)
	binary.LittleEndian.PutUint32(b[8:], uint32(n))
	binary.LittleEndian.PutUint32(b[12:], uint32(cb.Dim))
	binary.LittleEndian.PutUint32(b[16:], uint32(cb.M))
	for _, v := range cb.Centroids {
		b = binary.LittleEndian.AppendUint16(b, half.From32(v))
	}
	return append(b, codes...)
}

// Header is what the file header says.
type Header struct {
	Version, Count, Dim, M int
}

// centroidBytes is the size of one stored centroid value.
func (h Header) centroidBytes() int64 {
	if h.Version == 1 {
		return 4
	}
	return 2
}

// FileSize is the size the header implies.
func (h Header) FileSize() int64 {
	return HeaderSize + h.centroidBytes()*int64(h.M)*K*int64(subLen(h.Dim, h.M)) + int64(h.Count)*int64(h.M)
}

const maxDim = 1 << 14

// ParseHeader reads and checks only the header.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrFormat, len(b), HeaderSize)
	}
	if [4]byte(b[:4]) != magic {
		return Header{}, fmt.Errorf("%w: not a codes file (magic %q, want %q)", ErrFormat, b[:4], magic[:])
	}
	v := binary.LittleEndian.Uint16(b[4:])
	if v != 1 && v != Version {
		return Header{}, fmt.Errorf("%w: format version %d, this reader knows 1 and %d; rebuild the assets with a matching builder", ErrFormat, v, Version)
	}
	if k := binary.LittleEndian.Uint16(b[6:]); k != K {
		return Header{}, fmt.Errorf("%w: %d centroids per subspace, want %d", ErrFormat, k, K)
	}
	h := Header{
		Version: int(v),
		Count:   int(binary.LittleEndian.Uint32(b[8:])),
		Dim:     int(binary.LittleEndian.Uint32(b[12:])),
		M:       int(binary.LittleEndian.Uint32(b[16:])),
	}
	if h.Dim <= 0 || h.Dim > maxDim || h.M <= 0 || h.M > h.Dim {
		return h, fmt.Errorf("%w: dimension %d in %d subspaces", ErrFormat, h.Dim, h.M)
	}
	for _, v := range b[20:HeaderSize] {
		if v != 0 {
			return h, fmt.Errorf("%w: reserved header bytes are not zero", ErrFormat)
		}
	}
	return h, nil
}

// Codes is a parsed codes file.
type Codes struct {
	Header
	cb    Codebook
	codes []byte
}

// Parse reads a codes file. The codes alias b.
func Parse(b []byte) (*Codes, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if want := h.FileSize(); int64(len(b)) != want {
		return nil, fmt.Errorf("%w: %d bytes, the header says %d (%d products × %d subspaces): truncated or from another build", ErrFormat, len(b), want, h.Count, h.M)
	}
	nc := h.M * K * subLen(h.Dim, h.M)
	c := &Codes{Header: h, cb: Codebook{Dim: h.Dim, M: h.M, Centroids: make([]float32, nc)}}
	cbytes := int(h.centroidBytes())
	for i := range c.cb.Centroids {
		var v float32
		if cbytes == 4 {
			v = math.Float32frombits(binary.LittleEndian.Uint32(b[HeaderSize+4*i:]))
		} else {
			v = half.To32(binary.LittleEndian.Uint16(b[HeaderSize+2*i:]))
		}
		if v != v || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: centroid value %d is not finite", ErrFormat, i)
		}
		c.cb.Centroids[i] = v
	}
	c.codes = b[HeaderSize+cbytes*nc:]
	return c, nil
}

// Len is the number of products.
func (c *Codes) Len() int { return c.Count }

// Codebook is the file's codebook.
func (c *Codes) Codebook() *Codebook { return &c.cb }

// Code returns product i's M bytes (a copy: the file is subspace-major).
func (c *Codes) Code(i int) []byte {
	out := make([]byte, c.M)
	for m := range out {
		out[m] = c.codes[m*c.Count+i]
	}
	return out
}

// Table holds, per subspace, the dot products of the query's subvector
// with the subspace's K centroids.
type Table [][K]float32

// Table fills t with the dot products of q's subvectors with the
// centroids and returns it.
func (c *Codes) Table(q []float32, t Table) Table {
	return c.cb.Table(q, t)
}

// Table is Codes.Table for a codebook.
func (cb *Codebook) Table(q []float32, t Table) Table {
	sub := cb.Sub()
	if cap(t) < cb.M {
		t = make(Table, cb.M)
	}
	t = t[:cb.M]
	x := make([]float32, sub)
	for m := 0; m < cb.M; m++ {
		subvector(x, q[:cb.Dim], m, sub)
		for k := 0; k < K; k++ {
			cen := cb.Centroids[(m*K+k)*sub : (m*K+k+1)*sub]
			var d float32
			for j, v := range x {
				d += v * cen[j]
			}
			t[m][k] = d
		}
	}
	return t
}

// Decode writes product i's approximate vector into dst.
func (c *Codes) Decode(i int, dst []float32) []float32 {
	sub := c.cb.Sub()
	dst = append(dst[:0], make([]float32, c.M*sub)...)
	for m := 0; m < c.M; m++ {
		k := int(c.codes[m*c.Count+i])
		copy(dst[m*sub:(m+1)*sub], c.cb.Centroids[(m*K+k)*sub:(m*K+k+1)*sub])
	}
	return dst[:c.Dim]
}

// Score is the approximate dot product of the table's query with product
// i, summed in the order Scores sums (the same float).
func (c *Codes) Score(t Table, i int) float32 {
	var s float32
	for m := range t[:c.M] {
		s += t[m][c.codes[m*c.Count+i]]
	}
	return s
}

// Scores fills out[i] with every product's approximate dot product with
// the table's query (out is grown to Len()).
func (c *Codes) Scores(t Table, out []float32) []float32 {
	if cap(out) < c.Count {
		out = make([]float32, c.Count)
	}
	out = out[:c.Count]
	clear(out)
	// One subspace at a time over every product: its 1 KB table stays in
	// the first-level cache, the codes stream, and indexing a [256] array
	// with a byte needs no bounds check.
	// Blocks of products, every subspace over a block before the next:
	// the block of out stays in the first-level cache (a million
	// products' scores are 4 MB), and four subspaces a pass quarter its
	// loads and stores (what costs most in js/wasm). Added left to
	// right, so each score is the same float as Score's.
	n := c.Count
	const block = 2048
	for lo := 0; lo < n; lo += block {
		hi := min(lo+block, n)
		o := out[lo:hi]
		m := 0
		for ; m+4 <= c.M; m += 4 {
			t0, t1, t2, t3 := &t[m], &t[m+1], &t[m+2], &t[m+3]
			c0 := c.codes[m*n+lo : m*n+hi]
			c1 := c.codes[(m+1)*n+lo : (m+1)*n+hi]
			c2 := c.codes[(m+2)*n+lo : (m+2)*n+hi]
			c3 := c.codes[(m+3)*n+lo : (m+3)*n+hi]
			c0, c1, c2, c3 = c0[:len(o)], c1[:len(o)], c2[:len(o)], c3[:len(o)]
			for i := range o {
				o[i] = o[i] + t0[c0[i]] + t1[c1[i]] + t2[c2[i]] + t3[c3[i]]
			}
		}
		for ; m < c.M; m++ {
			tm := &t[m]
			col := c.codes[m*n+lo : m*n+hi]
			col = col[:len(o)]
			for i := range o {
				o[i] += tm[col[i]]
			}
		}
	}
	return out
}
