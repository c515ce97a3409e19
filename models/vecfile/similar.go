package vecfile

// "More like this" from the precomputed lists: the one rule the engine
// (models/search), the edge API (wasm/worker/api) and the embed carousel
// (static/lookalike.js, checked against testdata/similar-rule.json) follow.
//
// For product i in section own, asked for k products of section s ("" =
// any section):
//
//  1. The list: s == "" → the global list (the section list when the build
//     stored only section lists); s == own → the section list; another s →
//     the global list, keeping only neighbours in s (nothing when the build
//     stored only section lists).
//  2. The answer: up to k entries of that list in stored order (best
//     first), never i itself, never an empty slot.
//  3. Only a cross-section answer can be short of k (few of i's global
//     neighbours are in s). A caller holding the item vectors (the engine)
//     then appends the best of s by exact cosine that are not listed yet;
//     callers with only the lists (the edge API, the embed carousel) return
//     the short answer. Either way the listed part is the same everywhere.

// Which stored list a SimilarChoice reads.
const (
	NoList      = -1 // nothing stored answers (a cross-section query without global lists)
	SectionList = 0
	GlobalList  = 1
)

// SimilarChoice is step 1 of the rule above for one query.
type SimilarChoice struct {
	List int    // SectionList, GlobalList or NoList
	Only string // keep only neighbours in this section; "" keeps every one
	// Name says which list answered, as the edge API's "list" field does:
	// "global", "section" or "global, filtered by section" ("section"
	// for NoList, as the API has always said).
	Name string
}

// ChooseSimilar picks the list for a product in section own asked for
// section (""= any), given how many lists per item the build stored (1 =
// section only, 2 = section and global; NeighborsHeader.Lists).
func ChooseSimilar(lists int, own, section string) SimilarChoice {
	switch {
	case section == "" && lists >= 2:
		return SimilarChoice{List: GlobalList, Name: "global"}
	case section == "" || section == own:
		return SimilarChoice{List: SectionList, Name: "section"}
	case lists >= 2:
		return SimilarChoice{List: GlobalList, Only: section, Name: "global, filtered by section"}
	}
	return SimilarChoice{List: NoList, Only: section, Name: "section"}
}

// CanBeShort says whether an answer of fewer than k is possible with all k
// in the catalogue (step 3): only when a section filter applies.
func (c SimilarChoice) CanBeShort() bool { return c.Only != "" }

// Take is step 2: up to k of list (the list c.List names) in order,
// without item self, NoItem slots and, with c.Only set, neighbours whose
// section (sectionOf, called only then) differs.
func (c SimilarChoice) Take(list []Neighbor, self, k int, sectionOf func(item int) (string, error)) ([]Neighbor, error) {
	if c.List == NoList {
		return nil, nil
	}
	out := make([]Neighbor, 0, min(k, len(list)))
	for _, nb := range list {
		if len(out) == k {
			break
		}
		if nb.Item == NoItem || int64(nb.Item) == int64(self) {
			continue
		}
		if c.Only != "" {
			s, err := sectionOf(int(nb.Item))
			if err != nil {
				return nil, err
			}
			if s != c.Only {
				continue
			}
		}
		out = append(out, nb)
	}
	return out, nil
}

// List returns item i's list c names from nb (nil for NoList).
func (nb *Neighbors) List(c SimilarChoice, i int) []Neighbor {
	switch c.List {
	case SectionList:
		return nb.Section(i)
	case GlobalList:
		return nb.Global(i)
	}
	return nil
}
