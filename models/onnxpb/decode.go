package onnxpb

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded protobuf field: for varint/fixed types v holds the
// number; for bytes types b holds the payload (a sub-slice of the input).
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

// walk calls fn for every top-level field of msg.
func walk(msg []byte, fn func(f field) error) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return fmt.Errorf("onnxpb: bad tag: %w", protowire.ParseError(n))
		}
		msg = msg[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(msg)
		case protowire.Fixed32Type:
			var v32 uint32
			v32, n = protowire.ConsumeFixed32(msg)
			f.v = uint64(v32)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(msg)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(msg)
		default:
			n = protowire.ConsumeFieldValue(num, typ, msg)
		}
		if n < 0 {
			return fmt.Errorf("onnxpb: field %d: %w", num, protowire.ParseError(n))
		}
		msg = msg[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

func str(f field, what string) (string, error) {
	if f.typ != protowire.BytesType {
		return "", fmt.Errorf("onnxpb: %s: wrong wire type %d", what, f.typ)
	}
	if !utf8.Valid(f.b) {
		return "", fmt.Errorf("onnxpb: %s: invalid UTF-8", what)
	}
	return string(f.b), nil
}

// varints decodes a packed or unpacked repeated varint field.
func varints(f field, dst []int64) ([]int64, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, int64(f.v)), nil
	case protowire.BytesType:
		b := f.b
		for len(b) > 0 {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, errTruncated
			}
			dst = append(dst, int64(v))
			b = b[n:]
		}
		return dst, nil
	}
	return nil, fmt.Errorf("onnxpb: field %d: wrong wire type for varints", f.num)
}

// fixed32s decodes a packed or unpacked repeated fixed32 field.
func fixed32s(f field, dst []uint32) ([]uint32, error) {
	switch f.typ {
	case protowire.Fixed32Type:
		return append(dst, uint32(f.v)), nil
	case protowire.BytesType:
		if len(f.b)%4 != 0 {
			return nil, errTruncated
		}
		for i := 0; i < len(f.b); i += 4 {
			dst = append(dst, binary.LittleEndian.Uint32(f.b[i:]))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("onnxpb: field %d: wrong wire type for fixed32s", f.num)
}

// Decode parses an ONNX ModelProto. Initializer raw data aliases b.
// Sub-graphs (If/Loop bodies) and unknown fields are skipped.
func Decode(b []byte) (*Model, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("onnxpb: empty model file")
	}
	m := &Model{}
	sawGraph := false
	err := walk(b, func(f field) error {
		var err error
		switch f.num {
		case fModelIRVersion:
			m.IRVersion = int64(f.v)
		case fModelProducerName:
			m.ProducerName, err = str(f, "producer_name")
		case fModelProducerVersion:
			m.ProducerVersion, err = str(f, "producer_version")
		case fModelDocString:
			m.DocString, err = str(f, "doc_string")
		case fModelGraph:
			if f.typ != protowire.BytesType {
				return fmt.Errorf("onnxpb: graph: wrong wire type")
			}
			sawGraph = true
			err = decodeGraph(f.b, &m.Graph)
		case fModelOpsetImport:
			var domain string
			var version int64
			err = walk(f.b, func(g field) error {
				var err error
				switch g.num {
				case fOpsetDomain:
					domain, err = str(g, "opset domain")
				case fOpsetVersion:
					version = int64(g.v)
				}
				return err
			})
			if domain == "" || domain == "ai.onnx" {
				m.Opset = version
			}
		case fModelMetadataProps:
			var kv KV
			err = walk(f.b, func(g field) error {
				var err error
				switch g.num {
				case fKVKey:
					kv.Key, err = str(g, "metadata key")
				case fKVValue:
					kv.Value, err = str(g, "metadata value")
				}
				return err
			})
			m.Metadata = append(m.Metadata, kv)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !sawGraph || len(m.Graph.Nodes) == 0 {
		return nil, fmt.Errorf("onnxpb: not an ONNX model: no graph nodes")
	}
	return m, nil
}

func decodeGraph(b []byte, g *Graph) error {
	return walk(b, func(f field) error {
		if f.typ != protowire.BytesType {
			return nil
		}
		switch f.num {
		case fGraphNode:
			var n Node
			if err := decodeNode(f.b, &n); err != nil {
				return err
			}
			g.Nodes = append(g.Nodes, n)
		case fGraphName:
			s, err := str(f, "graph name")
			g.Name = s
			return err
		case fGraphInitializer:
			var t Tensor
			if err := decodeTensor(f.b, &t); err != nil {
				return err
			}
			g.Initializers = append(g.Initializers, t)
		case fGraphInput, fGraphOutput:
			var v ValueInfo
			if err := decodeValueInfo(f.b, &v); err != nil {
				return err
			}
			if f.num == fGraphInput {
				g.Inputs = append(g.Inputs, v)
			} else {
				g.Outputs = append(g.Outputs, v)
			}
		}
		return nil
	})
}

func decodeNode(b []byte, n *Node) error {
	return walk(b, func(f field) error {
		var err error
		var s string
		switch f.num {
		case fNodeInput:
			s, err = str(f, "node input")
			n.Inputs = append(n.Inputs, s)
		case fNodeOutput:
			s, err = str(f, "node output")
			n.Outputs = append(n.Outputs, s)
		case fNodeName:
			n.Name, err = str(f, "node name")
		case fNodeOpType:
			n.OpType, err = str(f, "op_type")
		case fNodeDomain:
			n.Domain, err = str(f, "node domain")
		case fNodeAttribute:
			if f.typ != protowire.BytesType {
				return fmt.Errorf("onnxpb: node %q: attribute: wrong wire type", n.Name)
			}
			var a Attr
			if err := decodeAttr(f.b, &a); err != nil {
				return fmt.Errorf("onnxpb: node %q: %w", n.Name, err)
			}
			n.Attrs = append(n.Attrs, a)
		}
		return err
	})
}

func decodeAttr(b []byte, a *Attr) error {
	return walk(b, func(f field) error {
		var err error
		switch f.num {
		case fAttrName:
			a.Name, err = str(f, "attribute name")
		case fAttrType:
			a.Kind = AttrKind(f.v)
		case fAttrF:
			a.F = math.Float32frombits(uint32(f.v))
		case fAttrI:
			a.I = int64(f.v)
		case fAttrS:
			a.S = string(f.b)
		case fAttrT:
			if f.typ != protowire.BytesType {
				return errTruncated
			}
			a.T = &Tensor{}
			err = decodeTensor(f.b, a.T)
		case fAttrFloats:
			var u []uint32
			u, err = fixed32s(f, nil)
			for _, x := range u {
				a.Floats = append(a.Floats, math.Float32frombits(x))
			}
		case fAttrInts:
			a.Ints, err = varints(f, a.Ints)
		case fAttrStrings:
			a.Strings = append(a.Strings, string(f.b))
		}
		return err
	})
}

func decodeTensor(b []byte, t *Tensor) error {
	var floats, i32 []uint32
	var i64 []int64
	var doubles []uint64
	hasRaw := false
	err := walk(b, func(f field) error {
		var err error
		switch f.num {
		case fTensorDims:
			t.Dims, err = varints(f, t.Dims)
		case fTensorDataType:
			t.DataType = DataType(f.v)
		case fTensorName:
			t.Name, err = str(f, "tensor name")
		case fTensorRawData:
			t.Raw, hasRaw = f.b, true
		case fTensorFloatData:
			floats, err = fixed32s(f, floats)
		case fTensorInt32Data:
			var v []int64
			v, err = varints(f, nil)
			for _, x := range v {
				i32 = append(i32, uint32(x))
			}
		case fTensorInt64Data:
			i64, err = varints(f, i64)
		case fTensorDoubleData:
			switch f.typ {
			case protowire.Fixed64Type:
				doubles = append(doubles, f.v)
			case protowire.BytesType:
				if len(f.b)%8 != 0 {
					return errTruncated
				}
				for i := 0; i < len(f.b); i += 8 {
					doubles = append(doubles, binary.LittleEndian.Uint64(f.b[i:]))
				}
			}
		case fTensorDataLocation:
			if f.v == 1 {
				return fmt.Errorf("onnxpb: tensor %q: external data is not supported", t.Name)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	if hasRaw {
		return nil
	}
	// Typed fields: convert to little-endian raw bytes.
	switch t.DataType {
	case Float:
		t.Raw = make([]byte, 4*len(floats))
		for i, x := range floats {
			binary.LittleEndian.PutUint32(t.Raw[4*i:], x)
		}
	case Int8, Uint8:
		t.Raw = make([]byte, len(i32))
		for i, x := range i32 {
			t.Raw[i] = byte(x)
		}
	case Int32:
		t.Raw = make([]byte, 4*len(i32))
		for i, x := range i32 {
			binary.LittleEndian.PutUint32(t.Raw[4*i:], x)
		}
	case Int64:
		t.Raw = make([]byte, 8*len(i64))
		for i, x := range i64 {
			binary.LittleEndian.PutUint64(t.Raw[8*i:], uint64(x))
		}
	case Double:
		t.Raw = make([]byte, 8*len(doubles))
		for i, x := range doubles {
			binary.LittleEndian.PutUint64(t.Raw[8*i:], x)
		}
	}
	return nil
}

func decodeValueInfo(b []byte, v *ValueInfo) error {
	return walk(b, func(f field) error {
		switch f.num {
		case fValueInfoName:
			s, err := str(f, "value name")
			v.Name = s
			return err
		case fValueInfoType:
			if f.typ != protowire.BytesType {
				return errTruncated
			}
			return walk(f.b, func(g field) error {
				if g.num != fTypeTensorType || g.typ != protowire.BytesType {
					return nil
				}
				return walk(g.b, func(h field) error {
					switch h.num {
					case fTensorTypeElem:
						v.ElemType = DataType(h.v)
					case fTensorTypeShape:
						if h.typ != protowire.BytesType {
							return errTruncated
						}
						return walk(h.b, func(d field) error {
							if d.num != fShapeDim || d.typ != protowire.BytesType {
								return nil
							}
							var dim Dim
							err := walk(d.b, func(e field) error {
								var err error
								switch e.num {
								case fDimValue:
									dim.Value = int64(e.v)
								case fDimParam:
									dim.Param, err = str(e, "dim param")
								}
								return err
							})
							v.Dims = append(v.Dims, dim)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
}
