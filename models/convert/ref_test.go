package convert

// Two independent float64 reference evaluators used by the tests: one runs
// the Keras model with Keras semantics (NHWC, HWIO kernels, explicit zero
// padding, unfolded BatchNormalization), the other runs the converted ONNX
// graph with ONNX semantics (NCHW, OIHW, pads attribute, DequantizeLinear).
// Agreement between the two checks folding, transposition and padding.

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/lookalike/lookalike/models/onnxpb"
	"github.com/lookalike/lookalike/models/tfjs"
)

// nhwc is one image, channels last.
type nhwc struct {
	h, w, c int
	v       []float64
}

func (t *nhwc) at(y, x, c int) float64 { return t.v[(y*t.w+x)*t.c+c] }

func kerasWeight(m *tfjs.Model, name string) []float64 {
	w, ok := m.Weight(name)
	if !ok {
		panic("missing weight " + name)
	}
	out := make([]float64, len(w.Data))
	for i, v := range w.Data {
		out[i] = float64(v)
	}
	return out
}

func tfSame(in, k, s int) (before, out int) {
	out = (in + s - 1) / s
	total := max((out-1)*s+k-in, 0)
	return total / 2, out
}

// runKeras evaluates the model on one image and returns every layer's output
// (flat layers as nhwc with h=w=1).
func runKeras(m *tfjs.Model, img *nhwc) map[string]*nhwc {
	out := map[string]*nhwc{}
	var cfg map[string]json.RawMessage
	get := func(k string, v any) {
		if raw, ok := cfg[k]; ok {
			if err := json.Unmarshal(raw, v); err != nil {
				panic(err)
			}
		}
	}
	for _, l := range m.Layers {
		cfg = nil
		if err := json.Unmarshal(l.Config, &cfg); err != nil {
			panic(err)
		}
		var in *nhwc
		if len(l.Inbound) > 0 {
			in = out[l.Inbound[0]]
		}
		switch l.Class {
		case "InputLayer":
			out[l.Name] = img
		case "ZeroPadding2D":
			var p [][]int
			get("padding", &p)
			r := &nhwc{h: in.h + p[0][0] + p[0][1], w: in.w + p[1][0] + p[1][1], c: in.c}
			r.v = make([]float64, r.h*r.w*r.c)
			for y := range in.h {
				for x := range in.w {
					for c := range in.c {
						r.v[((y+p[0][0])*r.w+x+p[1][0])*r.c+c] = in.at(y, x, c)
					}
				}
			}
			out[l.Name] = r
		case "Conv2D":
			var k, s []int
			var padding string
			var filters int
			get("kernel_size", &k)
			get("strides", &s)
			get("padding", &padding)
			get("filters", &filters)
			kern := kerasWeight(m, l.Name+"/kernel")
			bias := kerasWeight(m, l.Name+"/bias")
			out[l.Name] = window(in, k, s, padding, filters, 0, func(acc []float64, y, x, ky, kx int, inside bool) {
				if !inside {
					return // zero padding adds nothing
				}
				for i := range in.c {
					xv := in.at(y, x, i)
					for o := range filters {
						acc[o] += xv * kern[((ky*k[1]+kx)*in.c+i)*filters+o]
					}
				}
			}, func(acc []float64) {
				for o := range acc {
					acc[o] += bias[o]
				}
			})
		case "BatchNormalization":
			var eps float64
			get("epsilon", &eps)
			g, b := kerasWeight(m, l.Name+"/gamma"), kerasWeight(m, l.Name+"/beta")
			mean, vr := kerasWeight(m, l.Name+"/moving_mean"), kerasWeight(m, l.Name+"/moving_variance")
			r := &nhwc{h: in.h, w: in.w, c: in.c, v: make([]float64, len(in.v))}
			for i, v := range in.v {
				c := i % in.c
				r.v[i] = (v-mean[c])/math.Sqrt(vr[c]+eps)*g[c] + b[c]
			}
			out[l.Name] = r
		case "Activation":
			r := &nhwc{h: in.h, w: in.w, c: in.c, v: make([]float64, len(in.v))}
			for i, v := range in.v {
				r.v[i] = max(v, 0)
			}
			out[l.Name] = r
		case "Add":
			r := &nhwc{h: in.h, w: in.w, c: in.c, v: make([]float64, len(in.v))}
			for _, src := range l.Inbound {
				for i, v := range out[src].v {
					r.v[i] += v
				}
			}
			out[l.Name] = r
		case "MaxPooling2D":
			var k, s []int
			var padding string
			get("pool_size", &k)
			get("strides", &s)
			get("padding", &padding)
			out[l.Name] = window(in, k, s, padding, in.c, math.Inf(-1), func(acc []float64, y, x, ky, kx int, inside bool) {
				if !inside {
					return // TF's same max pooling ignores the padding
				}
				for c := range in.c {
					acc[c] = max(acc[c], in.at(y, x, c))
				}
			}, nil)
		case "GlobalAveragePooling2D":
			r := &nhwc{h: 1, w: 1, c: in.c, v: make([]float64, in.c)}
			for i, v := range in.v {
				r.v[i%in.c] += v / float64(in.h*in.w)
			}
			out[l.Name] = r
		case "Dense":
			var units int
			get("units", &units)
			kern, bias := kerasWeight(m, l.Name+"/kernel"), kerasWeight(m, l.Name+"/bias")
			r := &nhwc{h: 1, w: 1, c: units, v: make([]float64, units)}
			for o := range units {
				r.v[o] = bias[o]
				for i := range in.c {
					r.v[o] += in.v[i] * kern[i*units+o]
				}
			}
			softmax(r.v)
			out[l.Name] = r
		default:
			panic("runKeras: " + l.Class)
		}
	}
	return out
}

func softmax(v []float64) {
	m := math.Inf(-1)
	for _, x := range v {
		m = max(m, x)
	}
	s := 0.0
	for i, x := range v {
		v[i] = math.Exp(x - m)
		s += v[i]
	}
	for i := range v {
		v[i] /= s
	}
}

// window slides a k-sized window over in (TF valid/same semantics) and
// calls visit for every tap, inside telling whether it hit the image.
func window(in *nhwc, k, s []int, padding string, outC int, init float64,
	visit func(acc []float64, y, x, ky, kx int, inside bool), done func(acc []float64)) *nhwc {
	if len(s) == 0 {
		s = k
	}
	var pt, pl, oh, ow int
	if padding == "same" {
		pt, oh = tfSame(in.h, k[0], s[0])
		pl, ow = tfSame(in.w, k[1], s[1])
	} else {
		oh, ow = (in.h-k[0])/s[0]+1, (in.w-k[1])/s[1]+1
	}
	r := &nhwc{h: oh, w: ow, c: outC, v: make([]float64, oh*ow*outC)}
	for oy := range oh {
		for ox := range ow {
			acc := r.v[(oy*ow+ox)*outC : (oy*ow+ox+1)*outC]
			for i := range acc {
				acc[i] = init
			}
			for ky := range k[0] {
				for kx := range k[1] {
					y, x := oy*s[0]+ky-pt, ox*s[1]+kx-pl
					visit(acc, y, x, ky, kx, y >= 0 && y < in.h && x >= 0 && x < in.w)
				}
			}
			if done != nil {
				done(acc)
			}
		}
	}
	return r
}

// nchw is a batch-1 tensor in ONNX layout; flat tensors have h=w=1.
type nchw struct {
	c, h, w int
	v       []float64
}

func attrInts(n *onnxpb.Node, name string) []int {
	a, ok := n.Attr(name)
	if !ok {
		panic(fmt.Sprintf("node %s: no attribute %s", n.Name, name))
	}
	out := make([]int, len(a.Ints))
	for i, v := range a.Ints {
		out[i] = int(v)
	}
	return out
}

// runONNX evaluates the graph on one NCHW image and returns every tensor.
func runONNX(g *onnxpb.Graph, img *nchw) map[string]*nchw {
	vals := map[string]*nchw{g.Inputs[0].Name: img}
	consts := map[string][]float64{}
	for i := range g.Initializers {
		t := &g.Initializers[i]
		var v []float64
		switch t.DataType {
		case onnxpb.Float:
			f, err := t.Float32s()
			if err != nil {
				panic(err)
			}
			for _, x := range f {
				v = append(v, float64(x))
			}
		case onnxpb.Int8:
			q, err := t.Int8s()
			if err != nil {
				panic(err)
			}
			for _, x := range q {
				v = append(v, float64(x))
			}
		}
		consts[t.Name] = v
	}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		in := vals[n.Inputs[0]]
		var r *nchw
		switch n.OpType {
		case "DequantizeLinear":
			q, s, zp := consts[n.Inputs[0]], consts[n.Inputs[1]], consts[n.Inputs[2]]
			w := make([]float64, len(q))
			per := len(q) / len(s)
			for j := range q {
				// DequantizeLinear rounds the product to float32.
				w[j] = float64(float32(q[j]-zp[j/per]) * float32(s[j/per]))
			}
			consts[n.Outputs[0]] = w
			continue
		case "Conv":
			w, b := consts[n.Inputs[1]], consts[n.Inputs[2]]
			k, s, p := attrInts(n, "kernel_shape"), attrInts(n, "strides"), attrInts(n, "pads")
			co := len(b)
			ci := len(w) / (co * k[0] * k[1])
			oh, ow := (in.h+p[0]+p[2]-k[0])/s[0]+1, (in.w+p[1]+p[3]-k[1])/s[1]+1
			r = &nchw{c: co, h: oh, w: ow, v: make([]float64, co*oh*ow)}
			for o := range co {
				for oy := range oh {
					for ox := range ow {
						acc := b[o]
						for i := range ci {
							for ky := range k[0] {
								for kx := range k[1] {
									y, x := oy*s[0]+ky-p[0], ox*s[1]+kx-p[1]
									if y >= 0 && y < in.h && x >= 0 && x < in.w {
										acc += in.v[(i*in.h+y)*in.w+x] * w[((o*ci+i)*k[0]+ky)*k[1]+kx]
									}
								}
							}
						}
						r.v[(o*oh+oy)*ow+ox] = acc
					}
				}
			}
		case "MaxPool":
			k, s, p := attrInts(n, "kernel_shape"), attrInts(n, "strides"), attrInts(n, "pads")
			oh, ow := (in.h+p[0]+p[2]-k[0])/s[0]+1, (in.w+p[1]+p[3]-k[1])/s[1]+1
			r = &nchw{c: in.c, h: oh, w: ow, v: make([]float64, in.c*oh*ow)}
			for c := range in.c {
				for oy := range oh {
					for ox := range ow {
						m := math.Inf(-1)
						for ky := range k[0] {
							for kx := range k[1] {
								y, x := oy*s[0]+ky-p[0], ox*s[1]+kx-p[1]
								if y >= 0 && y < in.h && x >= 0 && x < in.w {
									m = max(m, in.v[(c*in.h+y)*in.w+x])
								}
							}
						}
						r.v[(c*oh+oy)*ow+ox] = m
					}
				}
			}
		case "Relu":
			r = &nchw{c: in.c, h: in.h, w: in.w, v: make([]float64, len(in.v))}
			for j, v := range in.v {
				r.v[j] = max(v, 0)
			}
		case "Add":
			b := vals[n.Inputs[1]]
			r = &nchw{c: in.c, h: in.h, w: in.w, v: make([]float64, len(in.v))}
			for j := range in.v {
				r.v[j] = in.v[j] + b.v[j]
			}
		case "GlobalAveragePool", "GlobalMaxPool":
			r = &nchw{c: in.c, h: 1, w: 1, v: make([]float64, in.c)}
			hw := in.h * in.w
			for c := range in.c {
				m, s := math.Inf(-1), 0.0
				for _, v := range in.v[c*hw : (c+1)*hw] {
					m, s = max(m, v), s+v
				}
				if n.OpType == "GlobalMaxPool" {
					r.v[c] = m
				} else {
					r.v[c] = s / float64(hw)
				}
			}
		case "Flatten":
			r = &nchw{c: in.c * in.h * in.w, h: 1, w: 1, v: in.v}
		case "Gemm":
			w, b := consts[n.Inputs[1]], consts[n.Inputs[2]]
			r = &nchw{c: len(b), h: 1, w: 1, v: make([]float64, len(b))}
			for o := range b {
				r.v[o] = b[o]
				for i := range in.c {
					r.v[o] += in.v[i] * w[o*in.c+i]
				}
			}
		case "Softmax":
			r = &nchw{c: in.c, h: 1, w: 1, v: append([]float64(nil), in.v...)}
			softmax(r.v)
		default:
			panic("runONNX: " + n.OpType)
		}
		vals[n.Outputs[0]] = r
	}
	return vals
}

// toNCHW converts a Keras output to ONNX layout for comparison.
func toNCHW(t *nhwc) *nchw {
	r := &nchw{c: t.c, h: t.h, w: t.w, v: make([]float64, len(t.v))}
	for y := range t.h {
		for x := range t.w {
			for c := range t.c {
				r.v[(c*t.h+y)*t.w+x] = t.at(y, x, c)
			}
		}
	}
	return r
}
