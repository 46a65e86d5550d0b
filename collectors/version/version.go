// Package version collects the fact `versions`: the build each instance serves (commit,
// image digest and version from its version endpoint), and how many instances answer
// against the expected replica count. It runs at post-deploy (the new cohort) and
// post-rollback (every instance of both cohorts). Values are reported raw; the policy
// matches short against full SHAs and compares image digests.
package version

import (
	"context"

	"github.com/gatekeeper-dev/gatekeeper/collectors/internal/httpx"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// FactName is the fact this collector produces.
const FactName = "versions"

// Collector reads the version endpoints of the instances a gate checks.
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

// New returns a version collector.
func New(opts ...Option) *Collector {
	return &Collector{cfg: httpx.Apply(opts)}
}

var _ engine.Collector = (*Collector)(nil)

// Collect queries every instance of the gate's cohorts concurrently and returns the fact
// `versions` at post-deploy and post-rollback, nothing at other gates. Per-instance
// failures are in the instance entries; the fact carries an error when the runbook gives
// no instances or when every instance failed.
func (c *Collector) Collect(ctx context.Context, req engine.Request) map[string]engine.Fact {
	return c.cfg.CollectInstances(ctx, req, FactName, "version_url", c.instance, cohortTally)
}

// cohortTally is the versions fact: the entries, and per cohort how many instances the
// runbook expects (replicas), configures and has answering.
func cohortTally(run httpx.InstanceRun) map[string]any {
	set, entries := run.Set, run.Entries
	type tally struct{ configured, answering int }
	per := map[string]*tally{}
	for _, n := range set.Names {
		per[n] = &tally{}
	}
	instances := make([]any, len(entries))
	for i, e := range entries {
		instances[i] = e
		t := per[set.Targets[i].Cohort]
		t.configured++
		if msg, _ := e["error"].(string); msg == "" {
			t.answering++
		}
	}
	cohorts := map[string]any{}
	expected, answering := 0, 0
	for _, n := range set.Names {
		cohorts[n] = map[string]any{
			"expected_replicas": set.Replicas[n],
			"configured":        per[n].configured,
			"answering":         per[n].answering,
		}
		expected += set.Replicas[n]
		answering += per[n].answering
	}
	return map[string]any{
		"instances":         instances,
		"expected_replicas": expected,
		"configured":        len(entries),
		"answering":         answering,
		"cohorts":           cohorts,
	}
}

// instance queries one version endpoint. Every string that reaches the entry is redacted.
func (c *Collector) instance(ctx context.Context, t httpx.Target, red httpx.Redactor) map[string]any {
	e := map[string]any{
		"name":   t.Instance.Name,
		"cohort": t.Cohort,
		"url":    red.S(t.Instance.VersionURL),
	}
	if t.Instance.VersionURL == "" {
		e["error"] = "no version_url configured"
		return e
	}
	resp, err := httpx.Get(ctx, c.cfg, t.Instance.VersionURL, "application/json, text/plain;q=0.5")
	if resp != nil {
		e["status_code"] = resp.StatusCode
		e["duration_ms"] = resp.Duration.Milliseconds()
	}
	if err != nil {
		e["error"] = red.S(err.Error())
		return e
	}
	b, err := httpx.ParseBuild(resp.ContentType, resp.StatusCode, resp.Body, t.Instance.VersionPath, t.Instance.ImagePath)
	if err != nil {
		e["error"] = red.S(err.Error())
		return e
	}
	e["commit"] = red.S(b.Commit)
	if b.Image != "" {
		e["image"] = red.S(b.Image)
	}
	if b.Version != "" {
		e["version"] = red.S(b.Version)
	}
	return e
}
