// Package output renders decision records for people, machines and CI systems: one small
// interface, one file per format, and a factory, as conftest's output package does.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Renderer writes one decision record in one format.
type Renderer interface {
	Render(w io.Writer, rec *engine.Record) error
}

// Options configure renderers that talk to their CI system beyond stdout.
type Options struct {
	// GitHubSummary is the file GitHub Actions names in GITHUB_STEP_SUMMARY; empty skips it.
	GitHubSummary string
}

// Formats lists the accepted -o values.
func Formats() []string { return []string{"text", "json", "junit", "github"} }

// Get returns the renderer for a format name.
func Get(format string, opts Options) (Renderer, error) {
	switch format {
	case "text", "":
		return Text{}, nil
	case "json":
		return JSON{}, nil
	case "junit":
		return JUnit{}, nil
	case "github":
		return GitHub{SummaryPath: opts.GitHubSummary}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats(), ", "))
}

// evidenceKeys orders evidence so the values a reader compares come first.
func evidenceKeys(ev map[string]any) []string {
	lead := []string{"observed", "threshold", "coverage", "coverage_required"}
	keys := make([]string, 0, len(ev))
	for _, k := range lead {
		if _, ok := ev[k]; ok {
			keys = append(keys, k)
		}
	}
	rest := make([]string, 0, len(ev))
	for k := range ev {
		if !contains(lead, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

// FormatEvidence renders evidence as key=value pairs, observed and threshold first.
func FormatEvidence(ev map[string]any) string {
	parts := make([]string, 0, len(ev))
	for _, k := range evidenceKeys(ev) {
		parts = append(parts, k+"="+formatValue(ev[k]))
	}
	return strings.Join(parts, " ")
}

func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		if strings.ContainsAny(x, " \t\"=") || x == "" {
			return strconv.Quote(x)
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case nil:
		return "null"
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// title is the one-line headline of a record shared by the human formats.
func title(rec *engine.Record) string {
	gate := string(rec.Gate)
	if rec.Step != nil {
		gate += fmt.Sprintf(" (step %d%%)", *rec.Step)
	}
	return fmt.Sprintf("%s · %s · %s · %s", strings.ToUpper(string(rec.Decision)), gate, rec.LaunchID, rec.Now)
}

// verdict says in words what the decision means at this gate, so nobody has to remember
// that no-go after cutover means hold.
func verdict(rec *engine.Record) string {
	switch {
	case rec.Decision == engine.Go && rec.Complete:
		return "go: the monitoring window has passed cleanly, the launch is complete"
	case rec.Decision == engine.Go:
		return "go: every required check passed"
	case rec.Gate == engine.PostRollback:
		return "no-go: the rollback is not verified"
	case rec.Decision == engine.Rollback:
		return "rollback: a rollback criterion is met"
	case rec.Gate.BeforeCutover():
		return "no-go: do not start the cutover"
	default:
		return "no-go: hold, do not advance or declare complete"
	}
}
