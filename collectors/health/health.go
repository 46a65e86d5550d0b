// Package health collects the fact `health`: each instance's health endpoint, read as
// application/health+json, Spring Boot actuator or a plain status code, normalized to
// pass, warn or fail. It runs at post-deploy (the new cohort) and post-rollback (every
// instance of both cohorts).
package health

import (
	"context"

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
type Option = httpx.Option

// The options every HTTP collector shares (collectors/internal/httpx documents each).
var (
	WithHTTPClient     = httpx.WithHTTPClient
	WithTimeout        = httpx.WithTimeout
	WithLookupEnv      = httpx.WithLookupEnv
	WithMaxBody        = httpx.WithMaxBody
	WithBearerTokenEnv = httpx.WithBearerTokenEnv
)

// New returns a health collector.
func New(opts ...Option) *Collector {
	return &Collector{cfg: httpx.Apply(opts)}
}

var _ engine.Collector = (*Collector)(nil)

// Collect queries every instance of the gate's cohorts concurrently and returns the fact
// `health` at post-deploy and post-rollback, nothing at other gates. Per-instance failures
// are in the instance entries; the fact carries an error when the runbook gives no
// instances or when every instance failed.
func (c *Collector) Collect(ctx context.Context, req engine.Request) map[string]engine.Fact {
	return c.cfg.CollectInstances(ctx, req, FactName, "health_url", c.instance, func(run httpx.InstanceRun) map[string]any {
		instances := make([]any, len(run.Entries))
		for i, e := range run.Entries {
			instances[i] = e
		}
		return map[string]any{"instances": instances}
	})
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
