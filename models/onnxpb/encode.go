package onnxpb

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers from onnx.proto (ONNX IR version 8).
const (
	fModelIRVersion       = 1
	fModelProducerName    = 2
	fModelProducerVersion = 3
	fModelDocString       = 6
	fModelGraph           = 7
	fModelOpsetImport     = 8
	fModelMetadataProps   = 14

	fOpsetDomain  = 1
	fOpsetVersion = 2

	fKVKey   = 1
	fKVValue = 2

	fGraphNode        = 1
	fGraphName        = 2
	fGraphInitializer = 5
	fGraphInput       = 11
	fGraphOutput      = 12

	fNodeInput     = 1
	fNodeOutput    = 2
	fNodeName      = 3
	fNodeOpType    = 4
	fNodeAttribute = 5
	fNodeDomain    = 7

	fAttrName    = 1
	fAttrF       = 2
	fAttrI       = 3
	fAttrS       = 4
	fAttrT       = 5
	fAttrFloats  = 7
	fAttrInts    = 8
	fAttrStrings = 9
	fAttrType    = 20

	fTensorDims         = 1
	fTensorDataType     = 2
	fTensorFloatData    = 4
	fTensorInt32Data    = 5
	fTensorInt64Data    = 7
	fTensorName         = 8
	fTensorRawData      = 9
	fTensorDoubleData   = 10
	fTensorDataLocation = 14

	fValueInfoName = 1
	fValueInfoType = 2

	fTypeTensorType  = 1
	fTensorTypeElem  = 1
	fTensorTypeShape = 2
	fShapeDim        = 1
	fDimValue        = 1
	fDimParam        = 2
)

// Marshal encodes the model as an ONNX ModelProto.
func (m *Model) Marshal() []byte {
	var b []byte
	b = appendVarintField(b, fModelIRVersion, uint64(m.IRVersion))
	b = appendStringField(b, fModelProducerName, m.ProducerName)
	b = appendStringField(b, fModelProducerVersion, m.ProducerVersion)
	b = appendStringField(b, fModelDocString, m.DocString)
	b = appendMessage(b, fModelGraph, m.Graph.marshal(nil))
	var op []byte
	op = protowire.AppendTag(op, fOpsetDomain, protowire.BytesType)
	op = protowire.AppendString(op, "")
	op = appendVarintField(op, fOpsetVersion, uint64(m.Opset))
	b = appendMessage(b, fModelOpsetImport, op)
	for _, kv := range m.Metadata {
		var e []byte
		e = appendStringField(e, fKVKey, kv.Key)
		e = appendStringField(e, fKVValue, kv.Value)
		b = appendMessage(b, fModelMetadataProps, e)
	}
	return b
}

func (g *Graph) marshal(b []byte) []byte {
	for i := range g.Nodes {
		b = appendMessage(b, fGraphNode, g.Nodes[i].marshal(nil))
	}
	b = appendStringField(b, fGraphName, g.Name)
	for i := range g.Initializers {
		b = appendMessage(b, fGraphInitializer, g.Initializers[i].marshal(nil))
	}
	for i := range g.Inputs {
		b = appendMessage(b, fGraphInput, g.Inputs[i].marshal(nil))
	}
	for i := range g.Outputs {
		b = appendMessage(b, fGraphOutput, g.Outputs[i].marshal(nil))
	}
	return b
}

func (n *Node) marshal(b []byte) []byte {
	for _, s := range n.Inputs {
		b = protowire.AppendTag(b, fNodeInput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.Outputs {
		b = protowire.AppendTag(b, fNodeOutput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendStringField(b, fNodeName, n.Name)
	b = appendStringField(b, fNodeOpType, n.OpType)
	for i := range n.Attrs {
		b = appendMessage(b, fNodeAttribute, n.Attrs[i].marshal(nil))
	}
	b = appendStringField(b, fNodeDomain, n.Domain)
	return b
}

func (a *Attr) marshal(b []byte) []byte {
	b = appendStringField(b, fAttrName, a.Name)
	switch a.Kind {
	case AttrFloat:
		b = protowire.AppendTag(b, fAttrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, fAttrI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrString:
		b = protowire.AppendTag(b, fAttrS, protowire.BytesType)
		b = protowire.AppendString(b, a.S)
	case AttrTensor:
		if a.T != nil {
			b = appendMessage(b, fAttrT, a.T.marshal(nil))
		}
	case AttrFloats:
		var p []byte
		for _, f := range a.Floats {
			p = protowire.AppendFixed32(p, math.Float32bits(f))
		}
		b = protowire.AppendTag(b, fAttrFloats, protowire.BytesType)
		b = protowire.AppendBytes(b, p)
	case AttrInts:
		var p []byte
		for _, v := range a.Ints {
			p = protowire.AppendVarint(p, uint64(v))
		}
		b = protowire.AppendTag(b, fAttrInts, protowire.BytesType)
		b = protowire.AppendBytes(b, p)
	case AttrStrings:
		for _, s := range a.Strings {
			b = protowire.AppendTag(b, fAttrStrings, protowire.BytesType)
			b = protowire.AppendString(b, s)
		}
	}
	b = protowire.AppendTag(b, fAttrType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(a.Kind))
	return b
}

func (t *Tensor) marshal(b []byte) []byte {
	if len(t.Dims) > 0 {
		var p []byte
		for _, d := range t.Dims {
			p = protowire.AppendVarint(p, uint64(d))
		}
		b = protowire.AppendTag(b, fTensorDims, protowire.BytesType)
		b = protowire.AppendBytes(b, p)
	}
	b = appendVarintField(b, fTensorDataType, uint64(t.DataType))
	b = appendStringField(b, fTensorName, t.Name)
	b = protowire.AppendTag(b, fTensorRawData, protowire.BytesType)
	b = protowire.AppendBytes(b, t.Raw)
	return b
}

func (v *ValueInfo) marshal(b []byte) []byte {
	b = appendStringField(b, fValueInfoName, v.Name)
	var shape []byte
	for _, d := range v.Dims {
		var dm []byte
		if d.Param != "" {
			dm = appendStringField(dm, fDimParam, d.Param)
		} else {
			dm = protowire.AppendTag(dm, fDimValue, protowire.VarintType)
			dm = protowire.AppendVarint(dm, uint64(d.Value))
		}
		shape = appendMessage(shape, fShapeDim, dm)
	}
	var tt []byte
	tt = appendVarintField(tt, fTensorTypeElem, uint64(v.ElemType))
	tt = appendMessage(tt, fTensorTypeShape, shape)
	var typ []byte
	typ = appendMessage(typ, fTypeTensorType, tt)
	b = appendMessage(b, fValueInfoType, typ)
	return b
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}
