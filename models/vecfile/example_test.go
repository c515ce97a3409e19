package vecfile_test

import (
	"bytes"
	"fmt"

	"github.com/lookalike/lookalike/models/vecfile"
)

func Example() {
	vecs := []float32{0.6, 0.8, 1, 0}
	var buf bytes.Buffer
	if err := vecfile.WriteVectors(&buf, vecfile.Int8, 2, vecs); err != nil {
		panic(err)
	}
	h, _ := vecfile.ReadVectorsHeader(bytes.NewReader(buf.Bytes()))
	fmt.Println(h.Encoding, h.Count, h.Dim, buf.Len(), "bytes")
	v, err := vecfile.ParseVectors(buf.Bytes())
	if err != nil {
		panic(err)
	}
	fmt.Printf("cos(q, item 0) = %.3f\n", v.Score([]float32{0.6, 0.8}, 0))

	nl, _ := vecfile.ComputeNeighbors(vecs, 2, nil, 1, false)
	buf.Reset()
	vecfile.WriteNeighbors(&buf, nl)
	nb, _ := vecfile.ParseNeighbors(buf.Bytes())
	fmt.Printf("item 0's neighbour: %d (%.2f)\n", nb.Section(0)[0].Item, nb.Section(0)[0].Score)
	// Output:
	// int8 2 2 48 bytes
	// cos(q, item 0) = 1.000
	// item 0's neighbour: 1 (0.60)
}
