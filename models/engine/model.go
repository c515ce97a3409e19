package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/lookalike/lookalike/models/onnxpb"
)

// Model is a loaded, planned ONNX graph with its weights dequantised to
// float32 and packed for the GEMM. It is immutable after Load and safe for
// concurrent use; each goroutine runs it through its own Session.
type Model struct {
	meta      []onnxpb.KV
	opset     int64
	values    []value
	steps     []step
	input     int // value id of the graph input
	inputName string
	inDims    []int // input dims after the batch dim
	outputs   []int // value ids of the graph outputs
	outNames  []string
	prec      Precision // activations (quant.go)
}

// value is one tensor of the graph: a constant (weights, shapes) or an
// activation computed per run.
type value struct {
	name  string
	konst bool
	dtype onnxpb.DataType // of a constant
	f32   []float32       // constant float data
	i64   []int64         // constant int64 data (shapes)
	raw   []byte          // constant int8/uint8 data (aliases the file until Load returns)
	dims  []int           // constant dims
}

// step is one kernel of the execution plan. Steps are immutable once the
// model is loaded; everything that depends on the batch size lives in the
// Session.
type step interface {
	node() string // ONNX node name and op, for errors
	ins() []int   // value ids read (constants included)
	outs() []int  // value ids written
	// infer computes the output shapes from the input shapes.
	infer(sh [][]int) error
	// scratch is the number of float32 of scratch space run needs.
	scratch(sh [][]int) int
	// inplace is the position in ins() of an input whose buffer the
	// output may reuse when that input dies here, or -1.
	inplace() int
	run(s *Session)
}

// Metadata returns the model's metadata_props value for key (for example
// "lookalike.preprocessing").
func (m *Model) Metadata(key string) (string, bool) {
	for _, kv := range m.meta {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// Outputs returns the names of the graph outputs, in file order.
func (m *Model) Outputs() []string { return append([]string(nil), m.outNames...) }

// Input returns the name of the graph input and its dims without the batch
// dim (for ResNet50: "input", [3 224 224]).
func (m *Model) Input() (string, []int) { return m.inputName, append([]int(nil), m.inDims...) }

// Load decodes an ONNX model, folds and fuses its graph and packs its
// weights, with DefaultActivations (LoadWith chooses). Malformed files and
// unsupported operators are reported as errors naming the node and
// operator; Load never panics on bad input.
func Load(b []byte) (*Model, error) { return load(b, DefaultActivations) }

func load(b []byte, prec Precision) (*Model, error) {
	pb, err := onnxpb.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	ops, err := decodeGraph(b, pb)
	if err != nil {
		return nil, err
	}
	if len(ops) != len(pb.Graph.Nodes) {
		return nil, fmt.Errorf("engine: onnx-go saw %d nodes, onnxpb %d", len(ops), len(pb.Graph.Nodes))
	}
	l := &loader{m: &Model{meta: pb.Metadata, opset: pb.Opset, prec: prec}, ids: map[string]int{}}
	if err := l.load(pb, ops); err != nil {
		return nil, err
	}
	return l.m, nil
}

type loader struct {
	m   *Model
	ids map[string]int
}

func (l *loader) addValue(v value) (int, error) {
	if _, dup := l.ids[v.name]; dup {
		return 0, fmt.Errorf("engine: value %q is defined twice", v.name)
	}
	l.ids[v.name] = len(l.m.values)
	l.m.values = append(l.m.values, v)
	return len(l.m.values) - 1, nil
}

func (l *loader) load(pb *onnxpb.Model, ops []decodedOp) error {
	g := &pb.Graph
	for i := range g.Initializers {
		v, err := constValue(&g.Initializers[i])
		if err != nil {
			return err
		}
		if _, err := l.addValue(v); err != nil {
			return err
		}
	}
	l.m.input = -1
	for _, in := range g.Inputs {
		if _, isInit := l.ids[in.Name]; isInit {
			continue // older exporters list initializers as inputs too
		}
		if l.m.input >= 0 {
			return fmt.Errorf("engine: graph has more than one runtime input (%q, %q)", l.m.inputName, in.Name)
		}
		if in.ElemType != onnxpb.Float {
			return fmt.Errorf("engine: input %q is %v, want float32", in.Name, in.ElemType)
		}
		if len(in.Dims) < 2 {
			return fmt.Errorf("engine: input %q has %d dims, want a batch dim and at least one more", in.Name, len(in.Dims))
		}
		for i, d := range in.Dims[1:] {
			if d.Value <= 0 || d.Value > 1<<24 {
				return fmt.Errorf("engine: input %q: dim %d must be a fixed positive size (only the batch dim may be symbolic), got %d %q", in.Name, i+1, d.Value, d.Param)
			}
			l.m.inDims = append(l.m.inDims, int(d.Value))
		}
		if _, err := numElems(l.m.inDims); err != nil {
			return fmt.Errorf("engine: input %q: %w", in.Name, err)
		}
		id, err := l.addValue(value{name: in.Name})
		if err != nil {
			return err
		}
		l.m.input, l.m.inputName = id, in.Name
	}
	if l.m.input < 0 {
		return errors.New("engine: graph has no runtime input")
	}
	for i, op := range ops {
		pn := &g.Nodes[i]
		name := pn.Name
		if name == "" && len(pn.Outputs) > 0 {
			name = "→" + pn.Outputs[0]
		}
		if op.opType != pn.OpType || !equalStrings(op.outputs, pn.Outputs) || !equalStrings(op.inputs, pn.Inputs) {
			return fmt.Errorf("engine: node %d (%s %s): onnx-go and onnxpb disagree on the graph", i, name, pn.OpType)
		}
		if err := l.lower(node{name: name, op: op, pb: pn}); err != nil {
			return err
		}
	}
	if len(g.Outputs) == 0 {
		return errors.New("engine: graph has no outputs")
	}
	for _, o := range g.Outputs {
		id, ok := l.ids[o.Name]
		if !ok {
			return fmt.Errorf("engine: graph output %q is never computed", o.Name)
		}
		if l.m.values[id].konst {
			return fmt.Errorf("engine: graph output %q is a constant", o.Name)
		}
		l.m.outputs = append(l.m.outputs, id)
		l.m.outNames = append(l.m.outNames, o.Name)
	}
	if err := l.fuse(); err != nil {
		return err
	}
	if l.m.prec == Int8 {
		l.planInt8()
	}
	// Check every shape once at batch 1 so a bad model fails at Load.
	if _, err := l.m.inferShapes(1); err != nil {
		return err
	}
	used := make([]bool, len(l.m.values))
	for _, st := range l.m.steps {
		if c, ok := st.(*convStep); ok {
			c.pack()
		}
		for _, in := range st.ins() {
			used[in] = true
		}
	}
	// Drop constants the steps took over (conv weights live packed in their
	// step) and every alias of the file bytes.
	for i := range l.m.values {
		v := &l.m.values[i]
		v.raw = nil
		if v.konst && !used[i] {
			v.f32, v.i64 = nil, nil
		}
	}
	return nil
}

func equalStrings(a, b []string) bool {
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

func numElems(dims []int) (int, error) {
	n := 1
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dim %d", d)
		}
		if d != 0 && n > math.MaxInt32/d {
			return 0, fmt.Errorf("tensor of %v is too large", dims)
		}
		n *= d
	}
	return n, nil
}

// constValue turns an initializer into a constant value. Float and int64
// tensors are decoded; int8/uint8 and packed int4/uint4 tensors keep
// aliasing the file bytes until DequantizeLinear folds them.
func constValue(t *onnxpb.Tensor) (value, error) {
	v := value{name: t.Name, konst: true, dtype: t.DataType}
	if t.Name == "" {
		return v, errors.New("engine: initializer without a name")
	}
	n, err := t.NumElements()
	if err != nil {
		return v, fmt.Errorf("engine: %w", err)
	}
	for _, d := range t.Dims {
		v.dims = append(v.dims, int(d))
	}
	switch t.DataType {
	case onnxpb.Float:
		v.f32, err = t.Float32s()
	case onnxpb.Int64:
		v.i64, err = t.Int64s()
	case onnxpb.Int8, onnxpb.Uint8, onnxpb.Int4, onnxpb.Uint4:
		if len(t.Raw) != t.DataType.RawSize(n) {
			return v, fmt.Errorf("engine: initializer %q: %d bytes for %d %v elements", t.Name, len(t.Raw), n, t.DataType)
		}
		v.raw = t.Raw
	case onnxpb.Int32:
		if len(t.Raw) != 4*n {
			return v, fmt.Errorf("engine: initializer %q: %d bytes for %d int32", t.Name, len(t.Raw), n)
		}
		v.i64 = make([]int64, n)
		for i := range v.i64 {
			v.i64[i] = int64(int32(binary.LittleEndian.Uint32(t.Raw[4*i:])))
		}
	default:
		return v, fmt.Errorf("engine: initializer %q has unsupported type %v", t.Name, t.DataType)
	}
	if err != nil {
		return v, fmt.Errorf("engine: %w", err)
	}
	return v, nil
}

// maxActivation bounds one activation tensor (1 GiB of float32).
const maxActivation = 1 << 28

// inferShapes computes every value's shape for batch size n.
func (m *Model) inferShapes(n int) ([][]int, error) {
	sh := make([][]int, len(m.values))
	for i, v := range m.values {
		if v.konst {
			sh[i] = v.dims
		}
	}
	sh[m.input] = append([]int{n}, m.inDims...)
	for _, st := range m.steps {
		if err := st.infer(sh); err != nil {
			return nil, fmt.Errorf("engine: node %s: %w", st.node(), err)
		}
		for _, o := range st.outs() {
			size, err := numElems(sh[o])
			if err == nil && size > maxActivation {
				err = fmt.Errorf("%v is more than %d values", sh[o], maxActivation)
			}
			if err != nil {
				return nil, fmt.Errorf("engine: node %s: output %q: %w", st.node(), m.values[o].name, err)
			}
		}
	}
	return sh, nil
}
