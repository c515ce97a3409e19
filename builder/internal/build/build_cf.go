//go:build !js

package build

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/lookalike/lookalike/models/cf"
	"github.com/lookalike/lookalike/models/search"
)

// addCFAsset reads --interactions, computes item-item collaborative
// neighbours keyed by catalogue index and adds them as the "cf" asset.
// Catalogue items without interactions keep an empty row: the page and the
// edge fall back to the visual neighbours for them (cold start).
func addCFAsset(cfg *BuildConfig, good []*item, w *assetWriter, log io.Writer) error {
	f, err := os.Open(cfg.Interactions)
	if err != nil {
		return fmt.Errorf("--interactions: %w", err)
	}
	defer f.Close()
	l, rowErrs, err := cf.ReadLog(f, cf.ReadOptions{})
	if err != nil {
		return fmt.Errorf("--interactions %s: %w", cfg.Interactions, err)
	}
	for i, re := range rowErrs {
		if i == 5 {
			fmt.Fprintf(log, "  … %d more bad interaction rows\n", len(rowErrs)-5)
			break
		}
		fmt.Fprintf(log, "  %s: %v\n", cfg.Interactions, re)
	}
	opt := cf.DefaultOptions()
	opt.K = cfg.Neighbors
	m, err := cf.Build(l, opt)
	if err != nil {
		return err
	}
	ids := make([]string, len(good))
	for i, it := range good {
		ids[i] = it.ID
	}
	rows, rep := m.ForCatalog(ids)
	data, err := cf.EncodeNeighbors(rows, opt.K)
	if err != nil {
		return err
	}
	if _, err := w.add(search.KindCF, "bin", data); err != nil {
		return err
	}
	fmt.Fprintf(log, "build: collaborative neighbours from %s: %d bad rows, %d unknown items (%d rows), %d catalogue items without interactions (visual fallback)\n",
		cfg.Interactions, len(rowErrs), rep.UnknownItems, rep.UnknownRows, rep.ColdItems)
	return nil
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
