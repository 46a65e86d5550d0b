package prometheus

import (
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func TestSustainedWindow(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	example := engine.CriteriaSpec{Step: 15 * time.Second, ScrapeLag: 30 * time.Second, ErrorRate: engine.ErrorRateCriterion{Sustained: 5 * time.Minute}}
	with := func(f func(*engine.CriteriaSpec)) engine.CriteriaSpec {
		c := example
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name        string
		gate        engine.Gate
		now         time.Time
		stepStarted time.Time
		criteria    engine.CriteriaSpec
		start, end  string
		rate        time.Duration
		err         string
	}{
		{name: "window: end is now minus the scrape lag, start the sustained duration before",
			gate: engine.Window, now: now, criteria: example,
			start: "2026-11-25T13:59:30Z", end: "2026-11-25T14:04:30Z", rate: 150 * time.Second},
		{name: "window ignores the step start",
			gate: engine.Window, now: now, stepStarted: at("2026-11-25T14:02:00Z"), criteria: example,
			start: "2026-11-25T13:59:30Z", end: "2026-11-25T14:04:30Z", rate: 150 * time.Second},
		{name: "canary: the step started before the window, no clipping",
			gate: engine.Canary, now: now, stepStarted: cutover, criteria: example,
			start: "2026-11-25T13:59:30Z", end: "2026-11-25T14:04:30Z", rate: 150 * time.Second},
		{name: "canary: clipped to the step start",
			gate: engine.Canary, now: now, stepStarted: at("2026-11-25T14:01:00Z"), criteria: example,
			start: "2026-11-25T14:01:00Z", end: "2026-11-25T14:04:30Z", rate: 150 * time.Second},
		{name: "canary: a step start between milliseconds rounds up, never before the shift",
			gate: engine.Canary, now: now, stepStarted: at("2026-11-25T14:01:00.0004Z"), criteria: example,
			start: "2026-11-25T14:01:00.001Z", end: "2026-11-25T14:04:30Z", rate: 150 * time.Second},
		{name: "canary: step started within the scrape lag leaves start after end",
			gate: engine.Canary, now: now, stepStarted: at("2026-11-25T14:04:50Z"), criteria: example,
			start: "2026-11-25T14:04:50Z", end: "2026-11-25T14:04:30Z", rate: 150 * time.Second},
		{name: "now with fractions is truncated to the second, like the policy input's now",
			gate: engine.Window, now: at("2026-11-25T14:05:00.987654321Z"), criteria: example,
			start: "2026-11-25T13:59:30Z", end: "2026-11-25T14:04:30Z", rate: 150 * time.Second},
		{name: "odd sustained: rate window rounded down to whole seconds",
			gate: engine.Window, now: now, criteria: with(func(c *engine.CriteriaSpec) { c.ErrorRate.Sustained = 7*time.Minute + 15*time.Second }),
			start: "2026-11-25T13:57:15Z", end: "2026-11-25T14:04:30Z", rate: 217 * time.Second},
		{name: "no scrape lag",
			gate: engine.Window, now: now, criteria: with(func(c *engine.CriteriaSpec) { c.ScrapeLag = 0 }),
			start: "2026-11-25T14:00:00Z", end: "2026-11-25T14:05:00Z", rate: 150 * time.Second},
		{name: "rate window exactly 2 × step is accepted",
			gate: engine.Window, now: now, criteria: with(func(c *engine.CriteriaSpec) { c.ErrorRate.Sustained = time.Minute }),
			start: "2026-11-25T14:03:30Z", end: "2026-11-25T14:04:30Z", rate: 30 * time.Second},
		{name: "rate window shorter than 2 × step is refused",
			gate: engine.Window, now: now, criteria: with(func(c *engine.CriteriaSpec) { c.ErrorRate.Sustained = 50 * time.Second }),
			err: "rate window (criteria.error_rate.sustained 50s / 2 = 25s) is shorter than 2 × criteria.step (15s)"},
		{name: "canary without its step start is refused",
			gate: engine.Canary, now: now, criteria: example, err: "step_started_at"},
		{name: "zero step is refused",
			gate: engine.Window, now: now, criteria: with(func(c *engine.CriteriaSpec) { c.Step = 0 }), err: "criteria.step must be a positive duration"},
		{name: "zero sustained is refused",
			gate: engine.Window, now: now, criteria: with(func(c *engine.CriteriaSpec) { c.ErrorRate.Sustained = 0 }), err: "sustained must be a positive duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now.UTC().Truncate(time.Second)
			w, err := sustainedWindow(tc.gate, now, tc.stepStarted, tc.criteria)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmtTime(w.start); got != tc.start {
				t.Errorf("start %s, want %s", got, tc.start)
			}
			if got := fmtTime(w.end); got != tc.end {
				t.Errorf("end %s, want %s", got, tc.end)
			}
			if w.rate != tc.rate {
				t.Errorf("rate window %v, want %v", w.rate, tc.rate)
			}
			if w.rate > w.sustained/2 {
				t.Errorf("rate window %v longer than half of %v", w.rate, w.sustained)
			}
		})
	}
}

func TestBuildPlan(t *testing.T) {
	type want struct {
		fact  string
		item  string
		kind  jobKind
		query string
		start string // range jobs
		end   string // range end or instant time
		step  time.Duration
		skip  bool
	}
	for _, tc := range []struct {
		name string
		req  engine.Request
		edit func(*engine.RunbookSpec, *engine.EnvSpec)
		jobs []want
		meta map[string]map[string]any
	}{
		{
			name: "pre-cutover: the old cohort's error ratio at end",
			req:  engine.Request{Gate: engine.PreCutover},
			jobs: []want{{fact: FactProductionErrorRate, kind: instantJob, end: "2026-11-25T14:04:30Z",
				query: `(sum(rate(http_requests_total{code=~"5..",track="stable"}[2m30s])) or vector(0)) / sum(rate(http_requests_total{ track="stable" }[2m30s]))`}},
			meta: map[string]map[string]any{FactProductionErrorRate: {"at": "2026-11-25T14:04:30Z", "rate_window": "2m30s"}},
		},
		{
			name: "post-smoke: traffic since the sustained duration, availability from 15m before cutover",
			req:  engine.Request{Gate: engine.PostSmoke, CutoverAt: cutover},
			jobs: []want{
				{fact: FactTraffic, kind: instantJob, end: "2026-11-25T14:04:30Z", query: `sum(increase(http_requests_total{ track="canary" }[5m]))`},
				{fact: FactIntegrationAvailability, item: "payments", kind: rangeJob, query: `probe_success{job="blackbox",target="payments"}`, start: "2026-11-25T13:05:00Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second},
				{fact: FactIntegrationAvailability, item: "search", kind: rangeJob, query: `probe_success{job="blackbox",target="search"}`, start: "2026-11-25T13:05:00Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second},
			},
			meta: map[string]map[string]any{
				FactTraffic:                 {"at": "2026-11-25T14:04:30Z", "range": "5m"},
				FactIntegrationAvailability: {"start": "2026-11-25T13:05:00Z", "end": "2026-11-25T14:04:30Z", "step": "15s"},
			},
		},
		{
			name: "post-smoke: traffic clipped to a recent cutover; availability from the earlier of window start and cutover-15m",
			req:  engine.Request{Gate: engine.PostSmoke, CutoverAt: time.Date(2026, 11, 25, 14, 2, 0, 0, time.UTC)},
			jobs: []want{
				{fact: FactTraffic, kind: instantJob, end: "2026-11-25T14:04:30Z", query: `sum(increase(http_requests_total{ track="canary" }[2m30s]))`},
				{fact: FactIntegrationAvailability, item: "payments", kind: rangeJob, query: `probe_success{job="blackbox",target="payments"}`, start: "2026-11-25T13:47:00Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second},
				{fact: FactIntegrationAvailability, item: "search", kind: rangeJob, query: `probe_success{job="blackbox",target="search"}`, start: "2026-11-25T13:47:00Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second},
			},
		},
		{
			name: "post-smoke: a cutover after end leaves nothing to count",
			req:  engine.Request{Gate: engine.PostSmoke, CutoverAt: time.Date(2026, 11, 25, 14, 4, 45, 0, time.UTC)},
			edit: func(_ *engine.RunbookSpec, e *engine.EnvSpec) { e.Integrations = nil },
			jobs: []want{{fact: FactTraffic, kind: instantJob, end: "2026-11-25T14:04:30Z", query: `sum(increase(http_requests_total{ track="canary" }[0s]))`, skip: true}},
		},
		{
			name: "canary: default queries on the new cohort, clipped to the step start",
			req:  engine.Request{Gate: engine.Canary, Step: intp(25), StepStarted: time.Date(2026, 11, 25, 14, 1, 0, 0, time.UTC), CutoverAt: cutover},
			edit: func(_ *engine.RunbookSpec, e *engine.EnvSpec) { e.Integrations = e.Integrations[:1] },
			jobs: []want{
				{fact: FactErrorRate, kind: rangeJob, start: "2026-11-25T14:01:00Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second,
					query: `(sum(rate(http_requests_total{code=~"5..",track="canary"}[2m30s])) or vector(0)) / sum(rate(http_requests_total{ track="canary" }[2m30s]))`},
				{fact: FactLatencyP95, kind: rangeJob, start: "2026-11-25T14:01:00Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second,
					query: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{ track="canary" }[2m30s])))`},
				{fact: FactRequestCount, kind: instantJob, end: "2026-11-25T14:04:30Z", query: `sum(increase(http_requests_total{ track="canary" }[3m30s]))`},
				{fact: FactIntegrationAvailability, item: "payments", kind: rangeJob, query: `probe_success{job="blackbox",target="payments"}`, start: "2026-11-25T13:05:00Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second},
			},
			meta: map[string]map[string]any{
				FactErrorRate:    {"start": "2026-11-25T14:01:00Z", "end": "2026-11-25T14:04:30Z", "step": "15s", "rate_window": "2m30s"},
				FactRequestCount: {"at": "2026-11-25T14:04:30Z", "range": "3m30s"},
			},
		},
		{
			name: "canary: step started within the scrape lag: nothing to ask yet",
			req:  engine.Request{Gate: engine.Canary, Step: intp(25), StepStarted: time.Date(2026, 11, 25, 14, 4, 40, 0, time.UTC)},
			edit: func(_ *engine.RunbookSpec, e *engine.EnvSpec) { e.Integrations = nil },
			jobs: []want{
				{fact: FactErrorRate, kind: rangeJob, start: "2026-11-25T14:04:40Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second, skip: true,
					query: `(sum(rate(http_requests_total{code=~"5..",track="canary"}[2m30s])) or vector(0)) / sum(rate(http_requests_total{ track="canary" }[2m30s]))`},
				{fact: FactLatencyP95, kind: rangeJob, start: "2026-11-25T14:04:40Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second, skip: true,
					query: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{ track="canary" }[2m30s])))`},
				{fact: FactRequestCount, kind: instantJob, end: "2026-11-25T14:04:30Z", skip: true, query: `sum(increase(http_requests_total{ track="canary" }[0s]))`},
			},
		},
		{
			name: "window: runbook queries with placeholders; an escaped label value",
			req:  engine.Request{Gate: engine.Window},
			edit: func(s *engine.RunbookSpec, e *engine.EnvSpec) {
				s.Criteria.ErrorRate.Query = `sum(rate(app_errors_total{ {{.Selector}} }[{{.Rate}}])) / sum(rate(app_requests_total{job="web",{{.Selector}}}[{{.Rate}}]))`
				s.Criteria.LatencyP95.Query = `max by ({{.Label}}) (app_latency_p95_seconds{ {{.Selector}} })`
				e.Cohorts.New.LabelValue = `can"ary`
				e.Integrations = nil
			},
			jobs: []want{
				{fact: FactErrorRate, kind: rangeJob, start: "2026-11-25T13:59:30Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second,
					query: `sum(rate(app_errors_total{ track="can\"ary" }[2m30s])) / sum(rate(app_requests_total{job="web",track="can\"ary"}[2m30s]))`},
				{fact: FactLatencyP95, kind: rangeJob, start: "2026-11-25T13:59:30Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second,
					query: `max by (track) (app_latency_p95_seconds{ track="can\"ary" })`},
			},
		},
		{
			name: "window: no cutover known: availability from the window start",
			req:  engine.Request{Gate: engine.Window},
			edit: func(_ *engine.RunbookSpec, e *engine.EnvSpec) { e.Integrations = e.Integrations[:1] },
			jobs: []want{
				{fact: FactErrorRate, kind: rangeJob, start: "2026-11-25T13:59:30Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second,
					query: `(sum(rate(http_requests_total{code=~"5..",track="canary"}[2m30s])) or vector(0)) / sum(rate(http_requests_total{ track="canary" }[2m30s]))`},
				{fact: FactLatencyP95, kind: rangeJob, start: "2026-11-25T13:59:30Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second,
					query: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{ track="canary" }[2m30s])))`},
				{fact: FactIntegrationAvailability, item: "payments", kind: rangeJob, query: `probe_success{job="blackbox",target="payments"}`, start: "2026-11-25T13:59:30Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second},
			},
		},
		{
			name: "window: a cutover long ago: a coarser step keeps availability under 11,000 points",
			req:  engine.Request{Gate: engine.Window, CutoverAt: now.Add(-100 * time.Hour)},
			edit: func(_ *engine.RunbookSpec, e *engine.EnvSpec) { e.Integrations = e.Integrations[1:2] },
			jobs: []want{
				{fact: FactErrorRate, kind: rangeJob, start: "2026-11-25T13:59:30Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second,
					query: `(sum(rate(http_requests_total{code=~"5..",track="canary"}[2m30s])) or vector(0)) / sum(rate(http_requests_total{ track="canary" }[2m30s]))`},
				{fact: FactLatencyP95, kind: rangeJob, start: "2026-11-25T13:59:30Z", end: "2026-11-25T14:04:30Z", step: 15 * time.Second,
					query: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{ track="canary" }[2m30s])))`},
				// 100h15m at 15s would be 24,061 points; 33s keeps it under 11,000.
				{fact: FactIntegrationAvailability, item: "search", kind: rangeJob, query: `probe_success{job="blackbox",target="search"}`, start: "2026-11-21T09:50:00Z", end: "2026-11-25T14:04:30Z", step: 33 * time.Second},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.Runbook = exampleRunbook(t, tc.edit)
			req.Environment = "production"
			req.Now = now
			p, err := buildPlan(req)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.jobs) != len(tc.jobs) {
				t.Fatalf("%d jobs, want %d: %+v", len(p.jobs), len(tc.jobs), p.jobs)
			}
			for i, w := range tc.jobs {
				j := p.jobs[i]
				if j.err != nil {
					t.Errorf("job %d: %v", i, j.err)
				}
				if j.fact != w.fact || j.item != w.item || j.kind != w.kind {
					t.Errorf("job %d is %s/%s/%v, want %s/%s/%v", i, j.fact, j.item, j.kind, w.fact, w.item, w.kind)
				}
				if j.query != w.query {
					t.Errorf("job %d query\n got %s\nwant %s", i, j.query, w.query)
				}
				if fmtTime(j.end) != w.end || (w.kind == rangeJob && (fmtTime(j.start) != w.start || j.step != w.step)) {
					t.Errorf("job %d range [%s, %s] step %v, want [%s, %s] step %v", i, fmtTime(j.start), fmtTime(j.end), j.step, w.start, w.end, w.step)
				}
				if (j.skip != "") != w.skip {
					t.Errorf("job %d skip %q, want skip %v", i, j.skip, w.skip)
				}
				if w.kind == rangeJob && w.step > 0 && j.end.Sub(j.start)/j.step+1 > maxPoints {
					t.Errorf("job %d asks for more than %d points", i, maxPoints)
				}
			}
			for fact, fields := range tc.meta {
				for k, v := range fields {
					if got := p.meta[fact][k]; got != v {
						t.Errorf("%s.%s = %v, want %v", fact, k, got, v)
					}
				}
			}
		})
	}
}

func TestBuildPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  engine.Request
		edit func(*engine.RunbookSpec, *engine.EnvSpec)
		err  string
	}{
		{"no runbook", engine.Request{Gate: engine.Window}, nil, "no runbook"},
		{"unknown environment", engine.Request{Gate: engine.Window, Environment: "qa"}, nil, `no environment "qa"`},
		{"bad cohort label", engine.Request{Gate: engine.Window}, func(_ *engine.RunbookSpec, e *engine.EnvSpec) { e.CohortLabel = "a-b" }, "not a Prometheus label name"},
		{"no url", engine.Request{Gate: engine.Window}, func(_ *engine.RunbookSpec, e *engine.EnvSpec) { e.Prometheus.URL = "" }, "prometheus.url is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if tc.name != "no runbook" {
				req.Runbook = exampleRunbook(t, tc.edit)
			}
			if req.Environment == "" {
				req.Environment = "production"
			}
			req.Now = now
			_, err := buildPlan(req)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestRenderTemplateErrors(t *testing.T) {
	for _, tc := range []struct{ name, tmpl, err string }{
		{"unknown placeholder", `sum(x{ {{.Cohort}} })`, "can't evaluate field Cohort"},
		{"syntax", `sum(x{{{.Selector}}})`, "criteria.error_rate.query"},
		{"renders empty", `{{if false}}x{{end}}`, "renders to an empty query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render("criteria.error_rate.query", tc.tmpl, DefaultErrorRateQuery, QueryVars{Selector: `track="canary"`})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestFmtDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {-time.Second, "0s"}, {15 * time.Second, "15s"}, {150 * time.Second, "2m30s"},
		{5 * time.Minute, "5m"}, {time.Hour + 30*time.Minute, "1h30m"}, {48 * time.Hour, "48h"},
		{1500 * time.Millisecond, "1s500ms"}, {999 * time.Microsecond, "0s"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			got := fmtDuration(tc.d)
			if got != tc.want {
				t.Fatalf("fmtDuration(%v) = %q, want %q", tc.d, got, tc.want)
			}
			if back, err := time.ParseDuration(got); err != nil || back != tc.d.Truncate(time.Millisecond) && tc.d > 0 {
				t.Errorf("%q does not parse back to %v: %v %v", got, tc.d, back, err)
			}
		})
	}
}
