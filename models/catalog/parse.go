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
	// Warnings are problems with the row that did not cost the product:
	// a value was dropped (an unsafe url), the row was kept.
	Warnings []RowError
}

// RowError is a problem with one row; the row is skipped, parsing goes on.
type RowError struct {
	Row    int    // 1-based line number in the file
	ID     string // the row's id if it had one
	Column string // the offending column, if one
	Reason string
	Detail string // more about the problem, if there is more to say
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
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
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
	ReasonBadIDType    = "id is not a string or a number"
	ReasonIDTooLong    = "id too long"
	ReasonFieldTooLong = "value too long"
	ReasonRowTooLong   = "row too long"
	ReasonOutsideImage = "image outside the catalogue folder"
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

// Limits of a parse; a row breaking one is a RowError, never a fatal
// error, and is never held in memory whole.
const (
	// DefaultMaxFieldBytes bounds one value (a title, a url, an attribute).
	DefaultMaxFieldBytes = 16 << 10
	// DefaultMaxRowBytes bounds one CSV record or JSON Lines line.
	DefaultMaxRowBytes = 256 << 10
	// MaxIDBytes bounds an id: the edge API refuses longer ones in a URL.
	MaxIDBytes = 256
)

// Options tune a parse; the zero value gives the defaults.
type Options struct {
	MaxFieldBytes int // 0 = DefaultMaxFieldBytes
	MaxRowBytes   int // 0 = DefaultMaxRowBytes
	// ImageRoot is the folder every image path must stay inside once
	// resolved ("" = the catalogue's own folder; "/" allows any path).
	// The check is on the path's text; whoever opens the file checks
	// symbolic links.
	ImageRoot string
}

func (o Options) withDefaults() Options {
	if o.MaxFieldBytes <= 0 {
		o.MaxFieldBytes = DefaultMaxFieldBytes
	}
	if o.MaxRowBytes <= 0 {
		o.MaxRowBytes = DefaultMaxRowBytes
	}
	return o
}

// anyImage is the ImageRoot of Parse and ParseFile.
var anyImage = Options{ImageRoot: string(filepath.Separator)}

// ParseFile reads the catalogue at path with the default limits and any
// image path accepted: for tools that read a catalogue's rows without
// publishing its photos (split, eval). The builder uses ParseFileOptions.
func ParseFile(path string) (*Catalog, error) { return ParseFileOptions(path, anyImage) }

// ParseFileOptions reads the catalogue at path; images resolve against its
// directory.
func ParseFileOptions(path string, opt Options) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer f.Close()
	c, err := ParseOptions(f, path, opt)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return c, nil
}

// Parse reads a catalogue from r with the default limits and any image
// path accepted (as ParseFile). name is the file's path: its extension
// picks JSON Lines (.jsonl, .ndjson; otherwise a first byte '{') or CSV,
// and its directory is where relative image paths resolve.
func Parse(r io.Reader, name string) (*Catalog, error) { return ParseOptions(r, name, anyImage) }

// ParseOptions is Parse with limits and an image root.
func ParseOptions(r io.Reader, name string, opt Options) (*Catalog, error) {
	opt = opt.withDefaults()
	br := bufio.NewReaderSize(r, 64<<10)
	// Drop a UTF-8 byte order mark.
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	dir := filepath.Dir(name)
	if name == "" {
		dir = "."
	}
	root := opt.ImageRoot
	if root == "" {
		root = dir
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("catalog: image root %s: %w", root, err)
	}
	ext := strings.ToLower(filepath.Ext(name))
	jsonl := ext == ".jsonl" || ext == ".ndjson"
	if !jsonl && ext != ".csv" {
		if b, err := br.Peek(1); err == nil && b[0] == '{' {
			jsonl = true
		}
	}
	p := &parser{c: &Catalog{Dir: dir}, seen: map[string]int{}, opt: opt, root: absRoot, rootName: root}
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
	opt   Options
	root  string // absolute ImageRoot
	// rootName is the image root as given, for messages.
	rootName string
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
		if len(name) > p.opt.MaxFieldBytes {
			return fmt.Errorf("catalog: header column %d is longer than %d bytes", i+1, p.opt.MaxFieldBytes)
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
	fail := func(col, reason, detail string) {
		e := RowError{Row: line, Column: col, Reason: reason, Detail: detail}
		if utf8.ValidString(id) && len(id) <= MaxIDBytes {
			e.ID = id
		}
		p.c.RowErrors = append(p.c.RowErrors, e)
	}
	for i, v := range rec {
		col := ""
		if i < len(p.c.Header) {
			col = p.c.Header[i]
		}
		if !utf8.ValidString(v) {
			fail(col, ReasonInvalidUTF8, "")
			return
		}
		if len(v) > p.opt.MaxFieldBytes {
			fail(col, ReasonFieldTooLong, fmt.Sprintf("%d bytes, the limit is %d", len(v), p.opt.MaxFieldBytes))
			return
		}
	}
	idCol := p.c.Header[p.cols[ColID]]
	switch {
	case id == "":
		fail(idCol, ReasonEmptyID, "")
		return
	case len(id) > MaxIDBytes:
		fail(idCol, ReasonIDTooLong, fmt.Sprintf("%d bytes, the limit is %d", len(id), MaxIDBytes))
		return
	}
	if first, dup := p.seen[id]; dup {
		fail(idCol, fmt.Sprintf("%s (first on line %d)", ReasonDuplicateID, first), "")
		return
	}
	img := strings.TrimSpace(get(ColImage))
	imgCol := p.c.Header[p.cols[ColImage]]
	switch low := strings.ToLower(img); {
	case img == "":
		fail(imgCol, ReasonMissingImage, "")
		return
	case strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://"):
		fail(imgCol, ReasonRemoteImage, "")
		return
	case strings.Contains(img, "://") || strings.HasPrefix(low, "data:"):
		fail(imgCol, ReasonBadScheme, "")
		return
	}
	if !filepath.IsAbs(img) {
		img = filepath.Join(p.c.Dir, filepath.FromSlash(img))
	}
	if !p.inside(img) {
		fail(imgCol, ReasonOutsideImage, fmt.Sprintf("%s leaves %s", quotePrefix(get(ColImage), 200), p.rootName))
		return
	}
	p.seen[id] = line
	it := Item{
		Row: line, ID: id, Image: img,
		Title: strings.TrimSpace(get(ColTitle)),
		Price: strings.TrimSpace(get(ColPrice)), Currency: strings.TrimSpace(get(ColCurrency)),
		Attrs: make(map[string]string, len(p.c.Attributes)),
	}
	if u := strings.TrimSpace(get(ColURL)); u != "" {
		if safe, ok := SafeURL(u); ok {
			it.URL = safe
		} else {
			it.Warnings = append(it.Warnings, RowError{Row: line, ID: id, Column: p.c.Header[p.cols[ColURL]],
				Reason: ReasonUnsafeURL, Detail: "dropped " + quotePrefix(u, 80) + "; only http:, https: and relative links are kept"})
		}
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

// inside reports whether the resolved image path stays in the image root.
func (p *parser) inside(img string) bool {
	abs, err := filepath.Abs(img)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(p.root, abs)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// quotePrefix quotes at most n bytes of s (cut at a rune boundary) for a
// message: control characters come out escaped.
func quotePrefix(s string, n int) string {
	if len(s) <= n {
		return strconv.Quote(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strconv.Quote(s[:n]) + "…"
}

func (p *parser) csv(r *bufio.Reader) error {
	recs := &recordReader{r: r, max: p.opt.MaxRowBytes, csv: true}
	var header []string
	for {
		b, line, tooLong, err := recs.next()
		if err == io.EOF {
			if header == nil {
				return errors.New("catalog: the catalogue is empty (no header row)")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("catalog: reading CSV after line %d: %w", recs.line, err)
		}
		if tooLong {
			if header == nil {
				return fmt.Errorf("catalog: the header row is longer than %d bytes", p.opt.MaxRowBytes)
			}
			p.c.RowErrors = append(p.c.RowErrors, RowError{Row: line, Reason: ReasonRowTooLong,
				Detail: fmt.Sprintf("over %d bytes, the limit", p.opt.MaxRowBytes)})
			continue
		}
		// Each record is read on its own, so a huge one is skipped
		// without being held; line numbers are offset to the file's.
		cr := csv.NewReader(bytes.NewReader(b))
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return csvError(err, line-1)
			}
			at, _ := cr.FieldPos(0)
			at += line - 1
			if header == nil {
				for i := range rec {
					rec[i] = strings.TrimSpace(rec[i])
				}
				if err := p.setHeader(rec); err != nil {
					return err
				}
				header = rec
				continue
			}
			if len(rec) != len(header) {
				p.c.RowErrors = append(p.c.RowErrors, RowError{Row: at, Reason: fmt.Sprintf("%s: %d, the header has %d", ReasonFieldCount, len(rec), len(header))})
				continue
			}
			p.row(at, rec)
		}
	}
}

// csvError reports a CSV syntax error with its line (offset lines before
// the record it came from); these are fatal since after broken quoting
// the rest of the file cannot be trusted.
func csvError(err error, offset int) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("catalog: CSV syntax error on line %d, column %d (record starting on line %d): %v; "+
			"quote fields containing commas, quotes or newlines, and double quotes inside them (RFC 4180)",
			pe.Line+offset, pe.Column, pe.StartLine+offset, pe.Err)
	}
	return fmt.Errorf("catalog: reading CSV: %w", err)
}

// recordReader cuts the input into records without holding more than max
// bytes of one: lines, or for CSV lines joined while a quoted field is
// open (RFC 4180: a newline outside quotes ends a record; a doubled quote
// inside a field flips the state twice).
type recordReader struct {
	r    *bufio.Reader
	max  int
	csv  bool
	line int // lines consumed so far
	buf  []byte
}

// next returns the next record with its line ending, the line it starts
// on, and whether it was longer than max (then b is empty: the rest was
// skipped). It returns io.EOF after the last record.
func (rr *recordReader) next() (b []byte, line int, tooLong bool, err error) {
	rr.buf = rr.buf[:0]
	line = rr.line + 1
	quoted, any := false, false
	for {
		chunk, err := rr.r.ReadSlice('\n')
		any = any || len(chunk) > 0
		if rr.csv {
			for _, c := range chunk {
				if c == '"' {
					quoted = !quoted
				}
			}
		}
		if !tooLong {
			if len(rr.buf)+len(chunk) > rr.max {
				tooLong, rr.buf = true, rr.buf[:0]
			} else {
				rr.buf = append(rr.buf, chunk...)
			}
		}
		switch {
		case len(chunk) > 0 && chunk[len(chunk)-1] == '\n':
			rr.line++
			if !quoted {
				return rr.buf, line, tooLong, nil
			}
		case err == bufio.ErrBufferFull:
		case err == io.EOF:
			if !any {
				return nil, line, false, io.EOF
			}
			rr.line++
			return rr.buf, line, tooLong, nil
		case err != nil:
			return nil, line, false, err
		}
	}
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
	lines := &recordReader{r: r, max: p.opt.MaxRowBytes}
	for {
		b, line, tooLong, err := lines.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("catalog: reading JSON Lines after line %d: %w", lines.line, err)
		}
		if tooLong {
			rows = append(rows, pending{line: line, bad: RowError{Row: line, Reason: ReasonRowTooLong,
				Detail: fmt.Sprintf("over %d bytes, the limit", p.opt.MaxRowBytes)}})
			continue
		}
		if b = bytes.TrimSpace(b); len(b) > 0 {
			obj, bad := parseJSONLine(line, b, &header, inHeader)
			rows = append(rows, pending{line, obj, bad})
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

// parseJSONLine decodes one object into column -> text. A value of the
// wrong type is reported with the row's id when the id itself is fine.
func parseJSONLine(line int, b []byte, header *[]string, inHeader map[string]bool) (map[string]string, RowError) {
	if !utf8.Valid(b) {
		return nil, RowError{Row: line, Reason: ReasonInvalidUTF8}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, RowError{Row: line, Reason: ReasonBadJSON}
	}
	obj := map[string]string{}
	var bad RowError
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, RowError{Row: line, Reason: fmt.Sprintf("%s: %v", ReasonBadJSON, err)}
		}
		key := kt.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, RowError{Row: line, Column: key, Reason: fmt.Sprintf("%s: %v", ReasonBadJSON, err)}
		}
		isID := strings.EqualFold(strings.TrimSpace(key), ColID)
		var s string
		switch x := v.(type) {
		case nil:
		case string:
			s = x
		case json.Number:
			s = x.String()
		case bool:
			if isID && bad.Reason == "" {
				bad = RowError{Row: line, Column: key, Reason: ReasonBadIDType, Detail: "a boolean"}
			}
			s = strconv.FormatBool(x)
		default:
			if bad.Reason == "" {
				bad = RowError{Row: line, Column: key, Reason: ReasonNotScalar, Detail: jsonKind(x)}
				if isID {
					bad.Reason = ReasonBadIDType
				}
			}
		}
		obj[key] = s
		if !inHeader[key] {
			inHeader[key] = true
			*header = append(*header, key)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, RowError{Row: line, Reason: fmt.Sprintf("%s: %v", ReasonBadJSON, err)}
	}
	if dec.More() {
		return nil, RowError{Row: line, Reason: ReasonBadJSON + ": more than one value on the line"}
	}
	if bad.Reason != "" {
		if bad.Reason != ReasonBadIDType {
			for k, v := range obj {
				if strings.EqualFold(strings.TrimSpace(k), ColID) && len(v) <= MaxIDBytes {
					bad.ID = strings.TrimSpace(v)
				}
			}
		}
		return nil, bad
	}
	return obj, RowError{}
}

// jsonKind names a decoded JSON value's type for a message.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
