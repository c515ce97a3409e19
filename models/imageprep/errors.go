package imageprep

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of
// them (test with errors.Is) and carries detail after an "imageprep:" prefix,
// so a caller such as the catalogue builder can report one reason per row.
var (
	// ErrEmpty: the input has zero bytes.
	ErrEmpty = errors.New("imageprep: empty input")
	// ErrUnsupportedFormat: not an image, or an image format or variant
	// this package does not decode.
	ErrUnsupportedFormat = errors.New("imageprep: unsupported format")
	// ErrTooLarge: the header declares more pixels than the budget, or a
	// side longer than the limit. Returned before any pixel is decoded.
	ErrTooLarge = errors.New("imageprep: image too large")
	// ErrCorrupt: the format was recognised but the data is truncated or
	// malformed.
	ErrCorrupt = errors.New("imageprep: corrupt image")
	// ErrBadCrop: the crop rectangle does not overlap the image.
	ErrBadCrop = errors.New("imageprep: bad crop rectangle")
	// ErrBadSpec: a preprocessing spec is malformed or out of range.
	ErrBadSpec = errors.New("imageprep: bad spec")
)
