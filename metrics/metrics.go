// Package metrics is gatekeeper's own Prometheus instrumentation: how many decisions of each
// kind each gate made, how long deciding and collecting took, which sources failed, the time
// left in the monitoring window, and each criterion's observed value, threshold and coverage.
// Long-running commands (watch, launch, serve) expose it for scraping; a CI evaluate pushes it
// to a Pushgateway once its decision is made.
//
// Labels are limited to gate, rule, source and decision so the number of series stays bounded
// by the policies and collectors gatekeeper ships, whatever a launch observes.
package metrics

import (
	"encoding/json"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Namespace prefixes every metric name.
const Namespace = "gatekeeper"

// unknownLabel stands in for a gate or decision value outside the fixed set, so a typo on
// the command line cannot create a new series.
const unknownLabel = "unknown"

// durationBuckets span a cached decision (milliseconds) to a slow collection near its deadline.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Metrics is one process's gatekeeper metrics on its own registry (never the global one), so
// tests and in-process commands never see each other's values.
type Metrics struct {
	reg *prometheus.Registry

	decisions       *prometheus.CounterVec
	evalErrors      *prometheus.CounterVec
	evalDuration    *prometheus.HistogramVec
	lastDecision    *prometheus.GaugeVec
	collectDuration *prometheus.HistogramVec
	collectorErrors *prometheus.CounterVec
	windowRemaining prometheus.Gauge
	criteria        [3]criterionGauge

	mu sync.Mutex // serialises ObserveDecision's bookkeeping of which criterion series exist
}

// criterionGauge is one per-criterion gauge and the rules it currently has a series for, per
// gate, so a rule whose evidence lost its number has its series deleted rather than left stale.
type criterionGauge struct {
	key   string // evidence key read
	vec   *prometheus.GaugeVec
	rules map[string]map[string]bool // gate -> rule -> series present
}

// New returns metrics registered on a fresh registry.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "gate_decisions_total",
		Help: "Gate decisions made, by gate and decision (go, no-go, rollback).",
	}, []string{"gate", "decision"})
	m.evalErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "evaluation_errors_total",
		Help: "Evaluations that could not decide (bad runbook, bad facts, engine error), by gate.",
	}, []string{"gate"})
	m.evalDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "evaluation_duration_seconds",
		Help:    "Time from the start of an evaluation to its decision, collection included, by gate.",
		Buckets: durationBuckets,
	}, []string{"gate"})
	m.lastDecision = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "last_decision_timestamp_seconds",
		Help: "The decision time (the record's now) of the gate's latest decision, in Unix seconds.",
	}, []string{"gate"})
	m.collectDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "collection_duration_seconds",
		Help:    "Time taken to collect one fact, from its provenance, by source.",
		Buckets: durationBuckets,
	}, []string{"source"})
	m.collectorErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "collector_errors_total",
		Help: "Facts whose collection failed (the fact carries the error), by source.",
	}, []string{"source"})
	m.windowRemaining = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "window_remaining_seconds",
		Help: "Time left in the monitoring window or canary bake being watched.",
	})
	for i, c := range []struct{ key, help string }{
		{"observed", "A criterion's observed value, from its check's evidence, by gate and rule."},
		{"threshold", "A criterion's threshold, from its check's evidence, by gate and rule."},
		{"coverage", "The share of a criterion's window covered by samples, from its check's evidence, by gate and rule."},
	} {
		m.criteria[i] = criterionGauge{
			key: c.key,
			vec: prometheus.NewGaugeVec(prometheus.GaugeOpts{
				Namespace: Namespace, Name: "criterion_" + c.key, Help: c.help,
			}, []string{"gate", "rule"}),
			rules: map[string]map[string]bool{},
		}
		m.reg.MustRegister(m.criteria[i].vec)
	}
	m.reg.MustRegister(m.decisions, m.evalErrors, m.evalDuration, m.lastDecision,
		m.collectDuration, m.collectorErrors, m.windowRemaining)
	return m
}

// Registry returns the registry holding every gatekeeper metric.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveDecision records a decided gate: the decision count, how long it took, when it was
// decided, and each criterion's numbers from its check's evidence. A criterion whose evidence
// has no finite number for a key (missing, NaN, a string) loses that series instead of
// showing 0, which would read as a real observation of zero.
func (m *Metrics) ObserveDecision(rec *engine.Record, took time.Duration) {
	if rec == nil {
		return
	}
	gate := gateLabel(string(rec.Gate))
	// Every decision value starts at 0 for a gate once it is seen, so increase() and alerts
	// on the first rollback work from the first sample.
	for _, d := range []engine.Outcome{engine.Go, engine.NoGo, engine.Rollback} {
		m.decisions.WithLabelValues(gate, string(d))
	}
	m.decisions.WithLabelValues(gate, decisionLabel(rec.Decision)).Inc()
	m.evalDuration.WithLabelValues(gate).Observe(took.Seconds())
	at, err := time.Parse(time.RFC3339Nano, rec.Now)
	if err != nil {
		at = time.Now()
	}
	m.lastDecision.WithLabelValues(gate).Set(float64(at.UnixNano()) / 1e9)

	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.criteria {
		m.criteria[i].set(gate, rec.Checks)
	}
}

// set replaces the gate's series with the numbers the checks carry under c.key. Series are
// set before stale ones are deleted, so a concurrent scrape never sees a criterion vanish
// between two decisions that both observed it.
func (c *criterionGauge) set(gate string, checks []engine.Check) {
	now := map[string]bool{}
	for _, ch := range checks {
		if v, ok := number(ch.Evidence[c.key]); ok {
			c.vec.WithLabelValues(gate, ch.Rule).Set(v)
			now[ch.Rule] = true
		}
	}
	for rule := range c.rules[gate] {
		if !now[rule] {
			c.vec.DeleteLabelValues(gate, rule)
		}
	}
	c.rules[gate] = now
}

// ObserveError counts an evaluation of gate that could not decide.
func (m *Metrics) ObserveError(gate string) {
	m.evalErrors.WithLabelValues(gateLabel(gate)).Inc()
}

// ObserveFacts records a collection: each fact's duration from its provenance and, for facts
// carrying an error, a collector error for its source. Facts read back from the launch archive
// (source "archive") were not collected by this process and are left out.
func (m *Metrics) ObserveFacts(facts map[string]engine.Fact) {
	names := make([]string, 0, len(facts))
	for name := range facts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f := facts[name]
		if f.Source == "archive" {
			continue
		}
		src := f.Source
		if src == "" {
			src = unknownLabel
		}
		m.collectDuration.WithLabelValues(src).Observe(f.Duration.Seconds())
		errs := m.collectorErrors.WithLabelValues(src)
		if f.Err != "" {
			errs.Inc()
		}
	}
}

// ObserveInputFacts is ObserveFacts for the facts of a policy input (engine.Input.Facts),
// where each fact's provenance is flattened beside its data: source, duration_ms, error.
func (m *Metrics) ObserveInputFacts(facts map[string]any) {
	out := make(map[string]engine.Fact, len(facts))
	for name, v := range facts {
		raw, ok := v.(map[string]any)
		if !ok {
			continue
		}
		var f engine.Fact
		f.Source, _ = raw["source"].(string)
		f.Err, _ = raw["error"].(string)
		if ms, ok := number(raw["duration_ms"]); ok && ms >= 0 {
			f.Duration = time.Duration(ms * float64(time.Millisecond))
		}
		out[name] = f
	}
	m.ObserveFacts(out)
}

// SetWindowRemaining sets the time left in the window being watched; past its end it is 0.
func (m *Metrics) SetWindowRemaining(d time.Duration) {
	m.windowRemaining.Set(max(d, 0).Seconds())
}

// number reads a finite number from decoded evidence: JSON numbers arrive as float64 or
// json.Number depending on the decoder, Go-built evidence as any integer type.
func number(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int32:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint:
		f = float64(x)
	case uint32:
		f = float64(x)
	case uint64:
		f = float64(x)
	case json.Number:
		p, err := x.Float64()
		if err != nil {
			return 0, false
		}
		f = p
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func gateLabel(s string) string {
	if g, err := engine.ParseGate(s); err == nil {
		return string(g)
	}
	return unknownLabel
}

func decisionLabel(o engine.Outcome) string {
	switch o {
	case engine.Go, engine.NoGo, engine.Rollback:
		return string(o)
	}
	return unknownLabel
}
