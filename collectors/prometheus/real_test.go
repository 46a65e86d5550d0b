package prometheus

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatekeeper-dev/gatekeeper/collectors/collectortest"
	"github.com/gatekeeper-dev/gatekeeper/collectors/prometheus/promtest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// The example runbook's window at the fixed now: end = 14:05:00 − 30s, start = end − 5m, step 15s.
var (
	windowStart = time.Date(2026, 11, 25, 13, 59, 30, 0, time.UTC)
	windowEnd   = time.Date(2026, 11, 25, 14, 4, 30, 0, time.UTC)
)

// grid lists the evaluation times from start to end at 15s.
func grid(start, end time.Time) []time.Time {
	var out []time.Time
	for t := start; !t.After(end); t = t.Add(15 * time.Second) {
		out = append(out, t)
	}
	return out
}

func timesOf(ps []pair) []time.Time {
	out := make([]time.Time, len(ps))
	for i, p := range ps {
		out[i] = p.T
	}
	return out
}

func values(t testing.TB, ps []pair) []float64 {
	t.Helper()
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = p.float(t)
	}
	return out
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// assertAll checks every sample is want within tol.
func assertAll(t testing.TB, what string, ps []pair, want, tol float64) {
	t.Helper()
	for _, p := range ps {
		if v := p.float(t); !near(v, want, tol) {
			t.Errorf("%s at %s = %v, want %v ± %v", what, p.T.Format(time.TimeOnly), v, want, tol)
		}
	}
}

func assertTimes(t testing.TB, what string, ps []pair, want []time.Time) {
	t.Helper()
	if got := timesOf(ps); !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("%s sample times:\n got %v\nwant %v", what, got, want)
	}
}

func floatValue(t testing.TB, f engine.Fact) float64 {
	t.Helper()
	s, ok := f.Data["value"].(string)
	if !ok {
		t.Fatalf("fact has no value: %+v", f.Map())
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("value %q: %v", s, err)
	}
	return v
}

// TestRealPrometheus backfills the launch scenarios (promtest.Scenarios) generated against the
// fixed now into Debian's Prometheus and checks what the collector reads back.
func TestRealPrometheus(t *testing.T) {
	if err := promtest.Available(); err != nil {
		t.Skipf("real Prometheus tests need Debian's prometheus package (CI installs it): %v", err)
	}
	began := time.Now()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	scenarios := promtest.Scenarios(now)
	if err := promtest.Backfill(context.Background(), promtest.LaunchHistory(now, scenarios), dir, data); err != nil {
		t.Fatal(err)
	}
	backfilled := time.Since(began)
	srv := promtest.Start(t, promtest.Options{DataDir: data})
	t.Logf("backfill %v, prometheus ready %v later", backfilled.Round(time.Millisecond), (time.Since(began) - backfilled).Round(time.Millisecond))

	type edit func(*engine.RunbookSpec, *engine.EnvSpec)
	collect := func(t *testing.T, scenario string, req engine.Request, edits ...edit) map[string]engine.Fact {
		t.Helper()
		req.Runbook = exampleRunbook(t, func(s *engine.RunbookSpec, e *engine.EnvSpec) {
			e.Prometheus.URL = srv.URL
			e.Cohorts.New.LabelValue = scenario
			e.Cohorts.Old.LabelValue = promtest.StableValue
			for _, ed := range edits {
				ed(s, e)
			}
		})
		req.Environment = "production"
		if req.Now.IsZero() {
			req.Now = now
		}
		if req.CutoverAt.IsZero() {
			req.CutoverAt = cutover
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		facts := New(WithLookupEnv(secretEnv), WithTimeout(10*time.Second)).Collect(ctx, req)
		if got, want := len(facts), len(Facts(req.Gate)); got != want {
			t.Errorf("%d facts, want %d", got, want)
		}
		collectortest.AssertProvenance(t, facts)
		collectortest.AssertNoSecret(t, facts)
		collectortest.AssertSchema(t, schemaFacts(facts))
		return facts
	}
	noErrors := func(t *testing.T, facts map[string]engine.Fact) {
		t.Helper()
		for name, f := range facts {
			if f.Err != "" {
				t.Fatalf("fact %s: %s", name, f.Err)
			}
		}
	}

	full := grid(windowStart, windowEnd)
	scenarioChecks := map[string]func(t *testing.T, er, lat []pair, count float64){
		"healthy": func(t *testing.T, er, lat []pair, count float64) {
			assertTimes(t, "error_rate", er, full)
			assertAll(t, "error_rate", er, promtest.HealthyErrorRatio, 1e-9)
			assertTimes(t, "latency_p95", lat, full)
			assertAll(t, "latency_p95", lat, 0.2425, 1e-9)
			if !near(count, 30000, 1) {
				t.Errorf("request_count %v, want 30000 (100 req/s over 5m)", count)
			}
		},
		"short-spike": func(t *testing.T, er, lat []pair, _ float64) {
			assertTimes(t, "error_rate", er, full)
			v := values(t, er)
			if mx := slices.Max(v); mx < 0.06 {
				t.Errorf("spike not visible: max error_rate %v", mx)
			}
			assertAll(t, "error_rate before the spike", er[:8], promtest.HealthyErrorRatio, 1e-9)
			assertAll(t, "error_rate after the spike", er[19:], promtest.HealthyErrorRatio, 1e-9)
			assertAll(t, "latency_p95", lat, 0.2425, 1e-9)
		},
		"sustained-errors": func(t *testing.T, er, _ []pair, _ float64) {
			assertTimes(t, "error_rate", er, full)
			assertAll(t, "error_rate", er, 0.07, 1e-9)
		},
		"latency-regression": func(t *testing.T, er, lat []pair, _ float64) {
			assertTimes(t, "latency_p95", lat, full)
			assertAll(t, "latency_p95", lat, 0.975, 1e-9)
			assertAll(t, "error_rate", er, promtest.HealthyErrorRatio, 1e-9)
		},
		"gap": func(t *testing.T, er, lat []pair, _ float64) {
			// No scrape from 14:00:00 to 14:03:30: a rate needs two samples in its 2m30s
			// window, so 14:02:15 … 14:03:45 have none. 14 of 21 samples remain.
			missing := grid(time.Date(2026, 11, 25, 14, 2, 15, 0, time.UTC), time.Date(2026, 11, 25, 14, 3, 45, 0, time.UTC))
			want := slices.DeleteFunc(slices.Clone(full), func(x time.Time) bool { return slices.ContainsFunc(missing, x.Equal) })
			if len(want) != 14 {
				t.Fatalf("test oracle: %d times", len(want))
			}
			assertTimes(t, "error_rate", er, want)
			assertTimes(t, "latency_p95", lat, want)
			assertAll(t, "error_rate", er, promtest.HealthyErrorRatio, 1e-9)
		},
		"never-failed": func(t *testing.T, er, _ []pair, _ float64) {
			// No 5xx series at all: the error rate is 0, not "no data".
			assertTimes(t, "error_rate", er, full)
			assertAll(t, "error_rate", er, 0, 0)
		},
		"zero-traffic": func(t *testing.T, er, lat []pair, count float64) {
			assertTimes(t, "error_rate", er, full)
			assertTimes(t, "latency_p95", lat, full)
			for _, p := range append(slices.Clone(er), lat...) {
				if p.V != "NaN" {
					t.Errorf("sample at %s = %q, want \"NaN\" (0/0: no traffic)", p.T.Format(time.TimeOnly), p.V)
				}
			}
			if count != 0 {
				t.Errorf("request_count %v, want 0", count)
			}
		},
		"low-traffic": func(t *testing.T, er, _ []pair, count float64) {
			assertTimes(t, "error_rate", er, full)
			assertAll(t, "error_rate", er, promtest.HealthyErrorRatio, 1e-9)
			if !near(count, 300, 1) {
				t.Errorf("request_count %v, want 300 (1 req/s over 5m; below min_requests 500)", count)
			}
		},
		"counter-reset": func(t *testing.T, er, lat []pair, count float64) {
			// A reset read as a decrease would make the rate negative or wildly off.
			assertTimes(t, "error_rate", er, full)
			assertAll(t, "error_rate", er, promtest.HealthyErrorRatio, 1e-9)
			assertAll(t, "latency_p95", lat, 0.2425, 1e-9)
			if count < 28500 || count > 31500 {
				t.Errorf("request_count %v, want 30000 ± 5%% across the reset and the new pod", count)
			}
		},
		"jitter": func(t *testing.T, er, _ []pair, _ float64) {
			assertTimes(t, "error_rate", er, full)
			v := values(t, er)
			if slices.Min(v) >= 0.02 || slices.Max(v) <= 0.02 {
				t.Errorf("jitter should cross 0.02: min %v max %v", slices.Min(v), slices.Max(v))
			}
			assertAll(t, "error_rate", er, 0.02, 0.003)
		},
		"flapping": func(t *testing.T, er, _ []pair, _ float64) {
			assertTimes(t, "error_rate", er, full)
			v := values(t, er)
			if slices.Min(v) > 0.015 || slices.Max(v) < 0.095 {
				t.Errorf("flapping should swing from ~0 to 0.1: min %v max %v", slices.Min(v), slices.Max(v))
			}
		},
	}

	// What the stock policies make of each scenario's facts (DESIGN.md, "Sustained, precisely"):
	// statuses of the canary checks error_rate, latency_p95, min_requests, then of the window
	// checks error_rate, latency_p95.
	type statuses struct{ canaryErr, canaryLat, canaryMin, windowErr, windowLat string }
	const pass, fail, unknown = "pass", "fail", "unknown"
	decisions := map[string]statuses{
		"healthy":            {pass, pass, pass, pass, pass},
		"never-failed":       {pass, pass, pass, pass, pass},
		"short-spike":        {pass, pass, pass, pass, pass},
		"sustained-errors":   {fail, pass, pass, fail, pass},
		"latency-regression": {pass, fail, pass, pass, fail},
		"gap":                {unknown, unknown, pass, unknown, unknown},
		"zero-traffic":       {unknown, unknown, unknown, unknown, unknown},
		"low-traffic":        {unknown, unknown, unknown, pass, pass},
		"counter-reset":      {pass, pass, pass, pass, pass},
		"jitter":             {pass, pass, pass, pass, pass},
		"flapping":           {pass, pass, pass, pass, pass},
	}
	policies, err := engine.LoadPolicies(context.Background())
	if err != nil {
		t.Fatalf("load policies: %v", err)
	}
	example := exampleRunbook(t, nil)
	example, err = engine.LoadRunbook(example.Path)
	if err != nil {
		t.Fatal(err)
	}
	decide := func(t *testing.T, gate engine.Gate, step *int, facts map[string]engine.Fact) map[string]string {
		t.Helper()
		in, err := engine.BuildInput(example, engine.Params{Gate: gate, Step: step, Environment: "production", Now: now,
			CutoverAt: fmtTime(cutover), StepStartedAt: fmtTime(cutover)}, engine.FactsMap(schemaFacts(facts)))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := engine.Decide(context.Background(), policies, example, in, "")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, c := range rec.Checks {
			out[c.Rule] = c.Status
		}
		return out
	}

	for _, s := range scenarios {
		t.Run("canary/"+s.Name, func(t *testing.T) {
			check, ok := scenarioChecks[s.Name]
			if !ok {
				t.Fatalf("no check for scenario %s", s.Name)
			}
			want, ok := decisions[s.Name]
			if !ok {
				t.Fatalf("no expected decision for scenario %s", s.Name)
			}
			// The step started at cutover, long before the window: no clipping.
			facts := collect(t, s.Name, engine.Request{Gate: engine.Canary, Step: intp(5), StepStarted: cutover})
			noErrors(t, facts)
			for _, name := range []string{FactErrorRate, FactLatencyP95} {
				f := facts[name]
				if f.Data["start"] != "2026-11-25T13:59:30Z" || f.Data["end"] != "2026-11-25T14:04:30Z" || f.Data["step"] != "15s" || f.Data["rate_window"] != "2m30s" {
					t.Errorf("%s window: %v", name, f.Map())
				}
			}
			check(t, samplesOf(t, facts[FactErrorRate]), samplesOf(t, facts[FactLatencyP95]), floatValue(t, facts[FactRequestCount]))

			c := decide(t, engine.Canary, intp(5), facts)
			w := decide(t, engine.Window, nil, facts)
			got := statuses{c["canary.error_rate_sustained"], c["canary.latency_p95_sustained"], c["canary.min_requests"],
				w["window.error_rate_sustained"], w["window.latency_p95_sustained"]}
			if got != want {
				t.Errorf("policy statuses (canary error, latency, min_requests; window error, latency)\n got %v\nwant %v", got, want)
			}
		})
	}

	t.Run("window gate reads the same samples as canary", func(t *testing.T) {
		w := collect(t, "sustained-errors", engine.Request{Gate: engine.Window})
		c := collect(t, "sustained-errors", engine.Request{Gate: engine.Canary, Step: intp(100), StepStarted: cutover})
		noErrors(t, w)
		if fmt.Sprint(w[FactErrorRate].Data["samples"]) != fmt.Sprint(c[FactErrorRate].Data["samples"]) {
			t.Errorf("window and canary error_rate differ:\n%v\n%v", w[FactErrorRate].Data["samples"], c[FactErrorRate].Data["samples"])
		}
		if _, ok := w[FactRequestCount]; ok {
			t.Errorf("window gate must not report request_count")
		}
	})

	t.Run("canary window clipped to the step start", func(t *testing.T) {
		stepStart := time.Date(2026, 11, 25, 14, 1, 0, 0, time.UTC)
		facts := collect(t, "healthy", engine.Request{Gate: engine.Canary, Step: intp(25), StepStarted: stepStart})
		noErrors(t, facts)
		er := samplesOf(t, facts[FactErrorRate])
		assertTimes(t, "error_rate", er, grid(stepStart, windowEnd))
		if len(er) != 15 {
			t.Errorf("%d samples, want 15 (14:01:00 … 14:04:30)", len(er))
		}
		if got := facts[FactRequestCount].Data["range"]; got != "3m30s" {
			t.Errorf("request_count range %v, want 3m30s", got)
		}
		if c := floatValue(t, facts[FactRequestCount]); !near(c, 21000, 1) {
			t.Errorf("request_count %v, want 21000 (100 req/s since the step start)", c)
		}
	})

	t.Run("canary step started within the scrape lag", func(t *testing.T) {
		facts := collect(t, "healthy", engine.Request{Gate: engine.Canary, Step: intp(25), StepStarted: now.Add(-10 * time.Second)})
		noErrors(t, facts)
		if er := samplesOf(t, facts[FactErrorRate]); len(er) != 0 {
			t.Errorf("samples before the step started: %v", er)
		}
		if _, ok := facts[FactRequestCount].Data["value"]; ok {
			t.Errorf("request_count has a value for an empty window: %v", facts[FactRequestCount].Map())
		}
	})

	t.Run("pre-cutover production error rate of the old cohort", func(t *testing.T) {
		facts := collect(t, "healthy", engine.Request{Gate: engine.PreCutover})
		noErrors(t, facts)
		if v := floatValue(t, facts[FactProductionErrorRate]); !near(v, 0.001, 1e-9) {
			t.Errorf("production_error_rate %v, want 0.001 (the stable cohort)", v)
		}
	})

	t.Run("post-smoke traffic", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			scenario  string
			cutover   time.Time
			want      float64
			wantRange string
		}{
			{"healthy since long before", "healthy", cutover, 30000, "5m"},
			{"clipped to a recent cutover", "healthy", time.Date(2026, 11, 25, 14, 2, 0, 0, time.UTC), 15000, "2m30s"},
			{"no traffic", "zero-traffic", cutover, 0, "5m"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				facts := collect(t, tc.scenario, engine.Request{Gate: engine.PostSmoke, CutoverAt: tc.cutover})
				noErrors(t, facts)
				tr := facts[FactTraffic]
				if got := floatValue(t, tr); !near(got, tc.want, 1) {
					t.Errorf("traffic %v, want %v", got, tc.want)
				}
				if tr.Data["range"] != tc.wantRange {
					t.Errorf("traffic range %v, want %s", tr.Data["range"], tc.wantRange)
				}
			})
		}
	})

	t.Run("integration availability from before cutover", func(t *testing.T) {
		facts := collect(t, "healthy", engine.Request{Gate: engine.Window})
		noErrors(t, facts)
		f := facts[FactIntegrationAvailability]
		from := cutover.Add(-15 * time.Minute)
		if f.Data["start"] != "2026-11-25T13:05:00Z" || f.Data["end"] != "2026-11-25T14:04:30Z" || f.Data["step"] != "15s" {
			t.Errorf("availability window: %v", f.Map())
		}
		items := f.Data["items"].([]any)
		if len(items) != 2 {
			t.Fatalf("items %v: want payments and search (email has no availability_query)", items)
		}
		byName := map[string]map[string]any{}
		for _, it := range items {
			m := it.(map[string]any)
			byName[m["name"].(string)] = m
		}
		series := func(name string) []pair {
			return samplesOf(t, engine.Fact{Data: byName[name]})
		}
		firstZero := func(ps []pair) (time.Time, time.Time) {
			var down, up time.Time
			for _, p := range ps {
				if p.V == "0" && down.IsZero() {
					down = p.T
				}
				if p.V == "1" && !down.IsZero() && up.IsZero() {
					up = p.T
				}
			}
			return down, up
		}
		pay := series("payments")
		assertTimes(t, "payments", pay, grid(from, windowEnd))
		// Down since 14:02:00; the first scrape showing it is 14:02:07, seen at 14:02:15.
		if down, up := firstZero(pay); !down.Equal(time.Date(2026, 11, 25, 14, 2, 15, 0, time.UTC)) || !up.IsZero() {
			t.Errorf("payments down at %v, up again at %v; want down at 14:02:15 and still down", down, up)
		}
		search := series("search")
		// Down from 13:00 to 13:25: the outage began before cutover (13:20) and ended.
		if search[0].V != "0" {
			t.Errorf("search at %s = %s, want 0 (down since before cutover)", search[0].T, search[0].V)
		}
		if _, up := firstZero(search); !up.Equal(time.Date(2026, 11, 25, 13, 25, 15, 0, time.UTC)) {
			t.Errorf("search back up at %v, want 13:25:15", up)
		}
	})

	t.Run("query returning several series is an error naming it", func(t *testing.T) {
		q := `rate(http_requests_total{ {{.Selector}} }[{{.Rate}}])`
		facts := collect(t, "healthy", engine.Request{Gate: engine.Window}, func(s *engine.RunbookSpec, _ *engine.EnvSpec) { s.Criteria.ErrorRate.Query = q })
		f := facts[FactErrorRate]
		want := `rate(http_requests_total{ track="healthy" }[2m30s])`
		if f.Err == "" || !containsAll(f.Err, "series", want, "collect prometheus: ") {
			t.Errorf("error %q should name the query %s", f.Err, want)
		}
		if _, ok := f.Data["samples"]; ok {
			t.Errorf("errored fact has samples")
		}
		if facts[FactLatencyP95].Err != "" {
			t.Errorf("latency_p95 should not fail with error_rate: %s", facts[FactLatencyP95].Err)
		}
	})

	t.Run("unknown cohort gives empty series, not an error", func(t *testing.T) {
		facts := collect(t, "no-such-cohort", engine.Request{Gate: engine.Canary, Step: intp(5), StepStarted: cutover})
		noErrors(t, facts)
		if er := samplesOf(t, facts[FactErrorRate]); len(er) != 0 {
			t.Errorf("samples %v", er)
		}
		if _, ok := facts[FactRequestCount].Data["value"]; ok {
			t.Errorf("request_count has a value without any series")
		}
	})

	if d := time.Since(began); d > 30*time.Second {
		t.Errorf("real-server test took %v; keep it well under a minute", d)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// TestRealPrometheusScrapesLiveService is the live path: Prometheus scrapes a test service
// exposing http_requests_total with client_golang's promhttp every second, and the collector's
// post-smoke traffic query sees the requests.
func TestRealPrometheusScrapesLiveService(t *testing.T) {
	if err := promtest.Available(); err != nil {
		t.Skipf("real Prometheus tests need Debian's prometheus package (CI installs it): %v", err)
	}
	reg := prom.NewRegistry()
	requests := prom.NewCounterVec(prom.CounterOpts{Name: "http_requests_total", Help: "Requests served."}, []string{"code", "track"})
	reg.MustRegister(requests)
	svc := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer svc.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				requests.WithLabelValues("200", "live").Inc()
			}
		}
	}()
	u, _ := url.Parse(svc.URL)
	srv := promtest.Start(t, promtest.Options{ScrapeConfigs: fmt.Sprintf(
		"  - job_name: live\n    scrape_interval: 1s\n    static_configs:\n      - targets: [%q]\n", u.Host)})

	rb := exampleRunbook(t, func(s *engine.RunbookSpec, e *engine.EnvSpec) {
		e.Prometheus.URL = srv.URL
		e.Prometheus.Auth = nil
		e.Cohorts.New.LabelValue = "live"
		s.Criteria.ScrapeLag = 0
		s.Criteria.ErrorRate.Sustained = time.Minute
		s.Criteria.Step = time.Second
	})
	c := New(WithTimeout(5 * time.Second))
	deadline := time.Now().Add(20 * time.Second)
	var last engine.Fact
	for time.Now().Before(deadline) {
		facts := c.Collect(context.Background(), engine.Request{Runbook: rb, Environment: "production", Gate: engine.PostSmoke, Now: time.Now()})
		last = facts[FactTraffic]
		if last.Err != "" {
			t.Fatalf("traffic: %s", last.Err)
		}
		if v, ok := last.Data["value"].(string); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 {
				collectortest.AssertProvenance(t, facts)
				collectortest.AssertSchema(t, schemaFacts(facts))
				t.Logf("traffic %s requests over %v, query %s", v, last.Data["range"], last.Query)
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("Prometheus never saw the live service's requests: %+v\n%s", last.Map(), srv.Logs())
}
