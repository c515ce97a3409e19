package objectness

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"math"
)

// Version is the format version this package reads and writes.
const Version = 1

var magic = [4]byte{'L', 'K', 'O', 'B'}

// ErrFormat is wrapped by every error about malformed file bytes.
var ErrFormat = errors.New("objectness: malformed objectness file")

// MaxChannels bounds a map's channels (ResNet50's conv5 has 2,048).
const MaxChannels = 1 << 16

// Map is a learned per-cell product detector over a c×h×w feature map.
type Map struct {
	// W has one weight per channel, applied to √activation; B is the bias
	// (the training's standardisation is folded into both).
	W []float32
	B float32
	// Threshold is the probability above which a cell joins the product's
	// region; Margin widens the region's bounding box, in cells.
	Threshold float32
	Margin    float32
}

// Channels is the feature map depth the map expects.
func (m *Map) Channels() int { return len(m.W) }

// Probabilities returns, in dst (grown as needed), each cell's probability
// of showing the product: fm is c×n, channel-major (n = h·w cells).
func (m *Map) Probabilities(fm []float32, n int, dst []float64) ([]float64, error) {
	c := len(m.W)
	if n <= 0 || len(fm) != c*n {
		return nil, fmt.Errorf("objectness: a feature map of %d values is not %d channels × %d cells: the objectness asset comes from another model", len(fm), c, n)
	}
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	for i := range dst {
		dst[i] = float64(m.B)
	}
	for ch, wt := range m.W {
		if wt == 0 {
			continue
		}
		w := float64(wt)
		for i, v := range fm[ch*n : (ch+1)*n] {
			if v > 0 {
				dst[i] += w * math.Sqrt(float64(v))
			}
		}
	}
	for i, z := range dst {
		dst[i] = 1 / (1 + math.Exp(-z))
	}
	return dst, nil
}

// Box returns the product's box in bounds (the photo the h×w map fm was
// computed from, stretched to the model's square input) and the share of
// the photo's area it covers. ok is false when no cell is above the
// threshold: nothing in the photo looks like a product the map learned,
// and the caller should not crop.
func (m *Map) Box(fm []float32, h, w int, bounds image.Rectangle) (box image.Rectangle, share float64, ok bool, err error) {
	p, err := m.Probabilities(fm, h*w, nil)
	if err != nil {
		return bounds, 1, false, err
	}
	return BoxOf(p, h, w, float64(m.Threshold), float64(m.Margin), bounds)
}

// BoxOf is Box from the cells' probabilities p (h×w, row-major): the cells
// above threshold connected (4-neighbours) to the likeliest one, their
// bounding box widened by margin cells and mapped onto bounds.
func BoxOf(p []float64, h, w int, threshold, margin float64, bounds image.Rectangle) (box image.Rectangle, share float64, ok bool, err error) {
	if h <= 0 || w <= 0 || len(p) != h*w {
		return bounds, 1, false, fmt.Errorf("objectness: %d probabilities for a %d×%d map", len(p), h, w)
	}
	cells, best := Region(p, h, w, threshold)
	if !(p[best] > threshold) {
		return bounds, 1, false, nil
	}
	r, ok := CellsBox(cells, h, w, margin, bounds)
	if !ok {
		return bounds, 1, false, nil
	}
	return r, float64(r.Dx()*r.Dy()) / float64(bounds.Dx()*bounds.Dy()), true, nil
}

// Region is the group of cells of score s (h×w, row-major) above
// threshold connected (4-neighbours) to the highest-scoring one, which it
// always holds: their bounding box in cells, and that cell's index.
func Region(s []float64, h, w int, threshold float64) (cells image.Rectangle, best int) {
	for i, v := range s {
		if v > s[best] {
			best = i
		}
	}
	in := make([]bool, len(s))
	in[best] = true
	stack := []int{best}
	x0, x1, y0, y1 := best%w, best%w, best/w, best/w
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		cx, cy := i%w, i/w
		x0, x1, y0, y1 = min(x0, cx), max(x1, cx), min(y0, cy), max(y1, cy)
		for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
			nx, ny := cx+d[0], cy+d[1]
			if nx < 0 || ny < 0 || nx >= w || ny >= h {
				continue
			}
			if j := ny*w + nx; !in[j] && s[j] > threshold {
				in[j] = true
				stack = append(stack, j)
			}
		}
	}
	return image.Rect(x0, y0, x1+1, y1+1), best
}

// CellsBox maps a box of cells of an h×w map, widened by margin cells, onto
// bounds (the photo the map was computed from, stretched to the model's
// square input); ok is false when it is under 2 pixels wide or high.
func CellsBox(cells image.Rectangle, h, w int, margin float64, bounds image.Rectangle) (image.Rectangle, bool) {
	W, H := float64(bounds.Dx()), float64(bounds.Dy())
	fw, fh := float64(w), float64(h)
	r := image.Rect(
		bounds.Min.X+int(math.Max(0, (float64(cells.Min.X)-margin)/fw)*W), bounds.Min.Y+int(math.Max(0, (float64(cells.Min.Y)-margin)/fh)*H),
		bounds.Min.X+int(math.Min(1, (float64(cells.Max.X)+margin)/fw)*W+0.5), bounds.Min.Y+int(math.Min(1, (float64(cells.Max.Y)+margin)/fh)*H+0.5),
	).Intersect(bounds)
	if r.Dx() < 2 || r.Dy() < 2 {
		return bounds, false
	}
	return r, true
}

// MarshalBinary writes the objectness file.
func (m *Map) MarshalBinary() ([]byte, error) {
	if len(m.W) == 0 || len(m.W) > MaxChannels {
		return nil, fmt.Errorf("objectness: %d channels", len(m.W))
	}
	b := make([]byte, 24, 24+4*len(m.W))
	copy(b, magic[:])
	binary.LittleEndian.PutUint16(b[4:], Version)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(m.W)))
	binary.LittleEndian.PutUint32(b[12:], math.Float32bits(m.B))
	binary.LittleEndian.PutUint32(b[16:], math.Float32bits(m.Threshold))
	binary.LittleEndian.PutUint32(b[20:], math.Float32bits(m.Margin))
	for _, v := range m.W {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b, nil
}

// Parse reads an objectness file.
func Parse(b []byte) (*Map, error) {
	if len(b) < 24 || [4]byte(b[:4]) != magic {
		return nil, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v != Version {
		return nil, fmt.Errorf("%w: format version %d, this reader knows %d; rebuild the assets with a matching builder", ErrFormat, v, Version)
	}
	c := int(binary.LittleEndian.Uint32(b[8:]))
	if c < 1 || c > MaxChannels {
		return nil, fmt.Errorf("%w: %d channels", ErrFormat, c)
	}
	if len(b) != 24+4*c {
		return nil, fmt.Errorf("%w: %d bytes, want %d for %d channels", ErrFormat, len(b), 24+4*c, c)
	}
	f := func(off int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[off:])) }
	m := &Map{B: f(12), Threshold: f(16), Margin: f(20), W: make([]float32, c)}
	for i := range m.W {
		m.W[i] = f(24 + 4*i)
	}
	for _, v := range append([]float32{m.B, m.Threshold, m.Margin}, m.W...) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: a value is not finite", ErrFormat)
		}
	}
	if m.Threshold < 0 || m.Threshold >= 1 || m.Margin < 0 || m.Margin > 4 {
		return nil, fmt.Errorf("%w: threshold %g, margin %g", ErrFormat, m.Threshold, m.Margin)
	}
	return m, nil
}

// Digest names the map's content (for cache keys of what was computed
// with it).
func (m *Map) Digest() string {
	b, err := m.MarshalBinary()
	if err != nil {
		return "invalid"
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}
