package imageprep_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/lookalike/lookalike/models/imageprep"
)

func Example() {
	// A 60×80 grey product shot, as PNG bytes.
	src := image.NewGray(image.Rect(0, 0, 60, 80))
	for i := range src.Pix {
		src.Pix[i] = 128
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, src); err != nil {
		panic(err)
	}

	spec, err := imageprep.ParseSpec(`{"layout":"NCHW","size":224,"channels":"BGR","scale":255,"mean":[103.939,116.779,123.68],"std":[1,1,1]}`)
	if err != nil {
		panic(err)
	}
	x, err := imageprep.Prepare(buf.Bytes(), nil, spec)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d floats, B[0]=%.3f R[0]=%.3f\n", len(x), x[0], x[2*224*224])

	_, _, err = imageprep.Decode([]byte("not an image"), imageprep.Options{})
	fmt.Println(errors.Is(err, imageprep.ErrUnsupportedFormat))

	thumb := imageprep.Thumbnail(src, 40, 40) // letterboxed on white
	fmt.Println(thumb.Bounds().Dx(), thumb.Bounds().Dy(), thumb.At(0, 20) == color.Color(color.RGBA{255, 255, 255, 255}))
	// Output:
	// 150528 floats, B[0]=24.061 R[0]=4.320
	// true
	// 40 40 true
}
