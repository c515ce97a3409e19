//go:build !js

package build

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/lookalike/lookalike/models/catalog"
)

// readCatalogue parses --catalog with the build's limits and image root
// and prepares cfg.images, the reader every photo goes through.
func readCatalogue(cfg *BuildConfig) (*catalog.Catalog, error) {
	root := cfg.ImageRoot
	if root == "" {
		root = filepath.Dir(cfg.Catalog)
	}
	images, err := newImageFiles(root, cfg.MaxImageBytes)
	if err != nil {
		return nil, err
	}
	cfg.images = images
	return catalog.ParseFileOptions(cfg.Catalog, catalog.Options{
		MaxFieldBytes: cfg.MaxFieldBytes, MaxRowBytes: cfg.MaxRowBytes, ImageRoot: cfg.ImageRoot,
	})
}

// problemOf turns a catalogue row error into a report line.
func problemOf(re catalog.RowError) rowProblem {
	p := rowProblem{Row: re.Row, ID: re.ID, Reason: re.Reason}
	if re.Column != "" {
		p.Detail = "column " + strconv.Quote(re.Column)
	}
	if re.Detail != "" {
		if p.Detail != "" {
			p.Detail += ": "
		}
		p.Detail += re.Detail
	}
	switch re.Reason {
	case catalog.ReasonFieldTooLong:
		p.Detail += " (--max-field-bytes)"
	case catalog.ReasonRowTooLong:
		p.Detail += " (--max-row-bytes)"
	case catalog.ReasonOutsideImage:
		p.Detail += " (--image-root DIR allows another folder)"
	}
	return p
}

// logProblems prints the first row problems of the report (all are in
// the report file). catBad of the rows were bad in the catalogue itself.
func logProblems(log io.Writer, report *Report, rows, catBad int, reportPath string) {
	if len(report.Problems) == 0 {
		return
	}
	kept := len(report.Problems) - report.Skipped
	if report.Skipped > 0 {
		fmt.Fprintf(log, "build: skipped %d of %d rows (%d bad in the catalogue, %d with a bad photo; details in %s):\n",
			report.Skipped, rows, catBad, report.Skipped-catBad, reportPath)
	}
	if kept > 0 {
		fmt.Fprintf(log, "build: kept %d rows with a value dropped (details in %s)\n", kept, reportPath)
	}
	for i, p := range report.Problems {
		if i == 10 {
			fmt.Fprintf(log, "  … and %d more\n", len(report.Problems)-10)
			break
		}
		// An id the row has, else why there is none: "no id" would hide
		// an id that is there but unusable (of the wrong type, too long).
		id := "no id"
		switch {
		case p.ID != "":
			id = "id " + strconv.Quote(p.ID)
		case p.Reason == catalog.ReasonBadIDType || p.Reason == catalog.ReasonIDTooLong:
			id = "id unusable"
		}
		line := fmt.Sprintf("  row %d (%s): %s", p.Row, id, p.Reason)
		if p.Detail != "" {
			line += " — " + p.Detail
		}
		if p.Kept {
			line += " [product kept]"
		}
		fmt.Fprintln(log, line)
	}
}
