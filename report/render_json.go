package report

import (
	"encoding/json"
	"io"
)

// JSON writes the report as indented JSON (schema in docs/report.md).
// encoding/json escapes <, > and & in strings, so the output is also safe
// to embed in a page.
func JSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
