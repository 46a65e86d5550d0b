package launch

import (
	"encoding/json"
	"time"
)

// observedSource and observedQuery name gatekeeper's own probe history in an availability entry.
const (
	observedSource = "gatekeeper"
	observedQuery  = "gatekeeper's own probes of this integration, one per decision"
)

// Observed keeps what gatekeeper itself saw where the source keeps no history: the result
// of its own probe of each integration without an availability_query, one sample per
// decision. Apply writes the samples so far into each decision's facts, so every decision
// (and the outage start the policies derive from the samples) replays from the archive alone.
type Observed struct {
	samples map[string][]any // integration name → [[unix seconds, "1"|"0"], ...]
	max     int
}

// NewObserved returns an empty probe history keeping at most max samples per integration
// (enough for the longest window at its interval; older samples cannot move an outage start
// that matters less than the window).
func NewObserved(max int) *Observed {
	if max <= 0 {
		max = 1000
	}
	return &Observed{samples: map[string][]any{}, max: max}
}

// Apply records this decision's probe results at now and sets, on every integration item
// that has no availability of its own (no availability_query), the history observed so far.
// facts is the policy input's facts (generic JSON, as engine.FactsMap makes it).
func (o *Observed) Apply(facts map[string]any, now time.Time) {
	raw, ok := facts["integrations"]
	if !ok {
		return
	}
	fact, ok := toGeneric(raw).(map[string]any)
	if !ok {
		return
	}
	if e, _ := fact["error"].(string); e != "" {
		return
	}
	items, ok := fact["items"].([]any)
	if !ok {
		return
	}
	t := float64(now.Unix())
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["name"].(string)
		if name == "" {
			continue
		}
		if _, has := m["availability"]; has {
			continue // the source keeps the history (Prometheus): nothing to add
		}
		probe, _ := m["probe"].(map[string]any)
		v := "0"
		if ok, _ := probe["ok"].(bool); ok {
			if e, _ := probe["error"].(string); e == "" {
				v = "1"
			}
		}
		s := append(o.samples[name], []any{t, v})
		if len(s) > o.max {
			s = append(s[:0:0], s[len(s)-o.max:]...)
		}
		o.samples[name] = s
		cp := make(map[string]any, len(m)+1)
		for k, v := range m {
			cp[k] = v
		}
		cp["availability"] = map[string]any{
			"source":  observedSource,
			"query":   observedQuery,
			"samples": append([]any(nil), s...),
		}
		items[i] = cp
	}
	fact["items"] = items
	facts["integrations"] = fact
}

// toGeneric returns a copy of v as encoding/json would decode it (collectors may hold typed
// values; the policies see their JSON form).
func toGeneric(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}

// Seed starts the history from an earlier decision's facts (the archive's last one), so a
// watch started after a launch (or resumed after an interruption) continues gatekeeper's own
// probe history instead of restarting it.
func (o *Observed) Seed(facts map[string]any) {
	fact, _ := toGeneric(facts["integrations"]).(map[string]any)
	items, _ := fact["items"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		name, _ := m["name"].(string)
		a, _ := m["availability"].(map[string]any)
		if name == "" || a["source"] != observedSource {
			continue
		}
		if s, ok := a["samples"].([]any); ok {
			if len(s) > o.max {
				s = s[len(s)-o.max:]
			}
			o.samples[name] = append([]any(nil), s...)
		}
	}
}
