package project

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/lookalike/lookalike/internal/vec"
)

// Projection is y = W·(x − Mean). W is Out×In, row-major.
//
// With Blocks, y is cut into consecutive blocks (their Out sum to Out) and
// each block is L2-normalised and scaled by √Weight, so that after the
// final normalisation the cosine of two embeddings is Σ Weight·cos(block):
// a blend of, say, an LDA block (separates the label column) and a PCA
// block (keeps colour and shape detail that LDA discards).
type Projection struct {
	Kind    string
	In, Out int
	Mean    []float32
	W       []float32
	Blocks  []Block
	// Bias, when set, is added to W·(x − Mean) (length Out).
	Bias []float32
	// Int8 says W holds int8 levels times a per-row scale (QuantizeRows):
	// the file stores it in a quarter of the bytes, and Apply gives the
	// same numbers before and after a round trip.
	Int8 bool
	// Int4 says W holds 4-bit levels (−7…7) times a scale per group of
	// Group4 inputs of a row (QuantizeRows4): an eighth of the float32
	// size.
	Int4 bool
}

// Group4 is how many consecutive inputs of a row share one 4-bit scale.
const Group4 = 128

// QuantizeRows rounds each row of W to 127 levels of its largest
// magnitude, in place, so the projection the builder applies to the
// catalogue is exactly the one the page downloads (a quarter of the
// float32 size).
func (p *Projection) QuantizeRows() {
	for o := 0; o < p.Out; o++ {
		row := p.W[o*p.In : (o+1)*p.In]
		s := rowScale(row)
		for i, w := range row {
			row[i] = float32(roundLevel(w, s)) * s
		}
	}
	p.Int8 = true
}

// QuantizeRows4 rounds W to 15 levels (−7…7) per group of Group4 inputs
// of each row, in place, as the file of version 4 stores it.
func (p *Projection) QuantizeRows4() {
	for o := 0; o < p.Out; o++ {
		row := p.W[o*p.In : (o+1)*p.In]
		for g := 0; g < p.In; g += Group4 {
			grp := row[g:min(g+Group4, p.In)]
			s := groupScale4(grp)
			for i, w := range grp {
				grp[i] = float32(roundLevel4(w, s)) * s
			}
		}
	}
	p.Int8, p.Int4 = false, true
}

// groupScale4 is the scale that puts a group's largest |w| at level 7.
func groupScale4(grp []float32) float32 { return absMaxScale(grp, 7) }

func roundLevel4(w, s float32) int8 { return roundClamp(w, s, 7) }

// rowScale is the scale that puts a row's largest |w| at level 127.
func rowScale(row []float32) float32 { return absMaxScale(row, 127) }

func roundLevel(w, s float32) int8 { return roundClamp(w, s, 127) }

// absMaxScale is max|w| / levels (1 for an all-zero slice).
func absMaxScale(ws []float32, levels float32) float32 {
	m := float32(0)
	for _, w := range ws {
		m = max(m, float32(math.Abs(float64(w))))
	}
	if m == 0 {
		return 1
	}
	return m / levels
}

// roundClamp is w/s rounded to the nearest level within ±levels.
func roundClamp(w, s float32, levels float64) int8 {
	return int8(max(-levels, min(levels, math.Round(float64(w/s)))))
}

// Block is one normalised part of a blended projection.
type Block struct {
	Out    int
	Weight float32
}

// Concat stacks two projections of the same input into a blended one with
// weights wa and wb (their block structure is flattened into one block each).
func Concat(a, b *Projection, wa, wb float32) (*Projection, error) {
	if a.In != b.In {
		return nil, fmt.Errorf("project: concat of %d- and %d-d inputs", a.In, b.In)
	}
	p := &Projection{Kind: a.Kind + "+" + b.Kind, In: a.In, Out: a.Out + b.Out,
		Mean: make([]float32, a.In), W: make([]float32, 0, (a.Out+b.Out)*a.In),
		Blocks: []Block{{a.Out, wa}, {b.Out, wb}}}
	// One mean for both: fold each part's mean difference into an offset-free
	// form by re-centring on a's mean: W_b(x − μ_b) = W_b(x − μ_a) + W_b(μ_a − μ_b).
	// The constant term is kept exact by storing it as a per-row bias.
	copy(p.Mean, a.Mean)
	p.W = append(p.W, a.W...)
	p.W = append(p.W, b.W...)
	p.Bias = make([]float32, p.Out)
	for o := 0; o < b.Out; o++ {
		row := b.W[o*b.In : (o+1)*b.In]
		var s float64
		for j, w := range row {
			s += float64(w) * float64(a.Mean[j]-b.Mean[j])
		}
		p.Bias[a.Out+o] = float32(s)
	}
	return p, nil
}

var magic = [4]byte{'L', 'K', 'P', 'J'}

const (
	version  = 1
	version2 = 2 // with blocks and bias
	version3 = 3 // as 2, W stored int8 per row with a float32 scale per row
	version4 = 4 // as 2, W stored 4-bit per group of Group4 inputs with a float32 scale each
)

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
		dst[o] = vec.Dot(p.W[o*p.In:(o+1)*p.In], c)
		if p.Bias != nil {
			dst[o] += p.Bias[o]
		}
	}
	at := 0
	for _, b := range p.Blocks {
		blk := dst[at : at+b.Out]
		Normalize(blk)
		w := float32(math.Sqrt(float64(b.Weight)))
		for i := range blk {
			blk[i] *= w
		}
		at += b.Out
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

// MarshalBinary encodes p in the format described in the package doc
// (version 1 for a plain projection, version 2 with blocks and bias).
func (p *Projection) MarshalBinary() ([]byte, error) {
	if p == nil {
		return nil, errors.New("project: nil projection")
	}
	v := uint32(version)
	if len(p.Blocks) > 0 || p.Bias != nil {
		v = version2
	}
	if p.Int8 {
		v = version3
	}
	if p.Int4 {
		v = version4
	}
	b := make([]byte, 0, 32+len(p.Kind)+8*len(p.Blocks)+4*(len(p.Mean)+len(p.W)+len(p.Bias)))
	b = append(b, magic[:]...)
	b = binary.LittleEndian.AppendUint32(b, v)
	b = binary.LittleEndian.AppendUint32(b, uint32(p.In))
	b = binary.LittleEndian.AppendUint32(b, uint32(p.Out))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Kind)))
	b = append(b, p.Kind...)
	if v >= version2 {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Blocks)))
		for _, blk := range p.Blocks {
			b = binary.LittleEndian.AppendUint32(b, uint32(blk.Out))
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(blk.Weight))
		}
		hasBias := uint32(0)
		if p.Bias != nil {
			hasBias = 1
		}
		b = binary.LittleEndian.AppendUint32(b, hasBias)
	}
	for _, x := range p.Mean {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	if v == version3 {
		scales := make([]float32, p.Out)
		for o := range scales {
			scales[o] = rowScale(p.W[o*p.In : (o+1)*p.In])
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(scales[o]))
		}
		for i, x := range p.W {
			b = append(b, byte(roundLevel(x, scales[i/p.In])))
		}
	} else if v == version4 {
		groups := groupsPerRow(p.In)
		scales := make([]float32, p.Out*groups)
		for o := 0; o < p.Out; o++ {
			for g := 0; g < groups; g++ {
				scales[o*groups+g] = groupScale4(p.W[o*p.In+g*Group4 : o*p.In+min((g+1)*Group4, p.In)])
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(scales[o*groups+g]))
			}
		}
		// Two levels a byte, the lower input in the low nibble; a row
		// of odd length ends with a half-used byte.
		for o := 0; o < p.Out; o++ {
			row := p.W[o*p.In : (o+1)*p.In]
			for i := 0; i < p.In; i += 2 {
				lo := roundLevel4(row[i], scales[o*groups+i/Group4])
				hi := int8(0)
				if i+1 < p.In {
					hi = roundLevel4(row[i+1], scales[o*groups+(i+1)/Group4])
				}
				b = append(b, byte(lo)&0x0f|byte(hi)<<4)
			}
		}
	} else {
		for _, x := range p.W {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	for _, x := range p.Bias {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b, nil
}

// Decode parses a projection file.
func Decode(b []byte) (*Projection, error) {
	if len(b) < 20 || [4]byte(b[:4]) != magic {
		return nil, errors.New("project: not a projection file (bad magic)")
	}
	v := binary.LittleEndian.Uint32(b[4:])
	if v != version && v != version2 && v != version3 && v != version4 {
		return nil, fmt.Errorf("project: format version %d, this build reads %d to %d: rebuild the assets with the same builder version", v, version, version4)
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
	u32 := func() (uint32, bool) {
		if len(rest) < 4 {
			return 0, false
		}
		x := binary.LittleEndian.Uint32(rest)
		rest = rest[4:]
		return x, true
	}
	hasBias := uint32(0)
	if v >= version2 {
		nb, ok := u32()
		if !ok || nb > 16 {
			return nil, errors.New("project: bad block count")
		}
		sum := 0
		for i := uint32(0); i < nb; i++ {
			o, ok1 := u32()
			w, ok2 := u32()
			if !ok1 || !ok2 || o == 0 || o > out {
				return nil, errors.New("project: bad block")
			}
			p.Blocks = append(p.Blocks, Block{Out: int(o), Weight: math.Float32frombits(w)})
			sum += int(o)
		}
		if nb > 0 && sum != p.Out {
			return nil, fmt.Errorf("project: blocks cover %d of %d outputs", sum, p.Out)
		}
		if hasBias, ok = u32(); !ok || hasBias > 1 {
			return nil, errors.New("project: bad bias flag")
		}
	}
	if v == version4 {
		groups := groupsPerRow(p.In)
		rowBytes := (p.In + 1) / 2
		need := 4*(p.In+p.Out*groups+int(hasBias)*p.Out) + rowBytes*p.Out
		if len(rest) != need {
			return nil, fmt.Errorf("project: %d data bytes, want %d for %d×%d 4-bit", len(rest), need, p.Out, p.In)
		}
		p.Mean = f32le(rest, p.In)
		scales := f32le(rest[4*p.In:], p.Out*groups)
		q := rest[4*(p.In+p.Out*groups):]
		p.W = make([]float32, p.In*p.Out)
		for o := 0; o < p.Out; o++ {
			row, src := p.W[o*p.In:(o+1)*p.In], q[o*rowBytes:(o+1)*rowBytes]
			for i := range row {
				nib := src[i/2] >> (4 * uint(i&1)) & 0x0f
				row[i] = float32(int8(nib<<4)>>4) * scales[o*groups+i/Group4]
			}
		}
		if hasBias == 1 {
			p.Bias = f32le(q[rowBytes*p.Out:], p.Out)
		}
		p.Int4 = true
		return p, nil
	}
	if v == version3 {
		need := 4*(p.In+p.Out+int(hasBias)*p.Out) + p.In*p.Out
		if len(rest) != need {
			return nil, fmt.Errorf("project: %d data bytes, want %d for %d×%d int8", len(rest), need, p.Out, p.In)
		}
		f32 := func(b []byte, n int) []float32 {
			f := make([]float32, n)
			for i := range f {
				f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
			return f
		}
		p.Mean = f32(rest, p.In)
		scales := f32(rest[4*p.In:], p.Out)
		q := rest[4*(p.In+p.Out):]
		p.W = make([]float32, p.In*p.Out)
		for i := range p.W {
			p.W[i] = float32(int8(q[i])) * scales[i/p.In]
		}
		if hasBias == 1 {
			p.Bias = f32(q[p.In*p.Out:], p.Out)
		}
		p.Int8 = true
		return p, nil
	}
	need := 4 * (p.In + p.In*p.Out + int(hasBias)*p.Out)
	if len(rest) != need {
		return nil, fmt.Errorf("project: %d data bytes, want %d for %d×%d", len(rest), need, p.Out, p.In)
	}
	f := make([]float32, need/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*i:]))
	}
	p.Mean, p.W = f[:p.In], f[p.In:p.In+p.In*p.Out]
	if hasBias == 1 {
		p.Bias = f[p.In+p.In*p.Out:]
	}
	return p, nil
}

// groupsPerRow is the number of 4-bit scales of a row of in inputs.
func groupsPerRow(in int) int { return (in + Group4 - 1) / Group4 }

// f32le reads n little-endian float32s.
func f32le(b []byte, n int) []float32 {
	f := make([]float32, n)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
}
