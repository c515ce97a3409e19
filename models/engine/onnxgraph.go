//go:build !js

package engine

import (
	"fmt"
	"sort"

	onnx "github.com/owulveryck/onnx-go"
	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/iterator"
)

// graphBuilder is the onnx-go backend the loader decodes into. onnx-go
// calls it with one graph node per tensor value (named after the value),
// one weighted edge from each operator's output value to each of its input
// values (weight = input position), and ApplyOperation once per ONNX node,
// in file order. Its nodes implement onnx.Namer but not onnx.DataCarrier,
// so onnx-go never decodes initializers (it cannot decode int8 ones);
// their bytes come from models/onnxpb instead.
type graphBuilder struct {
	nodes map[int64]*valueNode
	order []*valueNode
	edges map[int64][]inEdge // from output value id: its inputs, in call order
	ops   []decodedOp
	next  int64
}

type valueNode struct {
	id   int64
	name string
}

func (n *valueNode) ID() int64        { return n.id }
func (n *valueNode) SetName(s string) { n.name = s }
func (n *valueNode) GetName() string  { return n.name }
func (n *valueNode) String() string   { return n.name }

type inEdge struct {
	from, to *valueNode
	w        float64
}

func (e inEdge) From() graph.Node         { return e.from }
func (e inEdge) To() graph.Node           { return e.to }
func (e inEdge) ReversedEdge() graph.Edge { return inEdge{from: e.to, to: e.from, w: e.w} }
func (e inEdge) Weight() float64          { return e.w }

var (
	_ onnx.Backend = (*graphBuilder)(nil)
	_ onnx.Namer   = (*valueNode)(nil)
)

func newGraphBuilder() *graphBuilder {
	return &graphBuilder{nodes: map[int64]*valueNode{}, edges: map[int64][]inEdge{}}
}

func (g *graphBuilder) NewNode() graph.Node {
	n := &valueNode{id: g.next}
	g.next++
	return n
}

func (g *graphBuilder) AddNode(n graph.Node) {
	vn, ok := n.(*valueNode)
	if !ok {
		panic(fmt.Sprintf("engine: foreign graph node %T", n))
	}
	if _, dup := g.nodes[vn.id]; dup {
		panic(fmt.Sprintf("engine: duplicate graph node id %d", vn.id))
	}
	g.nodes[vn.id] = vn
	g.order = append(g.order, vn)
}

func (g *graphBuilder) NewWeightedEdge(from, to graph.Node, w float64) graph.WeightedEdge {
	return inEdge{from: from.(*valueNode), to: to.(*valueNode), w: w}
}

// SetWeightedEdge records every edge, even a repeated pair (an operator may
// read the same value twice, e.g. Add(x, x)), so it keeps a list rather
// than a simple graph's single edge per pair.
func (g *graphBuilder) SetWeightedEdge(e graph.WeightedEdge) {
	ie := e.(inEdge)
	g.edges[ie.from.id] = append(g.edges[ie.from.id], ie)
}

func (g *graphBuilder) ApplyOperation(op onnx.Operation, outs ...graph.Node) error {
	d := decodedOp{opType: op.Name, attrs: op.Attributes}
	for _, o := range outs {
		d.outputs = append(d.outputs, o.(*valueNode).name)
	}
	if len(outs) > 0 {
		// onnx-go adds the input edges once per output; take the first
		// output's, ordered by their weight (the input position).
		es := append([]inEdge(nil), g.edges[outs[0].ID()]...)
		sort.SliceStable(es, func(i, j int) bool { return es[i].w < es[j].w })
		for i, e := range es {
			if e.w != float64(i) {
				return fmt.Errorf("engine: node producing %q: input edges are not positions 0..%d", d.outputs[0], len(es)-1)
			}
			d.inputs = append(d.inputs, e.to.name)
		}
		// The edges of this node are consumed; a later node can never add
		// edges from the same output value (ONNX values have one producer).
		delete(g.edges, outs[0].ID())
	}
	g.ops = append(g.ops, d)
	return nil
}

// The read side of graph.Directed; the decoder only builds, but the
// interface requires it.

func (g *graphBuilder) Node(id int64) graph.Node {
	if n, ok := g.nodes[id]; ok {
		return n
	}
	return nil
}

func (g *graphBuilder) Nodes() graph.Nodes {
	ns := make([]graph.Node, len(g.order))
	for i, n := range g.order {
		ns[i] = n
	}
	return iterator.NewOrderedNodes(ns)
}

func (g *graphBuilder) From(id int64) graph.Nodes {
	var ns []graph.Node
	for _, e := range g.edges[id] {
		ns = append(ns, e.to)
	}
	return iterator.NewOrderedNodes(ns)
}

func (g *graphBuilder) To(id int64) graph.Nodes {
	var ns []graph.Node
	for _, es := range g.edges {
		for _, e := range es {
			if e.to.id == id {
				ns = append(ns, e.from)
			}
		}
	}
	return iterator.NewOrderedNodes(ns)
}

func (g *graphBuilder) HasEdgeBetween(x, y int64) bool {
	return g.HasEdgeFromTo(x, y) || g.HasEdgeFromTo(y, x)
}

func (g *graphBuilder) HasEdgeFromTo(u, v int64) bool { return g.Edge(u, v) != nil }

func (g *graphBuilder) Edge(u, v int64) graph.Edge {
	for _, e := range g.edges[u] {
		if e.to.id == v {
			return e
		}
	}
	return nil
}

// decodeOps runs onnx-go's decoder over the file and returns its nodes
// (native builds; the js/wasm build reads the same list from onnxpb, see
// graph_js.go).
// onnx-go is not hardened against hostile input, so a panic inside it is
// turned into an error.
func decodeOps(b []byte) (ops []decodedOp, err error) {
	defer func() {
		if r := recover(); r != nil {
			ops, err = nil, fmt.Errorf("engine: onnx-go decoder failed: %v", r)
		}
	}()
	g := newGraphBuilder()
	m := onnx.NewModel(g)
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("engine: onnx-go: %w", err)
	}
	return g.ops, nil
}
