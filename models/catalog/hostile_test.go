package catalog

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Catalogue columns are hostile input (issue #14): these tests feed what a
// careless or malicious feed holds.

// TestSafeURL runs the cases static/lookalike/safeurl.js is tested on too
// (testdata/safeurl.json): one rule for Go and the browser.
func TestSafeURL(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "safeurl.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases [][3]any `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 20 {
		t.Fatalf("%d cases", len(doc.Cases))
	}
	for _, c := range doc.Cases {
		in, want, ok := c[0].(string), c[1].(string), c[2].(bool)
		got, gotOK := SafeURL(in)
		if got != want || gotOK != ok {
			t.Errorf("SafeURL(%q) = %q, %v; want %q, %v", in, got, gotOK, want, ok)
		}
	}
}

func TestUnsafeURLDroppedProductKept(t *testing.T) {
	c := parseString(t, "shop/catalog.csv", "id,image,title,url\n"+
		"1,a.jpg,<img src=x onerror=alert(1)>,javascript:alert(3)\n"+
		"2,b.jpg,ok,https://shop.example/2\n"+
		"3,c.jpg,data,\"data:text/html,<script>alert(1)</script>\"\n")
	if len(c.Items) != 3 || len(c.RowErrors) != 0 {
		t.Fatalf("items %d, row errors %v; want all 3 kept", len(c.Items), c.RowErrors)
	}
	for _, i := range []int{0, 2} {
		it := c.Items[i]
		if it.URL != "" || len(it.Warnings) != 1 || it.Warnings[0].Reason != ReasonUnsafeURL || it.Warnings[0].Column != "url" || it.Warnings[0].Row != i+2 {
			t.Errorf("item %s: url %q warnings %+v; want the url dropped with one %q warning", it.ID, it.URL, it.Warnings, ReasonUnsafeURL)
		}
	}
	if c.Items[0].Title != "<img src=x onerror=alert(1)>" {
		t.Errorf("title changed: %q (it is text; the page shows it as text)", c.Items[0].Title)
	}
	if c.Items[1].URL != "https://shop.example/2" || len(c.Items[1].Warnings) != 0 {
		t.Errorf("a good url was touched: %+v", c.Items[1])
	}
	disp, err := BuildDisplay(c.Items, c.Header, DisplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(disp), "javascript:") || strings.Contains(string(disp), "data:text") {
		t.Errorf("the display file carries an unsafe url: %s", disp)
	}
}

// A display file written by hand or by an older builder: the reader drops
// unsafe urls too, so the engine and the edge API never hand one out.
func TestDisplayDropsUnsafeURL(t *testing.T) {
	d, err := ParseDisplay([]byte(`{"format":"lookalike-catalog","version":1,"count":3,"id":["a","b","c"],` +
		`"url":["JaVaScRiPt:alert(1)","/p/b","java\tscript:x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"", "/p/b", ""} {
		if got := d.Item(i).URL; got != want {
			t.Errorf("item %d url %q, want %q", i, got, want)
		}
	}
}

func TestImagePathsStayInTheCatalogueFolder(t *testing.T) {
	in := "id,image\n" +
		"1,images/a.jpg\n" +
		"2,../../elsewhere/secret.jpg\n" +
		"3,/etc/passwd\n" +
		"4,images/../../x.jpg\n" +
		"5,images/../b.jpg\n" +
		"6,..\n"
	c, err := ParseOptions(strings.NewReader(in), filepath.Join("shop", "catalog.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, it := range c.Items {
		kept = append(kept, it.ID)
	}
	if strings.Join(kept, ",") != "1,5" {
		t.Errorf("kept %v, want 1 and 5", kept)
	}
	for _, e := range c.RowErrors {
		if e.Reason != ReasonOutsideImage || e.Column != "image" || e.ID == "" {
			t.Errorf("row error %+v, want %q on column image with the id", e, ReasonOutsideImage)
		}
		if strings.Contains(e.Detail, string(filepath.Separator)+"work") {
			t.Errorf("detail %q names an absolute folder of this machine", e.Detail)
		}
	}
	if len(c.RowErrors) != 4 {
		t.Errorf("%d row errors, want 4: %v", len(c.RowErrors), c.RowErrors)
	}
	// An explicit root lets the shop keep photos elsewhere; Parse (for
	// split and eval, which publish nothing) accepts any path.
	if c, err := Parse(strings.NewReader(in), filepath.Join("shop", "catalog.csv")); err != nil || len(c.Items) != 6 {
		t.Errorf("Parse: %v, %d items; want all 6", err, len(c.Items))
	}
	c, err = ParseOptions(strings.NewReader(in), filepath.Join("shop", "catalog.csv"), Options{ImageRoot: string(filepath.Separator)})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Items) != 6 {
		t.Errorf("with ImageRoot /: %d items, want 6 (%v)", len(c.Items), c.RowErrors)
	}
}

func TestFieldAndRowLimits(t *testing.T) {
	long := strings.Repeat("x", 200)
	in := "id,image,title\n" +
		"1,a.jpg,short\n" +
		"2,b.jpg," + long + "\n" +
		"3,c.jpg,\"" + strings.Repeat("y\n", 300) + "\"\n" + // 300 lines, 600 bytes
		strings.Repeat("z", 300) + ",d.jpg,t\n" +
		"5,e.jpg,after\n"
	c, err := ParseOptions(strings.NewReader(in), "c.csv", Options{MaxFieldBytes: 100, MaxRowBytes: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Items) != 2 || c.Items[0].ID != "1" || c.Items[1].ID != "5" || c.Items[1].Row != 306 {
		t.Fatalf("items %+v, want 1 and 5 (line 306)", c.Items)
	}
	want := []struct {
		row    int
		id     string
		reason string
	}{{3, "2", ReasonFieldTooLong}, {4, "", ReasonRowTooLong}, {305, "", ReasonFieldTooLong}}
	if len(c.RowErrors) != len(want) {
		t.Fatalf("row errors %v", c.RowErrors)
	}
	for i, w := range want {
		e := c.RowErrors[i]
		if e.Row != w.row || e.ID != w.id || e.Reason != w.reason || e.Detail == "" {
			t.Errorf("row error %d: %+v, want row %d id %q reason %q with a detail", i, e, w.row, w.id, w.reason)
		}
	}
	// The defaults: an id over MaxIDBytes is refused (the edge API could
	// not look it up).
	c = parseString(t, "c.csv", "id,image\n"+strings.Repeat("i", MaxIDBytes+1)+",a.jpg\n")
	if len(c.Items) != 0 || len(c.RowErrors) != 1 || c.RowErrors[0].Reason != ReasonIDTooLong {
		t.Errorf("long id: items %d errors %v", len(c.Items), c.RowErrors)
	}
}

// hugeField streams a CSV whose second row has a title of n bytes.
type hugeField struct {
	head, tail string
	n, off     int
}

func (h *hugeField) Read(b []byte) (int, error) {
	total := len(h.head) + h.n + len(h.tail)
	if h.off >= total {
		return 0, io.EOF
	}
	i := 0
	for i < len(b) && h.off < total {
		switch {
		case h.off < len(h.head):
			b[i] = h.head[h.off]
		case h.off < len(h.head)+h.n:
			b[i] = 'A'
		default:
			b[i] = h.tail[h.off-len(h.head)-h.n]
		}
		i++
		h.off++
	}
	return i, nil
}

// A 256 MB title (the probe used 1 GB) is skipped as one row without being
// held: the parse allocates a bounded amount, whatever the field's size.
func TestHugeFieldIsNotHeld(t *testing.T) {
	for _, jsonl := range []bool{false, true} {
		src := &hugeField{head: "id,image,title\n1,a.jpg,ok\n2,b.jpg,", tail: "\n3,c.jpg,fine\n", n: 256 << 20}
		name, row := "c.csv", 3
		if jsonl {
			row = 2
			src = &hugeField{head: `{"id":"1","image":"a.jpg"}` + "\n" + `{"id":"2","image":"b.jpg","title":"`, tail: "\"}\n" + `{"id":"3","image":"c.jpg"}` + "\n", n: 256 << 20}
			name = "c.jsonl"
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c, err := Parse(src, name)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Items) != 2 || len(c.RowErrors) != 1 || c.RowErrors[0].Reason != ReasonRowTooLong || c.RowErrors[0].Row != row {
			t.Fatalf("%s: items %d, errors %v; want 2 items and line %d too long", name, len(c.Items), c.RowErrors, row)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
			t.Errorf("%s: parsing allocated %d MB for a 256 MB field: it was held", name, alloc>>20)
		}
	}
}

func TestJSONLinesWrongTypes(t *testing.T) {
	c := parseString(t, "c.jsonl", `{"id":{"a":1},"image":"a.jpg"}`+"\n"+
		`{"id":["x"],"image":"b.jpg"}`+"\n"+
		`{"id":true,"image":"c.jpg"}`+"\n"+
		`{"id":null,"image":"d.jpg"}`+"\n"+
		`{"id":"e","image":"e.jpg","colour":{"r":1}}`+"\n"+
		`{"id":7,"image":"f.jpg"}`+"\n")
	if len(c.Items) != 1 || c.Items[0].ID != "7" {
		t.Fatalf("items %+v, want only id 7", c.Items)
	}
	want := []struct {
		id, col, reason, detail string
	}{
		{"", "id", ReasonBadIDType, "an object"},
		{"", "id", ReasonBadIDType, "an array"},
		{"", "id", ReasonBadIDType, "a boolean"},
		{"", "id", ReasonEmptyID, ""},
		{"e", "colour", ReasonNotScalar, "an object"},
	}
	if len(c.RowErrors) != len(want) {
		t.Fatalf("row errors %v", c.RowErrors)
	}
	for i, w := range want {
		e := c.RowErrors[i]
		if e.Row != i+1 || e.ID != w.id || e.Column != w.col || e.Reason != w.reason || e.Detail != w.detail {
			t.Errorf("row error %d: %+v, want row %d id %q column %q reason %q detail %q", i, e, i+1, w.id, w.col, w.reason, w.detail)
		}
	}
}

// The manifests of the probe: each used to pass one reader or another
// (an empty sha256 switched `builder query`'s check off; the page blamed
// the shopper's photo). Every reader now refuses them in ReadManifest.
func TestManifestRefusesInsaneEntries(t *testing.T) {
	sha := SHA256Hex([]byte("x"))
	asset := func(fields string) string {
		return `{"format_version":1,"item_count":2,"model":{"file":"model-0.onnx","sha256":"` + sha + `","size":1,"embedding":{"dim":8}},` +
			`"assets":[{"kind":"vectors","file":"vectors-0.bin",` + fields + `}]}`
	}
	good := asset(`"sha256":"` + sha + `","size":1`)
	if _, err := ReadManifest([]byte(good)); err != nil {
		t.Fatalf("the good manifest: %v", err)
	}
	bad := []struct{ name, in, want string }{
		{"empty sha256", asset(`"sha256":"","size":1`), "no sha256"},
		{"no sha256", asset(`"size":1`), "no sha256"},
		{"short sha256", asset(`"sha256":"abc","size":1`), "64 lower-case hex"},
		{"upper-case sha256", asset(`"sha256":"` + strings.ToUpper(sha) + `","size":1`), "64 lower-case hex"},
		{"negative size", asset(`"sha256":"` + sha + `","size":-1`), "size -1"},
		{"size 9e18", asset(`"sha256":"` + sha + `","size":9000000000000000000`), "size 9000000000000000000"},
		{"size over the asset limit", asset(`"sha256":"` + sha + `","size":26214401`), "size 26214401"},
		{"part without sha256", asset(`"sha256":"` + sha + `","size":1,"parts":[{"file":"vectors-0.bin.part0","size":1}]`), "no sha256"},
		{"parts over the total limit", asset(`"sha256":"` + sha + `","size":1073741825,"parts":[` + strings.Repeat(`{"file":"p","sha256":"`+sha+`","size":26214400},`, 40) + `{"file":"p","sha256":"` + sha + `","size":25165825}]`), "size 1073741825"},
		{"../ name", asset(`"sha256":"` + sha + `","size":1,"file":"../x.bin"`), "'..'"},
		{"dim 2^31", strings.Replace(good, `"dim":8`, `"dim":2147483648`, 1), "dim"},
		{"negative dim", strings.Replace(good, `"dim":8`, `"dim":-8`, 1), "dim"},
		{"item_count 2^40", strings.Replace(good, `"item_count":2`, `"item_count":1099511627776`, 1), "item_count"},
		{"model without sha256", strings.Replace(good, `"sha256":"`+sha+`","size":1,"embedding"`, `"size":1,"embedding"`, 1), "no sha256"},
		{"model size 9e18", strings.Replace(good, `"size":1,"embedding"`, `"size":9000000000000000000,"embedding"`, 1), "size"},
	}
	for _, tc := range bad {
		_, err := ReadManifest([]byte(tc.in))
		if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ReadManifest = %v, want ErrManifest mentioning %q", tc.name, err, tc.want)
		}
	}
}
