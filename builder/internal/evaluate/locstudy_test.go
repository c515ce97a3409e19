//go:build !js

package evaluate

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/imageprep"
)

// TestLocaliseStudy compares ways of turning the last feature map into a
// box on eval's scene photos (where the product is known). A study, not a
// check: LOOKALIKE_STUDY=1 and a model in .cache/model-out.
func TestLocaliseStudy(t *testing.T) {
	root := studyRoot(t)
	model, err := os.ReadFile(filepath.Join(root, ".cache/model-out/resnet50-int8.onnx"))
	if err != nil {
		t.Skip(err)
	}
	emb, err := embed.New(model, embed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.ParseFile(filepath.Join(root, ".cache/split3k/queries.csv"))
	if err != nil {
		t.Skip(err)
	}
	type sample struct {
		m     []float32
		c, s  int
		truth image.Rectangle
		b     image.Rectangle
	}
	var ss []sample
	for i, it := range cat.Items {
		if i == 120 {
			break
		}
		data, err := os.ReadFile(it.Image)
		if err != nil {
			continue
		}
		mode := "scene"
		if os.Getenv("LOOKALIKE_STUDY") == "clean" {
			mode = "clean"
		}
		out, where := data, image.Rectangle{}
		if mode == "scene" {
			out, where, err = distortPhotoBox(data, []string{"scene"}, distortSeed(1, it.ID, "scene"))
			if err != nil {
				t.Fatal(err)
			}
		}
		img, _, _ := imageprep.Decode(out, imageprep.Options{})
		if mode == "clean" {
			// The product: the bounding box of what is not backdrop.
			rgba := toRGBA(img)
			mask := borderWhite(rgba, 232)
			w := rgba.Rect.Dx()
			where = image.Rectangle{}
			for j, bg := range mask {
				if !bg {
					where = where.Union(image.Rect(j%w, j/w, j%w+1, j/w+1))
				}
			}
		}
		m, c, s, err := emb.Map(img)
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, sample{m, c, s, where, img.Bounds()})
	}
	for _, k := range []float64{0, 0.5, 0.75, 1} {
		for _, pad := range []float64{0.5} {
			for _, mode := range []string{"sum", "top"} {
				tot, small := 0.0, 0
				for _, x := range ss {
					box := studyBox(x.m, x.c, x.s, x.b, k, pad, mode)
					tot += iou(box, x.truth)
					if float64(box.Dx()*box.Dy()) < 0.6*float64(x.b.Dx()*x.b.Dy()) {
						small++
					}
				}
				fmt.Printf("k %+.2f pad %.1f %-3s mean IoU %.3f  box < 60%% for %d/%d\n", k, pad, mode, tot/float64(len(ss)), small, len(ss))
			}
		}
	}
	// Clutter: mean activation outside the box over inside (k 1, pad 0.5).
	var ratios []float64
	for _, x := range ss {
		box := studyBox(x.m, x.c, x.s, x.b, 1, 0.5, "sum")
		n := x.s * x.s
		in, out, nin, nout := 0.0, 0.0, 0, 0
		for cell := 0; cell < n; cell++ {
			v := 0.0
			for ch := 0; ch < x.c; ch++ {
				v += float64(x.m[ch*n+cell])
			}
			cx := (float64(cell%x.s) + 0.5) / float64(x.s) * float64(x.b.Dx())
			cy := (float64(cell/x.s) + 0.5) / float64(x.s) * float64(x.b.Dy())
			if image.Pt(int(cx), int(cy)).In(box) {
				in += v
				nin++
			} else {
				out += v
				nout++
			}
		}
		r := 0.0
		if nout > 0 && in > 0 {
			r = (out / float64(nout)) / (in / float64(nin))
		}
		ratios = append(ratios, r)
	}
	sort.Float64s(ratios)
	q := func(p float64) float64 { return ratios[int(p*float64(len(ratios)-1))] }
	fmt.Printf("clutter ratio quantiles: 10%% %.3f 25%% %.3f 50%% %.3f 75%% %.3f 90%% %.3f\n", q(0.1), q(0.25), q(0.5), q(0.75), q(0.9))
	_ = rand.New
}

// studyBox: threshold mean + k·std on the channel sum (or on the mean of
// the channels' top activations), the component of the strongest cell.
func studyBox(m []float32, c, side int, bounds image.Rectangle, k, pad float64, mode string) image.Rectangle {
	n := side * side
	s := make([]float64, n)
	for ch := 0; ch < c; ch++ {
		pl := m[ch*n : (ch+1)*n]
		if mode == "top" {
			mx := float32(0)
			for _, v := range pl {
				mx = max(mx, v)
			}
			if mx <= 0 {
				continue
			}
			for i, v := range pl {
				s[i] += float64(v / mx)
			}
			continue
		}
		for i, v := range pl {
			s[i] += float64(v)
		}
	}
	mean, best := 0.0, 0
	for i, v := range s {
		mean += v
		if v > s[best] {
			best = i
		}
	}
	mean /= float64(n)
	sd := 0.0
	for _, v := range s {
		sd += (v - mean) * (v - mean)
	}
	sd = math.Sqrt(sd / float64(n))
	th := mean + k*sd
	in := make([]bool, n)
	stack := []int{best}
	in[best] = true
	x0, x1, y0, y1 := best%side, best%side, best/side, best/side
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := i%side, i/side
		x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
		for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
			nx, ny := x+d[0], y+d[1]
			if nx < 0 || ny < 0 || nx >= side || ny >= side {
				continue
			}
			j := ny*side + nx
			if !in[j] && s[j] > th {
				in[j] = true
				stack = append(stack, j)
			}
		}
	}
	W, H := float64(bounds.Dx()), float64(bounds.Dy())
	f := float64(side)
	return image.Rect(int(math.Max(0, (float64(x0)-pad)/f)*W), int(math.Max(0, (float64(y0)-pad)/f)*H),
		int(math.Min(1, (float64(x1)+1+pad)/f)*W), int(math.Min(1, (float64(y1)+1+pad)/f)*H))
}

// studyRoot skips a study unless LOOKALIKE_STUDY is set and returns the
// repository root (its .cache holds the model and the splits).
func studyRoot(t *testing.T) string {
	t.Helper()
	if os.Getenv("LOOKALIKE_STUDY") == "" {
		t.Skip("LOOKALIKE_STUDY=1 to run")
	}
	root, _ := filepath.Abs("../../..")
	return root
}
