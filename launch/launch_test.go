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
	t.Parallel()
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
	if b, err := os.ReadFile(filepath.Join(f.archive, ReportMarkdown)); err == nil && os.Getenv("GK_SHOW_REPORT") != "" {
		t.Log(string(b))
	}
	if !strings.Contains(f.out.String(), "window GO (complete)") {
		t.Errorf("view shows no completion:\n%s", f.out)
	}
}

func TestLaunchStopsAndRollsBack(t *testing.T) {
	t.Parallel()
	failDeploy := map[string]int{HookDeploy: 1, HookSmoke: 0, HookShift: 0, HookRollback: 0}
	tests := []struct {
		name     string
		hooks    map[string]int
		files    map[string]string
		mutate   func(p engine.Params, n int, facts map[string]any)
		exit     int
		outcome  string
		ran      []string
		notified []string
	}{
		{
			name:  "no-go before cutover changes nothing",
			hooks: allHooks, files: map[string]string{"pre-cutover": "uat-mismatch__pre-cutover"},
			exit: engine.ExitNoGo, outcome: OutcomeStopped, ran: nil, notified: nil,
		},
		{
			name:  "failed deploy rolls back, verified",
			hooks: failDeploy,
			exit:  engine.ExitRollback, outcome: OutcomeRolledBack, ran: []string{"deploy ", "rollback "},
			notified: []string{"cutover_started", "rollback"},
		},
		{
			name:  "breach at the first canary step rolls back there",
			hooks: allHooks, files: map[string]string{"canary": "sustained-errors__canary-25"},
			exit: engine.ExitRollback, outcome: OutcomeRolledBack, ran: []string{"deploy ", "smoke ", "shift 50", "rollback "},
			notified: []string{"cutover_started", "smoke_passed", "rollback"},
		},
		{
			name:  "rollback not verified",
			hooks: allHooks, files: map[string]string{"window": "latency-regression__window", "post-rollback": "post-rollback-failed__post-rollback"},
			exit: engine.ExitRollbackFailed, outcome: OutcomeRollbackFailed, ran: []string{"deploy ", "smoke ", "shift 50", "shift 100", "rollback "},
			notified: []string{"cutover_started", "smoke_passed", "rollback"},
		},
		{
			name:  "failed shift hook rolls back",
			hooks: map[string]int{HookDeploy: 0, HookSmoke: 0, HookShift: 3, HookRollback: 0},
			exit:  engine.ExitRollback, outcome: OutcomeRolledBack, ran: []string{"deploy ", "smoke ", "shift 50", "rollback "},
			notified: []string{"cutover_started", "smoke_passed", "rollback"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, rbParams{Hooks: tt.hooks})
			for k, v := range tt.files {
				f.files[k] = v
			}
			f.mutate = tt.mutate
			res, err := f.runner(f.realistic()).Launch(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tt.exit || res.Outcome != tt.outcome {
				t.Fatalf("exit %d %s (%s), want %d %s\n%s", res.ExitCode, res.Outcome, res.Reason, tt.exit, tt.outcome, f.out)
			}
			if got := f.hookLog(); !slices.Equal(got, tt.ran) {
				t.Errorf("hooks ran %q, want %q", got, tt.ran)
			}
			var got []string
			for _, typ := range notifiedTypes(f) {
				if len(got) == 0 || got[len(got)-1] != typ {
					got = append(got, typ)
				}
			}
			if !slices.Equal(got, tt.notified) {
				t.Errorf("notified %q, want %q", got, tt.notified)
			}
			out := f.events(EventOutcome)
			if len(out) != 1 || out[0]["outcome"] != tt.outcome {
				t.Errorf("outcome events %v", out)
			}
			if _, err := archive.Verify(f.archive); err != nil {
				t.Errorf("archive does not verify: %v", err)
			}
		})
	}
}

// A signal during a hook stops the hook, archives where the launch was and exits 1.
func TestLaunchInterruptedDuringAHook(t *testing.T) {
	t.Parallel()
	f := newFixture(t, rbParams{Hooks: allHooks, Sleep: map[string]int{HookDeploy: 30}})
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	go func() {
		for {
			if b, _ := os.ReadFile(f.log); len(b) > 0 { // the deploy hook is running
				time.Sleep(100 * time.Millisecond)
				cancel(Interrupted{Signal: "SIGINT"})
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	start := time.Now()
	res, err := f.runner().Launch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != engine.ExitError || res.Outcome != OutcomeInterrupted {
		t.Fatalf("result %+v", res)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s: the hook was not stopped", took)
	}
	ev := f.events(EventInterrupted)
	if len(ev) != 1 || ev[0]["signal"] != "SIGINT" || ev[0]["hook"] != HookDeploy {
		t.Errorf("interrupted events %v", ev)
	}
	hooks := f.events(EventHook)
	if len(hooks) != 1 || hooks[0]["error"] != "interrupted" {
		t.Errorf("hook events %v", hooks)
	}
	if got := f.hookLog(); len(got) != 1 {
		t.Errorf("hooks ran %q: nothing after the interrupted deploy", got)
	}
}

func TestAnnounce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, rbParams{Hooks: allHooks})
	r := f.runner()
	at := f.clock.Now().Add(25 * time.Hour)
	if err := r.Announce(context.Background(), at); err != nil {
		t.Fatal(err)
	}
	ds := f.events(EventNotification)
	if len(ds) != 2 {
		t.Fatalf("%d deliveries archived, want one per channel", len(ds))
	}
	for _, d := range ds {
		if d["event"] != "announced" || d["delivered"] != true || d["status_code"] != float64(200) {
			t.Errorf("delivery %v", d)
		}
	}
	if len(f.recv.Requests()) != 2 {
		t.Errorf("receiver got %d requests", len(f.recv.Requests()))
	}
	// A channel that does not confirm is an error, and archived as not delivered.
	g := newFixture(t, rbParams{Hooks: allHooks})
	r2, err := New(g.rb, g.env, g.archive, WithClock(g.clock), WithGather(g.gather), WithGetenv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Announce(context.Background(), at); err == nil || !strings.Contains(err.Error(), "not delivered to launch-channel, status-page") {
		t.Errorf("announce to unset channels: %v", err)
	}
	if ds := g.events(EventNotification); len(ds) != 2 || ds[0]["delivered"] != false {
		t.Errorf("failed deliveries archived as %v", ds)
	}
}

// Right after the smoke hook its traffic has not yet passed the scrape lag: an unknown
// post-smoke decision then is archived but not told to the channels as a hold; one that stays
// unknown past the lag is.
func TestPostSmokeSettlesBeforeAHold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		unknownTo int // post-smoke evaluations 1..unknownTo have no traffic fact
		holds     int // hold notifications (one per channel)
	}{
		{"unknown only while settling", 1, 0},
		{"unknown past the scrape lag", 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, rbParams{Hooks: allHooks})
			f.mutate = func(p engine.Params, n int, facts map[string]any) {
				if p.Gate == engine.PostSmoke && n <= tt.unknownTo {
					delete(facts, "traffic")
				}
			}
			res, err := f.runner(f.realistic()).Launch(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != engine.ExitGo {
				t.Fatalf("result %+v\n%s", res, f.out)
			}
			unknown := 0
			for _, e := range f.records() {
				if e.Gate == engine.PostSmoke && e.Decision == engine.NoGo {
					unknown++
				}
			}
			if unknown != tt.unknownTo {
				t.Errorf("%d post-smoke holds archived, want %d", unknown, tt.unknownTo)
			}
			holds := 0
			for _, typ := range notifiedTypes(f) {
				if typ == "hold" {
					holds++
				}
			}
			if holds != tt.holds {
				t.Errorf("%d hold notifications, want %d: %q", holds, tt.holds, notifiedTypes(f))
			}
		})
	}
}
