package output

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// GitHub renders workflow commands (annotations) and, when SummaryPath is set, appends a
// Markdown job summary there.
type GitHub struct {
	SummaryPath string
}

// Render implements Renderer.
func (g GitHub) Render(w io.Writer, rec *engine.Record) error {
	var b strings.Builder
	for _, c := range rec.Failed() {
		fmt.Fprintf(&b, "::error title=%s::%s\n", escapeProperty("gatekeeper "+string(rec.Gate)+" "+string(c.Outcome)+": "+c.Rule), escapeData(c.Message+" ("+FormatEvidence(c.Evidence)+")"))
	}
	for _, wn := range rec.Warnings {
		fmt.Fprintf(&b, "::warning title=%s::%s\n", escapeProperty("gatekeeper "+string(rec.Gate)+": "+wn.Rule), escapeData(wn.Message))
	}
	fmt.Fprintf(&b, "::notice title=%s::%s\n", escapeProperty("gatekeeper "+string(rec.Gate)), escapeData(verdict(rec)))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if g.SummaryPath == "" {
		return nil
	}
	f, err := os.OpenFile(g.SummaryPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("github step summary: %w", err)
	}
	if _, err := io.WriteString(f, Markdown(rec)); err != nil {
		f.Close()
		return fmt.Errorf("github step summary: %w", err)
	}
	return f.Close()
}

// Markdown is the job-summary table of a record.
func Markdown(rec *engine.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### gatekeeper: %s\n\n%s\n\n| outcome | check | message | evidence |\n|---|---|---|---|\n", title(rec), verdict(rec))
	for _, c := range append(rec.Failed(), passedChecks(rec)...) {
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", c.Outcome, c.Rule, mdCell(c.Message), mdCell(FormatEvidence(c.Evidence)))
	}
	if len(rec.Warnings) > 0 {
		b.WriteString("\n**Warnings**\n\n")
		for _, wn := range rec.Warnings {
			fmt.Fprintf(&b, "- `%s`: %s\n", wn.Rule, mdCell(wn.Message))
		}
	}
	b.WriteString("\n")
	return b.String()
}

func passedChecks(rec *engine.Record) []engine.Check {
	var out []engine.Check
	for _, c := range rec.Checks {
		if c.Outcome == engine.Go {
			out = append(out, c)
		}
	}
	return out
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// escapeData and escapeProperty follow the workflow-command encoding of the Actions toolkit.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
