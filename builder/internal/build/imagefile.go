//go:build !js

package build

import (
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lookalike/lookalike/models/imageprep"
)

// Catalogue photos are named by the catalogue, which is hostile input: a
// row may name /dev/zero (an endless read), a FIFO (a read that never
// returns), /etc/passwd, or a symbolic link out of the catalogue's folder.
// readImageFile is the only way the builder opens one.

// DefaultMaxImageBytes bounds one catalogue photo file (the shopper page's
// own limit for a dropped photo).
const DefaultMaxImageBytes = 40 << 20

var (
	errNotRegular   = errors.New("not a regular file")
	errImageTooBig  = errors.New("file too large")
	errImageOutside = errors.New("image outside the catalogue folder")
)

// imageFiles opens catalogue photos under one root.
type imageFiles struct {
	// root is the folder photos must stay in after symbolic links are
	// resolved ("" = anywhere).
	root string
	max  int64
}

// newImageFiles resolves root (symbolic links included) once.
func newImageFiles(root string, max int64) (*imageFiles, error) {
	if max <= 0 {
		max = DefaultMaxImageBytes
	}
	f := &imageFiles{max: max}
	if root == "" {
		return f, nil
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("--image-root %s: %w", root, err)
	}
	if f.root, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("--image-root %s: %w", root, err)
	}
	if f.root == string(filepath.Separator) {
		f.root = "" // the whole file system: nothing to check
	}
	return f, nil
}

// decode reads the photo at path (read's checks) and decodes it with the
// default limits.
func (f *imageFiles) decode(path string) (image.Image, error) {
	data, err := f.read(path)
	if err != nil {
		return nil, err
	}
	img, _, err := imageprep.Decode(data, imageprep.Options{})
	return img, err
}

// read returns the bytes of the regular file at path. It refuses anything
// else before opening it (a FIFO is never opened, a device never read),
// refuses files over max bytes before reading them, reads at most max
// bytes in any case, and refuses a path whose symbolic links lead out of
// the root.
func (f *imageFiles) read(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := f.check(path, st); err != nil {
		return nil, err
	}
	if f.root != "" {
		real, err := filepath.EvalSymlinks(path)
		if err == nil {
			real, err = filepath.Abs(real) // a relative path stays relative
		}
		if err != nil {
			return nil, err
		}
		if rel, err := filepath.Rel(f.root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("%w: a symbolic link leads out of it", errImageOutside)
		}
	}
	// O_NONBLOCK: should the file have become a FIFO since the Stat, the
	// open does not wait for a writer (the Stat below then refuses it).
	fh, err := os.OpenFile(path, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err = fh.Stat()
	if err != nil {
		return nil, err
	}
	if err := f.check(path, st); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(fh, f.max+1))
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(data)) > f.max {
		return nil, fmt.Errorf("%w: over %d bytes (--max-image-bytes)", errImageTooBig, f.max)
	}
	return data, nil
}

func (f *imageFiles) check(path string, st os.FileInfo) error {
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%w (%s)", errNotRegular, fileKind(st.Mode()))
	}
	if st.Size() > f.max {
		return fmt.Errorf("%w: %d bytes, the limit is %d (--max-image-bytes)", errImageTooBig, st.Size(), f.max)
	}
	return nil
}

// fileKind names a non-regular file's type for the report.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}
