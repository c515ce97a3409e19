package engine

import (
	"fmt"
	"math"
)

// The small operators. None of them allocates in run.

type reluStep struct{ base }

func (r *reluStep) infer(sh [][]int) error { sh[r.outIDs[0]] = sh[r.inIDs[0]]; return nil }
func (r *reluStep) scratch([][]int) int    { return 0 }
func (r *reluStep) inplace() int           { return 0 }
func (r *reluStep) run(s *Session) {
	x, y := s.bufs[r.inIDs[0]], s.bufs[r.outIDs[0]]
	y = y[:len(x)]
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

// bnStep is an inference BatchNormalization left standalone (not after a
// Conv): y = x·scale[c] + shift[c] over dim 1.
type bnStep struct {
	base
	scale, shift []float32
}

func (b *bnStep) infer(sh [][]int) error {
	in := sh[b.inIDs[0]]
	if len(in) < 2 || in[1] != len(b.scale) {
		return fmt.Errorf("input shape %v does not have %d channels in dim 1", in, len(b.scale))
	}
	sh[b.outIDs[0]] = in
	return nil
}
func (b *bnStep) scratch([][]int) int { return 0 }
func (b *bnStep) inplace() int        { return 0 }
func (b *bnStep) run(s *Session) {
	in := s.shapes[b.inIDs[0]]
	x, y := s.bufs[b.inIDs[0]], s.bufs[b.outIDs[0]]
	c := in[1]
	inner := 1
	for _, d := range in[2:] {
		inner *= d
	}
	for i := 0; i < len(x); i += inner {
		ch := (i / inner) % c
		a, sft := b.scale[ch], b.shift[ch]
		xs, ys := x[i:i+inner], y[i:i+inner]
		for j, v := range xs {
			ys[j] = v*a + sft
		}
	}
}

// addStep is Add with numpy broadcasting (rank ≤ 8), optionally followed
// by a fused Relu.
type addStep struct {
	base
	relu bool
}

const maxRank = 8

func broadcast(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	if r > maxRank {
		return nil, fmt.Errorf("rank %d is above %d", r, maxRank)
	}
	out := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := len(a) - r + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - r + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

func (a *addStep) infer(sh [][]int) error {
	out, err := broadcast(sh[a.inIDs[0]], sh[a.inIDs[1]])
	if err != nil {
		return err
	}
	sh[a.outIDs[0]] = out
	return nil
}
func (a *addStep) scratch([][]int) int { return 0 }
func (a *addStep) inplace() int        { return 0 }

// strides of shape in, right-aligned to rank r, 0 on broadcast dims.
func bstrides(in []int, out []int) (st [maxRank]int) {
	r := len(out)
	s := 1
	for i := len(in) - 1; i >= 0; i-- {
		if in[i] != 1 {
			st[r-len(in)+i] = s
		}
		s *= in[i]
	}
	return st
}

func (a *addStep) run(s *Session) {
	x0, x1, y := s.bufs[a.inIDs[0]], s.bufs[a.inIDs[1]], s.bufs[a.outIDs[0]]
	sa, sb, so := s.shapes[a.inIDs[0]], s.shapes[a.inIDs[1]], s.shapes[a.outIDs[0]]
	if equalInts(sa, sb) {
		y = y[:len(x0)]
		x1 = x1[:len(x0)]
		if a.relu {
			for i, v := range x0 {
				y[i] = max(v+x1[i], 0)
			}
		} else {
			for i, v := range x0 {
				y[i] = v + x1[i]
			}
		}
		return
	}
	st0, st1 := bstrides(sa, so), bstrides(sb, so)
	var idx [maxRank]int
	r := len(so)
	i0, i1 := 0, 0
	for i := range y {
		v := x0[i0] + x1[i1]
		if a.relu {
			v = max(v, 0)
		}
		y[i] = v
		// Advance the multi-index (last dim fastest).
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			i0 += st0[d]
			i1 += st1[d]
			if idx[d] < so[d] {
				break
			}
			i0 -= st0[d] * so[d]
			i1 -= st1[d] * so[d]
			idx[d] = 0
		}
	}
}

// poolStep is MaxPool or AveragePool over NCHW.
type poolStep struct {
	base
	win      window
	max      bool
	countPad bool
}

func (p *poolStep) infer(sh [][]int) error {
	in := sh[p.inIDs[0]]
	if len(in) != 4 {
		return fmt.Errorf("input has shape %v, want [N,C,H,W]", in)
	}
	g, err := p.win.apply(in[2], in[3])
	if err != nil {
		return err
	}
	sh[p.outIDs[0]] = []int{in[0], in[1], g.oh, g.ow}
	return nil
}
func (p *poolStep) scratch([][]int) int { return 0 }
func (p *poolStep) inplace() int        { return -1 }

func (p *poolStep) run(s *Session) {
	in := s.shapes[p.inIDs[0]]
	g, _ := p.win.apply(in[2], in[3])
	if p.max && platformMaxPool != nil && !forceGeneric.Load() &&
		platformMaxPool(s.bufs[p.inIDs[0]], s.bufs[p.outIDs[0]], in[0]*in[1], &p.win, g) {
		return
	}
	s.forPlanes(p, in[0]*in[1], g.oh*g.ow*p.win.kh*p.win.kw)
}

// platformMaxPool, when non-nil, is offered every MaxPool first (the wasm
// kernel's, qgemm_wasm.go); it must give exactly runPlanes' result.
var platformMaxPool func(x, y []float32, planes int, win *window, g geom) bool

// runPlanes pools planes [lo, hi) of the N·C planes.
func (p *poolStep) runPlanes(s *Session, lo, hi int) {
	in := s.shapes[p.inIDs[0]]
	g, _ := p.win.apply(in[2], in[3])
	x, y := s.bufs[p.inIDs[0]], s.bufs[p.outIDs[0]]
	w := &p.win
	hw, ohw := g.h*g.w, g.oh*g.ow
	// For count_include_pad the window is clipped to the padded input, not
	// to the real one.
	padH, padW := g.h+g.pb, g.w+g.pr
	// taps returns the kernel taps [lo, hi) of a window starting at o
	// (dilation d, k taps) that fall inside [0, n).
	taps := func(o, d, k, n int) (int, int) {
		lo := 0
		if o < 0 {
			lo = (-o + d - 1) / d
		}
		hi := k
		if last := o + (k-1)*d; last >= n {
			hi = k - ((last-n)/d + 1)
		}
		return lo, max(hi, lo)
	}
	for pl := lo; pl < hi; pl++ {
		xp, yp := x[pl*hw:(pl+1)*hw], y[pl*ohw:(pl+1)*ohw]
		for oy := 0; oy < g.oh; oy++ {
			y0 := oy*w.sh - g.pt
			iLo, iHi := taps(y0, w.dh, w.kh, g.h)
			for ox := 0; ox < g.ow; ox++ {
				x0 := ox*w.sw - g.pl
				jLo, jHi := taps(x0, w.dw, w.kw, g.w)
				var acc float32
				if p.max {
					acc = float32(math.Inf(-1))
					for i := iLo; i < iHi; i++ {
						base := (y0+i*w.dh)*g.w + x0 // may be < 0; base+jLo·dw is not
						for j := jLo; j < jHi; j++ {
							acc = max(acc, xp[base+j*w.dw])
						}
					}
					yp[oy*g.ow+ox] = acc
					continue
				}
				for i := iLo; i < iHi; i++ {
					base := (y0+i*w.dh)*g.w + x0
					for j := jLo; j < jHi; j++ {
						acc += xp[base+j*w.dw]
					}
				}
				cnt := (iHi - iLo) * (jHi - jLo)
				if p.countPad {
					hEnd := min(y0+(w.kh-1)*w.dh+1, padH)
					wEnd := min(x0+(w.kw-1)*w.dw+1, padW)
					cnt = ((hEnd - y0 + w.dh - 1) / w.dh) * ((wEnd - x0 + w.dw - 1) / w.dw)
				}
				if cnt > 0 {
					acc /= float32(cnt)
				}
				yp[oy*g.ow+ox] = acc
			}
		}
	}
}

// globalPoolStep is GlobalAveragePool / GlobalMaxPool: [N,C,...] → [N,C,1,1].
type globalPoolStep struct {
	base
	max bool
}

func (p *globalPoolStep) infer(sh [][]int) error {
	in := sh[p.inIDs[0]]
	if len(in) < 3 {
		return fmt.Errorf("input has shape %v, want [N,C,spatial...]", in)
	}
	out := []int{in[0], in[1]}
	for range in[2:] {
		out = append(out, 1)
	}
	sh[p.outIDs[0]] = out
	return nil
}
func (p *globalPoolStep) scratch([][]int) int { return 0 }
func (p *globalPoolStep) inplace() int        { return -1 }
func (p *globalPoolStep) run(s *Session) {
	in := s.shapes[p.inIDs[0]]
	x, y := s.bufs[p.inIDs[0]], s.bufs[p.outIDs[0]]
	inner := 1
	for _, d := range in[2:] {
		inner *= d
	}
	for i := 0; i < in[0]*in[1]; i++ {
		xs := x[i*inner : (i+1)*inner]
		if p.max {
			m := float32(math.Inf(-1))
			for _, v := range xs {
				m = max(m, v)
			}
			y[i] = m
			continue
		}
		var sum float32
		for _, v := range xs {
			sum += v
		}
		y[i] = sum / float32(inner)
	}
}

// reshapeStep is Flatten or Reshape: a copy with a new shape.
type reshapeStep struct {
	base
	flatten   bool
	axis      int     // Flatten
	shape     []int64 // Reshape target
	allowZero bool
}

func (r *reshapeStep) infer(sh [][]int) error {
	in := sh[r.inIDs[0]]
	total, err := numElems(in)
	if err != nil {
		return err
	}
	if r.flatten {
		axis := r.axis
		if axis < 0 {
			axis += len(in)
		}
		if axis < 0 || axis > len(in) {
			return fmt.Errorf("axis %d out of range for shape %v", r.axis, in)
		}
		outer := 1
		for _, d := range in[:axis] {
			outer *= d
		}
		inner := 1
		if outer > 0 {
			inner = total / outer
		}
		sh[r.outIDs[0]] = []int{outer, inner}
		return nil
	}
	out := make([]int, len(r.shape))
	infer := -1
	known := 1
	for i, d := range r.shape {
		switch {
		case d == 0 && !r.allowZero:
			if i >= len(in) {
				return fmt.Errorf("shape %v copies dim %d of %v", r.shape, i, in)
			}
			out[i] = in[i]
		case d == -1:
			if infer >= 0 {
				return fmt.Errorf("shape %v has more than one -1", r.shape)
			}
			infer = i
			continue
		case d < 0 || d > math.MaxInt32:
			return fmt.Errorf("bad dim %d in shape %v", d, r.shape)
		default:
			out[i] = int(d)
		}
		if out[i] != 0 && known > math.MaxInt32/out[i] {
			return fmt.Errorf("shape %v is too large", r.shape)
		}
		known *= out[i]
	}
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return fmt.Errorf("cannot reshape %v to %v", in, r.shape)
		}
		out[infer] = total / known
		known = total
	}
	if known != total {
		return fmt.Errorf("cannot reshape %v (%d elements) to %v", in, total, r.shape)
	}
	sh[r.outIDs[0]] = out
	return nil
}
func (r *reshapeStep) scratch([][]int) int { return 0 }
func (r *reshapeStep) inplace() int        { return -1 }
func (r *reshapeStep) run(s *Session) {
	copy(s.bufs[r.outIDs[0]], s.bufs[r.inIDs[0]])
}

// gemmStep is Gemm with a constant B (stored [K×M], alpha folded in) and an
// optional broadcast bias row c (beta folded in): y[N×M] = x[N×K]·B + c.
type gemmStep struct {
	base
	k, m int
	w    []float32
	c    []float32
}

func (g *gemmStep) infer(sh [][]int) error {
	in := sh[g.inIDs[0]]
	if len(in) != 2 || in[1] != g.k {
		return fmt.Errorf("input has shape %v, want [N,%d]", in, g.k)
	}
	sh[g.outIDs[0]] = []int{in[0], g.m}
	return nil
}
func (g *gemmStep) scratch([][]int) int { return 0 }
func (g *gemmStep) inplace() int        { return -1 }
func (g *gemmStep) run(s *Session) {
	n := s.shapes[g.inIDs[0]][0]
	x, y := s.bufs[g.inIDs[0]], s.bufs[g.outIDs[0]]
	acc := g.c != nil
	if acc {
		for i := 0; i < n; i++ {
			copy(y[i*g.m:(i+1)*g.m], g.c)
		}
	}
	gemm(n, g.m, g.k, matA{data: x, ld: g.k, k: g.k}, g.w, g.m, y, g.m, acc, epilogue{})
}

// softmaxStep is Softmax along one axis (opset ≥ 13) or over the
// flattened trailing dims from axis on (legacy opsets).
type softmaxStep struct {
	base
	axis   int
	legacy bool
}

func (sm *softmaxStep) dims(in []int) (outer, length, inner int, err error) {
	axis := sm.axis
	if axis < 0 {
		axis += len(in)
	}
	if axis < 0 || axis >= len(in) {
		return 0, 0, 0, fmt.Errorf("axis %d out of range for shape %v", sm.axis, in)
	}
	outer, length, inner = 1, 1, 1
	for _, d := range in[:axis] {
		outer *= d
	}
	if sm.legacy {
		for _, d := range in[axis:] {
			length *= d
		}
		return outer, length, 1, nil
	}
	length = in[axis]
	for _, d := range in[axis+1:] {
		inner *= d
	}
	return outer, length, inner, nil
}

func (sm *softmaxStep) infer(sh [][]int) error {
	in := sh[sm.inIDs[0]]
	if _, _, _, err := sm.dims(in); err != nil {
		return err
	}
	sh[sm.outIDs[0]] = in
	return nil
}
func (sm *softmaxStep) scratch([][]int) int { return 0 }
func (sm *softmaxStep) inplace() int        { return 0 }
func (sm *softmaxStep) run(s *Session) {
	outer, length, inner, _ := sm.dims(s.shapes[sm.inIDs[0]])
	x, y := s.bufs[sm.inIDs[0]], s.bufs[sm.outIDs[0]]
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			off := o*length*inner + in
			m := float32(math.Inf(-1))
			for i := 0; i < length; i++ {
				m = max(m, x[off+i*inner])
			}
			var sum float64
			for i := 0; i < length; i++ {
				e := float32(math.Exp(float64(x[off+i*inner] - m)))
				y[off+i*inner] = e
				sum += float64(e)
			}
			inv := float32(1 / sum)
			for i := 0; i < length; i++ {
				y[off+i*inner] *= inv
			}
		}
	}
}
