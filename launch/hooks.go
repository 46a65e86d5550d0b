package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Hook names, as the runbook's hooks block and the archived "hook" events spell them.
const (
	HookDeploy   = "deploy"
	HookSmoke    = "smoke"
	HookShift    = "shift"
	HookSwitch   = "switch"
	HookRollback = "rollback"
)

// maxTail bounds the output a hook event keeps: the end of the output, where errors are.
const maxTail = 4 << 10

// killGrace is how long a hook may take to exit after SIGTERM before it is killed.
const killGrace = 5 * time.Second

// Hook is one run of a runbook hook.
type Hook struct {
	Name    string
	Step    *int // canary step, for shift hooks
	Command []string
	Env     []string // KEY=VALUE added to gatekeeper's own environment
	Dir     string
	Timeout time.Duration
	// Secrets are values redacted from the output tail (besides anything credential-shaped).
	Secrets []string
	// Output, if set, receives each line the hook prints as it prints it, redacted, so a
	// long deploy shows its progress.
	Output func(line string)
}

// HookResult is what a hook run did; it is archived as a "hook" event.
type HookResult struct {
	Name       string
	Step       *int
	Command    []string
	ExitCode   int // -1 when the command could not start or was killed
	StartedAt  time.Time
	FinishedAt time.Time
	TimedOut   bool
	OutputTail string // redacted, at most maxTail bytes
	Err        string // why it did not run or did not finish, redacted
}

// OK reports a hook that ran to completion and exited 0.
func (r HookResult) OK() bool { return r.ExitCode == 0 && !r.TimedOut && r.Err == "" }

// Summary is a short description for messages and the deployment fact's detail.
func (r HookResult) Summary() string {
	switch {
	case r.TimedOut:
		return fmt.Sprintf("%s hook timed out after %s", r.Name, r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
	case r.Err != "" && r.ExitCode < 0:
		return fmt.Sprintf("%s hook did not run: %s", r.Name, r.Err)
	default:
		return fmt.Sprintf("%s hook exited %d", r.Name, r.ExitCode)
	}
}

// Data is the hook event's data (archive "hook" event, docs/facts.md).
func (r HookResult) Data() map[string]any {
	cmd := make([]any, len(r.Command))
	for i, c := range r.Command {
		cmd[i] = c
	}
	d := map[string]any{
		"name": r.Name, "command": cmd, "exit_code": r.ExitCode,
		"duration_ms": r.FinishedAt.Sub(r.StartedAt).Milliseconds(), "timed_out": r.TimedOut,
		"output_tail": r.OutputTail,
		"started_at":  r.StartedAt.UTC().Format(time.RFC3339Nano), "finished_at": r.FinishedAt.UTC().Format(time.RFC3339Nano),
	}
	if r.Step != nil {
		d["step"] = *r.Step
	} else {
		d["step"] = nil
	}
	if r.Err != "" {
		d["error"] = r.Err
	}
	return d
}

// HookRunner runs hooks; the default runs the command, tests may replace it.
type HookRunner interface {
	Run(ctx context.Context, h Hook, clock Clock) HookResult
}

// ExecRunner runs a hook's argv directly, without a shell, in its own process group so
// that a timeout or an interruption stops everything it started.
type ExecRunner struct{}

// Run runs h and waits for it, at most h.Timeout.
func (ExecRunner) Run(ctx context.Context, h Hook, clock Clock) HookResult {
	res := HookResult{Name: h.Name, Step: h.Step, Command: h.Command, ExitCode: -1, StartedAt: clock.Now()}
	finish := func() HookResult {
		res.FinishedAt = clock.Now()
		res.Err = engine.Redact(res.Err, h.Secrets...)
		return res
	}
	if len(h.Command) == 0 {
		res.Err = "no command"
		return finish()
	}
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
	cmd.Dir = h.Dir
	cmd.Env = append(os.Environ(), h.Env...)
	out := &tail{max: maxTail}
	var w io.Writer = out
	if h.Output != nil {
		lw := &lineWriter{emit: func(l string) { h.Output(engine.Redact(l, h.Secrets...)) }}
		defer lw.flush()
		w = io.MultiWriter(out, lw)
	}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The whole group: a script's children would otherwise outlive it.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	cmd.WaitDelay = killGrace
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // leftovers of the group, if any
	}
	res.OutputTail = engine.Redact(out.String(), h.Secrets...)
	var exit *exec.ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.TimedOut = true
		res.Err = fmt.Sprintf("timed out after %s", h.Timeout)
	case ctx.Err() != nil:
		res.Err = "interrupted"
	case err == nil:
		res.ExitCode = 0
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	default:
		res.Err = err.Error()
	}
	return finish()
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu        sync.Mutex
	max       int
	buf       []byte
	truncated bool
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
		t.truncated = true
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	cut := t.truncated
	if len(b) > t.max {
		b, cut = b[len(b)-t.max:], true
	}
	s := strings.ToValidUTF8(string(b), "")
	if cut {
		s = "…" + s
	}
	return s
}

// lineWriter calls emit with each complete line written to it (at most maxTail bytes each).
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	emit func(string)
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			if len(l.buf) > maxTail {
				l.emit(strings.ToValidUTF8(string(l.buf), ""))
				l.buf = l.buf[:0]
			}
			return len(p), nil
		}
		l.emit(strings.ToValidUTF8(strings.TrimRight(string(l.buf[:i]), "\r"), ""))
		l.buf = l.buf[i+1:]
	}
}

// flush emits what is left after the last newline.
func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(strings.ToValidUTF8(string(l.buf), ""))
		l.buf = nil
	}
}
