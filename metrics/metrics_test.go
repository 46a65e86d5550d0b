package metrics

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func TestObserveDecision(t *testing.T) {
	tests := []struct {
		name string
		rec  *engine.Record
		took time.Duration
		want string // exposition of the gauges and counter, compared with GatherAndCompare
	}{
		{
			name: "go",
			rec: &engine.Record{Gate: engine.PostDeploy, Decision: engine.Go, Now: "2026-11-25T13:25:00Z",
				Checks: []engine.Check{{Rule: "post_deploy.replicas", Outcome: engine.Go, Evidence: map[string]any{"observed": 3.0, "expected": 3.0}}}},
			took: 250 * time.Millisecond,
			want: `
# HELP gatekeeper_gate_decisions_total Gate decisions made, by gate and decision (go, no-go, rollback).
# TYPE gatekeeper_gate_decisions_total counter
gatekeeper_gate_decisions_total{decision="go",gate="post-deploy"} 1
gatekeeper_gate_decisions_total{decision="no-go",gate="post-deploy"} 0
gatekeeper_gate_decisions_total{decision="rollback",gate="post-deploy"} 0
# HELP gatekeeper_criterion_observed A criterion's observed value, from its check's evidence, by gate and rule.
# TYPE gatekeeper_criterion_observed gauge
gatekeeper_criterion_observed{gate="post-deploy",rule="post_deploy.replicas"} 3
# HELP gatekeeper_last_decision_timestamp_seconds The decision time (the record's now) of the gate's latest decision, in Unix seconds.
# TYPE gatekeeper_last_decision_timestamp_seconds gauge
gatekeeper_last_decision_timestamp_seconds{gate="post-deploy"} 1.7956131e+09
`,
		},
		{
			name: "rollback with evidence",
			rec: &engine.Record{Gate: engine.Canary, Decision: engine.Rollback, Now: "2026-11-25T14:01:00Z",
				Checks: []engine.Check{
					{Rule: "canary.error_rate_sustained", Outcome: engine.Rollback,
						Evidence: map[string]any{"observed": 0.0508, "threshold": 0.02, "coverage": 1.0, "window_start": "2026-11-25T13:55:30Z"}},
					{Rule: "canary.latency_p95_sustained", Outcome: engine.Go,
						Evidence: map[string]any{"observed": json.Number("0.235"), "threshold": json.Number("0.48"), "coverage": json.Number("0.95")}},
					{Rule: "canary.min_requests", Outcome: engine.Go, Evidence: map[string]any{"observed": 7488, "min_requests": 500}},
					{Rule: "runbook.signed_off", Outcome: engine.Go, Evidence: map[string]any{"observed": "sha256:958c", "expected": "sha256:958c"}},
				}},
			took: 2 * time.Second,
			want: `
# HELP gatekeeper_gate_decisions_total Gate decisions made, by gate and decision (go, no-go, rollback).
# TYPE gatekeeper_gate_decisions_total counter
gatekeeper_gate_decisions_total{decision="go",gate="canary"} 0
gatekeeper_gate_decisions_total{decision="no-go",gate="canary"} 0
gatekeeper_gate_decisions_total{decision="rollback",gate="canary"} 1
# HELP gatekeeper_criterion_observed A criterion's observed value, from its check's evidence, by gate and rule.
# TYPE gatekeeper_criterion_observed gauge
gatekeeper_criterion_observed{gate="canary",rule="canary.error_rate_sustained"} 0.0508
gatekeeper_criterion_observed{gate="canary",rule="canary.latency_p95_sustained"} 0.235
gatekeeper_criterion_observed{gate="canary",rule="canary.min_requests"} 7488
# HELP gatekeeper_criterion_threshold A criterion's threshold, from its check's evidence, by gate and rule.
# TYPE gatekeeper_criterion_threshold gauge
gatekeeper_criterion_threshold{gate="canary",rule="canary.error_rate_sustained"} 0.02
gatekeeper_criterion_threshold{gate="canary",rule="canary.latency_p95_sustained"} 0.48
# HELP gatekeeper_criterion_coverage The share of a criterion's window covered by samples, from its check's evidence, by gate and rule.
# TYPE gatekeeper_criterion_coverage gauge
gatekeeper_criterion_coverage{gate="canary",rule="canary.error_rate_sustained"} 1
gatekeeper_criterion_coverage{gate="canary",rule="canary.latency_p95_sustained"} 0.95
# HELP gatekeeper_last_decision_timestamp_seconds The decision time (the record's now) of the gate's latest decision, in Unix seconds.
# TYPE gatekeeper_last_decision_timestamp_seconds gauge
gatekeeper_last_decision_timestamp_seconds{gate="canary"} 1.79561526e+09
`,
		},
		{
			name: "NaN evidence",
			rec: &engine.Record{Gate: engine.Window, Decision: engine.NoGo, Now: "2026-11-25T14:05:00Z",
				Checks: []engine.Check{
					{Rule: "window.error_rate_sustained", Outcome: engine.NoGo,
						Evidence: map[string]any{"observed": math.NaN(), "threshold": 0.02, "coverage": math.Inf(1)}},
					{Rule: "window.latency_p95_sustained", Outcome: engine.NoGo,
						Evidence: map[string]any{"observed": "NaN", "threshold": json.Number("NaN"), "coverage": 0.0}},
				}},
			took: time.Second,
			want: `
# HELP gatekeeper_gate_decisions_total Gate decisions made, by gate and decision (go, no-go, rollback).
# TYPE gatekeeper_gate_decisions_total counter
gatekeeper_gate_decisions_total{decision="go",gate="window"} 0
gatekeeper_gate_decisions_total{decision="no-go",gate="window"} 1
gatekeeper_gate_decisions_total{decision="rollback",gate="window"} 0
# HELP gatekeeper_criterion_threshold A criterion's threshold, from its check's evidence, by gate and rule.
# TYPE gatekeeper_criterion_threshold gauge
gatekeeper_criterion_threshold{gate="window",rule="window.error_rate_sustained"} 0.02
# HELP gatekeeper_criterion_coverage The share of a criterion's window covered by samples, from its check's evidence, by gate and rule.
# TYPE gatekeeper_criterion_coverage gauge
gatekeeper_criterion_coverage{gate="window",rule="window.latency_p95_sustained"} 0
# HELP gatekeeper_last_decision_timestamp_seconds The decision time (the record's now) of the gate's latest decision, in Unix seconds.
# TYPE gatekeeper_last_decision_timestamp_seconds gauge
gatekeeper_last_decision_timestamp_seconds{gate="window"} 1.7956155e+09
`,
		},
		{
			name: "missing evidence",
			rec: &engine.Record{Gate: engine.Window, Decision: engine.NoGo, Now: "2026-11-25T14:05:00Z",
				Checks: []engine.Check{
					{Rule: "window.error_rate_sustained", Outcome: engine.NoGo, Evidence: nil},
					{Rule: "window.integrity", Outcome: engine.Go, Evidence: map[string]any{"observed": map[string]any{"violations": 0.0}, "threshold": nil}},
				}},
			took: time.Second,
			want: `
# HELP gatekeeper_gate_decisions_total Gate decisions made, by gate and decision (go, no-go, rollback).
# TYPE gatekeeper_gate_decisions_total counter
gatekeeper_gate_decisions_total{decision="go",gate="window"} 0
gatekeeper_gate_decisions_total{decision="no-go",gate="window"} 1
gatekeeper_gate_decisions_total{decision="rollback",gate="window"} 0
# HELP gatekeeper_last_decision_timestamp_seconds The decision time (the record's now) of the gate's latest decision, in Unix seconds.
# TYPE gatekeeper_last_decision_timestamp_seconds gauge
gatekeeper_last_decision_timestamp_seconds{gate="window"} 1.7956155e+09
`,
		},
	}
	names := []string{"gatekeeper_gate_decisions_total", "gatekeeper_criterion_observed", "gatekeeper_criterion_threshold",
		"gatekeeper_criterion_coverage", "gatekeeper_last_decision_timestamp_seconds"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			m.ObserveDecision(tt.rec, tt.took)
			if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(tt.want), names...); err != nil {
				t.Fatal(err)
			}
			h := m.evalDuration.WithLabelValues(string(tt.rec.Gate))
			if got := testutil.CollectAndCount(m.evalDuration); got != 1 {
				t.Fatalf("%d evaluation duration series, want 1", got)
			}
			if sum := histogramSum(t, h); sum != tt.took.Seconds() {
				t.Fatalf("evaluation duration sum %v, want %v", sum, tt.took.Seconds())
			}
			if n, err := testutil.GatherAndCount(m.Registry(), "gatekeeper_evaluation_errors_total"); err != nil || n != 0 {
				t.Fatalf("evaluation errors: %d series (%v), want none after a decision", n, err)
			}
		})
	}
}

// TestObserveDecisionDeletesStaleCriteria: a criterion that had a number at one decision and
// none at the next loses its series (it would otherwise keep showing the old value), while
// the same rule at another gate keeps its own.
func TestObserveDecisionDeletesStaleCriteria(t *testing.T) {
	m := New()
	ev := map[string]any{"observed": 0.01, "threshold": 0.02, "coverage": 1.0}
	m.ObserveDecision(&engine.Record{Gate: engine.Canary, Decision: engine.Go, Now: "2026-11-25T13:40:00Z",
		Checks: []engine.Check{{Rule: "shared.error_rate", Evidence: ev}}}, time.Second)
	m.ObserveDecision(&engine.Record{Gate: engine.Window, Decision: engine.Go, Now: "2026-11-25T13:41:00Z",
		Checks: []engine.Check{{Rule: "shared.error_rate", Evidence: ev}}}, time.Second)
	m.ObserveDecision(&engine.Record{Gate: engine.Window, Decision: engine.NoGo, Now: "2026-11-25T13:42:00Z",
		Checks: []engine.Check{{Rule: "shared.error_rate", Evidence: map[string]any{"observed": nil, "threshold": 0.02, "coverage": 0.4}}}}, time.Second)
	want := `
# HELP gatekeeper_criterion_observed A criterion's observed value, from its check's evidence, by gate and rule.
# TYPE gatekeeper_criterion_observed gauge
gatekeeper_criterion_observed{gate="canary",rule="shared.error_rate"} 0.01
# HELP gatekeeper_criterion_coverage The share of a criterion's window covered by samples, from its check's evidence, by gate and rule.
# TYPE gatekeeper_criterion_coverage gauge
gatekeeper_criterion_coverage{gate="canary",rule="shared.error_rate"} 1
gatekeeper_criterion_coverage{gate="window",rule="shared.error_rate"} 0.4
# HELP gatekeeper_gate_decisions_total Gate decisions made, by gate and decision (go, no-go, rollback).
# TYPE gatekeeper_gate_decisions_total counter
gatekeeper_gate_decisions_total{decision="go",gate="canary"} 1
gatekeeper_gate_decisions_total{decision="no-go",gate="canary"} 0
gatekeeper_gate_decisions_total{decision="rollback",gate="canary"} 0
gatekeeper_gate_decisions_total{decision="go",gate="window"} 1
gatekeeper_gate_decisions_total{decision="no-go",gate="window"} 1
gatekeeper_gate_decisions_total{decision="rollback",gate="window"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"gatekeeper_criterion_observed", "gatekeeper_criterion_coverage", "gatekeeper_gate_decisions_total"); err != nil {
		t.Fatal(err)
	}
}

// TestObserveGoldenRecord feeds a decision record exactly as evaluate writes it (decoded from
// JSON) and checks the criteria of the sustained-errors canary rollback.
func TestObserveGoldenRecord(t *testing.T) {
	b, err := os.ReadFile("../testdata/golden/sustained-errors__canary-25.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec engine.Record
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	m := New()
	m.ObserveDecision(&rec, time.Second)
	tests := []struct {
		name, rule string
		gauge      int // index into m.criteria
		want       float64
	}{
		{name: "error rate observed", rule: "canary.error_rate_sustained", gauge: 0, want: 0.0508},
		{name: "error rate threshold", rule: "canary.error_rate_sustained", gauge: 1, want: 0.02},
		{name: "error rate coverage", rule: "canary.error_rate_sustained", gauge: 2, want: 1},
		{name: "latency threshold", rule: "canary.latency_p95_sustained", gauge: 1, want: 0.48},
		{name: "request count", rule: "canary.min_requests", gauge: 0, want: 7488},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testutil.ToFloat64(m.criteria[tt.gauge].vec.WithLabelValues("canary", tt.rule)); got != tt.want {
				t.Fatalf("%s %s = %v, want %v", m.criteria[tt.gauge].key, tt.rule, got, tt.want)
			}
		})
	}
	if got := testutil.ToFloat64(m.decisions.WithLabelValues("canary", "rollback")); got != 1 {
		t.Fatalf("rollback decisions %v, want 1", got)
	}
	// Only numeric evidence makes series: the signed-off digest (a string) and the step plan
	// (an object) must not.
	if n := testutil.CollectAndCount(m.criteria[0].vec); n != 3 {
		t.Fatalf("%d observed series, want 3 (error rate, latency, requests)", n)
	}
}

func TestObserveFacts(t *testing.T) {
	tests := []struct {
		name       string
		facts      map[string]engine.Fact
		wantCount  map[string]int     // source -> observations
		wantSum    map[string]float64 // source -> seconds
		wantErrors map[string]float64
	}{
		{
			name: "durations and errors by source",
			facts: map[string]engine.Fact{
				"error_rate": {Source: "prometheus", Duration: 40 * time.Millisecond},
				"latency":    {Source: "prometheus", Duration: 60 * time.Millisecond, Err: "query: timeout"},
				"health":     {Source: "http", Duration: 5 * time.Millisecond},
			},
			wantCount:  map[string]int{"prometheus": 2, "http": 1},
			wantSum:    map[string]float64{"prometheus": 0.1, "http": 0.005},
			wantErrors: map[string]float64{"prometheus": 1, "http": 0},
		},
		{
			name: "archived facts were not collected here",
			facts: map[string]engine.Fact{
				"integrity_baseline": {Source: "archive", Duration: time.Second, Err: "old"},
				"health":             {Source: "http", Duration: 5 * time.Millisecond},
			},
			wantCount:  map[string]int{"http": 1},
			wantSum:    map[string]float64{"http": 0.005},
			wantErrors: map[string]float64{"http": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			m.ObserveFacts(tt.facts)
			checkFacts(t, m, tt.wantCount, tt.wantSum, tt.wantErrors)
		})
	}
}

// TestObserveInputFacts reads the provenance of a recorded policy input (the form evaluate
// has on both its live and --facts paths).
func TestObserveInputFacts(t *testing.T) {
	ff, err := engine.LoadFacts("../testdata/example/scenarios/no-prometheus__window.json")
	if err != nil {
		t.Fatal(err)
	}
	m := New()
	m.ObserveInputFacts(ff.Facts)
	var wantErrs, promFacts int
	count := map[string]int{}
	sum := map[string]float64{}
	for _, v := range ff.Facts {
		f := v.(map[string]any)
		src := f["source"].(string)
		if src == "archive" {
			continue
		}
		count[src]++
		sum[src] += f["duration_ms"].(float64) / 1000
		if src == "prometheus" {
			promFacts++
			if f["error"] != nil {
				wantErrs++
			}
		}
	}
	if promFacts == 0 || wantErrs == 0 {
		t.Fatalf("scenario has %d prometheus facts, %d with an error; the test needs failed ones", promFacts, wantErrs)
	}
	if got := testutil.ToFloat64(m.collectorErrors.WithLabelValues("prometheus")); got != float64(wantErrs) {
		t.Fatalf("prometheus collector errors %v, want %d", got, wantErrs)
	}
	errs := map[string]float64{"prometheus": float64(wantErrs)}
	checkFacts(t, m, count, sum, errs)
}

func checkFacts(t *testing.T, m *Metrics, wantCount map[string]int, wantSum, wantErrors map[string]float64) {
	t.Helper()
	if n := testutil.CollectAndCount(m.collectDuration); n != len(wantCount) {
		t.Fatalf("%d collection duration series, want %d", n, len(wantCount))
	}
	for src, n := range wantCount {
		h := m.collectDuration.WithLabelValues(src)
		if got := histogramCount(t, h); got != uint64(n) {
			t.Errorf("%s: %d observations, want %d", src, got, n)
		}
		if got := histogramSum(t, h); math.Abs(got-wantSum[src]) > 1e-9 {
			t.Errorf("%s: duration sum %v, want %v", src, got, wantSum[src])
		}
	}
	for src, want := range wantErrors {
		if got := testutil.ToFloat64(m.collectorErrors.WithLabelValues(src)); got != want {
			t.Errorf("%s: %v collector errors, want %v", src, got, want)
		}
	}
}

func TestObserveErrorAndLabels(t *testing.T) {
	m := New()
	m.ObserveError("canary")
	m.ObserveError("no-such-gate")
	m.ObserveError("another typo")
	m.ObserveDecision(&engine.Record{Gate: "bogus", Decision: "maybe", Now: "not a time"}, 0)
	want := `
# HELP gatekeeper_evaluation_errors_total Evaluations that could not decide (bad runbook, bad facts, engine error), by gate.
# TYPE gatekeeper_evaluation_errors_total counter
gatekeeper_evaluation_errors_total{gate="canary"} 1
gatekeeper_evaluation_errors_total{gate="unknown"} 2
# HELP gatekeeper_gate_decisions_total Gate decisions made, by gate and decision (go, no-go, rollback).
# TYPE gatekeeper_gate_decisions_total counter
gatekeeper_gate_decisions_total{decision="go",gate="unknown"} 0
gatekeeper_gate_decisions_total{decision="no-go",gate="unknown"} 0
gatekeeper_gate_decisions_total{decision="rollback",gate="unknown"} 0
gatekeeper_gate_decisions_total{decision="unknown",gate="unknown"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"gatekeeper_evaluation_errors_total", "gatekeeper_gate_decisions_total"); err != nil {
		t.Fatal(err)
	}
	// An unparsable now falls back to the wall clock rather than to 1970.
	if ts := testutil.ToFloat64(m.lastDecision.WithLabelValues("unknown")); time.Since(time.Unix(int64(ts), 0)) > time.Minute {
		t.Fatalf("last decision timestamp %v, want about now", ts)
	}
	m.ObserveDecision(nil, time.Second) // must not panic
}

func TestSetWindowRemaining(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want float64
	}{
		{name: "time left", d: 90 * time.Second, want: 90},
		{name: "past the end", d: -5 * time.Second, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			m.SetWindowRemaining(tt.d)
			if got := testutil.ToFloat64(m.windowRemaining); got != tt.want {
				t.Fatalf("window remaining %v, want %v", got, tt.want)
			}
		})
	}
}

// TestLint runs client_golang's promlint over every metric with series: names, units, help.
func TestLint(t *testing.T) {
	m := New()
	m.ObserveDecision(&engine.Record{Gate: engine.Window, Decision: engine.Go, Now: "2026-11-25T14:05:00Z",
		Checks: []engine.Check{{Rule: "window.error_rate_sustained", Evidence: map[string]any{"observed": 0.1, "threshold": 0.2, "coverage": 1.0}}}}, time.Second)
	m.ObserveError("window")
	m.ObserveFacts(map[string]engine.Fact{"x": {Source: "http", Duration: time.Millisecond}})
	m.SetWindowRemaining(time.Minute)
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	// 3 decision values, 1 each of the other eight families (histograms count once).
	if n, err := testutil.GatherAndCount(m.Registry()); err != nil || n != 12 {
		t.Fatalf("%d series gathered (%v), want 12: a family was not linted", n, err)
	}
}
