package launch

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func TestObservedApply(t *testing.T) {
	t.Parallel()
	o := NewObserved(2)
	t0 := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	var facts map[string]any
	for i, ok := range []bool{true, true, false} {
		facts = map[string]any{"integrations": engine.Fact{Source: "http", Data: map[string]any{"items": []map[string]any{
			{"name": "payments", "probe": map[string]any{"ok": true}, "availability": map[string]any{"samples": []any{}}},
			{"name": "email", "probe": map[string]any{"ok": ok}},
		}}}.Map()}
		o.Apply(facts, t0.Add(time.Duration(i)*time.Minute))
	}
	items := facts["integrations"].(map[string]any)["items"].([]any)
	if _, has := items[0].(map[string]any)["availability"].(map[string]any)["source"]; has {
		t.Error("an integration with its own availability history was overwritten")
	}
	got := items[1].(map[string]any)["availability"].(map[string]any)
	t1, t2 := float64(t0.Add(time.Minute).Unix()), float64(t0.Add(2*time.Minute).Unix())
	if want := []any{[]any{t1, "1"}, []any{t2, "0"}}; !reflect.DeepEqual(got["samples"], want) || got["source"] != "gatekeeper" {
		t.Errorf("availability %v, want the last 2 samples %v", got, want)
	}
	// Nothing to do without the fact, or when it failed.
	o.Apply(map[string]any{}, t0)
	failed := map[string]any{"integrations": map[string]any{"error": "boom", "items": []any{map[string]any{"name": "email"}}}}
	o.Apply(failed, t0)
	if _, has := failed["integrations"].(map[string]any)["items"].([]any)[0].(map[string]any)["availability"]; has {
		t.Error("a failed fact got samples")
	}
}

// An integration whose source keeps no history (no availability_query) is measured by
// gatekeeper's own probes: down from minute 2, it is down longer than its max_unavailable
// (5m) at minute 8, and every record carries the samples that show it.
func TestWatchRollsBackOnGatekeepersOwnProbeHistory(t *testing.T) {
	t.Parallel()
	f, r := watchFixture(t)
	f.mutate = func(_ engine.Params, n int, facts map[string]any) {
		for _, it := range facts["integrations"].(map[string]any)["items"].([]any) {
			m := it.(map[string]any)
			if m["name"] == "search" {
				delete(m, "availability")
				m["probe"].(map[string]any)["ok"] = n < 3
			}
		}
	}
	res, err := r.RunWatch(context.Background(), engine.Window, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := f.records()
	if res.ExitCode != engine.ExitRollback || len(recs) != 9 {
		t.Fatalf("exit %d after %d evaluations, want 3 after 9\n%s", res.ExitCode, len(recs), f.out)
	}
	a, err := archive.Open(f.archive)
	if err != nil {
		t.Fatal(err)
	}
	var samples []any
	if err := a.Walk(func(_ int, _ *archive.Entry, input []byte) error {
		var in struct {
			Facts struct {
				Integrations struct {
					Items []struct {
						Name         string `json:"name"`
						Availability struct {
							Source  string `json:"source"`
							Samples []any  `json:"samples"`
						} `json:"availability"`
					} `json:"items"`
				} `json:"integrations"`
			} `json:"facts"`
		}
		if err := json.Unmarshal(input, &in); err != nil {
			return err
		}
		for _, it := range in.Facts.Integrations.Items {
			if it.Name == "search" {
				samples = it.Availability.Samples
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(samples) != 9 {
		t.Errorf("last record holds %d samples of gatekeeper's probes, want 9", len(samples))
	}
}

// A second watch on the same archive continues gatekeeper's own probe history.
func TestObservedContinuesAcrossProcesses(t *testing.T) {
	t.Parallel()
	f, r := watchFixture(t)
	down := func(_ engine.Params, n int, facts map[string]any) {
		for _, it := range facts["integrations"].(map[string]any)["items"].([]any) {
			if m := it.(map[string]any); m["name"] == "email" {
				delete(m, "availability")
			}
		}
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	f.mutate = func(p engine.Params, n int, facts map[string]any) {
		down(p, n, facts)
		if n == 4 {
			cancel(Interrupted{Signal: "SIGTERM"})
		}
	}
	if res, _ := r.RunWatch(ctx, engine.Window, nil); res.ExitCode != engine.ExitError {
		t.Fatalf("first watch: %+v", res)
	}
	f.mutate = down
	r2 := f.runner()
	r2.SetCutover(f.clock.Now().Add(-15 * time.Minute))
	if got := len(r2.observed.samples["email"]); got != 3 {
		t.Errorf("second watch starts with %d samples, want the 3 archived", got)
	}
}
