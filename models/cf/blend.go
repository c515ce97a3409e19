package cf

// CatalogReport says how a model's items matched a catalogue.
type CatalogReport struct {
	UnknownItems int // items in the interactions that the catalogue lacks
	UnknownRows  int // log rows naming those items
	ColdItems    int // catalogue items left with no CF neighbour
}

// ForCatalog re-keys the neighbours by catalogue index: rows[c] holds the CF
// neighbours of catalogueIDs[c], each Neighbor.Item a catalogue index.
// Interactions naming items outside the catalogue are counted in the report,
// and such items are dropped from every neighbour list (the rest keep their
// order). Catalogue items without interactions get an empty row: use Fallback.
func (m *Model) ForCatalog(catalogueIDs []string) ([][]Neighbor, CatalogReport) {
	var rep CatalogReport
	toCat := make([]int32, len(m.Items))
	for i := range toCat {
		toCat[i] = -1
	}
	catIndex := make(map[string]int32, len(catalogueIDs))
	for c, id := range catalogueIDs {
		if _, dup := catIndex[id]; !dup {
			catIndex[id] = int32(c)
		}
	}
	for i, id := range m.Items {
		if c, ok := catIndex[id]; ok {
			toCat[i] = c
		} else {
			rep.UnknownItems++
			rep.UnknownRows += int(m.Rows[i])
		}
	}
	rows := make([][]Neighbor, len(catalogueIDs))
	for c, id := range catalogueIDs {
		i := m.ItemIndex(id)
		if i < 0 || catIndex[id] != int32(c) {
			rep.ColdItems++
			continue
		}
		var row []Neighbor
		for _, nb := range m.Neighbors[i] {
			if t := toCat[nb.Item]; t >= 0 {
				row = append(row, Neighbor{t, nb.Score})
			}
		}
		if len(row) == 0 {
			rep.ColdItems++
		}
		rows[c] = row
	}
	return rows, rep
}

// Fallback fills the cold start: for each item, its CF neighbours first
// (in order), then visual neighbours not already listed, up to k. An item
// with no CF neighbours gets exactly its visual neighbours. The two rows may
// be nil; len(result) = max(len(cf), len(visual)). Scores are kept as given,
// so a caller that needs to know which signal an entry came from compares
// against the CF row.
func Fallback(cf, visual [][]Neighbor, k int) [][]Neighbor {
	n := max(len(cf), len(visual))
	out := make([][]Neighbor, n)
	for i := 0; i < n; i++ {
		var c, v []Neighbor
		if i < len(cf) {
			c = cf[i]
		}
		if i < len(visual) {
			v = visual[i]
		}
		row := make([]Neighbor, 0, k)
		seen := map[int32]bool{int32(i): true}
		for _, src := range [][]Neighbor{c, v} {
			for _, nb := range src {
				if len(row) == k {
					break
				}
				if !seen[nb.Item] {
					seen[nb.Item] = true
					row = append(row, nb)
				}
			}
		}
		out[i] = row
	}
	return out
}

// Blend merges one item's visual and CF neighbours with the documented rule
// score = visual + wCF·cf, an absent signal counting 0, and returns the best
// k (ties by item index). With no CF neighbours the result is the visual
// order: cold items fall back to what they look like.
func Blend(visual, cf []Neighbor, wCF float32, k int) []Neighbor {
	acc := make(map[int32]float32, len(visual)+len(cf))
	for _, nb := range visual {
		acc[nb.Item] += nb.Score
	}
	for _, nb := range cf {
		acc[nb.Item] += wCF * nb.Score
	}
	cand := make([]Neighbor, 0, len(acc))
	for j, s := range acc {
		cand = append(cand, Neighbor{j, s})
	}
	return topK(cand, k)
}
