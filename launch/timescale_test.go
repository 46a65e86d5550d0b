package launch

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// smokeAfterCutover makes the smoke results the ones run after this launch's cutover.
func smokeAfterCutover(p engine.Params, _ int, facts map[string]any) {
	if sm, ok := facts["smoke"].(map[string]any); ok && p.CutoverAt != "" {
		sm["started_at"], sm["finished_at"] = p.CutoverAt, p.Now.UTC().Format(time.RFC3339)
	}
}

func TestTimeScaleCompressesTheWindowInSequencerAndPolicies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, rbParams{Hooks: allHooks, Env: "staging", Strategy: "  kind: big-bang", Extra: "testing: {time_scale: 60}\n"})
	f.mutate = smokeAfterCutover
	res, err := f.runner().Launch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != engine.ExitGo {
		t.Fatalf("result %+v\n%s", res, f.out)
	}
	recs := f.records()
	last := recs[len(recs)-1]
	cut, _ := time.Parse(time.RFC3339, last.CutoverAt)
	now, _ := time.Parse(time.RFC3339, last.Now)
	// 30m / 60 = 30s, decided every 1m / 60 = 1s: the policies' `complete` agrees with the
	// sequencer's end to the second.
	if d := now.Sub(cut); d != 30*time.Second || !last.Complete {
		t.Errorf("completed %s after cutover (complete=%v), want 30s", d, last.Complete)
	}
	if n := len(recs); n < 30 || n > 40 {
		t.Errorf("%d records, want about one a second over 30s", n)
	}
	// The test setting travels in every archived input, so a replay decides the same.
	a, err := archive.Open(f.archive)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	if err := a.Walk(func(_ int, _ *archive.Entry, input []byte) error {
		if strings.Contains(string(input), `"testing":{"time_scale":60}`) {
			seen++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen != len(recs) {
		t.Errorf("time_scale in %d of %d archived inputs", seen, len(recs))
	}
}

func TestTimeScaleIsNoGoInProduction(t *testing.T) {
	t.Parallel()
	f := newFixture(t, rbParams{Hooks: allHooks, Env: "production", Extra: "testing: {time_scale: 60}\n"})
	res, err := f.runner().Launch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != engine.ExitNoGo || f.hookLog() != nil {
		t.Fatalf("exit %d, hooks %q: want 2 with nothing run", res.ExitCode, f.hookLog())
	}
	var found bool
	for _, c := range res.Last.Checks {
		if c.Rule == "launch.no_test_settings" && c.Outcome == engine.NoGo {
			found = true
		}
	}
	if !found {
		t.Errorf("no launch.no_test_settings no-go in %+v", res.Last.Checks)
	}
}
