package launch

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// WritePlan prints what Launch would do for rb in env, in order, without running anything:
// the gates, hooks, canary steps with their bake times, the window and the rollback path.
func WritePlan(w io.Writer, rb *engine.Runbook, env, launchID, dir string) error {
	e, ok := rb.Env(env)
	if !ok {
		return fmt.Errorf("environment %q is not in runbook %s", env, rb.Path)
	}
	if launchID == "" {
		launchID = engine.DefaultLaunchID(rb, env)
	}
	s := rb.Spec
	hooks := e.Hooks
	if hooks == nil {
		hooks = &engine.HooksSpec{}
	}
	iv := max(s.Scaled(s.Window.Interval), time.Second)
	grace := s.Scaled(s.Window.MaxUnknown) + iv
	var b strings.Builder
	n := 0
	line := func(format string, a ...any) {
		n++
		fmt.Fprintf(&b, "%2d. %s\n", n, fmt.Sprintf(format, a...))
	}
	fmt.Fprintf(&b, "Plan: launch %s %s to %s (%s), launch id %s, archive %s\n", s.Service, s.Release.Version, env, s.Strategy.Kind, launchID, dir)
	fmt.Fprintf(&b, "Release %s (%s); rollback target %s (%s)\n", s.Release.Version, s.Release.Commit, s.RollbackTarget.Version, s.RollbackTarget.Commit)
	if s.Testing != nil && s.Testing.TimeScale > 1 {
		fmt.Fprintf(&b, "TEST SETTINGS: testing.time_scale %d divides the window, interval, max_unknown, bakes and announce lead; production pre-cutover is no-go with them\n", s.Testing.TimeScale)
	}
	b.WriteString("\n")
	line("gate pre-cutover (announcement delivered %s before cutover); no-go stops here, nothing is changed (exit 2)", s.Scaled(e.AnnounceLead))
	line("cutover: notify cutover_started%s", channels(e))
	line("%s", hookLine(HookDeploy, hooks.Deploy, hooks.Timeout, "cutover_at is when it starts"))
	line("gate post-deploy; no-go holds, re-evaluated every %s for up to %s", iv, grace)
	smoke := hooks.Smoke
	if len(smoke) == 0 {
		smoke = s.Smoke.Command
	}
	line("%s", hookLine(HookSmoke, smoke, s.Smoke.Budget, "time-boxed to the smoke budget; reports "+reports(s.Smoke)))
	line("gate post-smoke, then notify smoke_passed%s", channels(e))
	switch s.Strategy.Kind {
	case "canary":
		for _, st := range s.Strategy.Steps {
			line("canary %d%%: %s; gate canary --step %d every %s for a %s bake, promoted only on go at its end", st.Percent,
				hookLine(HookShift, hooks.Shift, hooks.Timeout, fmt.Sprintf("GATEKEEPER_STEP=%d", st.Percent)), st.Percent, iv, s.Scaled(st.Bake))
		}
	case "blue-green":
		line("check old colour %q is warm (health of cohorts.old), else stop before switching", e.Cohorts.Old.LabelValue)
		line("%s", hookLine(HookSwitch, hooks.Switch, hooks.Timeout, "GATEKEEPER_SWITCH_TO="+e.Cohorts.New.LabelValue))
	default:
		line("big-bang: the deploy moved all traffic")
	}
	line("window: gate window every %s until cutover + %s; complete on go with nothing unknown; unknown for more than %s rolls back", iv, s.Scaled(s.Window.Duration), s.Scaled(s.Window.MaxUnknown))
	line("notify complete%s; outcome archived; report written to %s/%s and %s", channels(e), dir, ReportMarkdown, ReportHTML)
	b.WriteString("\nOn any rollback decision: notify rollback with the reason")
	b.WriteString(channels(e))
	rollback, note := hooks.Rollback, ""
	if len(rollback) == 0 && s.Strategy.Kind == "blue-green" && len(hooks.Switch) > 0 {
		rollback, note = hooks.Switch, "switch back, GATEKEEPER_SWITCH_TO="+e.Cohorts.Old.LabelValue
	}
	fmt.Fprintf(&b, "; %s; gate post-rollback: exit 3 when every instance serves %s and is healthy, 6 when not.\n",
		hookLine(HookRollback, rollback, hooks.Timeout, note), s.RollbackTarget.Version)
	b.WriteString("Hooks run without a shell in the runbook's directory, with GATEKEEPER_RELEASE_{VERSION,COMMIT,IMAGE}, GATEKEEPER_ROLLBACK_{VERSION,COMMIT,IMAGE}, GATEKEEPER_STEP, GATEKEEPER_ENV, GATEKEEPER_LAUNCH_ID, GATEKEEPER_SERVICE and GATEKEEPER_ARCHIVE set.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func hookLine(name string, argv []string, timeout time.Duration, note string) string {
	if len(argv) == 0 {
		return fmt.Sprintf("no %s hook", name)
	}
	s := fmt.Sprintf("hook %s: %s (timeout %s", name, strings.Join(quoteArgs(argv), " "), timeout)
	if note != "" {
		s += "; " + note
	}
	return s + ")"
}

func quoteArgs(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			a = fmt.Sprintf("%q", a)
		}
		out[i] = a
	}
	return out
}

func channels(e engine.EnvSpec) string {
	if len(e.Notifications) == 0 {
		return " (no channels)"
	}
	var names []string
	for _, n := range e.Notifications {
		names = append(names, n.Name+" ("+n.Kind+")")
	}
	return " to " + strings.Join(names, ", ")
}

func reports(s engine.SmokeSpec) string {
	if len(s.Reports) == 0 {
		return "none"
	}
	var out []string
	for _, r := range s.Reports {
		out = append(out, r.Path+" ("+r.Format+")")
	}
	return strings.Join(out, ", ")
}

// Announce sends the "announced" notification for a launch window starting at windowAt,
// ahead of time: the pre-cutover gate needs it delivered at least announce_lead before
// cutover. It reports an error when a channel did not confirm delivery.
func (r *Runner) Announce(ctx context.Context, windowAt time.Time) error {
	s := r.rb.Spec
	fields := map[string]string{"window_at": stamp(windowAt), "lead_time": s.Scaled(r.env.AnnounceLead).String(), "strategy": s.Strategy.Kind}
	if s.OnCall != nil {
		fields["on_call"] = strings.TrimSpace(s.OnCall.Name + " " + s.OnCall.Contact)
	}
	if len(r.env.Notifications) == 0 {
		return fmt.Errorf("announce: environments.%s.notifications names no channel", r.env.Name)
	}
	ds, err := r.deliver(ctx, "announced", "", fields)
	if err != nil {
		return err
	}
	var failed []string
	for _, d := range ds {
		if !d.Delivered {
			failed = append(failed, d.Channel)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("announce: not delivered to %s", strings.Join(failed, ", "))
	}
	return nil
}
