package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/onnxpb"
	"github.com/lookalike/lookalike/models/search"
	"github.com/lookalike/lookalike/models/vecfile"
)

// These tests prove the "Behaviour" section of the builder issue on a tiny
// ONNX model and generated photos, so they run in seconds without ResNet50.

// btTinyModel is an ONNX image model small enough for tests:
// input [N,3,32,32] → Conv(3→16, 3×3, stride 2) → Relu → GlobalAveragePool
// → Flatten ("gap") and GlobalMaxPool → Flatten ("gmp"), with its
// preprocessing declared in the lookalike.preprocessing metadata.
func btTinyModel(t testing.TB) string {
	t.Helper()
	const c, o, k = 3, 16, 3
	r := rand.New(rand.NewSource(7))
	w := make([]float32, o*c*k*k)
	for i := range w {
		w[i] = float32(r.NormFloat64() * 0.4)
	}
	b := make([]float32, o)
	for i := range b {
		b[i] = float32(r.NormFloat64() * 0.1)
	}
	g := onnxpb.Graph{
		Name: "tiny-image",
		Nodes: []onnxpb.Node{
			{Name: "conv", OpType: "Conv", Inputs: []string{"input", "w", "b"}, Outputs: []string{"c"}, Attrs: []onnxpb.Attr{
				onnxpb.IntsAttr("kernel_shape", k, k), onnxpb.IntsAttr("strides", 2, 2),
				onnxpb.IntsAttr("pads", 1, 1, 1, 1), onnxpb.IntsAttr("dilations", 1, 1), onnxpb.IntAttr("group", 1)}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"c"}, Outputs: []string{"r"}},
			{Name: "gap_pool", OpType: "GlobalAveragePool", Inputs: []string{"r"}, Outputs: []string{"gap4"}},
			{Name: "gap", OpType: "Flatten", Inputs: []string{"gap4"}, Outputs: []string{"gap"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
			{Name: "gmp_pool", OpType: "GlobalMaxPool", Inputs: []string{"r"}, Outputs: []string{"gmp4"}},
			{Name: "gmp", OpType: "Flatten", Inputs: []string{"gmp4"}, Outputs: []string{"gmp"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
		},
		Initializers: []onnxpb.Tensor{
			onnxpb.FloatTensor("w", []int64{o, c, k, k}, w),
			onnxpb.FloatTensor("b", []int64{o}, b),
		},
		Inputs:  []onnxpb.ValueInfo{{Name: "input", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: c}, {Value: 32}, {Value: 32}}}},
		Outputs: []onnxpb.ValueInfo{{Name: "gap", ElemType: onnxpb.Float}, {Name: "gmp", ElemType: onnxpb.Float}},
	}
	m := &onnxpb.Model{IRVersion: 8, Opset: 13, ProducerName: "builder-test", Graph: g,
		Metadata: []onnxpb.KV{{Key: "lookalike.preprocessing",
			Value: `{"size":32,"channels":"RGB","scale":1,"mean":[0.5,0.5,0.5],"std":[0.25,0.25,0.25]}`}}}
	path := filepath.Join(t.TempDir(), "tiny.onnx")
	if err := os.WriteFile(path, m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// btPhoto draws a deterministic product-like picture: a background, a
// coloured shape whose size, position and stripes depend on i, and variant
// (different variants of one i give different bytes and pixels).
func btPhoto(i, variant int) image.Image {
	const w, h = 40, 52
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewSource(int64(i*1000 + variant)))
	bg := color.RGBA{uint8(200 + r.Intn(55)), uint8(200 + r.Intn(55)), uint8(200 + r.Intn(55)), 255}
	fg := color.RGBA{uint8(r.Intn(256)), uint8(r.Intn(256)), uint8(r.Intn(256)), 255}
	x0, y0 := r.Intn(w/3), r.Intn(h/3)
	x1, y1 := x0+w/3+r.Intn(w/3), y0+h/3+r.Intn(h/3)
	stripe := 2 + r.Intn(6)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := bg
			if x >= x0 && x < x1 && y >= y0 && y < y1 {
				c = fg
				if (x+y)/stripe%2 == 0 {
					c = color.RGBA{fg.R / 2, fg.G / 2, fg.B / 2, 255}
				}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func btJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func btPNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// btHeader is the test catalogue's CSV header.
var btHeader = []string{"id", "image", "title", "masterCategory", "articleType", "baseColour"}

// btRow is the i-th good row; its btPhoto is images/p<i>.jpg.
func btRow(i int) []string {
	sections := []string{"Apparel", "Footwear", "Accessories"}
	types := []string{"Tshirts", "Shoes", "Watches", "Bags"}
	colours := []string{"Red", "Blue", "Black"}
	return []string{
		"p" + strconv.Itoa(i), "images/p" + strconv.Itoa(i) + ".jpg", "Product " + strconv.Itoa(i),
		sections[i%len(sections)], types[i%len(types)], colours[i%len(colours)],
	}
}


// btFixture is a catalogue folder: catalog.csv and images/.
type btFixture struct {
	dir  string
	rows [][]string
}

// newBTFixture writes n good rows and their photos.
func newBTFixture(t testing.TB, n int) *btFixture {
	t.Helper()
	f := &btFixture{dir: t.TempDir()}
	if err := os.MkdirAll(filepath.Join(f.dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		f.rows = append(f.rows, btRow(i))
		f.writeImage(t, "images/p"+strconv.Itoa(i)+".jpg", btJPEG(t, btPhoto(i, 0)))
	}
	f.writeCSV(t)
	return f
}

func (f *btFixture) writeImage(t testing.TB, rel string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, filepath.FromSlash(rel)), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *btFixture) catalog() string { return filepath.Join(f.dir, "catalog.csv") }

func (f *btFixture) writeCSV(t testing.TB) {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(btHeader)
	w.WriteAll(f.rows)
	if err := os.WriteFile(f.catalog(), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// btRun is one build's outcome.
type btRun struct {
	err    error
	report buildReport
	log    string
}

// btBuild builds with the tiny model and a private cache (unless args
// name one) and reads build-report.json.
func btBuild(t testing.TB, model, catalogPath, out, cache string, args ...string) btRun {
	t.Helper()
	all := append([]string{"--catalog", catalogPath, "--out", out, "--model", model, "--cache", cache, "--workers", "2"}, args...)
	cfg, err := parseBuildFlags(all)
	if err != nil {
		t.Fatalf("parseBuildFlags(%q): %v", all, err)
	}
	var log bytes.Buffer
	cfg.Log = &log
	r := btRun{err: build(context.Background(), cfg), log: log.String()}
	b, err := os.ReadFile(filepath.Join(out, "build-report.json"))
	if err != nil {
		t.Fatalf("build-report.json: %v (build error %v)", err, r.err)
	}
	if err := json.Unmarshal(b, &r.report); err != nil {
		t.Fatalf("build-report.json: %v", err)
	}
	return r
}

func btManifest(t testing.TB, out string) *catalog.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := catalog.ReadManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
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
	m := btManifest(t, out)
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
	model := btTinyModel(t)
	cache := t.TempDir()
	good := btJPEG(t, btPhoto(99, 0))
	goodPNG := btPNG(t, btPhoto(98, 0))
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
		{name: "truncated JPEG", row: []string{"bad1", "images/trunc.jpg", "t"}, files: map[string][]byte{"images/trunc.jpg": good[:len(good)/2]},
			wantID: "bad1", wantReason: "truncated file", wantDetail: "jpeg"},
		{name: "not an image", row: []string{"bad1", "images/notes.jpg", "t"}, files: map[string][]byte{"images/notes.jpg": []byte("these are my notes, not a btPhoto\n")},
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
			f := newBTFixture(t, 20)
			for rel, b := range tc.files {
				f.writeImage(t, rel, b)
			}
			const at = 7 // CSV line 9
			row := append(append([]string(nil), tc.row...), "Apparel", "Tshirts", "Red")
			f.rows = append(f.rows[:at], append([][]string{row}, f.rows[at:]...)...)
			f.writeCSV(t)
			out := t.TempDir()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			t0 := time.Now()
			r := btBuild(t, model, f.catalog(), out, cache, "--max-errors", "1")
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
			p := rep.Problems[0]
			if p.Row != at+2 || p.ID != tc.wantID || !strings.Contains(p.Reason, tc.wantReason) || !strings.Contains(p.Detail, tc.wantDetail) {
				t.Errorf("problem %+v; want row %d, id %q, reason containing %q, detail containing %q", p, at+2, tc.wantID, tc.wantReason, tc.wantDetail)
			}
			// The summary on the log names the row and the reason too.
			if !strings.Contains(r.log, "skipped 1 bad row") || !strings.Contains(r.log, "row "+strconv.Itoa(at+2)) || !strings.Contains(r.log, p.Reason) {
				t.Errorf("summary does not show the bad row:\n%s", r.log)
			}
			if m := btCheckPublished(t, out); m.ItemCount != 20 {
				t.Errorf("manifest item_count %d, want 20", m.ItemCount)
			}
			if strings.HasPrefix(tc.name, "absurd") {
				// Refused from the header: no gigabyte buffers, no seconds
				// of decoding (the whole 21-row build included).
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
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
	model := btTinyModel(t)
	f := newBTFixture(t, 12)
	out := t.TempDir()
	r := btBuild(t, model, f.catalog(), out, t.TempDir())
	if r.err != nil {
		t.Fatalf("build: %v\n%s", r.err, r.log)
	}
	t.Logf("%s", r.log)
	m := btCheckPublished(t, out)
	if m.ItemCount != 12 || r.report.Items != 12 || r.report.Embedded != 12 || r.report.Status != "ok" {
		t.Errorf("items %d/%d embedded %d status %q", m.ItemCount, r.report.Items, r.report.Embedded, r.report.Status)
	}
	_ = annoy.NodeSize
	_ = vecfile.Float32
	_ = search.KindIndex
	_ = crc32.ChecksumIEEE
	_ = binary.LittleEndian
	_ = math.Abs
	_ = exec.Command
	_ = runtime.GC
	_ = sort.Strings
	_ = syscall.SIGKILL
	_ = time.Now
}
