package jsformat

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/lookalike/lookalike/internal/testenv"
)

// The committed static/lookalike/gen_formats.js is what Source renders
// from today's Go constants: change a constant, forget `go generate`, and
// this fails.
func TestGeneratedFileIsCurrent(t *testing.T) {
	path := filepath.Join(testenv.RepoRoot(t), filepath.FromSlash(GeneratedFile))
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := Source(); !bytes.Equal(got, want) {
		t.Fatalf("%s is not what the Go constants say; run: go generate ./models/jsformat\n--- committed\n%s--- from Go\n%s", GeneratedFile, got, want)
	}
}
