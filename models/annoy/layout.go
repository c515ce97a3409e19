package annoy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// NodeSize returns the size in bytes of one node of an angular float32
// index over dim-dimensional vectors: 12 + 4·dim.
func NodeSize(dim int) int { return 12 + 4*dim }

// maxChildren is Annoy's K: how many item indices fit in a leaf bucket.
func maxChildren(dim int) int { return (NodeSize(dim) - 4) / 4 }

// ErrFormat is wrapped by every error Load returns for bytes that are not a
// valid angular Annoy index of the requested dimension.
var ErrFormat = errors.New("annoy: not a valid angular index")

// Index is a loaded angular float32 Annoy index. It reads the node array in
// place (no copy when the bytes are 4-byte aligned on a little-endian
// machine) and never changes it.
type Index struct {
	dim      int
	stride   int // words per node: 3 + dim
	k        int // max item indices in a leaf bucket
	nNodes   int
	nItems   int
	roots    []int32
	words    []uint32  // the node array as 32-bit words, from node `first`
	floats   []float32 // the same memory as float32
	hasItems int       // number of item slots with n_descendants == 1
	// first is the id of the first node held: 0, or NumItems for an index
	// loaded without its item nodes (LoadSplits); off is first·stride.
	first, off int
}

// Load checks data as an angular float32 Annoy index over dim-dimensional
// vectors and returns an Index that reads it in place. Callers must not
// change data afterwards. Every node is checked (child indices in range,
// bucket sizes, roots), so a search over a loaded index cannot go out of
// bounds or loop forever, whatever the bytes were.
func Load(data []byte, dim int) (*Index, error) {
	if dim <= 0 || dim > 1<<20 {
		return nil, fmt.Errorf("%w: dimension %d out of range", ErrFormat, dim)
	}
	ns := NodeSize(dim)
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: file is empty", ErrFormat)
	}
	if len(data)%ns != 0 {
		return nil, fmt.Errorf("%w: size %d is not a multiple of the node size %d for dimension %d; "+
			"was the index built with this dimension and the angular metric?", ErrFormat, len(data), ns, dim)
	}
	return readNodes(data, dim, 0)
}

// readNodes reads the node array data, whose first node has id first (0, or the
// item count when the item nodes were left out), and checks every node.
func readNodes(data []byte, dim, first int) (*Index, error) {
	n := first + len(data)/NodeSize(dim)
	if int64(n) > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d nodes is more than Annoy's int32 node ids allow", ErrFormat, n)
	}
	ix := &Index{dim: dim, stride: 3 + dim, k: maxChildren(dim), nNodes: n, first: first, off: first * (3 + dim)}
	ix.words = wordsOf(data)
	ix.floats = floatsOf(ix.words)
	if err := ix.findRoots(); err != nil {
		return nil, err
	}
	if first > 0 && ix.nItems != first {
		return nil, fmt.Errorf("%w: the roots cover %d items, the catalogue has %d", ErrFormat, ix.nItems, first)
	}
	if err := ix.validate(); err != nil {
		return nil, err
	}
	return ix, nil
}

// wordsOf returns data as little-endian 32-bit words, sharing the memory
// when it is aligned and the machine is little-endian (amd64, arm64, wasm).
func wordsOf(data []byte) []uint32 {
	p := unsafe.Pointer(unsafe.SliceData(data))
	if littleEndian && uintptr(p)%4 == 0 {
		return unsafe.Slice((*uint32)(p), len(data)/4)
	}
	w := make([]uint32, len(data)/4)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(data[4*i:])
	}
	return w
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// nDesc is node i's n_descendants; an item node that was not loaded
// (LoadSplits) counts as present.
func (ix *Index) nDesc(i int) int32 {
	if i < ix.first {
		return 1
	}
	return int32(ix.words[i*ix.stride-ix.off])
}
func (ix *Index) child(i, j int) int32 { return int32(ix.words[i*ix.stride-ix.off+1+j]) }
func (ix *Index) vec(i int) []float32 {
	b := i*ix.stride - ix.off + 3
	return ix.floats[b : b+ix.dim : b+ix.dim]
}

// SplitsOnly reports whether the index was loaded without its item nodes
// (LoadSplits): searches then need Options.Rerank, and Item returns nil.
func (ix *Index) SplitsOnly() bool { return ix.first > 0 }

// ItemsSize is the size in bytes of the item nodes at the start of an
// index file over items vectors of dimension dim: where the split nodes
// begin.
func ItemsSize(items, dim int) int64 { return int64(items) * int64(NodeSize(dim)) }

// LoadSplits is Load for the tail of an index file: the bytes from
// ItemsSize(items, dim) on, i.e. the split and bucket nodes and the roots,
// without the item nodes (12 + 4·dim bytes per item, most of the file).
// The tree search still works; candidates are scored with
// Options.Rerank (for example an int8 vector file), which is required.
// The browser loads an index this way to save the download and the memory
// of a second copy of every vector. All items are taken to be present.
func LoadSplits(data []byte, items, dim int) (*Index, error) {
	if dim <= 0 || dim > 1<<20 {
		return nil, fmt.Errorf("%w: dimension %d out of range", ErrFormat, dim)
	}
	if items <= 0 || int64(items) > math.MaxInt32 {
		return nil, fmt.Errorf("%w: item count %d out of range", ErrFormat, items)
	}
	ns := NodeSize(dim)
	if len(data) == 0 || len(data)%ns != 0 {
		return nil, fmt.Errorf("%w: split nodes take %d bytes, not a positive multiple of the node size %d for dimension %d", ErrFormat, len(data), ns, dim)
	}
	return readNodes(data, dim, items)
}

// findRoots follows Annoy's loader: the roots are the run of nodes at the
// end of the array sharing the last node's n_descendants, which is the item
// count; when there is more than one, the first of the run is the original
// root that precedes the copies and is dropped.
func (ix *Index) findRoots() error {
	m := ix.nDesc(ix.nNodes - 1)
	if m < 1 || int(m) > ix.nNodes {
		return fmt.Errorf("%w: last node claims %d items for %d nodes", ErrFormat, m, ix.nNodes)
	}
	var roots []int32
	for i := ix.nNodes - 1; i >= ix.first && ix.nDesc(i) == m; i-- {
		roots = append(roots, int32(i))
	}
	if len(roots) > 1 && ix.child(int(roots[0]), 0) == ix.child(int(roots[len(roots)-1]), 0) {
		roots = roots[:len(roots)-1]
	}
	ix.nItems = int(m)
	ix.roots = roots
	return nil
}

// validate checks every node so that searches need no bounds checks beyond
// Go's own and terminate.
func (ix *Index) validate() error {
	ix.hasItems = ix.first
	for i := ix.first; i < ix.nNodes; i++ {
		d := ix.nDesc(i)
		switch {
		case i < ix.nItems && d == 0:
			// An item slot that was never added: Annoy allows gaps.
		case i < ix.nItems && d == 1:
			ix.hasItems++
		case d < 1:
			return fmt.Errorf("%w: node %d has n_descendants %d", ErrFormat, i, d)
		case int(d) <= ix.k:
			// Leaf bucket (or the dummy root over a single item): item ids.
			for j := 0; j < int(d); j++ {
				if c := ix.child(i, j); c < 0 || int(c) >= ix.nItems {
					return fmt.Errorf("%w: bucket node %d lists item %d, outside 0..%d", ErrFormat, i, c, ix.nItems-1)
				}
			}
		default:
			for j := 0; j < 2; j++ {
				if c := ix.child(i, j); c < 0 || int(c) >= ix.nNodes {
					return fmt.Errorf("%w: split node %d has child %d, outside 0..%d", ErrFormat, i, c, ix.nNodes-1)
				}
			}
		}
	}
	return nil
}

// Dim returns the vector dimension.
func (ix *Index) Dim() int { return ix.dim }

// NumItems returns the number of item slots (the largest item id + 1).
func (ix *Index) NumItems() int { return ix.nItems }

// NumNodes returns the number of nodes in the file.
func (ix *Index) NumNodes() int { return ix.nNodes }

// NumTrees returns the number of trees (roots).
func (ix *Index) NumTrees() int { return len(ix.roots) }

// HasItem reports whether item slot i holds a vector.
func (ix *Index) HasItem(i int) bool {
	return i >= 0 && i < ix.nItems && ix.nDesc(i) == 1
}

// Item returns the stored vector of item i (a view into the index's memory:
// do not modify it), or nil when the slot is empty or out of range, or the
// index was loaded without its item nodes.
func (ix *Index) Item(i int) []float32 {
	if !ix.HasItem(i) || i < ix.first {
		return nil
	}
	return ix.vec(i)
}

// floatsOf views 32-bit words as float32 (same memory).
func floatsOf(w []uint32) []float32 {
	if len(w) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(w))), len(w))
}
