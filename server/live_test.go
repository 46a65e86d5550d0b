package server

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/prometheus"
	"github.com/gatekeeper-dev/gatekeeper/collectors/prometheus/promtest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/live"
)

// TestLiveRealPrometheus decides canary steps live (no facts in the body, the cutover from
// the launch archive) from a real Prometheus holding the launch's backfilled history: the
// sustained-errors cohort is rolled back, the healthy one's error rate passes (and the gate
// holds: only Prometheus answers here).
func TestLiveRealPrometheus(t *testing.T) {
	if err := promtest.Available(); err != nil {
		t.Skipf("skipping: needs Debian's prometheus and promtool (.ci/run installs them): %v", err)
	}
	now := time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC)
	var scs []promtest.Scenario
	for _, sc := range promtest.Scenarios(now) {
		if sc.Name == "healthy" || sc.Name == "sustained-errors" {
			scs = append(scs, sc)
		}
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "prom-data")
	if err := promtest.Backfill(context.Background(), promtest.LaunchHistory(now, scs), dir, data); err != nil {
		t.Fatalf("backfill: %v", err)
	}
	prom := promtest.Start(t, promtest.Options{DataDir: data})

	tests := []struct {
		cohort string
		want   engine.Outcome
		check  string // the rule whose status must be wantStatus
		status string
	}{
		{"sustained-errors", engine.Rollback, "canary.error_rate_sustained", "fail"},
		{"healthy", engine.NoGo, "canary.error_rate_sustained", "pass"}, // no-go: only Prometheus answers
	}
	for _, tt := range tests {
		t.Run(tt.cohort, func(t *testing.T) {
			rbPath := promRunbook(t, prom.URL, tt.cohort)
			archiveDir := t.TempDir()
			s, err := New(context.Background(), WithRunbookFiles(rbPath), WithToken(testToken), WithArchive(archiveDir),
				WithClock(func() time.Time { return now }),
				WithLive(live.Options{Deadline: 30 * time.Second, Sources: []engine.Source{{Name: "prometheus", Collector: prometheus.New(), Timeout: 30 * time.Second}}}))
			if err != nil {
				t.Fatal(err)
			}
			// The pipeline's post-deploy decision recorded the cutover.
			seed := `{"gate":"post-deploy","environment":"production","now":"2026-11-25T13:24:00Z","cutover_at":"2026-11-25T13:20:00Z","facts":{}}`
			if code, body := call(t, s, http.MethodPost, "/v1/decide", testToken, []byte(seed)); code != 200 {
				t.Fatalf("seed: status %d: %s", code, body)
			}
			code, body := call(t, s, http.MethodPost, "/v1/decide", testToken, []byte(`{"gate":"canary","step":25,"environment":"production","step_started_at":"2026-11-25T13:46:00Z"}`))
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			rec := decodeRecord(t, body)
			if rec.Decision != tt.want || rec.CutoverAt != "2026-11-25T13:20:00Z" {
				t.Fatalf("decision %s, cutover %q; want %s, the archived cutover", rec.Decision, rec.CutoverAt, tt.want)
			}
			for _, c := range rec.Checks {
				if c.Rule == tt.check {
					if c.Status != tt.status {
						t.Fatalf("%s: %s (%s), want %s", c.Rule, c.Status, c.Message, tt.status)
					}
					return
				}
			}
			t.Fatalf("no check %s in %s", tt.check, body)
		})
	}
}

// promRunbook writes the example runbook with its production Prometheus at url and the new
// cohort's label value set to cohort, signed off, and returns its path.
func promRunbook(t *testing.T, url, cohort string) string {
	t.Helper()
	rb, err := engine.LoadRunbook(exampleRB)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	b, _ := json.Marshal(rb.Value)
	_ = json.Unmarshal(b, &v)
	prod := v["environments"].(map[string]any)["production"].(map[string]any)
	prod["prometheus"] = map[string]any{"url": url}
	prod["cohorts"].(map[string]any)["new"].(map[string]any)["label_value"] = cohort
	delete(v, "signoff")
	path := filepath.Join(t.TempDir(), "runbook.json")
	write := func() {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write()
	unsigned, err := engine.LoadRunbook(path)
	if err != nil {
		t.Fatalf("runbook: %v", err)
	}
	v["signoff"] = map[string]any{"by": []any{"Dana Ortiz"}, "at": "2026-11-24T16:00:00Z", "digest": unsigned.SignoffDigest}
	write()
	return path
}
