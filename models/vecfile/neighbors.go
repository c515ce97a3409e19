package vecfile

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// NoItem marks an empty slot in a neighbour list shorter than K.
const NoItem = math.MaxUint32

// DefaultK is the neighbour list length the builder uses by default.
const DefaultK = 24

// NeighborEntrySize is one (uint32 item, uint16 score) pair in bytes.
const NeighborEntrySize = 6

// MaxK bounds a neighbours file's list length K.
const MaxK = 4096

// Neighbor is one precomputed neighbour and its cosine similarity.
type Neighbor struct {
	Item  uint32
	Score float32
}

// NeighborLists are the per-item lists to write. Section[i] holds item i's
// nearest items within its own section, best first; Global[i], if Global is
// not nil, its nearest items overall. Lists longer than K are cut, shorter
// ones padded with NoItem.
type NeighborLists struct {
	K       int
	Section [][]Neighbor
	Global  [][]Neighbor
}

// NeighborsHeader describes a neighbour file.
//
// Layout (32 bytes): magic "LKNB", uint16 version, uint16 score encoding
// (1 = uint16 over [-1, 1]), uint32 count, uint32 K, uint32 lists per item
// (1 = section, 2 = section then global), 12 zero bytes. Each record is
// lists·K entries of (uint32 item, uint16 score), 6 bytes each.
type NeighborsHeader struct {
	Version uint16
	Count   int
	K       int
	Lists   int
}

// RecordSize returns the bytes per item.
func (h NeighborsHeader) RecordSize() int { return h.Lists * h.K * NeighborEntrySize }

// FileSize returns the expected total file size.
func (h NeighborsHeader) FileSize() int64 {
	return HeaderSize + int64(h.Count)*int64(h.RecordSize())
}

// ScoreUint16 is the score encoding this package writes: a cosine s in
// [-1, 1] stored as round((s+1)/2·65535) (QuantizeScore, DequantizeScore).
const ScoreUint16 = 1

// QuantizeScore maps a cosine in [-1, 1] to uint16 (clamped).
func QuantizeScore(s float32) uint16 {
	if s != s {
		return 0
	}
	x := (float64(s) + 1) / 2 * 65535
	return uint16(math.Round(max(0, min(65535, x))))
}

// DequantizeScore inverts QuantizeScore (error ≤ 1.6e-5).
func DequantizeScore(q uint16) float32 { return float32(float64(q)/65535*2 - 1) }

// ReadNeighborsHeader reads and checks only the header.
func ReadNeighborsHeader(r io.Reader) (NeighborsHeader, error) {
	var b [HeaderSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return NeighborsHeader{}, fmt.Errorf("%w: neighbours header: %v", ErrFormat, err)
	}
	return parseNeighborsHeader(b[:])
}

func parseNeighborsHeader(b []byte) (NeighborsHeader, error) {
	if len(b) < HeaderSize {
		return NeighborsHeader{}, fmt.Errorf("%w: neighbours file is %d bytes, shorter than its %d-byte header", ErrFormat, len(b), HeaderSize)
	}
	if [4]byte(b[:4]) != neighborsMagic {
		return NeighborsHeader{}, fmt.Errorf("%w: not a neighbours file (magic %q, want %q)", ErrFormat, b[:4], neighborsMagic[:])
	}
	h := NeighborsHeader{
		Version: binary.LittleEndian.Uint16(b[4:]),
		Count:   int(binary.LittleEndian.Uint32(b[8:])),
		K:       int(binary.LittleEndian.Uint32(b[12:])),
		Lists:   int(binary.LittleEndian.Uint32(b[16:])),
	}
	if h.Version != NeighborsVersion {
		return h, fmt.Errorf("%w: neighbours format version %d, this reader knows %d; rebuild the assets with a matching builder", ErrFormat, h.Version, NeighborsVersion)
	}
	if enc := binary.LittleEndian.Uint16(b[6:]); enc != ScoreUint16 {
		return h, fmt.Errorf("%w: unknown neighbour score encoding %d", ErrFormat, enc)
	}
	if h.K <= 0 || h.K > MaxK {
		return h, fmt.Errorf("%w: neighbour list length K=%d out of range 1..%d", ErrFormat, h.K, MaxK)
	}
	if h.Lists != 1 && h.Lists != 2 {
		return h, fmt.Errorf("%w: %d lists per item, want 1 (section) or 2 (section, global)", ErrFormat, h.Lists)
	}
	return h, nil
}

// WriteNeighbors writes nl. Every item index must be < len(nl.Section).
func WriteNeighbors(w io.Writer, nl NeighborLists) error {
	n := len(nl.Section)
	if nl.K <= 0 || nl.K > MaxK {
		return fmt.Errorf("vecfile: write neighbours: K=%d out of range 1..%d", nl.K, MaxK)
	}
	if n > math.MaxUint32-1 {
		return fmt.Errorf("vecfile: write neighbours: %d items is too many", n)
	}
	lists := 1
	if nl.Global != nil {
		lists = 2
		if len(nl.Global) != n {
			return fmt.Errorf("vecfile: write neighbours: %d global lists for %d items", len(nl.Global), n)
		}
	}
	bw := bufio.NewWriter(w)
	var h [HeaderSize]byte
	copy(h[:], neighborsMagic[:])
	binary.LittleEndian.PutUint16(h[4:], NeighborsVersion)
	binary.LittleEndian.PutUint16(h[6:], ScoreUint16)
	binary.LittleEndian.PutUint32(h[8:], uint32(n))
	binary.LittleEndian.PutUint32(h[12:], uint32(nl.K))
	binary.LittleEndian.PutUint32(h[16:], uint32(lists))
	bw.Write(h[:])
	rec := make([]byte, nl.K*NeighborEntrySize)
	put := func(i int, list []Neighbor) error {
		for j := 0; j < nl.K; j++ {
			e := rec[j*NeighborEntrySize:]
			if j < len(list) {
				if int64(list[j].Item) >= int64(n) {
					return fmt.Errorf("vecfile: write neighbours: item %d lists neighbour %d, outside 0..%d", i, list[j].Item, n-1)
				}
				binary.LittleEndian.PutUint32(e, list[j].Item)
				binary.LittleEndian.PutUint16(e[4:], QuantizeScore(list[j].Score))
			} else {
				binary.LittleEndian.PutUint32(e, NoItem)
				binary.LittleEndian.PutUint16(e[4:], 0)
			}
		}
		_, err := bw.Write(rec)
		return err
	}
	for i := 0; i < n; i++ {
		if err := put(i, nl.Section[i]); err != nil {
			return err
		}
		if lists == 2 {
			if err := put(i, nl.Global[i]); err != nil {
				return err
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("vecfile: write neighbours: %w", err)
	}
	return nil
}

// Neighbors is a parsed neighbour file.
type Neighbors struct {
	h    NeighborsHeader
	data []byte
}

// ParseNeighbors checks data (header, size, every item index < Count or
// NoItem) and returns a reader over it. data must not change afterwards.
func ParseNeighbors(data []byte) (*Neighbors, error) {
	h, err := parseNeighborsHeader(data)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != h.FileSize() {
		return nil, fmt.Errorf("%w: neighbours file is %d bytes, header says %d (%d × %d-byte records)", ErrFormat, len(data), h.FileSize(), h.Count, h.RecordSize())
	}
	recs := data[HeaderSize:]
	for off := 0; off < len(recs); off += NeighborEntrySize {
		if it := binary.LittleEndian.Uint32(recs[off:]); it != NoItem && int64(it) >= int64(h.Count) {
			return nil, fmt.Errorf("%w: neighbour entry %d names item %d of %d", ErrFormat, off/NeighborEntrySize, it, h.Count)
		}
	}
	return &Neighbors{h: h, data: recs}, nil
}

// Header returns the file header.
func (nb *Neighbors) Header() NeighborsHeader { return nb.h }

// Len returns the number of items.
func (nb *Neighbors) Len() int { return nb.h.Count }

// HasGlobal reports whether the file holds global lists.
func (nb *Neighbors) HasGlobal() bool { return nb.h.Lists == 2 }

// Section returns item i's section-restricted neighbours, best first.
func (nb *Neighbors) Section(i int) []Neighbor { return nb.list(i, 0) }

// Global returns item i's global neighbours, or nil without global lists.
func (nb *Neighbors) Global(i int) []Neighbor {
	if nb.h.Lists < 2 {
		return nil
	}
	return nb.list(i, 1)
}

func (nb *Neighbors) list(i, which int) []Neighbor {
	if i < 0 || i >= nb.h.Count {
		return nil
	}
	off := i*nb.h.RecordSize() + which*nb.h.K*NeighborEntrySize
	out := make([]Neighbor, 0, nb.h.K)
	for j := 0; j < nb.h.K; j++ {
		e := nb.data[off+j*NeighborEntrySize:]
		it := binary.LittleEndian.Uint32(e)
		if it == NoItem {
			break
		}
		out = append(out, Neighbor{Item: it, Score: DequantizeScore(binary.LittleEndian.Uint16(e[4:]))})
	}
	return out
}
