package archive

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// DecisionLogEvent is an archived record in the shape of an OPA decision-log event, so tools
// that ingest OPA decision logs can ingest a launch: the policies digest is the bundle
// revision, the record's now its timestamp, and the gate package its path.
type DecisionLogEvent struct {
	DecisionID string                    `json:"decision_id"`
	Labels     map[string]string         `json:"labels"`
	Path       string                    `json:"path"`
	Input      json.RawMessage           `json:"input"`
	Result     DecisionLogResult         `json:"result"`
	Timestamp  string                    `json:"timestamp"`
	Bundles    map[string]map[string]any `json:"bundles"`
	Metrics    map[string]any            `json:"metrics"`
	Gatekeeper map[string]string         `json:"gatekeeper"`
}

// DecisionLogResult is what the gate package decided.
type DecisionLogResult struct {
	Decision engine.Outcome   `json:"decision"`
	Checks   []engine.Check   `json:"checks"`
	Warnings []engine.Warning `json:"warnings"`
	Complete bool             `json:"complete"`
}

// WriteDecisionLog verifies the archive while writing every record as one decision-log event
// per line. Metrics stay empty: an archived record holds no timings, so the export is the same
// bytes every time.
func (a *Archive) WriteDecisionLog(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return a.Walk(func(n int, e *Entry, input []byte) error {
		ev := DecisionLogEvent{
			DecisionID: e.DecisionID,
			Labels:     map[string]string{"app": "gatekeeper", "version": e.GatekeeperVersion, "launch_id": e.LaunchID, "environment": e.Environment},
			Path:       "gatekeeper/gates/" + strings.ReplaceAll(string(e.Gate), "-", "_"),
			Input:      json.RawMessage(input),
			Result:     DecisionLogResult{Decision: e.Decision, Checks: e.Checks, Warnings: e.Warnings, Complete: e.Complete},
			Timestamp:  e.Now,
			Bundles:    map[string]map[string]any{"gatekeeper": {"revision": e.PoliciesDigest}},
			Metrics:    map[string]any{},
			Gatekeeper: map[string]string{"record_digest": e.Digest, "prev": e.Prev, "input_digest": e.InputDigest, "runbook_digest": e.RunbookDigest},
		}
		if err := enc.Encode(ev); err != nil {
			return fmt.Errorf("decision log: record %d: %w", n, err)
		}
		return nil
	})
}
