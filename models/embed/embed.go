package embed

import (
	"fmt"
	"image"
	"sync"
	"sync/atomic"

	"github.com/lookalike/lookalike/models/engine"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/objectness"
	"github.com/lookalike/lookalike/models/project"
)

// Pooling names which pooled output of the model is the feature vector.
type Pooling string

// Poolings. GAP and GMP are the model's `gap` / `gmp` outputs; Both
// concatenates them (each half L2-normalised first so neither dominates).
const (
	GAP  Pooling = "gap"
	GMP  Pooling = "gmp"
	Both Pooling = "gap+gmp"
)

// DefaultPooling is chosen by measurement (docs/quality.md): gap+gmp keeps
// gap's colour and most of gmp's robustness to busy backgrounds and heavy
// JPEG, from the same forward pass.
const DefaultPooling = Both

// PreprocessingKey is the ONNX metadata key holding the imageprep spec JSON.
const PreprocessingKey = "lookalike.preprocessing"

// Options configures an Embedder. Zero values take defaults.
type Options struct {
	Pooling Pooling
	// Spec overrides the preprocessing read from the model's metadata.
	Spec *imageprep.Spec
	// Mode overrides the resize mode (-1 keeps the spec's).
	Mode *imageprep.ResizeMode
	// Decode limits for untrusted images.
	Decode imageprep.Options
	// Activations is the arithmetic of the model's convolutions
	// (engine.Int8 or engine.FP32; "" is engine.DefaultActivations). Query
	// and catalogue vectors must come from the same one.
	Activations engine.Precision
	// Batch is the batch size EmbedImages feeds the engine (default 1).
	Batch int
}

// Embedder computes features and embeddings. Safe for concurrent use.
type Embedder struct {
	model    *engine.Model
	spec     imageprep.Spec
	pooling  Pooling
	decode   imageprep.Options
	batch    int
	proj     *project.Projection
	obj      *objectness.Map
	sessions sync.Pool
	featDim  atomic.Int64
}

// New loads an ONNX image model and reads its preprocessing metadata.
func New(onnx []byte, opt Options) (*Embedder, error) {
	m, err := engine.LoadWith(onnx, engine.Options{Activations: opt.Activations})
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	return NewFromModel(m, opt)
}

// NewFromModel wraps an already loaded model.
func NewFromModel(m *engine.Model, opt Options) (*Embedder, error) {
	e := &Embedder{model: m, pooling: opt.Pooling, decode: opt.Decode, batch: opt.Batch}
	if e.pooling == "" {
		e.pooling = DefaultPooling
	}
	if e.batch <= 0 {
		e.batch = 1
	}
	switch {
	case opt.Spec != nil:
		e.spec = *opt.Spec
	default:
		s, ok := m.Metadata(PreprocessingKey)
		if !ok {
			return nil, fmt.Errorf("embed: the model has no %q metadata; declare its preprocessing (mean/std, RGB/BGR, size)", PreprocessingKey)
		}
		spec, err := imageprep.ParseSpec(s)
		if err != nil {
			return nil, fmt.Errorf("embed: model preprocessing: %w", err)
		}
		e.spec = spec
	}
	if opt.Mode != nil {
		e.spec.Mode = *opt.Mode
	}
	for _, out := range e.outputs() {
		if !hasOutput(m, out) {
			return nil, fmt.Errorf("embed: the model has no %q output (pooling %q); outputs are %v", out, e.pooling, m.Outputs())
		}
	}
	e.sessions.New = func() any { return m.NewSession() }
	return e, nil
}

func hasOutput(m *engine.Model, name string) bool {
	for _, o := range m.Outputs() {
		if o == name {
			return true
		}
	}
	return false
}

func (e *Embedder) outputs() []string { return outputsFor(e.pooling) }

func outputsFor(p Pooling) []string {
	switch p {
	case Both, rawBoth:
		return []string{string(GAP), string(GMP)}
	default:
		return []string{string(p)}
	}
}

// Spec is the preprocessing in force.
func (e *Embedder) Spec() imageprep.Spec { return e.spec }

// Pooling is the pooled output in use.
func (e *Embedder) Pooling() Pooling { return e.pooling }

// Model is the loaded engine model.
func (e *Embedder) Model() *engine.Model { return e.model }

// Activations is the precision the model's convolutions run in.
func (e *Embedder) Activations() engine.Precision { return e.model.Activations() }

// SetProjection installs the projection Embed applies after pooling (nil =
// none). Call before concurrent use.
func (e *Embedder) SetProjection(p *project.Projection) { e.proj = p }

// Projection returns the installed projection, or nil.
func (e *Embedder) Projection() *project.Projection { return e.proj }

// SetObjectness installs the learned product finder EmbedPhoto localises
// with (nil: the activation heuristic, Localise). Not safe concurrently
// with EmbedPhoto.
func (e *Embedder) SetObjectness(m *objectness.Map) { e.obj = m }

// Objectness returns the installed product finder, or nil.
func (e *Embedder) Objectness() *objectness.Map { return e.obj }

// FeatureDim is the length of Features' vectors. The engine infers output
// shapes when it runs, so the first call runs the model once on a blank
// image when no real image has gone through yet.
func (e *Embedder) FeatureDim() int {
	if d := e.featDim.Load(); d > 0 {
		return int(d)
	}
	blank := image.NewRGBA(image.Rect(0, 0, 1, 1))
	if _, err := e.Features([]image.Image{blank}); err != nil {
		return 0
	}
	return int(e.featDim.Load())
}

// Dim is the length of Embed's vectors.
func (e *Embedder) Dim() int { return e.proj.OutDim(e.FeatureDim()) }

// Tensor preprocesses one image into the model's input layout.
func (e *Embedder) Tensor(img image.Image, dst []float32) []float32 {
	return imageprep.ToTensor(img, e.spec, dst)
}

// Features runs the model on images and returns the pooled features (not
// projected, not normalised unless pooling is Both), one slice per image.
func (e *Embedder) Features(imgs []image.Image) ([][]float32, error) {
	out, err := e.run(imgs, e.pooling)
	if err == nil && len(out) > 0 {
		e.featDim.Store(int64(len(out[0])))
	}
	return out, err
}

func (e *Embedder) run(imgs []image.Image, pooling Pooling) ([][]float32, error) {
	if len(imgs) == 0 {
		return nil, nil
	}
	s := e.sessions.Get().(*engine.Session)
	defer e.sessions.Put(s)
	per := 3 * e.spec.Size * e.spec.Size
	out := make([][]float32, 0, len(imgs))
	var input []float32
	for start := 0; start < len(imgs); start += e.batch {
		end := min(start+e.batch, len(imgs))
		n := end - start
		if cap(input) < n*per {
			input = make([]float32, n*per)
		}
		input = input[:n*per]
		for i := 0; i < n; i++ {
			imageprep.ToTensor(imgs[start+i], e.spec, input[i*per:(i+1)*per])
		}
		res, err := s.Run(input, n, outputsFor(pooling)...)
		if err != nil {
			return nil, fmt.Errorf("embed: %w", err)
		}
		for i := 0; i < n; i++ {
			out = append(out, pool(res, i, n, pooling))
		}
	}
	return out, nil
}

// pool assembles image i's feature vector from the run's outputs.
func pool(res map[string][]float32, i, n int, pooling Pooling) []float32 {
	if pooling != Both && pooling != rawBoth {
		o := res[string(pooling)]
		d := len(o) / n
		return append([]float32(nil), o[i*d:(i+1)*d]...)
	}
	var v []float32
	for _, name := range outputsFor(pooling) {
		o := res[name]
		d := len(o) / n
		part := append([]float32(nil), o[i*d:(i+1)*d]...)
		if pooling == Both {
			project.Normalize(part)
		}
		v = append(v, part...)
	}
	return v
}

// HasBothPoolings reports whether the model has both `gap` and `gmp`
// outputs, so that PooledBoth works.
func (e *Embedder) HasBothPoolings() bool {
	return hasOutput(e.model, string(GAP)) && hasOutput(e.model, string(GMP))
}

// PooledBoth runs the model once per image and returns the raw `gap` and
// `gmp` outputs concatenated (not normalised): the builder caches these so
// that a change of pooling needs no second pass over the images.
func (e *Embedder) PooledBoth(imgs []image.Image) ([][]float32, error) {
	return e.run(imgs, rawBoth)
}

// FromPooled derives this Embedder's features from a PooledBoth vector.
func (e *Embedder) FromPooled(both []float32) []float32 {
	half := len(both) / 2
	switch e.pooling {
	case GAP:
		return append([]float32(nil), both[:half]...)
	case GMP:
		return append([]float32(nil), both[half:]...)
	}
	out := append([]float32(nil), both...)
	project.Normalize(out[:half])
	project.Normalize(out[half:])
	return out
}

// rawBoth is the internal pooling of PooledBoth.
const rawBoth Pooling = "gap|gmp raw"

// Project applies the projection and L2 normalisation to features.
func (e *Embedder) Project(features []float32) []float32 {
	v := e.proj.Apply(features, nil)
	project.Normalize(v)
	return v
}

// Embed returns the unit-length embedding of one image.
func (e *Embedder) Embed(img image.Image) ([]float32, error) {
	f, err := e.Features([]image.Image{img})
	if err != nil {
		return nil, err
	}
	return e.Project(f[0]), nil
}

// EmbedBatch embeds several images.
func (e *Embedder) EmbedBatch(imgs []image.Image) ([][]float32, error) {
	fs, err := e.Features(imgs)
	if err != nil {
		return nil, err
	}
	for i, f := range fs {
		fs[i] = e.Project(f)
	}
	return fs, nil
}

// Decode decodes untrusted image bytes under the Embedder's limits and
// applies an optional crop (in upright source pixels).
func (e *Embedder) Decode(data []byte, crop *image.Rectangle) (image.Image, error) {
	img, _, err := imageprep.Decode(data, e.decode)
	if err != nil {
		return nil, err
	}
	if crop != nil {
		img, err = imageprep.Crop(img, *crop)
		if err != nil {
			return nil, err
		}
	}
	return img, nil
}

// EmbedBytes decodes, crops and embeds one image.
func (e *Embedder) EmbedBytes(data []byte, crop *image.Rectangle) ([]float32, error) {
	img, err := e.Decode(data, crop)
	if err != nil {
		return nil, err
	}
	return e.Embed(img)
}
