package output

import (
	"encoding/json"
	"io"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// JSON renders DESIGN.md's decision record, indented, with sorted map keys.
type JSON struct{}

// Render implements Renderer.
func (JSON) Render(w io.Writer, rec *engine.Record) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rec)
}
