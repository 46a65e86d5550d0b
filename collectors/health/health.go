// Package health collects the fact `health`: each instance's health endpoint, read as
// application/health+json, Spring Boot actuator or a plain status code, normalized to
// pass, warn or fail. It runs at post-deploy (the new cohort) and post-rollback (every
// instance of both cohorts).
package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/internal/httpx"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// FactName is the fact this collector produces.
const FactName = "health"

// accept asks for the health documents the parser reads, in order of preference.
const accept = "application/health+json, application/vnd.spring-boot.actuator.v3+json, application/json;q=0.9, */*;q=0.5"

// Collector reads the health endpoints of the instances a gate checks.
type Collector struct {
	cfg httpx.Config
}

// Option configures a Collector.
type Option func(*Collector)

// WithHTTPClient sets the HTTP client (transport, TLS); redirects stay limited unless the
// client sets its own CheckRedirect.
func WithHTTPClient(c *http.Client) Option { return func(x *Collector) { x.cfg.Client = c } }

// WithTimeout sets the time limit of each request (default 10s).
func WithTimeout(d time.Duration) Option { return func(x *Collector) { x.cfg.Timeout = d } }

// WithLookupEnv sets how environment variables are read (default os.LookupEnv).
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(x *Collector) { x.cfg.LookupEnv = f }
}

// WithMaxBody sets the largest response body read, in bytes (default 1 MiB).
func WithMaxBody(n int64) Option { return func(x *Collector) { x.cfg.MaxBody = n } }

// WithBearerTokenEnv sends "Authorization: Bearer" with the token held in the named
// environment variable; an unset variable fails the source.
func WithBearerTokenEnv(name string) Option { return func(x *Collector) { x.cfg.TokenEnv = name } }

// New returns a health collector.
func New(opts ...Option) *Collector {
	c := &Collector{}
	for _, o := range opts {
		o(c)
	}
	c.cfg = c.cfg.Normalized()
	return c
}

var _ engine.Collector = (*Collector)(nil)

// Collect queries every instance of the gate's cohorts concurrently and returns the fact
// `health` at post-deploy and post-rollback, nothing at other gates. Per-instance failures
// are in the instance entries; the fact carries an error when the runbook gives no
// instances or when every instance failed.
func (c *Collector) Collect(ctx context.Context, req engine.Request) map[string]engine.Fact {
	if _, ok := httpx.InstanceGates[req.Gate]; !ok {
		return map[string]engine.Fact{}
	}
	start := time.Now()
	fact := engine.Fact{Source: "http", Query: "GET health_url of the instances", CollectedAt: start}
	done := func(err error) map[string]engine.Fact {
		if err != nil {
			fact.Err = fmt.Errorf("collect health: %w", err).Error()
		}
		fact.Duration = time.Since(start)
		return map[string]engine.Fact{FactName: fact}
	}
	env, err := httpx.Environment(req)
	if err != nil {
		return done(err)
	}
	set, err := httpx.Cohorts(req, env)
	if err != nil {
		return done(err)
	}
	fact.Query = "GET health_url of " + set.Field(req.Environment)
	token, err := c.cfg.Token()
	if err != nil {
		return done(err)
	}
	red := httpx.Redactor{token}

	entries := make([]map[string]any, len(set.Targets))
	httpx.Parallel(len(set.Targets), func(i int) {
		entries[i] = c.instance(ctx, set.Targets[i], red)
	})

	instances := make([]any, len(entries))
	var names, errs []string
	for i, e := range entries {
		instances[i] = e
		if msg, _ := e["error"].(string); msg != "" {
			names = append(names, set.Targets[i].Instance.Name)
			errs = append(errs, msg)
		}
	}
	fact.Data = map[string]any{"instances": instances}
	if len(errs) == len(entries) {
		return done(errors.New(httpx.AllFailed("instance", names, errs)))
	}
	return done(nil)
}

// instance queries one health endpoint. Every string that reaches the entry is redacted.
func (c *Collector) instance(ctx context.Context, t httpx.Target, red httpx.Redactor) map[string]any {
	e := map[string]any{
		"name":   t.Instance.Name,
		"cohort": t.Cohort,
		"url":    red.S(t.Instance.HealthURL),
	}
	if t.Instance.HealthURL == "" {
		e["error"] = "no health_url configured"
		return e
	}
	resp, err := httpx.Get(ctx, c.cfg, t.Instance.HealthURL, accept)
	if resp != nil {
		e["status_code"] = resp.StatusCode
		e["duration_ms"] = resp.Duration.Milliseconds()
	}
	if err != nil {
		e["error"] = red.S(err.Error())
		if resp != nil && (resp.StatusCode < 200 || resp.StatusCode >= 300) {
			e["status"] = Fail
		}
		return e
	}
	r := parse(resp.ContentType, resp.StatusCode, resp.Body)
	if r.Status != "" {
		e["status"] = r.Status
	}
	if r.Raw != "" {
		e["raw_status"] = red.S(r.Raw)
	}
	if r.Format != "" {
		e["format"] = r.Format
	}
	if len(r.Degraded) > 0 {
		d := make([]any, len(r.Degraded))
		for i, s := range r.Degraded {
			d[i] = red.S(s)
		}
		e["degraded"] = d
	}
	if r.Err != "" {
		e["error"] = red.S(r.Err)
	}
	return e
}
