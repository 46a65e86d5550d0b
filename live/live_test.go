package live

import (
	"reflect"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func TestJoinAvailability(t *testing.T) {
	at := time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC)
	probes := func() engine.Fact {
		return engine.Fact{Source: "http", CollectedAt: at, Data: map[string]any{"items": []any{
			map[string]any{"name": "payments", "probe": map[string]any{"ok": false}},
			map[string]any{"name": "email", "probe": map[string]any{"ok": true}},
		}}}
	}
	samples := []any{[]any{1764079200.0, "1"}, []any{1764079215.0, "0"}}
	tests := []struct {
		name  string
		avail engine.Fact
		want  map[string]any // availability of payments; email has no query and gets none
	}{
		{"series joined", engine.Fact{Source: "prometheus", CollectedAt: at, Data: map[string]any{"items": []any{
			map[string]any{"name": "payments", "query": "probe_success", "samples": samples}}}},
			map[string]any{"source": "prometheus", "collected_at": "2026-11-25T14:05:00Z", "query": "probe_success", "samples": samples}},
		{"one item failed", engine.Fact{Source: "prometheus", CollectedAt: at, Err: "collect prometheus: payments: 503", Data: map[string]any{"items": []any{
			map[string]any{"name": "payments", "query": "probe_success", "error": "503"}}}},
			map[string]any{"source": "prometheus", "collected_at": "2026-11-25T14:05:00Z", "query": "probe_success", "error": "503"}},
		{"whole source failed", engine.Fact{Source: "prometheus", CollectedAt: at, Err: "collect prometheus: connection refused"},
			map[string]any{"source": "prometheus", "collected_at": "2026-11-25T14:05:00Z", "error": "collect prometheus: connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			facts := map[string]engine.Fact{"integrations": probes(), "integration_availability": tt.avail}
			JoinAvailability(facts)
			if _, ok := facts["integration_availability"]; ok {
				t.Fatal("integration_availability left beside integrations")
			}
			items := facts["integrations"].Data["items"].([]any)
			got := items[0].(map[string]any)["availability"]
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("payments availability = %#v, want %#v", got, tt.want)
			}
			if _, ok := items[1].(map[string]any)["availability"]; ok && tt.avail.Err == "" {
				t.Errorf("email has no availability query but got availability")
			}
		})
	}
}
