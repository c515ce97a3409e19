//go:build !js

package buildtest

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/onnxpb"
)

// TinyModel is an ONNX image model small enough for tests:
// input [N,3,32,32] → Conv(3→16, 3×3, stride 2) → Relu → GlobalAveragePool
// → Flatten ("gap") and GlobalMaxPool → Flatten ("gmp"), with its
// preprocessing declared in the lookalike.preprocessing metadata.
func TinyModel(t testing.TB) string {
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

// Photo draws a deterministic product-like picture: a background, a
// coloured shape whose size, position and stripes depend on i, and variant
// (different variants of one i give different bytes and pixels).
func Photo(i, variant int) image.Image {
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

// JPEG encodes img at quality 90.
func JPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// PNG encodes img.
func PNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Header is the test catalogue's CSV header.
var Header = []string{"id", "image", "title", "masterCategory", "articleType", "baseColour"}

// Row is the i-th good row; its Photo is images/p<i>.jpg.
func Row(i int) []string {
	sections := []string{"Apparel", "Footwear", "Accessories"}
	types := []string{"Tshirts", "Shoes", "Watches", "Bags"}
	colours := []string{"Red", "Blue", "Black"}
	return []string{
		"p" + strconv.Itoa(i), "images/p" + strconv.Itoa(i) + ".jpg", "Product " + strconv.Itoa(i),
		sections[i%len(sections)], types[i%len(types)], colours[i%len(colours)],
	}
}

// Fixture is a catalogue folder: catalog.csv and images/.
type Fixture struct {
	Dir  string     // holds catalog.csv and images/
	Rows [][]string // the CSV rows after Header
}

// NewFixture writes n good rows and their photos.
func NewFixture(t testing.TB, n int) *Fixture {
	t.Helper()
	f := &Fixture{Dir: t.TempDir()}
	if err := os.MkdirAll(filepath.Join(f.Dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		f.Rows = append(f.Rows, Row(i))
		f.WriteImage(t, "images/p"+strconv.Itoa(i)+".jpg", JPEG(t, Photo(i, 0)))
	}
	f.WriteCSV(t)
	return f
}

// WriteImage writes data to rel (slash-separated) inside the fixture.
func (f *Fixture) WriteImage(t testing.TB, rel string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.Dir, filepath.FromSlash(rel)), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Catalog is the fixture's catalog.csv.
func (f *Fixture) Catalog() string { return filepath.Join(f.Dir, "catalog.csv") }

// WriteCSV (re)writes catalog.csv from Header and f.Rows.
func (f *Fixture) WriteCSV(t testing.TB) {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(Header)
	w.WriteAll(f.Rows)
	if err := os.WriteFile(f.Catalog(), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Manifest reads out/manifest.json.
func Manifest(t testing.TB, out string) *catalog.Manifest {
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

// TinyColourModel is an ONNX model whose features are the mean ("gap") and
// maximum ("gmp") of each input channel: with the declared preprocessing
// (0…1 minus 0.5) a solid-colour photo's feature is its colour centred on
// grey, so rankings can be worked out by hand.
func TinyColourModel(t testing.TB, dir string) string {
	t.Helper()
	g := onnxpb.Graph{
		Nodes: []onnxpb.Node{
			{Name: "avg", OpType: "GlobalAveragePool", Inputs: []string{"input"}, Outputs: []string{"a"}},
			{Name: "gap", OpType: "Flatten", Inputs: []string{"a"}, Outputs: []string{"gap"}},
			{Name: "max", OpType: "GlobalMaxPool", Inputs: []string{"input"}, Outputs: []string{"m"}},
			{Name: "gmp", OpType: "Flatten", Inputs: []string{"m"}, Outputs: []string{"gmp"}},
		},
		Inputs:  []onnxpb.ValueInfo{{Name: "input", ElemType: onnxpb.Float, Dims: []onnxpb.Dim{{Param: "N"}, {Value: 3}, {Value: 8}, {Value: 8}}}},
		Outputs: []onnxpb.ValueInfo{{Name: "gap", ElemType: onnxpb.Float}, {Name: "gmp", ElemType: onnxpb.Float}},
	}
	m := &onnxpb.Model{IRVersion: 8, Opset: 13, Graph: g, Metadata: []onnxpb.KV{{
		Key:   "lookalike.preprocessing",
		Value: `{"size":8,"channels":"RGB","scale":1,"mean":[0.5,0.5,0.5],"std":[1,1,1]}`,
	}}}
	path := filepath.Join(dir, "tiny.onnx")
	if err := os.WriteFile(path, m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteSolidPNG writes a w×h photo of one colour.
func WriteSolidPNG(t testing.TB, path string, c color.RGBA, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tinyRow is a product of one solid colour.
type tinyRow struct {
	id, articleType, colour string
	c                       color.RGBA
}

// Catalogue of solid colours. Centred on grey, the red query (250,5,5)
// points exactly at A, then C (cos 0.993), then B (0.967); the blue query
// (5,5,250) at D, then F (0.987); everything else is at cos ≤ 0.
var (
	tinyCatalog = []tinyRow{
		{"A", "Shirts", "Red", color.RGBA{255, 0, 0, 255}},
		{"B", "Shirts", "Red", color.RGBA{255, 0, 60, 255}},
		{"C", "Shoes", "Red", color.RGBA{255, 30, 0, 255}},
		{"D", "Shoes", "Blue", color.RGBA{0, 0, 255, 255}},
		{"E", "Shoes", "Green", color.RGBA{0, 255, 0, 255}},
		{"F", "Shirts", "Blue", color.RGBA{0, 40, 255, 255}},
	}
	tinyQueries = []tinyRow{
		{"q1", "Shirts", "Red", color.RGBA{250, 5, 5, 255}},
		{"q2", "Shirts", "Blue", color.RGBA{5, 5, 250, 255}},
	}
)

// writeTinyCSV writes rows and their photos (img/<id>.png next to path).
func writeTinyCSV(t testing.TB, path string, rows []tinyRow) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,title,masterCategory,articleType,baseColour,image\n")
	for _, r := range rows {
		img := "img/" + r.id + ".png"
		WriteSolidPNG(t, filepath.Join(filepath.Dir(path), img), r.c, 12, 16)
		fmt.Fprintf(&b, "%s,%s %s,Apparel,%s,%s,%s\n", r.id, r.colour, r.articleType, r.articleType, r.colour, img)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BuildFunc runs `builder build` with args, logging nowhere (the build
// package's ParseBuildFlags and Build).
type BuildFunc func(args []string) error

// TinyAssets builds assets from the solid-colour catalogue with
// TinyColourModel (no projection, float32 vectors, plus extra flags) and
// returns the folder, the catalogue, held-out queries (q/queries.csv: a
// red and a blue shirt) and the cache folder.
func TinyAssets(t testing.TB, build BuildFunc, extra ...string) (assets, catalogCSV, queriesCSV, cache string) {
	t.Helper()
	dir := t.TempDir()
	model := TinyColourModel(t, dir)
	catalogCSV = filepath.Join(dir, "catalog.csv")
	queriesCSV = filepath.Join(dir, "q", "queries.csv")
	if err := os.MkdirAll(filepath.Dir(queriesCSV), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTinyCSV(t, catalogCSV, tinyCatalog)
	writeTinyCSV(t, queriesCSV, tinyQueries)
	assets = filepath.Join(dir, "assets")
	cache = filepath.Join(dir, "cache")
	args := append([]string{"--catalog", catalogCSV, "--out", assets, "--model", model, "--cache", cache,
		"--projection", "none", "--vectors", "float32", "--workers", "1"}, extra...)
	if err := build(args); err != nil {
		t.Fatalf("build: %v", err)
	}
	return assets, catalogCSV, queriesCSV, cache
}
