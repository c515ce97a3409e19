//go:build !js

package build

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image/jpeg"
	"io"
	"io/fs"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lookalike/lookalike/builder/internal/buildtest"
	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/search"
	"github.com/lookalike/lookalike/models/vecfile"
)

// These tests prove the "Behaviour" section of the builder issue on a tiny
// ONNX model and generated photos, so they run in seconds without ResNet50.

// btRun is one build's outcome.
type btRun struct {
	err      error
	report   Report
	noReport bool // no build-report.json in out: the build never started
	log      string
}

// btBuild builds with the tiny model and a private cache (unless args
// name one) and reads build-report.json, if any.
func btBuild(t testing.TB, model, catalogPath, out, cache string, args ...string) btRun {
	t.Helper()
	all := append([]string{"--catalog", catalogPath, "--out", out, "--model", model, "--cache", cache, "--workers", "2"}, args...)
	cfg, err := ParseBuildFlags(all)
	if err != nil {
		t.Fatalf("ParseBuildFlags(%q): %v", all, err)
	}
	var log bytes.Buffer
	cfg.Log = &log
	r := btRun{err: Build(context.Background(), cfg), log: log.String()}
	b, err := os.ReadFile(filepath.Join(out, "build-report.json"))
	if errors.Is(err, fs.ErrNotExist) && r.err != nil {
		r.noReport = true
		return r
	}
	if err != nil {
		t.Fatalf("build-report.json: %v (build error %v)", err, r.err)
	}
	if err := json.Unmarshal(b, &r.report); err != nil {
		t.Fatalf("build-report.json: %v", err)
	}
	return r
}

// btAssetBytes joins an asset's parts (or reads its file) from out.
func btAssetBytes(t testing.TB, out string, a catalog.Asset) []byte {
	t.Helper()
	if len(a.Parts) == 0 {
		b, err := os.ReadFile(filepath.Join(out, a.File))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var all []byte
	for _, p := range a.Parts {
		b, err := os.ReadFile(filepath.Join(out, p.File))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// btCheckPublished asserts that every file the manifest names exists with
// the listed size and sha256, parts included, and that no temporary file
// is left in out.
func btCheckPublished(t testing.TB, out string) *catalog.Manifest {
	t.Helper()
	m := buildtest.Manifest(t, out)
	if len(m.Assets) == 0 {
		t.Fatal("manifest lists no assets")
	}
	check := func(name, sha string, size int64) {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Errorf("manifest names %s: %v", name, err)
			return
		}
		if int64(len(b)) != size || catalog.SHA256Hex(b) != sha {
			t.Errorf("%s: %d bytes sha256 %s, manifest says %d bytes %s", name, len(b), catalog.SHA256Hex(b)[:12], size, sha[:12])
		}
		if len(b) > catalog.MaxAssetSize {
			t.Errorf("%s: %d bytes, over the %d-byte asset limit", name, len(b), catalog.MaxAssetSize)
		}
	}
	for _, a := range m.Assets {
		if len(a.Parts) == 0 {
			check(a.File, a.SHA256, a.Size)
			continue
		}
		for _, p := range a.Parts {
			check(p.File, p.SHA256, p.Size)
		}
		if whole := btAssetBytes(t, out, a); catalog.SHA256Hex(whole) != a.SHA256 || int64(len(whole)) != a.Size {
			t.Errorf("%s: joined parts do not match the asset's sha256/size", a.File)
		}
	}
	if _, err := os.Stat(filepath.Join(out, m.Model.File)); err != nil && !btHasParts(m, m.Model.File) {
		t.Errorf("model file %s: %v", m.Model.File, err)
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left in the output", e.Name())
		}
	}
	return m
}

func btHasParts(m *catalog.Manifest, file string) bool {
	for _, a := range m.Assets {
		if a.File == file {
			return len(a.Parts) > 0
		}
	}
	return false
}

// btPNGChunk encodes one PNG chunk with its CRC.
func btPNGChunk(typ string, data []byte) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// btHugePNG is a well-formed PNG header claiming w×h RGB pixels, followed by
// a little garbage image data: decoding it would need w·h·4 bytes.
func btHugePNG(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, deflate, no filter, no interlace
	b = append(b, btPNGChunk("IHDR", ihdr)...)
	b = append(b, btPNGChunk("IDAT", bytes.Repeat([]byte{0x78, 0x9c, 0x01}, 100))...)
	return append(b, btPNGChunk("IEND", nil)...)
}

// btHugeJPEG is a valid JPEG whose frame header is patched to claim w×h
// pixels.
func btHugeJPEG(t testing.TB, j []byte, w, h uint16) []byte {
	t.Helper()
	j = append([]byte(nil), j...)
	sof := bytes.Index(j, []byte{0xFF, 0xC0})
	if sof < 0 {
		t.Fatal("no SOF0 marker")
	}
	binary.BigEndian.PutUint16(j[sof+5:], h)
	binary.BigEndian.PutUint16(j[sof+7:], w)
	return j
}

// btGarbageAfterHeader keeps a valid JPEG's headers up to and including the
// start-of-scan segment and replaces the entropy-coded data with noise.
func btGarbageAfterHeader(t testing.TB, j []byte) []byte {
	t.Helper()
	sos := bytes.Index(j, []byte{0xFF, 0xDA})
	if sos < 0 {
		t.Fatal("no SOS marker")
	}
	end := sos + 2 + int(binary.BigEndian.Uint16(j[sos+2:]))
	out := append([]byte(nil), j[:end]...)
	r := rand.New(rand.NewSource(3))
	for i := 0; i < len(j)-end; i++ {
		out = append(out, byte(r.Intn(256)))
	}
	return out
}

// btCorruptPNG flips bytes inside a valid PNG's image data (bit rot): the
// structure is intact, the data is not.
func btCorruptPNG(t testing.TB, p []byte) []byte {
	t.Helper()
	p = append([]byte(nil), p...)
	idat := bytes.Index(p, []byte("IDAT"))
	if idat < 0 {
		t.Fatal("no IDAT chunk")
	}
	n := int(binary.BigEndian.Uint32(p[idat-4:]))
	for i := idat + 4 + n/3; i < idat+4+n/2; i++ {
		p[i] ^= 0x5a
	}
	return p
}

// TestBuildBadRows adds one bad row of each kind to 20 good rows and checks
// that the build skips it, goes on, and reports its row number, id and
// reason in build-report.json and the summary.
func TestBuildBadRows(t *testing.T) {
	model := buildtest.TinyModel(t)
	cache := t.TempDir()
	good := buildtest.JPEG(t, buildtest.Photo(99, 0))
	goodPNG := buildtest.PNG(t, buildtest.Photo(98, 0))
	type badRow struct {
		name  string
		row   []string          // id, image, title (the rest filled in)
		files map[string][]byte // image files to write
		// at = index among the data rows where the bad row goes (its CSV
		// line is at+2).
		wantID     string
		wantReason string // the report's reason must contain this
		wantDetail string // and its detail this
	}
	cases := []badRow{
		{name: "missing file", row: []string{"bad1", "images/nowhere.jpg", "t"},
			wantID: "bad1", wantReason: "missing file", wantDetail: "nowhere.jpg"},
		{name: "zero-byte file", row: []string{"bad1", "images/empty.jpg", "t"}, files: map[string][]byte{"images/empty.jpg": {}},
			wantID: "bad1", wantReason: "empty file (0 bytes)", wantDetail: "empty.jpg"},
		{name: "truncated JPEG at 1/4", row: []string{"bad1", "images/trunc.jpg", "t"}, files: map[string][]byte{"images/trunc.jpg": good[:len(good)/4]},
			wantID: "bad1", wantReason: "truncated file", wantDetail: "jpeg"},
		{name: "truncated JPEG at 1/2", row: []string{"bad1", "images/trunc.jpg", "t"}, files: map[string][]byte{"images/trunc.jpg": good[:len(good)/2]},
			wantID: "bad1", wantReason: "truncated file", wantDetail: "jpeg"},
		{name: "truncated JPEG at 2/3", row: []string{"bad1", "images/trunc.jpg", "t"}, files: map[string][]byte{"images/trunc.jpg": good[:len(good)*2/3]},
			wantID: "bad1", wantReason: "truncated file", wantDetail: "jpeg"},
		{name: "truncated JPEG without its end marker", row: []string{"bad1", "images/trunc.jpg", "t"}, files: map[string][]byte{"images/trunc.jpg": good[:len(good)-2]},
			wantID: "bad1", wantReason: "truncated file", wantDetail: "jpeg"},
		{name: "truncated PNG", row: []string{"bad1", "images/trunc.png", "t"}, files: map[string][]byte{"images/trunc.png": goodPNG[:len(goodPNG)/2]},
			wantID: "bad1", wantReason: "truncated file", wantDetail: "png"},
		{name: "not an image", row: []string{"bad1", "images/notes.jpg", "t"}, files: map[string][]byte{"images/notes.jpg": []byte("these are my notes, not a buildtest.Photo\n")},
			wantID: "bad1", wantReason: "not an image", wantDetail: "unrecognised"},
		{name: "corrupt JPEG data", row: []string{"bad1", "images/noise.jpg", "t"}, files: map[string][]byte{"images/noise.jpg": btGarbageAfterHeader(t, good)},
			wantID: "bad1", wantReason: "corrupt image data", wantDetail: "jpeg"},
		{name: "corrupt PNG data", row: []string{"bad1", "images/noise.png", "t"}, files: map[string][]byte{"images/noise.png": btCorruptPNG(t, goodPNG)},
			wantID: "bad1", wantReason: "corrupt image data", wantDetail: "png"},
		{name: "absurd PNG dimensions", row: []string{"bad1", "images/huge.png", "t"}, files: map[string][]byte{"images/huge.png": btHugePNG(50000, 50000)},
			wantID: "bad1", wantReason: "absurd dimensions", wantDetail: "50000x50000"},
		{name: "absurd JPEG dimensions", row: []string{"bad1", "images/huge.jpg", "t"}, files: map[string][]byte{"images/huge.jpg": btHugeJPEG(t, good, 50000, 50000)},
			wantID: "bad1", wantReason: "absurd dimensions", wantDetail: "50000x50000"},
		{name: "duplicate id", row: []string{"p3", "images/p4.jpg", "t"},
			wantID: "p3", wantReason: "duplicate id (first on line 5)", wantDetail: "id"},
		{name: "empty id", row: []string{"  ", "images/p4.jpg", "t"},
			wantID: "", wantReason: "empty id", wantDetail: "id"},
		{name: "invalid UTF-8", row: []string{"bad1", "images/p4.jpg", "caf\xe9 \xff"},
			wantID: "bad1", wantReason: "invalid UTF-8", wantDetail: "title"},
		{name: "invalid UTF-8 in id", row: []string{"b\xffd", "images/p4.jpg", "t"},
			wantID: "", wantReason: "invalid UTF-8", wantDetail: "id"},
		{name: "http image URL", row: []string{"bad1", "https://shop.example/p.jpg", "t"},
			wantID: "bad1", wantReason: "not supported yet", wantDetail: "image"},
		{name: "ftp image URL", row: []string{"bad1", "ftp://shop.example/p.jpg", "t"},
			wantID: "bad1", wantReason: "unsupported image URL scheme", wantDetail: "image"},
		{name: "empty image", row: []string{"bad1", "", "t"},
			wantID: "bad1", wantReason: "missing image", wantDetail: "image"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := buildtest.NewFixture(t, 20)
			for rel, b := range tc.files {
				f.WriteImage(t, rel, b)
			}
			const at = 7 // CSV line 9
			row := append(append([]string(nil), tc.row...), "Apparel", "Tshirts", "Red")
			f.Rows = append(f.Rows[:at], append([][]string{row}, f.Rows[at:]...)...)
			f.WriteCSV(t)
			out := t.TempDir()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			t0 := time.Now()
			r := btBuild(t, model, f.Catalog(), out, cache, "--max-errors", "1")
			elapsed := time.Since(t0)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if r.err != nil {
				t.Fatalf("build failed: %v\n%s", r.err, r.log)
			}
			rep := r.report
			if rep.Rows != 21 || rep.Items != 20 || rep.Skipped != 1 || len(rep.Problems) != 1 {
				t.Fatalf("rows %d items %d skipped %d problems %+v; want 21, 20, 1 and one problem", rep.Rows, rep.Items, rep.Skipped, rep.Problems)
			}
			if rep.Embedded+rep.FromCache != rep.Items {
				t.Errorf("embedded %d + from cache %d != %d items", rep.Embedded, rep.FromCache, rep.Items)
			}
			p := rep.Problems[0]
			if p.Row != at+2 || p.ID != tc.wantID || !strings.Contains(p.Reason, tc.wantReason) || !strings.Contains(p.Detail, tc.wantDetail) {
				t.Errorf("problem %+v; want row %d, id %q, reason containing %q, detail containing %q", p, at+2, tc.wantID, tc.wantReason, tc.wantDetail)
			}
			// Image problems name the file as the catalogue does, not
			// the package that noticed.
			if (len(tc.files) > 0 || tc.name == "missing file") && !strings.HasPrefix(p.Detail, tc.row[1]) {
				t.Errorf("detail %q does not start with the image path %q", p.Detail, tc.row[1])
			}
			if strings.Contains(p.Detail, "imageprep") {
				t.Errorf("detail %q names an internal package", p.Detail)
			}
			// The summary on the log names the row and the reason too.
			if !strings.Contains(r.log, "skipped 1 of 21 rows") || !strings.Contains(r.log, "row "+strconv.Itoa(at+2)+" (") || !strings.Contains(r.log, p.Reason+" — "+p.Detail) {
				t.Errorf("summary does not show the bad row:\n%s", r.log)
			}
			if m := btCheckPublished(t, out); m.ItemCount != 20 {
				t.Errorf("manifest item_count %d, want 20", m.ItemCount)
			}
			if strings.HasPrefix(tc.name, "absurd") {
				// Refused from the header: no gigabyte buffers, no seconds
				// of decoding (the whole 21-row build included).
				alloc := after.TotalAlloc - before.TotalAlloc
				t.Logf("21-row build with a 50000×50000 header: %.1f MB allocated, %s", float64(alloc)/1e6, elapsed.Round(time.Millisecond))
				if alloc > 64<<20 {
					t.Errorf("build allocated %d MB: the huge image was decoded", alloc>>20)
				}
				if elapsed > 20*time.Second {
					t.Errorf("build took %s", elapsed)
				}
			}
		})
	}
}

func TestBuildSmoke(t *testing.T) {
	model := buildtest.TinyModel(t)
	f := buildtest.NewFixture(t, 12)
	out := t.TempDir()
	r := btBuild(t, model, f.Catalog(), out, t.TempDir())
	if r.err != nil {
		t.Fatalf("build: %v\n%s", r.err, r.log)
	}
	t.Logf("%s", r.log)
	m := btCheckPublished(t, out)
	if m.ItemCount != 12 || r.report.Items != 12 || r.report.Embedded != 12 || r.report.Status != "ok" {
		t.Errorf("items %d/%d embedded %d status %q", m.ItemCount, r.report.Items, r.report.Embedded, r.report.Status)
	}
}

// TestBuildMalformedCatalogue: a catalogue file that cannot be trusted
// fails the build at once, naming the line or the missing column, and
// publishes nothing.
func TestBuildMalformedCatalogue(t *testing.T) {
	model := buildtest.TinyModel(t)
	cases := []struct {
		name, file, body string
		want             []string
	}{
		{"bad CSV quoting", "catalog.csv",
			"id,image,title\np0,images/p0.jpg,ok\np1,images/p1.jpg,ok\np2,images/p2.jpg,ok\np3,images/p3.jpg,a \"quoted\" word\np4,images/p4.jpg,ok\n",
			[]string{"line 5", "quote"}},
		{"unterminated quote", "catalog.csv",
			"id,image,title\np0,images/p0.jpg,ok\np1,images/p1.jpg,\"never closed\np2,images/p2.jpg,ok\n",
			[]string{"line 3", "quote"}},
		{"no image column", "catalog.csv",
			"id,picture,title\np0,images/p0.jpg,ok\np1,images/p1.jpg,ok\n",
			[]string{`"image"`, "picture"}},
		{"no id column", "catalog.csv",
			"sku,image\np0,images/p0.jpg\np1,images/p1.jpg\n",
			[]string{`"id"`, "sku"}},
		{"JSON Lines without id", "catalog.jsonl",
			"{\"sku\":\"p0\",\"image\":\"images/p0.jpg\"}\n{\"sku\":\"p1\",\"image\":\"images/p1.jpg\"}\n",
			[]string{`"id"`}},
		{"empty file", "catalog.csv", "", []string{"empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := buildtest.NewFixture(t, 5)
			path := filepath.Join(f.Dir, tc.file)
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "site", "assets")
			r := btBuild(t, model, path, out, t.TempDir())
			if r.err == nil {
				t.Fatalf("build succeeded on a malformed catalogue:\n%s", r.log)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.err.Error(), w) {
					t.Errorf("error %q does not mention %q", r.err, w)
				}
			}
			// The build never started: no output folder, no report.
			if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("--out exists after a build that failed before it started (stat: %v)", err)
			}
		})
	}
}

// TestBuildRefusedBeforeStart: a build that cannot start (no catalogue
// file, flags naming columns the catalogue lacks) neither creates --out nor
// writes a report there.
func TestBuildRefusedBeforeStart(t *testing.T) {
	model := buildtest.TinyModel(t)
	f := buildtest.NewFixture(t, 5)
	for _, tc := range []struct {
		name, catalog string
		args          []string
		want          string
	}{
		{"missing catalogue", filepath.Join(f.Dir, "nope.csv"), nil, "nope.csv"},
		{"bad --section", f.Catalog(), []string{"--section", "aisle"}, `--section "aisle"`},
		{"bad --attrs", f.Catalog(), []string{"--attrs", "articleType,fabric"}, `no column "fabric"`},
		{"bad --learn-from", f.Catalog(), []string{"--learn-from", "style"}, `no column "style"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "site", "assets")
			r := btBuild(t, model, tc.catalog, out, t.TempDir(), tc.args...)
			if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %s", r.err, tc.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("--out exists after the build was refused (stat: %v)", err)
			}
		})
	}
}

// TestBuildCountsAddUp: what the log says about rows, bad rows and items
// adds up (rows = bad in the catalogue + photos to check; skipped = bad in
// the catalogue + rows with a bad photo; items = rows − skipped), and the report says
// the same.
func TestBuildCountsAddUp(t *testing.T) {
	f := buildtest.NewFixture(t, 61)
	f.Rows = append(f.Rows, buildtest.Row(3))                                                    // duplicate id
	f.Rows = append(f.Rows, []string{"", "images/p1.jpg", "no id", "Apparel", "Tshirts", "Red"}) // empty id
	f.Rows[10][1] = "images/gone.jpg"                                                            // missing photo
	f.WriteCSV(t)
	r := btBuild(t, buildtest.TinyModel(t), f.Catalog(), t.TempDir(), t.TempDir(), "--max-errors", "5")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.log)
	}
	var rows, bad, check, skipped, of, bad2, photos, items, rows2, skipped2 int
	for _, l := range []struct {
		re   string
		vals []*int
	}{
		{`: (\d+) rows: (\d+) bad in the catalogue, (\d+) with a photo to check;`, []*int{&rows, &bad, &check}},
		{`skipped (\d+) of (\d+) rows \((\d+) bad in the catalogue, (\d+) with a bad photo;`, []*int{&skipped, &of, &bad2, &photos}},
		{`build: (\d+) items \((\d+) rows − (\d+) skipped\)`, []*int{&items, &rows2, &skipped2}},
	} {
		m := regexp.MustCompile(l.re).FindStringSubmatch(r.log)
		if m == nil {
			t.Fatalf("no line matching %s in the log:\n%s", l.re, r.log)
		}
		for i, p := range l.vals {
			*p, _ = strconv.Atoi(m[i+1])
		}
	}
	if rows != 63 || bad != 2 || photos != 1 || items != 60 {
		t.Errorf("rows %d, bad in the catalogue %d, bad photos %d, items %d; want 63, 2, 1, 60", rows, bad, photos, items)
	}
	if rows != bad+check || skipped != bad+photos || bad2 != bad || of != rows || rows2 != rows || skipped2 != skipped || items != rows-skipped {
		t.Errorf("counts do not add up:\n%s", r.log)
	}
	if rep := r.report; rep.Rows != rows || rep.Items != items || rep.Skipped != skipped || rep.Rows != rep.Items+rep.Skipped {
		t.Errorf("report rows %d items %d skipped %d; log %d, %d, %d", rep.Rows, rep.Items, rep.Skipped, rows, items, skipped)
	}
	// The bad photo is neither work nor "cached" for the progress line.
	if !strings.Contains(r.log, "embed: 60/60 in ") || regexp.MustCompile(`\(\d+ cached\)|from cache`).MatchString(r.log) {
		t.Errorf("progress should count the 60 photos embedded, none cached:\n%s", r.log)
	}
}

// TestBuildMaxErrors: by default more than 1% bad rows fails the build and
// publishes no manifest; --max-errors raises the limit.
func TestBuildMaxErrors(t *testing.T) {
	model := buildtest.TinyModel(t)
	cache := t.TempDir()
	f := buildtest.NewFixture(t, 10)
	f.Rows[4][1] = "images/gone.jpg" // 1 bad row in 10
	f.WriteCSV(t)

	out := t.TempDir()
	r := btBuild(t, model, f.Catalog(), out, cache)
	if r.err == nil || !strings.Contains(r.err.Error(), "--max-errors 0") || !strings.Contains(r.err.Error(), "nothing published") || !strings.Contains(r.err.Error(), "pass --max-errors 1") {
		t.Fatalf("default --max-errors: error %v, want a failure naming --max-errors 0", r.err)
	}
	if r.report.MaxErrors != 0 || r.report.Skipped != 1 || len(r.report.Problems) != 1 || r.report.Problems[0].Row != 6 {
		t.Errorf("report: max_errors %d skipped %d problems %+v", r.report.MaxErrors, r.report.Skipped, r.report.Problems)
	}
	if _, err := os.Stat(filepath.Join(out, "manifest.json")); !os.IsNotExist(err) {
		t.Errorf("manifest.json published by a failed build (stat: %v)", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("failed build left %v in the output; want only build-report.json and the build lock", names)
	}

	r = btBuild(t, model, f.Catalog(), out, cache, "--max-errors", "1")
	if r.err != nil {
		t.Fatalf("--max-errors 1: %v\n%s", r.err, r.log)
	}
	if r.report.Items != 9 || r.report.Status != "ok" || r.report.MaxErrors != 1 {
		t.Errorf("report: items %d status %q max_errors %d", r.report.Items, r.report.Status, r.report.MaxErrors)
	}
	if m := btCheckPublished(t, out); m.ItemCount != 9 {
		t.Errorf("item_count %d, want 9", m.ItemCount)
	}

	// 1% of 300 rows is 3: three bad rows pass, four fail.
	big := buildtest.NewFixture(t, 300)
	for _, i := range []int{10, 20, 30} {
		big.Rows[i][1] = "images/gone.jpg"
	}
	big.WriteCSV(t)
	if r := btBuild(t, model, big.Catalog(), t.TempDir(), cache); r.err != nil || r.report.MaxErrors != 3 {
		t.Errorf("3 bad rows in 300: error %v, max_errors %d; want success with max_errors 3", r.err, r.report.MaxErrors)
	}
	big.Rows[40][1] = "images/gone.jpg"
	big.WriteCSV(t)
	if r := btBuild(t, model, big.Catalog(), t.TempDir(), cache); r.err == nil {
		t.Error("4 bad rows in 300 passed the default 1% limit")
	}
}

// TestBuildJSONLines: a JSON Lines catalogue builds like the CSV one; a
// broken line is a bad row with its line number.
func TestBuildJSONLines(t *testing.T) {
	model := buildtest.TinyModel(t)
	f := buildtest.NewFixture(t, 12)
	var b strings.Builder
	for i, row := range f.Rows {
		obj := map[string]any{}
		for j, col := range buildtest.Header {
			obj[col] = row[j]
		}
		if i == 3 {
			obj["id"] = 3003 // a number id is fine
		}
		line, _ := json.Marshal(obj)
		b.Write(line)
		b.WriteByte('\n')
		if i == 5 {
			b.WriteString("{\"id\": \"broken\", \"image\": \n") // line 7
		}
	}
	path := filepath.Join(f.Dir, "catalog.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	r := btBuild(t, model, path, out, t.TempDir(), "--max-errors", "1")
	if r.err != nil {
		t.Fatalf("build: %v\n%s", r.err, r.log)
	}
	if r.report.Items != 12 || r.report.Rows != 13 || len(r.report.Problems) != 1 {
		t.Fatalf("items %d rows %d problems %+v; want 12, 13 and one problem", r.report.Items, r.report.Rows, r.report.Problems)
	}
	if p := r.report.Problems[0]; p.Row != 7 || !strings.Contains(p.Reason, "JSON") {
		t.Errorf("problem %+v; want line 7, invalid JSON", p)
	}
	m := btCheckPublished(t, out)
	if m.ItemCount != 12 || m.SectionColumn != "masterCategory" || m.Sections["Apparel"] != 4 {
		t.Errorf("manifest: %d items, section column %q, sections %v", m.ItemCount, m.SectionColumn, m.Sections)
	}
	a, _ := m.Asset(search.KindCatalog)
	if disp := string(btAssetBytes(t, out, a)); !strings.Contains(disp, `"3003"`) || !strings.Contains(disp, "Product 11") {
		t.Errorf("display metadata lacks the number id or a title")
	}
}

// btOutputFiles reads every file of a build's output except the report
// (which holds timings), with the manifest's build_time blanked.
func btOutputFiles(t testing.TB, out string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.Name() == "build-report.json" || e.Name() == buildLockName {
			continue // timings; the last build's process id
		}
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "manifest.json" {
			m := buildtest.Manifest(t, out)
			if m.BuildTime == "" {
				t.Error("manifest has no build_time")
			}
			m.BuildTime = ""
			if b, err = m.Marshal(); err != nil {
				t.Fatal(err)
			}
		}
		files[e.Name()] = b
	}
	return files
}

func btSameFiles(t testing.TB, what string, a, b map[string][]byte) {
	t.Helper()
	var names []string
	for n := range a {
		names = append(names, n)
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		x, okx := a[n]
		y, oky := b[n]
		switch {
		case !okx || !oky:
			t.Errorf("%s: %s only in one output (first %v, second %v)", what, n, okx, oky)
		case !bytes.Equal(x, y):
			t.Errorf("%s: %s differs (%d vs %d bytes)", what, n, len(x), len(y))
		}
	}
}

// TestBuildDeterministic: the same catalogue and seed built twice into two
// folders, with separate caches and different parallelism, gives
// byte-identical assets (the manifest differs only in build_time).
func TestBuildDeterministic(t *testing.T) {
	model := buildtest.TinyModel(t)
	f := buildtest.NewFixture(t, 60)
	outA, outB := t.TempDir(), t.TempDir()
	ra := btBuild(t, model, f.Catalog(), outA, t.TempDir(), "--workers", "1", "--batch", "1")
	rb := btBuild(t, model, f.Catalog(), outB, t.TempDir(), "--workers", "2", "--batch", "4")
	if ra.err != nil || rb.err != nil {
		t.Fatalf("builds: %v / %v", ra.err, rb.err)
	}
	if ra.report.Embedded != 60 || rb.report.Embedded != 60 {
		t.Fatalf("embedded %d and %d, want 60 each (separate caches)", ra.report.Embedded, rb.report.Embedded)
	}
	a, b := btOutputFiles(t, outA), btOutputFiles(t, outB)
	if len(a) < 7 {
		t.Fatalf("only %d files in the output", len(a))
	}
	btSameFiles(t, "same input and seed", a, b)

	// A different seed must change something (the index), or the seed
	// does nothing and the comparison above proves little.
	outC := t.TempDir()
	if rc := btBuild(t, model, f.Catalog(), outC, t.TempDir(), "--seed", "2"); rc.err != nil {
		t.Fatal(rc.err)
	}
	ma, mc := buildtest.Manifest(t, outA), buildtest.Manifest(t, outC)
	ia, _ := ma.Asset(search.KindIndex)
	ic, _ := mc.Asset(search.KindIndex)
	if ia.SHA256 == ic.SHA256 {
		t.Error("seeds 1 and 2 built the same index")
	}
}

// TestBuildIncremental: changing 3 of 30 images re-embeds exactly those 3;
// editing only text re-embeds nothing; assets of the old build that the
// new manifest no longer names are removed.
func TestBuildIncremental(t *testing.T) {
	model := buildtest.TinyModel(t)
	cache := t.TempDir()
	f := buildtest.NewFixture(t, 30)
	out := t.TempDir()
	r := btBuild(t, model, f.Catalog(), out, cache)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.report.Embedded != 30 || r.report.FromCache != 0 {
		t.Fatalf("first build: embedded %d, from cache %d; want 30, 0", r.report.Embedded, r.report.FromCache)
	}
	first := buildtest.Manifest(t, out)

	for _, i := range []int{2, 11, 29} {
		f.WriteImage(t, "images/p"+strconv.Itoa(i)+".jpg", buildtest.JPEG(t, buildtest.Photo(i, 1)))
	}
	r = btBuild(t, model, f.Catalog(), out, cache)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.report.Embedded != 3 || r.report.FromCache != 27 {
		t.Errorf("after changing 3 images: embedded %d, from cache %d; want 3, 27", r.report.Embedded, r.report.FromCache)
	}
	second := btCheckPublished(t, out)
	va, _ := first.Asset(search.KindVectors)
	vb, _ := second.Asset(search.KindVectors)
	if va.SHA256 == vb.SHA256 {
		t.Error("the vectors did not change with 3 new photos")
	}
	if _, err := os.Stat(filepath.Join(out, va.File)); !os.IsNotExist(err) {
		t.Errorf("stale asset %s of the first build still there (stat: %v)", va.File, err)
	}

	f.Rows[5][2] = "A new title"
	f.Rows[6][5] = "Green"
	f.WriteCSV(t)
	r = btBuild(t, model, f.Catalog(), out, cache)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.report.Embedded != 0 || r.report.FromCache != 30 {
		t.Errorf("after editing text only: embedded %d, from cache %d; want 0, 30", r.report.Embedded, r.report.FromCache)
	}
	third := btCheckPublished(t, out)
	if third.Attributes["baseColour"]["Green"] != 1 {
		t.Errorf("attribute counts %v lack the edited colour", third.Attributes["baseColour"])
	}
}

// btKillEnv switches the test binary into TestBuildKilledChild's role.
const btKillEnv = "LOOKALIKE_BUILD_TEST_KILL_AFTER_BATCHES"

// TestBuildKilledChild is not a test of its own: TestBuildResumesAfterKill
// runs the test binary with btKillEnv set, and this build then kills its
// own process (SIGKILL: no deferred code runs) after that many batches.
func TestBuildKilledChild(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(btKillEnv))
	if n <= 0 {
		t.Skip("only runs as TestBuildResumesAfterKill's child")
	}
	var batches atomic.Int64
	embedBatchHook = func() {
		if batches.Add(1) == int64(n) {
			p, _ := os.FindProcess(os.Getpid())
			p.Kill()
			select {}
		}
	}
	var args []string
	if err := json.Unmarshal([]byte(os.Getenv(btKillEnv+"_ARGS")), &args); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseBuildFlags(args)
	if err != nil {
		t.Fatal(err)
	}
	Build(context.Background(), cfg)
	t.Fatal("the build finished before it was killed")
}

// TestBuildResumesAfterKill kills a build half-way through embedding, then
// reruns it: finished images come from the cache, and the assets equal a
// clean build's.
func TestBuildResumesAfterKill(t *testing.T) {
	model := buildtest.TinyModel(t)
	const n = 200
	f := buildtest.NewFixture(t, n)
	cache, out := t.TempDir(), t.TempDir()
	args := []string{"--catalog", f.Catalog(), "--out", out, "--model", model, "--cache", cache, "--workers", "2", "--batch", "4"}

	// 25 of 50 batches: 100 images embedded, at least the first 64 synced
	// to the cache (it syncs every 64 records).
	argsJSON, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestBuildKilledChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), btKillEnv+"=25", btKillEnv+"_ARGS="+string(argsJSON))
	outb, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed: %v\n%s", err, outb)
	}
	if _, err := os.Stat(filepath.Join(out, "manifest.json")); !os.IsNotExist(err) {
		t.Fatalf("a killed build published a manifest (stat: %v)", err)
	}

	r := btBuild(t, model, f.Catalog(), out, cache, "--batch", "4")
	if r.err != nil {
		t.Fatalf("rerun: %v\n%s", r.err, r.log)
	}
	t.Logf("rerun after the kill: embedded %d, from cache %d", r.report.Embedded, r.report.FromCache)
	if r.report.FromCache < 64 || r.report.Embedded >= n || r.report.Embedded+r.report.FromCache != n {
		t.Errorf("rerun embedded %d and took %d from the cache; want ≥ 64 from the cache and the rest (of %d) embedded", r.report.Embedded, r.report.FromCache, n)
	}
	btCheckPublished(t, out)

	clean := t.TempDir()
	if rc := btBuild(t, model, f.Catalog(), clean, t.TempDir()); rc.err != nil || rc.report.Embedded != n {
		t.Fatalf("clean build: %v, embedded %d", rc.err, rc.report.Embedded)
	}
	btSameFiles(t, "resumed vs clean build", btOutputFiles(t, out), btOutputFiles(t, clean))
}

// TestBuildFailureKeepsPreviousBuild: whatever a build fails on, the
// previous manifest and every asset it names stay in place, whole.
func TestBuildFailureKeepsPreviousBuild(t *testing.T) {
	model := buildtest.TinyModel(t)
	cache := t.TempDir()
	f := buildtest.NewFixture(t, 20)
	out := t.TempDir()
	if r := btBuild(t, model, f.Catalog(), out, cache); r.err != nil {
		t.Fatal(r.err)
	}
	btCheckPublished(t, out)
	manifest, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}

	// A new catalogue version: 3 new photos, so new index/vectors/… files.
	g := buildtest.NewFixture(t, 20)
	for _, i := range []int{1, 2, 3} {
		g.WriteImage(t, "images/p"+strconv.Itoa(i)+".jpg", buildtest.JPEG(t, buildtest.Photo(i, 5)))
	}
	tooMany := buildtest.NewFixture(t, 20)
	tooMany.Rows[3][1], tooMany.Rows[4][1] = "images/x.jpg", "images/y.jpg"
	tooMany.WriteCSV(t)
	broken := filepath.Join(t.TempDir(), "catalog.csv")
	os.WriteFile(broken, []byte("id,image\np1,\"images/p1.jpg\n"), 0o644)

	cases := []struct {
		name    string
		catalog string
		args    []string
		early   bool // fails before the build starts: the old report stays too
	}{
		{"malformed catalogue", broken, nil, true},
		{"too many bad rows", tooMany.Catalog(), nil, false},
		{"bad --section", g.Catalog(), []string{"--section", "nope"}, true},
		// Fails after the new index, vectors, thumbnails … were written.
		{"failure after writing assets", g.Catalog(), []string{"--interactions", filepath.Join(t.TempDir(), "missing.csv")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, err := os.ReadFile(filepath.Join(out, "build-report.json"))
			if err != nil {
				t.Fatal(err)
			}
			r := btBuild(t, model, tc.catalog, out, cache, tc.args...)
			if r.err == nil {
				t.Fatal("the build succeeded")
			}
			if now, _ := os.ReadFile(filepath.Join(out, "build-report.json")); tc.early != bytes.Equal(now, before) {
				t.Errorf("build-report.json rewritten: %v, want %v", !bytes.Equal(now, before), !tc.early)
			}
			if !tc.early && (r.report.Status == "ok" || r.report.Status == "") {
				t.Errorf("report status %q after a failure", r.report.Status)
			}
			now, err := os.ReadFile(filepath.Join(out, "manifest.json"))
			if err != nil || !bytes.Equal(now, manifest) {
				t.Fatalf("the previous manifest changed (read error %v)", err)
			}
			btCheckPublished(t, out)
			if len(tc.args) == 2 && tc.args[0] == "--interactions" {
				// The scenario needs new assets on disk when it fails.
				if entries, _ := os.ReadDir(out); len(entries) <= len(buildtest.Manifest(t, out).Assets)+2 {
					t.Errorf("%d files in the output: the failed build wrote no new assets, so this proves nothing", len(entries))
				}
			}
		})
	}
	// A build killed while writing leaves hidden temporary files.
	for _, name := range []string{".index-0123456789ab.ann.tmp-123", ".manifest.json.tmp-456", ".thumbs-0123456789ab.jpg.part2.tmp-7"} {
		os.WriteFile(filepath.Join(out, name), []byte("half"), 0o644)
	}
	os.WriteFile(filepath.Join(out, "notes.txt"), []byte("the shop's own file"), 0o644)
	// The next good build cleans up what the failed ones left behind, and
	// nothing else.
	if r := btBuild(t, model, g.Catalog(), out, cache); r.err != nil {
		t.Fatal(r.err)
	}
	m := btCheckPublished(t, out)
	named := map[string]bool{"manifest.json": true, "build-report.json": true, "notes.txt": true, buildLockName: true}
	for _, a := range m.Assets {
		named[a.File] = true
		for _, p := range a.Parts {
			named[p.File] = true
		}
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		// name.br / name.gz: the precompressed siblings of a listed file.
		base := strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".br"), ".gz")
		if !named[e.Name()] && !(base != e.Name() && named[base]) {
			t.Errorf("%s is in the output but not in the manifest", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(out, "notes.txt")); err != nil {
		t.Errorf("a file the builder did not write was removed: %v", err)
	}
}

// TestBuildSplitsLargeAssets: assets over the size limit are written as
// parts the manifest lists, and the joined parts load and search.
func TestBuildSplitsLargeAssets(t *testing.T) {
	model := buildtest.TinyModel(t)
	f := buildtest.NewFixture(t, 40)
	out := t.TempDir()
	const limit = 1500
	defer func(v int) { maxAssetSize = v }(maxAssetSize)
	maxAssetSize = limit
	r := btBuild(t, model, f.Catalog(), out, t.TempDir(), "--vectors", "float32")
	if r.err != nil {
		t.Fatal(r.err)
	}
	m := btCheckPublished(t, out)
	split := 0
	for _, a := range m.Assets {
		if a.Size <= limit {
			if len(a.Parts) != 0 {
				t.Errorf("%s (%d bytes) split although it fits", a.File, a.Size)
			}
			continue
		}
		split++
		if len(a.Parts) < 2 {
			t.Errorf("%s is %d bytes, over %d, but has %d parts", a.File, a.Size, limit, len(a.Parts))
		}
		if _, err := os.Stat(filepath.Join(out, a.File)); !os.IsNotExist(err) {
			t.Errorf("%s written whole as well as in parts", a.File)
		}
		for i, p := range a.Parts {
			if p.Size > limit || p.File != a.File+".part"+strconv.Itoa(i) {
				t.Errorf("part %d of %s: %s, %d bytes", i, a.File, p.File, p.Size)
			}
		}
	}
	if split < 3 {
		t.Fatalf("only %d assets split; the test needs assets over %d bytes", split, limit)
	}
	// The browser and `builder query` join the parts; so does this loader.
	e, err := search.Open(m, func(a catalog.Asset) ([]byte, error) { return btAssetBytes(t, out, a), nil }, search.Options{})
	if err != nil {
		t.Fatalf("search.Open on a split build: %v", err)
	}
	hits, _, err := e.SearchImage(buildtest.JPEG(t, buildtest.Photo(17, 0)), nil, search.Query{K: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 || hits[0].ID != "p17" || hits[0].Score < 0.999 {
		t.Errorf("searching item p17's own photo: %+v; want p17 first with score ≈ 1", hits)
	}
}

// TestBuildAnnoyNodeLayout checks the index against Spotify Annoy's .ann
// format for an angular float32 index: node i (i < n) is item i at byte
// i·(12+4f) — int32 n_descendants = 1, two int32 child slots, then the f
// float32 values of the item's vector, which must equal the stored vector.
func TestBuildAnnoyNodeLayout(t *testing.T) {
	model := buildtest.TinyModel(t)
	f := buildtest.NewFixture(t, 50)
	cache := t.TempDir()
	for _, enc := range []string{"float32", "int8"} {
		t.Run(enc, func(t *testing.T) {
			out := t.TempDir()
			if r := btBuild(t, model, f.Catalog(), out, cache, "--vectors", enc, "--trees", "5"); r.err != nil {
				t.Fatal(r.err)
			}
			m := buildtest.Manifest(t, out)
			ia, _ := m.Asset(search.KindIndex)
			va, _ := m.Asset(search.KindVectors)
			ann, vb := btAssetBytes(t, out, ia), btAssetBytes(t, out, va)
			vecs, err := vecfile.ParseVectors(vb)
			if err != nil {
				t.Fatal(err)
			}
			n, dim := m.ItemCount, m.Model.Embedding.Dim
			if vecs.Len() != n || vecs.Dim() != dim {
				t.Fatalf("vectors %d×%d, manifest %d×%d", vecs.Len(), vecs.Dim(), n, dim)
			}
			node := 12 + 4*dim
			if len(ann)%node != 0 || len(ann)/node <= n {
				t.Fatalf("index is %d bytes: not a whole number of %d-byte nodes, or no more nodes than items", len(ann), node)
			}
			tol := float32(1e-7)
			if enc == "int8" {
				tol = 1.0 / 127 // half a quantisation step of a unit vector's largest value, with room
			}
			for i := 0; i < n; i++ {
				b := ann[i*node : (i+1)*node]
				if nd := int32(binary.LittleEndian.Uint32(b)); nd != 1 {
					t.Fatalf("item %d: n_descendants %d, want 1", i, nd)
				}
				stored := vecs.Vector(i, nil)
				var norm float64
				for j := 0; j < dim; j++ {
					x := math.Float32frombits(binary.LittleEndian.Uint32(b[12+4*j:]))
					norm += float64(x) * float64(x)
					if d := x - stored[j]; d > tol || d < -tol {
						t.Fatalf("item %d value %d: index %g, vectors asset %g", i, j, x, stored[j])
					}
				}
				if math.Abs(norm-1) > 1e-4 {
					t.Errorf("item %d: index vector has norm² %g, want unit length", i, norm)
				}
			}
			// Annoy copies the tree roots to the end (each covers all n
			// items); the last tree's own root node comes just before the
			// copies and is identical to the last copy, which Annoy's
			// loader knows.
			nodes := len(ann) / node
			nd := func(k int) int32 { return int32(binary.LittleEndian.Uint32(ann[k*node:])) }
			for k := nodes - 5; k < nodes; k++ {
				if nd(k) != int32(n) {
					t.Errorf("node %d of the last 5 (--trees 5): n_descendants %d, want %d (a root)", k, nd(k), n)
				}
			}
			if k := nodes - 6; k >= n && nd(k) == int32(n) && !bytes.Equal(ann[k*node:(k+1)*node], ann[(nodes-1)*node:]) {
				t.Errorf("node %d covers all items but is not the last tree's root", k)
			}
			// And the project's own reader agrees.
			ix, err := annoy.Load(ann, dim)
			if err != nil || ix.NumItems() != n || ix.NumTrees() != 5 {
				t.Errorf("annoy.Load: %v (items %d)", err, n)
			}
		})
	}
}

// TestBuildProgressPlainLines: with a non-terminal log the build prints
// plain progress lines (no carriage returns or escape codes) with the
// final count and rate (the lines themselves: package progress).
func TestBuildProgressPlainLines(t *testing.T) {
	model := buildtest.TinyModel(t)
	f := buildtest.NewFixture(t, 24)
	r := btBuild(t, model, f.Catalog(), t.TempDir(), t.TempDir())
	if r.err != nil {
		t.Fatal(r.err)
	}
	if strings.ContainsAny(r.log, "\r\x1b") {
		t.Errorf("terminal control characters in a non-terminal log:\n%q", r.log)
	}
	if !strings.Contains(r.log, "embed: 24/24 in ") || !strings.Contains(r.log, "items/s") {
		t.Errorf("no final progress line:\n%s", r.log)
	}

}

// buildQuiet is buildtest.BuildFunc: `builder build` with args, no log.
func buildQuiet(args []string) error {
	cfg, err := ParseBuildFlags(args)
	if err != nil {
		return err
	}
	cfg.Log = io.Discard
	return Build(context.Background(), cfg)
}

// TestBuildDeblocksAsTheSearchDoes: a heavily compressed catalogue photo
// is embedded smoothed, as the search embeds a query photo
// (embed.Deblocked), so searching the shop's own photo still finds that
// product first at ≈ 1; and a second build takes it from the cache.
func TestBuildDeblocksAsTheSearchDoes(t *testing.T) {
	model := buildtest.TinyModel(t)
	f := buildtest.NewFixture(t, 12)
	var blocky []int
	for i := 0; i < 12; i++ {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, buildtest.Photo(i, 0), &jpeg.Options{Quality: 5}); err != nil {
			t.Fatal(err)
		}
		f.WriteImage(t, "images/p"+strconv.Itoa(i)+".jpg", b.Bytes())
		img, _, err := imageprep.Decode(b.Bytes(), imageprep.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if embed.Blocky(img) {
			blocky = append(blocky, i)
		}
	}
	if len(blocky) < 3 {
		t.Fatalf("only %d of 12 photos at quality 5 are over the gate", len(blocky))
	}
	out, cache := t.TempDir(), t.TempDir()
	if r := btBuild(t, model, f.Catalog(), out, cache, "--vectors", "float32"); r.err != nil {
		t.Fatal(r.err)
	}
	m := btCheckPublished(t, out)
	e, err := search.Open(m, func(a catalog.Asset) ([]byte, error) { return btAssetBytes(t, out, a), nil }, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range blocky {
		data, err := os.ReadFile(filepath.Join(f.Dir, "images", "p"+strconv.Itoa(i)+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		hits, _, err := e.SearchImage(data, nil, search.Query{K: 2, Exact: true})
		if err != nil {
			t.Fatal(err)
		}
		if id := "p" + strconv.Itoa(i); len(hits) == 0 || hits[0].ID != id || hits[0].Visual < 0.999 {
			t.Errorf("searching %s's own photo: %+v; want %s first at ≈ 1", id, hits, id)
		}
	}
	r := btBuild(t, model, f.Catalog(), t.TempDir(), cache, "--vectors", "float32")
	if r.err != nil || r.report.Embedded != 0 || r.report.FromCache != 12 {
		t.Fatalf("second build: err %v, embedded %d, from cache %d", r.err, r.report.Embedded, r.report.FromCache)
	}
}
