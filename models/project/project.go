package project

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Projection is y = W·(x − Mean). W is Out×In, row-major.
type Projection struct {
	Kind    string
	In, Out int
	Mean    []float32
	W       []float32
}

var magic = [4]byte{'L', 'K', 'P', 'J'}

const version = 1

// maxDim bounds header dimensions so a corrupt file cannot ask for gigabytes.
const maxDim = 1 << 16

// Apply projects x (length In) into dst (reused when it has capacity Out).
// A nil Projection copies x.
func (p *Projection) Apply(x, dst []float32) []float32 {
	if p == nil {
		return append(dst[:0], x...)
	}
	if cap(dst) < p.Out {
		dst = make([]float32, p.Out)
	}
	dst = dst[:p.Out]
	c := make([]float32, p.In)
	for i := range c {
		c[i] = x[i] - p.Mean[i]
	}
	for o := 0; o < p.Out; o++ {
		row := p.W[o*p.In : (o+1)*p.In]
		var s0, s1, s2, s3 float32
		i := 0
		for ; i+4 <= len(row); i += 4 {
			s0 += row[i] * c[i]
			s1 += row[i+1] * c[i+1]
			s2 += row[i+2] * c[i+2]
			s3 += row[i+3] * c[i+3]
		}
		for ; i < len(row); i++ {
			s0 += row[i] * c[i]
		}
		dst[o] = (s0 + s1) + (s2 + s3)
	}
	return dst
}

// OutDim is the embedding dimension after p (in when p is nil).
func (p *Projection) OutDim(in int) int {
	if p == nil {
		return in
	}
	return p.Out
}

// Normalize scales v to unit L2 norm in place (a zero vector stays zero).
func Normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

// MarshalBinary encodes p in the format described in the package doc.
func (p *Projection) MarshalBinary() ([]byte, error) {
	if p == nil {
		return nil, errors.New("project: nil projection")
	}
	b := make([]byte, 0, 20+len(p.Kind)+4*(len(p.Mean)+len(p.W)))
	b = append(b, magic[:]...)
	b = binary.LittleEndian.AppendUint32(b, version)
	b = binary.LittleEndian.AppendUint32(b, uint32(p.In))
	b = binary.LittleEndian.AppendUint32(b, uint32(p.Out))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Kind)))
	b = append(b, p.Kind...)
	for _, v := range p.Mean {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	for _, v := range p.W {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b, nil
}

// Decode parses a projection file.
func Decode(b []byte) (*Projection, error) {
	if len(b) < 20 || [4]byte(b[:4]) != magic {
		return nil, errors.New("project: not a projection file (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(b[4:]); v != version {
		return nil, fmt.Errorf("project: format version %d, this build reads %d: rebuild the assets with the same builder version", v, version)
	}
	in := binary.LittleEndian.Uint32(b[8:])
	out := binary.LittleEndian.Uint32(b[12:])
	kl := binary.LittleEndian.Uint32(b[16:])
	if in == 0 || out == 0 || in > maxDim || out > maxDim || kl > 256 {
		return nil, fmt.Errorf("project: bad header (in=%d out=%d kind length=%d)", in, out, kl)
	}
	p := &Projection{In: int(in), Out: int(out)}
	rest := b[20:]
	if uint32(len(rest)) < kl {
		return nil, errors.New("project: truncated file")
	}
	p.Kind, rest = string(rest[:kl]), rest[kl:]
	need := 4 * (p.In + p.In*p.Out)
	if len(rest) != need {
		return nil, fmt.Errorf("project: %d data bytes, want %d for %d×%d", len(rest), need, p.Out, p.In)
	}
	f := make([]float32, p.In+p.In*p.Out)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*i:]))
	}
	p.Mean, p.W = f[:p.In], f[p.In:]
	return p, nil
}
