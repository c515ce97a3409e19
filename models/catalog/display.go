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
	d       *displayData
	byID    *idTable
	attrPos map[string]int
}

// DisplayItem is one item's display data.
type DisplayItem struct {
	ID, Title, URL, Price, Currency, Section, Thumb string
	Attrs                                           map[string]string
}

// ErrDisplay is wrapped by every ParseDisplay error.
var ErrDisplay = errors.New("catalog: bad display metadata")

// ParseDisplay decodes and checks a display metadata file. The Display
// keeps data (its strings are read from it when an item is): the caller
// must not modify it afterwards.
func ParseDisplay(data []byte) (*Display, error) {
	d, err := readDisplay(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDisplay, err)
	}
	if d.format != DisplayFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrDisplay, d.format, DisplayFormat)
	}
	if d.version != DisplayVersion {
		return nil, fmt.Errorf("%w: version %d, this reader knows %d; rebuild the assets with a matching builder", ErrDisplay, d.version, DisplayVersion)
	}
	n := d.count
	if d.id == nil {
		d.id = &strCol{}
	}
	if n < 0 || d.id.len() != n {
		return nil, fmt.Errorf("%w: count %d but %d ids", ErrDisplay, n, d.id.len())
	}
	for _, c := range []struct {
		name string
		col  *strCol
	}{{"title", d.title}, {"url", d.url}, {"price", d.price}, {"thumbs", d.tmbs}} {
		if c.col != nil && c.col.len() != n {
			return nil, fmt.Errorf("%w: column %s has %d values for %d items", ErrDisplay, c.name, c.col.len(), n)
		}
	}
	checkDict := func(name string, c *dict) error {
		if c == nil {
			return nil
		}
		if len(c.idx) != n {
			return fmt.Errorf("%w: column %s has %d values for %d items", ErrDisplay, name, len(c.idx), n)
		}
		for _, x := range c.idx {
			if int(x) >= len(c.Values) {
				return fmt.Errorf("%w: column %s refers to value %d of %d", ErrDisplay, name, x, len(c.Values))
			}
		}
		return nil
	}
	if err := checkDict("currency", d.currency); err != nil {
		return nil, err
	}
	if err := checkDict("section", d.section); err != nil {
		return nil, err
	}
	ds := &Display{d: d, byID: newIDTable(n), attrPos: map[string]int{}}
	for i := range d.attrs {
		if err := checkDict("attribute "+d.attrs[i].Column, &d.attrs[i]); err != nil {
			return nil, err
		}
		ds.attrPos[d.attrs[i].Column] = i
	}
	for i := 0; i < n; i++ {
		if j := ds.byID.insert(d, i); j >= 0 {
			return nil, fmt.Errorf("%w: id %q appears twice", ErrDisplay, d.str(d.id, i))
		}
	}
	return ds, nil
}

// Len returns the number of items.
func (ds *Display) Len() int { return ds.d.count }

// IndexOf returns the index of the item with this id.
func (ds *Display) IndexOf(id string) (int, bool) { return ds.byID.find(ds.d, id) }

// SectionColumn returns the section column name ("" without sections).
func (ds *Display) SectionColumn() string {
	if ds.d.section == nil {
		return ""
	}
	return ds.d.section.Column
}

// Sections returns the section names, most items first.
func (ds *Display) Sections() []string {
	if ds.d.section == nil {
		return nil
	}
	return ds.d.section.Values
}

// SectionIndex returns item i's index into Sections (-1 without sections).
func (ds *Display) SectionIndex(i int) int {
	if ds.d.section == nil {
		return -1
	}
	return int(ds.d.section.idx[i])
}

// Attributes returns the filter columns.
func (ds *Display) Attributes() []string {
	out := make([]string, len(ds.d.attrs))
	for i, a := range ds.d.attrs {
		out[i] = a.Column
	}
	return out
}

// AttributeValues returns the values of filter column col, most items first.
func (ds *Display) AttributeValues(col string) []string {
	if p, ok := ds.attrPos[col]; ok {
		return ds.d.attrs[p].Values
	}
	return nil
}

// Item returns item i's display data (0 <= i < Len).
func (ds *Display) Item(i int) DisplayItem {
	d := ds.d
	it := DisplayItem{
		ID: d.str(d.id, i), Title: d.str(d.title, i), URL: ds.url(i), Price: d.str(d.price, i),
		Currency: d.currency.at(i), Section: d.section.at(i), Thumb: ds.thumb(i),
		Attrs: make(map[string]string, len(d.attrs)),
	}
	for a := range d.attrs {
		it.Attrs[d.attrs[a].Column] = d.attrs[a].at(i)
	}
	return it
}

// url is item i's link, or "" when the file holds one SafeURL refuses (a
// display file from an older builder, or edited by hand).
func (ds *Display) url(i int) string {
	u, _ := SafeURL(ds.d.str(ds.d.url, i))
	return u
}

func (ds *Display) thumb(i int) string {
	if ds.d.tmbs != nil {
		return ds.d.str(ds.d.tmbs, i)
	}
	if ds.d.thumb == "" {
		return ""
	}
	r := strings.NewReplacer("{id}", pathEscape(ds.d.str(ds.d.id, i)), "{i}", strconv.Itoa(i))
	return r.Replace(ds.d.thumb)
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
	return dictFilter(ds.d.section, name)
}

// AttributeFilter returns a filter keeping items whose column col equals
// value.
func (ds *Display) AttributeFilter(col, value string) func(int) bool {
	p, ok := ds.attrPos[col]
	if !ok {
		return func(int) bool { return false }
	}
	return dictFilter(&ds.d.attrs[p], value)
}

func dictFilter(c *dict, value string) func(int) bool {
	if c == nil {
		return func(int) bool { return false }
	}
	want := -1
	for i, v := range c.Values {
		if v == value {
			want = i
		}
	}
	if want < 0 {
		return func(int) bool { return false }
	}
	idx, w := c.idx, uint32(want)
	return func(i int) bool { return i >= 0 && i < len(idx) && idx[i] == w }
}
