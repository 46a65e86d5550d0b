package output

import (
	"fmt"
	"io"
	"strings"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Text renders a record for people: the decision, each check with observed value against
// threshold (failing ones first), then the warnings.
type Text struct{}

var marks = map[engine.Outcome]string{engine.Go: "ok", engine.NoGo: "NO-GO", engine.Rollback: "ROLLBACK"}

// Render implements Renderer.
func (Text) Render(w io.Writer, rec *engine.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n", title(rec), verdict(rec))
	failed := rec.Failed()
	var passed []engine.Check
	for _, c := range rec.Checks {
		if c.Outcome == engine.Go {
			passed = append(passed, c)
		}
	}
	fmt.Fprintf(&b, "\nchecks (%d failed, %d passed):\n", len(failed), len(passed))
	for _, c := range append(append([]engine.Check{}, failed...), passed...) {
		status := ""
		if c.Status == "unknown" {
			status = " (unknown)"
		}
		fmt.Fprintf(&b, "  %-8s %s%s\n           %s\n", marks[c.Outcome], c.Rule, status, c.Message)
		if len(c.Evidence) > 0 {
			fmt.Fprintf(&b, "           %s\n", FormatEvidence(c.Evidence))
		}
	}
	if len(rec.Warnings) > 0 {
		fmt.Fprintf(&b, "\nwarnings (%d):\n", len(rec.Warnings))
		for _, wn := range rec.Warnings {
			fmt.Fprintf(&b, "  warn     %s\n           %s\n", wn.Rule, wn.Message)
			if len(wn.Evidence) > 0 {
				fmt.Fprintf(&b, "           %s\n", FormatEvidence(wn.Evidence))
			}
		}
	}
	fmt.Fprintf(&b, "\ninput %s · runbook %s · policies %s\n", rec.InputDigest, rec.RunbookDigest, rec.PoliciesDigest)
	_, err := io.WriteString(w, b.String())
	return err
}
