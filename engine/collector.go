package engine

import (
	"context"
	"time"
)

// Fact is one observation of one source, with the provenance DESIGN.md requires. Data holds
// the source-specific fields; they are flattened beside the provenance in the policy input.
type Fact struct {
	Source      string
	Query       string
	URL         string
	Path        string
	CollectedAt time.Time
	Duration    time.Duration
	Err         string
	Data        map[string]any
}

// Map renders the fact as the policy input holds it: data fields and provenance side by side.
func (f Fact) Map() map[string]any {
	m := make(map[string]any, len(f.Data)+6)
	for k, v := range f.Data {
		m[k] = v
	}
	m["source"] = f.Source
	m["collected_at"] = f.CollectedAt.UTC().Format(time.RFC3339Nano)
	m["duration_ms"] = f.Duration.Milliseconds()
	if f.Query != "" {
		m["query"] = f.Query
	}
	if f.URL != "" {
		m["url"] = f.URL
	}
	if f.Path != "" {
		m["path"] = f.Path
	}
	if f.Err != "" {
		m["error"] = f.Err
	}
	return m
}

// Request tells a collector what the gate needs: which launch, environment, gate and window.
type Request struct {
	Runbook     *Runbook
	Environment string
	Gate        Gate
	Step        *int
	Now         time.Time
	CutoverAt   time.Time
	StepStarted time.Time
}

// Collector gathers the facts of one source. It reports what it observed and never applies
// thresholds: the policies decide, so replay can re-decide from the same facts. A source that
// fails returns facts carrying the error rather than an error, so a gate is never go on it.
type Collector interface {
	Collect(ctx context.Context, req Request) map[string]Fact
}
