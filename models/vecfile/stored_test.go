package vecfile

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A vector file read record by record through a RecordReader scores every
// item to exactly the float the parsed file gives it in memory, in both
// encodings; items in any order, repeated, or out of range.
func TestStoredScoresAsInMemory(t *testing.T) {
	const n, dim = 300, 37 // a dimension that is not a multiple of the four lanes
	vecs := unitVectors(n, dim, 5)
	vecs[3*dim+1] = 0 // and a vector with a zero component
	for _, enc := range []Encoding{Int8, Float32} {
		file := encode(t, enc, dim, vecs)
		mem, err := ParseVectors(file)
		if err != nil {
			t.Fatal(err)
		}
		st, err := OpenStored(file[:HeaderSize], ReaderAtRecords{R: bytes.NewReader(file)})
		if err != nil {
			t.Fatal(err)
		}
		if st.Len() != n || st.Header() != mem.Header() {
			t.Fatalf("%v: header %+v, in memory %+v", enc, st.Header(), mem.Header())
		}
		items := []int{n - 1, 0, 17, 17, 3, 150}
		var out []float32
		var buf []byte
		for q := 0; q < 10; q++ {
			v := vecs[q*dim : (q+1)*dim]
			if out, buf, err = st.Scores(v, items, out, buf); err != nil {
				t.Fatal(err)
			}
			for j, i := range items {
				if want := mem.Score(v, i); out[j] != want {
					t.Fatalf("%v: query %d item %d: stored %v, in memory %v", enc, q, i, out[j], want)
				}
			}
		}
		for _, i := range items {
			got, err := st.Vector(i, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := mem.Vector(i, nil)
			for j := range want {
				if got[j] != want[j] {
					t.Fatalf("%v: vector %d[%d]: stored %v, in memory %v", enc, i, j, got[j], want[j])
				}
			}
		}
		if _, err := st.Vector(n, nil); err == nil {
			t.Fatalf("%v: vector %d of %d was read", enc, n, n)
		}
		if _, _, err := st.Scores(vecs[:dim], []int{n}, nil, nil); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Fatalf("%v: item %d of %d: err %v, want out of range", enc, n, n, err)
		}
		if _, _, err := st.Scores(vecs[:dim-1], []int{0}, nil, nil); err == nil {
			t.Fatalf("%v: a short query was scored", enc)
		}
		// A file cut short: the reader's error, naming the record.
		cut, _ := OpenStored(file[:HeaderSize], ReaderAtRecords{R: bytes.NewReader(file[:len(file)-10])})
		if _, _, err := cut.Scores(vecs[:dim], []int{0, n - 1}, nil, nil); err == nil || !strings.Contains(err.Error(), "record 299") {
			t.Fatalf("%v: a truncated file: err %v, want one naming record 299", enc, err)
		}
	}
}

type failingReader struct{}

func (failingReader) ReadRecords([]int, int, []byte) error { return errors.New("gone") }

func TestOpenStoredErrors(t *testing.T) {
	file := encode(t, Int8, 4, unitVectors(3, 4, 1))
	if _, err := OpenStored(file[:HeaderSize-1], failingReader{}); err == nil {
		t.Fatal("a short header was accepted")
	}
	bad := append([]byte("XXXX"), file[4:HeaderSize]...)
	if _, err := OpenStored(bad, failingReader{}); err == nil {
		t.Fatal("a header with the wrong magic was accepted")
	}
	if _, err := OpenStored(file, nil); err == nil {
		t.Fatal("no reader was accepted")
	}
	st, err := OpenStored(file, failingReader{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Scores(unitVectors(1, 4, 2), []int{1}, nil, nil); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("a failing reader: err %v", err)
	}
}
