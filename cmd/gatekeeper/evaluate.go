package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/live"
	"github.com/gatekeeper-dev/gatekeeper/metrics"
	"github.com/gatekeeper-dev/gatekeeper/output"
)

type evaluateFlags struct {
	runbook, env, gate, factsPath, now, cutoverAt, stepStartedAt, launchID, format, writeInput, baseline, archive, signKey string
	step                                                                                                                   int
	policies                                                                                                               []string
	deadline                                                                                                               time.Duration
	pushgateway                                                                                                            string
	// metrics is set with --pushgateway: the input's facts and the decision are observed into it.
	metrics *metrics.Metrics
}

func newEvaluateCmd() *cobra.Command {
	var f evaluateFlags
	cmd := &cobra.Command{
		Use:   "evaluate --runbook R --env E --gate G [--step PCT] [--facts FILE]",
		Short: "Decide one gate, live or from a facts file",
		Long: `evaluate decides one gate of a launch. With --facts it decides from a policy input as
'gatekeeper collect' prints it (only its facts and launch times are used; the runbook always
comes from --runbook); without, it collects the facts live from the runbook's environment
first, exactly as 'collect' does. The decision is printed and the exit code says it: 0 go,
2 no-go or hold, 3 rollback, 6 rollback not verified (post-rollback gate), 1 could not decide.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer lessGC()()
			step := (*int)(nil)
			if cmd.Flags().Changed("step") {
				step = &f.step
			}
			began := time.Now()
			if f.pushgateway != "" {
				f.metrics = metrics.New()
			}
			rec, err := evaluate(cmd, f, step)
			if f.metrics != nil {
				took := time.Since(began)
				defer pushMetrics(cmd, f, rec, err, took) // after the decision is printed
			}
			if err != nil {
				return err
			}
			r, err := output.Get(f.format, output.Options{GitHubSummary: os.Getenv("GITHUB_STEP_SUMMARY")})
			if err != nil {
				return err
			}
			if err := r.Render(cmd.OutOrStdout(), rec); err != nil {
				return fmt.Errorf("render: %w", err)
			}
			if code := rec.ExitCode(); code != engine.ExitGo {
				return exitCode(code)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.runbook, "runbook", "", "runbook file (CUE, YAML or JSON)")
	fl.StringVar(&f.env, "env", "", "environment: staging or production")
	fl.StringVar(&f.gate, "gate", "", "gate: pre-cutover, post-deploy, post-smoke, canary, window, post-rollback")
	fl.IntVar(&f.step, "step", 0, "canary step percent (canary gate only)")
	fl.StringVar(&f.factsPath, "facts", "", "facts file: a policy input as 'gatekeeper collect' prints it")
	fl.StringArrayVar(&f.policies, "policies", nil, "directory of extra Rego policies, loaded beside the built-ins (repeatable)")
	fl.StringVar(&f.now, "now", "", "decision time, RFC 3339 (default: the facts file's now, else the wall clock)")
	fl.StringVar(&f.cutoverAt, "cutover-at", "", "cutover time, RFC 3339 (default: the facts file's cutover_at)")
	fl.StringVar(&f.stepStartedAt, "step-started-at", "", "time traffic shifted to this canary step (default: the facts file's)")
	fl.StringVar(&f.launchID, "launch-id", "", "launch id (default service-version-environment)")
	fl.StringVarP(&f.format, "output", "o", "text", "output format: text, json, junit or github")
	fl.StringVar(&f.writeInput, "write-input", "", "also write the exact policy input to this file (for opa eval)")
	fl.StringVar(&f.baseline, "baseline", "", "live only: facts collected at pre-cutover, whose integrity fact is the data-integrity baseline")
	fl.StringVar(&f.archive, "archive", "", "append the decision record to this launch archive directory (created if missing)")
	fl.StringVar(&f.signKey, "sign-key", "", "with --archive: sign each appended record with this ed25519 private key file (default: the key in $"+signingKeyEnv+", if set)")
	fl.DurationVar(&f.deadline, "deadline", live.DefaultDeadline, "live only: overall collection deadline")
	fl.StringVar(&f.pushgateway, "pushgateway", "", "push gatekeeper's metrics to this Pushgateway URL after deciding (a failed push is only a warning)")
	for _, name := range []string{"runbook", "env", "gate"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func evaluate(cmd *cobra.Command, f evaluateFlags, step *int) (*engine.Record, error) {
	if _, err := output.Get(f.format, output.Options{}); err != nil {
		return nil, err
	}
	gate, err := engine.ParseGate(f.gate)
	if err != nil {
		return nil, err
	}
	if f.factsPath == "" {
		return evaluateLive(cmd, f, gate)
	}
	// The policies compile while the runbook and the facts are validated (one after the
	// other: they share one compilation of the schemas) and the input is prepared. Errors
	// are reported in this order, as if everything had run one step after the other.
	ctx := cmd.Context()
	type loaded struct {
		ps  *engine.PolicySet
		err error
	}
	polc := make(chan loaded, 1)
	go func() {
		ps, err := engine.LoadGatePolicies(ctx, gate, f.policies...)
		polc <- loaded{ps, err}
	}()
	schemas := engine.NewValidator()
	rb, err := schemas.LoadRunbook(f.runbook)
	if err != nil {
		return nil, err
	}
	ff, err := schemas.LoadFacts(f.factsPath)
	if err != nil {
		return nil, err
	}
	if err := checkFactsCoordinates(f, gate, step, ff); err != nil {
		return nil, err
	}
	if step == nil && ff.Step != nil && gate == engine.Canary {
		step = ff.Step
	}
	now, err := pickNow(f.now, ff.Now)
	if err != nil {
		return nil, err
	}
	in, err := engine.BuildInput(rb, engine.Params{
		Gate: gate, Step: step, Environment: f.env, LaunchID: f.launchID, Now: now,
		CutoverAt: firstNonEmpty(f.cutoverAt, ff.CutoverAt), StepStartedAt: firstNonEmpty(f.stepStartedAt, ff.StepStartedAt),
	}, ff.Facts)
	if err != nil {
		return nil, err
	}
	if f.metrics != nil {
		f.metrics.ObserveInputFacts(in.Facts)
	}
	if f.writeInput != "" {
		if err := writeJSON(f.writeInput, in); err != nil {
			return nil, err
		}
	}
	pin, pinErr := engine.PrepareInput(in)
	pl := <-polc
	if pl.err != nil {
		return nil, pl.err
	}
	if pinErr != nil {
		return nil, pinErr
	}
	return decideArchived(ctx, archiveTo{f.archive, f.signKey}, rb, pl.ps, in, func(prev string) (*engine.Record, error) {
		return engine.DecidePrepared(ctx, pl.ps, rb, pin, prev)
	})
}

// evaluateLive collects the gate's facts from the live systems, then decides on them.
func evaluateLive(cmd *cobra.Command, f evaluateFlags, gate engine.Gate) (*engine.Record, error) {
	ctx := cmd.Context()
	rb, in, err := gatherLive(ctx, cmd, liveFlags{
		runbook: f.runbook, env: f.env, gate: f.gate, now: f.now, cutoverAt: f.cutoverAt,
		stepStartedAt: f.stepStartedAt, launchID: f.launchID, baseline: f.baseline, archive: f.archive, step: f.step, deadline: f.deadline,
	})
	if err != nil {
		return nil, err
	}
	if f.metrics != nil {
		f.metrics.ObserveInputFacts(in.Facts)
	}
	if f.writeInput != "" {
		if err := writeJSON(f.writeInput, in); err != nil {
			return nil, err
		}
	}
	ps, err := engine.LoadGatePolicies(ctx, gate, f.policies...)
	if err != nil {
		return nil, err
	}
	return decideArchived(ctx, archiveTo{f.archive, f.signKey}, rb, ps, in, func(prev string) (*engine.Record, error) {
		return engine.Decide(ctx, ps, rb, in, prev)
	})
}

// pushMetrics pushes this evaluation's metrics to --pushgateway: the decision, or an evaluation
// error when none could be made, and the facts' collection. A failed push is only a warning:
// the gate decision and its exit code must not depend on whether gatekeeper's own monitoring
// is reachable, or a Pushgateway outage would hold a launch (or a retry pass it) for a reason
// that says nothing about the launch.
func pushMetrics(cmd *cobra.Command, f evaluateFlags, rec *engine.Record, decideErr error, took time.Duration) {
	grouping := metrics.Grouping(f.launchID, f.env, f.gate)
	if decideErr != nil || rec == nil {
		f.metrics.ObserveError(f.gate)
	} else {
		f.metrics.ObserveDecision(rec, took)
		grouping = metrics.Grouping(rec.LaunchID, rec.Environment, string(rec.Gate))
	}
	if err := f.metrics.Push(cmd.Context(), f.pushgateway, grouping); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "gatekeeper: warning: %v (the decision stands)\n", err)
	}
}

// lessGC turns garbage collection off while a decision is made, unless GOGC says
// otherwise, and returns the function that turns it back on. A decision is one burst of
// allocation (about 40 MB for the example launch) shortly before the process exits:
// collecting meanwhile costs about a third of its CPU time and frees memory nothing
// reuses. The memory limit still starts the collector for an unusually large input.
// Calls may nest or overlap (tests run commands in process); the last one out restores.
func lessGC() func() {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	gc.Lock()
	defer gc.Unlock()
	if gc.depth == 0 {
		gc.percent = debug.SetGCPercent(-1)
		gc.limit = debug.SetMemoryLimit(evaluateMemoryLimit)
	}
	gc.depth++
	return func() {
		gc.Lock()
		defer gc.Unlock()
		if gc.depth--; gc.depth == 0 {
			debug.SetMemoryLimit(gc.limit)
			debug.SetGCPercent(gc.percent)
		}
	}
}

var gc struct {
	sync.Mutex
	depth   int
	percent int
	limit   int64
}

// evaluateMemoryLimit is the heap a decision may grow to before the collector runs.
const evaluateMemoryLimit = 512 << 20

// checkFactsCoordinates refuses a facts file recorded for another gate, step or environment:
// deciding one gate on another gate's facts would explain itself with the wrong evidence.
func checkFactsCoordinates(f evaluateFlags, gate engine.Gate, step *int, ff *engine.FactsFile) error {
	if ff.Gate != "" && ff.Gate != string(gate) {
		return fmt.Errorf("%s: facts were collected for gate %q, not %q", f.factsPath, ff.Gate, gate)
	}
	if ff.Environment != "" && ff.Environment != f.env {
		return fmt.Errorf("%s: facts were collected in environment %q, not %q", f.factsPath, ff.Environment, f.env)
	}
	if step != nil && ff.Step != nil && *ff.Step != *step {
		return fmt.Errorf("%s: facts were collected for step %d, not %d", f.factsPath, *ff.Step, *step)
	}
	return nil
}

func pickNow(flag, fromFile string) (time.Time, error) {
	s := firstNonEmpty(flag, fromFile)
	if s == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("now %q: want an RFC 3339 time such as 2026-11-25T14:05:00Z", s)
	}
	return t, nil
}

// writeJSON writes v indented with sorted keys, creating the file anew.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
