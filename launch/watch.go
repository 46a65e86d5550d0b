package launch

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Phase is a stretch of evaluations of one gate at an interval: a point gate (End at its
// start: done on the first go), a canary bake (done on go at or after End) or the monitoring
// window (done when the policies say the window completed).
type Phase struct {
	Name     string // for the view: "window", "canary 25%", "post-deploy"
	Gate     engine.Gate
	Step     *int
	End      time.Time     // when the bake or window ends
	Interval time.Duration // between evaluations
	// Grace is how long past End a hold may last before the phase gives up on hold. Past
	// max_unknown every unknown criterion has become a rollback, so what still holds then
	// is a no-go that waiting does not clear: a human's call.
	Grace time.Duration
	// Settle is how long after End an unknown (not failing) decision of a point gate is not
	// told to the channels as a hold: right after a hook, its effects (the smoke traffic, the
	// new version's first requests) reach the monitoring only after the scrape lag.
	Settle time.Duration
}

// Ending is how a phase ended.
type Ending int

// Phase endings.
const (
	EndDone        Ending = iota // go (complete, promoted, verified)
	EndHeld                      // no-go until the grace ran out (or at once before cutover)
	EndRollback                  // a rollback decision
	EndInterrupted               // the context ended (signal)
)

// String names the ending as views and messages show it.
func (e Ending) String() string {
	return [...]string{"done", "hold", "rollback", "interrupted"}[e]
}

// PhaseResult is a phase's ending and the last decision made in it.
type PhaseResult struct {
	Ending      Ending
	Last        *engine.Record
	Evaluations int
}

// Watch evaluates ph.Gate at ph.Interval until the phase ends. Every decision is archived; the
// first rollback ends the phase at once; a no-go holds (notified once per hold episode). An
// error (could not collect, decide or archive) ends it with the error.
func (r *Runner) Watch(ctx context.Context, ph Phase) (PhaseResult, error) {
	var res PhaseResult
	for {
		if ctx.Err() != nil {
			res.Ending = EndInterrupted
			return res, nil
		}
		rec, err := r.Decide(ctx, ph.Gate, ph.Step)
		if ctx.Err() != nil {
			res.Ending = EndInterrupted
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res.Last = rec
		res.Evaluations++
		now := r.clock.Now()
		decidedAt, err := time.Parse(time.RFC3339, rec.Now)
		if err != nil {
			decidedAt = now
		}
		left := ph.End.Sub(decidedAt)
		if r.observer != nil && (ph.Gate == engine.Window || ph.Gate == engine.Canary) {
			r.observer.SetWindowRemaining(max(left, 0))
		}
		r.view.Evaluation(Evaluation{Phase: ph.Name, Record: rec, Left: left, End: ph.End})
		switch {
		case rec.Decision == engine.Rollback:
			res.Ending = EndRollback
			return res, nil
		case rec.Decision == engine.Go && ph.Gate == engine.Window:
			r.endHold()
			if rec.Complete {
				res.Ending = EndDone
				return res, nil
			}
		case rec.Decision == engine.Go:
			r.endHold()
			if !decidedAt.Before(ph.End) {
				res.Ending = EndDone
				return res, nil
			}
		default:
			if ph.Gate == engine.PreCutover {
				res.Ending = EndHeld
				return res, nil
			}
			if !quietHold(ph, rec, decidedAt) {
				if err := r.hold(ctx, ph, rec); err != nil {
					return res, err
				}
			}
		}
		if !now.Before(ph.End.Add(ph.Grace)) && !decidedAt.Before(ph.End) {
			res.Ending = EndHeld
			return res, nil
		}
		wait := ph.Interval
		if until := ph.End.Sub(now); until > 0 && until < wait {
			wait = until // evaluate at the end itself, not up to an interval late
		}
		select {
		case <-ctx.Done():
			res.Ending = EndInterrupted
			return res, nil
		case <-r.clock.After(max(wait, time.Second)):
		}
	}
}

// hold notifies the first no-go of a hold episode.
func (r *Runner) hold(ctx context.Context, ph Phase, rec *engine.Record) error {
	if r.holding {
		return nil
	}
	r.holding = true
	return r.notify(ctx, "hold", Reasons(rec), map[string]string{"gate": phaseLabel(ph)})
}

func (r *Runner) endHold() { r.holding = false }

// failing reports a decision with a check that failed, as opposed to one only unknown.
// quietHold says a no-go is not worth telling the channels: a bake starts unknown (its window
// fills from the shift on) and only promotes at its end, and a point gate's data settles for
// ph.Settle after it starts, so before then only a failing check is a hold to tell. After a
// rollback the channels were told; the outcome says whether it held.
func quietHold(ph Phase, rec *engine.Record, decidedAt time.Time) bool {
	switch {
	case ph.Gate == engine.PostRollback:
		return true
	case failing(rec):
		return false
	case ph.Gate == engine.Canary:
		return decidedAt.Before(ph.End)
	case ph.Gate == engine.Window:
		return false
	default:
		return decidedAt.Before(ph.End.Add(ph.Settle))
	}
}

func failing(rec *engine.Record) bool {
	for _, c := range rec.Checks {
		if c.Status == "fail" {
			return true
		}
	}
	return false
}

// Reasons is the failing or unknown checks' messages of a decision, for notifications.
func Reasons(rec *engine.Record) string {
	var out []string
	for _, c := range rec.Checks {
		if c.Outcome == rec.Decision && c.Outcome != engine.Go {
			out = append(out, c.Rule+": "+c.Message)
		}
	}
	if len(out) == 0 {
		return string(rec.Decision)
	}
	return strings.Join(out, "; ")
}

func phaseLabel(ph Phase) string {
	if ph.Step != nil {
		return fmt.Sprintf("%s %d%%", ph.Gate, *ph.Step)
	}
	return string(ph.Gate)
}

// RunWatch runs the monitoring window (gate window) or one canary step's bake (gate canary,
// step set) on its own, as `gatekeeper watch` does: the cutover (and the step's start) must
// have been set. Nothing but decisions is appended, and the interruption if there is one.
func (r *Runner) RunWatch(ctx context.Context, gate engine.Gate, step *int) (Result, error) {
	if r.cutoverAt.IsZero() {
		return Result{}, fmt.Errorf("watch: no cutover time")
	}
	ph := r.windowPhase()
	if gate == engine.Canary {
		if step == nil {
			return Result{}, fmt.Errorf("watch: the canary gate needs a step")
		}
		var bake time.Duration
		found := false
		for _, s := range r.rb.Spec.Strategy.Steps {
			if s.Percent == *step {
				bake, found = r.rb.Spec.Scaled(s.Bake), true
			}
		}
		if !found {
			return Result{}, fmt.Errorf("watch: step %d%% is not a canary step of runbook %s", *step, r.rb.Path)
		}
		if r.stepStartedAt.IsZero() {
			r.stepStartedAt = r.clock.Now()
		}
		ph = Phase{Name: fmt.Sprintf("canary %d%%", *step), Gate: engine.Canary, Step: step,
			End: r.stepStartedAt.Add(bake), Interval: r.interval(), Grace: r.grace()}
	}
	res, err := r.Watch(ctx, ph)
	switch {
	case res.Ending == EndInterrupted || ctx.Err() != nil:
		r.interrupted(ctx)
		out := r.interruptedResult()
		out.Last = res.Last
		return r.finish(out)
	case err != nil:
		return Result{}, err
	case res.Ending == EndRollback:
		return Result{Outcome: "rollback", Reason: Reasons(res.Last), Last: res.Last, ExitCode: engine.ExitRollback}, nil
	case res.Ending == EndHeld:
		return Result{Outcome: "hold", Reason: "still on hold past the end: " + Reasons(res.Last), Last: res.Last, ExitCode: engine.ExitNoGo}, nil
	}
	what := "the window completed"
	if gate == engine.Canary {
		what = fmt.Sprintf("canary %d%% baked: promote", *step)
	}
	return Result{Outcome: "go", Reason: what, Last: res.Last, ExitCode: engine.ExitGo}, nil
}
