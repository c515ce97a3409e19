package imageprep

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"strings"
)

// MaxSize bounds Spec.Size: a model input larger than this is a mistake.
const MaxSize = 4096

// Spec says how a model wants its input: an S×S image, channels in a given
// order, each value x[c] = (pixel[c]/255*Scale - Mean[c]) / Std[c] with
// pixel[c] in 0…255 and Mean/Std indexed in the listed channel order. The
// layout is always NCHW (one image: CHW).
type Spec struct {
	Size     int        // S, the side of the square input
	Channels string     // "RGB" or "BGR"
	Scale    float32    // 255 for caffe-style 0…255 input, 1 for 0…1
	Mean     [3]float32 // subtracted after scaling, in Channels order
	Std      [3]float32 // divided by last, in Channels order; never 0
	Mode     ResizeMode // how the aspect ratio is reconciled with S×S
}

// CaffeSpec is the Keras "caffe" preprocessing of the ResNet50 the project
// ships: 224×224, BGR, 0…255 minus the ImageNet mean, stretched.
func CaffeSpec() Spec {
	return Spec{Size: 224, Channels: "BGR", Scale: 255,
		Mean: [3]float32{103.939, 116.779, 123.68}, Std: [3]float32{1, 1, 1}}
}

// specJSON is the manifest form of a Spec.
type specJSON struct {
	Layout   string    `json:"layout,omitempty"`
	Size     *int      `json:"size,omitempty"`
	Channels string    `json:"channels,omitempty"`
	Scale    *float32  `json:"scale,omitempty"`
	Mean     []float32 `json:"mean,omitempty"`
	Std      []float32 `json:"std,omitempty"`
	Mode     string    `json:"mode,omitempty"`
}

// ParseSpec reads a preprocessing spec such as
//
//	{"layout":"NCHW","size":224,"channels":"BGR","scale":255,
//	 "mean":[103.939,116.779,123.68],"std":[1,1,1]}
//
// Omitted fields default to layout NCHW, size 224, channels RGB, scale 1,
// mean 0, std 1 and mode "stretch" (or "letterbox", "centercrop"). Unknown
// fields are an error, so a typo cannot silently change the preprocessing.
// Errors wrap ErrBadSpec.
func ParseSpec(s string) (Spec, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var j specJSON
	if err := dec.Decode(&j); err != nil {
		return Spec{}, fmt.Errorf("%w: %v", ErrBadSpec, err)
	}
	if dec.More() {
		return Spec{}, fmt.Errorf("%w: trailing data after the spec object", ErrBadSpec)
	}
	if l := strings.ToUpper(j.Layout); l != "" && l != "NCHW" {
		return Spec{}, fmt.Errorf("%w: layout %q not supported (want NCHW)", ErrBadSpec, j.Layout)
	}
	sp := Spec{Size: 224, Channels: "RGB", Scale: 1, Std: [3]float32{1, 1, 1}}
	if j.Size != nil {
		sp.Size = *j.Size
	}
	if j.Channels != "" {
		sp.Channels = strings.ToUpper(j.Channels)
	}
	if j.Scale != nil {
		sp.Scale = *j.Scale
	}
	for _, f := range []struct {
		name string
		v    []float32
		dst  *[3]float32
	}{{"mean", j.Mean, &sp.Mean}, {"std", j.Std, &sp.Std}} {
		if f.v == nil {
			continue
		}
		if len(f.v) != 3 {
			return Spec{}, fmt.Errorf("%w: %s has %d values, want 3", ErrBadSpec, f.name, len(f.v))
		}
		*f.dst = [3]float32(f.v)
	}
	var err error
	if sp.Mode, err = ParseResizeMode(j.Mode); err != nil {
		return Spec{}, err
	}
	return sp, sp.Validate()
}

// Validate reports whether the spec can be used; errors wrap ErrBadSpec.
func (s Spec) Validate() error {
	if s.Size < 1 || s.Size > MaxSize {
		return fmt.Errorf("%w: size %d out of range 1…%d", ErrBadSpec, s.Size, MaxSize)
	}
	if s.Channels != "RGB" && s.Channels != "BGR" {
		return fmt.Errorf("%w: channels %q (want RGB or BGR)", ErrBadSpec, s.Channels)
	}
	if !finite(s.Scale) || s.Scale == 0 {
		return fmt.Errorf("%w: scale %v must be finite and non-zero", ErrBadSpec, s.Scale)
	}
	for c := range 3 {
		if !finite(s.Mean[c]) {
			return fmt.Errorf("%w: mean[%d] = %v is not finite", ErrBadSpec, c, s.Mean[c])
		}
		if !finite(s.Std[c]) || s.Std[c] == 0 {
			return fmt.Errorf("%w: std[%d] = %v must be finite and non-zero", ErrBadSpec, c, s.Std[c])
		}
	}
	if s.Mode < Stretch || s.Mode > CenterCrop {
		return fmt.Errorf("%w: %v", ErrBadSpec, s.Mode)
	}
	return nil
}

// MarshalJSON writes the form ParseSpec reads, layout included.
func (s Spec) MarshalJSON() ([]byte, error) {
	size, scale := s.Size, s.Scale
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	err := enc.Encode(specJSON{Layout: "NCHW", Size: &size, Channels: s.Channels,
		Scale: &scale, Mean: s.Mean[:], Std: s.Std[:], Mode: s.Mode.String()})
	return bytes.TrimSpace(b.Bytes()), err
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// lut returns, per output channel, the 256 normalised values of a pixel
// level, and which source channel (0 R, 1 G, 2 B) feeds that output.
// Computed in float64 with explicit rounding points (no fused multiply-add
// anywhere) and rounded once to float32: identical on every platform.
func (s Spec) lut() (tab [3][256]float32, src [3]int) {
	src = [3]int{0, 1, 2}
	if s.Channels == "BGR" {
		src = [3]int{2, 1, 0}
	}
	for c := range 3 {
		scale, mean, std := float64(s.Scale), float64(s.Mean[c]), float64(s.Std[c])
		for p := range 256 {
			v := float64(float64(p)/255*scale) - mean
			tab[c][p] = float32(v / std)
		}
	}
	return tab, src
}

// ToTensor resizes img to spec.Size² with spec.Mode and writes the
// normalised CHW floats (3·S·S values) into dst, reusing it when its
// capacity suffices, and returns them. Transparency is composited on white.
// The result is bit-identical natively and in js/wasm. It panics if the
// spec is invalid (check with Validate, or use ParseSpec). Safe for
// concurrent use.
func ToTensor(img image.Image, spec Spec, dst []float32) []float32 {
	if err := spec.Validate(); err != nil {
		panic(err)
	}
	S := spec.Size
	rgb := resizeRGB(img, S, S, spec.Mode, nil)
	return rgbToTensor(rgb, spec, dst)
}

// rgbToTensor normalises packed RGB of spec.Size² pixels into CHW floats.
func rgbToTensor(rgb []uint8, spec Spec, dst []float32) []float32 {
	plane := spec.Size * spec.Size
	if cap(dst) < 3*plane {
		dst = make([]float32, 3*plane)
	}
	dst = dst[:3*plane]
	tab, src := spec.lut()
	for c := range 3 {
		t, out, off := &tab[c], dst[c*plane:(c+1)*plane], src[c]
		for i := range out {
			out[i] = t[rgb[3*i+off]]
		}
	}
	return dst
}

// Prepare decodes untrusted image bytes with default Options, crops to crop
// (upright pixel coordinates; nil for the whole image) and returns the model
// input for spec. Errors wrap the Decode sentinels, ErrBadCrop or ErrBadSpec.
func Prepare(data []byte, crop *image.Rectangle, spec Spec) ([]float32, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	img, _, err := Decode(data, Options{})
	if err != nil {
		return nil, err
	}
	if crop != nil {
		if img, err = Crop(img, *crop); err != nil {
			return nil, err
		}
	}
	return ToTensor(img, spec, nil), nil
}
