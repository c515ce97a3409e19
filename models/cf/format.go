package cf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/lookalike/lookalike/internal/half"
)

// The neighbours asset ("neighbors-cf-<hash>.bin"), little-endian:
//
//	offset 0  [4]byte  magic "LKCF"
//	offset 4  uint16   version (1)
//	offset 6  uint16   record size in bytes (6)
//	offset 8  uint32   item count N (catalogue order)
//	offset 12 uint32   K, records per item
//	offset 16 N×K records {uint32 neighbour catalogue index, uint16 float16 score}
//
// Item c's records start at 16 + c·K·6, best first. Unused slots hold index
// 0xFFFFFFFF and score 0 and only follow used ones. Fixed-size records let
// the browser find an item's row without parsing the rest.
const (
	Magic         = "LKCF"
	FormatVersion = 1
	HeaderSize    = 16
	RecordSize    = 6
	EmptySlot     = 0xFFFFFFFF
	MaxK          = 4096
	MaxAssetItems = 1 << 26
)

// ErrFormat is wrapped by every error about a malformed neighbours asset.
var ErrFormat = errors.New("cf: not a valid CF neighbours asset")

// Header is the fixed start of a neighbours asset.
type Header struct {
	Version uint16
	Items   uint32
	K       uint32
}

// DataSize is the number of record bytes after the header.
func (h Header) DataSize() int64 { return int64(h.Items) * int64(h.K) * RecordSize }

// ReadHeader reads and checks only the 16-byte header, so a caller can size
// buffers (or refuse) before reading untrusted data.
func ReadHeader(r io.Reader) (Header, error) {
	var b [HeaderSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Header{}, fmt.Errorf("%w: reading header: %v", ErrFormat, err)
	}
	return parseHeader(b[:])
}

func parseHeader(b []byte) (Header, error) {
	if string(b[:4]) != Magic {
		return Header{}, fmt.Errorf("%w: magic %q, want %q (is this file from `builder build --interactions`?)", ErrFormat, b[:4], Magic)
	}
	h := Header{
		Version: binary.LittleEndian.Uint16(b[4:]),
		Items:   binary.LittleEndian.Uint32(b[8:]),
		K:       binary.LittleEndian.Uint32(b[12:]),
	}
	if h.Version != FormatVersion {
		return Header{}, fmt.Errorf("%w: version %d, this reader knows %d (rebuild the assets)", ErrFormat, h.Version, FormatVersion)
	}
	if rs := binary.LittleEndian.Uint16(b[6:]); rs != RecordSize {
		return Header{}, fmt.Errorf("%w: record size %d, want %d", ErrFormat, rs, RecordSize)
	}
	if h.K == 0 || h.K > MaxK {
		return Header{}, fmt.Errorf("%w: K = %d, want 1..%d", ErrFormat, h.K, MaxK)
	}
	if h.Items > MaxAssetItems {
		return Header{}, fmt.Errorf("%w: %d items, more than %d", ErrFormat, h.Items, MaxAssetItems)
	}
	return h, nil
}

// WriteNeighbors writes rows (indexed by catalogue item; neighbour items are
// catalogue indices < len(rows)) as an asset with k slots per item. Rows
// longer than k are cut; scores are stored as float16.
func WriteNeighbors(w io.Writer, rows [][]Neighbor, k int) error {
	if k <= 0 || k > MaxK {
		return fmt.Errorf("cf: WriteNeighbors: k = %d, want 1..%d", k, MaxK)
	}
	if len(rows) > MaxAssetItems {
		return fmt.Errorf("cf: WriteNeighbors: %d items, more than %d", len(rows), MaxAssetItems)
	}
	var hb [HeaderSize]byte
	copy(hb[:], Magic)
	binary.LittleEndian.PutUint16(hb[4:], FormatVersion)
	binary.LittleEndian.PutUint16(hb[6:], RecordSize)
	binary.LittleEndian.PutUint32(hb[8:], uint32(len(rows)))
	binary.LittleEndian.PutUint32(hb[12:], uint32(k))
	if _, err := w.Write(hb[:]); err != nil {
		return fmt.Errorf("cf: writing neighbours header: %w", err)
	}
	buf := make([]byte, k*RecordSize)
	for c, row := range rows {
		for s := 0; s < k; s++ {
			rec := buf[s*RecordSize:]
			if s < len(row) {
				nb := row[s]
				if nb.Item < 0 || int(nb.Item) >= len(rows) {
					return fmt.Errorf("cf: WriteNeighbors: item %d neighbour %d out of range 0..%d", c, nb.Item, len(rows)-1)
				}
				h := half.From32(nb.Score)
				if h&0x7c00 == 0x7c00 {
					return fmt.Errorf("cf: WriteNeighbors: item %d score %g does not fit a float16", c, nb.Score)
				}
				binary.LittleEndian.PutUint32(rec, uint32(nb.Item))
				binary.LittleEndian.PutUint16(rec[4:], h)
			} else {
				binary.LittleEndian.PutUint32(rec, EmptySlot)
				binary.LittleEndian.PutUint16(rec[4:], 0)
			}
		}
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("cf: writing neighbours of item %d: %w", c, err)
		}
	}
	return nil
}

// EncodeNeighbors is WriteNeighbors into a byte slice.
func EncodeNeighbors(rows [][]Neighbor, k int) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(HeaderSize + len(rows)*k*RecordSize)
	if err := WriteNeighbors(&b, rows, k); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// DecodeNeighbors parses a whole asset, checking the header, the exact
// length, every index (< item count, empty slots only at the end of a row)
// and every score (finite). ParseTable does the same checks without
// copying the rows out.
func DecodeNeighbors(data []byte) ([][]Neighbor, Header, error) {
	t, err := ParseTable(data)
	if err != nil {
		var h Header
		if t != nil {
			h = t.h
		}
		return nil, h, err
	}
	rows := make([][]Neighbor, t.Len())
	for c := range rows {
		rows[c] = t.Row(c, nil)
	}
	return rows, t.h, nil
}
