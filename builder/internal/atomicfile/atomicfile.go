//go:build !js

package atomicfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// BeforeRename, when set (tests only), runs when a file is written in
// full under its temporary name, just before the rename: the builder's
// kill tests end the process there.
var BeforeRename func(path string)

// Write writes b to a temporary file in path's folder
// (".<name>.tmp-<digits>") and renames it to path. On failure the
// temporary file is removed and path is left as it was.
func Write(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = io.Copy(f, bytes.NewReader(b))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil && BeforeRename != nil {
		BeforeRename(path)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
