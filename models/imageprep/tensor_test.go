package imageprep

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"image"
	"math"
	"testing"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Spec
		err  bool
	}{
		{"caffe", `{"layout":"NCHW","size":224,"channels":"BGR","scale":255,"mean":[103.939,116.779,123.68],"std":[1,1,1]}`, CaffeSpec(), false},
		{"torchvision", `{"size":224,"channels":"rgb","mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"mode":"centercrop"}`,
			Spec{Size: 224, Channels: "RGB", Scale: 1, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}, Mode: CenterCrop}, false},
		{"defaults", `{}`, Spec{Size: 224, Channels: "RGB", Scale: 1, Std: [3]float32{1, 1, 1}}, false},
		{"letterbox", `{"size":96,"mode":"Letterbox"}`, Spec{Size: 96, Channels: "RGB", Scale: 1, Std: [3]float32{1, 1, 1}, Mode: Letterbox}, false},
		{"nhwc", `{"layout":"NHWC"}`, Spec{}, true},
		{"zero-std", `{"std":[1,0,1]}`, Spec{}, true},
		{"zero-scale", `{"scale":0}`, Spec{}, true},
		{"size-0", `{"size":0}`, Spec{}, true},
		{"size-huge", `{"size":100000}`, Spec{}, true},
		{"channels", `{"channels":"RGBA"}`, Spec{}, true},
		{"mean-2", `{"mean":[1,2]}`, Spec{}, true},
		{"mean-4", `{"mean":[1,2,3,4]}`, Spec{}, true},
		{"unknown-field", `{"stds":[1,1,1]}`, Spec{}, true},
		{"mode", `{"mode":"zoom"}`, Spec{}, true},
		{"trailing", `{} {}`, Spec{}, true},
		{"not-json", `size=224`, Spec{}, true},
		{"overflow", `{"scale":1e50}`, Spec{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSpec(tc.in)
			if tc.err {
				if !errors.Is(err, ErrBadSpec) {
					t.Fatalf("err = %v, want ErrBadSpec", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			// Round trip through the manifest form.
			js, err := got.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseSpec(string(js))
			if err != nil || back != got {
				t.Fatalf("round trip %s: %+v, %v", js, back, err)
			}
		})
	}
}

// refTensor is the normalisation in float64 straight from the definition.
func refTensor(img image.Image, s Spec) []float64 {
	S := s.Size
	out := make([]float64, 3*S*S)
	order := [3]int{0, 1, 2}
	if s.Channels == "BGR" {
		order = [3]int{2, 1, 0}
	}
	for y := range S {
		for x := range S {
			p := rgbAt(img, x, y)
			for c := range 3 {
				v := float64(p[order[c]])
				out[c*S*S+y*S+x] = (v/255*float64(s.Scale) - float64(s.Mean[c])) / float64(s.Std[c])
			}
		}
	}
	return out
}

func TestToTensorNormalisation(t *testing.T) {
	torch := Spec{Size: 32, Channels: "RGB", Scale: 1, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
	caffe := CaffeSpec()
	caffe.Size = 32
	img := noise(32, 32, 42) // already S×S: resizing is the identity
	for _, s := range []Spec{torch, caffe} {
		got := ToTensor(img, s, nil)
		ref := refTensor(img, s)
		if len(got) != len(ref) {
			t.Fatalf("len %d, want %d", len(got), len(ref))
		}
		for i := range got {
			if d := math.Abs(float64(got[i]) - ref[i]); d > 1e-4*math.Max(1, math.Abs(ref[i])) {
				t.Fatalf("%s: x[%d] = %v, want %v", s.Channels, i, got[i], ref[i])
			}
		}
	}
	// Channel order: a pure red pixel under caffe is B=-mean, R=255-mean.
	red := image.NewRGBA(image.Rect(0, 0, 1, 1))
	red.Pix = []uint8{255, 0, 0, 255}
	caffe.Size = 1
	x := ToTensor(red, caffe, nil)
	want := []float32{-103.939, -116.779, 255 - 123.68}
	for c := range 3 {
		if math.Abs(float64(x[c]-want[c])) > 1e-4 {
			t.Errorf("caffe red: channel %d = %v, want %v", c, x[c], want[c])
		}
	}
}

func TestToTensorReusesDst(t *testing.T) {
	s := CaffeSpec()
	s.Size = 8
	buf := make([]float32, 3*8*8+10)
	out := ToTensor(pattern(20, 20), s, buf)
	if len(out) != 3*8*8 || &out[0] != &buf[0] {
		t.Errorf("dst not reused: len %d", len(out))
	}
	small := make([]float32, 5)
	if out := ToTensor(pattern(20, 20), s, small); len(out) != 3*8*8 {
		t.Errorf("len %d", len(out))
	}
}

// TestToTensorDigest pins the exact bytes ToTensor produces for fixed
// synthetic images, in every mode and through a resize. The same constants
// are checked by the native and the js/wasm test runs, so a pass on both
// proves the two produce bit-identical tensors. If the resampler changes on
// purpose, update the digests from the failure message.
func TestToTensorDigest(t *testing.T) {
	want := map[ResizeMode]string{
		Stretch:    "e2f1f91f4f1e3cf3cb2c798f081fea001340fbf6935ebe0808f18def125eec2b",
		Letterbox:  "15dbba1590be5e5c2815ae86a9bc1f480c107920b5e22c39c4ffb5174f7719ba",
		CenterCrop: "546a4d045fbd0d9429bbb2bfc388dfbfab6292349dce146193ea054b6d5342dc",
	}
	spec := CaffeSpec()
	up, down := pattern(60, 80), noise(517, 389, 3)
	for _, mode := range []ResizeMode{Stretch, Letterbox, CenterCrop} {
		spec.Mode = mode
		h := sha256.New()
		for _, img := range []image.Image{up, down} {
			x := ToTensor(img, spec, nil)
			b := make([]byte, 4*len(x))
			for i, v := range x {
				binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
			}
			h.Write(b)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != want[mode] {
			t.Errorf("%v: tensor digest %s, want %s", mode, got, want[mode])
		}
	}
}

func TestPrepare(t *testing.T) {
	src := pattern(120, 80)
	data := encPNG(t, src)
	spec := CaffeSpec()
	spec.Size = 40
	// Cropping a 40×40 square and preparing at 40 is the identity on it.
	crop := image.Rect(50, 20, 90, 60)
	x, err := Prepare(data, &crop, spec)
	if err != nil {
		t.Fatal(err)
	}
	sub := src.SubImage(crop).(*image.RGBA)
	want := refTensor(&image.RGBA{Pix: sub.Pix, Stride: sub.Stride, Rect: image.Rect(0, 0, 40, 40)}, spec)
	for i := range x {
		if math.Abs(float64(x[i])-want[i]) > 1e-4 {
			t.Fatalf("x[%d] = %v, want %v", i, x[i], want[i])
		}
	}
	bad := image.Rect(500, 500, 600, 600)
	if _, err := Prepare(data, &bad, spec); !errors.Is(err, ErrBadCrop) {
		t.Errorf("outside crop: %v", err)
	}
	if _, err := Prepare(data, nil, Spec{}); !errors.Is(err, ErrBadSpec) {
		t.Errorf("zero spec: %v", err)
	}
	if _, err := Prepare([]byte("nope"), nil, spec); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("text: %v", err)
	}
}
