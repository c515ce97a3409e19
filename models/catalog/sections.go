package catalog

import (
	"sort"
	"strings"
)

// sectionColumns are tried in order by DefaultSection.
var sectionColumns = []string{"masterCategory", "section", "category", "subCategory"}

// colourColumns are tried in order by DefaultAttributes.
var colourColumns = []string{"baseColour", "colour", "color"}

// DefaultSection returns the header column to group items into sections:
// masterCategory if present, else section, category, subCategory (matched
// case-insensitively; the header's spelling is returned), or "" if none.
func DefaultSection(header []string) string {
	for _, want := range sectionColumns {
		if c := findColumn(header, want); c != "" {
			return c
		}
	}
	return ""
}

// DefaultAttributes returns the columns offered as filters: articleType and
// the first of baseColour, colour, color, those present.
func DefaultAttributes(header []string) []string {
	var out []string
	if c := findColumn(header, "articleType"); c != "" {
		out = append(out, c)
	}
	for _, want := range colourColumns {
		if c := findColumn(header, want); c != "" {
			out = append(out, c)
			break
		}
	}
	return out
}

// HasColumn says whether header has column col (matched
// case-insensitively, like the default columns).
func HasColumn(header []string, col string) bool { return findColumn(header, col) != "" }

func findColumn(header []string, want string) string {
	for _, h := range header {
		if strings.EqualFold(strings.TrimSpace(h), want) {
			return h
		}
	}
	return ""
}

// Value returns item's value of column col: an attribute, or one of the
// known columns (id, title, url, price, currency, image).
func (it *Item) Value(col string) string {
	switch strings.ToLower(strings.TrimSpace(col)) {
	case ColID:
		return it.ID
	case ColTitle:
		return it.Title
	case ColURL:
		return it.URL
	case ColPrice:
		return it.Price
	case ColCurrency:
		return it.Currency
	case ColImage:
		return it.Image
	}
	return it.Attrs[col]
}

// Counts returns how many items have each value of column col.
func (c *Catalog) Counts(col string) map[string]int {
	m := map[string]int{}
	for i := range c.Items {
		m[c.Items[i].Value(col)]++
	}
	return m
}

// AttributeCounts returns Counts for each of cols.
func (c *Catalog) AttributeCounts(cols []string) map[string]map[string]int {
	m := make(map[string]map[string]int, len(cols))
	for _, col := range cols {
		m[col] = c.Counts(col)
	}
	return m
}

// sortedKeys returns m's keys by descending count, then by name.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
