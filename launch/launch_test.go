package launch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

var allHooks = map[string]int{HookDeploy: 0, HookSmoke: 0, HookShift: 0, HookRollback: 0}

func TestLaunchCompletes(t *testing.T) {
	f := newFixture(t, rbParams{Hooks: allHooks})
	r := f.runner(f.realistic())
	start := f.clock.Now()
	res, err := r.Launch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != engine.ExitGo || res.Outcome != OutcomeCompleted {
		t.Fatalf("result %+v\n%s", res, f.out)
	}
	if got, want := f.hookLog(), []string{"deploy ", "smoke ", "shift 50", "shift 100"}; !slices.Equal(got, want) {
		t.Errorf("hooks ran %q, want %q", got, want)
	}
	if got, want := notifiedTypes(f), []string{"cutover_started", "cutover_started", "smoke_passed", "smoke_passed", "complete", "complete"}; !slices.Equal(got, want) {
		t.Errorf("notifications %q, want %q", got, want)
	}
	recs := f.records()
	last := recs[len(recs)-1]
	if last.Gate != engine.Window || !last.Complete {
		t.Errorf("last record %s complete=%v, want a complete window", last.Gate, last.Complete)
	}
	// The window completes at its end (cutover + 30m), not an interval later.
	cut, _ := time.Parse(time.RFC3339, last.CutoverAt)
	now, _ := time.Parse(time.RFC3339, last.Now)
	if want := cut.Add(30 * time.Minute); now.Before(want) || now.After(want.Add(2*time.Second)) {
		t.Errorf("completed at %s, want at the window's end %s", now, want)
	}
	if !cut.Equal(start.Truncate(time.Second)) {
		t.Errorf("cutover_at %s, want when the deploy hook started (%s)", cut, start)
	}
	var gates []string
	for _, e := range recs {
		g := string(e.Gate)
		if len(gates) == 0 || gates[len(gates)-1] != g {
			gates = append(gates, g)
		}
	}
	if want := []string{"pre-cutover", "post-deploy", "post-smoke", "canary", "window"}; !slices.Equal(gates, want) {
		t.Errorf("gates %q, want %q", gates, want)
	}
	out := f.events(EventOutcome)
	if len(out) != 1 || out[0]["outcome"] != OutcomeCompleted || out[0]["traffic"] != float64(100) {
		t.Errorf("outcome events %v", out)
	}
	if _, err := archive.Verify(f.archive); err != nil {
		t.Errorf("archive does not verify: %v", err)
	}
	for _, name := range []string{ReportMarkdown, ReportHTML} {
		if b, err := os.ReadFile(filepath.Join(f.archive, name)); err != nil || len(b) == 0 {
			t.Errorf("report %s: %v", name, err)
		}
	}
	t.Log(f.out.String())
	if !strings.Contains(f.out.String(), "window GO (complete)") {
		t.Errorf("view shows no completion:\n%s", f.out)
	}
}
