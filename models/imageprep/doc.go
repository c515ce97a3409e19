// Package imageprep is the image front end shared by the catalogue builder
// and the in-browser engine: it turns untrusted image bytes into the float
// tensor a model expects.
//
// Decode reads JPEG, PNG, GIF (first frame), WebP and BMP. It reads the
// header first and refuses, before decoding any pixel, images over a pixel
// budget (ErrTooLarge); it applies the JPEG EXIF orientation and returns an
// upright, opaque image (transparency composited on white; grey, paletted,
// CMYK and 16-bit images converted). Every error wraps one sentinel —
// ErrEmpty, ErrUnsupportedFormat, ErrTooLarge, ErrCorrupt, ErrBadCrop or
// ErrBadSpec — so callers can report a reason per input with errors.Is.
//
// Crop, Resize (Stretch, Letterbox, CenterCrop) and Thumbnail share one
// separable resampler: area averaging when shrinking (no aliasing on big
// photos), bilinear when enlarging (60×80 catalogue photos). Past the
// filter weights all arithmetic is integer, and the normalisation is a
// per-channel lookup table built without fused multiply-adds, so ToTensor
// gives bit-identical floats natively and in js/wasm. Spec (ParseSpec)
// describes a model's input: size, RGB/BGR, scale, mean, std, resize mode.
// ColorHistogram is a small colour baseline for evaluation.
//
// Where it runs: both natively (builder) and under GOOS=js GOARCH=wasm
// (browser engine); it imports no syscall/js. Every exported function is
// safe for concurrent use; none keeps state between calls.
package imageprep
