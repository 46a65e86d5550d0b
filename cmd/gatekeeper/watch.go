package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/launch"
	"github.com/gatekeeper-dev/gatekeeper/live"
	"github.com/gatekeeper-dev/gatekeeper/metrics"
)

// runFlags are what watch and launch share.
type runFlags struct {
	runbook, env, archive, launchID, signKey, metricsAddr string
	policies                                              []string
	deadline                                              time.Duration
}

func (f *runFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.runbook, "runbook", "", "runbook file (CUE, YAML or JSON)")
	fl.StringVar(&f.env, "env", "", "environment: staging or production")
	fl.StringVar(&f.archive, "archive", "", "the launch archive directory (created if missing): every decision and event is appended")
	fl.StringVar(&f.launchID, "launch-id", "", "launch id (default service-version-environment)")
	fl.StringVar(&f.signKey, "sign-key", "", "sign every appended record with this ed25519 private key file (default: the key in $"+signingKeyEnv+", if set)")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve gatekeeper's own metrics at http://ADDR/metrics meanwhile (e.g. 127.0.0.1:9464)")
	fl.StringArrayVar(&f.policies, "policies", nil, "directory of extra Rego policies, loaded beside the built-ins (repeatable)")
	fl.DurationVar(&f.deadline, "deadline", live.DefaultDeadline, "deadline of each collection")
	for _, name := range []string{"runbook", "env", "archive"} {
		_ = cmd.MarkFlagRequired(name)
	}
}

// runner loads the runbook and builds the launch runner with the view, metrics and key the
// flags ask for. ctx bounds the metrics server.
func (f *runFlags) runner(ctx context.Context, cmd *cobra.Command, opts ...launch.Option) (*launch.Runner, error) {
	rb, err := engine.LoadRunbook(f.runbook)
	if err != nil {
		return nil, err
	}
	key, err := archiveTo{f.archive, f.signKey}.signingKey()
	if err != nil {
		return nil, err
	}
	opts = append([]launch.Option{
		launch.WithSigningKey(key), launch.WithPolicies(f.policies...), launch.WithLaunchID(f.launchID),
		launch.WithDeadline(f.deadline), launch.WithView(launch.NewView(viewWriter(cmd.OutOrStdout()))),
	}, opts...)
	if f.metricsAddr != "" {
		m := metrics.New()
		bound, err := metrics.Serve(ctx, f.metricsAddr, m.Handler())
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "gatekeeper: metrics at http://%s%s\n", bound, metrics.Path)
		opts = append(opts, launch.WithObserver(m))
	}
	return launch.New(rb, f.env, f.archive, opts...)
}

// viewWriter is w, unwrapped to the process's stdout when that is what it is, so the view can
// tell a terminal.
func viewWriter(w io.Writer) io.Writer {
	if w == io.Writer(os.Stdout) {
		return os.Stdout
	}
	return w
}

// signalContext is ctx cancelled, with launch.Interrupted as its cause, on SIGINT or SIGTERM.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			name := "SIGINT"
			if s == syscall.SIGTERM {
				name = "SIGTERM"
			}
			cancel(launch.Interrupted{Signal: name})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(nil)
	}
}

func newWatchCmd() *cobra.Command {
	var (
		f                          runFlags
		gate, cutoverAt, stepStart string
		step                       int
	)
	cmd := &cobra.Command{
		Use:   "watch --runbook R --env E --archive DIR [--gate canary --step PCT]",
		Short: "Run the monitoring window (or a canary step's bake), deciding at the runbook's interval",
		Long: `watch evaluates the window gate at the runbook's interval for the window's duration,
appending every decision to the archive. The first rollback decision ends it at once (exit 3).
No-go holds: watching goes on; a criterion unknown for longer than max_unknown becomes a
rollback. It completes (exit 0) only when the policies say the window completed: its full
duration since cutover has passed with no unknown criterion and no current breach. Still on
hold max_unknown past the end, it exits 2. With --gate canary --step PCT it runs that step's
bake instead (done on go at the end of the bake). On a terminal it shows a live view; otherwise
one line per evaluation. SIGINT/SIGTERM archive an "interrupted" event and exit 1.

The cutover time is --cutover-at, else the archive's latest recorded cutover.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			g, err := engine.ParseGate(gate)
			if err != nil {
				return err
			}
			if g != engine.Window && g != engine.Canary {
				return fmt.Errorf("--gate %s: watch runs the window or a canary bake (window or canary)", g)
			}
			var stepp *int
			if cmd.Flags().Changed("step") {
				stepp = &step
			}
			if g == engine.Canary && stepp == nil {
				return fmt.Errorf("--gate canary needs --step PCT")
			}
			cut, err := cutoverTime(cutoverAt, f.archive)
			if err != nil {
				return err
			}
			r, err := f.runner(ctx, cmd)
			if err != nil {
				return err
			}
			r.SetCutover(cut)
			if stepp != nil {
				started := time.Now().UTC()
				if stepStart != "" {
					if started, err = time.Parse(time.RFC3339, stepStart); err != nil {
						return fmt.Errorf("--step-started-at %q: want an RFC 3339 time", stepStart)
					}
				}
				r.SetStepStarted(started)
			}
			res, err := r.RunWatch(ctx, g, stepp)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "gatekeeper: %s: %s\n", res.Outcome, res.Reason)
			if res.ExitCode != engine.ExitGo {
				return exitCode(res.ExitCode)
			}
			return nil
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&gate, "gate", "window", "window, or canary with --step")
	fl.IntVar(&step, "step", 0, "canary step percent (with --gate canary)")
	fl.StringVar(&cutoverAt, "cutover-at", "", "cutover time, RFC 3339 (default: the archive's latest recorded cutover)")
	fl.StringVar(&stepStart, "step-started-at", "", "with --gate canary: when traffic shifted to this step, RFC 3339 (default: now)")
	return cmd
}

// cutoverTime is the flag's time, else the cutover the archive's latest record carries.
func cutoverTime(flag, dir string) (time.Time, error) {
	if flag != "" {
		t, err := time.Parse(time.RFC3339, flag)
		if err != nil {
			return time.Time{}, fmt.Errorf("--cutover-at %q: want an RFC 3339 time such as 2026-11-25T13:20:00Z", flag)
		}
		return t, nil
	}
	var last string
	if a, err := archive.Open(dir); err == nil {
		err := a.Walk(func(_ int, e *archive.Entry, _ []byte) error {
			if e.CutoverAt != "" {
				last = e.CutoverAt
			}
			return nil
		})
		if err != nil {
			return time.Time{}, err
		}
	}
	if last == "" {
		return time.Time{}, fmt.Errorf("no cutover time: give --cutover-at (the archive %s records none)", dir)
	}
	return time.Parse(time.RFC3339, last)
}
