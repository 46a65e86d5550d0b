package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/gatekeeper-dev/gatekeeper/metrics/pushgwtest"
)

// scenarioNamed returns the example scenario recorded in file.
func scenarioNamed(t *testing.T, file string) scenario {
	t.Helper()
	for _, s := range loadScenarios(t) {
		if s.File == file {
			return s
		}
	}
	t.Fatalf("no scenario %s in expected.json", file)
	return scenario{}
}

// pushed finds the value of the series of family name on the Pushgateway whose labels include
// every label of want.
func pushed(t *testing.T, pg *pushgwtest.Server, name string, want map[string]string) (*dto.Metric, bool) {
	t.Helper()
	fams, err := pg.Families("gatekeeper_")
	if err != nil {
		t.Fatal(err)
	}
series:
	for _, m := range fams[name].GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue series
			}
		}
		return m, true
	}
	return nil, false
}

// TestEvaluatePushesToPushgateway runs `evaluate --pushgateway` on recorded facts against
// Debian's Pushgateway: the pushed decision is the printed one, grouped by launch,
// environment and gate, with the criteria and the facts' collection, and the exit code is
// the decision's.
func TestEvaluatePushesToPushgateway(t *testing.T) {
	pg := pushgwtest.Start(t)
	tests := []struct {
		name     string
		file     string
		launchID string
		criteria map[string]float64 // rule -> observed
	}{
		{name: "go", file: "healthy__post-deploy.json", launchID: "push-go"},
		{name: "no-go", file: "zero-traffic__canary-5.json", launchID: "push-nogo",
			criteria: map[string]float64{"canary.min_requests": 120}},
		{name: "rollback", file: "sustained-errors__canary-25.json", launchID: "push-rollback",
			criteria: map[string]float64{"canary.error_rate_sustained": 0.0508, "canary.latency_p95_sustained": 0.235}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scenarioNamed(t, tt.file)
			args := append(s.args("json"), "--launch-id", tt.launchID, "--pushgateway", pg.URL)
			code, out, stderr := gk(t, args...)
			if code != s.Exit {
				t.Fatalf("exit %d, want %d\n%s%s", code, s.Exit, out, stderr)
			}
			if stderr != "" {
				t.Fatalf("stderr after a successful push: %s", stderr)
			}
			var rec struct {
				Decision, Environment, Gate string
				LaunchID                    string `json:"launch_id"`
			}
			if err := json.Unmarshal([]byte(out), &rec); err != nil || rec.Decision != s.Decision {
				t.Fatalf("decision %q (%v), want %s", rec.Decision, err, s.Decision)
			}
			group := map[string]string{"job": "gatekeeper", "launch_id": tt.launchID, "environment": "production", "gate": s.Gate}
			with := func(k, v string) map[string]string {
				m := map[string]string{k: v}
				for a, b := range group {
					m[a] = b
				}
				return m
			}
			for _, d := range []string{"go", "no-go", "rollback"} {
				want := 0.0
				if d == s.Decision {
					want = 1
				}
				m, ok := pushed(t, pg, "gatekeeper_gate_decisions_total", with("decision", d))
				if !ok || m.GetCounter().GetValue() != want {
					t.Errorf("gate_decisions_total{decision=%q} = %v (found %v), want %v", d, m.GetCounter().GetValue(), ok, want)
				}
			}
			for rule, want := range tt.criteria {
				m, ok := pushed(t, pg, "gatekeeper_criterion_observed", with("rule", rule))
				if !ok || m.GetGauge().GetValue() != want {
					t.Errorf("criterion_observed{rule=%q} = %v (found %v), want %v", rule, m.GetGauge().GetValue(), ok, want)
				}
			}
			if m, ok := pushed(t, pg, "gatekeeper_evaluation_duration_seconds", group); !ok || m.GetHistogram().GetSampleCount() != 1 || m.GetHistogram().GetSampleSum() <= 0 {
				t.Errorf("evaluation_duration_seconds: %v (found %v), want one positive observation", m, ok)
			}
			// The facts file's provenance is the collection behind this decision.
			if m, ok := pushed(t, pg, "gatekeeper_collection_duration_seconds", with("source", "http")); !ok || m.GetHistogram().GetSampleCount() == 0 {
				t.Errorf("collection_duration_seconds{source=http}: %v (found %v), want the facts' collections", m, ok)
			}
			if _, ok := pushed(t, pg, "gatekeeper_evaluation_errors_total", group); ok {
				t.Errorf("an evaluation error was pushed for a decided gate")
			}
		})
	}
}

// TestEvaluateErrorPushesEvaluationError: an evaluation that cannot decide exits 1, counts no
// decision and pushes an evaluation error for its gate.
func TestEvaluateErrorPushesEvaluationError(t *testing.T) {
	pg := pushgwtest.Start(t)
	// Facts recorded for the canary gate, evaluated as the window gate: refused, exit 1.
	code, out, stderr := gk(t, "evaluate", "--runbook", "testdata/example/runbook.yaml", "--env", "production",
		"--gate", "window", "--facts", "testdata/example/scenarios/sustained-errors__canary-25.json",
		"--launch-id", "push-error", "--pushgateway", pg.URL)
	if code != 1 || !strings.Contains(stderr, "collected for gate") {
		t.Fatalf("exit %d, want 1 with the coordinates error\n%s%s", code, out, stderr)
	}
	group := map[string]string{"job": "gatekeeper", "launch_id": "push-error", "environment": "production", "gate": "window"}
	if m, ok := pushed(t, pg, "gatekeeper_evaluation_errors_total", group); !ok || m.GetCounter().GetValue() != 1 {
		t.Fatalf("evaluation_errors_total = %v (found %v), want 1", m, ok)
	}
	if _, ok := pushed(t, pg, "gatekeeper_gate_decisions_total", group); ok {
		t.Fatal("a decision was pushed for an evaluation that could not decide")
	}
}

// TestEvaluatePushFailureKeepsDecision: an unreachable or unusable Pushgateway is a warning
// on stderr; the output and the exit code are the decision's, and the warning never shows
// the URL's credentials.
func TestEvaluatePushFailureKeepsDecision(t *testing.T) {
	urls := []struct {
		name, url, host string
	}{
		{name: "unreachable", url: "http://gk-user:s3cret@127.0.0.1:1/", host: "127.0.0.1:1"},
		{name: "bad URL", url: "http://gk-user:s3cret@127.0.0.1:1/?token=s3cret"},
	}
	for _, file := range []string{"healthy__post-deploy.json", "zero-traffic__canary-5.json", "sustained-errors__canary-25.json", "post-rollback-failed__post-rollback.json"} {
		s := scenarioNamed(t, file)
		_, plain, _ := gk(t, s.args("json")...)
		for _, u := range urls {
			t.Run(s.Decision+"/"+s.Gate+"/"+u.name, func(t *testing.T) {
				began := time.Now()
				code, out, stderr := gk(t, append(s.args("json"), "--pushgateway", u.url)...)
				if code != s.Exit {
					t.Fatalf("exit %d, want the decision's %d\n%s", code, s.Exit, stderr)
				}
				if out != plain {
					t.Fatalf("output differs from the same evaluate without --pushgateway")
				}
				if !strings.Contains(stderr, "warning") || !strings.Contains(stderr, "pushgateway") {
					t.Fatalf("no push warning on stderr: %q", stderr)
				}
				if u.host != "" && !strings.Contains(stderr, u.host) {
					t.Fatalf("warning does not name the host %s: %q", u.host, stderr)
				}
				if strings.Contains(stderr, "s3cret") || strings.Contains(stderr, "gk-user") {
					t.Fatalf("warning leaks the URL's credentials: %q", stderr)
				}
				if d := time.Since(began); d > 10*time.Second {
					t.Fatalf("evaluate took %v with an unreachable pushgateway", d)
				}
			})
		}
	}
}

// TestLiveEvaluatePushesCollection: a live evaluate (real Prometheus, PostgreSQL and HTTP
// services) pushes how long each source's collection took beside its decision.
func TestLiveEvaluatePushesCollection(t *testing.T) {
	pg := pushgwtest.Start(t)
	env := startLiveEnv(t)
	rb := env.runbook(t, "healthy")
	code, out, stderr := gk(t, "evaluate", "--runbook", rb, "--env", "production", "--gate", "window",
		"--now", liveNow.Format(time.RFC3339), "--cutover-at", liveCutover, "--launch-id", "push-live",
		"--pushgateway", pg.URL, "-o", "json")
	var rec struct{ Decision string }
	if err := json.Unmarshal([]byte(out), &rec); err != nil || code == 1 {
		t.Fatalf("live evaluate: exit %d (%v)\n%s%s", code, err, out, stderr)
	}
	group := map[string]string{"job": "gatekeeper", "launch_id": "push-live", "environment": "production", "gate": "window"}
	if m, ok := pushed(t, pg, "gatekeeper_gate_decisions_total", map[string]string{"launch_id": "push-live", "decision": rec.Decision}); !ok || m.GetCounter().GetValue() != 1 {
		t.Fatalf("gate_decisions_total{decision=%q} = %v (found %v), want 1", rec.Decision, m, ok)
	}
	for _, src := range []string{"prometheus", "http", "sql"} {
		with := map[string]string{"source": src}
		for k, v := range group {
			with[k] = v
		}
		m, ok := pushed(t, pg, "gatekeeper_collection_duration_seconds", with)
		// Durations are whole milliseconds in the provenance; loopback sources may take 0.
		if !ok || m.GetHistogram().GetSampleCount() == 0 {
			t.Errorf("collection_duration_seconds{source=%q}: %v (found %v), want the live collection's facts", src, m, ok)
		}
		if _, ok := pushed(t, pg, "gatekeeper_collector_errors_total", with); !ok {
			t.Errorf("collector_errors_total{source=%q} missing: every collecting source has the series, at 0 when it did not fail", src)
		}
	}
}
