package catalog

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lookalike/lookalike/internal/testenv"
)

func parseString(t *testing.T, name, s string) *Catalog {
	t.Helper()
	c, err := Parse(strings.NewReader(s), name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRowErrors(t *testing.T) {
	tests := []struct {
		name   string
		csv    string
		row    int
		column string
		reason string
		good   int
	}{
		{"empty id", "id,image\n,a.jpg\n2,b.jpg\n", 2, "id", ReasonEmptyID, 1},
		{"blank id", "id,image\n  ,a.jpg\n", 2, "id", ReasonEmptyID, 0},
		{"duplicate id", "id,image\n1,a.jpg\n2,b.jpg\n1,c.jpg\n", 4, "id", ReasonDuplicateID + " (first on line 2)", 2},
		{"invalid utf-8", "id,image,title\n1,a.jpg,caf\xe9\n2,b.jpg,ok\n", 2, "title", ReasonInvalidUTF8, 1},
		{"missing image", "id,image\n1,\n2,b.jpg\n", 2, "image", ReasonMissingImage, 1},
		{"http image", "id,image\n1,http://example.com/a.jpg\n", 2, "image", ReasonRemoteImage, 0},
		{"https image", "id,image\n1,HTTPS://example.com/a.jpg\n", 2, "image", ReasonRemoteImage, 0},
		{"other scheme", "id,image\n1,ftp://example.com/a.jpg\n", 2, "image", ReasonBadScheme, 0},
		{"field count", "id,image\n1,a.jpg,extra\n2,b.jpg\n", 2, "", ReasonFieldCount + ": 3, the header has 2", 1},
		{"multi-line quoted row shifts lines", "id,image,title\n1,a.jpg,\"two\nlines\"\n,b.jpg,x\n", 4, "id", ReasonEmptyID, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := parseString(t, "shop/catalog.csv", tc.csv)
			if len(c.RowErrors) != 1 {
				t.Fatalf("row errors %v, want one", c.RowErrors)
			}
			e := c.RowErrors[0]
			if e.Row != tc.row || e.Column != tc.column || e.Reason != tc.reason {
				t.Fatalf("got %+v, want row %d column %q reason %q", e, tc.row, tc.column, tc.reason)
			}
			if len(c.Items) != tc.good {
				t.Fatalf("%d good rows, want %d", len(c.Items), tc.good)
			}
			if !strings.Contains(e.Error(), "line ") {
				t.Fatalf("error text %q lacks the line", e.Error())
			}
		})
	}
}

func TestFatalErrors(t *testing.T) {
	tests := []struct {
		name, file, in string
		want           []string
	}{
		{"bad quoting", "c.csv", "id,image\n1,a.jpg\n2,\"b.jpg\n3,c.jpg\n", []string{"line 3", "RFC 4180"}},
		{"bare quote", "c.csv", "id,image,title\n1,a.jpg,say \"hi\"\n", []string{"line 2"}},
		{"missing image column", "c.csv", "id,title\n1,x\n", []string{`missing required column "image"`}},
		{"missing both", "c.csv", "sku,title\n1,x\n", []string{`"id", "image"`}},
		{"empty", "c.csv", "", []string{"empty"}},
		{"jsonl missing id", "c.jsonl", `{"image":"a.jpg"}` + "\n", []string{`missing required column "id"`}},
		{"duplicate column", "c.csv", "id,image,ID\n", []string{"twice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in), tc.file)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseColumnsAndImages(t *testing.T) {
	abs := filepath.Join(string(filepath.Separator), "srv", "img", "x.jpg")
	c, err := ParseOptions(strings.NewReader(
		"\xEF\xBB\xBFID, Image ,Title,url,Price,currency,masterCategory,baseColour\n"+
			"a1,images/a.jpg,\"Shirt, blue\",/p/a1,19.90,EUR,Apparel,Blue\n"+
			"a2,"+abs+",\"He said \"\"hi\"\"\",,5,EUR,Footwear,\n"), filepath.Join("shop", "catalog.csv"),
		Options{ImageRoot: string(filepath.Separator)})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.RowErrors) != 0 || len(c.Items) != 2 {
		t.Fatalf("items %d errors %v", len(c.Items), c.RowErrors)
	}
	a, b := c.Items[0], c.Items[1]
	if a.ID != "a1" || a.Title != "Shirt, blue" || a.URL != "/p/a1" || a.Price != "19.90" || a.Currency != "EUR" || a.Row != 2 {
		t.Fatalf("item a: %+v", a)
	}
	if want := filepath.Join("shop", "images", "a.jpg"); a.Image != want {
		t.Fatalf("relative image resolved to %q, want %q", a.Image, want)
	}
	if b.Image != abs || b.Title != `He said "hi"` {
		t.Fatalf("item b: %+v", b)
	}
	if strings.Join(c.Attributes, ",") != "masterCategory,baseColour" {
		t.Fatalf("attributes %v", c.Attributes)
	}
	if a.Attrs["baseColour"] != "Blue" || b.Attrs["baseColour"] != "" || len(b.Attrs) != 2 {
		t.Fatalf("attrs %v %v", a.Attrs, b.Attrs)
	}
}

func TestJSONLines(t *testing.T) {
	in := `{"id":"1","image":"a.jpg","title":"T","price":12.5,"articleType":"Tshirts","color":"Red"}
not json
{"id":"2","image":"b.jpg","tags":["x"]}

{"id":3,"image":"c.jpg","extra":true,"title":null}
{"id":"4","image":"https://x/y.jpg"}
{"id":"5","image":"e.jpg","title":"caf` + "\xe9" + `"}
{"id":"1","image":"f.jpg"}
`
	for _, name := range []string{"shop/items.jsonl", "shop/items.ndjson", "shop/items.txt"} {
		t.Run(name, func(t *testing.T) {
			c := parseString(t, name, in)
			var ids []string
			for _, it := range c.Items {
				ids = append(ids, it.ID)
			}
			if strings.Join(ids, ",") != "1,3" {
				t.Fatalf("good ids %v, errors %v", ids, c.RowErrors)
			}
			if c.Items[0].Price != "12.5" || c.Items[1].Attrs["extra"] != "true" || c.Items[1].Row != 5 {
				t.Fatalf("items %+v", c.Items)
			}
			want := []struct {
				row    int
				reason string
			}{{2, ReasonBadJSON}, {3, ReasonNotScalar}, {6, ReasonRemoteImage}, {7, ReasonInvalidUTF8}, {8, ReasonDuplicateID + " (first on line 1)"}}
			if len(c.RowErrors) != len(want) {
				t.Fatalf("row errors %v", c.RowErrors)
			}
			for i, w := range want {
				e := c.RowErrors[i]
				if e.Row != w.row || !strings.HasPrefix(e.Reason, w.reason) {
					t.Fatalf("row error %d = %+v, want line %d %q", i, e, w.row, w.reason)
				}
			}
			if got := DefaultAttributes(c.Header); strings.Join(got, ",") != "articleType,color" {
				t.Fatalf("DefaultAttributes %v", got)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		header  []string
		section string
		attrs   string
	}{
		{[]string{"id", "image", "masterCategory", "subCategory", "articleType", "baseColour"}, "masterCategory", "articleType,baseColour"},
		{[]string{"id", "image", "category", "Section"}, "Section", ""},
		{[]string{"id", "image", "subCategory", "colour", "color"}, "subCategory", "colour"},
		{[]string{"id", "image", "Category", "COLOR"}, "Category", "COLOR"},
		{[]string{"id", "image"}, "", ""},
	}
	for _, tc := range tests {
		if got := DefaultSection(tc.header); got != tc.section {
			t.Errorf("DefaultSection(%v) = %q, want %q", tc.header, got, tc.section)
		}
		if got := strings.Join(DefaultAttributes(tc.header), ","); got != tc.attrs {
			t.Errorf("DefaultAttributes(%v) = %q, want %q", tc.header, got, tc.attrs)
		}
	}
}

func TestHasColumn(t *testing.T) {
	header := []string{"id", "image", "articleType", " baseColour "}
	for _, tc := range []struct {
		col  string
		want bool
	}{{"articleType", true}, {"ARTICLETYPE", true}, {"baseColour", true}, {"colour", false}, {"", false}} {
		if got := HasColumn(header, tc.col); got != tc.want {
			t.Errorf("HasColumn(%q) = %v, want %v", tc.col, got, tc.want)
		}
	}
}

func TestDisplayRoundTrip(t *testing.T) {
	c := parseString(t, "c.csv", "id,image,title,price,currency,masterCategory,articleType,baseColour\n"+
		"x/1,a.jpg,A,1,EUR,Apparel,Tshirts,Red\n2,b.jpg,B,2,EUR,Footwear,Shoes,Red\n3,c.jpg,C,,USD,Apparel,Tshirts,Blue\n")
	data, err := BuildDisplay(c.Items, c.Header, DisplayOptions{ThumbPattern: "thumbs/{id}-{i}.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ParseDisplay(data)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 3 || ds.SectionColumn() != "masterCategory" || strings.Join(ds.Sections(), ",") != "Apparel,Footwear" {
		t.Fatalf("len %d sections %v", ds.Len(), ds.Sections())
	}
	it := ds.Item(0)
	if it.ID != "x/1" || it.Title != "A" || it.Price != "1" || it.Currency != "EUR" || it.Section != "Apparel" ||
		it.Attrs["articleType"] != "Tshirts" || it.Attrs["baseColour"] != "Red" || it.Thumb != "thumbs/x%2F1-0.jpg" {
		t.Fatalf("item 0: %+v", it)
	}
	if got := ds.Item(2); got.Currency != "USD" || got.Price != "" || got.Attrs["baseColour"] != "Blue" {
		t.Fatalf("item 2: %+v", got)
	}
	if i, ok := ds.IndexOf("2"); !ok || i != 1 {
		t.Fatal("IndexOf")
	}
	keep := ds.SectionFilter("Apparel")
	if !keep(0) || keep(1) || !keep(2) {
		t.Fatal("SectionFilter")
	}
	red := ds.AttributeFilter("baseColour", "Red")
	if !red(0) || !red(1) || red(2) || ds.AttributeFilter("nope", "x")(0) || ds.SectionFilter("Nope")(0) {
		t.Fatal("AttributeFilter")
	}
	if ds.SectionFilter("") != nil {
		t.Fatal(`SectionFilter("") should keep everything (nil)`)
	}
	if _, err := BuildDisplay(c.Items, c.Header, DisplayOptions{Attributes: []string{"size"}}); err == nil {
		t.Fatal("unknown attribute column accepted")
	}
}

func TestDisplayErrors(t *testing.T) {
	tests := []string{
		``, `[]`, `{"format":"x","version":1}`,
		`{"format":"lookalike-catalog","version":2,"count":0,"id":[]}`,
		`{"format":"lookalike-catalog","version":1,"count":2,"id":["a"]}`,
		`{"format":"lookalike-catalog","version":1,"count":1,"id":["a"],"title":[]}`,
		`{"format":"lookalike-catalog","version":1,"count":1,"id":["a"],"section":{"values":["s"],"index":[1]}}`,
		`{"format":"lookalike-catalog","version":1,"count":2,"id":["a","a"]}`,
		`{"format":"lookalike-catalog","version":1,"count":1,"id":["a"],"attributes":[{"column":"c","values":[],"index":[0]}]}`,
	}
	for _, s := range tests {
		if _, err := ParseDisplay([]byte(s)); !errors.Is(err, ErrDisplay) {
			t.Errorf("ParseDisplay(%s): err = %v, want ErrDisplay", s, err)
		}
	}
}

// sharedDir is ../shared next to the repository (or $LOOKALIKE_SHARED).
func sharedDir(t *testing.T) string { return testenv.SharedDir(t) }

func TestFashionCatalog(t *testing.T) {
	path := filepath.Join(sharedDir(t), "fashion", "catalog.csv")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("shared fashion catalogue not available: %v", err)
	}
	start := time.Now()
	c, err := ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	parse := time.Since(start)
	if len(c.Items) != 40142 || len(c.RowErrors) != 0 {
		t.Fatalf("%d items, %d row errors (first: %v); want 40142 and 0", len(c.Items), len(c.RowErrors), c.RowErrors[:min(3, len(c.RowErrors))])
	}
	sec := DefaultSection(c.Header)
	attrs := DefaultAttributes(c.Header)
	if sec != "masterCategory" || strings.Join(attrs, ",") != "articleType,baseColour" {
		t.Fatalf("section %q attributes %v", sec, attrs)
	}
	if n := len(c.Counts(sec)); n != 7 {
		t.Fatalf("%d sections, want 7", n)
	}
	if _, err := os.Stat(c.Items[0].Image); err != nil {
		t.Errorf("first image does not resolve: %v", err)
	}
	data, err := BuildDisplay(c.Items, c.Header, DisplayOptions{ThumbPattern: "thumbs/{id}.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	start = time.Now()
	ds, err := ParseDisplay(data)
	if err != nil {
		t.Fatal(err)
	}
	load := time.Since(start)
	if ds.Len() != 40142 || ds.Item(0).ID != c.Items[0].ID {
		t.Fatal("display round trip lost items")
	}
	t.Logf("fashion: parse %v; display JSON %d bytes (%.1f KiB gzip), decode %v; %d articleTypes",
		parse, len(data), float64(gz.Len())/1024, load, len(ds.AttributeValues("articleType")))
}

func TestManifest(t *testing.T) {
	data := bytes.Repeat([]byte("abcdefgh"), 10)
	a, files := NewAsset("index", ".ann", data, 32)
	if !strings.HasPrefix(a.File, "index-") || !strings.HasSuffix(a.File, ".ann") || len(a.File) != len("index-")+12+4 {
		t.Fatalf("name %q", a.File)
	}
	if a.File != ContentName("index", "ann", data) || a.SHA256 != SHA256Hex(data) || a.Size != 80 {
		t.Fatalf("asset %+v", a)
	}
	if len(a.Parts) != 3 || a.Parts[2].Size != 16 || len(files) != 3 {
		t.Fatalf("parts %+v", a.Parts)
	}
	var joined []byte
	for _, p := range a.Parts {
		joined = append(joined, files[p.File]...)
		if SHA256Hex(files[p.File]) != p.SHA256 {
			t.Fatal("part hash")
		}
	}
	if !bytes.Equal(joined, data) {
		t.Fatal("parts do not join to the data")
	}
	if p := SplitParts(data, 100); len(p) != 1 || SplitParts(nil, 10) != nil {
		t.Fatal("SplitParts edge cases")
	}
	small, _ := NewAsset("catalog", "json", []byte("{}"), 0)
	m := Manifest{
		FormatVersion: ManifestVersion, BuilderVersion: "test", BuildTime: "2026-01-01T00:00:00Z",
		Model:     ModelInfo{File: "model-0.onnx", SHA256: SHA256Hex([]byte("m")), Size: 1, Metric: "angular", Preprocessing: []byte(`{"mean":[1,2,3]}`), Embedding: EmbeddingInfo{Dim: 256, Pooling: "max"}},
		ItemCount: 2, Sections: map[string]int{"A": 2}, Attributes: map[string]map[string]int{"c": {"x": 2}},
		Assets: []Asset{a, small},
	}
	js, err := jsonMarshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(js)
	if err != nil {
		t.Fatal(err)
	}
	var pre bytes.Buffer
	if err := json.Compact(&pre, got.Model.Preprocessing); err != nil {
		t.Fatal(err)
	}
	if got.Model.Embedding.Dim != 256 || pre.String() != `{"mean":[1,2,3]}` || len(got.Assets) != 2 {
		t.Fatalf("round trip: %+v", got)
	}
	if ix, ok := got.Asset("index"); !ok || len(ix.Parts) != 3 {
		t.Fatal("Asset lookup")
	}
	bad := []struct{ in, want string }{
		{`{"format_version":2}`, "format_version 2"},
		{`{"assets":[]}`, "no format_version"},
		{`nope`, "not JSON"},
		{`{"format_version":1,"assets":[{"kind":"x","file":"../etc/passwd"}]}`, "'..'"},
		{`{"format_version":1,"assets":[{"kind":"x","file":"a","size":5,"parts":[{"file":"b","size":4,"sha256":"` + SHA256Hex(nil) + `"}]}]}`, "add up"},
		{`{"format_version":1,"assets":[{"file":"a"}]}`, "no kind"},
	}
	for _, b := range bad {
		_, err := ReadManifest([]byte(b.in))
		if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("ReadManifest(%s) = %v, want ErrManifest mentioning %q", b.in, err, b.want)
		}
	}
}

// fuzzLimits are small, so the fuzzer reaches them.
var fuzzLimits = Options{MaxFieldBytes: 40, MaxRowBytes: 120}

func FuzzCSV(f *testing.F) {
	f.Add("id,image,title\n1,a.jpg,x\n")
	f.Add("id,image\n\"1\",\"a\"\"b.jpg\"\n,\n1,http://x\n")
	f.Add("id,image\n1,\"a.jpg\n")
	// Issue #14: hostile links, paths out of the folder, long values.
	f.Add("id,image,url\n1,a.jpg,javascript:alert(3)\n2,b.jpg,JaVaScRiPt:alert(3)\n3,c.jpg,\"java\tscript:x\"\n")
	f.Add("id,image\n1,../../elsewhere/secret.jpg\n2,/etc/passwd\n3,images/../../x.jpg\n")
	f.Add("id,image,title\n1,a.jpg," + strings.Repeat("x", 200) + "\n2,b.jpg,\"" + strings.Repeat("y\n", 80) + "\"\n3,c.jpg,z\n")
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := Parse(strings.NewReader(s), "f.csv"); err == nil {
			checkParsed(t, c, Options{}.withDefaults(), false)
		}
		if c, err := ParseOptions(strings.NewReader(s), "f.csv", fuzzLimits); err == nil {
			checkParsed(t, c, fuzzLimits.withDefaults(), true)
		}
	})
}

func FuzzJSONL(f *testing.F) {
	f.Add("{\"id\":\"1\",\"image\":\"a.jpg\"}\n{\"id\":2}\n")
	f.Add("{\"id\":\"1\",\"image\":\"a.jpg\",\"x\":[1]}\n{")
	// Issue #14: ids of the wrong type, hostile links, long lines.
	f.Add("{\"id\":{\"a\":1},\"image\":\"a.jpg\"}\n{\"id\":true,\"image\":\"b.jpg\"}\n{\"id\":\"c\",\"image\":\"c.jpg\",\"url\":\"data:text/html,x\"}\n")
	f.Add("{\"id\":\"1\",\"image\":\"a.jpg\",\"title\":\"" + strings.Repeat("t", 300) + "\"}\n{\"id\":\"2\",\"image\":\"/etc/passwd\"}\n")
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := Parse(strings.NewReader(s), "f.jsonl"); err == nil {
			checkParsed(t, c, Options{}.withDefaults(), false)
		}
		if c, err := ParseOptions(strings.NewReader(s), "f.jsonl", fuzzLimits); err == nil {
			checkParsed(t, c, fuzzLimits.withDefaults(), true)
		}
	})
}

// checkParsed asserts the invariants of any successful parse: kept rows
// have a sane id, a safe url, values within the limits and (confined) an
// image inside the catalogue's folder.
func checkParsed(t *testing.T, c *Catalog, lim Options, confined bool) {
	seen := map[string]bool{}
	for _, it := range c.Items {
		if it.ID == "" || it.Image == "" || seen[it.ID] || len(it.ID) > MaxIDBytes {
			t.Fatalf("bad item kept: %+v", it)
		}
		seen[it.ID] = true
		if u, ok := SafeURL(it.URL); !ok || u != it.URL {
			t.Fatalf("unsafe url kept: %q", it.URL)
		}
		for _, v := range append([]string{it.Title, it.URL, it.Price, it.Currency}, mapValues(it.Attrs)...) {
			if len(v) > lim.MaxFieldBytes {
				t.Fatalf("a %d-byte value kept, the limit is %d", len(v), lim.MaxFieldBytes)
			}
		}
		if confined {
			wd, _ := filepath.Abs(".")
			abs, _ := filepath.Abs(it.Image)
			if rel, err := filepath.Rel(wd, abs); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
				t.Fatalf("image %q outside the catalogue folder kept", it.Image)
			}
		}
		for _, w := range it.Warnings {
			if w.Reason != ReasonUnsafeURL || w.Row != it.Row {
				t.Fatalf("warning %+v", w)
			}
		}
	}
	for _, e := range c.RowErrors {
		if e.Row < 1 || e.Reason == "" {
			t.Fatalf("bad row error %+v", e)
		}
	}
	if _, err := BuildDisplay(c.Items, c.Header, DisplayOptions{}); err != nil {
		t.Fatal(err)
	}
}

func FuzzManifest(f *testing.F) {
	sha := SHA256Hex(nil)
	f.Add([]byte(`{"format_version":1,"item_count":3,"assets":[{"kind":"index","file":"index-0.ann","size":3,"sha256":"` + sha + `","parts":[{"file":"p0","size":3,"sha256":"` + sha + `"}]}]}`))
	f.Add([]byte(`{"format_version":1}`))
	f.Add([]byte(`{"format_version":"1"}`))
	// Issue #14: what the probe's manifests held.
	f.Add([]byte(`{"format_version":1,"assets":[{"kind":"vectors","file":"v","size":1,"sha256":""}]}`))
	f.Add([]byte(`{"format_version":1,"assets":[{"kind":"vectors","file":"v","size":-1,"sha256":"` + sha + `"}]}`))
	f.Add([]byte(`{"format_version":1,"assets":[{"kind":"index","file":"i","size":9e18,"sha256":"` + sha + `"}]}`))
	f.Add([]byte(`{"format_version":1,"model":{"file":"m","sha256":"` + sha + `","embedding":{"dim":2147483648}},"assets":[]}`))
	f.Add([]byte(`{"format_version":1,"assets":[{"kind":"catalog","file":"../c.json","size":1,"sha256":"` + sha + `"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadManifest(data)
		if err != nil {
			return
		}
		if m.ItemCount < 0 || m.ItemCount > MaxItems || m.Model.Embedding.Dim < 0 || m.Model.Embedding.Dim > MaxDim {
			t.Fatalf("insane counts accepted: %d items, dim %d", m.ItemCount, m.Model.Embedding.Dim)
		}
		file := func(name, sha string, size, max int64) {
			if safeName(name) != nil || !IsSHA256Hex(sha) || size < 0 || size > max {
				t.Fatalf("file entry accepted: %q sha256 %q size %d", name, sha, size)
			}
		}
		if m.Model.File != "" {
			file(m.Model.File, m.Model.SHA256, m.Model.Size, MaxAssetTotal)
		}
		for _, a := range m.Assets {
			if len(a.Parts) == 0 {
				file(a.File, a.SHA256, a.Size, MaxAssetSize)
			}
			for _, p := range a.Parts {
				file(p.File, p.SHA256, p.Size, MaxAssetSize)
			}
		}
	})
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// FuzzSafeURL: whatever comes out can reach an href: no control
// character, no scheme but http(s); and the rule is stable.
func FuzzSafeURL(f *testing.F) {
	for _, s := range []string{"javascript:alert(3)", "JaVaScRiPt:alert(3)", " \x01java\tscript:x", "data:text/html,<b>", "https://shop.example/p", "/p/1", "%6Aavascript:x", "a+b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := SafeURL(s)
		if !ok {
			if out != "" {
				t.Fatalf("refused %q but returned %q", s, out)
			}
			return
		}
		for i := 0; i < len(out); i++ {
			if out[i] < ' ' || out[i] == 0x7f {
				t.Fatalf("SafeURL(%q) = %q holds a control character", s, out)
			}
		}
		if sc, has := urlScheme(out); has && !strings.EqualFold(sc, "http") && !strings.EqualFold(sc, "https") {
			t.Fatalf("SafeURL(%q) = %q has scheme %q", s, out, sc)
		}
		if again, ok2 := SafeURL(out); !ok2 || again != out {
			t.Fatalf("SafeURL is not stable on %q: %q, %v", out, again, ok2)
		}
	})
}

// FuzzParseDisplay reads arbitrary bytes as the catalog asset (what the
// engine and the edge stage read): an error, or items that can all be
// read, with safe links.
func FuzzParseDisplay(f *testing.F) {
	f.Add([]byte(`{"format":"lookalike-catalog","version":1,"count":2,"id":["a","b"],"url":["javascript:alert(3)","/p/b"],"section":{"column":"s","values":["x"],"index":[0,0]},"thumbs":["t.jpg#xywh=0,0,1,1",""]}`))
	f.Add([]byte(`{"format":"lookalike-catalog","version":1,"count":1,"id":["a"],"thumb":"thumbs/{id}.jpg","attributes":[{"column":"c","values":[],"index":[3]}]}`))
	f.Add([]byte(`{"format":"lookalike-catalog","version":1,"count":-1,"id":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDisplay(data)
		if err != nil {
			return
		}
		for i := 0; i < d.Len(); i++ {
			it := d.Item(i)
			if _, ok := SafeURL(it.URL); !ok {
				t.Fatalf("item %d: unsafe url %q", i, it.URL)
			}
			if j, ok := d.IndexOf(it.ID); !ok || j != i {
				t.Fatalf("IndexOf(%q) = %d, %v; want %d", it.ID, j, ok, i)
			}
			_ = d.SectionIndex(i)
		}
		for _, c := range d.Attributes() {
			_ = d.AttributeFilter(c, "x")(0)
		}
		_ = d.SectionFilter("x")
	})
}
