package annoy_test

import (
	"fmt"

	"github.com/lookalike/lookalike/models/annoy"
)

// Build an index natively, load the bytes (as the browser would, from a
// fetched []byte) and search it with a filter.
func Example() {
	vecs := []float32{
		1, 0, 0,
		0.9, 0.1, 0,
		0, 1, 0,
		0, 0.9, 0.1,
		0, 0, 1,
	}
	data, err := annoy.Build(vecs, 3, annoy.BuildOptions{Trees: 2, Seed: 1})
	if err != nil {
		panic(err)
	}
	ix, err := annoy.Load(data, 3)
	if err != nil {
		panic(err)
	}
	q := []float32{1, 0.05, 0}
	opt := annoy.Options{K: 2, Filter: func(i int) bool { return i != 0 }}
	var res []annoy.Result
	if annoy.PreferExact(ix.NumItems()) {
		res, err = ix.Exact(q, opt)
	} else {
		res, err = ix.Search(q, opt)
	}
	if err != nil {
		panic(err)
	}
	for _, r := range res {
		fmt.Printf("item %d score %.2f\n", r.Item, r.Score)
	}
	// Output:
	// item 1 score 1.00
	// item 2 score 0.05
}
