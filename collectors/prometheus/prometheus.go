// Package prometheus collects the metric facts of a gate from the environment's Prometheus:
// the error rate and p95 latency of the new cohort over the sustained window, its request
// count and recent traffic, the current error rate of production before cutover, and the
// availability series of the integrations. It reports raw samples and applies no threshold:
// the policies decide (DESIGN.md, "Sustained, precisely").
//
// # Facts per gate
//
//	pre-cutover  production_error_rate
//	post-smoke   traffic, integration_availability
//	canary       error_rate, latency_p95, request_count, integration_availability
//	window       error_rate, latency_p95, integration_availability
//
// Every other gate gets no fact from this source.
//
// # Windows
//
// All times derive from the request's Now, truncated to whole seconds as the engine records
// `now` in the policy input:
//
//	end   = now − criteria.scrape_lag
//	start = end − criteria.error_rate.sustained
//	        (at canary: start = max(start, step start), rounded up to the millisecond)
//	step  = criteria.step
//	rate window = criteria.error_rate.sustained / 2, rounded down to whole seconds; it must be
//	        at least 2 × criteria.step, otherwise the series facts carry an error (a rate
//	        window that holds fewer than two evaluation steps measures nothing sustained).
//
// error_rate and latency_p95 are range queries over [start, end] at step. request_count is
// the instant increase of the cohort's requests over [start, end], evaluated at end. traffic is
// the instant increase of the new cohort's requests over the last sustained duration, clipped
// to start no earlier than the cutover, evaluated at end: a count of requests, not a rate.
// production_error_rate evaluates the error-rate query on the old cohort (what serves
// production before cutover) at end. integration_availability holds one range query per
// environment integration with an availability_query, from 15 minutes before the cutover (or
// the sustained window start, whichever is earlier) to end, at criteria.step (coarsened only if
// the range would exceed Prometheus' 11,000 points per series).
//
// At canary and window the cohort is the new one. Once a canary reaches 100% or blue-green
// has switched, the new cohort is all production traffic, so the window gate measures exactly
// what users get.
//
// # Queries
//
// criteria.error_rate.query and criteria.latency_p95.query are Go text/template strings over
// [QueryVars]; when empty, [DefaultErrorRateQuery] and [DefaultLatencyP95Query] are used.
// request_count and traffic always use [DefaultRequestCountQuery]. Every query must return a
// single series (aggregate with sum, max, min, …): several series are reported as an error
// naming the query, so nothing ambiguous passes. No series at all is not an error: the fact
// then has empty samples (or no value), which the policies treat as unknown.
//
// # Credentials
//
// environments.*.prometheus.auth names where credentials are: bearer_token_env or token_file
// for a bearer token, username with password_env for basic auth; tls_ca_file adds a CA. A
// variable that is unset or empty makes every fact fail with an error naming the variable.
// Relative file paths are resolved against the runbook's directory. Secrets are redacted
// with engine.Redact from every error, warning and info.
package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Source is the provenance source of every fact of this collector; it selects max_age.prometheus.
const Source = "prometheus"

// Fact names produced by this collector (docs/facts.md).
const (
	// FactErrorRate is the new cohort's error ratio over the sustained window (canary, window).
	FactErrorRate = "error_rate"
	// FactLatencyP95 is the new cohort's p95 latency in seconds over the sustained window (canary, window).
	FactLatencyP95 = "latency_p95"
	// FactRequestCount is the number of requests the new cohort served in the window (canary).
	FactRequestCount = "request_count"
	// FactTraffic is the number of requests the new cohort served recently (post-smoke).
	FactTraffic = "traffic"
	// FactProductionErrorRate is the old cohort's current error ratio (pre-cutover).
	FactProductionErrorRate = "production_error_rate"
	// FactIntegrationAvailability holds one availability series per integration (post-smoke, canary, window).
	FactIntegrationAvailability = "integration_availability"
)

// DefaultTimeout bounds each query unless WithTimeout says otherwise.
const DefaultTimeout = 10 * time.Second

// DefaultMaxResponseBytes bounds each response body unless WithMaxResponseBytes says otherwise.
const DefaultMaxResponseBytes int64 = 32 << 20

// maxParallel bounds the queries of one Collect in flight at once.
const maxParallel = 8

// Collector is the Prometheus source; it implements engine.Collector.
type Collector struct {
	client   *http.Client
	timeout  time.Duration
	maxBytes int64
	lookup   func(string) (string, bool)
	readFile func(string) ([]byte, error)
}

var _ engine.Collector = (*Collector)(nil)

// Option configures a Collector.
type Option func(*Collector)

// WithHTTPClient sets the HTTP client; its Transport must be an *http.Transport (or nil) when the
// runbook sets tls_ca_file.
func WithHTTPClient(c *http.Client) Option { return func(x *Collector) { x.client = c } }

// WithTimeout bounds each query (client side and as Prometheus' own query timeout).
func WithTimeout(d time.Duration) Option { return func(x *Collector) { x.timeout = d } }

// WithLookupEnv sets how environment variables holding secrets are read (default os.LookupEnv).
func WithLookupEnv(f func(string) (string, bool)) Option { return func(x *Collector) { x.lookup = f } }

// WithReadFile sets how token and CA files are read (default os.ReadFile).
func WithReadFile(f func(string) ([]byte, error)) Option {
	return func(x *Collector) { x.readFile = f }
}

// WithMaxResponseBytes bounds the size of each Prometheus response body.
func WithMaxResponseBytes(n int64) Option { return func(x *Collector) { x.maxBytes = n } }

// New returns a Prometheus collector.
func New(opts ...Option) *Collector {
	c := &Collector{timeout: DefaultTimeout, maxBytes: DefaultMaxResponseBytes, lookup: os.LookupEnv, readFile: os.ReadFile}
	for _, o := range opts {
		o(c)
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxResponseBytes
	}
	return c
}

// Facts lists the facts the collector produces at a gate.
func Facts(g engine.Gate) []string {
	switch g {
	case engine.PreCutover:
		return []string{FactProductionErrorRate}
	case engine.PostSmoke:
		return []string{FactTraffic, FactIntegrationAvailability}
	case engine.Canary:
		return []string{FactErrorRate, FactLatencyP95, FactRequestCount, FactIntegrationAvailability}
	case engine.Window:
		return []string{FactErrorRate, FactLatencyP95, FactIntegrationAvailability}
	}
	return nil
}

// Collect runs the gate's queries concurrently and returns one fact per name of Facts(gate).
// A failure never returns an error: the facts it concerns carry it, redacted.
func (c *Collector) Collect(ctx context.Context, req engine.Request) map[string]engine.Fact {
	began := time.Now()
	names := Facts(req.Gate)
	out := make(map[string]engine.Fact, len(names))
	if len(names) == 0 {
		return out
	}
	at := evalNow(req)

	p, err := buildPlan(req)
	if err != nil {
		for _, n := range names {
			out[n] = failed(n, p, at, began, err, nil)
		}
		return out
	}
	hc, secrets, err := c.httpClient(req, p.env)
	if err != nil {
		for _, n := range names {
			out[n] = failed(n, p, at, began, err, secrets)
		}
		return out
	}
	if tr, ok := hc.Transport.(interface{ CloseIdleConnections() }); ok {
		defer tr.CloseIdleConnections()
	}
	client, err := api.NewClient(api.Config{Address: p.env.Prometheus.URL, Client: hc})
	if err != nil {
		for _, n := range names {
			out[n] = failed(n, p, at, began, err, secrets)
		}
		return out
	}
	run := &runner{api: v1.NewAPI(client), timeout: c.timeout, secrets: secrets}

	results := make([]result, len(p.jobs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallel)
	for i, j := range p.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = run.do(ctx, j)
			results[i].took = time.Since(began)
		}()
	}
	wg.Wait()
	for _, n := range names {
		out[n] = assemble(n, p, results, at, secrets)
	}
	return out
}

// evalNow is the time the facts describe: the request's now (the wall clock when unset),
// truncated to whole seconds like the `now` of the policy input. It is also collected_at: a
// Prometheus query is evaluated at a chosen time, so the observation is of that time, and a
// fact stamped with the wall clock would be "after now" for the policies.
func evalNow(req engine.Request) time.Time {
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	return now.UTC().Truncate(time.Second)
}

// wrap adds the collector's prefix to an error.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("collect prometheus: %w", err)
}

// errMessage renders an error for a fact: wrapped, with the server's reply when it sent one,
// and redacted.
func errMessage(err error, secrets []string) string {
	return engine.Redact("collect prometheus: "+errDetail(err), secrets...)
}

// excerpt shortens s to at most n bytes on a rune boundary, on one line.
func excerpt(s string, n int) string {
	b := []rune(s)
	out := make([]rune, 0, min(len(b), n))
	size := 0
	for _, r := range b {
		if r == '\n' || r == '\r' || r == '\t' {
			r = ' '
		}
		size += len(string(r))
		if size > n {
			out = append(out, '…')
			break
		}
		out = append(out, r)
	}
	return strings.TrimSpace(string(out))
}
