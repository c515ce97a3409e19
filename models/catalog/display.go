package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DisplayVersion is the version of the display metadata format.
const DisplayVersion = 1

// DisplayFormat names the file kind inside the JSON.
const DisplayFormat = "lookalike-catalog"

// DisplayOptions choose what goes into the display file.
type DisplayOptions struct {
	// Section is the column used as the section (DefaultSection if "";
	// no sections if the column does not exist).
	Section string
	// Attributes are the filter columns (DefaultAttributes if nil).
	Attributes []string
	// ThumbPattern locates thumbnails relative to the assets: "{id}" is
	// replaced by the item id (path-escaped) and "{i}" by its index, e.g.
	// "thumbs/{id}.jpg". Ignored when Thumbs is set.
	ThumbPattern string
	// Thumbs gives each item's thumbnail location explicitly.
	Thumbs []string
}

// displayJSON is the column-oriented file: one array per column, repeated
// values dictionary-encoded (values sorted by frequency, so common values
// get short indexes). Columns that are empty for every item are left out.
type displayJSON struct {
	Format     string       `json:"format"`
	Version    int          `json:"version"`
	Count      int          `json:"count"`
	ID         []string     `json:"id"`
	Title      []string     `json:"title,omitempty"`
	URL        []string     `json:"url,omitempty"`
	Price      []string     `json:"price,omitempty"`
	Currency   *dictColumn  `json:"currency,omitempty"`
	Section    *dictColumn  `json:"section,omitempty"`
	Attributes []dictColumn `json:"attributes,omitempty"`
	Thumb      string       `json:"thumb,omitempty"`  // pattern
	Thumbs     []string     `json:"thumbs,omitempty"` // explicit
}

type dictColumn struct {
	Column string   `json:"column,omitempty"`
	Values []string `json:"values"`
	Index  []int    `json:"index"`
}

func newDict(col string, vals []string) *dictColumn {
	counts := map[string]int{}
	for _, v := range vals {
		counts[v]++
	}
	d := &dictColumn{Column: col, Values: sortedKeys(counts), Index: make([]int, len(vals))}
	pos := make(map[string]int, len(d.Values))
	for i, v := range d.Values {
		pos[v] = i
	}
	for i, v := range vals {
		d.Index[i] = pos[v]
	}
	return d
}

func columnOrNil(vals []string) []string {
	for _, v := range vals {
		if v != "" {
			return vals
		}
	}
	return nil
}

// BuildDisplay encodes items (in index order: item i of the index is
// items[i]) as the display metadata file.
func BuildDisplay(items []Item, header []string, opt DisplayOptions) ([]byte, error) {
	n := len(items)
	if opt.Thumbs != nil && len(opt.Thumbs) != n {
		return nil, fmt.Errorf("catalog: display: %d thumbnails for %d items", len(opt.Thumbs), n)
	}
	section := opt.Section
	if section == "" {
		section = DefaultSection(header)
	}
	attrs := opt.Attributes
	if attrs == nil {
		attrs = DefaultAttributes(header)
	}
	d := displayJSON{Format: DisplayFormat, Version: DisplayVersion, Count: n}
	col := func(f func(*Item) string) []string {
		out := make([]string, n)
		for i := range items {
			out[i] = f(&items[i])
		}
		return out
	}
	d.ID = col(func(it *Item) string { return it.ID })
	d.Title = columnOrNil(col(func(it *Item) string { return it.Title }))
	d.URL = columnOrNil(col(func(it *Item) string { u, _ := SafeURL(it.URL); return u }))
	d.Price = columnOrNil(col(func(it *Item) string { return it.Price }))
	if c := columnOrNil(col(func(it *Item) string { return it.Currency })); c != nil {
		d.Currency = newDict("", c)
	}
	if section != "" && findColumn(header, section) != "" {
		d.Section = newDict(section, col(func(it *Item) string { return it.Value(section) }))
	}
	for _, a := range attrs {
		if findColumn(header, a) == "" {
			return nil, fmt.Errorf("catalog: display: attribute column %q is not in the catalogue", a)
		}
		d.Attributes = append(d.Attributes, *newDict(a, col(func(it *Item) string { return it.Value(a) })))
	}
	if opt.Thumbs != nil {
		d.Thumbs = opt.Thumbs
	} else {
		d.Thumb = opt.ThumbPattern
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("catalog: display: %w", err)
	}
	return b.Bytes(), nil
}

// Display is the parsed display metadata, for the page.
type Display struct {
	d       displayJSON
	byID    map[string]int
	attrPos map[string]int
}

// DisplayItem is one item's display data.
type DisplayItem struct {
	ID, Title, URL, Price, Currency, Section, Thumb string
	Attrs                                           map[string]string
}

// ErrDisplay is wrapped by every ParseDisplay error.
var ErrDisplay = errors.New("catalog: bad display metadata")

// ParseDisplay decodes and checks a display metadata file.
func ParseDisplay(data []byte) (*Display, error) {
	var d displayJSON
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDisplay, err)
	}
	if d.Format != DisplayFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrDisplay, d.Format, DisplayFormat)
	}
	if d.Version != DisplayVersion {
		return nil, fmt.Errorf("%w: version %d, this reader knows %d; rebuild the assets with a matching builder", ErrDisplay, d.Version, DisplayVersion)
	}
	n := d.Count
	if n < 0 || len(d.ID) != n {
		return nil, fmt.Errorf("%w: count %d but %d ids", ErrDisplay, n, len(d.ID))
	}
	for name, c := range map[string][]string{"title": d.Title, "url": d.URL, "price": d.Price, "thumbs": d.Thumbs} {
		if c != nil && len(c) != n {
			return nil, fmt.Errorf("%w: column %s has %d values for %d items", ErrDisplay, name, len(c), n)
		}
	}
	checkDict := func(name string, c *dictColumn) error {
		if c == nil {
			return nil
		}
		if len(c.Index) != n {
			return fmt.Errorf("%w: column %s has %d values for %d items", ErrDisplay, name, len(c.Index), n)
		}
		for _, x := range c.Index {
			if x < 0 || x >= len(c.Values) {
				return fmt.Errorf("%w: column %s refers to value %d of %d", ErrDisplay, name, x, len(c.Values))
			}
		}
		return nil
	}
	if err := checkDict("currency", d.Currency); err != nil {
		return nil, err
	}
	if err := checkDict("section", d.Section); err != nil {
		return nil, err
	}
	ds := &Display{d: d, byID: make(map[string]int, n), attrPos: map[string]int{}}
	for i := range d.Attributes {
		if err := checkDict("attribute "+d.Attributes[i].Column, &d.Attributes[i]); err != nil {
			return nil, err
		}
		ds.attrPos[d.Attributes[i].Column] = i
	}
	for i, id := range d.ID {
		if _, dup := ds.byID[id]; dup {
			return nil, fmt.Errorf("%w: id %q appears twice", ErrDisplay, id)
		}
		ds.byID[id] = i
	}
	return ds, nil
}

// Len returns the number of items.
func (ds *Display) Len() int { return ds.d.Count }

// IndexOf returns the index of the item with this id.
func (ds *Display) IndexOf(id string) (int, bool) {
	i, ok := ds.byID[id]
	return i, ok
}

func at(c []string, i int) string {
	if c == nil {
		return ""
	}
	return c[i]
}

func (c *dictColumn) at(i int) string {
	if c == nil {
		return ""
	}
	return c.Values[c.Index[i]]
}

// SectionColumn returns the section column name ("" without sections).
func (ds *Display) SectionColumn() string {
	if ds.d.Section == nil {
		return ""
	}
	return ds.d.Section.Column
}

// Sections returns the section names, most items first.
func (ds *Display) Sections() []string {
	if ds.d.Section == nil {
		return nil
	}
	return ds.d.Section.Values
}

// SectionIndex returns item i's index into Sections (-1 without sections).
func (ds *Display) SectionIndex(i int) int {
	if ds.d.Section == nil {
		return -1
	}
	return ds.d.Section.Index[i]
}

// Attributes returns the filter columns.
func (ds *Display) Attributes() []string {
	out := make([]string, len(ds.d.Attributes))
	for i, a := range ds.d.Attributes {
		out[i] = a.Column
	}
	return out
}

// AttributeValues returns the values of filter column col, most items first.
func (ds *Display) AttributeValues(col string) []string {
	if p, ok := ds.attrPos[col]; ok {
		return ds.d.Attributes[p].Values
	}
	return nil
}

// Item returns item i's display data (0 <= i < Len).
func (ds *Display) Item(i int) DisplayItem {
	it := DisplayItem{
		ID: ds.d.ID[i], Title: at(ds.d.Title, i), URL: ds.url(i), Price: at(ds.d.Price, i),
		Currency: ds.d.Currency.at(i), Section: ds.d.Section.at(i), Thumb: ds.thumb(i),
		Attrs: make(map[string]string, len(ds.d.Attributes)),
	}
	for a := range ds.d.Attributes {
		it.Attrs[ds.d.Attributes[a].Column] = ds.d.Attributes[a].at(i)
	}
	return it
}

// url is item i's link, or "" when the file holds one SafeURL refuses (a
// display file from an older builder, or edited by hand).
func (ds *Display) url(i int) string {
	u, _ := SafeURL(at(ds.d.URL, i))
	return u
}

func (ds *Display) thumb(i int) string {
	if ds.d.Thumbs != nil {
		return ds.d.Thumbs[i]
	}
	if ds.d.Thumb == "" {
		return ""
	}
	r := strings.NewReplacer("{id}", pathEscape(ds.d.ID[i]), "{i}", strconv.Itoa(i))
	return r.Replace(ds.d.Thumb)
}

// pathEscape keeps ids safe as one path segment.
func pathEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// SectionFilter returns a filter (usable as annoy.Filter) keeping items of
// the named section; an unknown name keeps nothing, "" keeps everything.
func (ds *Display) SectionFilter(name string) func(int) bool {
	if name == "" {
		return nil
	}
	return ds.dictFilter(ds.d.Section, name)
}

// AttributeFilter returns a filter keeping items whose column col equals
// value.
func (ds *Display) AttributeFilter(col, value string) func(int) bool {
	p, ok := ds.attrPos[col]
	if !ok {
		return func(int) bool { return false }
	}
	return ds.dictFilter(&ds.d.Attributes[p], value)
}

func (ds *Display) dictFilter(c *dictColumn, value string) func(int) bool {
	if c == nil {
		return func(int) bool { return false }
	}
	want := -1
	for i, v := range c.Values {
		if v == value {
			want = i
		}
	}
	idx := c.Index
	return func(i int) bool { return i >= 0 && i < len(idx) && idx[i] == want }
}
