package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// record is the part of a decision record these tests read.
type record struct {
	Gate     string `json:"gate"`
	Step     *int   `json:"step"`
	Decision string `json:"decision"`
	Checks   []struct {
		Rule     string         `json:"rule"`
		Outcome  string         `json:"outcome"`
		Status   string         `json:"status"`
		Message  string         `json:"message"`
		Evidence map[string]any `json:"evidence"`
	} `json:"checks"`
}

func (r record) check(t *testing.T, rule string) (outcome, status, message string, evidence map[string]any) {
	t.Helper()
	for _, c := range r.Checks {
		if c.Rule == rule {
			return c.Outcome, c.Status, c.Message, c.Evidence
		}
	}
	t.Fatalf("%s decision has no check %s", r.Gate, rule)
	return
}

func (r record) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", r.Gate, r.Decision)
	for _, c := range r.Checks {
		if c.Outcome != "go" {
			fmt.Fprintf(&b, "\n  %s %s: %s", c.Rule, c.Outcome, c.Message)
		}
	}
	return b.String()
}

// TestDemoUnderPrometheus runs each candidate as a canary at 25% under load with the real
// Prometheus scraping every second, and checks what Prometheus sees (the faulty release's 8%
// error ratio, the p95) and what `gatekeeper evaluate` decides live from it: rollback for
// the faulty release, go for the healthy one. It also checks the post-deploy gate's version
// and health checks against the running canary.
func TestDemoUnderPrometheus(t *testing.T) {
	requireRealParts(t)
	cases := []struct {
		name      string
		version   string
		ratio     float64 // error ratio Prometheus must see on the canary
		decision  string  // of the canary gate
		errOutcom string  // of canary.error_rate_sustained
	}{
		{"healthy", "1.1.0", 0, "go", "go"},
		{"faulty", "1.1.1", 0.08, "rollback", "rollback"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, "1.0.0")
			cutover := time.Now().UTC()
			s.startSlot("canary", "serve", "--addr", s.canaryAddr, "--track", "canary", "--release", tc.version)
			rb := s.writeRunbook(tc.version, "1.0.0", timing{Bake: "10m", Window: "30m", Interval: "2s", MaxUnknown: "5m", AnnounceLead: "1m"})

			// The baseline a launch takes at pre-cutover, for the integrity checks.
			res := s.gatekeeper("collect", "--runbook", rb, "--env", "staging", "--gate", "pre-cutover")
			if res.code != 0 {
				t.Fatalf("collect pre-cutover: exit %d\n%s", res.code, res.stderr)
			}
			baseline := filepath.Join(s.dir, "baseline.json")
			if err := os.WriteFile(baseline, []byte(res.stdout), 0o644); err != nil {
				t.Fatal(err)
			}

			// Post-deploy, live: the canary serves the release and is healthy. (No deployment
			// fact outside a launch, so the gate itself holds.)
			res = s.gatekeeper("evaluate", "--runbook", rb, "--env", "staging", "--gate", "post-deploy",
				"--cutover-at", cutover.Format(time.RFC3339Nano), "--baseline", baseline, "-o", "json")
			var pd record
			if err := json.Unmarshal([]byte(res.stdout), &pd); err != nil {
				t.Fatalf("post-deploy: exit %d: %v\n%s%s", res.code, err, res.stdout, res.stderr)
			}
			for _, rule := range []string{"post_deploy.version", "post_deploy.health", "post_deploy.integrity"} {
				if outcome, _, msg, _ := pd.check(t, rule); outcome != "go" {
					t.Errorf("%s: %s (%s)", rule, outcome, msg)
				}
			}
			if outcome, _, _, _ := pd.check(t, "post_deploy.deployment"); outcome == "go" || res.code != 2 {
				t.Errorf("post-deploy without a deployment fact: exit %d, deployment %s; want a hold (2)", res.code, outcome)
			}

			s.shift(25)
			shifted := time.Now().UTC()

			// Prometheus sees the canary's traffic, its error ratio and its p95.
			errQ := `sum(rate(http_requests_total{code=~"5..",track="%s"}[10s])) / sum(rate(http_requests_total{track="%s"}[10s]))`
			waitFor(t, 30*time.Second, "error ratios in Prometheus", func() (bool, string) {
				c, cok := s.promQuery(fmt.Sprintf(errQ, "canary", "canary"))
				st, sok := s.promQuery(fmt.Sprintf(errQ, "stable", "stable"))
				return cok && math.Abs(c-tc.ratio) <= 0.02 && sok && st == 0,
					fmt.Sprintf("canary %v (present %v), stable %v (present %v)", c, cok, st, sok)
			})
			p95, ok := s.promQuery(`histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{track="canary"}[10s])))`)
			if !ok || p95 < 0.005 || p95 > 0.1 {
				t.Errorf("canary p95 %vs (present %v), want 5-100 ms (5 ms of work, 1-2x)", p95, ok)
			}

			// The canary gate, live, until it decides (it holds while the 20s window fills).
			var last record
			waitFor(t, 50*time.Second, "canary gate decision", func() (bool, string) {
				res := s.gatekeeper("evaluate", "--runbook", rb, "--env", "staging", "--gate", "canary", "--step", "25",
					"--cutover-at", cutover.Format(time.RFC3339Nano), "--step-started-at", shifted.Format(time.RFC3339Nano),
					"--baseline", baseline, "-o", "json")
				if err := json.Unmarshal([]byte(res.stdout), &last); err != nil {
					return false, fmt.Sprintf("exit %d: %v %s", res.code, err, res.stderr)
				}
				return last.Decision != "no-go", last.summary()
			})
			decidedAfter := time.Since(shifted)
			if last.Decision != tc.decision {
				t.Fatalf("canary decision %s, want %s\n%s", last.Decision, tc.decision, last.summary())
			}
			outcome, _, msg, ev := last.check(t, "canary.error_rate_sustained")
			if outcome != tc.errOutcom {
				t.Errorf("canary.error_rate_sustained %s (%s), want %s", outcome, msg, tc.errOutcom)
			}
			if obs, _ := ev["observed"].(float64); math.Abs(obs-tc.ratio) > 0.03 {
				t.Errorf("observed error ratio %v, want about %v", ev["observed"], tc.ratio)
			}
			// 20s sustained + 2s scrape lag + a scrape and an evaluation or two.
			if decidedAfter > 40*time.Second {
				t.Errorf("decided %s after the shift, want within 40s", decidedAfter.Round(time.Second))
			}
			sum, err := s.traffic.stop()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: canary gate %s after %s; load sent %d (%v, skipped %d, errors %d); p95 %.3fs",
				tc.name, last.Decision, decidedAfter.Round(time.Second), sum.Sent, sum.Statuses, sum.Skipped, sum.Errors, p95)
			if sum.Errors != 0 || sum.Statuses["200"] == 0 {
				t.Errorf("load: %+v", sum)
			}
		})
	}
}
