package engine

import (
	"fmt"
	"math"

	"github.com/lookalike/lookalike/models/onnxpb"
)

// node is one ONNX node being lowered: onnx-go's view (op type,
// attributes, ordered inputs) plus onnxpb's (name, tensor attributes).
type node struct {
	name string
	op   decodedOp
	pb   *onnxpb.Node
}

func (n node) String() string { return n.name + " (" + n.op.opType + ")" }

func (n node) errorf(format string, args ...interface{}) error {
	return fmt.Errorf("engine: node %s: %s", n, fmt.Sprintf(format, args...))
}

// Attribute accessors over onnx-go's decoded attributes.

func (n node) attrInt(name string, def int64) (int64, error) {
	v, ok := n.op.attrs[name]
	if !ok {
		return def, nil
	}
	i, ok := v.(int64)
	if !ok {
		return 0, n.errorf("attribute %s is %T, want int", name, v)
	}
	return i, nil
}

func (n node) attrInts(name string) ([]int64, error) {
	v, ok := n.op.attrs[name]
	if !ok {
		return nil, nil
	}
	i, ok := v.([]int64)
	if !ok {
		return nil, n.errorf("attribute %s is %T, want ints", name, v)
	}
	return i, nil
}

func (n node) attrFloat(name string, def float32) (float32, error) {
	v, ok := n.op.attrs[name]
	if !ok {
		return def, nil
	}
	f, ok := v.(float32)
	if !ok {
		return 0, n.errorf("attribute %s is %T, want float", name, v)
	}
	return f, nil
}

func (n node) attrString(name, def string) (string, error) {
	v, ok := n.op.attrs[name]
	if !ok {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", n.errorf("attribute %s is %T, want string", name, v)
	}
	return s, nil
}

// in returns the value id of input i, or -1 if it is absent/empty and
// optional.
func (l *loader) in(n node, i int, optional bool) (int, error) {
	if i >= len(n.op.inputs) || n.op.inputs[i] == "" {
		if optional {
			return -1, nil
		}
		return 0, n.errorf("missing input %d", i)
	}
	id, ok := l.ids[n.op.inputs[i]]
	if !ok {
		return 0, n.errorf("input %q is not defined before it is used (graph not topologically sorted?)", n.op.inputs[i])
	}
	return id, nil
}

// constIn returns input i, which must be a constant.
func (l *loader) constIn(n node, i int, optional bool) (*value, error) {
	id, err := l.in(n, i, optional)
	if err != nil || id < 0 {
		return nil, err
	}
	v := &l.m.values[id]
	if !v.konst {
		return nil, n.errorf("input %q must be a constant (initializer)", v.name)
	}
	return v, nil
}

func (l *loader) floatConst(n node, i int, optional bool) (*value, error) {
	v, err := l.constIn(n, i, optional)
	if err != nil || v == nil {
		return v, err
	}
	if v.f32 == nil && v.dtype != onnxpb.Float {
		return nil, n.errorf("input %q is %v, want float32", v.name, v.dtype)
	}
	return v, nil
}

// out defines the single activation output of n.
func (l *loader) out(n node) (int, error) {
	if len(n.op.outputs) == 0 || n.op.outputs[0] == "" {
		return 0, n.errorf("no output")
	}
	for _, extra := range n.op.outputs[1:] {
		if extra != "" {
			return 0, n.errorf("optional output %q is not supported", extra)
		}
	}
	return l.addValue(value{name: n.op.outputs[0]})
}

func (l *loader) lower(n node) error {
	switch n.op.opType {
	case "Conv":
		return l.lowerConv(n)
	case "Relu":
		return l.unary(n, func(in, out int) step { return &reluStep{base{n.String(), []int{in}, []int{out}}} })
	case "Add":
		a, err := l.in(n, 0, false)
		if err != nil {
			return err
		}
		b, err := l.in(n, 1, false)
		if err != nil {
			return err
		}
		for _, id := range []int{a, b} {
			if v := l.m.values[id]; v.konst && v.f32 == nil {
				return n.errorf("constant input %q is not float32", v.name)
			}
		}
		o, err := l.out(n)
		if err != nil {
			return err
		}
		l.m.steps = append(l.m.steps, &addStep{base: base{n.String(), []int{a, b}, []int{o}}})
		return nil
	case "MaxPool", "AveragePool":
		return l.lowerPool(n)
	case "GlobalAveragePool", "GlobalMaxPool":
		return l.unary(n, func(in, out int) step {
			return &globalPoolStep{base{n.String(), []int{in}, []int{out}}, n.op.opType == "GlobalMaxPool"}
		})
	case "Flatten":
		axis, err := n.attrInt("axis", 1)
		if err != nil {
			return err
		}
		return l.unary(n, func(in, out int) step {
			return &reshapeStep{base: base{n.String(), []int{in}, []int{out}}, flatten: true, axis: int(axis)}
		})
	case "Reshape":
		shape, err := l.constIn(n, 1, false)
		if err != nil {
			return err
		}
		if shape.i64 == nil && shape.dtype != onnxpb.Int64 {
			return n.errorf("shape input %q is %v, want int64", shape.name, shape.dtype)
		}
		allowZero, err := n.attrInt("allowzero", 0)
		if err != nil {
			return err
		}
		target := append([]int64(nil), shape.i64...)
		return l.unary(n, func(in, out int) step {
			return &reshapeStep{base: base{n.String(), []int{in}, []int{out}}, shape: target, allowZero: allowZero != 0}
		})
	case "Identity":
		in, err := l.in(n, 0, false)
		if err != nil {
			return err
		}
		if len(n.op.outputs) != 1 || n.op.outputs[0] == "" {
			return n.errorf("want one output")
		}
		if _, dup := l.ids[n.op.outputs[0]]; dup {
			return n.errorf("value %q is defined twice", n.op.outputs[0])
		}
		l.ids[n.op.outputs[0]] = in // an alias, no step
		return nil
	case "Gemm":
		return l.lowerGemm(n)
	case "Softmax":
		def := int64(-1)
		if l.m.opset > 0 && l.m.opset < 13 {
			def = 1
		}
		axis, err := n.attrInt("axis", def)
		if err != nil {
			return err
		}
		legacy := l.m.opset > 0 && l.m.opset < 13
		return l.unary(n, func(in, out int) step {
			return &softmaxStep{base: base{n.String(), []int{in}, []int{out}}, axis: int(axis), legacy: legacy}
		})
	case "DequantizeLinear":
		return l.lowerDequantize(n)
	case "BatchNormalization":
		return l.lowerBatchNorm(n)
	case "Constant":
		return l.lowerConstant(n)
	}
	return n.errorf("unsupported operator %s (supported: Conv, Relu, Add, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Flatten, Reshape, Identity, Gemm, Softmax, BatchNormalization, DequantizeLinear, Constant)", n.op.opType)
}

// unary lowers an op with one activation input and one output.
func (l *loader) unary(n node, mk func(in, out int) step) error {
	in, err := l.in(n, 0, false)
	if err != nil {
		return err
	}
	if l.m.values[in].konst {
		return n.errorf("constant input %q: constant folding of %s is not supported", l.m.values[in].name, n.op.opType)
	}
	out, err := l.out(n)
	if err != nil {
		return err
	}
	l.m.steps = append(l.m.steps, mk(in, out))
	return nil
}

// maxWindow bounds kernel sizes, strides, dilations and pads: real image
// models stay far below it, and hostile files cannot ask for days of work.
const maxWindow = 1 << 10

// window reads the kernel_shape/strides/dilations/pads/auto_pad attributes
// shared by Conv and the pools.
func (l *loader) window(n node, kernel []int64) (window, error) {
	var w window
	if len(kernel) != 2 {
		return w, n.errorf("only 2-D kernels are supported, kernel_shape %v", kernel)
	}
	strides, err := n.attrInts("strides")
	if err != nil {
		return w, err
	}
	dil, err := n.attrInts("dilations")
	if err != nil {
		return w, err
	}
	pads, err := n.attrInts("pads")
	if err != nil {
		return w, err
	}
	w.autoPad, err = n.attrString("auto_pad", "NOTSET")
	if err != nil {
		return w, err
	}
	switch w.autoPad {
	case "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return w, n.errorf("unknown auto_pad %q", w.autoPad)
	}
	get := func(s []int64, i int, def int64, what string, lo int64) (int, error) {
		if s == nil {
			return int(def), nil
		}
		if len(s) != 2 && len(s) != 4 {
			return 0, n.errorf("%s has %d values, want 2 (or 4 for pads)", what, len(s))
		}
		if i >= len(s) {
			return 0, n.errorf("%s has %d values", what, len(s))
		}
		if s[i] < lo || s[i] > maxWindow {
			return 0, n.errorf("%s value %d out of range", what, s[i])
		}
		return int(s[i]), nil
	}
	vals := []struct {
		dst  *int
		src  []int64
		i    int
		def  int64
		what string
		lo   int64
	}{
		{&w.kh, kernel, 0, 1, "kernel_shape", 1}, {&w.kw, kernel, 1, 1, "kernel_shape", 1},
		{&w.sh, strides, 0, 1, "strides", 1}, {&w.sw, strides, 1, 1, "strides", 1},
		{&w.dh, dil, 0, 1, "dilations", 1}, {&w.dw, dil, 1, 1, "dilations", 1},
	}
	for _, v := range vals {
		if *v.dst, err = get(v.src, v.i, v.def, v.what, v.lo); err != nil {
			return w, err
		}
	}
	if pads != nil && len(pads) != 4 {
		return w, n.errorf("pads has %d values, want 4", len(pads))
	}
	for i, dst := range []*int{&w.pt, &w.pl, &w.pb, &w.pr} {
		if *dst, err = get(pads, i, 0, "pads", 0); err != nil {
			return w, err
		}
	}
	return w, nil
}

func (l *loader) lowerConv(n node) error {
	x, err := l.in(n, 0, false)
	if err != nil {
		return err
	}
	if l.m.values[x].konst {
		return n.errorf("constant data input is not supported")
	}
	wv, err := l.floatConst(n, 1, false)
	if err != nil {
		return err
	}
	bv, err := l.floatConst(n, 2, true)
	if err != nil {
		return err
	}
	if len(wv.dims) != 4 {
		return n.errorf("weight %q has dims %v, want [O, I/group, kh, kw]", wv.name, wv.dims)
	}
	kernel, err := n.attrInts("kernel_shape")
	if err != nil {
		return err
	}
	if kernel == nil {
		kernel = []int64{int64(wv.dims[2]), int64(wv.dims[3])}
	}
	win, err := l.window(n, kernel)
	if err != nil {
		return err
	}
	if win.kh != wv.dims[2] || win.kw != wv.dims[3] {
		return n.errorf("kernel_shape %v does not match weight dims %v", kernel, wv.dims)
	}
	group, err := n.attrInt("group", 1)
	if err != nil {
		return err
	}
	o := wv.dims[0]
	if group < 1 || o%int(group) != 0 || o == 0 {
		return n.errorf("group %d does not divide %d output channels", group, o)
	}
	c := &convStep{
		base:  base{n.String(), []int{x}, nil},
		win:   win,
		group: int(group),
		cout:  o,
		cinG:  wv.dims[1],
		res:   -1,
		w:     wv.f32,
		bias:  make([]float32, o),
	}
	if bv != nil {
		if len(bv.f32) != o {
			return n.errorf("bias %q has %d values for %d output channels", bv.name, len(bv.f32), o)
		}
		copy(c.bias, bv.f32)
	}
	out, err := l.out(n)
	if err != nil {
		return err
	}
	c.outIDs = []int{out}
	l.m.steps = append(l.m.steps, c)
	return nil
}

func (l *loader) lowerPool(n node) error {
	kernel, err := n.attrInts("kernel_shape")
	if err != nil {
		return err
	}
	win, err := l.window(n, kernel)
	if err != nil {
		return err
	}
	ceil, err := n.attrInt("ceil_mode", 0)
	if err != nil {
		return err
	}
	countPad, err := n.attrInt("count_include_pad", 0)
	if err != nil {
		return err
	}
	if so, _ := n.attrInt("storage_order", 0); so != 0 {
		return n.errorf("storage_order=1 is not supported")
	}
	win.ceil = ceil != 0
	isMax := n.op.opType == "MaxPool"
	return l.unary(n, func(in, out int) step {
		return &poolStep{base: base{n.String(), []int{in}, []int{out}}, win: win, max: isMax, countPad: countPad != 0}
	})
}

func (l *loader) lowerGemm(n node) error {
	a, err := l.in(n, 0, false)
	if err != nil {
		return err
	}
	if l.m.values[a].konst {
		return n.errorf("constant A input is not supported")
	}
	bv, err := l.floatConst(n, 1, false)
	if err != nil {
		return err
	}
	cv, err := l.floatConst(n, 2, true)
	if err != nil {
		return err
	}
	alpha, err := n.attrFloat("alpha", 1)
	if err != nil {
		return err
	}
	beta, err := n.attrFloat("beta", 1)
	if err != nil {
		return err
	}
	transA, err := n.attrInt("transA", 0)
	if err != nil {
		return err
	}
	transB, err := n.attrInt("transB", 0)
	if err != nil {
		return err
	}
	if transA != 0 {
		return n.errorf("transA=1 is not supported")
	}
	if len(bv.dims) != 2 {
		return n.errorf("B %q has dims %v, want 2-D", bv.name, bv.dims)
	}
	k, m := bv.dims[0], bv.dims[1]
	if transB != 0 {
		k, m = m, k
	}
	// Store B as [K×M] row-major with alpha folded in.
	w := make([]float32, k*m)
	for i := 0; i < k; i++ {
		for j := 0; j < m; j++ {
			var v float32
			if transB != 0 {
				v = bv.f32[j*k+i]
			} else {
				v = bv.f32[i*m+j]
			}
			w[i*m+j] = alpha * v
		}
	}
	g := &gemmStep{k: k, m: m, w: w}
	if cv != nil && beta != 0 {
		// C broadcasts to [N, M]: accept a scalar, [M] or [1, M].
		switch {
		case len(cv.f32) == 1:
			g.c = make([]float32, m)
			for j := range g.c {
				g.c[j] = beta * cv.f32[0]
			}
		case len(cv.f32) == m && (len(cv.dims) == 1 || (len(cv.dims) == 2 && cv.dims[0] == 1)):
			g.c = make([]float32, m)
			for j := range g.c {
				g.c[j] = beta * cv.f32[j]
			}
		default:
			return n.errorf("C %q has dims %v; only a scalar, [M] or [1,M] bias is supported", cv.name, cv.dims)
		}
	}
	out, err := l.out(n)
	if err != nil {
		return err
	}
	g.base = base{n.String(), []int{a}, []int{out}}
	l.m.steps = append(l.m.steps, g)
	return nil
}

// lowerDequantize folds DequantizeLinear over constant int8/uint8,
// packed int4/uint4 or int32 weights into a float32 constant:
// y = (x - zero_point) * scale, with a per-tensor scale, a per-axis one,
// or (opset 21 block_size > 0) one per block of block_size values along
// axis, the scale having x's rank with that axis ceil(D/block_size) long.
func (l *loader) lowerDequantize(n node) error {
	x, err := l.constIn(n, 0, false)
	if err != nil {
		return err
	}
	scale, err := l.floatConst(n, 1, false)
	if err != nil {
		return err
	}
	zp, err := l.constIn(n, 2, true)
	if err != nil {
		return err
	}
	count, err := numElems(x.dims)
	if err != nil {
		return n.errorf("%v", err)
	}
	if zp != nil && zp.dtype != x.dtype {
		return n.errorf("zero point %q is %v but data %q is %v", zp.name, zp.dtype, x.name, x.dtype)
	}
	if count > 0 && !quantType(x) {
		return n.errorf("input %q is %v; want int8, uint8, int4, uint4 or int32", x.name, x.dtype)
	}
	if (x.raw != nil && len(x.raw) < x.dtype.RawSize(count)) || (x.raw == nil && len(x.i64) < count) {
		return n.errorf("input %q holds fewer than the %d values its dims %v say", x.name, count, x.dims)
	}
	block, err := n.attrInt("block_size", 0)
	if err != nil {
		return err
	}
	// The layout: outer × D × inner, the scale indexed by (o, d/bs, in)
	// with bs = block (blocked), 1 (per axis) or D (per tensor: one scale).
	outer, d, inner := 1, 1, count
	var bs, nb int
	switch {
	case len(scale.f32) == 1 && len(scale.dims) <= 1 && block == 0:
		// Per tensor: one row of every value.
		d, inner, bs, nb = 1, count, 1, 1
	default:
		axis, err := n.attrInt("axis", 1)
		if err != nil {
			return err
		}
		if axis < 0 {
			axis += int64(len(x.dims))
		}
		if axis < 0 || int(axis) >= len(x.dims) {
			return n.errorf("axis %d out of range for dims %v", axis, x.dims)
		}
		outer, d, inner = 1, x.dims[axis], 1
		for _, v := range x.dims[:axis] {
			outer *= v
		}
		for _, v := range x.dims[axis+1:] {
			inner *= v
		}
		switch {
		case block < 0:
			return n.errorf("block_size %d", block)
		case block == 0:
			bs, nb = 1, d
			if len(scale.f32) != d {
				return n.errorf("scale %q has %d values for %d channels", scale.name, len(scale.f32), d)
			}
		default:
			bs = int(block)
			nb = (d + bs - 1) / bs
			want := append([]int(nil), x.dims...)
			want[axis] = nb
			if !equalInts(scale.dims, want) {
				return n.errorf("scale %q has dims %v; block_size %d along axis %d of %v wants %v", scale.name, scale.dims, bs, axis, x.dims, want)
			}
		}
	}
	if zp != nil {
		zn, err := numElems(zp.dims)
		if err != nil || zn != len(scale.f32) {
			return n.errorf("zero point %q has dims %v; want as many values as scale (%d)", zp.name, zp.dims, len(scale.f32))
		}
	}
	perAxis := block == 0 && nb == d && bs == 1
	y := make([]float32, count)
	zrow := make([]float32, inner)
	srow := make([]float32, inner)
	// One row = inner consecutive values sharing (o, d): each is one tight
	// loop (the model's 23.5M weights dequantise in tens of milliseconds,
	// in js/wasm too).
	for o := 0; o < outer; o++ {
		for di := 0; di < d; di++ {
			start := (o*d + di) * inner
			if start >= count {
				break
			}
			out := y[start:min(start+inner, count)]
			if block == 0 {
				si := 0
				if perAxis {
					si = di
				}
				sc := scale.f32[si]
				z := float32(0)
				if zp != nil {
					z = quantAt(zp, si)
				}
				decodeQuant(x, start, out)
				for i := range out {
					out[i] = (out[i] - z) * sc
				}
				continue
			}
			sBase := (o*nb + di/bs) * inner
			copy(srow, scale.f32[sBase:sBase+inner])
			for i := range zrow {
				zrow[i] = 0
				if zp != nil {
					zrow[i] = quantAt(zp, sBase+i)
				}
			}
			decodeQuant(x, start, out)
			for i := range out {
				out[i] = (out[i] - zrow[i]) * srow[i]
			}
		}
	}
	if len(n.op.outputs) != 1 || n.op.outputs[0] == "" {
		return n.errorf("want one output")
	}
	_, err = l.addValue(value{name: n.op.outputs[0], konst: true, dtype: onnxpb.Float, f32: y, dims: append([]int(nil), x.dims...)})
	return err
}

// quantType reports whether v holds a type DequantizeLinear reads.
func quantType(v *value) bool {
	switch {
	case v.raw != nil:
		switch v.dtype {
		case onnxpb.Int8, onnxpb.Uint8, onnxpb.Int4, onnxpb.Uint4:
			return true
		}
		return false
	case v.i64 != nil:
		return true
	}
	return false
}

// quantAt is element i of a quantised constant, as float32.
func quantAt(v *value, i int) float32 {
	switch {
	case v.raw == nil:
		return float32(v.i64[i])
	case v.dtype == onnxpb.Int8:
		return float32(int8(v.raw[i]))
	case v.dtype == onnxpb.Int4:
		return float32(onnxpb.Int4At(v.raw, i))
	case v.dtype == onnxpb.Uint4:
		b := v.raw[i>>1]
		if i&1 == 1 {
			b >>= 4
		}
		return float32(b & 0x0f)
	}
	return float32(v.raw[i])
}

// int4Values and uint4Values map a nibble to its value.
var int4Values, uint4Values = func() (s, u [16]float32) {
	for b := range 16 {
		s[b], u[b] = float32(int8(b<<4)>>4), float32(b)
	}
	return
}()

// decodeQuant writes elements start.. of v into out as float32.
func decodeQuant(v *value, start int, out []float32) {
	switch {
	case v.raw == nil:
		for i, q := range v.i64[start : start+len(out)] {
			out[i] = float32(q)
		}
	case v.dtype == onnxpb.Int8:
		for i, b := range v.raw[start : start+len(out)] {
			out[i] = float32(int8(b))
		}
	case v.dtype == onnxpb.Int4 || v.dtype == onnxpb.Uint4:
		// Two values per byte, low nibble first, through a table: the
		// model's 23M 4-bit weights pass here once per load, in js/wasm
		// on the first visit's critical path.
		lut := &uint4Values
		if v.dtype == onnxpb.Int4 {
			lut = &int4Values
		}
		i, j := 0, start
		if j&1 == 1 && len(out) > 0 {
			out[0] = lut[v.raw[j>>1]>>4]
			i, j = 1, j+1
		}
		src := v.raw[j>>1:]
		pairs := (len(out) - i) / 2
		dst := out[i : i+2*pairs]
		for k, b := range src[:pairs] {
			dst[2*k] = lut[b&0x0f]
			dst[2*k+1] = lut[b>>4]
		}
		if i+2*pairs < len(out) {
			out[len(out)-1] = lut[src[pairs]&0x0f]
		}
	default:
		for i, b := range v.raw[start : start+len(out)] {
			out[i] = float32(b)
		}
	}
}

func (l *loader) lowerBatchNorm(n node) error {
	x, err := l.in(n, 0, false)
	if err != nil {
		return err
	}
	var ps [4]*value
	for i := range ps {
		if ps[i], err = l.floatConst(n, i+1, false); err != nil {
			return err
		}
	}
	c := len(ps[0].f32)
	for i, p := range ps {
		if len(p.f32) != c {
			return n.errorf("parameter %d (%q) has %d values, want %d", i+1, p.name, len(p.f32), c)
		}
	}
	eps, err := n.attrFloat("epsilon", 1e-5)
	if err != nil {
		return err
	}
	st := &bnStep{scale: make([]float32, c), shift: make([]float32, c)}
	for i := 0; i < c; i++ {
		a := float64(ps[0].f32[i]) / math.Sqrt(float64(ps[3].f32[i])+float64(eps))
		st.scale[i] = float32(a)
		st.shift[i] = float32(float64(ps[1].f32[i]) - a*float64(ps[2].f32[i]))
	}
	if l.m.values[x].konst {
		return n.errorf("constant input: folding is not supported")
	}
	out, err := l.out(n)
	if err != nil {
		return err
	}
	st.base = base{n.String(), []int{x}, []int{out}}
	l.m.steps = append(l.m.steps, st)
	return nil
}

func (l *loader) lowerConstant(n node) error {
	if len(n.op.outputs) != 1 || n.op.outputs[0] == "" {
		return n.errorf("want one output")
	}
	name := n.op.outputs[0]
	for _, a := range n.pb.Attrs {
		var v value
		switch {
		case a.Name == "value" && a.Kind == onnxpb.AttrTensor && a.T != nil:
			t := *a.T
			t.Name = name
			var err error
			if v, err = constValue(&t); err != nil {
				return n.errorf("%v", err)
			}
		case a.Name == "value_float" && a.Kind == onnxpb.AttrFloat:
			v = value{f32: []float32{a.F}, dtype: onnxpb.Float}
		case a.Name == "value_floats" && a.Kind == onnxpb.AttrFloats:
			v = value{f32: a.Floats, dtype: onnxpb.Float, dims: []int{len(a.Floats)}}
		case a.Name == "value_int" && a.Kind == onnxpb.AttrInt:
			v = value{i64: []int64{a.I}, dtype: onnxpb.Int64}
		case a.Name == "value_ints" && a.Kind == onnxpb.AttrInts:
			v = value{i64: a.Ints, dtype: onnxpb.Int64, dims: []int{len(a.Ints)}}
		default:
			continue
		}
		v.name, v.konst = name, true
		_, err := l.addValue(v)
		return err
	}
	return n.errorf("no supported value attribute")
}
