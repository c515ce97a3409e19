package embed

import (
	"fmt"
	"image"
	"math"

	"github.com/lookalike/lookalike/models/engine"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/objectness"
)

// Conv5 is the name of the model output holding the last feature map
// (N×C×H×W) that the pooled outputs are pooled from; the converted
// ResNet50 has it. Localisation needs it.
const Conv5 = "conv5"

// The activation heuristic's settings (used without a learned product
// finder, models/objectness, or when it sees no product), from a study
// on eval's scene photos and on clean catalogue shots
// (builder/internal/evaluate/locstudy_test.go): the box is the group of
// cells above mean + LocaliseSigma·sd of the summed
// activation (mean IoU with the pasted product 0.63, against 0.49 at the
// mean). When the box leaves out at least a tenth of the photo
// (LocaliseBelow) and the photo's border is not one plain colour
// (imageprep.PlainBorder: a backdrop with nothing to look past), the
// region inside the box is embedded too and the search takes the mean of
// both views' pooled outputs, with the box's colour descriptor: on the
// held-out 3k split (docs/quality.md) the busy scene gains +0.037 on type
// over the box alone when the background looked busy (the rule before:
// outside/inside activation ≥ 0.33), and a tight or cut-off shot +0.018,
// where the box alone lost what lay outside it. LocaliseBelow and the
// backdrop rule apply to the learned finder's box too.
const (
	LocaliseSigma = 1.0
	LocaliseBelow = 0.9
	// SmallBox: a box under half the photo is searched even when the
	// border is plain, unless it is a white backdrop (the catalogue's kind
	// of photo, embedded whole): a product small on a coloured wall or
	// table (docs/quality.md).
	SmallBox = 0.5
)

// Photo is a query photo as the search sees it.
type Photo struct {
	Features []float32 // pooled features of the searched region (the Embedder's pooling)
	Vector   []float32 // the projected unit embedding of the same region
	Colour   []float32 // imageprep.ColourDescriptor of Box
	// Box is the searched region in the image's coordinates: the whole
	// image, or the box localisation found (Auto: the search took this
	// box, alone when the learned finder drew it, else averaged with the
	// whole photo).
	Box  image.Rectangle
	Auto bool
	// Proposed is the box localisation found even when it was not used
	// (the product fills the frame), for the page's crop box; empty
	// without localisation.
	Proposed image.Rectangle
	// Raw is what the model computed for the region before any choice
	// made after it (both raw pooled outputs when the model has them, as
	// the builder's embedding cache keeps them): with Colour and the boxes
	// it is the photo's Record.
	Raw []float32
}

// rawPooling is the pooling whose output Photo.Raw holds.
func (e *Embedder) rawPooling() Pooling {
	if e.HasBothPoolings() {
		return rawBoth
	}
	return e.pooling
}

// fromRaw derives the features of the Embedder's pooling from Raw.
func (e *Embedder) fromRaw(raw []float32) []float32 {
	if e.HasBothPoolings() {
		return e.FromPooled(raw)
	}
	return append([]float32(nil), raw...)
}

// PhotoRecordDim is the length of a Photo's Record for raw pooled
// outputs of rawDim values.
func PhotoRecordDim(rawDim int) int { return rawDim + imageprep.ColourBins + 9 }

// Record packs what EmbedPhoto computed into one vector (for a cache of
// query photos): Raw, Colour, Box, Proposed (x0,y0,x1,y1 each) and Auto.
func (p *Photo) Record() []float32 {
	r := append(append([]float32(nil), p.Raw...), p.Colour...)
	for _, b := range []image.Rectangle{p.Box, p.Proposed} {
		r = append(r, float32(b.Min.X), float32(b.Min.Y), float32(b.Max.X), float32(b.Max.Y))
	}
	auto := float32(0)
	if p.Auto {
		auto = 1
	}
	return append(r, auto)
}

// PhotoFromRecord is the inverse of Record: the Photo EmbedPhoto returned,
// features and vector derived again with the current projection.
func (e *Embedder) PhotoFromRecord(rec []float32) (*Photo, error) {
	n := len(rec) - imageprep.ColourBins - 9
	if n <= 0 {
		return nil, fmt.Errorf("embed: photo record of %d values", len(rec))
	}
	p := &Photo{Raw: rec[:n:n], Colour: rec[n : n+imageprep.ColourBins : n+imageprep.ColourBins]}
	b := rec[n+imageprep.ColourBins:]
	p.Box = image.Rect(int(b[0]), int(b[1]), int(b[2]), int(b[3]))
	p.Proposed = image.Rect(int(b[4]), int(b[5]), int(b[6]), int(b[7]))
	p.Auto = b[8] != 0
	p.Features = e.fromRaw(p.Raw)
	p.Vector = e.Project(p.Features)
	return p, nil
}

// CanLocalise reports whether the model has the conv5 output and the
// preprocessing stretches (so feature-map cells map to image boxes).
func (e *Embedder) CanLocalise() bool {
	return hasOutput(e.model, Conv5) && e.spec.Mode == imageprep.Stretch
}

// EmbedPhoto embeds a photo for search. With localise (and CanLocalise),
// the last feature map finds the product: the learned finder when one is
// installed (SetObjectness) and it sees a product, else the activation
// heuristic (Localise). When the box does not fill the frame and the
// background is not a plain backdrop (or the box is under SmallBox of the
// photo and the backdrop is not a white one), the box is embedded too: alone when
// the learned finder drew it, averaged with the whole photo's pooled
// outputs when the heuristic did (its box is looser: a tight shot keeps
// what lies outside it), so a busy background does not swamp the
// product; the colour is the box's. A heavily compressed
// photo is smoothed first (Deblocked). Safe for concurrent use.
func (e *Embedder) EmbedPhoto(img image.Image, localise bool) (*Photo, error) {
	img, _ = Deblocked(img)
	b := img.Bounds()
	p := &Photo{Box: b}
	localise = localise && e.CanLocalise()
	raw := e.rawPooling()
	outs := outputsFor(raw)
	if localise {
		outs = append(append([]string(nil), outs...), Conv5)
	}
	res, err := e.runOne(img, outs)
	if err != nil {
		return nil, err
	}
	p.Raw = pool(res, 0, 1, raw)
	var inner image.Image // the box, when it was embedded too
	if localise {
		c5 := res[Conv5]
		side := e.spec.Size / 32
		if side < 1 || len(c5)%(side*side) != 0 {
			return nil, fmt.Errorf("embed: conv5 has %d values, not square maps of %d×%d", len(c5), side, side)
		}
		// The learned finder, when the build has one and it sees a
		// product; else the activation heuristic.
		box, share, learned := b, 1.0, false
		if e.obj != nil {
			var err error
			if box, share, learned, err = e.obj.Box(c5, side, side, b); err != nil {
				return nil, fmt.Errorf("embed: %w", err)
			}
		}
		if !learned {
			box, share, _ = Localise(c5, len(c5)/(side*side), side, side, b)
		}
		p.Proposed = box
		if worthCropping(img, share) {
			crop, err := imageprep.Crop(img, box)
			if err == nil {
				res2, err := e.runOne(crop, outputsFor(raw))
				if err != nil {
					return nil, err
				}
				if learned {
					// Its box is tight enough to search alone: the scene
					// around it only adds clutter (docs/quality.md).
					p.Raw = pool(res2, 0, 1, raw)
				} else {
					meanInto(p.Raw, pool(res2, 0, 1, raw))
				}
				inner, p.Box, p.Auto = crop, box, true
			}
		}
	}
	p.Features = e.fromRaw(p.Raw)
	e.featDim.Store(int64(len(p.Features)))
	p.Vector = e.Project(p.Features)
	// The product's colour is the box's: outside it lies the scene (a
	// striped wall behind a brown T-shirt must not make it blue).
	if inner != nil {
		p.Colour = imageprep.ColourDescriptor(inner)
	} else {
		p.Colour = imageprep.ColourDescriptor(img)
	}
	return p, nil
}

// worthCropping reports whether a box covering share of img is searched:
// it leaves out at least a tenth of the photo (LocaliseBelow), and the
// border is not plain, or the box is under SmallBox and the plain border
// is not a white backdrop.
func worthCropping(img image.Image, share float64) bool {
	if share >= LocaliseBelow {
		return false
	}
	plain, white := imageprep.Backdrop(img)
	return !plain || (share < SmallBox && !white)
}

// meanInto sets a to the mean of a and b (of equal length).
func meanInto(a, b []float32) {
	for i := range a {
		a[i] = (a[i] + b[i]) / 2
	}
}

// Map returns the last feature map (c×side×side) of img, for studies of
// localisation; CanLocalise must be true.
func (e *Embedder) Map(img image.Image) ([]float32, int, int, error) {
	res, err := e.runOne(img, []string{Conv5})
	if err != nil {
		return nil, 0, 0, err
	}
	side := e.spec.Size / 32
	c5 := res[Conv5]
	if side < 1 || len(c5)%(side*side) != 0 {
		return nil, 0, 0, fmt.Errorf("embed: conv5 has %d values, not square maps of %d×%d", len(c5), side, side)
	}
	return c5, len(c5) / (side * side), side, nil
}

func (e *Embedder) runOne(img image.Image, outs []string) (map[string][]float32, error) {
	s := e.sessions.Get().(*engine.Session)
	defer e.sessions.Put(s)
	in := imageprep.ToTensor(img, e.spec, nil)
	res, err := s.Run(in, 1, outs...)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	return res, nil
}

// Localise finds the product in a photo from the last feature map m
// (c×h×w, post-ReLU) of the photo stretched to the model's square input:
// the cells whose summed activation is above mean + LocaliseSigma·sd, the
// connected group holding the strongest cell, their bounding box widened
// by half a cell, mapped onto bounds. It returns the box, the share of the
// photo's area it covers, and the clutter: the mean activation of the
// cells outside the box over that of the cells inside (0 for a blank
// background).
func Localise(m []float32, c, h, w int, bounds image.Rectangle) (box image.Rectangle, share, clutter float64) {
	n := h * w
	s := make([]float64, n)
	for ch := 0; ch < c; ch++ {
		plane := m[ch*n : (ch+1)*n]
		for i, v := range plane {
			s[i] += float64(v)
		}
	}
	mean, top := 0.0, 0.0
	for _, v := range s {
		mean += v
		top = max(top, v)
	}
	mean /= float64(n)
	if top <= 0 {
		return bounds, 1, 0
	}
	sd := 0.0
	for _, v := range s {
		sd += (v - mean) * (v - mean)
	}
	cells, _ := objectness.Region(s, h, w, mean+LocaliseSigma*math.Sqrt(sd/float64(n)))
	var sin, sout float64
	var nin, nout int
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if image.Pt(x, y).In(cells) {
				sin += s[y*w+x]
				nin++
			} else {
				sout += s[y*w+x]
				nout++
			}
		}
	}
	if nout > 0 && sin > 0 {
		clutter = (sout / float64(nout)) / (sin / float64(nin))
	}
	r, ok := objectness.CellsBox(cells, h, w, 0.5, bounds)
	if !ok {
		return bounds, 1, 0
	}
	return r, float64(r.Dx()*r.Dy()) / float64(bounds.Dx()*bounds.Dy()), clutter
}

// Deblocked returns img smoothed (imageprep.Deblock) when it is a heavily
// compressed photo (imageprep.Blockiness over DeblockAbove), and whether
// it was: a JPEG's block edges are not the product's detail. It is the one
// rule for query photos (EmbedPhoto) and catalogue photos (the builder
// embeds and describes the colour of a catalogue photo the same way), so
// a catalogue photo searched still finds itself first, at ≈ 1.
func Deblocked(img image.Image) (image.Image, bool) {
	if Blocky(img) {
		return imageprep.Deblock(img), true
	}
	return img, false
}

// Blocky reports whether Deblocked smooths img.
func Blocky(img image.Image) bool { return imageprep.Blockiness(img) > imageprep.DeblockAbove }
