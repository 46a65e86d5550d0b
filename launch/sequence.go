package launch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/report"
)

// Report files written into the archive directory at the end of a launch.
const (
	ReportMarkdown = "report.md"
	ReportHTML     = "report.html"
)

// Result is how a launch or a watch ended.
type Result struct {
	Outcome  string // OutcomeCompleted, ...
	Reason   string
	Last     *engine.Record // the last decision, if any
	ExitCode int            // DESIGN.md's exit code
}

// Launch runs the runbook's sequence: pre-cutover, deploy hook, post-deploy, smoke hook,
// post-smoke, then the strategy (canary steps with their bakes, or the blue-green switch),
// the monitoring window, and completion. Any rollback decision runs the rollback hook and
// the post-rollback verification; a no-go before cutover stops before anything changes.
// The outcome is archived and the launch report written into the archive. The error is
// only for what stopped the launch from deciding at all (exit 1).
func (r *Runner) Launch(ctx context.Context) (Result, error) {
	s := r.rb.Spec
	hooks := r.env.Hooks
	if hooks == nil {
		hooks = &engine.HooksSpec{}
	}
	r.view.Message(fmt.Sprintf("launch %s: %s %s (%s) to %s", r.launchID, s.Service, s.Release.Version, s.Strategy.Kind, r.env.Name))

	pre, err := r.Watch(ctx, r.pointPhase("pre-cutover", engine.PreCutover, 0))
	if res, stop := r.after(ctx, pre, err, "pre-cutover"); stop {
		if res.Outcome == OutcomeRolledBack { // cannot happen before cutover; be safe
			res.Outcome, res.ExitCode = OutcomeStopped, engine.ExitNoGo
		}
		return r.finish(res)
	}

	// Cutover: from here on a failed gate means rollback.
	r.cutoverAt = r.clock.Now().Truncate(time.Second)
	if err := r.notify(ctx, "cutover_started", "", map[string]string{"cutover_at": stamp(r.cutoverAt), "strategy": s.Strategy.Kind}); err != nil {
		return r.finishErr(err)
	}
	if len(hooks.Deploy) > 0 {
		// Its archived run is the post-deploy gate's deployment fact when the environment
		// has no deployment_status of its own (live.FromArchive).
		if _, err := r.runHook(ctx, HookDeploy, hooks.Deploy, nil, 0); err != nil {
			return r.finishErr(err)
		}
		if r.interrupted(ctx) {
			return r.finishInterrupted()
		}
	}
	if s.Strategy.Kind == "big-bang" {
		r.traffic = 100
	}

	post, err := r.Watch(ctx, r.pointPhase("post-deploy", engine.PostDeploy, r.grace()))
	if res, stop := r.after(ctx, post, err, "post-deploy"); stop {
		return r.finish(res)
	}

	smoke := hooks.Smoke
	if len(smoke) == 0 {
		smoke = s.Smoke.Command
	}
	if len(smoke) > 0 {
		// The suite's own exit status is not the verdict: its reports are, at post-smoke.
		if _, err := r.runHook(ctx, HookSmoke, smoke, nil, s.Smoke.Budget); err != nil {
			return r.finishErr(err)
		}
		if r.interrupted(ctx) {
			return r.finishInterrupted()
		}
	}
	settled := r.pointPhase("post-smoke", engine.PostSmoke, r.grace())
	settled.Settle = s.Criteria.ScrapeLag
	ps, err := r.Watch(ctx, settled)
	if res, stop := r.after(ctx, ps, err, "post-smoke"); stop {
		return r.finish(res)
	}
	if err := r.notify(ctx, "smoke_passed", "", nil); err != nil {
		return r.finishErr(err)
	}

	switch s.Strategy.Kind {
	case "canary":
		for _, st := range s.Strategy.Steps {
			pct := st.Percent
			if res, stop := r.canaryStep(ctx, hooks, pct, s.Scaled(st.Bake)); stop {
				return r.finish(res)
			}
		}
	case "blue-green":
		if res, stop := r.switchColour(ctx, hooks); stop {
			return r.finish(res)
		}
	}

	win, err := r.Watch(ctx, r.windowPhase())
	if res, stop := r.after(ctx, win, err, "window"); stop {
		return r.finish(res)
	}
	fields := map[string]string{
		"cutover_at": stamp(r.cutoverAt), "traffic": fmt.Sprintf("%d%%", r.traffic),
		"known_issues": strings.Join(s.KnownIssues, "; "),
	}
	if s.OnCall != nil {
		fields["on_call"] = strings.TrimSpace(s.OnCall.Name + " " + s.OnCall.Contact)
	}
	if err := r.notify(ctx, "complete", "", fields); err != nil {
		return r.finishErr(err)
	}
	return r.finish(Result{Outcome: OutcomeCompleted, Reason: "the monitoring window completed", Last: win.Last, ExitCode: engine.ExitGo})
}

// canaryStep shifts traffic to pct and bakes it; stop is true when the launch ends here.
func (r *Runner) canaryStep(ctx context.Context, hooks *engine.HooksSpec, pct int, bake time.Duration) (Result, bool) {
	step := pct
	r.stepStartedAt = r.clock.Now()
	if len(hooks.Shift) > 0 {
		h, err := r.runHook(ctx, HookShift, hooks.Shift, &step, 0)
		if err != nil {
			return errResult(err), true
		}
		if r.interrupted(ctx) {
			return r.interruptedResult(), true
		}
		if !h.OK() {
			return r.rollback(ctx, fmt.Sprintf("canary step %d%%: %s", pct, h.Summary()), nil), true
		}
		r.stepStartedAt = h.FinishedAt
	}
	r.traffic = pct
	ph := Phase{Name: fmt.Sprintf("canary %d%%", pct), Gate: engine.Canary, Step: &step,
		End: r.stepStartedAt.Add(bake), Interval: r.interval(), Grace: r.grace()}
	res, err := r.Watch(ctx, ph)
	return r.after(ctx, res, err, ph.Name)
}

// switchColour moves blue-green traffic to the new colour once the old one is known warm.
func (r *Runner) switchColour(ctx context.Context, hooks *engine.HooksSpec) (Result, bool) {
	if warm, why := r.oldColourWarm(ctx); !warm {
		return Result{Outcome: OutcomeStopped, Reason: "old colour not warm, so a switch could not be undone: " + why, ExitCode: engine.ExitNoGo}, true
	}
	if len(hooks.Switch) > 0 {
		h, err := r.runHook(ctx, HookSwitch, hooks.Switch, nil, 0, "GATEKEEPER_SWITCH_TO="+r.env.Cohorts.New.LabelValue)
		if err != nil {
			return errResult(err), true
		}
		if r.interrupted(ctx) {
			return r.interruptedResult(), true
		}
		if !h.OK() {
			return r.rollback(ctx, h.Summary(), nil), true
		}
	}
	r.traffic = 100
	return Result{}, false
}

// after turns a phase's ending into the launch's next move: continue (stop false), or the
// result the launch ends with.
func (r *Runner) after(ctx context.Context, ph PhaseResult, err error, name string) (Result, bool) {
	switch {
	case err != nil && ctx.Err() == nil:
		return errResult(err), true
	case ph.Ending == EndInterrupted || ctx.Err() != nil:
		r.interrupted(ctx)
		return r.interruptedResult(), true
	case ph.Ending == EndRollback:
		return r.rollback(ctx, name+": "+Reasons(ph.Last), ph.Last), true
	case ph.Ending == EndHeld && r.cutoverAt.IsZero():
		return Result{Outcome: OutcomeStopped, Reason: name + " is no-go, nothing was changed: " + Reasons(ph.Last), Last: ph.Last, ExitCode: engine.ExitNoGo}, true
	case ph.Ending == EndHeld:
		return Result{Outcome: OutcomeStopped, Reason: name + " held past max_unknown; the commander's call (attest --call): " + Reasons(ph.Last), Last: ph.Last, ExitCode: engine.ExitNoGo}, true
	}
	return Result{}, false
}

// rollback notifies, runs the rollback hook and verifies the rollback at post-rollback:
// exit 3 when every instance serves the rollback target and is healthy, 6 when not.
func (r *Runner) rollback(ctx context.Context, reason string, last *engine.Record) Result {
	r.view.Message("ROLLBACK: " + reason)
	if err := r.notify(ctx, "rollback", reason, map[string]string{"cutover_at": stamp(r.cutoverAt), "traffic": fmt.Sprintf("%d%%", r.traffic)}); err != nil {
		return Result{Outcome: OutcomeRollbackFailed, Reason: reason + "; " + err.Error(), Last: last, ExitCode: engine.ExitRollbackFailed}
	}
	hooks := r.env.Hooks
	if hooks == nil {
		hooks = &engine.HooksSpec{}
	}
	argv, extra := hooks.Rollback, []string(nil)
	if len(argv) == 0 && r.rb.Spec.Strategy.Kind == "blue-green" && len(hooks.Switch) > 0 {
		argv, extra = hooks.Switch, []string{"GATEKEEPER_SWITCH_TO=" + r.env.Cohorts.Old.LabelValue} // switch back
	}
	if len(argv) > 0 {
		if _, err := r.runHook(ctx, HookRollback, argv, nil, 0, extra...); err != nil {
			return Result{Outcome: OutcomeRollbackFailed, Reason: reason + "; " + err.Error(), Last: last, ExitCode: engine.ExitRollbackFailed}
		}
		if r.interrupted(ctx) {
			return r.interruptedResult()
		}
	}
	r.traffic = 0
	ph, err := r.Watch(ctx, r.pointPhase("post-rollback", engine.PostRollback, r.grace()))
	switch {
	case ph.Ending == EndInterrupted || ctx.Err() != nil:
		r.interrupted(ctx)
		return r.interruptedResult()
	case err != nil:
		return Result{Outcome: OutcomeRollbackFailed, Reason: reason + "; post-rollback could not be decided: " + err.Error(), Last: last, ExitCode: engine.ExitRollbackFailed}
	case ph.Ending == EndDone:
		return Result{Outcome: OutcomeRolledBack, Reason: reason, Last: ph.Last, ExitCode: engine.ExitRollback}
	}
	return Result{Outcome: OutcomeRollbackFailed, Reason: reason + "; rollback not verified: " + Reasons(ph.Last), Last: ph.Last, ExitCode: engine.ExitRollbackFailed}
}

func (r *Runner) interval() time.Duration {
	return max(r.rb.Spec.Scaled(r.rb.Spec.Window.Interval), time.Second)
}

// grace is how long a hold may last past a phase's end: max_unknown (after which unknowns
// are rollbacks) and one more evaluation.
func (r *Runner) grace() time.Duration {
	return r.rb.Spec.Scaled(r.rb.Spec.Window.MaxUnknown) + r.interval()
}

func (r *Runner) pointPhase(name string, gate engine.Gate, grace time.Duration) Phase {
	return Phase{Name: name, Gate: gate, End: r.clock.Now(), Interval: r.interval(), Grace: grace}
}

func (r *Runner) windowPhase() Phase {
	return Phase{Name: "window", Gate: engine.Window, End: r.cutoverAt.Add(r.rb.Spec.Scaled(r.rb.Spec.Window.Duration)),
		Interval: r.interval(), Grace: r.grace()}
}

func errResult(err error) Result {
	return Result{Outcome: OutcomeStopped, Reason: err.Error(), ExitCode: engine.ExitError}
}

func (r *Runner) interruptedResult() Result {
	return Result{Outcome: OutcomeInterrupted, Reason: "interrupted", ExitCode: engine.ExitError}
}

func (r *Runner) finishInterrupted() (Result, error) { return r.finish(r.interruptedResult()) }

func (r *Runner) finishErr(err error) (Result, error) {
	res, _ := r.finish(errResult(err))
	return res, err
}

// finish archives the outcome and writes the launch report into the archive.
func (r *Runner) finish(res Result) (Result, error) {
	s := r.rb.Spec
	data := map[string]any{
		"outcome": res.Outcome, "reason": res.Reason, "version": s.Release.Version, "commit": s.Release.Commit,
		"image": s.Release.Image, "traffic": r.traffic, "exit_code": res.ExitCode, "cutover_at": nil,
	}
	if !r.cutoverAt.IsZero() {
		data["cutover_at"] = stamp(r.cutoverAt)
	}
	r.view.Message(fmt.Sprintf("outcome: %s (exit %d): %s", res.Outcome, res.ExitCode, res.Reason))
	if err := r.event(EventOutcome, data); err != nil {
		return Result{Outcome: res.Outcome, Reason: res.Reason + "; " + err.Error(), Last: res.Last, ExitCode: engine.ExitError}, err
	}
	if err := r.WriteReport(); err != nil {
		r.view.Message("report: " + err.Error())
	}
	return res, nil
}

// WriteReport writes the launch report (Markdown and HTML) into the archive directory.
func (r *Runner) WriteReport() error {
	rep, err := report.Load(r.dir)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for name, render := range map[string]func(*bytes.Buffer) error{
		ReportMarkdown: func(b *bytes.Buffer) error { return rep.Markdown(b) },
		ReportHTML:     func(b *bytes.Buffer) error { return rep.HTML(b) },
	} {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			return fmt.Errorf("report %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(r.dir, name), b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	r.view.Message("report: " + filepath.Join(r.dir, ReportMarkdown))
	return nil
}
