package heads

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/lookalike/lookalike/internal/half"
)

// Version is the newest format version this package reads and writes:
// 2 adds an optional hidden layer per head; a set without one is written
// as version 1, which it also reads.
const Version = 2

// MaxHidden bounds a head's hidden layer.
const MaxHidden = 4096

// NoLabel marks a product without a value in a head's column.
const NoLabel = 0xFFFF

// MaxClasses bounds a head (class ids are uint16, NoLabel reserved).
const MaxClasses = 4096

var magic = [4]byte{'L', 'K', 'H', 'D'}

// ErrFormat is wrapped by every error about malformed file bytes.
var ErrFormat = errors.New("heads: malformed heads file")

// IsColour reports whether a label column names a colour ("baseColour",
// "color", …): the builder learns a colour head from such a column, and
// the search lets only the other heads (the product's type) borrow from
// the visual neighbours.
func IsColour(column string) bool {
	l := strings.ToLower(column)
	return strings.Contains(l, "colour") || strings.Contains(l, "color")
}

// Head is one softmax classifier over a label column.
type Head struct {
	Column  string
	Classes []string
	// Weight is how much p(a product's label) adds to its score.
	Weight float32
	// W is len(Classes)×In, class-major; B one bias per class. With a
	// hidden layer (B1 not empty), W is len(Classes)×len(B1) over its
	// activations relu(W1·x + B1), W1 being len(B1)×In, unit-major.
	W, B   []float32
	W1, B1 []float32
}

// Set is the heads of one build and the labels of its products.
type Set struct {
	In    int // input length: embedding dim + colour descriptor length
	Heads []Head
	// Labels[h][i] is product i's class id under head h (NoLabel: none).
	Labels [][]uint16
}

// Items is the number of products the labels cover.
func (s *Set) Items() int {
	if len(s.Labels) == 0 {
		return 0
	}
	return len(s.Labels[0])
}

// Predict returns each head's class probabilities for one input.
func (s *Set) Predict(x []float32) [][]float32 {
	out := make([][]float32, len(s.Heads))
	for h := range s.Heads {
		out[h] = s.Heads[h].Predict(x, nil)
	}
	return out
}

// Predict returns softmax(W·x + B) in dst (grown as needed), x going
// through the hidden layer first when the head has one.
func (h *Head) Predict(x []float32, dst []float32) []float32 {
	if hid := len(h.B1); hid > 0 {
		in := len(h.W1) / hid
		a := make([]float32, hid)
		for u := range a {
			a[u] = max(0, dot(h.W1[u*in:(u+1)*in], x)+h.B1[u])
		}
		x = a
	}
	k := len(h.Classes)
	in := len(h.W) / max(1, k)
	if cap(dst) < k {
		dst = make([]float32, k)
	}
	dst = dst[:k]
	for c := range k {
		dst[c] = dot(h.W[c*in:(c+1)*in], x) + h.B[c]
	}
	softmax(dst)
	return dst
}

// dot is Σ row[j]·x[j] over row, in four lanes (the same order natively and
// in js/wasm).
func dot(row, x []float32) float32 {
	in := len(row)
	var s0, s1, s2, s3 float32
	j := 0
	for ; j+4 <= in; j += 4 {
		s0 += row[j] * x[j]
		s1 += row[j+1] * x[j+1]
		s2 += row[j+2] * x[j+2]
		s3 += row[j+3] * x[j+3]
	}
	for ; j < in; j++ {
		s0 += row[j] * x[j]
	}
	return (s0 + s1) + (s2 + s3)
}

// softmax normalises logits in place.
func softmax(z []float32) {
	m := float32(math.Inf(-1))
	for _, v := range z {
		m = max(m, v)
	}
	var s float64
	for i, v := range z {
		e := math.Exp(float64(v - m))
		z[i] = float32(e)
		s += e
	}
	inv := float32(1 / s)
	for i := range z {
		z[i] *= inv
	}
}

// Marshal encodes the set.
func (s *Set) Marshal() ([]byte, error) {
	items := s.Items()
	if len(s.Labels) != len(s.Heads) {
		return nil, fmt.Errorf("heads: %d label lists for %d heads", len(s.Labels), len(s.Heads))
	}
	version := uint16(1)
	for _, h := range s.Heads {
		if len(h.B1) > 0 {
			version = 2
		}
	}
	b := make([]byte, 16)
	copy(b, magic[:])
	binary.LittleEndian.PutUint16(b[4:], version)
	binary.LittleEndian.PutUint16(b[6:], uint16(len(s.Heads)))
	binary.LittleEndian.PutUint32(b[8:], uint32(items))
	binary.LittleEndian.PutUint32(b[12:], uint32(s.In))
	str := func(v string) {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	f32 := func(v []float32) {
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	for _, h := range s.Heads {
		k := len(h.Classes)
		hid := len(h.B1)
		in := s.In
		if hid > 0 {
			in = hid
		}
		if k == 0 || k > MaxClasses || len(h.W) != k*in || len(h.B) != k || len(h.Column) > math.MaxUint16 ||
			hid > MaxHidden || len(h.W1) != hid*s.In {
			return nil, fmt.Errorf("heads: head %q: %d classes, %d weights, %d biases, %d hidden (%d weights) for input %d", h.Column, k, len(h.W), len(h.B), hid, len(h.W1), s.In)
		}
		str(h.Column)
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(h.Weight))
		b = binary.LittleEndian.AppendUint32(b, uint32(k))
		for _, c := range h.Classes {
			if len(c) > math.MaxUint16 {
				return nil, fmt.Errorf("heads: class name of %d bytes", len(c))
			}
			str(c)
		}
		if version >= 2 {
			b = binary.LittleEndian.AppendUint32(b, uint32(hid))
			for _, v := range h.W1 {
				b = binary.LittleEndian.AppendUint16(b, half.From32(v))
			}
			f32(h.B1)
		}
		f32(h.W)
		f32(h.B)
	}
	for h, l := range s.Labels {
		if len(l) != items {
			return nil, fmt.Errorf("heads: head %d labels %d products, head 0 %d", h, len(l), items)
		}
		for _, v := range l {
			b = binary.LittleEndian.AppendUint16(b, v)
		}
	}
	return b, nil
}

// Parse decodes a heads file and checks it against the catalogue's size
// (items ≥ 0; pass -1 to skip that check).
func Parse(b []byte, items int) (*Set, error) {
	if len(b) < 16 || [4]byte(b[:4]) != magic {
		return nil, fmt.Errorf("%w: not a heads file", ErrFormat)
	}
	version := binary.LittleEndian.Uint16(b[4:])
	if version < 1 || version > Version {
		return nil, fmt.Errorf("%w: format version %d, this reader knows 1 to %d; rebuild the assets with a matching builder", ErrFormat, version, Version)
	}
	nh := int(binary.LittleEndian.Uint16(b[6:]))
	n := int(binary.LittleEndian.Uint32(b[8:]))
	in := int(binary.LittleEndian.Uint32(b[12:]))
	if in <= 0 || in > 1<<16 {
		return nil, fmt.Errorf("%w: input length %d", ErrFormat, in)
	}
	if items >= 0 && n != items {
		return nil, fmt.Errorf("%w: labels for %d products, the catalogue has %d: assets from different builds", ErrFormat, n, items)
	}
	r := reader{b: b, at: 16}
	s := &Set{In: in}
	for range nh {
		var h Head
		h.Column = r.str()
		h.Weight = r.f32()
		k := int(r.u32())
		if r.err == nil && (k <= 0 || k > MaxClasses) {
			r.err = fmt.Errorf("head %q: %d classes", h.Column, k)
		}
		for c := 0; c < k && r.err == nil; c++ {
			h.Classes = append(h.Classes, r.str())
		}
		wIn := in
		if version >= 2 {
			hid := int(r.u32())
			if r.err == nil && hid > MaxHidden {
				r.err = fmt.Errorf("head %q: %d hidden units", h.Column, hid)
			}
			if hid > 0 && r.err == nil {
				h.W1 = r.halves(hid * in)
				h.B1 = r.floats(hid)
				wIn = hid
			}
		}
		h.W = r.floats(k * wIn)
		h.B = r.floats(k)
		if r.err == nil && !(h.Weight >= 0 && h.Weight <= 100) {
			r.err = fmt.Errorf("head %q: weight %v", h.Column, h.Weight)
		}
		s.Heads = append(s.Heads, h)
	}
	for hi := 0; hi < nh && r.err == nil; hi++ {
		raw := r.bytes(2 * n)
		if r.err != nil {
			break
		}
		l := make([]uint16, n)
		k := len(s.Heads[hi].Classes)
		for i := range l {
			v := binary.LittleEndian.Uint16(raw[2*i:])
			if v != NoLabel && int(v) >= k {
				r.err = fmt.Errorf("product %d has class %d under head %q of %d classes", i, v, s.Heads[hi].Column, k)
				break
			}
			l[i] = v
		}
		s.Labels = append(s.Labels, l)
	}
	if r.err == nil && r.at != len(b) {
		r.err = fmt.Errorf("%d bytes after the labels", len(b)-r.at)
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, r.err)
	}
	return s, nil
}

type reader struct {
	b   []byte
	at  int
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.at+n > len(r.b) {
		r.err = errors.New("truncated")
		return nil
	}
	v := r.b[r.at : r.at+n]
	r.at += n
	return v
}

func (r *reader) u32() uint32 {
	v := r.bytes(4)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(v)
}

func (r *reader) f32() float32 { return math.Float32frombits(r.u32()) }

func (r *reader) str() string {
	v := r.bytes(2)
	if v == nil {
		return ""
	}
	s := r.bytes(int(binary.LittleEndian.Uint16(v)))
	if r.err == nil && !utf8.Valid(s) {
		r.err = errors.New("a name is not UTF-8")
	}
	return string(s)
}

func (r *reader) halves(n int) []float32 {
	raw := r.bytes(2 * n)
	if raw == nil {
		return nil
	}
	out := make([]float32, n)
	for i := range out {
		v := half.To32(binary.LittleEndian.Uint16(raw[2*i:]))
		if v != v || math.IsInf(float64(v), 0) {
			r.err = errors.New("a weight is not finite")
			return nil
		}
		out[i] = v
	}
	return out
}

func (r *reader) floats(n int) []float32 {
	raw := r.bytes(4 * n)
	if raw == nil {
		return nil
	}
	out := make([]float32, n)
	for i := range out {
		v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		if v != v || math.IsInf(float64(v), 0) {
			r.err = errors.New("a weight is not finite")
			return nil
		}
		out[i] = v
	}
	return out
}
