// Package live gathers a gate's facts from the systems a runbook environment names: it wires
// every collector, runs them concurrently with their timeouts, and joins what one source
// observed about another (integration availability from Prometheus into the integration
// probes). Collectors never import each other; this package is the one place that knows them all.
package live

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/deploystatus"
	"github.com/gatekeeper-dev/gatekeeper/collectors/health"
	"github.com/gatekeeper-dev/gatekeeper/collectors/integrations"
	"github.com/gatekeeper-dev/gatekeeper/collectors/prometheus"
	"github.com/gatekeeper-dev/gatekeeper/collectors/smoke"
	sqlcollector "github.com/gatekeeper-dev/gatekeeper/collectors/sql"
	"github.com/gatekeeper-dev/gatekeeper/collectors/uat"
	"github.com/gatekeeper-dev/gatekeeper/collectors/version"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// DefaultDeadline bounds a whole collection; each source also has its own timeout.
const DefaultDeadline = 60 * time.Second

// Sources lists every collector with its per-source timeout. Each decides for itself which
// facts the request's gate needs, so the list is the same for every gate.
func Sources() []engine.Source {
	return []engine.Source{
		{Name: "prometheus", Collector: prometheus.New(), Timeout: 30 * time.Second},
		{Name: "health", Collector: health.New(), Timeout: 20 * time.Second},
		{Name: "version", Collector: version.New(), Timeout: 20 * time.Second},
		{Name: "integrations", Collector: integrations.New(), Timeout: 20 * time.Second},
		{Name: "uat", Collector: uat.New(), Timeout: 20 * time.Second},
		{Name: "deploystatus", Collector: deploystatus.New(), Timeout: 5 * time.Second},
		{Name: "smoke", Collector: smoke.New(), Timeout: 45 * time.Second},
		{Name: "sql", Collector: sqlcollector.New(), Timeout: 45 * time.Second},
	}
}

// Collect gathers the facts of req's gate from every source and joins them into the shape
// the policies read.
func Collect(ctx context.Context, req engine.Request, deadline time.Duration, sources ...engine.Source) map[string]engine.Fact {
	if len(sources) == 0 {
		sources = Sources()
	}
	facts := engine.CollectAll(ctx, req, deadline, sources...)
	JoinAvailability(facts)
	return facts
}

// JoinAvailability moves the Prometheus availability series of each integration into that
// integration's entry of the `integrations` fact, where the policies read it beside the probe:
// the probe says whether it is up now, the series says since when it has been down. A failed
// availability query is kept as that entry's availability error, so the outage start is unknown
// (hold), never assumed.
func JoinAvailability(facts map[string]engine.Fact) {
	avail, ok := facts["integration_availability"]
	if !ok {
		return
	}
	delete(facts, "integration_availability")
	probes, ok := facts["integrations"]
	if !ok || probes.Err != "" {
		return
	}
	// Collectors may hold typed values; the join works on their JSON form, as policies see it.
	avail.Data, probes.Data = generic(avail.Data), generic(probes.Data)
	series := map[string]map[string]any{}
	if items, ok := avail.Data["items"].([]any); ok {
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				if name, ok := m["name"].(string); ok {
					series[name] = m
				}
			}
		}
	}
	items, _ := probes.Data["items"].([]any)
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["name"].(string)
		a := map[string]any{"source": avail.Source, "collected_at": avail.CollectedAt.UTC().Format(time.RFC3339Nano)}
		switch s, found := series[name]; {
		case found:
			for k, v := range s {
				if k != "name" {
					a[k] = v
				}
			}
		case avail.Err != "" && avail.Data["items"] == nil:
			a["error"] = avail.Err
		default:
			continue // no availability query for this integration in the runbook
		}
		cp := make(map[string]any, len(m)+1)
		for k, v := range m {
			cp[k] = v
		}
		cp["availability"] = a
		items[i] = cp
	}
	facts["integrations"] = probes
}

func generic(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return m
	}
	return out
}

// Baseline reads the data-integrity baseline (the pre-cutover `integrity` fact) from a policy
// input or facts file, as the later gates compare against it.
func Baseline(path string) (engine.Fact, error) {
	ff, err := engine.LoadFacts(path)
	if err != nil {
		return engine.Fact{}, fmt.Errorf("baseline: %w", err)
	}
	raw, ok := ff.Facts["integrity"].(map[string]any)
	if !ok {
		return engine.Fact{}, fmt.Errorf("baseline %s: no integrity fact (use the facts collected at pre-cutover)", path)
	}
	f, err := archivedFact(path, raw)
	if err != nil {
		return engine.Fact{}, fmt.Errorf("baseline %s: integrity: %w", path, err)
	}
	return f, nil
}

// archivedFact turns a fact as a policy input holds it back into an engine.Fact whose source
// is the archive (or facts file) it was read from, keeping the original collection time so its
// age stays the real one.
func archivedFact(path string, raw map[string]any) (engine.Fact, error) {
	f := engine.Fact{Source: "archive", Path: path, Data: map[string]any{}}
	for k, v := range raw {
		switch k {
		case "source", "query", "url", "path", "duration_ms":
		case "collected_at":
			s, _ := v.(string)
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return engine.Fact{}, fmt.Errorf("collected_at %q is not an RFC 3339 time", s)
			}
			f.CollectedAt = t
		case "error":
			f.Err, _ = v.(string)
		default:
			f.Data[k] = v
		}
	}
	return f, nil
}
