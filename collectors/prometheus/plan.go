package prometheus

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// QueryVars are the placeholders of criteria.error_rate.query and criteria.latency_p95.query,
// written as Go templates: {{.Selector}}, {{.Rate}}, …. Selector carries no braces, so it sits
// among other matchers: `http_requests_total{code=~"5..",{{.Selector}}}` or, alone,
// `http_requests_total{ {{.Selector}} }` (a space keeps `{{{` from opening the action).
type QueryVars struct {
	Selector string // the cohort matcher, e.g. track="canary"
	Label    string // the runbook's cohort_label, e.g. track
	Value    string // the cohort's label_value, e.g. canary
	Rate     string // the rate window, sustained/2 in whole seconds, e.g. 2m30s
	Range    string // the increase range of request_count and traffic, e.g. 5m; empty elsewhere
}

// DefaultErrorRateQuery is the error ratio (5xx over all requests) of the cohort for the common
// http_requests_total{code} instrumentation. A service that has never answered 5xx has no such
// series (client_golang creates a code's series at its first use), so the missing numerator is
// 0, not "no data"; zero traffic still gives NaN (0/0), kept as such.
const DefaultErrorRateQuery = `(sum(rate(http_requests_total{code=~"5..",{{.Selector}}}[{{.Rate}}])) or vector(0)) / sum(rate(http_requests_total{ {{.Selector}} }[{{.Rate}}]))`

// DefaultLatencyP95Query is the cohort's p95 latency in seconds from the common
// http_request_duration_seconds histogram. Zero traffic gives NaN.
const DefaultLatencyP95Query = `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{ {{.Selector}} }[{{.Rate}}])))`

// DefaultRequestCountQuery is the number of requests the cohort served over {{.Range}}; it
// gives request_count and traffic.
const DefaultRequestCountQuery = `sum(increase(http_requests_total{ {{.Selector}} }[{{.Range}}]))`

// availabilityLead is how long before the cutover the availability series start, so the
// policy sees whether an outage began before the cutover.
const availabilityLead = 15 * time.Minute

// maxPoints is Prometheus' limit of points per series in a range query.
const maxPoints = 11000

var labelNameRe = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

type jobKind int

const (
	rangeJob jobKind = iota
	instantJob
)

// job is one query the gate needs.
type job struct {
	fact  string // the fact it feeds
	item  string // the integration, for integration_availability
	kind  jobKind
	query string
	start time.Time // range start
	end   time.Time // range end, or the instant's time
	step  time.Duration
	skip  string // non-empty: not run, for this reason (the window is empty)
	err   error  // the query could not be built
}

// plan is everything a gate asks of Prometheus, computed before any request is made.
type plan struct {
	env         engine.EnvSpec
	url         string
	runbookPath string
	jobs        []job
	meta        map[string]map[string]any // per fact: the data fields known before asking
}

// window is the sustained window of DESIGN.md.
type window struct {
	start, end time.Time
	step, rate time.Duration
	sustained  time.Duration
}

// sustainedWindow computes the window of the series facts; see the package documentation. The
// window is filled as far as possible even when an error is returned, for provenance.
func sustainedWindow(gate engine.Gate, now, stepStarted time.Time, c engine.CriteriaSpec) (window, error) {
	w := window{step: c.Step, sustained: c.ErrorRate.Sustained}
	w.end = now.Add(-c.ScrapeLag)
	w.start = w.end.Add(-w.sustained)
	w.rate = (w.sustained / 2).Truncate(time.Second)
	if gate == engine.Canary && !stepStarted.IsZero() {
		if s := ceilMilli(stepStarted.UTC()); s.After(w.start) {
			w.start = s
		}
	}
	switch {
	case w.sustained <= 0:
		return w, fmt.Errorf("criteria.error_rate.sustained must be a positive duration, got %s", w.sustained)
	case w.step <= 0:
		return w, fmt.Errorf("criteria.step must be a positive duration, got %s", w.step)
	case c.ScrapeLag < 0:
		return w, fmt.Errorf("criteria.scrape_lag must not be negative, got %s", c.ScrapeLag)
	case w.rate < 2*w.step:
		return w, fmt.Errorf("the rate window (criteria.error_rate.sustained %s / 2 = %s) is shorter than 2 × criteria.step (%s): shorten the step or lengthen the sustained duration",
			fmtDuration(w.sustained), fmtDuration(w.rate), fmtDuration(w.step))
	case gate == engine.Canary && stepStarted.IsZero():
		return w, errors.New("the canary gate needs the time the step started (step_started_at): without it the window could hold another step's data")
	}
	return w, nil
}

// ceilMilli rounds t up to the millisecond, Prometheus' resolution, so a clipped window never
// starts before the step did.
func ceilMilli(t time.Time) time.Time {
	if r := t.Truncate(time.Millisecond); !r.Equal(t) {
		return r.Add(time.Millisecond)
	}
	return t
}

// buildPlan computes the queries and windows of the request's gate. It always returns a plan,
// filled as far as it got, so failed facts still say what would have been asked.
func buildPlan(req engine.Request) (*plan, error) {
	p := &plan{meta: map[string]map[string]any{}}
	if req.Runbook == nil {
		return p, errors.New("the request carries no runbook")
	}
	p.runbookPath = req.Runbook.Path
	env, ok := req.Runbook.Env(req.Environment)
	if !ok {
		return p, fmt.Errorf("the runbook has no environment %q", req.Environment)
	}
	p.env, p.url = env, env.Prometheus.URL
	c := req.Runbook.Spec.Criteria
	w, werr := sustainedWindow(req.Gate, evalNow(req), req.StepStarted, c)

	label := env.CohortLabel
	vars := func(value string) QueryVars {
		return QueryVars{Selector: label + "=" + strconv.Quote(value), Label: label, Value: value, Rate: fmtDuration(w.rate)}
	}
	newVars, oldVars := vars(env.Cohorts.New.LabelValue), vars(env.Cohorts.Old.LabelValue)

	series := func(fact, field, tmpl, def string) {
		q, err := render(field, tmpl, def, newVars)
		j := job{fact: fact, kind: rangeJob, query: q, start: w.start, end: w.end, step: w.step, err: err}
		if w.start.After(w.end) {
			j.skip = "the step started after now − scrape_lag: no data in the window yet"
		}
		p.jobs = append(p.jobs, j)
		p.meta[fact] = map[string]any{"start": fmtTime(w.start), "end": fmtTime(w.end), "step": fmtDuration(w.step), "rate_window": fmtDuration(w.rate)}
	}
	count := func(fact string, from time.Time) {
		v := newVars
		r := w.end.Sub(from).Truncate(time.Millisecond)
		v.Range = fmtDuration(r)
		q, err := render("", "", DefaultRequestCountQuery, v)
		j := job{fact: fact, kind: instantJob, query: q, end: w.end, err: err}
		if r <= 0 {
			j.skip = "the range since the step start or cutover is empty"
		}
		p.jobs = append(p.jobs, j)
		p.meta[fact] = map[string]any{"at": fmtTime(w.end), "range": v.Range}
	}

	switch req.Gate {
	case engine.PreCutover:
		q, err := render("criteria.error_rate.query", c.ErrorRate.Query, DefaultErrorRateQuery, oldVars)
		p.jobs = append(p.jobs, job{fact: FactProductionErrorRate, kind: instantJob, query: q, end: w.end, err: err})
		p.meta[FactProductionErrorRate] = map[string]any{"at": fmtTime(w.end), "rate_window": fmtDuration(w.rate)}
	case engine.PostSmoke:
		from := w.end.Add(-w.sustained)
		if !req.CutoverAt.IsZero() && req.CutoverAt.After(from) {
			from = ceilMilli(req.CutoverAt.UTC())
		}
		count(FactTraffic, from)
	case engine.Canary:
		series(FactErrorRate, "criteria.error_rate.query", c.ErrorRate.Query, DefaultErrorRateQuery)
		series(FactLatencyP95, "criteria.latency_p95.query", c.LatencyP95.Query, DefaultLatencyP95Query)
		count(FactRequestCount, w.start)
	case engine.Window:
		series(FactErrorRate, "criteria.error_rate.query", c.ErrorRate.Query, DefaultErrorRateQuery)
		series(FactLatencyP95, "criteria.latency_p95.query", c.LatencyP95.Query, DefaultLatencyP95Query)
	}
	if req.Gate == engine.PostSmoke || req.Gate == engine.Canary || req.Gate == engine.Window {
		start := w.start
		if !req.CutoverAt.IsZero() {
			if s := req.CutoverAt.UTC().Add(-availabilityLead); s.Before(start) {
				start = ceilMilli(s)
			}
		}
		step := w.step
		if span := w.end.Sub(start); step > 0 && span/step+1 > maxPoints {
			step = (span / (maxPoints - 1)).Truncate(time.Second) + time.Second
		}
		for _, in := range env.Integrations {
			if strings.TrimSpace(in.AvailabilityQuery) == "" {
				continue
			}
			j := job{fact: FactIntegrationAvailability, item: in.Name, kind: rangeJob, query: in.AvailabilityQuery, start: start, end: w.end, step: step}
			if start.After(w.end) {
				j.skip = "empty window"
			}
			p.jobs = append(p.jobs, j)
		}
		p.meta[FactIntegrationAvailability] = map[string]any{"start": fmtTime(start), "end": fmtTime(w.end), "step": fmtDuration(step)}
	}

	switch {
	case werr != nil:
		return p, werr
	case p.url == "":
		return p, fmt.Errorf("environments.%s.prometheus.url is empty", req.Environment)
	case !labelNameRe.MatchString(label):
		return p, fmt.Errorf("environments.%s.cohort_label %q is not a Prometheus label name", req.Environment, label)
	}
	return p, nil
}

// render executes a runbook query template (or def when the runbook gives none).
func render(field, tmpl, def string, v QueryVars) (string, error) {
	src := tmpl
	if strings.TrimSpace(src) == "" {
		src, field = def, "default query"
	}
	t, err := template.New(field).Option("missingkey=error").Parse(src)
	if err != nil {
		return src, fmt.Errorf("%s: %w", field, err)
	}
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		return src, fmt.Errorf("%s: %w", field, err)
	}
	q := strings.TrimSpace(b.String())
	if q == "" {
		return src, fmt.Errorf("%s renders to an empty query", field)
	}
	return q, nil
}

// fmtDuration formats d so that both Go (and so Rego's time.parse_duration_ns and the schema)
// and PromQL read it: hours, minutes, seconds and milliseconds, e.g. "2m30s", "15s", "1h".
func fmtDuration(d time.Duration) string {
	ms := d.Milliseconds()
	if ms <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		ms   int64
		name string
	}{{3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}} {
		if n := ms / u.ms; n > 0 {
			b.WriteString(strconv.FormatInt(n, 10) + u.name)
			ms -= n * u.ms
		}
	}
	return b.String()
}

// fmtTime formats t as RFC 3339 in UTC, with fractional seconds only when it has them.
func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
