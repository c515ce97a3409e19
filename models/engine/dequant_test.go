package engine

import (
	"testing"

	"github.com/lookalike/lookalike/models/onnxpb"
)

// decodeQuant's paired 4-bit path agrees with the element-wise reading
// (quantAt) for every start and length, odd or even, signed or not.
func TestDecodeQuantInt4(t *testing.T) {
	raw := make([]byte, 37)
	for i := range raw {
		raw[i] = byte(i*73 + 11)
	}
	for _, dt := range []onnxpb.DataType{onnxpb.Int4, onnxpb.Uint4} {
		v := &value{dtype: dt, raw: raw}
		for start := 0; start < 9; start++ {
			for n := 0; start+n <= 2*len(raw); n += 1 + n/3 {
				out := make([]float32, n+1)
				out[n] = 99 // past the end: untouched
				decodeQuant(v, start, out[:n])
				for i := 0; i < n; i++ {
					if want := quantAt(v, start+i); out[i] != want {
						t.Fatalf("%v start %d n %d: element %d = %v, want %v", dt, start, n, i, out[i], want)
					}
				}
				if out[n] != 99 {
					t.Fatalf("%v start %d n %d: wrote past the end", dt, start, n)
				}
			}
		}
	}
}
