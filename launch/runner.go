// Package launch runs a launch the way its runbook describes it, mechanically: the gates in
// order, the runbook's hooks between them, canary bakes and the monitoring window evaluated
// at the runbook's interval, rollback with its verification, notifications, and every
// decision, hook run, delivery and outcome appended to the launch archive, so the report and
// a replay tell the whole launch from the archive alone.
//
// The loops run on a Clock, so tests drive a whole window through simulated time.
package launch

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/live"
	"github.com/gatekeeper-dev/gatekeeper/notify"
)

// Archive event types this package appends (archive.Event.Type).
const (
	EventHook         = "hook"
	EventNotification = "notification"
	EventOutcome      = "outcome"
	EventInterrupted  = "interrupted"
)

// Outcomes of a launch or a watch, as the "outcome" event records them.
const (
	OutcomeCompleted      = "completed"
	OutcomeStopped        = "stopped"
	OutcomeRolledBack     = "rolled-back"
	OutcomeRollbackFailed = "rollback-failed"
	OutcomeInterrupted    = "interrupted"
)

// GatherFunc collects a gate's facts and assembles its policy input.
type GatherFunc func(ctx context.Context, p engine.Params) (*engine.Input, error)

// Observer is told about every decision (gatekeeper's own metrics implement it).
type Observer interface {
	ObserveDecision(rec *engine.Record, took time.Duration)
	ObserveInputFacts(facts map[string]any)
	ObserveError(gate string)
	SetWindowRemaining(d time.Duration)
}

// Interrupted is the cause a caller cancels the launch's context with when a signal
// arrives; the runner archives it as the "interrupted" event.
type Interrupted struct{ Signal string }

// Error says which signal interrupted the launch.
func (i Interrupted) Error() string { return "interrupted by " + i.Signal }

// Runner makes a launch's decisions and runs its hooks, appending everything to the archive.
type Runner struct {
	rb       *engine.Runbook
	env      engine.EnvSpec
	launchID string
	dir      string
	key      ed25519.PrivateKey
	policies []string
	clock    Clock
	gather   GatherFunc
	hooks    HookRunner
	observer Observer
	view     View
	getenv   func(string) string
	notifyOp []notify.Option
	deadline time.Duration
	sources  []engine.Source

	arch     *archive.Archive
	observed *Observed
	psMu     sync.Mutex
	ps       map[engine.Gate]*engine.PolicySet

	cutoverAt     time.Time
	stepStartedAt time.Time
	holding       bool // inside a hold episode: "hold" is notified once per episode
	traffic       int  // percent of traffic on the new build, as far as the hooks moved it
	where         struct {
		gate engine.Gate
		step *int
		hook string // the hook running, if any
	}
}

// Option configures a Runner.
type Option func(*Runner)

// WithClock sets the clock (default the wall clock).
func WithClock(c Clock) Option { return func(r *Runner) { r.clock = c } }

// WithGather replaces live collection (tests, recorded facts).
func WithGather(g GatherFunc) Option { return func(r *Runner) { r.gather = g } }

// WithSources replaces the live collectors while keeping live.Gather's archive handling.
func WithSources(s ...engine.Source) Option { return func(r *Runner) { r.sources = s } }

// WithHookRunner replaces how hooks run (default ExecRunner).
func WithHookRunner(h HookRunner) Option { return func(r *Runner) { r.hooks = h } }

// WithObserver reports every decision to o (gatekeeper's metrics).
func WithObserver(o Observer) Option { return func(r *Runner) { r.observer = o } }

// WithView shows the launch as it goes (default: nothing).
func WithView(v View) Option { return func(r *Runner) { r.view = v } }

// WithSigningKey signs every appended record and event.
func WithSigningKey(k ed25519.PrivateKey) Option { return func(r *Runner) { r.key = k } }

// WithPolicies loads these directories of extra Rego policies beside the built-ins.
func WithPolicies(dirs ...string) Option { return func(r *Runner) { r.policies = dirs } }

// WithLaunchID sets the launch id (default service-version-environment).
func WithLaunchID(id string) Option { return func(r *Runner) { r.launchID = id } }

// WithGetenv sets how notification URLs are read (default os.Getenv).
func WithGetenv(f func(string) string) Option { return func(r *Runner) { r.getenv = f } }

// WithNotifyOptions passes options to every notification delivery.
func WithNotifyOptions(o ...notify.Option) Option {
	return func(r *Runner) { r.notifyOp = append(r.notifyOp, o...) }
}

// WithDeadline bounds each collection (default live.DefaultDeadline).
func WithDeadline(d time.Duration) Option { return func(r *Runner) { r.deadline = d } }

// New returns a Runner for the launch of rb to env, archiving into dir (created if missing).
func New(rb *engine.Runbook, env, dir string, opts ...Option) (*Runner, error) {
	e, ok := rb.Env(env)
	if !ok {
		return nil, fmt.Errorf("environment %q is not in runbook %s", env, rb.Path)
	}
	if dir == "" {
		return nil, errors.New("launch: an archive directory is required")
	}
	r := &Runner{rb: rb, env: e, dir: dir, clock: RealClock(), hooks: ExecRunner{}, view: nopView{},
		getenv: os.Getenv, deadline: live.DefaultDeadline, ps: map[engine.Gate]*engine.PolicySet{}}
	for _, o := range opts {
		o(r)
	}
	if r.launchID == "" {
		r.launchID = engine.DefaultLaunchID(rb, env)
	}
	if r.gather == nil {
		r.gather = func(ctx context.Context, p engine.Params) (*engine.Input, error) {
			return live.Gather(ctx, rb, p, live.Options{Deadline: r.deadline, Archive: r.dir, Sources: r.sources})
		}
	}
	// One sample per decision over the longest stretch a launch watches, with room to spare.
	iv := max(rb.Spec.Scaled(rb.Spec.Window.Interval), time.Second)
	total := rb.Spec.Scaled(rb.Spec.Window.Duration)
	for _, s := range rb.Spec.Strategy.Steps {
		total += rb.Spec.Scaled(s.Bake)
	}
	r.observed = NewObserved(int(2*total/iv) + 100)
	a, err := archive.OpenOrCreate(dir, r.launchID, env)
	if err != nil {
		return nil, err
	}
	if r.key != nil {
		a.SignWith(r.key)
	}
	r.arch = a
	if err := r.seedObserved(); err != nil {
		return nil, err
	}
	return r, nil
}

// seedObserved continues gatekeeper's own probe history from the archive's last decision
// that carries one.
func (r *Runner) seedObserved() error {
	var last map[string]any
	err := r.arch.Walk(func(_ int, _ *archive.Entry, input []byte) error {
		if !bytes.Contains(input, []byte(observedQuery)) {
			return nil
		}
		var in struct {
			Facts map[string]any `json:"facts"`
		}
		if err := json.Unmarshal(input, &in); err != nil {
			return err
		}
		last = in.Facts
		return nil
	})
	if err != nil {
		return fmt.Errorf("read archive %s: %w", r.dir, err)
	}
	if last != nil {
		r.observed.Seed(last)
	}
	return nil
}

// LaunchID is the launch's id.
func (r *Runner) LaunchID() string { return r.launchID }

// Dir is the launch archive's directory.
func (r *Runner) Dir() string { return r.dir }

// SetCutover sets the cutover time the later gates measure from (watch on its own).
func (r *Runner) SetCutover(t time.Time) { r.cutoverAt = t.UTC() }

// SetStepStarted sets when traffic shifted to the current canary step.
func (r *Runner) SetStepStarted(t time.Time) { r.stepStartedAt = t.UTC() }

// policySet loads (once) the policies of gate.
func (r *Runner) policySet(ctx context.Context, gate engine.Gate) (*engine.PolicySet, error) {
	r.psMu.Lock()
	defer r.psMu.Unlock()
	if ps, ok := r.ps[gate]; ok {
		return ps, nil
	}
	ps, err := engine.LoadGatePolicies(ctx, gate, r.policies...)
	if err != nil {
		return nil, err
	}
	r.ps[gate] = ps
	return ps, nil
}

// Decide collects the facts of gate (and step), adds what gatekeeper itself observed,
// decides and appends the record to the archive.
func (r *Runner) Decide(ctx context.Context, gate engine.Gate, step *int) (*engine.Record, error) {
	r.where.gate, r.where.step, r.where.hook = gate, step, ""
	ps, err := r.policySet(ctx, gate)
	if err != nil {
		return nil, err
	}
	p := engine.Params{Gate: gate, Step: step, Environment: r.env.Name, LaunchID: r.launchID, Now: r.clock.Now()}
	if !r.cutoverAt.IsZero() && gate != engine.PreCutover {
		p.CutoverAt = stamp(r.cutoverAt)
	}
	if gate == engine.Canary && !r.stepStartedAt.IsZero() {
		p.StepStartedAt = stamp(r.stepStartedAt)
	}
	start := time.Now()
	in, err := r.gather(ctx, p)
	if err != nil {
		if r.observer != nil {
			r.observer.ObserveError(string(gate))
		}
		return nil, fmt.Errorf("gate %s: %w", gate, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err // interrupted while collecting: nothing to decide on
	}
	if now, err := time.Parse(time.RFC3339, in.Now); err == nil {
		r.observed.Apply(in.Facts, now)
	}
	e, err := archive.AppendDecision(r.dir, r.key, r.rb, ps, in, func(prev string) (*engine.Record, error) {
		return engine.Decide(ctx, ps, r.rb, in, prev)
	})
	if err != nil {
		if r.observer != nil {
			r.observer.ObserveError(string(gate))
		}
		return nil, fmt.Errorf("gate %s: %w", gate, err)
	}
	if r.observer != nil {
		r.observer.ObserveDecision(&e.Record, time.Since(start))
		r.observer.ObserveInputFacts(in.Facts)
	}
	return &e.Record, nil
}

// event appends one event to the archive at the clock's time.
func (r *Runner) event(typ string, data map[string]any) error {
	_, err := r.arch.AppendEvent(archive.Event{Type: typ, At: r.clock.Now().Format(time.RFC3339Nano), Data: data})
	if err != nil {
		return fmt.Errorf("archive %s event: %w", typ, err)
	}
	return nil
}

// runHook runs one of the runbook's hooks and archives its result.
func (r *Runner) runHook(ctx context.Context, name string, argv []string, step *int, timeout time.Duration, extra ...string) (HookResult, error) {
	if timeout <= 0 && r.env.Hooks != nil {
		timeout = r.env.Hooks.Timeout
	}
	h := Hook{Name: name, Step: step, Command: argv, Dir: filepath.Dir(r.rb.Path), Timeout: timeout,
		Env: append(r.hookEnv(step), extra...), Secrets: r.secrets(),
		Output: func(line string) { r.view.Message(name + "| " + line) }}
	r.view.Message(fmt.Sprintf("%s hook: %v", name, argv))
	r.where.hook = name
	res := r.hooks.Run(ctx, h, r.clock)
	r.view.Message(res.Summary())
	if err := r.event(EventHook, res.Data()); err != nil {
		return res, err
	}
	return res, nil
}

// hookEnv is what a hook learns about the launch from its environment.
func (r *Runner) hookEnv(step *int) []string {
	s := r.rb.Spec
	st := ""
	if step != nil {
		st = fmt.Sprint(*step)
	}
	return []string{
		"GATEKEEPER_RELEASE_VERSION=" + s.Release.Version,
		"GATEKEEPER_RELEASE_COMMIT=" + s.Release.Commit,
		"GATEKEEPER_RELEASE_IMAGE=" + s.Release.Image,
		"GATEKEEPER_ROLLBACK_VERSION=" + s.RollbackTarget.Version,
		"GATEKEEPER_ROLLBACK_COMMIT=" + s.RollbackTarget.Commit,
		"GATEKEEPER_ROLLBACK_IMAGE=" + s.RollbackTarget.Image,
		"GATEKEEPER_STEP=" + st,
		"GATEKEEPER_ENV=" + r.env.Name,
		"GATEKEEPER_LAUNCH_ID=" + r.launchID,
		"GATEKEEPER_SERVICE=" + s.Service,
		"GATEKEEPER_ARCHIVE=" + r.dir,
	}
}

// secrets are the values of every variable the runbook names as holding a secret: they are
// redacted from hook output before it is archived.
func (r *Runner) secrets() []string {
	var names []string
	e := r.env
	for _, n := range e.Notifications {
		names = append(names, n.URLEnv)
	}
	if a := e.Prometheus.Auth; a != nil {
		names = append(names, a.BearerTokenEnv, a.PasswordEnv)
	}
	if e.Database != nil {
		names = append(names, e.Database.DSNEnv)
	}
	if e.DeploymentStatus != nil {
		names = append(names, e.DeploymentStatus.Env)
	}
	names = append(names, "GATEKEEPER_SIGNING_KEY")
	var out []string
	for _, n := range names {
		if n == "" {
			continue
		}
		if v := r.getenv(n); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// notify sends a launch event to the environment's channels and archives every delivery.
func (r *Runner) notify(ctx context.Context, typ, reason string, fields map[string]string) error {
	_, err := r.deliver(ctx, typ, reason, fields)
	return err
}

// deliver is notify returning the deliveries.
func (r *Runner) deliver(ctx context.Context, typ, reason string, fields map[string]string) ([]notify.Delivery, error) {
	if len(r.env.Notifications) == 0 {
		return nil, nil
	}
	s := r.rb.Spec
	ev := notify.Event{Type: typ, LaunchID: r.launchID, Environment: r.env.Name, Service: s.Service,
		Version: s.Release.Version, Commit: s.Release.Commit, Image: s.Release.Image, At: r.clock.Now(),
		Reason: reason, Fields: fields}
	// Deliveries go out even while the launch is being interrupted: the channels must hear.
	ds := notify.Send(context.WithoutCancel(ctx), r.env.Notifications, ev, r.getenv, r.notifyOp...)
	for _, d := range ds {
		data := map[string]any{"channel": d.Channel, "kind": d.Kind, "event": d.Event, "status_code": d.StatusCode,
			"delivered": d.Delivered, "attempts": d.Attempts, "at": d.At}
		if d.Error != "" {
			data["error"] = d.Error
		}
		if reason != "" {
			data["reason"] = reason
		}
		r.view.Message(fmt.Sprintf("notify %s: %s %s", d.Channel, d.Event, deliveredWord(d)))
		if err := r.event(EventNotification, data); err != nil {
			return ds, err
		}
	}
	return ds, nil
}

func deliveredWord(d notify.Delivery) string {
	if d.Delivered {
		return fmt.Sprintf("delivered (%d)", d.StatusCode)
	}
	if d.Error != "" {
		return "NOT delivered: " + d.Error
	}
	return fmt.Sprintf("NOT delivered (%d)", d.StatusCode)
}

// interrupted archives the interruption (and the launch's outcome) when ctx was cancelled by
// a signal or otherwise; it reports whether it was.
func (r *Runner) interrupted(ctx context.Context) bool {
	if ctx.Err() == nil {
		return false
	}
	sig := "cancel"
	var in Interrupted
	if errors.As(context.Cause(ctx), &in) {
		sig = in.Signal
	}
	data := map[string]any{"signal": sig, "gate": string(r.where.gate), "step": nil}
	if r.where.step != nil {
		data["step"] = *r.where.step
	}
	if r.where.hook != "" {
		data["hook"] = r.where.hook
	}
	r.view.Message("interrupted by " + sig + ": archiving")
	_ = r.event(EventInterrupted, data)
	return true
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
