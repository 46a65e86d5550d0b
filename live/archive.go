package live

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// FromArchive reads what the launch's archive already knows and later gates need: the
// pre-cutover `integrity` fact as `integrity_baseline`, the earlier decisions after cutover
// as `history` (how long a criterion has been unknown, for max_unknown), and the launch's
// events as `attestations`, `notifications`, `hooks` and, from the deploy hook, `deployment`. The archive is
// verified while it is read; a launch without an archive yet yields no facts.
func FromArchive(dir string, now time.Time) (map[string]engine.Fact, error) {
	a, err := archive.Open(dir)
	if err != nil {
		return nil, err
	}
	var (
		baseline map[string]any
		records  []any
		events   []archive.Entry
	)
	err = a.WalkAll(func(_ int, e *archive.Entry, input []byte) error {
		if e.Event != nil {
			events = append(events, *e)
			return nil
		}
		if e.Gate == engine.PreCutover {
			var in struct {
				Facts map[string]any `json:"facts"`
			}
			if err := json.Unmarshal(input, &in); err != nil {
				return fmt.Errorf("record %s: input: %w", e.DecisionID, err)
			}
			if f, ok := in.Facts["integrity"].(map[string]any); ok {
				baseline = f
			}
			return nil
		}
		checks := make([]any, 0, len(e.Checks))
		for _, c := range e.Checks {
			checks = append(checks, map[string]any{"rule": c.Rule, "status": c.Status})
		}
		r := map[string]any{"now": e.Now, "gate": string(e.Gate), "checks": checks}
		if e.Step != nil {
			r["step"] = *e.Step
		}
		records = append(records, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read archive %s: %w", dir, err)
	}
	facts := eventFacts(dir, now, events)
	if baseline != nil {
		f, err := archivedFact(dir, baseline)
		if err != nil {
			return nil, fmt.Errorf("read archive %s: pre-cutover integrity: %w", dir, err)
		}
		facts["integrity_baseline"] = f
	}
	if len(records) > 0 {
		facts["history"] = engine.Fact{Source: "archive", Path: dir, CollectedAt: now, Data: map[string]any{"records": records}}
	}
	return facts, nil
}
