package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/live"
)

// liveFlags are the launch coordinates shared by collect and a live evaluate.
type liveFlags struct {
	runbook, env, gate, now, cutoverAt, stepStartedAt, launchID, baseline, archive string
	step                                                                           int
	deadline                                                                       time.Duration
}

func (f *liveFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.runbook, "runbook", "", "runbook file (CUE, YAML or JSON)")
	fl.StringVar(&f.env, "env", "", "environment: staging or production")
	fl.StringVar(&f.gate, "gate", "", "gate: pre-cutover, post-deploy, post-smoke, canary, window, post-rollback")
	fl.IntVar(&f.step, "step", 0, "canary step percent (canary gate only)")
	fl.StringVar(&f.now, "now", "", "run the collection as if at this time, RFC 3339, for recorded or backfilled data (default: the wall clock)")
	fl.StringVar(&f.cutoverAt, "cutover-at", "", "cutover time, RFC 3339")
	fl.StringVar(&f.stepStartedAt, "step-started-at", "", "time traffic shifted to this canary step, RFC 3339")
	fl.StringVar(&f.launchID, "launch-id", "", "launch id (default service-version-environment)")
	fl.StringVar(&f.baseline, "baseline", "", "facts collected at pre-cutover, whose integrity fact is the data-integrity baseline")
	fl.DurationVar(&f.deadline, "deadline", live.DefaultDeadline, "overall collection deadline")
	fl.StringVar(&f.archive, "archive", "", "the launch archive: its pre-cutover integrity run is the baseline and its earlier decisions the history")
}

func newCollectCmd() *cobra.Command {
	var f liveFlags
	cmd := &cobra.Command{
		Use:   "collect --runbook R --env E --gate G [--step PCT]",
		Short: "Gather a gate's facts from the live systems and print the policy input",
		Long: `collect gathers every fact the gate needs from the systems the runbook's environment
names (Prometheus, health and version endpoints, integrations, smoke reports, the database,
the UAT record, the deployment status), concurrently and with provenance, and prints the
policy input that 'evaluate --facts' accepts. It exits 0 once the facts are written, even
when a source failed: the failure is in the facts, and no gate is go on it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, in, err := gatherLive(cmd.Context(), cmd, f)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(in)
		},
	}
	f.register(cmd)
	for _, name := range []string{"runbook", "env", "gate"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// gatherLive collects a gate's facts and assembles the policy input from them.
func gatherLive(ctx context.Context, cmd *cobra.Command, f liveFlags) (*engine.Runbook, *engine.Input, error) {
	gate, err := engine.ParseGate(f.gate)
	if err != nil {
		return nil, nil, err
	}
	var step *int
	if cmd.Flags().Changed("step") {
		step = &f.step
	}
	rb, err := engine.LoadRunbook(f.runbook)
	if err != nil {
		return nil, nil, err
	}
	var fixedNow time.Time
	if f.now != "" {
		if fixedNow, err = time.Parse(time.RFC3339, f.now); err != nil {
			return nil, nil, fmt.Errorf("now %q: want an RFC 3339 time such as 2026-11-25T14:05:00Z", f.now)
		}
	}
	params := engine.Params{Gate: gate, Step: step, Environment: f.env, LaunchID: f.launchID,
		CutoverAt: f.cutoverAt, StepStartedAt: f.stepStartedAt, Now: fixedNow}
	in, err := live.Gather(ctx, rb, params, live.Options{Deadline: f.deadline, Archive: f.archive, Baseline: f.baseline})
	if err != nil {
		return nil, nil, err
	}
	return rb, in, nil
}
