package vecfile

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"unsafe"

	"github.com/lookalike/lookalike/internal/vec"
)

// A vector file too big for memory — at a million products it is 273 MB,
// more than the page's whole memory budget — can still re-score a
// shortlist when it is kept on disk: the page streams it, part by part,
// into the browser's origin-private file system and reads the shortlist's
// records back from there (no request leaves the device, so nothing about
// the photo does); native tools read the file itself. Stored scores a
// record read that way to exactly the float Vectors.Score gives it in
// memory.

// RecordReader reads records of a vector file kept out of memory.
type RecordReader interface {
	// ReadRecords fills dst (len(items)·size bytes) with the records of
	// items, in that order; the record of item i starts at byte
	// HeaderSize + i·size of the file.
	ReadRecords(items []int, size int, dst []byte) error
}

// Stored is a vector file read through a RecordReader.
type Stored struct {
	h VectorsHeader
	r RecordReader
}

// OpenStored checks a vector file's header (its first HeaderSize bytes;
// more are ignored) and returns a scorer reading its records through r.
func OpenStored(header []byte, r RecordReader) (*Stored, error) {
	if r == nil {
		return nil, errors.New("vecfile: no record reader")
	}
	h, err := parseVectorsHeader(header)
	if err != nil {
		return nil, err
	}
	return &Stored{h: h, r: r}, nil
}

// Header returns the file header.
func (s *Stored) Header() VectorsHeader { return s.h }

// Len returns the number of vectors.
func (s *Stored) Len() int { return s.h.Count }

// Scores sets out[j] to the cosine similarity of q (unit length) with
// vector items[j] (Vectors.Score's float). buf is scratch space, grown when
// short and returned for the next call. Items out of range are an error.
func (s *Stored) Scores(q []float32, items []int, out []float32, buf []byte) ([]float32, []byte, error) {
	dim, rs := s.h.Dim, s.h.RecordSize()
	if len(q) < dim {
		return out, buf, fmt.Errorf("vecfile: query of dimension %d, vectors of %d", len(q), dim)
	}
	for _, i := range items {
		if i < 0 || i >= s.h.Count {
			return out, buf, fmt.Errorf("vecfile: item %d out of range 0..%d", i, s.h.Count-1)
		}
	}
	need := len(items) * rs
	if cap(buf) < need {
		buf = make([]byte, need)
	}
	buf = buf[:need]
	if err := s.r.ReadRecords(items, rs, buf); err != nil {
		return out, buf, fmt.Errorf("vecfile: read %d stored vectors: %w", len(items), err)
	}
	out = append(out[:0], make([]float32, len(items))...)
	q = q[:dim]
	var y []float32 // a Float32 record, decoded
	for j := range items {
		rec := buf[j*rs : (j+1)*rs]
		if s.h.Encoding == Float32 {
			y = decodeRecord(s.h, rec, y)
			out[j] = vec.Dot(q, y) * invNormFloat32(y)
			continue
		}
		c := unsafe.Slice((*int8)(unsafe.Pointer(&rec[4])), dim)
		out[j] = dotInt8(q, c) * invNormInt8(c)
	}
	return out, buf, nil
}

// ReaderAtRecords reads records from an io.ReaderAt holding the whole
// vector file (an *os.File), in file order, so a disk reads forwards.
type ReaderAtRecords struct{ R io.ReaderAt }

// ReadRecords implements RecordReader.
func (r ReaderAtRecords) ReadRecords(items []int, size int, dst []byte) error {
	order := make([]int, len(items))
	for j := range order {
		order[j] = j
	}
	sort.Slice(order, func(a, b int) bool { return items[order[a]] < items[order[b]] })
	for _, j := range order {
		off := int64(HeaderSize) + int64(items[j])*int64(size)
		if _, err := r.R.ReadAt(dst[j*size:(j+1)*size], off); err != nil {
			return fmt.Errorf("record %d at byte %d: %w", items[j], off, err)
		}
	}
	return nil
}

// Vector reads and decodes vector i into dst (Vectors.Vector's values).
func (s *Stored) Vector(i int, dst []float32) ([]float32, error) {
	if i < 0 || i >= s.h.Count {
		return dst, fmt.Errorf("vecfile: item %d out of range 0..%d", i, s.h.Count-1)
	}
	rec := make([]byte, s.h.RecordSize())
	if err := s.r.ReadRecords([]int{i}, len(rec), rec); err != nil {
		return dst, fmt.Errorf("vecfile: read stored vector %d: %w", i, err)
	}
	return decodeRecord(s.h, rec, dst), nil
}
