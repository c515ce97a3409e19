package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The reader keeps the file and decodes strings on demand; what it reads
// must be what encoding/json reads from the same bytes: escapes, surrogate
// pairs, any layout, unknown keys (skipped, brackets inside strings
// included), null columns, the count after the columns.
func TestDisplayReaderMatchesEncodingJSON(t *testing.T) {
	docs := []string{
		`{"format":"lookalike-catalog","version":1,"count":3,"id":["a","b\"q","\u00e9\ud83d\ude00"],` +
			`"title":["T\\1","tab\there","\/slash"],"url":["/p/a","https://x.test/b?q=1&r=\u0026","javascript:x"],` +
			`"price":["1.00","","3"],"currency":{"column":"currency","values":["EUR"],"index":[0,0,0]},` +
			`"section":{"column":"masterCategory","values":["Apparel","Foot\"wear"],"index":[1,0,1]},` +
			`"attributes":[{"column":"baseColour","values":["Red","Blue"],"index":[0,1,1]},{"column":"size","values":["M"],"index":[0,0,0],"extra":{"x":["]","}"]}}],` +
			`"thumbs":["s.jpg#xywh=0,0,60,80","s.jpg#xywh=60,0,60,80",""],"unknown":{"nested":[1,{"a":"]}"}],"s":"{["}}`,
		"{\n  \"thumb\" : \"thumbs/{id}-{i}.jpg\",\n  \"id\" : [ \"x/1\" , \"y z\" ],\n  \"title\" : null,\n  \"section\" : null,\n" +
			"  \"format\" : \"lookalike-catalog\" , \"version\" : 1 , \"count\" : 2 }\n",
	}
	for k, doc := range docs {
		ds, err := ParseDisplay([]byte(doc))
		if err != nil {
			t.Fatalf("doc %d: %v", k, err)
		}
		var ref displayJSON
		if err := json.Unmarshal([]byte(doc), &ref); err != nil {
			t.Fatal(err)
		}
		at := func(c []string, i int) string {
			if c == nil {
				return ""
			}
			return c[i]
		}
		dat := func(c *dictColumn, i int) string {
			if c == nil {
				return ""
			}
			return c.Values[c.Index[i]]
		}
		for i := 0; i < ds.Len(); i++ {
			it := ds.Item(i)
			u, _ := SafeURL(at(ref.URL, i))
			thumb := at(ref.Thumbs, i)
			if ref.Thumbs == nil && ref.Thumb != "" {
				thumb = strings.NewReplacer("{id}", pathEscape(ref.ID[i]), "{i}", fmt.Sprint(i)).Replace(ref.Thumb)
			}
			want := DisplayItem{ID: ref.ID[i], Title: at(ref.Title, i), URL: u, Price: at(ref.Price, i),
				Currency: dat(ref.Currency, i), Section: dat(ref.Section, i), Thumb: thumb, Attrs: map[string]string{}}
			for _, a := range ref.Attributes {
				want.Attrs[a.Column] = a.Values[a.Index[i]]
			}
			if fmt.Sprint(it) != fmt.Sprint(want) {
				t.Errorf("doc %d item %d:\n got %+v\nwant %+v", k, i, it, want)
			}
			if j, ok := ds.IndexOf(ref.ID[i]); !ok || j != i {
				t.Errorf("doc %d: IndexOf(%q) = %d, %v", k, ref.ID[i], j, ok)
			}
		}
		if _, ok := ds.IndexOf("nope"); ok {
			t.Errorf("doc %d: found an id that is not there", k)
		}
	}
	bad := map[string]string{
		"an id twice, once escaped": `{"format":"lookalike-catalog","version":1,"count":2,"id":["a","\u0061"]}`,
		"a fractional count":        `{"format":"lookalike-catalog","version":1,"count":1.5,"id":["a"]}`,
		"an exponent index":         `{"format":"lookalike-catalog","version":1,"count":1,"id":["a"],"section":{"values":["s"],"index":[1e0]}}`,
		"a negative index":          `{"format":"lookalike-catalog","version":1,"count":1,"id":["a"],"section":{"values":["s"],"index":[-1]}}`,
		"a number for an id":        `{"format":"lookalike-catalog","version":1,"count":1,"id":[7]}`,
		"a string for a column":     `{"format":"lookalike-catalog","version":1,"count":1,"id":["a"],"title":"T"}`,
		"an object for a section":   `{"format":"lookalike-catalog","version":1,"count":1,"id":["a"],"section":[]}`,
		"a truncated file":          `{"format":"lookalike-catalog","version":1,"count":1,"id":["a"`,
		"a number for the format":   `{"format":1,"version":1,"count":0,"id":[]}`,
	}
	for name, doc := range bad {
		if _, err := ParseDisplay([]byte(doc)); !errors.Is(err, ErrDisplay) {
			t.Errorf("%s: err = %v, want ErrDisplay", name, err)
		}
	}
}
