// Package calibrate measures what each convolution of a model sees on
// real photos, for the low-bit weight rounding of package convert: it runs
// the float32 model in our engine with every conv's input as an extra
// output, cuts those inputs into im2col patches (a seeded sample of
// positions per photo) and accumulates the patches' second moments,
// convert.Hessian, per conv layer.
//
// It runs natively and in js/wasm (the builder uses it natively when it
// converts the model). A Collector is not safe for concurrent use.
//
//	c, _ := calibrate.New(fp32Graph, calibrate.Options{})
//	for _, img := range photos { c.Add(img) }
//	g, _ := convert.Keras(m, convert.Options{Weights: convert.Int4, Calibration: c.Hessians()})
package calibrate

import (
	"errors"
	"fmt"
	"image"
	"math/rand/v2"

	"github.com/lookalike/lookalike/models/convert"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/engine"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/onnxpb"
)

// Options tune a Collector.
type Options struct {
	// Positions is the most output positions sampled per photo and conv
	// (default 256): early layers have thousands, and a sample keeps the
	// statistic cheap without changing it much.
	Positions int
	// Seed chooses the positions.
	Seed uint64
}

// conv is one Conv node's geometry.
type conv struct {
	name, input         string
	cin, kh, kw, sh, sw int
	pt, pl              int // top and left padding
	h                   *convert.Hessian
}

// Collector accumulates the statistics.
type Collector struct {
	model  *engine.Model
	sess   *engine.Session
	spec   imageprep.Spec
	convs  []*conv
	outs   []string
	opt    Options
	rng    *rand.Rand
	tensor []float32
	photos int
}

// New prepares a collector for a float32 ONNX graph converted by package
// convert (it carries the preprocessing metadata).
func New(g *onnxpb.Model, opt Options) (*Collector, error) {
	if opt.Positions <= 0 {
		opt.Positions = 256
	}
	spec, ok := g.MetadataValue(embed.PreprocessingKey)
	if !ok {
		return nil, errors.New("calibrate: the model has no preprocessing metadata")
	}
	ps, err := imageprep.ParseSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	c := &Collector{spec: ps, opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, 0x6361_6c69))}
	m := *g
	m.Graph.Outputs = append([]onnxpb.ValueInfo(nil), g.Graph.Outputs...)
	seen := map[string]bool{}
	for _, o := range m.Graph.Outputs {
		seen[o.Name] = true
	}
	input := ""
	if len(g.Graph.Inputs) > 0 {
		input = g.Graph.Inputs[0].Name
	}
	for _, n := range g.Graph.Nodes {
		if n.OpType != "Conv" || len(n.Inputs) < 2 {
			continue
		}
		w, ok := g.Graph.Initializer(n.Inputs[1])
		if !ok || len(w.Dims) != 4 {
			return nil, fmt.Errorf("calibrate: conv %q has no float kernel initializer (convert the float32 model)", n.Name)
		}
		cv := &conv{name: n.Name, input: n.Inputs[0], cin: int(w.Dims[1]), kh: int(w.Dims[2]), kw: int(w.Dims[3]), sh: 1, sw: 1}
		if a, ok := n.Attr("strides"); ok && len(a.Ints) == 2 {
			cv.sh, cv.sw = int(a.Ints[0]), int(a.Ints[1])
		}
		if a, ok := n.Attr("pads"); ok && len(a.Ints) == 4 {
			cv.pt, cv.pl = int(a.Ints[0]), int(a.Ints[1])
		}
		cv.h = convert.NewHessian(cv.cin * cv.kh * cv.kw)
		c.convs = append(c.convs, cv)
		if cv.input != input && !seen[cv.input] {
			seen[cv.input] = true
			m.Graph.Outputs = append(m.Graph.Outputs, onnxpb.ValueInfo{Name: cv.input, ElemType: onnxpb.Float})
		}
		c.outs = appendOnce(c.outs, cv.input, input)
	}
	if len(c.convs) == 0 {
		return nil, errors.New("calibrate: the model has no Conv")
	}
	// Float32 activations: the statistics are of the float model's inputs
	// (int8 activations would fold their own rounding into them).
	if c.model, err = engine.LoadWith(m.Marshal(), engine.Options{Activations: engine.FP32}); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	c.sess = c.model.NewSession()
	return c, nil
}

func appendOnce(list []string, name, input string) []string {
	if name == input {
		return list
	}
	for _, s := range list {
		if s == name {
			return list
		}
	}
	return append(list, name)
}

// Add runs one photo and adds its patches.
func (c *Collector) Add(img image.Image) error {
	c.tensor = imageprep.ToTensor(img, c.spec, c.tensor)
	res, err := c.sess.Run(c.tensor, 1, c.outs...)
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	size := c.spec.Size
	for _, cv := range c.convs {
		act, h, w := res[cv.input], 0, 0
		if act == nil { // the model's input
			act, h, w = c.tensor, size, size
		} else {
			hw := len(act) / cv.cin
			// Square feature maps (the converted ResNet's are).
			for h = 1; h*h < hw; h++ {
			}
			if h*h != hw {
				return fmt.Errorf("calibrate: conv %q input %q has %d values, not %d square planes", cv.name, cv.input, len(act), cv.cin)
			}
			w = h
		}
		c.addPatches(cv, act, h, w)
	}
	c.photos++
	return nil
}

// Photos is how many photos were added.
func (c *Collector) Photos() int { return c.photos }

// addPatches samples output positions and accumulates Xᵀ·X.
func (c *Collector) addPatches(cv *conv, act []float32, h, w int) {
	oh := (h+2*cv.pt-cv.kh)/cv.sh + 1
	ow := (w+2*cv.pl-cv.kw)/cv.sw + 1
	total := oh * ow
	pos := make([]int, total)
	for i := range pos {
		pos[i] = i
	}
	if total > c.opt.Positions {
		c.rng.Shuffle(total, func(i, j int) { pos[i], pos[j] = pos[j], pos[i] })
		pos = pos[:c.opt.Positions]
	}
	d, p := cv.h.D, len(pos)
	x := make([]float32, p*d)  // patches, one per row
	xt := make([]float32, d*p) // transposed
	for r, at := range pos {
		oy, ox := at/ow, at%ow
		row := x[r*d : (r+1)*d]
		j := 0
		for ci := range cv.cin {
			plane := act[ci*h*w : (ci+1)*h*w]
			for ky := range cv.kh {
				iy := oy*cv.sh - cv.pt + ky
				for kx := range cv.kw {
					ix := ox*cv.sw - cv.pl + kx
					if iy >= 0 && iy < h && ix >= 0 && ix < w {
						row[j] = plane[iy*w+ix]
					}
					j++
				}
			}
		}
		for j, v := range row {
			xt[j*p+r] = v
		}
	}
	g := make([]float32, d*d)
	engine.Gemm(d, d, p, xt, p, x, d, g, d, false)
	cv.h.AddGram(g, p)
}

// Hessians returns the statistics by conv name, for convert.Options.
func (c *Collector) Hessians() map[string]*convert.Hessian {
	out := make(map[string]*convert.Hessian, len(c.convs))
	for _, cv := range c.convs {
		out[cv.name] = cv.h
	}
	return out
}
