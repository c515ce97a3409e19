package cf

import (
	"strings"
	"testing"
)

func TestReadLogColumns(t *testing.T) {
	tests := []struct {
		name, csv string
		users     []string
		items     []string
		weights   []float64
		hasTime   bool
		userCol   string
	}{
		{"plain", "user,item\nu1,a\nu2,b\n", []string{"u1", "u2"}, []string{"a", "b"}, []float64{1, 1}, false, "user"},
		{"session ids and events", "session_id,item_id,event\ns,a,view\ns,b,cart\nt,a,PURCHASE\n", []string{"s", "t"}, []string{"a", "b"}, []float64{1, 3, 5}, false, "session_id"},
		{"amazon ratings", "user_id,item_id,rating,sentiment\nA,x,4,0.9\nB,y,1,-0.8\n", []string{"A", "B"}, []string{"x", "y"}, []float64{4, 1}, false, "user_id"},
		{"polyvore", "outfit_idx,split,position,item_id,semantic_category\n0,train,0,11,bags\n0,train,1,12,shoes\n", []string{"0"}, []string{"11", "12"}, []float64{1, 1}, false, "outfit_idx"},
		{"timestamps both forms, BOM, spaces", "\ufeff User , Item ,timestamp\nu,a,1700000000\nu,b,2023-11-14T22:13:20Z\n", []string{"u"}, []string{"a", "b"}, []float64{1, 1}, true, " User "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, errs, err := ReadLog(strings.NewReader(tc.csv), ReadOptions{})
			if err != nil || len(errs) != 0 {
				t.Fatalf("ReadLog: err %v, row errors %v", err, errs)
			}
			if strings.Join(l.Users, "|") != strings.Join(tc.users, "|") || strings.Join(l.Items, "|") != strings.Join(tc.items, "|") {
				t.Errorf("users %q items %q, want %q %q", l.Users, l.Items, tc.users, tc.items)
			}
			if len(l.Rows) != len(tc.weights) {
				t.Fatalf("%d rows, want %d", len(l.Rows), len(tc.weights))
			}
			for i, r := range l.Rows {
				if r.Weight != tc.weights[i] {
					t.Errorf("row %d weight %g, want %g", i, r.Weight, tc.weights[i])
				}
				if r.Line != i+2 {
					t.Errorf("row %d line %d, want %d", i, r.Line, i+2)
				}
			}
			if l.HasTime != tc.hasTime || l.UserColumn != tc.userCol {
				t.Errorf("HasTime %v UserColumn %q, want %v %q", l.HasTime, l.UserColumn, tc.hasTime, tc.userCol)
			}
			if tc.hasTime && (l.Rows[0].Time != 1700000000 || l.Rows[1].Time != 1700000000) {
				t.Errorf("times %d %d, want 1700000000 twice", l.Rows[0].Time, l.Rows[1].Time)
			}
		})
	}
}

func TestReadLogMissingColumn(t *testing.T) {
	for _, tc := range []struct{ csv, want string }{
		{"item,event\na,view\n", "no user column"},
		{"user,product\nu,a\n", "no item column"},
		{"", "empty"},
	} {
		_, _, err := ReadLog(strings.NewReader(tc.csv), ReadOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "cf: ") {
			t.Errorf("%q: err %v, want one containing %q", tc.csv, err, tc.want)
		}
	}
	_, _, err := ReadLog(strings.NewReader("user,item\nu,a\n"), ReadOptions{SplitColumn: "split", Splits: []string{"train"}})
	if err == nil || !strings.Contains(err.Error(), `"split"`) {
		t.Errorf("missing split column: err %v", err)
	}
}

func TestReadLogMalformedRows(t *testing.T) {
	in := strings.Join([]string{
		"user,item,event,timestamp", // 1
		"u1,a,view,1700000000",      // 2 ok
		",a,view,1700000000",        // 3 missing user
		"u1,,view,1700000000",       // 4 missing item
		"u1,b,stare,1700000000",     // 5 unknown event
		"u1,b,-2,1700000000",        // 6 negative weight
		"u1,b,view,yesterday",       // 7 bad timestamp
		"u1,b,view,1700000000000",   // 8 milliseconds
		"u1,b,view",                 // 9 wrong field count
		`u1,"b,view,1700000000`,     // 10 broken quote swallows the rest? no: see below
	}, "\n") + "\n"
	// Line 10's open quote runs to EOF, so put the good row before it.
	in = strings.Replace(in, "u1,b,view\n", "u1,b,view\nu2,c,cart,2023-11-14T22:13:20+01:00\n", 1)
	l, errs, err := ReadLog(strings.NewReader(in), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantLines := []int{3, 4, 5, 6, 7, 8, 9, 11}
	if len(errs) != len(wantLines) {
		t.Fatalf("row errors %v, want lines %v", errs, wantLines)
	}
	for i, e := range errs {
		if e.Line != wantLines[i] {
			t.Errorf("error %d on line %d (%s), want line %d", i, e.Line, e.Reason, wantLines[i])
		}
		if !strings.Contains(e.Error(), "line ") {
			t.Errorf("error text %q lacks the line", e.Error())
		}
	}
	if l.BadRows != len(wantLines) || len(l.Rows) != 2 || l.Rows[1].Line != 10 || l.Items[l.Rows[1].Item] != "c" {
		t.Errorf("BadRows %d, rows %+v", l.BadRows, l.Rows)
	}
	// MaxRowErrors caps the list but not the count.
	l, errs, _ = ReadLog(strings.NewReader(in), ReadOptions{MaxRowErrors: 2})
	if len(errs) != 2 || l.BadRows != len(wantLines) {
		t.Errorf("capped: %d errors, BadRows %d", len(errs), l.BadRows)
	}
}

func TestReadLogSplit(t *testing.T) {
	in := "outfit_idx,split,item_id\n0,train,a\n0,train,b\n1,test,c\n2,valid,d\n"
	l, _, err := ReadLog(strings.NewReader(in), ReadOptions{SplitColumn: "split", Splits: []string{"train", "valid"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(l.Items, ",") != "a,b,d" || l.FilteredRows != 1 {
		t.Errorf("items %v filtered %d, want a,b,d and 1", l.Items, l.FilteredRows)
	}
}

func FuzzReadLog(f *testing.F) {
	f.Add("user,item,event,timestamp\nu,a,view,1700000000\nu,b,cart,2023-11-14T22:13:20Z\n")
	f.Add("user_id,item_id,rating\nA,x,4\n,y,2\nB,z,nan\n")
	f.Add("session,item\n\"s\n1\",a\ns,\"b\n")
	f.Add("outfit_idx,split,item_id\n0,train,1\n0,test\n")
	f.Fuzz(func(t *testing.T, in string) {
		l, errs, err := ReadLog(strings.NewReader(in), ReadOptions{SplitColumn: "", MaxRowErrors: 50})
		if err != nil {
			return
		}
		if l.BadRows < len(errs) {
			t.Fatalf("BadRows %d < %d errors", l.BadRows, len(errs))
		}
		prev := 0
		for _, r := range l.Rows {
			if int(r.User) >= len(l.Users) || int(r.Item) >= len(l.Items) || r.User < 0 || r.Item < 0 {
				t.Fatalf("row %+v out of range", r)
			}
			if r.Line <= prev || r.Weight < 0 {
				t.Fatalf("row %+v after line %d", r, prev)
			}
			prev = r.Line
		}
		for _, e := range errs {
			if e.Line < 2 {
				t.Fatalf("row error on line %d", e.Line)
			}
		}
		if _, err := Build(l, DefaultOptions()); err != nil {
			t.Fatalf("Build on a parsed log: %v", err)
		}
	})
}
