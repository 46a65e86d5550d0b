package manifests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// repoRoot is the gatekeeper checkout this module lives in.
const repoRoot = "../.."

// exampleRunbook is the runbook the examples launch (its steps, bakes and window).
const exampleRunbook = "testdata/example/runbook.yaml"

// liveDeadline is live.DefaultDeadline (live/live.go): the longest a live collection takes, so
// the longest a controller must wait for a decision made without facts in the request.
const liveDeadline = 60 * time.Second

// runbook is the part of the example runbook the examples must agree with.
type runbook struct {
	Strategy struct {
		Steps []struct {
			Percent int    `json:"percent"`
			Bake    string `json:"bake"`
		} `json:"steps"`
	} `json:"strategy"`
	Window struct {
		Duration   string `json:"duration"`
		Interval   string `json:"interval"`
		MaxUnknown string `json:"max_unknown"`
	} `json:"window"`
}

func loadRunbook(t *testing.T) runbook {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, exampleRunbook))
	if err != nil {
		t.Fatal(err)
	}
	var rb runbook
	if err := yaml.Unmarshal(b, &rb); err != nil {
		t.Fatalf("%s: %v", exampleRunbook, err)
	}
	if len(rb.Strategy.Steps) == 0 || rb.Window.Interval == "" {
		t.Fatalf("%s: no canary steps or window interval", exampleRunbook)
	}
	return rb
}

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// goldenRecord reads a decision record that `gatekeeper evaluate -o json` wrote for one of the
// example scenarios (testdata/golden, kept exact by the main module's tests).
func goldenRecord(t *testing.T, scenario string) (raw []byte, decision string, complete bool) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "testdata/golden", scenario+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Decision string `json:"decision"`
		Complete bool   `json:"complete"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatalf("%s: %v", scenario, err)
	}
	return raw, rec.Decision, rec.Complete
}
