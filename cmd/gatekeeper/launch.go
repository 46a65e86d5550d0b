package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/launch"
)

func newLaunchCmd() *cobra.Command {
	var (
		f                runFlags
		dryRun, announce bool
		windowAt         string
	)
	cmd := &cobra.Command{
		Use:   "launch --runbook R --env staging|production --archive DIR [--dry-run | --announce --window-at T]",
		Short: "Run the whole launch: gates, hooks, canary steps, the window, rollback",
		Long: `launch runs the runbook's sequence mechanically: the pre-cutover gate, the deploy hook, the
post-deploy gate, the smoke hook (time-boxed to the smoke budget) and the post-smoke gate,
then each canary step (shift hook, bake with the canary gate at the interval, promoted only
on go at the end of the bake) or the blue-green switch, then the monitoring window. Any
rollback decision runs the rollback hook and verifies the rollback at the post-rollback gate.
Every decision, hook run, notification and the outcome are appended to the archive, and the
launch report is written into it (report.md, report.html).

Exit codes: 0 complete, 1 could not decide or interrupted, 2 stopped (no-go before cutover:
nothing was changed; or held past max_unknown), 3 rolled back and verified, 6 rollback not
verified.

--dry-run prints the plan without running anything. --announce sends the "announced"
notification for the window starting at --window-at, ahead of time: the pre-cutover gate
needs it delivered at least the environment's announce_lead before cutover.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dryRun {
				rb, err := engine.LoadRunbook(f.runbook)
				if err != nil {
					return err
				}
				return launch.WritePlan(cmd.OutOrStdout(), rb, f.env, f.launchID, f.archive)
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			r, err := f.runner(ctx, cmd)
			if err != nil {
				return err
			}
			if announce {
				if windowAt == "" {
					return fmt.Errorf("--announce needs --window-at T (RFC 3339): when the launch window starts")
				}
				at, err := time.Parse(time.RFC3339, windowAt)
				if err != nil {
					return fmt.Errorf("--window-at %q: want an RFC 3339 time such as 2026-11-25T13:00:00Z", windowAt)
				}
				return r.Announce(ctx, at)
			}
			res, err := r.Launch(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "gatekeeper: launch %s: %s: %s\n", r.LaunchID(), res.Outcome, res.Reason)
			if res.ExitCode != engine.ExitGo {
				return exitCode(res.ExitCode)
			}
			return nil
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&dryRun, "dry-run", false, "print the plan (gates, hooks, steps, bake times, window) and run nothing")
	fl.BoolVar(&announce, "announce", false, "only send the window announcement (with --window-at)")
	fl.StringVar(&windowAt, "window-at", "", "with --announce: when the launch window starts, RFC 3339")
	return cmd
}
