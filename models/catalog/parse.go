package catalog

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Column names the catalogue understands (matched case-insensitively).
const (
	ColID       = "id"
	ColImage    = "image"
	ColTitle    = "title"
	ColURL      = "url"
	ColPrice    = "price"
	ColCurrency = "currency"
)

// Item is one good catalogue row.
type Item struct {
	// Row is the 1-based line number of the row in the file.
	Row int
	ID  string
	// Image is the image path resolved against the catalogue's directory
	// (or absolute as given).
	Image    string
	Title    string
	URL      string
	Price    string
	Currency string
	// Attrs holds every other column's value by column name (empty values
	// included, so every item has every attribute key).
	Attrs map[string]string
}

// RowError is a problem with one row; the row is skipped, parsing goes on.
type RowError struct {
	Row    int    // 1-based line number in the file
	ID     string // the row's id if it had one
	Column string // the offending column, if one
	Reason string
}

func (e RowError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "catalog: line %d", e.Row)
	if e.ID != "" {
		fmt.Fprintf(&b, " (id %q)", e.ID)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, " column %q", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Reasons used in RowErrors (compare with ==).
const (
	ReasonEmptyID      = "empty id"
	ReasonDuplicateID  = "duplicate id"
	ReasonInvalidUTF8  = "invalid UTF-8"
	ReasonMissingImage = "missing image"
	ReasonRemoteImage  = "remote image URLs are not supported yet"
	ReasonBadScheme    = "unsupported image URL scheme"
	ReasonFieldCount   = "wrong number of fields"
	ReasonBadJSON      = "invalid JSON object"
	ReasonNotScalar    = "value is not a string, number or boolean"
)

// Catalog is a parsed catalogue.
type Catalog struct {
	// Header lists the columns in file order (for JSON Lines: keys in
	// order of first appearance), as spelled in the file.
	Header []string
	// Attributes lists the attribute columns (Header minus the known ones).
	Attributes []string
	Items      []Item
	RowErrors  []RowError
	// Dir is the directory image paths were resolved against.
	Dir string
}

// ParseFile reads the catalogue at path; images resolve against its
// directory.
func ParseFile(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer f.Close()
	c, err := Parse(f, path)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return c, nil
}

// Parse reads a catalogue from r. name is the file's path: its extension
// picks JSON Lines (.jsonl, .ndjson; otherwise a first byte '{') or CSV,
// and its directory is where relative image paths resolve.
func Parse(r io.Reader, name string) (*Catalog, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	// Drop a UTF-8 byte order mark.
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	dir := filepath.Dir(name)
	if name == "" {
		dir = "."
	}
	ext := strings.ToLower(filepath.Ext(name))
	jsonl := ext == ".jsonl" || ext == ".ndjson"
	if !jsonl && ext != ".csv" {
		if b, err := br.Peek(1); err == nil && b[0] == '{' {
			jsonl = true
		}
	}
	p := &parser{c: &Catalog{Dir: dir}, seen: map[string]int{}}
	var err error
	if jsonl {
		err = p.jsonLines(br)
	} else {
		err = p.csv(br)
	}
	if err != nil {
		return nil, err
	}
	return p.c, nil
}

type parser struct {
	c     *Catalog
	cols  map[string]int // lower-case known name -> index in Header
	known []bool         // Header[i] is one of the known columns
	seen  map[string]int // id -> line of first occurrence
}

// setHeader records the columns and checks the required ones.
func (p *parser) setHeader(h []string) error {
	p.cols = map[string]int{}
	p.known = make([]bool, len(h))
	p.c.Header = h
	p.c.Attributes = nil
	for i, name := range h {
		if !utf8.ValidString(name) {
			return fmt.Errorf("catalog: header column %d is not valid UTF-8", i+1)
		}
		low := strings.ToLower(strings.TrimSpace(name))
		switch low {
		case ColID, ColImage, ColTitle, ColURL, ColPrice, ColCurrency:
			if _, dup := p.cols[low]; dup {
				return fmt.Errorf("catalog: column %q appears twice in the header", name)
			}
			p.cols[low] = i
			p.known[i] = true
		default:
			p.c.Attributes = append(p.c.Attributes, name)
		}
	}
	var missing []string
	for _, req := range []string{ColID, ColImage} {
		if _, ok := p.cols[req]; !ok {
			missing = append(missing, strconv.Quote(req))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("catalog: missing required column %s (header has: %s)", strings.Join(missing, ", "), strings.Join(h, ", "))
	}
	return nil
}

// row turns one record (aligned with Header; absent columns empty) into an
// Item or a RowError.
func (p *parser) row(line int, rec []string) {
	get := func(col string) string {
		if i, ok := p.cols[col]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	id := strings.TrimSpace(get(ColID))
	fail := func(col, reason string) {
		e := RowError{Row: line, Column: col, Reason: reason}
		if utf8.ValidString(id) {
			e.ID = id
		}
		p.c.RowErrors = append(p.c.RowErrors, e)
	}
	for i, v := range rec {
		if !utf8.ValidString(v) {
			col := ""
			if i < len(p.c.Header) {
				col = p.c.Header[i]
			}
			fail(col, ReasonInvalidUTF8)
			return
		}
	}
	if id == "" {
		fail(p.c.Header[p.cols[ColID]], ReasonEmptyID)
		return
	}
	if first, dup := p.seen[id]; dup {
		fail(p.c.Header[p.cols[ColID]], fmt.Sprintf("%s (first on line %d)", ReasonDuplicateID, first))
		return
	}
	img := strings.TrimSpace(get(ColImage))
	imgCol := p.c.Header[p.cols[ColImage]]
	switch low := strings.ToLower(img); {
	case img == "":
		fail(imgCol, ReasonMissingImage)
		return
	case strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://"):
		fail(imgCol, ReasonRemoteImage)
		return
	case strings.Contains(img, "://") || strings.HasPrefix(low, "data:"):
		fail(imgCol, ReasonBadScheme)
		return
	}
	if !filepath.IsAbs(img) {
		img = filepath.Join(p.c.Dir, filepath.FromSlash(img))
	}
	p.seen[id] = line
	it := Item{
		Row: line, ID: id, Image: img,
		Title: strings.TrimSpace(get(ColTitle)), URL: strings.TrimSpace(get(ColURL)),
		Price: strings.TrimSpace(get(ColPrice)), Currency: strings.TrimSpace(get(ColCurrency)),
		Attrs: make(map[string]string, len(p.c.Attributes)),
	}
	for i, name := range p.c.Header {
		if p.known[i] {
			continue
		}
		v := ""
		if i < len(rec) {
			v = strings.TrimSpace(rec[i])
		}
		it.Attrs[name] = v
	}
	p.c.Items = append(p.c.Items, it)
}

func (p *parser) csv(r io.Reader) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return errors.New("catalog: the catalogue is empty (no header row)")
	}
	if err != nil {
		return csvError(err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	if err := p.setHeader(header); err != nil {
		return err
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			return csvError(err)
		}
		line := 0
		if len(rec) > 0 {
			line, _ = cr.FieldPos(0)
		}
		if errors.Is(err, csv.ErrFieldCount) {
			p.c.RowErrors = append(p.c.RowErrors, RowError{Row: line, Reason: fmt.Sprintf("%s: %d, the header has %d", ReasonFieldCount, len(rec), len(header))})
			continue
		}
		p.row(line, rec)
	}
}

// csvError reports a CSV syntax error with its line; these are fatal since
// after broken quoting the rest of the file cannot be trusted.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("catalog: CSV syntax error on line %d, column %d (record starting on line %d): %v; "+
			"quote fields containing commas, quotes or newlines, and double quotes inside them (RFC 4180)",
			pe.Line, pe.Column, pe.StartLine, pe.Err)
	}
	return fmt.Errorf("catalog: reading CSV: %w", err)
}

func (p *parser) jsonLines(r *bufio.Reader) error {
	type pending struct {
		line int
		obj  map[string]string
		bad  RowError
	}
	var rows []pending
	var header []string
	inHeader := map[string]bool{}
	line := 0
	for {
		b, err := r.ReadBytes('\n')
		if len(b) > 0 {
			line++
			b = bytes.TrimSpace(b)
			if len(b) > 0 {
				rows = append(rows, parseJSONLine(line, b, &header, inHeader))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("catalog: reading JSON Lines after line %d: %w", line, err)
		}
	}
	if len(header) == 0 && len(rows) == 0 {
		return errors.New("catalog: the catalogue is empty")
	}
	if err := p.setHeader(header); err != nil {
		return err
	}
	for _, pr := range rows {
		if pr.bad.Reason != "" {
			p.c.RowErrors = append(p.c.RowErrors, pr.bad)
			continue
		}
		rec := make([]string, len(header))
		for i, h := range header {
			rec[i] = pr.obj[h]
		}
		p.row(pr.line, rec)
	}
	return nil
}

// parseJSONLine decodes one object into column -> text.
func parseJSONLine(line int, b []byte, header *[]string, inHeader map[string]bool) (pr struct {
	line int
	obj  map[string]string
	bad  RowError
}) {
	pr.line = line
	if !utf8.Valid(b) {
		pr.bad = RowError{Row: line, Reason: ReasonInvalidUTF8}
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		pr.bad = RowError{Row: line, Reason: ReasonBadJSON}
		return
	}
	obj := map[string]string{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			pr.bad = RowError{Row: line, Reason: fmt.Sprintf("%s: %v", ReasonBadJSON, err)}
			return
		}
		key := kt.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			pr.bad = RowError{Row: line, Column: key, Reason: fmt.Sprintf("%s: %v", ReasonBadJSON, err)}
			return
		}
		var s string
		switch x := v.(type) {
		case nil:
		case string:
			s = x
		case json.Number:
			s = x.String()
		case bool:
			s = strconv.FormatBool(x)
		default:
			pr.bad = RowError{Row: line, Column: key, Reason: ReasonNotScalar}
			return
		}
		obj[key] = s
		if !inHeader[key] {
			inHeader[key] = true
			*header = append(*header, key)
		}
	}
	if _, err := dec.Token(); err != nil {
		pr.bad = RowError{Row: line, Reason: fmt.Sprintf("%s: %v", ReasonBadJSON, err)}
		return
	}
	if dec.More() {
		pr.bad = RowError{Row: line, Reason: ReasonBadJSON + ": more than one value on the line"}
		return
	}
	pr.obj = obj
	return
}
