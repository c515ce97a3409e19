package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
)

// The display file's reader keeps the file's bytes and, per string column,
// where each item's string lies in them (8 bytes an item), instead of one
// Go string per value: at a million products the columns cost 40 MB
// rather than about 140 MB live and 300 MB at the peak of
// encoding/json's decoding, and reading is ~4× faster. A string is
// decoded (JSON escapes undone) when an item is read.

// strCol is one string column: for item i, data[off[i] : off[i]+size]
// with size = ln[i] &^ escaped, JSON-escaped when ln[i]&escaped != 0.
type strCol struct {
	off, ln []uint32
}

const escaped = 1 << 31

func (c *strCol) len() int { return len(c.off) }

// dict is a dictionary column: Values by frequency, item i's value is
// Values[idx[i]].
type dict struct {
	Column string
	Values []string
	idx    []uint32
}

func (c *dict) at(i int) string {
	if c == nil {
		return ""
	}
	return c.Values[c.idx[i]]
}

// displayData is a parsed display file.
type displayData struct {
	data                        []byte
	format                      string
	version, count              int
	id, title, url, price, tmbs *strCol
	currency, section           *dict
	attrs                       []dict
	thumb                       string
}

// str returns item i of column c ("" for an absent column).
func (d *displayData) str(c *strCol, i int) string {
	if c == nil {
		return ""
	}
	off, n := c.off[i], c.ln[i]
	// The bytes passed json.Valid and the scanner: no error.
	s, _ := unquote(d.data, int(off), int(off+n&^escaped), n&escaped != 0)
	return s
}

// unquote returns the string literal whose content is b[start:end] (the
// quotes around it), its JSON escapes undone when esc.
func unquote(b []byte, start, end int, esc bool) (string, error) {
	if !esc {
		return string(b[start:end]), nil
	}
	var s string
	err := json.Unmarshal(b[start-1:end+1], &s)
	return s, err
}

// eq reports whether item i of column c is s, without allocating for an
// unescaped value.
func (d *displayData) eq(c *strCol, i int, s string) bool {
	off, n := c.off[i], c.ln[i]
	if n&escaped == 0 {
		return string(d.data[off:off+n]) == s
	}
	return d.str(c, i) == s
}

// scanner walks a document that json.Valid accepted.
type scanner struct {
	b     []byte
	i     int
	count int // the file's count, once read: the columns' size
}

func (s *scanner) peek() byte {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return s.b[s.i]
		}
	}
	return 0
}

// literal reads a string literal: its content's span and whether it holds
// escapes. The caller has checked peek() == '"'.
func (s *scanner) literal() (start, end int, esc bool) {
	i := s.i + 1
	for s.b[i] != '"' {
		if s.b[i] == '\\' {
			esc = true
			i++
		}
		i++
	}
	start, end, s.i = s.i+1, i, i+1
	return
}

// string reads a string value, decoded.
func (s *scanner) string(what string) (string, error) {
	if s.peek() != '"' {
		return "", fmt.Errorf("%s is not a string", what)
	}
	a, b, esc := s.literal()
	return unquote(s.b, a, b, esc)
}

// null consumes a null and reports whether there was one.
func (s *scanner) null() bool {
	if s.peek() == 'n' {
		s.i += 4
		return true
	}
	return false
}

// int reads an integer (a number with a fraction or an exponent is not).
func (s *scanner) int(what string) (int, error) {
	s.peek()
	j := s.i
	for j < len(s.b) && !isDelim(s.b[j]) {
		j++
	}
	tok := s.b[s.i:j]
	s.i = j
	neg := len(tok) > 0 && tok[0] == '-'
	if neg {
		tok = tok[1:]
	}
	v := 0
	for _, c := range tok {
		if c < '0' || c > '9' || v > 1<<40 {
			return 0, fmt.Errorf("%s is not an integer", what)
		}
		v = 10*v + int(c-'0')
	}
	if len(tok) == 0 {
		return 0, fmt.Errorf("%s is not an integer", what)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// skip passes over any value.
func (s *scanner) skip() {
	switch s.peek() {
	case '"':
		s.literal()
	case '{', '[':
		depth := 0
		for {
			switch s.b[s.i] {
			case '"':
				s.literal()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			s.i++
			if depth == 0 {
				return
			}
		}
	default: // number, true, false, null
		for s.i < len(s.b) && !isDelim(s.b[s.i]) {
			s.i++
		}
	}
}

func isDelim(c byte) bool {
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// object calls f for each key of an object, positioned at its value.
func (s *scanner) object(what string, f func(key string) error) error {
	if s.peek() != '{' {
		return fmt.Errorf("%s is not an object", what)
	}
	s.i++
	for s.peek() != '}' {
		key, err := s.string("a key")
		if err != nil {
			return err
		}
		s.peek()
		s.i++ // ':'
		if err := f(key); err != nil {
			return err
		}
		if s.peek() == ',' {
			s.i++
		}
	}
	s.i++
	return nil
}

// array calls f for each element of an array, positioned at it.
func (s *scanner) array(what string, f func() error) error {
	if s.peek() != '[' {
		return fmt.Errorf("%s is not an array", what)
	}
	s.i++
	for s.peek() != ']' {
		if err := f(); err != nil {
			return err
		}
		if s.peek() == ',' {
			s.i++
		}
	}
	s.i++
	return nil
}

// sizeHint is how many values a column probably holds: the count read so
// far, within what the file's size allows (every value takes ≥ 2 bytes).
func (s *scanner) sizeHint() int { return max(0, min(s.count, len(s.b)/2)) }

func (s *scanner) strCol(name string) (*strCol, error) {
	if s.null() {
		return nil, nil
	}
	n := s.sizeHint()
	c := &strCol{off: make([]uint32, 0, n), ln: make([]uint32, 0, n)}
	err := s.array("column "+name, func() error {
		if s.peek() != '"' {
			return fmt.Errorf("column %s holds a value that is not a string", name)
		}
		a, b, esc := s.literal()
		n := uint32(b - a)
		if esc {
			n |= escaped
		}
		c.off, c.ln = append(c.off, uint32(a)), append(c.ln, n)
		return nil
	})
	return c, err
}

func (s *scanner) strings(what string) ([]string, error) {
	var out []string
	if s.null() {
		return nil, nil
	}
	err := s.array(what, func() error {
		v, err := s.string(what + " value")
		out = append(out, v)
		return err
	})
	return out, err
}

func (s *scanner) dict(name string) (*dict, error) {
	if s.null() {
		return nil, nil
	}
	c := &dict{}
	err := s.object("column "+name, func(key string) error {
		var err error
		switch key {
		case "column":
			c.Column, err = s.string("column " + name + " name")
		case "values":
			c.Values, err = s.strings("column " + name + " values")
		case "index":
			c.idx = make([]uint32, 0, s.sizeHint())
			if s.null() {
				return nil
			}
			err = s.array("column "+name+" index", func() error {
				x, err := s.int("column " + name + " index")
				if err != nil {
					return err
				}
				if x < 0 || x > 1<<31 {
					return fmt.Errorf("column %s refers to value %d", name, x)
				}
				c.idx = append(c.idx, uint32(x))
				return nil
			})
		default:
			s.skip()
		}
		return err
	})
	return c, err
}

// readDisplay parses the file's structure (the checks are ParseDisplay's).
func readDisplay(data []byte) (*displayData, error) {
	if !json.Valid(data) {
		// encoding/json says where.
		var v any
		err := json.Unmarshal(data, &v)
		if err == nil {
			err = errors.New("not valid JSON")
		}
		return nil, err
	}
	if len(data) >= escaped {
		return nil, fmt.Errorf("%d bytes: too large", len(data))
	}
	d := &displayData{data: data}
	s := &scanner{b: data}
	cols := map[string]**strCol{"id": &d.id, "title": &d.title, "url": &d.url, "price": &d.price, "thumbs": &d.tmbs}
	err := s.object("the file", func(key string) error {
		var err error
		if col, ok := cols[key]; ok {
			*col, err = s.strCol(key)
			return err
		}
		switch key {
		case "format":
			d.format, err = s.string("format")
		case "version":
			d.version, err = s.int("version")
		case "count":
			d.count, err = s.int("count")
			s.count = d.count
		case "thumb":
			if !s.null() {
				d.thumb, err = s.string("thumb")
			}
		case "currency":
			d.currency, err = s.dict("currency")
		case "section":
			d.section, err = s.dict("section")
		case "attributes":
			d.attrs = d.attrs[:0]
			if s.null() {
				return nil
			}
			err = s.array("attributes", func() error {
				c, err := s.dict("attribute")
				if c != nil {
					d.attrs = append(d.attrs, *c)
				}
				return err
			})
		default:
			s.skip()
		}
		return err
	})
	return d, err
}

// idTable finds an item by id: open addressing over item indexes (4
// bytes a slot, two slots an item), hashed with a per-table seed.
type idTable struct {
	seed  maphash.Seed
	slots []int32 // item+1; 0 = empty
}

func newIDTable(n int) *idTable {
	size := 1
	for size < 2*n {
		size <<= 1
	}
	return &idTable{seed: maphash.MakeSeed(), slots: make([]int32, size)}
}

// insert adds item i and returns the item already holding its id, or -1.
func (t *idTable) insert(d *displayData, i int) int {
	var s string
	var h uint64
	if off, n := d.id.off[i], d.id.ln[i]; n&escaped == 0 {
		b := d.data[off : off+n]
		h = maphash.Bytes(t.seed, b)
		s = string(b)
	} else {
		s = d.str(d.id, i)
		h = maphash.String(t.seed, s)
	}
	slot, j := t.lookup(d, h, s)
	if j < 0 {
		t.slots[slot] = int32(i + 1)
	}
	return j
}

func (t *idTable) find(d *displayData, s string) (int, bool) {
	_, j := t.lookup(d, maphash.String(t.seed, s), s)
	return max(j, 0), j >= 0
}

// lookup returns the slot holding id s (hash h), or the empty one where it
// would go, and the item there (-1: none).
func (t *idTable) lookup(d *displayData, h uint64, s string) (slot, item int) {
	mask := len(t.slots) - 1
	for slot = int(h) & mask; ; slot = (slot + 1) & mask {
		item = int(t.slots[slot]) - 1
		if item < 0 || d.eq(d.id, item, s) {
			return slot, item
		}
	}
}
