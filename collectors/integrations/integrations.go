// Package integrations collects the fact `integrations`: one HTTP probe per integration
// the environment declares (URL, expected status, timeout), with whether it is critical
// (from criteria.integrations). It runs at post-smoke, canary and window. Availability
// samples over the window come from Prometheus, not from this package.
package integrations

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
const FactName = "integrations"

// Gates are the gates that read the fact.
var Gates = []engine.Gate{engine.PostSmoke, engine.Canary, engine.Window}

// Collector probes the integrations of an environment.
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

// New returns an integrations collector.
func New(opts ...Option) *Collector {
	return &Collector{cfg: httpx.Apply(opts)}
}

var _ engine.Collector = (*Collector)(nil)

// Collect probes every integration of the environment concurrently and returns the fact
// `integrations` at post-smoke, canary and window, nothing at other gates.
//
// A probe that fails (wrong status, timeout, refused connection) is data, not a source
// failure: it is reported in its item as probe.ok false with probe.error, so the policy can
// tell how long a critical integration has been down and whether that began before cutover.
// The fact itself carries an error only when it cannot be collected at all (no runbook, an
// unknown environment, a configured bearer token that is not set).
func (c *Collector) Collect(ctx context.Context, req engine.Request) map[string]engine.Fact {
	read := false
	for _, g := range Gates {
		read = read || g == req.Gate
	}
	if !read {
		return map[string]engine.Fact{}
	}
	start := time.Now()
	fact := engine.Fact{Source: "http", Query: fmt.Sprintf("GET environments.%s.integrations[*].url", req.Environment), CollectedAt: start}
	done := func(err error) map[string]engine.Fact {
		if err != nil {
			fact.Err = fmt.Errorf("collect integrations: %w", err).Error()
		}
		fact.Duration = time.Since(start)
		return map[string]engine.Fact{FactName: fact}
	}
	env, err := httpx.Environment(req)
	if err != nil {
		return done(err)
	}
	token, err := c.cfg.Token()
	if err != nil {
		return done(err)
	}
	red := httpx.Redactor{token}
	critical := map[string]bool{}
	for _, ic := range req.Runbook.Spec.Criteria.Integrations {
		critical[ic.Name] = ic.Critical
	}
	items := make([]any, len(env.Integrations))
	httpx.Parallel(len(env.Integrations), func(i int) {
		p := env.Integrations[i]
		crit, ok := critical[p.Name]
		if !ok {
			// As the policy does: an integration nobody classified is not optional.
			crit = true
		}
		items[i] = map[string]any{
			"name":          p.Name,
			"critical":      crit,
			"url":           red.S(p.URL),
			"expect_status": expectStatus(p),
			"probe":         c.probe(ctx, p, red),
		}
	})
	fact.Data = map[string]any{"items": items}
	return done(nil)
}

func expectStatus(p engine.IntegrationProbe) int {
	if p.ExpectStatus == 0 {
		return http.StatusOK
	}
	return p.ExpectStatus
}

// probe GETs one integration under its own timeout. ok is true only for the expected
// status; the body is not judged, and one over the size limit does not fail the probe.
func (c *Collector) probe(ctx context.Context, p engine.IntegrationProbe, red httpx.Redactor) map[string]any {
	at := time.Now()
	out := map[string]any{"ok": false, "at": httpx.Timestamp(at)}
	if p.URL == "" {
		out["error"] = "no url configured"
		return out
	}
	cfg := c.cfg
	if p.Timeout > 0 {
		cfg.Timeout = p.Timeout
	}
	resp, err := httpx.Get(ctx, cfg, p.URL, "")
	out["duration_ms"] = time.Since(at).Milliseconds()
	if err != nil && !(resp != nil && errors.Is(err, httpx.ErrTooLarge)) {
		out["error"] = red.S(err.Error())
		return out
	}
	out["status_code"] = resp.StatusCode
	if want := expectStatus(p); resp.StatusCode != want {
		out["error"] = red.S(fmt.Sprintf("HTTP %d, expected %d: %s", resp.StatusCode, want, httpx.Snippet(resp.Body, 120)))
		return out
	}
	out["ok"] = true
	return out
}
