//go:build !js

package evaluate

import (
	"encoding/json"
	"io"
)

// writeReport writes an evaluation's report to w: indented JSON with
// --json, else the command's table.
func writeReport(w io.Writer, asJSON bool, rep any, table func(io.Writer) error) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return table(w)
}
