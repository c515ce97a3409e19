package onnxpb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// DataType is ONNX's TensorProto.DataType.
type DataType int32

// The element types Lookalike uses.
const (
	Float   DataType = 1
	Uint8   DataType = 2
	Int8    DataType = 3
	Int32   DataType = 6
	Int64   DataType = 7
	Float16 DataType = 10
	Double  DataType = 11
	// Uint4 and Int4 (ONNX IR 10, opset 21) pack two elements per byte,
	// the first in the low nibble; an odd count leaves the last high
	// nibble unused.
	Uint4 DataType = 21
	Int4  DataType = 22
)

// RawSize is the number of data bytes n elements of d take (n/2 rounded
// up for the 4-bit types), or -1 if d is unknown.
func (d DataType) RawSize(n int) int {
	switch d {
	case Int4, Uint4:
		return (n + 1) / 2
	}
	if s := d.Size(); s > 0 {
		return n * s
	}
	return -1
}

// Size returns the byte size of one element, or 0 if unknown (or, for the
// 4-bit types, less than a byte: see RawSize).
func (d DataType) Size() int {
	switch d {
	case Uint8, Int8:
		return 1
	case Float16:
		return 2
	case Float, Int32:
		return 4
	case Int64, Double:
		return 8
	}
	return 0
}

func (d DataType) String() string {
	switch d {
	case Float:
		return "float32"
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Float16:
		return "float16"
	case Double:
		return "float64"
	case Int4:
		return "int4"
	case Uint4:
		return "uint4"
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// AttrKind is ONNX's AttributeProto.AttributeType.
type AttrKind int32

// Attribute kinds.
const (
	AttrFloat   AttrKind = 1
	AttrInt     AttrKind = 2
	AttrString  AttrKind = 3
	AttrTensor  AttrKind = 4
	AttrFloats  AttrKind = 6
	AttrInts    AttrKind = 7
	AttrStrings AttrKind = 8
)

// Model is an ONNX ModelProto.
type Model struct {
	IRVersion       int64
	Opset           int64 // version of the default ("" / "ai.onnx") domain
	ProducerName    string
	ProducerVersion string
	DocString       string
	Metadata        []KV
	Graph           Graph
}

// KV is a metadata_props entry.
type KV struct{ Key, Value string }

// Graph is an ONNX GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Node is an ONNX NodeProto.
type Node struct {
	Name, OpType, Domain string
	Inputs, Outputs      []string
	Attrs                []Attr
}

// Attr is an ONNX AttributeProto. Only the field matching Kind is meaningful.
type Attr struct {
	Name    string
	Kind    AttrKind
	F       float32
	I       int64
	S       string
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
}

// Tensor is an ONNX TensorProto. Raw holds little-endian element bytes; when
// the producer used typed fields (float_data, int32_data, int64_data) Decode
// converts them to Raw.
type Tensor struct {
	Name     string
	DataType DataType
	Dims     []int64
	Raw      []byte
}

// ValueInfo is an ONNX ValueInfoProto holding a tensor type.
type ValueInfo struct {
	Name     string
	ElemType DataType
	Dims     []Dim
}

// Dim is one dimension of a ValueInfo: a fixed Value, or a symbolic Param.
type Dim struct {
	Value int64
	Param string
}

// MetadataValue returns the value of the metadata_props entry key.
func (m *Model) MetadataValue(key string) (string, bool) {
	for _, kv := range m.Metadata {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// Initializer returns the initializer called name.
func (g *Graph) Initializer(name string) (*Tensor, bool) {
	for i := range g.Initializers {
		if g.Initializers[i].Name == name {
			return &g.Initializers[i], true
		}
	}
	return nil, false
}

// Attr returns the node's attribute called name.
func (n *Node) Attr(name string) (*Attr, bool) {
	for i := range n.Attrs {
		if n.Attrs[i].Name == name {
			return &n.Attrs[i], true
		}
	}
	return nil, false
}

// NumElements is the product of the dims, or an error on overflow or a
// negative dim.
func (t *Tensor) NumElements() (int, error) {
	n := 1
	for _, d := range t.Dims {
		if d < 0 || d > math.MaxInt32 {
			return 0, fmt.Errorf("onnxpb: tensor %q: bad dim %d", t.Name, d)
		}
		if d != 0 && n > math.MaxInt32/int(d) {
			return 0, fmt.Errorf("onnxpb: tensor %q: too many elements", t.Name)
		}
		n *= int(d)
	}
	return n, nil
}

func (t *Tensor) check(want DataType) (int, error) {
	if t.DataType != want {
		return 0, fmt.Errorf("onnxpb: tensor %q is %v, want %v", t.Name, t.DataType, want)
	}
	n, err := t.NumElements()
	if err != nil {
		return 0, err
	}
	if len(t.Raw) != want.RawSize(n) {
		return 0, fmt.Errorf("onnxpb: tensor %q: %d bytes of data for %d elements of %v", t.Name, len(t.Raw), n, want)
	}
	return n, nil
}

// Float32s returns the tensor's elements as float32 (a copy).
func (t *Tensor) Float32s() ([]float32, error) {
	n, err := t.check(Float)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
	}
	return out, nil
}

// Int8s returns the tensor's elements as int8 (a copy).
func (t *Tensor) Int8s() ([]int8, error) {
	n, err := t.check(Int8)
	if err != nil {
		return nil, err
	}
	out := make([]int8, n)
	for i := range out {
		out[i] = int8(t.Raw[i])
	}
	return out, nil
}

// Int4s returns the elements of an int4 tensor, sign-extended to int8.
func (t *Tensor) Int4s() ([]int8, error) {
	n, err := t.check(Int4)
	if err != nil {
		return nil, err
	}
	out := make([]int8, n)
	for i := range out {
		out[i] = Int4At(t.Raw, i)
	}
	return out, nil
}

// Int4At returns element i of packed int4 data (low nibble first),
// sign-extended.
func Int4At(raw []byte, i int) int8 {
	b := raw[i>>1]
	if i&1 == 1 {
		b >>= 4
	}
	return int8(b<<4) >> 4
}

// Int64s returns the tensor's elements as int64 (a copy).
func (t *Tensor) Int64s() ([]int64, error) {
	n, err := t.check(Int64)
	if err != nil {
		return nil, err
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.Raw[8*i:]))
	}
	return out, nil
}

// FloatTensor builds a float32 tensor.
func FloatTensor(name string, dims []int64, v []float32) Tensor {
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return Tensor{Name: name, DataType: Float, Dims: dims, Raw: raw}
}

// Int8Tensor builds an int8 tensor.
func Int8Tensor(name string, dims []int64, v []int8) Tensor {
	raw := make([]byte, len(v))
	for i, q := range v {
		raw[i] = byte(q)
	}
	return Tensor{Name: name, DataType: Int8, Dims: dims, Raw: raw}
}

// Int4Tensor builds an int4 tensor from values in -8..7 (others are
// clamped), two per byte, the first in the low nibble.
func Int4Tensor(name string, dims []int64, v []int8) Tensor {
	raw := make([]byte, (len(v)+1)/2)
	for i, q := range v {
		q = max(-8, min(7, q))
		nib := byte(q) & 0x0f
		if i&1 == 1 {
			nib <<= 4
		}
		raw[i>>1] |= nib
	}
	return Tensor{Name: name, DataType: Int4, Dims: dims, Raw: raw}
}

// Int64Tensor builds an int64 tensor.
func Int64Tensor(name string, dims []int64, v []int64) Tensor {
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	return Tensor{Name: name, DataType: Int64, Dims: dims, Raw: raw}
}

// Attribute constructors.
func IntAttr(name string, v int64) Attr         { return Attr{Name: name, Kind: AttrInt, I: v} }
func FloatAttr(name string, v float32) Attr     { return Attr{Name: name, Kind: AttrFloat, F: v} }
func IntsAttr(name string, v ...int64) Attr     { return Attr{Name: name, Kind: AttrInts, Ints: v} }
func StringAttr(name string, v string) Attr     { return Attr{Name: name, Kind: AttrString, S: v} }
func FloatsAttr(name string, v ...float32) Attr { return Attr{Name: name, Kind: AttrFloats, Floats: v} }

var errTruncated = errors.New("onnxpb: truncated or malformed protobuf")
