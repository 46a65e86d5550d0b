package promtest

import (
	"math"
	"time"
)

// Now is the fixed time the launch scenarios are generated against: the example launch's
// window gate (testdata/example), cutover at 13:20.
var Now = time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC)

// Scrape timing of the generated history.
const (
	// ScrapeInterval is the interval between generated samples.
	ScrapeInterval = 15 * time.Second
	// ScrapeOffset puts samples 7s past the 15s grid, so no sample sits exactly on a query's
	// evaluation time or range boundary.
	ScrapeOffset = 7 * time.Second
	// HistoryLength is how far before now the history starts.
	HistoryLength = 70 * time.Minute
)

// Cohort labels of the generated history.
const (
	// CohortLabel is the label telling cohorts apart; a scenario's new cohort has the scenario's
	// name as its value.
	CohortLabel = "track"
	// StableValue is the old cohort's label value, shared by every scenario.
	StableValue = "stable"
)

// Scenario is one launch situation, as seen in the new cohort's metrics.
type Scenario struct {
	Name        string // also the new cohort's label value
	Description string
	Traffic     Traffic
}

// Traffic levels of the scenarios.
const (
	// HealthyRPS is a healthy cohort's requests per second.
	HealthyRPS = 100.0
	// HealthyErrorRatio is a healthy cohort's share of 5xx answers.
	HealthyErrorRatio = 0.005
	// HealthyLatency puts every request in bucket (0.1, 0.25]: a p95 of 0.2425s.
	HealthyLatency = 0.25
	// SlowLatency puts every request in bucket (0.5, 1]: a p95 of 0.975s.
	SlowLatency = 1.0
	// LowRPS is the low-traffic scenario's rate: 300 requests in 5 minutes.
	LowRPS = 1.0
)

func constant(v float64) func(time.Time) float64 { return func(time.Time) float64 { return v } }

// Scenarios are the launch scenarios of the issue, relative to now: healthy, short spike,
// sustained errors, latency regression, a gap in the data, zero traffic, low canary traffic,
// a counter reset (new pods and a restart), jitter around the threshold, flapping.
func Scenarios(now time.Time) []Scenario {
	at := func(d time.Duration) time.Time { return now.Add(d) }
	healthy := func() Traffic {
		return Traffic{RPS: constant(HealthyRPS), ErrorRatio: constant(HealthyErrorRatio), Latency: constant(HealthyLatency)}
	}
	between := func(from, to time.Duration, in, out float64) func(time.Time) float64 {
		return func(t time.Time) float64 {
			if !t.Before(at(from)) && t.Before(at(to)) {
				return in
			}
			return out
		}
	}
	spike := healthy()
	spike.ErrorRatio = between(-4*time.Minute, -3*time.Minute-15*time.Second, 0.2, HealthyErrorRatio)
	sustained := healthy()
	sustained.ErrorRatio = between(-15*time.Minute, time.Hour, 0.07, HealthyErrorRatio)
	slow := healthy()
	slow.Latency = between(-15*time.Minute, time.Hour, SlowLatency, HealthyLatency)
	gap := healthy()
	gap.Gaps = [][2]time.Time{{at(-5 * time.Minute), at(-90 * time.Second)}}
	zero := healthy()
	zero.RPS = constant(0)
	low := healthy()
	low.RPS = constant(LowRPS)
	reset := healthy()
	reset.Pods = func(t time.Time) []string {
		if t.Before(at(-3*time.Minute - 30*time.Second)) {
			return []string{"web-0", "web-1"}
		}
		return []string{"web-0", "web-2"}
	}
	reset.Restarts = map[string]time.Time{"web-0": at(-3 * time.Minute)}
	jitter := healthy()
	jitter.ErrorRatio = func(t time.Time) float64 {
		return 0.02 + 0.003*math.Sin(2*math.Pi*t.Sub(now).Seconds()/360)
	}
	flap := healthy()
	flap.ErrorRatio = func(t time.Time) float64 {
		if int(math.Floor(t.Sub(now).Seconds()/180))%2 == 0 {
			return 0.1
		}
		return 0
	}
	clean := healthy()
	clean.ErrorRatio, clean.NoErrorSeries = constant(0), true
	return []Scenario{
		{"healthy", "100 req/s, 0.5% errors, p95 0.2425s", healthy()},
		{"never-failed", "healthy with no 5xx ever: the 5xx series does not exist", clean},
		{"short-spike", "20% errors for 45s, 4 minutes ago; healthy otherwise", spike},
		{"sustained-errors", "7% errors for the last 15 minutes", sustained},
		{"latency-regression", "p95 0.975s for the last 15 minutes", slow},
		{"gap", "healthy, but nothing scraped from now-5m to now-90s", gap},
		{"zero-traffic", "the counters exist but never move", zero},
		{"low-traffic", "1 req/s: about 300 requests in 5 minutes", low},
		{"counter-reset", "pod web-1 replaced by a new pod web-2 at now-3m30s, web-0 restarted at now-3m", reset},
		{"jitter", "error ratio 2% ± 0.3% (6 minute period)", jitter},
		{"flapping", "error ratio alternating 10% and 0% every 3 minutes", flap},
	}
}

// LaunchHistory is the history of every scenario plus a healthy old cohort (track="stable",
// 300 req/s, 0.1% errors) and blackbox probes: payments down since now-3m (after cutover),
// search down from now-65m to now-40m (began before the 13:20 cutover, recovered).
func LaunchHistory(now time.Time, scenarios []Scenario) *History {
	h := NewHistory()
	from := now.Add(-HistoryLength)
	for _, s := range scenarios {
		h.Cohort(CohortLabel, s.Name, s.Traffic, from, now, ScrapeInterval, ScrapeOffset)
	}
	h.Cohort(CohortLabel, StableValue, Traffic{RPS: constant(300), ErrorRatio: constant(0.001), Latency: constant(0.1),
		Pods: func(time.Time) []string { return []string{"web-stable-0", "web-stable-1", "web-stable-2"} }},
		from, now, ScrapeInterval, ScrapeOffset)
	up := func(downFrom, downTo time.Time) func(time.Time) float64 {
		return func(t time.Time) float64 {
			if !t.Before(downFrom) && t.Before(downTo) {
				return 0
			}
			return 1
		}
	}
	h.Gauge("probe_success", map[string]string{"job": "blackbox", "target": "payments"}, up(now.Add(-3*time.Minute), now.Add(time.Hour)), from, now, ScrapeInterval, ScrapeOffset)
	h.Gauge("probe_success", map[string]string{"job": "blackbox", "target": "search"}, up(now.Add(-65*time.Minute), now.Add(-40*time.Minute)), from, now, ScrapeInterval, ScrapeOffset)
	return h
}
