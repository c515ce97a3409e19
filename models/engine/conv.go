package engine

import (
	"errors"
	"fmt"
)

// base holds what every step has: its node name and value ids.
type base struct {
	nm     string
	inIDs  []int
	outIDs []int
}

func (b *base) node() string { return b.nm }
func (b *base) ins() []int   { return b.inIDs }
func (b *base) outs() []int  { return b.outIDs }

// window is the sliding-window geometry of Conv and the pools.
type window struct {
	kh, kw, sh, sw, dh, dw int
	pt, pl, pb, pr         int // pads: top, left, bottom, right
	autoPad                string
	ceil                   bool
}

// geom is a window applied to an input of h×w.
type geom struct {
	h, w, oh, ow   int
	pt, pl, pb, pr int
}

func (win *window) apply(h, w int) (geom, error) {
	g := geom{h: h, w: w, pt: win.pt, pl: win.pl}
	pb, pr := win.pb, win.pr
	extH := (win.kh-1)*win.dh + 1
	extW := (win.kw-1)*win.dw + 1
	switch win.autoPad {
	case "VALID":
		g.pt, g.pl, pb, pr = 0, 0, 0, 0
	case "SAME_UPPER", "SAME_LOWER":
		oh, ow := (h+win.sh-1)/win.sh, (w+win.sw-1)/win.sw
		th := max(0, (oh-1)*win.sh+extH-h)
		tw := max(0, (ow-1)*win.sw+extW-w)
		g.pt, g.pl = th/2, tw/2
		if win.autoPad == "SAME_LOWER" {
			g.pt, g.pl = th-th/2, tw-tw/2
		}
		pb, pr = th-g.pt, tw-g.pl
	}
	spanH, spanW := h+g.pt+pb-extH, w+g.pl+pr-extW
	g.pb, g.pr = pb, pr
	if spanH < 0 || spanW < 0 {
		return g, fmt.Errorf("window %dx%d (dilated %dx%d) is larger than the padded input %dx%d", win.kh, win.kw, extH, extW, h+g.pt+pb, w+g.pl+pr)
	}
	if win.ceil {
		g.oh = (spanH+win.sh-1)/win.sh + 1
		g.ow = (spanW+win.sw-1)/win.sw + 1
		// The last window must start inside the input or its left padding.
		if (g.oh-1)*win.sh >= h+g.pt {
			g.oh--
		}
		if (g.ow-1)*win.sw >= w+g.pl {
			g.ow--
		}
	} else {
		g.oh = spanH/win.sh + 1
		g.ow = spanW/win.sw + 1
	}
	return g, nil
}

// convStep is a 2-D convolution with its bias, optionally fused with a
// residual Add (res >= 0: out = conv + bias + res) and a Relu. Per image
// and group it is one GEMM: out[O×OH·OW] = W[O×K]·col[K×OH·OW] with K =
// C/group·kh·kw, where col is the input itself for 1×1 stride-1 unpadded
// convolutions and an im2col copy otherwise.
type convStep struct {
	base
	win      window
	group    int
	cout     int
	cinG     int // input channels per group
	res      int // residual value id, or -1
	relu     bool
	w        []float32 // [cout × K] row-major until pack
	wp       matA      // packed weights
	bias     []float32
	int8     bool   // planned for int8 activations (quant.go)
	signedIn bool   // … with an input that may be negative (zero point)
	q        *qconv // its int8 weights, once packed
}

func (c *convStep) kdim() int { return c.cinG * c.win.kh * c.win.kw }

// pointwise is true when the input can be the GEMM's B operand directly.
func (c *convStep) pointwise() bool {
	w := &c.win
	return w.kh == 1 && w.kw == 1 && w.sh == 1 && w.sw == 1 && w.pt == 0 && w.pl == 0 && w.pb == 0 && w.pr == 0 && w.autoPad != "SAME_UPPER" && w.autoPad != "SAME_LOWER"
}

// pack lays the weights out for the GEMM kernel this process will use:
// plain row-major for a platform hook, mr-row strips for our kernels.
func (c *convStep) pack() {
	if c.int8 {
		c.packInt8()
		return
	}
	mr := activeKernel().mr
	if platformGemm != nil {
		mr = 1
	}
	k := c.kdim()
	if mr == 1 {
		c.wp = matA{data: c.w, mr: 1, k: k, ld: k}
	} else {
		c.wp = packMatrix(c.w, k, c.cout, k, mr)
	}
	c.w = nil
}

func (c *convStep) ins() []int {
	if c.res >= 0 {
		return []int{c.inIDs[0], c.res}
	}
	return c.inIDs
}

func (c *convStep) inplace() int {
	if c.res >= 0 {
		return 1
	}
	return -1
}

func (c *convStep) infer(sh [][]int) error {
	in := sh[c.inIDs[0]]
	if len(in) != 4 {
		return fmt.Errorf("input has shape %v, want [N,C,H,W]", in)
	}
	if in[1] != c.cinG*c.group {
		return fmt.Errorf("input has %d channels, weights want %d", in[1], c.cinG*c.group)
	}
	g, err := c.win.apply(in[2], in[3])
	if err != nil {
		return err
	}
	out := []int{in[0], c.cout, g.oh, g.ow}
	if c.res >= 0 && !equalInts(sh[c.res], out) {
		return fmt.Errorf("residual has shape %v, conv output %v", sh[c.res], out)
	}
	sh[c.outIDs[0]] = out
	return nil
}

func (c *convStep) scratch(sh [][]int) int {
	if c.q != nil {
		return 2 * len(c.q.bias) // the per-row scales and biases
	}
	if c.pointwise() {
		return 0
	}
	o := sh[c.outIDs[0]]
	return c.kdim() * o[2] * o[3]
}

func (c *convStep) run(s *Session) {
	in := s.shapes[c.inIDs[0]]
	n, cin, h, w := in[0], in[1], in[2], in[3]
	g, _ := c.win.apply(h, w) // checked by infer
	ohw := g.oh * g.ow
	x, y := s.bufs[c.inIDs[0]], s.bufs[c.outIDs[0]]
	var res []float32
	if c.res >= 0 {
		res = s.bufs[c.res]
	}
	k := c.kdim()
	og := c.cout / c.group
	pointwise := c.pointwise()
	for b := 0; b < n; b++ {
		xb := x[b*cin*h*w : (b+1)*cin*h*w]
		yb := y[b*c.cout*ohw : (b+1)*c.cout*ohw]
		acc := false
		if res != nil {
			rb := res[b*c.cout*ohw : (b+1)*c.cout*ohw]
			if &rb[0] != &yb[0] { // not computed in place
				copy(yb, rb)
			}
			acc = true
		}
		if c.q != nil {
			c.runInt8(s, b, xb, yb, acc, g)
			continue
		}
		for gi := 0; gi < c.group; gi++ {
			xg := xb[gi*c.cinG*h*w : (gi+1)*c.cinG*h*w]
			var col []float32
			if pointwise {
				col = xg
			} else {
				col = s.scratch[:k*ohw]
				s.im2colPar(col, xg, c.cinG, &c.win, g)
			}
			a := c.wp
			a.row0 = gi * og
			gemm(og, ohw, k, a, col, ohw, yb[gi*og*ohw:], ohw, acc,
				epilogue{bias: c.bias[gi*og : (gi+1)*og], relu: c.relu})
		}
	}
}

// im2col writes the K×(OH·OW) patch matrix of x (c channels of g.h×g.w):
// row (ci·kh+i)·kw+j holds input pixel (oy·sh-pt+i·dh, ox·sw-pl+j·dw) of
// channel ci for every output position, zero where that is padding.
func im2col(dst, x []float32, c int, win *window, g geom) { im2colOf(dst, x, c, win, g, 0) }

// im2colOf is im2col over float32 or quantised bytes, writing pad where
// the window is outside the input (a quantised tensor's zero point).
func im2colOf[T float32 | byte](dst, x []T, c int, win *window, g geom, pad T) {
	ohw := g.oh * g.ow
	hw := g.h * g.w
	fill := func(s []T) {
		if pad == 0 {
			clear(s)
			return
		}
		for i := range s {
			s[i] = pad
		}
	}
	r := 0
	for ci := 0; ci < c; ci++ {
		xc := x[ci*hw : (ci+1)*hw]
		for i := 0; i < win.kh; i++ {
			for j := 0; j < win.kw; j++ {
				row := dst[r*ohw : (r+1)*ohw]
				r++
				dx := j*win.dw - g.pl
				// Output columns ox whose input column ox·sw+dx is inside
				// [0, w): lo ≤ ox < hi.
				lo := 0
				if dx < 0 {
					lo = (-dx + win.sw - 1) / win.sw
				}
				hi := 0
				if g.w-dx > 0 {
					hi = (g.w - dx + win.sw - 1) / win.sw
				}
				hi = min(hi, g.ow)
				lo = min(lo, hi)
				if win.sw == 1 && win.sh == 1 && g.ow == g.w {
					// Stride 1 over whole rows: the valid rows are one
					// shifted copy, then the edge columns are padded again.
					dy := i*win.dh - g.pt
					oy0, oy1 := max(0, -dy), min(g.oh, g.h-dy)
					if oy0 >= oy1 {
						fill(row)
						continue
					}
					fill(row[:oy0*g.ow])
					fill(row[oy1*g.ow:])
					if lo < hi {
						copy(row[oy0*g.ow+lo:(oy1-1)*g.ow+hi], xc[(oy0+dy)*g.w+lo+dx:])
					}
					if lo > 0 || hi < g.ow {
						for oy := oy0; oy < oy1; oy++ {
							seg := row[oy*g.ow : (oy+1)*g.ow]
							for x := range seg[:lo] {
								seg[x] = pad
							}
							for x := hi; x < len(seg); x++ {
								seg[x] = pad
							}
						}
					}
					continue
				}
				for oy := 0; oy < g.oh; oy++ {
					seg := row[oy*g.ow : (oy+1)*g.ow]
					iy := oy*win.sh - g.pt + i*win.dh
					if iy < 0 || iy >= g.h {
						fill(seg)
						continue
					}
					src := xc[iy*g.w : (iy+1)*g.w]
					fill(seg[:lo])
					if win.sw == 1 {
						copy(seg[lo:hi], src[lo+dx:hi+dx])
					} else if d := seg[lo:hi]; len(d) > 0 {
						sv := src[lo*win.sw+dx : (hi-1)*win.sw+dx+1]
						for t := range d {
							d[t] = sv[t*win.sw]
						}
					}
					fill(seg[hi:])
				}
			}
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var errShape = errors.New("shape mismatch")
