package tfjs

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Format is the only model.json format this package reads.
const Format = "layers-model"

// MaxWeightBytes bounds the weights a manifest may declare (all groups
// together). Parse refuses bigger manifests before anything is allocated.
const MaxWeightBytes = 2 << 30

// Model is a parsed TF.js layers model.
type Model struct {
	Format       string // always "layers-model"
	GeneratedBy  string // e.g. "keras v2.2.4-tf"
	ConvertedBy  string // e.g. "TensorFlow.js Converter v1.2.6"
	KerasVersion string
	Backend      string
	Class        string // Keras model class: "Model", "Functional" or "Sequential"
	Name         string
	Layers       []Layer  // in topological order: every inbound layer comes earlier
	Inputs       []string // names of the input layers
	Outputs      []string // names of the output layers
	Weights      []Weight // in manifest order
	Groups       []Group  // the manifest's shard groups

	layerIndex  map[string]int
	weightIndex map[string]int
}

// Layer is one Keras layer of the topology.
type Layer struct {
	Class   string          // Keras class_name, e.g. "Conv2D"
	Name    string          // unique layer name
	Config  json.RawMessage // the layer's config object, as written
	Inbound []string        // names of the layers whose outputs feed it, in order
}

// DecodeConfig unmarshals the layer's config into v.
func (l *Layer) DecodeConfig(v any) error {
	if err := json.Unmarshal(l.Config, v); err != nil {
		return fmt.Errorf("tfjs: layer %q (%s): config: %w", l.Name, l.Class, err)
	}
	return nil
}

// Weight is one named weight tensor. Data is nil after Parse and holds
// product(Shape) values after Read.
type Weight struct {
	Name  string // e.g. "conv1/kernel"
	Shape []int
	Data  []float32
	Group int   // index into Model.Groups
	Shard int   // index into Groups[Group].Paths of the shard holding its first byte
	Off   int64 // byte offset of the weight inside its group's concatenated shards
}

// Size is the number of elements of the weight.
func (w *Weight) Size() int {
	n := 1
	for _, d := range w.Shape {
		n *= d
	}
	return n
}

// Group is one weightsManifest entry: shard paths (relative to model.json)
// whose concatenation holds Weights[First:First+Count].
type Group struct {
	Paths        []string
	First, Count int
	Bytes        int64 // total size of the group's weights
}

// Layer returns the layer with the given name.
func (m *Model) Layer(name string) (*Layer, bool) {
	i, ok := m.layerIndex[name]
	if !ok {
		return nil, false
	}
	return &m.Layers[i], true
}

// Weight returns the weight with the given name (e.g. "conv1/kernel").
func (m *Model) Weight(name string) (*Weight, bool) {
	i, ok := m.weightIndex[name]
	if !ok {
		return nil, false
	}
	return &m.Weights[i], true
}

// NumParams is the number of weight values the manifest declares.
func (m *Model) NumParams() int64 {
	var n int64
	for i := range m.Weights {
		n += int64(m.Weights[i].Size())
	}
	return n
}

// KnownClasses are the Keras layer classes Parse accepts. A layer of any other
// class is refused with an error naming it: it is either not Keras or needs
// code this package's users do not have.
var KnownClasses = map[string]bool{
	"InputLayer": true, "Dense": true, "Activation": true, "Dropout": true,
	"SpatialDropout1D": true, "SpatialDropout2D": true, "Flatten": true,
	"Reshape": true, "Permute": true, "RepeatVector": true, "Masking": true,
	"Embedding": true, "Conv1D": true, "Conv2D": true, "Conv2DTranspose": true,
	"Conv3D": true, "DepthwiseConv2D": true, "SeparableConv2D": true,
	"Cropping2D": true, "UpSampling2D": true, "ZeroPadding2D": true,
	"BatchNormalization": true, "LayerNormalization": true,
	"MaxPooling1D": true, "MaxPooling2D": true, "AveragePooling1D": true,
	"AveragePooling2D": true, "GlobalAveragePooling1D": true,
	"GlobalAveragePooling2D": true, "GlobalMaxPooling1D": true,
	"GlobalMaxPooling2D": true, "Add": true, "Subtract": true, "Multiply": true,
	"Average": true, "Maximum": true, "Minimum": true, "Concatenate": true,
	"Dot": true, "ReLU": true, "LeakyReLU": true, "PReLU": true, "ELU": true,
	"ThresholdedReLU": true, "Softmax": true, "GaussianNoise": true,
	"GaussianDropout": true, "AlphaDropout": true,
}

type rawModel struct {
	Format          string          `json:"format"`
	GeneratedBy     string          `json:"generatedBy"`
	ConvertedBy     string          `json:"convertedBy"`
	ModelTopology   json.RawMessage `json:"modelTopology"`
	WeightsManifest []rawGroup      `json:"weightsManifest"`
}

type rawTopology struct {
	KerasVersion string          `json:"keras_version"`
	Backend      string          `json:"backend"`
	ModelConfig  json.RawMessage `json:"model_config"`
	ClassName    string          `json:"class_name"`
	Config       json.RawMessage `json:"config"`
}

type rawModelConfig struct {
	ClassName string          `json:"class_name"`
	Config    json.RawMessage `json:"config"`
}

type rawGraph struct {
	Name         string            `json:"name"`
	Layers       []rawLayer        `json:"layers"`
	InputLayers  []json.RawMessage `json:"input_layers"`
	OutputLayers []json.RawMessage `json:"output_layers"`
}

type rawLayer struct {
	Name         string          `json:"name"`
	ClassName    string          `json:"class_name"`
	Config       json.RawMessage `json:"config"`
	InboundNodes json.RawMessage `json:"inbound_nodes"`
}

type rawGroup struct {
	Paths   []string    `json:"paths"`
	Weights []rawWeight `json:"weights"`
}

type rawWeight struct {
	Name         string          `json:"name"`
	Shape        []int           `json:"shape"`
	Dtype        string          `json:"dtype"`
	Quantization json.RawMessage `json:"quantization"`
}

// Parse reads model.json: the topology and the weights manifest, without the
// weights. It checks the format, the layer graph (unique names, known
// classes, inbound layers defined earlier) and the manifest (float32 only,
// unique names, sane shapes and shard paths).
func Parse(modelJSON []byte) (*Model, error) {
	var raw rawModel
	if err := json.Unmarshal(modelJSON, &raw); err != nil {
		return nil, fmt.Errorf("tfjs: model.json: %w", err)
	}
	if raw.Format != Format {
		return nil, fmt.Errorf("tfjs: model.json: format is %q, want %q (only TF.js layers models are supported; graph models have no Keras topology)", raw.Format, Format)
	}
	m := &Model{Format: raw.Format, GeneratedBy: raw.GeneratedBy, ConvertedBy: raw.ConvertedBy}
	if err := m.parseTopology(raw.ModelTopology); err != nil {
		return nil, err
	}
	if err := m.parseManifest(raw.WeightsManifest); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Model) parseTopology(b json.RawMessage) error {
	if len(b) == 0 || string(b) == "null" {
		return errors.New("tfjs: model.json: no modelTopology")
	}
	var top rawTopology
	if err := json.Unmarshal(b, &top); err != nil {
		return fmt.Errorf("tfjs: modelTopology: %w", err)
	}
	m.KerasVersion, m.Backend = top.KerasVersion, top.Backend
	mc := rawModelConfig{ClassName: top.ClassName, Config: top.Config}
	if len(top.ModelConfig) > 0 && string(top.ModelConfig) != "null" {
		if err := json.Unmarshal(top.ModelConfig, &mc); err != nil {
			return fmt.Errorf("tfjs: modelTopology.model_config: %w", err)
		}
	}
	m.Class = mc.ClassName
	var g rawGraph
	switch mc.ClassName {
	case "Model", "Functional":
		if err := json.Unmarshal(mc.Config, &g); err != nil {
			return fmt.Errorf("tfjs: model_config.config: %w", err)
		}
	case "Sequential":
		// Keras 2.2 writes a bare list of layers; later versions an object.
		if bytes.HasPrefix(bytes.TrimSpace(mc.Config), []byte("[")) {
			if err := json.Unmarshal(mc.Config, &g.Layers); err != nil {
				return fmt.Errorf("tfjs: model_config.config: %w", err)
			}
		} else if err := json.Unmarshal(mc.Config, &g); err != nil {
			return fmt.Errorf("tfjs: model_config.config: %w", err)
		}
	default:
		return fmt.Errorf("tfjs: model_config: class_name %q is not a Keras Model, Functional or Sequential model", mc.ClassName)
	}
	m.Name = g.Name
	if len(g.Layers) == 0 {
		return errors.New("tfjs: model_config: no layers")
	}
	m.layerIndex = make(map[string]int, len(g.Layers))
	m.Layers = make([]Layer, 0, len(g.Layers))
	for i, rl := range g.Layers {
		name := rl.Name
		if name == "" && mc.ClassName == "Sequential" {
			var c struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(rl.Config, &c)
			name = c.Name
		}
		if name == "" {
			return fmt.Errorf("tfjs: layer #%d (%s) has no name", i, rl.ClassName)
		}
		if !KnownClasses[rl.ClassName] {
			return fmt.Errorf("tfjs: layer %q has unknown class %q", name, rl.ClassName)
		}
		if _, dup := m.layerIndex[name]; dup {
			return fmt.Errorf("tfjs: layer name %q is used twice", name)
		}
		l := Layer{Class: rl.ClassName, Name: name, Config: rl.Config}
		if len(l.Config) == 0 {
			l.Config = json.RawMessage("{}")
		}
		if mc.ClassName == "Sequential" {
			if i > 0 {
				l.Inbound = []string{m.Layers[i-1].Name}
			}
		} else {
			in, err := parseInbound(name, rl.InboundNodes)
			if err != nil {
				return err
			}
			l.Inbound = in
		}
		for _, src := range l.Inbound {
			if _, ok := m.layerIndex[src]; !ok {
				return fmt.Errorf("tfjs: layer %q: inbound layer %q is not defined before it", name, src)
			}
		}
		if rl.ClassName != "InputLayer" && len(l.Inbound) == 0 && (mc.ClassName != "Sequential" || i > 0) {
			return fmt.Errorf("tfjs: layer %q (%s) has no inbound layer", name, rl.ClassName)
		}
		m.layerIndex[name] = len(m.Layers)
		m.Layers = append(m.Layers, l)
	}
	if mc.ClassName == "Sequential" {
		m.Inputs = []string{m.Layers[0].Name}
		m.Outputs = []string{m.Layers[len(m.Layers)-1].Name}
		return nil
	}
	var err error
	if m.Inputs, err = m.endpoints("input_layers", g.InputLayers); err != nil {
		return err
	}
	if m.Outputs, err = m.endpoints("output_layers", g.OutputLayers); err != nil {
		return err
	}
	return nil
}

// parseInbound reads Keras 2 inbound_nodes: a list of call nodes, each a
// list of [layer_name, node_index, tensor_index, kwargs]. Layers called more
// than once (shared layers) are not supported.
func parseInbound(layer string, b json.RawMessage) ([]string, error) {
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	var nodes [][]json.RawMessage
	if err := json.Unmarshal(b, &nodes); err != nil {
		return nil, fmt.Errorf("tfjs: layer %q: inbound_nodes is not in the Keras 2 form [[[name, node, tensor, kwargs], ...]]: %w", layer, err)
	}
	switch len(nodes) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("tfjs: layer %q is called %d times (shared layers are not supported)", layer, len(nodes))
	}
	names := make([]string, 0, len(nodes[0]))
	for _, t := range nodes[0] {
		var ref []json.RawMessage
		if err := json.Unmarshal(t, &ref); err != nil || len(ref) < 3 {
			return nil, fmt.Errorf("tfjs: layer %q: inbound tensor %s is not [name, node, tensor, kwargs]", layer, clip(t))
		}
		var name string
		var node, tensor int
		if json.Unmarshal(ref[0], &name) != nil || json.Unmarshal(ref[1], &node) != nil || json.Unmarshal(ref[2], &tensor) != nil {
			return nil, fmt.Errorf("tfjs: layer %q: inbound tensor %s is not [name, node, tensor, kwargs]", layer, clip(t))
		}
		if node != 0 || tensor != 0 {
			return nil, fmt.Errorf("tfjs: layer %q: inbound tensor %s uses node %d tensor %d (only single-output, single-call layers are supported)", layer, name, node, tensor)
		}
		names = append(names, name)
	}
	return names, nil
}

func (m *Model) endpoints(field string, refs []json.RawMessage) ([]string, error) {
	if len(refs) == 0 {
		return nil, fmt.Errorf("tfjs: model_config: no %s", field)
	}
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		var ref []json.RawMessage
		var name string
		if json.Unmarshal(r, &ref) != nil || len(ref) == 0 || json.Unmarshal(ref[0], &name) != nil {
			return nil, fmt.Errorf("tfjs: model_config: %s entry %s is not [name, node, tensor]", field, clip(r))
		}
		if _, ok := m.layerIndex[name]; !ok {
			return nil, fmt.Errorf("tfjs: model_config: %s names unknown layer %q", field, name)
		}
		out = append(out, name)
	}
	return out, nil
}

func (m *Model) parseManifest(groups []rawGroup) error {
	if len(groups) == 0 {
		return errors.New("tfjs: model.json: weightsManifest is empty")
	}
	m.weightIndex = make(map[string]int)
	var total int64
	for gi, g := range groups {
		if len(g.Paths) == 0 {
			return fmt.Errorf("tfjs: weightsManifest group %d has no shard paths", gi)
		}
		for _, p := range g.Paths {
			if err := checkShardPath(p); err != nil {
				return fmt.Errorf("tfjs: weightsManifest group %d: %w", gi, err)
			}
		}
		grp := Group{Paths: g.Paths, First: len(m.Weights), Count: len(g.Weights)}
		for _, rw := range g.Weights {
			if rw.Name == "" {
				return fmt.Errorf("tfjs: weightsManifest group %d: weight without a name", gi)
			}
			if _, dup := m.weightIndex[rw.Name]; dup {
				return fmt.Errorf("tfjs: weight %q is listed twice", rw.Name)
			}
			if rw.Dtype != "float32" {
				return fmt.Errorf("tfjs: weight %q has dtype %q (only float32 is supported)", rw.Name, rw.Dtype)
			}
			if len(rw.Quantization) > 0 && string(rw.Quantization) != "null" {
				return fmt.Errorf("tfjs: weight %q is quantised (quantised TF.js weights are not supported)", rw.Name)
			}
			n := int64(1)
			for _, d := range rw.Shape {
				if d < 0 {
					return fmt.Errorf("tfjs: weight %q has negative dimension in shape %v", rw.Name, rw.Shape)
				}
				if d > 0 && n > MaxWeightBytes/4/int64(d) {
					return fmt.Errorf("tfjs: weight %q: shape %v is too large", rw.Name, rw.Shape)
				}
				n *= int64(d)
			}
			if total+grp.Bytes+4*n > MaxWeightBytes {
				return fmt.Errorf("tfjs: weights manifest declares more than %d bytes", int64(MaxWeightBytes))
			}
			m.weightIndex[rw.Name] = len(m.Weights)
			m.Weights = append(m.Weights, Weight{Name: rw.Name, Shape: append([]int(nil), rw.Shape...), Group: gi, Off: grp.Bytes})
			grp.Bytes += 4 * n
		}
		total += grp.Bytes
		m.Groups = append(m.Groups, grp)
	}
	return nil
}

func checkShardPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return fmt.Errorf("shard path %q is not a relative path", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return fmt.Errorf("shard path %q leaves the model's folder", p)
		}
	}
	return nil
}

// StandardShardBytes is the shard size the TF.js converter writes by default.
const StandardShardBytes = 4 << 20

// Read parses model.json and loads every weight from its shards. openShard
// is called once per shard path listed in the manifest (paths are relative
// to model.json). Shard sizes are checked against the manifest before any
// weight is decoded: a missing, truncated or oversized shard is reported with
// its path and expected and actual byte counts. A weight holding NaN or
// infinity is reported as corrupt.
func Read(modelJSON []byte, openShard func(path string) ([]byte, error)) (*Model, error) {
	m, err := Parse(modelJSON)
	if err != nil {
		return nil, err
	}
	for gi := range m.Groups {
		g := &m.Groups[gi]
		shards := make([][]byte, len(g.Paths))
		sizes := make([]int64, len(g.Paths))
		for i, p := range g.Paths {
			b, err := openShard(p)
			if err != nil {
				return nil, fmt.Errorf("tfjs: shard %s: %w", p, err)
			}
			shards[i], sizes[i] = b, int64(len(b))
		}
		want := expectedShardSizes(g.Bytes, sizes)
		for i, p := range g.Paths {
			if want == nil {
				break
			}
			if sizes[i] != want[i] {
				return nil, fmt.Errorf("tfjs: shard %s is %d bytes, want %d (truncated or corrupt download?)", p, sizes[i], want[i])
			}
		}
		if want == nil {
			var got int64
			for _, s := range sizes {
				got += s
			}
			return nil, fmt.Errorf("tfjs: shards %s hold %d bytes together (sizes %v), the manifest needs %d", strings.Join(g.Paths, ", "), got, sizes, g.Bytes)
		}
		if err := m.decodeGroup(gi, shards); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// expectedShardSizes says what size each shard of a group should have: all
// but the last share one size (the converter's shard size: the most common
// size among them, else the size a correct last shard implies, else TF.js's
// default 4 MiB) and the last holds the rest. It returns nil when no shard size fits the group's byte count.
func expectedShardSizes(total int64, sizes []int64) []int64 {
	n := int64(len(sizes))
	if n == 1 {
		return []int64{total}
	}
	fits := func(c int64) bool { return c > 0 && (n-1)*c < total && total <= n*c }
	count := map[int64]int{}
	var mode int64
	for _, s := range sizes[:n-1] {
		count[s]++
		if count[s] > count[mode] || (count[s] == count[mode] && s > mode) {
			mode = s
		}
	}
	// Candidates: the common size; the size implied by a correct last
	// shard (which tells which of two shards is short); TF.js's default.
	c := int64(0)
	for _, cand := range []int64{mode, derived(total, sizes), StandardShardBytes} {
		if fits(cand) {
			c = cand
			break
		}
	}
	if c == 0 {
		return nil
	}
	want := make([]int64, n)
	for i := range want {
		want[i] = c
	}
	want[n-1] = total - (n-1)*c
	return want
}

// derived is the shard size implied by taking the last shard's size as
// right, or 0.
func derived(total int64, sizes []int64) int64 {
	n := int64(len(sizes))
	rest := total - sizes[n-1]
	if rest <= 0 || rest%(n-1) != 0 {
		return 0
	}
	return rest / (n - 1)
}

// decodeGroup decodes the group's weights from its shards (sizes already
// checked), following weights across shard boundaries.
func (m *Model) decodeGroup(gi int, shards [][]byte) error {
	g := &m.Groups[gi]
	shard, pos := 0, 0
	var tmp [4]byte
	for wi := g.First; wi < g.First+g.Count; wi++ {
		w := &m.Weights[wi]
		for shard < len(shards) && pos == len(shards[shard]) {
			shard, pos = shard+1, 0
		}
		w.Shard = shard
		w.Data = make([]float32, w.Size())
		for k := range w.Data {
			var bits uint32
			if pos+4 <= len(shards[shard]) {
				bits = binary.LittleEndian.Uint32(shards[shard][pos:])
				pos += 4
			} else { // a value split across two shards
				for j := range tmp {
					for pos == len(shards[shard]) {
						shard, pos = shard+1, 0
					}
					tmp[j] = shards[shard][pos]
					pos++
				}
				bits = binary.LittleEndian.Uint32(tmp[:])
			}
			v := math.Float32frombits(bits)
			if v != v || math.IsInf(float64(v), 0) {
				return fmt.Errorf("tfjs: weight %q (shard %s) holds %v at element %d: corrupt shard?", w.Name, g.Paths[shard], v, k)
			}
			w.Data[k] = v
		}
	}
	return nil
}

func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
