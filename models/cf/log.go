package cf

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Column names ReadLog recognises (case-insensitive, surrounding spaces
// ignored). The first match in each list wins.
var (
	userColumns  = []string{"user", "session", "user_id", "session_id", "outfit_idx"}
	itemColumns  = []string{"item", "item_id"}
	eventColumns = []string{"event", "rating"}
	timeColumns  = []string{"timestamp"}
)

// DefaultEventWeights maps event names to weights: a purchase says more than
// a cart, a cart more than a view. A numeric event or rating cell is used as
// the weight directly.
var DefaultEventWeights = map[string]float64{
	"view":     1,
	"click":    1,
	"like":     2,
	"cart":     3,
	"purchase": 5,
}

// Interaction is one accepted row of a log. User and Item index Log.Users
// and Log.Items.
type Interaction struct {
	User, Item int32
	Weight     float64 // event weight, before time decay
	Time       int64   // unix seconds; meaningful only if Log.HasTime
	Line       int     // 1-based line in the input
}

// Log is a parsed interactions log. Users and items are interned in order of
// first appearance, so the same file always gives the same indices.
type Log struct {
	Users   []string
	Items   []string
	Rows    []Interaction
	HasTime bool

	// Columns names the header cells that were used (empty if absent).
	UserColumn, ItemColumn, EventColumn, TimeColumn string
	// FilteredRows counts well-formed rows dropped by ReadOptions.Splits.
	FilteredRows int
	// BadRows counts malformed rows (all of them, even past MaxRowErrors).
	BadRows int

	userIndex, itemIndex map[string]int32
}

// UserIndex returns the index of a user id, or -1.
func (l *Log) UserIndex(id string) int32 {
	if i, ok := l.userIndex[id]; ok {
		return i
	}
	return -1
}

// ItemIndex returns the index of an item id, or -1.
func (l *Log) ItemIndex(id string) int32 {
	if i, ok := l.itemIndex[id]; ok {
		return i
	}
	return -1
}

// RowError is a malformed row: it is skipped, not fatal.
type RowError struct {
	Line   int // 1-based line number in the input
	Reason string
}

func (e RowError) Error() string { return fmt.Sprintf("cf: line %d: %s", e.Line, e.Reason) }

// ReadOptions tunes ReadLog. The zero value reads every row with
// DefaultEventWeights.
type ReadOptions struct {
	// SplitColumn and Splits keep only rows whose SplitColumn cell is one of
	// Splits (e.g. "split" and {"train","valid"}). Both empty: keep all.
	SplitColumn string
	Splits      []string
	// EventWeights overrides DefaultEventWeights for named events.
	EventWeights map[string]float64
	// MaxRowErrors caps the RowErrors returned (Log.BadRows still counts
	// all). 0 means 1000.
	MaxRowErrors int
}

// ReadLog parses an interactions CSV with a header row. A header without a
// user/session column or without an item column is an error naming what is
// missing; malformed data rows (missing user or item, bad event or rating,
// bad timestamp, wrong field count, broken quoting) are returned as
// RowErrors and skipped. Timestamps are unix seconds (integer or decimal) or
// RFC 3339.
func ReadLog(r io.Reader, opt ReadOptions) (*Log, []RowError, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, errors.New("cf: interactions log is empty (want a header row)")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cf: reading header: %w", err)
	}
	header = append([]string(nil), header...)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	find := func(names []string) int {
		for _, n := range names {
			for i, h := range header {
				if strings.EqualFold(strings.TrimSpace(h), n) {
					return i
				}
			}
		}
		return -1
	}
	ui, ii, ei, ti := find(userColumns), find(itemColumns), find(eventColumns), find(timeColumns)
	if ui < 0 {
		return nil, nil, fmt.Errorf("cf: header %q has no user column (want one of %s)", strings.Join(header, ","), strings.Join(userColumns, ", "))
	}
	if ii < 0 {
		return nil, nil, fmt.Errorf("cf: header %q has no item column (want one of %s)", strings.Join(header, ","), strings.Join(itemColumns, ", "))
	}
	si := -1
	keep := map[string]bool{}
	if opt.SplitColumn != "" {
		si = find([]string{opt.SplitColumn})
		if si < 0 {
			return nil, nil, fmt.Errorf("cf: header %q has no split column %q", strings.Join(header, ","), opt.SplitColumn)
		}
		for _, s := range opt.Splits {
			keep[s] = true
		}
	}
	maxErrs := opt.MaxRowErrors
	if maxErrs <= 0 {
		maxErrs = 1000
	}
	l := &Log{
		UserColumn: header[ui], ItemColumn: header[ii],
		HasTime:   ti >= 0,
		userIndex: map[string]int32{}, itemIndex: map[string]int32{},
	}
	if ei >= 0 {
		l.EventColumn = header[ei]
	}
	if ti >= 0 {
		l.TimeColumn = header[ti]
	}
	var rowErrs []RowError
	bad := func(line int, format string, args ...any) {
		l.BadRows++
		if len(rowErrs) < maxErrs {
			rowErrs = append(rowErrs, RowError{Line: line, Reason: fmt.Sprintf(format, args...)})
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad(pe.StartLine, "%v", pe.Err)
				continue
			}
			return nil, nil, fmt.Errorf("cf: reading interactions: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			bad(line, "has %d fields, header has %d", len(rec), len(header))
			continue
		}
		if si >= 0 && len(keep) > 0 && !keep[strings.TrimSpace(rec[si])] {
			l.FilteredRows++
			continue
		}
		user, item := strings.TrimSpace(rec[ui]), strings.TrimSpace(rec[ii])
		if user == "" {
			bad(line, "missing %s", header[ui])
			continue
		}
		if item == "" {
			bad(line, "missing %s", header[ii])
			continue
		}
		w := 1.0
		if ei >= 0 {
			w, err = eventWeight(rec[ei], opt.EventWeights)
			if err != nil {
				bad(line, "%s: %v", header[ei], err)
				continue
			}
		}
		var ts int64
		if ti >= 0 {
			ts, err = parseTime(rec[ti])
			if err != nil {
				bad(line, "%s: %v", header[ti], err)
				continue
			}
		}
		l.Rows = append(l.Rows, Interaction{
			User: intern(&l.Users, l.userIndex, user), Item: intern(&l.Items, l.itemIndex, item),
			Weight: w, Time: ts, Line: line,
		})
	}
	return l, rowErrs, nil
}

func intern(names *[]string, index map[string]int32, s string) int32 {
	if i, ok := index[s]; ok {
		return i
	}
	i := int32(len(*names))
	*names = append(*names, s)
	index[s] = i
	return i
}

func eventWeight(cell string, custom map[string]float64) (float64, error) {
	s := strings.ToLower(strings.TrimSpace(cell))
	if s == "" {
		return 0, errors.New("empty event")
	}
	if w, ok := custom[s]; ok {
		return w, nil
	}
	if w, ok := DefaultEventWeights[s]; ok {
		return w, nil
	}
	w, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("unknown event %q (want view, click, like, cart, purchase or a number)", cell)
	}
	if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
		return 0, fmt.Errorf("weight %q is not a finite number ≥ 0", cell)
	}
	return w, nil
}

// Unix seconds outside years 1970..2200 are refused as likely milliseconds
// or garbage.
const maxUnix = 7258118400

func parseTime(cell string) (int64, error) {
	s := strings.TrimSpace(cell)
	if s == "" {
		return 0, errors.New("empty timestamp")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || f < 0 || f > maxUnix {
			return 0, fmt.Errorf("unix time %q out of range (want seconds since 1970)", cell)
		}
		return int64(f), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("timestamp %q is neither unix seconds nor RFC 3339", cell)
	}
	u := t.Unix()
	if u < 0 || u > maxUnix {
		return 0, fmt.Errorf("timestamp %q out of range", cell)
	}
	return u, nil
}
