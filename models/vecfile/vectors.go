package vecfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/lookalike/lookalike/internal/vec"
)

// HeaderSize is the size of both file headers in bytes.
const HeaderSize = 32

// Format versions this package reads and writes.
const (
	VectorsVersion   = 1
	NeighborsVersion = 1
)

// The files' first four bytes.
const (
	VectorsMagic   = "LKVC"
	NeighborsMagic = "LKNB"
)

var (
	vectorsMagic   = [4]byte([]byte(VectorsMagic))
	neighborsMagic = [4]byte([]byte(NeighborsMagic))
)

// ErrFormat is wrapped by every error about malformed file bytes.
var ErrFormat = errors.New("vecfile: malformed file")

// Encoding says how vector components are stored.
type Encoding uint16

const (
	// Float32 stores each component as a float32: record = 4·dim bytes.
	Float32 Encoding = 1
	// Int8 stores a float32 scale then dim int8 components, padded to a
	// multiple of 4 bytes: record = 4 + 4·ceil(dim/4) bytes.
	Int8 Encoding = 2
)

func (e Encoding) String() string {
	switch e {
	case Float32:
		return "float32"
	case Int8:
		return "int8"
	}
	return fmt.Sprintf("Encoding(%d)", uint16(e))
}

// RecordSize returns the bytes per vector for encoding e and dimension dim.
func RecordSize(e Encoding, dim int) int {
	switch e {
	case Float32:
		return 4 * dim
	case Int8:
		return 4 + 4*((dim+3)/4)
	}
	return 0
}

// VectorsHeader describes a vector file.
//
// Layout (32 bytes): magic "LKVC", uint16 version, uint16 encoding,
// uint32 count, uint32 dim, uint32 record size, 12 zero bytes.
type VectorsHeader struct {
	Version  uint16
	Encoding Encoding
	Count    int
	Dim      int
}

// RecordSize returns the bytes per vector.
func (h VectorsHeader) RecordSize() int { return RecordSize(h.Encoding, h.Dim) }

// FileSize returns the expected total file size.
func (h VectorsHeader) FileSize() int64 {
	return HeaderSize + int64(h.Count)*int64(h.RecordSize())
}

const maxDim = 1 << 16

// ReadVectorsHeader reads and checks only the header.
func ReadVectorsHeader(r io.Reader) (VectorsHeader, error) {
	var b [HeaderSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return VectorsHeader{}, fmt.Errorf("%w: vectors header: %v", ErrFormat, err)
	}
	return parseVectorsHeader(b[:])
}

func parseVectorsHeader(b []byte) (VectorsHeader, error) {
	if len(b) < HeaderSize {
		return VectorsHeader{}, fmt.Errorf("%w: vectors file is %d bytes, shorter than its %d-byte header", ErrFormat, len(b), HeaderSize)
	}
	if [4]byte(b[:4]) != vectorsMagic {
		return VectorsHeader{}, fmt.Errorf("%w: not a vectors file (magic %q, want %q)", ErrFormat, b[:4], vectorsMagic[:])
	}
	h := VectorsHeader{
		Version:  binary.LittleEndian.Uint16(b[4:]),
		Encoding: Encoding(binary.LittleEndian.Uint16(b[6:])),
		Count:    int(binary.LittleEndian.Uint32(b[8:])),
		Dim:      int(binary.LittleEndian.Uint32(b[12:])),
	}
	rs := binary.LittleEndian.Uint32(b[16:])
	if h.Version != VectorsVersion {
		return h, fmt.Errorf("%w: vectors format version %d, this reader knows %d; rebuild the assets with a matching builder", ErrFormat, h.Version, VectorsVersion)
	}
	if h.Encoding != Float32 && h.Encoding != Int8 {
		return h, fmt.Errorf("%w: unknown vector encoding %d", ErrFormat, uint16(h.Encoding))
	}
	if h.Dim <= 0 || h.Dim > maxDim {
		return h, fmt.Errorf("%w: vector dimension %d out of range 1..%d", ErrFormat, h.Dim, maxDim)
	}
	if int(rs) != h.RecordSize() {
		return h, fmt.Errorf("%w: record size %d, want %d for %s × %d", ErrFormat, rs, h.RecordSize(), h.Encoding, h.Dim)
	}
	return h, nil
}

// WriteVectors writes n = len(vecs)/dim vectors (row-major) in encoding e.
func WriteVectors(w io.Writer, e Encoding, dim int, vecs []float32) error {
	if dim <= 0 || dim > maxDim || len(vecs)%dim != 0 {
		return fmt.Errorf("vecfile: write vectors: %d floats is not a multiple of dimension %d", len(vecs), dim)
	}
	rs := RecordSize(e, dim)
	if rs == 0 {
		return fmt.Errorf("vecfile: write vectors: unknown encoding %d", uint16(e))
	}
	n := len(vecs) / dim
	if n > math.MaxUint32 {
		return fmt.Errorf("vecfile: write vectors: %d vectors is too many", n)
	}
	for i, x := range vecs {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("vecfile: write vectors: vector %d has a non-finite component", i/dim)
		}
	}
	bw := bufio.NewWriter(w)
	var h [HeaderSize]byte
	copy(h[:], vectorsMagic[:])
	binary.LittleEndian.PutUint16(h[4:], VectorsVersion)
	binary.LittleEndian.PutUint16(h[6:], uint16(e))
	binary.LittleEndian.PutUint32(h[8:], uint32(n))
	binary.LittleEndian.PutUint32(h[12:], uint32(dim))
	binary.LittleEndian.PutUint32(h[16:], uint32(rs))
	bw.Write(h[:])
	rec := make([]byte, rs)
	for i := 0; i < n; i++ {
		v := vecs[i*dim : (i+1)*dim]
		switch e {
		case Float32:
			for j, x := range v {
				binary.LittleEndian.PutUint32(rec[4*j:], math.Float32bits(x))
			}
		case Int8:
			scale, q := Quantize(v)
			binary.LittleEndian.PutUint32(rec, math.Float32bits(scale))
			for j, x := range q {
				rec[4+j] = byte(x)
			}
		}
		if _, err := bw.Write(rec); err != nil {
			return fmt.Errorf("vecfile: write vectors: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("vecfile: write vectors: %w", err)
	}
	return nil
}

// Quantize returns the symmetric int8 form of v: scale = max|v|/127 and
// q[j] = round(v[j]/scale), so v[j] ≈ scale·q[j].
func Quantize(v []float32) (float32, []int8) {
	var m float32
	for _, x := range v {
		m = max(m, float32(math.Abs(float64(x))))
	}
	q := make([]int8, len(v))
	if m == 0 {
		return 0, q
	}
	scale := m / 127
	for j, x := range v {
		r := math.Round(float64(x / scale))
		q[j] = int8(max(-127, min(127, r)))
	}
	return scale, q
}

// Vectors is a parsed vector file. It reads records in place.
type Vectors struct {
	h    VectorsHeader
	data []byte    // records only
	rs   int       // record size in bytes
	f32  []float32 // Float32: the records as floats (a view when aligned)
	i8   []int8    // Int8: the records as int8 (a view)
	// invNorm[i] = 1/|record i|: Score is then one dot product.
	invNorm []float32
}

// ParseVectors checks data as a vector file (header and exact size) and
// returns a reader over it. data must not change afterwards.
func ParseVectors(data []byte) (*Vectors, error) {
	h, err := parseVectorsHeader(data)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != h.FileSize() {
		return nil, fmt.Errorf("%w: vectors file is %d bytes, header says %d (%d × %d-byte records)", ErrFormat, len(data), h.FileSize(), h.Count, h.RecordSize())
	}
	v := &Vectors{h: h, data: data[HeaderSize:], rs: h.RecordSize()}
	if len(v.data) > 0 {
		switch h.Encoding {
		case Float32:
			v.f32 = float32s(v.data)
		case Int8:
			v.i8 = unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(v.data))), len(v.data))
		}
	}
	v.invNorm = v.inverseNorms()
	return v, nil
}

// float32s views little-endian float32 bytes as []float32 when aligned on a
// little-endian machine, and decodes a copy otherwise.
func float32s(b []byte) []float32 {
	p := unsafe.Pointer(unsafe.SliceData(b))
	if littleEndian && uintptr(p)%4 == 0 {
		return unsafe.Slice((*float32)(p), len(b)/4)
	}
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// Header returns the file header.
func (v *Vectors) Header() VectorsHeader { return v.h }

// Len returns the number of vectors.
func (v *Vectors) Len() int { return v.h.Count }

// Dim returns the vector dimension.
func (v *Vectors) Dim() int { return v.h.Dim }

// Vector decodes vector i into dst (grown if short) and returns it.
func (v *Vectors) Vector(i int, dst []float32) []float32 {
	return decodeRecord(v.h, v.data[i*v.rs:(i+1)*v.rs], dst)
}

// decodeRecord decodes one record of a file with header h into dst (grown
// if short) and returns it.
func decodeRecord(h VectorsHeader, rec []byte, dst []float32) []float32 {
	dst = append(dst[:0], make([]float32, h.Dim)...)
	switch h.Encoding {
	case Float32:
		for j := range dst {
			dst[j] = math.Float32frombits(binary.LittleEndian.Uint32(rec[4*j:]))
		}
	case Int8:
		scale := math.Float32frombits(binary.LittleEndian.Uint32(rec))
		for j := range dst {
			dst[j] = scale * float32(int8(rec[4+j]))
		}
	}
	return dst
}

// Score returns the cosine similarity between q (unit length, len == Dim)
// and stored vector i; it implements annoy.Scorer. Zero vectors score 0.
func (v *Vectors) Score(q []float32, i int) float32 {
	dim := v.h.Dim
	if v.h.Encoding == Float32 {
		return vec.Dot(q[:dim], v.f32[i*dim:(i+1)*dim]) * v.invNorm[i]
	}
	// Int8: the scale cancels out of the cosine.
	off := i*v.rs + 4
	return dotInt8(q[:dim], v.i8[off:off+dim]) * v.invNorm[i]
}

// dotInt8 is q·c in the lanes of vec.Dot (the order every score here
// sums in, so a record scored from memory or from a file is the same float).
func dotInt8(q []float32, c []int8) float32 {
	c = c[:len(q)]
	var d0, d1, d2, d3 float32
	j := 0
	for ; j+4 <= len(q); j += 4 {
		d0 += q[j] * float32(c[j])
		d1 += q[j+1] * float32(c[j+1])
		d2 += q[j+2] * float32(c[j+2])
		d3 += q[j+3] * float32(c[j+3])
	}
	for ; j < len(q); j++ {
		d0 += q[j] * float32(c[j])
	}
	return (d0 + d1) + (d2 + d3)
}

// invNormFloat32 is 1/|y| (0 for a zero or overflowing vector).
func invNormFloat32(y []float32) float32 {
	var n float64
	for _, x := range y {
		n += float64(x) * float64(x)
	}
	return invSqrt(n)
}

// invNormInt8 is 1/|c| (0 for a zero vector).
func invNormInt8(c []int8) float32 {
	var s int32
	for _, x := range c {
		s += int32(x) * int32(x)
	}
	return invSqrt(float64(s))
}

func invSqrt(n float64) float32 {
	if n > 0 && !math.IsInf(n, 0) {
		return float32(1 / math.Sqrt(n))
	}
	return 0
}

// inverseNorms returns 1/|record i| for every record (0 for a zero
// record), so Score costs one dot product.
func (v *Vectors) inverseNorms() []float32 {
	dim := v.h.Dim
	out := make([]float32, v.h.Count)
	for i := range out {
		if v.h.Encoding == Float32 {
			out[i] = invNormFloat32(v.f32[i*dim : (i+1)*dim])
		} else {
			out[i] = invNormInt8(v.i8[i*v.rs+4 : i*v.rs+4+dim])
		}
	}
	return out
}
