package launch

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// watchFixture is a window watch whose cutover was 10 minutes before the clock: the window
// (30m) ends 20 minutes in, after 21 evaluations at its 1m interval.
func watchFixture(t *testing.T) (*fixture, *Runner) {
	f := newFixture(t, rbParams{Hooks: allHooks})
	r := f.runner()
	r.SetCutover(f.clock.Now().Add(-10 * time.Minute))
	return f, r
}

func TestWatch(t *testing.T) {
	t.Parallel()
	unknownErrors := func(from, to int) func(engine.Params, int, map[string]any) {
		return func(_ engine.Params, n int, facts map[string]any) {
			if n >= from && n <= to {
				facts["error_rate"].(map[string]any)["samples"] = []any{}
			}
		}
	}
	tests := []struct {
		name        string
		file        string
		mutate      func(engine.Params, int, map[string]any)
		exit        int
		evaluations int
		holds       int // hold notifications (one per channel per episode)
	}{
		{name: "healthy completes at the end", exit: engine.ExitGo, evaluations: 21},
		{name: "hold then complete", mutate: unknownErrors(3, 5), exit: engine.ExitGo, evaluations: 21, holds: 2},
		{name: "two hold episodes notify twice", mutate: func(p engine.Params, n int, facts map[string]any) {
			unknownErrors(3, 4)(p, n, facts)
			unknownErrors(8, 8)(p, n, facts)
		}, exit: engine.ExitGo, evaluations: 21, holds: 4},
		{name: "rollback ends at once", mutate: func(_ engine.Params, n int, facts map[string]any) {
			if n >= 4 {
				setSeries(facts, "error_rate", "0.5")
			}
		}, exit: engine.ExitRollback, evaluations: 4},
		// Unknown from the 3rd evaluation (minute 2) on: unknown for more than max_unknown
		// (5m) at minute 8, the 9th evaluation.
		{name: "unknown longer than max_unknown rolls back", mutate: unknownErrors(3, 1000), exit: engine.ExitRollback, evaluations: 9, holds: 2},
		{name: "unknown shorter than max_unknown holds", mutate: unknownErrors(3, 7), exit: engine.ExitGo, evaluations: 21, holds: 2},
		{name: "no-go at the end holds, then exits 2", file: "integration-down-before-cutover__window", exit: engine.ExitNoGo, evaluations: 27, holds: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, r := watchFixture(t)
			f.mutate = tt.mutate
			if tt.file != "" {
				f.files["window"] = tt.file
			}
			start := f.clock.Now()
			res, err := r.RunWatch(context.Background(), engine.Window, nil)
			if err != nil {
				t.Fatal(err)
			}
			recs := f.records()
			if res.ExitCode != tt.exit || len(recs) != tt.evaluations {
				t.Fatalf("exit %d after %d evaluations (%s), want %d after %d\n%s", res.ExitCode, len(recs), res.Reason, tt.exit, tt.evaluations, f.out)
			}
			last := recs[len(recs)-1]
			if tt.exit == engine.ExitGo {
				if !last.Complete {
					t.Errorf("exit 0 on a record that is not complete")
				}
				if want := start.Add(20 * time.Minute).Format(time.RFC3339); last.Now != want {
					t.Errorf("completed at %s, want %s (the window's end)", last.Now, want)
				}
			}
			for _, e := range recs[:len(recs)-1] {
				if e.Decision == engine.Rollback || e.Complete {
					t.Errorf("record at %s is %s complete=%v but the watch went on", e.Now, e.Decision, e.Complete)
				}
			}
			holds := 0
			for _, typ := range notifiedTypes(f) {
				if typ == "hold" {
					holds++
				}
			}
			if holds != tt.holds {
				t.Errorf("%d hold notifications, want %d", holds, tt.holds)
			}
		})
	}
}

func TestWatchInterrupted(t *testing.T) {
	t.Parallel()
	for _, sig := range []string{"SIGINT", "SIGTERM"} {
		t.Run(sig, func(t *testing.T) {
			f, r := watchFixture(t)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			f.mutate = func(_ engine.Params, n int, _ map[string]any) {
				if n == 3 {
					cancel(Interrupted{Signal: sig})
				}
			}
			res, err := r.RunWatch(ctx, engine.Window, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != engine.ExitError || res.Outcome != OutcomeInterrupted {
				t.Fatalf("result %+v, want exit 1 interrupted", res)
			}
			ev := f.events(EventInterrupted)
			if len(ev) != 1 || ev[0]["signal"] != sig || ev[0]["gate"] != "window" {
				t.Errorf("interrupted events %v", ev)
			}
			out := f.events(EventOutcome)
			if len(out) != 1 || out[0]["outcome"] != OutcomeInterrupted || out[0]["exit_code"] != float64(1) {
				t.Errorf("outcome events %v", out)
			}
			if n := len(f.records()); n != 2 {
				t.Errorf("%d records, want the 2 decided before the signal", n)
			}
		})
	}
}

func TestWatchCanaryBake(t *testing.T) {
	t.Parallel()
	f, r := watchFixture(t)
	step := 50
	r.SetStepStarted(f.clock.Now())
	res, err := r.RunWatch(context.Background(), engine.Canary, &step)
	if err != nil {
		t.Fatal(err)
	}
	recs := f.records()
	last := recs[len(recs)-1]
	if res.ExitCode != engine.ExitGo || last.Gate != engine.Canary || *last.Step != 50 {
		t.Fatalf("result %+v, last %s", res, last.Gate)
	}
	// Promoted on go at the end of the 3m bake, not before.
	if want := f.clock.Now().Add(0).Format(time.RFC3339); last.Now != want {
		t.Errorf("last decision at %s, want %s", last.Now, want)
	}
	for _, e := range recs[:len(recs)-1] {
		if e.Now >= last.Now {
			t.Errorf("decision %s after the promotion", e.Now)
		}
	}
	bad := 40
	if _, err := r.RunWatch(context.Background(), engine.Canary, &bad); err == nil || !strings.Contains(err.Error(), "not a canary step") {
		t.Errorf("step 40: %v", err)
	}
}

func TestWatchPlainViewOneLinePerEvaluation(t *testing.T) {
	t.Parallel()
	f, r := watchFixture(t)
	if _, err := r.RunWatch(context.Background(), engine.Window, nil); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(f.out.String(), "\n") {
		if strings.Contains(l, " window ") && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) != len(f.records()) {
		t.Fatalf("%d lines for %d evaluations:\n%s", len(lines), len(f.records()), f.out)
	}
	for _, want := range []string{"error_rate_sustained=0.0051/0.02(cov 100%)", "left=20m0s", "left=0s", "GO (complete)"} {
		if !strings.Contains(f.out.String(), want) {
			t.Errorf("view lacks %q:\n%s", want, fmt.Sprint(lines[:3]))
		}
	}
}
