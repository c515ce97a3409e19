package cf_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/lookalike/lookalike/models/cf"
)

func Example() {
	logCSV := `user,item,event
u1,tent,purchase
u1,bag,purchase
u2,tent,view
u2,bag,cart
u3,tent,view
u3,lamp,view
u4,bad-row-no-user
`
	l, rowErrs, err := cf.ReadLog(strings.NewReader(logCSV), cf.ReadOptions{})
	if err != nil {
		panic(err)
	}
	for _, e := range rowErrs {
		fmt.Println("skipped:", e)
	}
	m, err := cf.Build(l, cf.DefaultOptions())
	if err != nil {
		panic(err)
	}
	// Re-key by a catalogue where "stove" has no interactions (cold start):
	// it falls back to its visual neighbours.
	catalogue := []string{"tent", "bag", "lamp", "stove"}
	rows, rep := m.ForCatalog(catalogue)
	visual := [][]cf.Neighbor{{{Item: 3, Score: 0.8}}, nil, nil, {{Item: 0, Score: 0.7}, {Item: 2, Score: 0.6}}}
	rows = cf.Fallback(rows, visual, 2)
	for c, row := range rows {
		var ids []string
		for _, nb := range row {
			ids = append(ids, catalogue[nb.Item])
		}
		fmt.Println(catalogue[c], "→", ids)
	}
	fmt.Println("cold items:", rep.ColdItems)
	var asset bytes.Buffer
	if err := cf.WriteNeighbors(&asset, rows, 2); err != nil {
		panic(err)
	}
	h, _ := cf.ReadHeader(&asset)
	fmt.Printf("asset: %d items × K=%d\n", h.Items, h.K)
	// Output:
	// skipped: cf: line 8: has 2 fields, header has 3
	// tent → [bag lamp]
	// bag → [tent]
	// lamp → [tent]
	// stove → [tent lamp]
	// cold items: 1
	// asset: 4 items × K=2
}
