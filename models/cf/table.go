package cf

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/lookalike/lookalike/internal/half"
)

// Table is a checked neighbours asset kept in its encoded form: a row is
// decoded when asked for, so a loaded asset costs its 6 bytes per slot and
// nothing more (the browser's Go memory never shrinks). Safe for
// concurrent use; the caller must not modify the bytes it was parsed from.
type Table struct {
	h    Header
	data []byte // records only
}

// ParseTable checks a whole asset — header, exact length, every index
// (< item count, empty slots only at the end of a row) and every score
// (finite) — and returns it as a Table sharing data's memory. On an error
// about one record the returned Table is non-nil and carries the parsed
// header (for error reports); its rows must not be read.
func ParseTable(data []byte) (*Table, error) {
	if len(data) < HeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrFormat, len(data), HeaderSize)
	}
	h, err := parseHeader(data)
	if err != nil {
		return nil, err
	}
	t := &Table{h: h}
	if want := HeaderSize + h.DataSize(); int64(len(data)) != want {
		return nil, fmt.Errorf("%w: %d bytes, header says %d items × %d × %d + %d = %d", ErrFormat, len(data), h.Items, h.K, RecordSize, HeaderSize, want)
	}
	p := data[HeaderSize:]
	for c := uint32(0); c < h.Items; c++ {
		ended := false
		for s := uint32(0); s < h.K; s++ {
			idx := binary.LittleEndian.Uint32(p)
			score := binary.LittleEndian.Uint16(p[4:])
			p = p[RecordSize:]
			if idx == EmptySlot {
				if score != 0 {
					return t, fmt.Errorf("%w: item %d slot %d: empty slot with score bits %#04x", ErrFormat, c, s, score)
				}
				ended = true
				continue
			}
			if ended {
				return t, fmt.Errorf("%w: item %d slot %d: neighbour after an empty slot", ErrFormat, c, s)
			}
			if idx >= h.Items {
				return t, fmt.Errorf("%w: item %d slot %d: neighbour %d ≥ item count %d", ErrFormat, c, s, idx, h.Items)
			}
			if f := float64(half.To32(score)); math.IsNaN(f) || math.IsInf(f, 0) {
				return t, fmt.Errorf("%w: item %d slot %d: score is not finite", ErrFormat, c, s)
			}
		}
	}
	t.data = data[HeaderSize:]
	return t, nil
}

// NewTable encodes rows (as WriteNeighbors, k slots per item) and parses
// the result: the Table an asset built from these rows would load as.
func NewTable(rows [][]Neighbor, k int) (*Table, error) {
	b, err := EncodeNeighbors(rows, k)
	if err != nil {
		return nil, err
	}
	return ParseTable(b)
}

// Header returns the asset header.
func (t *Table) Header() Header { return t.h }

// Len returns the number of items (catalogue order).
func (t *Table) Len() int { return int(t.h.Items) }

// Row appends item c's neighbours, best first, to dst[:0] and returns it
// (empty for a cold item or c out of range).
func (t *Table) Row(c int, dst []Neighbor) []Neighbor {
	dst = dst[:0]
	if c < 0 || c >= t.Len() {
		return dst
	}
	k := int(t.h.K)
	p := t.data[c*k*RecordSize : (c+1)*k*RecordSize]
	for s := 0; s < k; s++ {
		rec := p[s*RecordSize:]
		idx := binary.LittleEndian.Uint32(rec)
		if idx == EmptySlot {
			break
		}
		dst = append(dst, Neighbor{int32(idx), half.To32(binary.LittleEndian.Uint16(rec[4:]))})
	}
	return dst
}

// Affinity is Model.Recommend's sum over a table, for re-ranking:
// score(j) = Σ_h weight(h) · sim(h→j) over the history's stored
// neighbours, history items included (a blend may show them again). It
// returns the scores and their maximum (0 when no history item has a
// neighbour). History items out of range or with weight ≤ 0 are skipped.
func (t *Table) Affinity(history []ItemWeight) (map[int32]float32, float32) {
	acc := make(map[int32]float32, len(history)*int(t.h.K))
	var row []Neighbor
	for _, h := range history {
		if h.Weight <= 0 || h.Item < 0 || int(h.Item) >= t.Len() {
			continue
		}
		row = t.Row(int(h.Item), row)
		for _, nb := range row {
			acc[nb.Item] += float32(h.Weight) * nb.Score
		}
	}
	var best float32
	for _, s := range acc {
		best = max(best, s)
	}
	return acc, best
}
