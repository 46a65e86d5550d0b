package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The launch hooks run in a process group that gatekeeper ends when the hook exits, the way a
// CI step's leftovers are cleaned up. An instance a deploy hook starts must outlive its hook,
// as a real deployment does, so `start` runs it in a session of its own and records its pid
// for `stop` (the rollback hook, the next deploy, or the test's cleanup).

// StartOptions configure Start.
type StartOptions struct {
	PIDFile  string        // where the pid goes; Start refuses when it names a live process
	LogFile  string        // the instance's stdout and stderr, appended
	ReadyURL string        // polled until it answers 2xx
	Timeout  time.Duration // for ReadyURL
	// MinReady is how long the instance must stay up after it is first ready, like a
	// Deployment's minReadySeconds; it also lets monitoring scrape the new instance before
	// traffic reaches it, so its first requests count as an increase from zero.
	MinReady time.Duration
}

// Start runs this binary with args (e.g. serve --addr ...) detached in its own session and
// waits until it is ready. It fails, and stops the process, when it exits or is not ready in
// time.
func Start(ctx context.Context, args []string, o StartOptions) (pid int, err error) {
	if o.PIDFile == "" || o.LogFile == "" || o.ReadyURL == "" || len(args) == 0 {
		return 0, errors.New("start: --pid-file, --log-file, --ready and the command after -- are required")
	}
	if pid, alive := readPID(o.PIDFile); alive {
		return 0, fmt.Errorf("start: already running as pid %d (%s); stop it first", pid, o.PIDFile)
	}
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("start: %w", err)
	}
	logf, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, fmt.Errorf("start: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start: %w", err)
	}
	pid = cmd.Process.Pid
	if err := os.WriteFile(o.PIDFile, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return 0, fmt.Errorf("start: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	readyCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case err := <-exited:
			cancel(fmt.Errorf("exited: %v", err))
		case <-readyCtx.Done():
		}
	}()
	if err := WaitReady(readyCtx, o.ReadyURL, o.Timeout); err != nil {
		if cause := context.Cause(readyCtx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
		_ = Stop(o.PIDFile, 2*time.Second)
		return 0, fmt.Errorf("start: pid %d not ready: %w; log %s:\n%s", pid, err, o.LogFile, logTail(o.LogFile))
	}
	if o.MinReady > 0 {
		select {
		case <-readyCtx.Done():
			_ = Stop(o.PIDFile, 2*time.Second)
			return 0, fmt.Errorf("start: pid %d %v within --min-ready %s; log %s:\n%s", pid, context.Cause(readyCtx), o.MinReady, o.LogFile, logTail(o.LogFile))
		case <-time.After(o.MinReady):
		}
	}
	return pid, nil
}

// Stop ends the process in pidFile: SIGTERM, then SIGKILL after grace. No pid file, or a
// process that is already gone, is not an error: the instance is stopped either way.
func Stop(pidFile string, grace time.Duration) error {
	pid, alive := readPID(pidFile)
	if pid == 0 {
		return nil
	}
	if alive {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		if !waitGone(pid, grace) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			if !waitGone(pid, 2*time.Second) {
				return fmt.Errorf("stop: pid %d survived SIGKILL", pid)
			}
		}
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("stop: %w", err)
	}
	return nil
}

// readPID returns the pid in the file (0 when there is none) and whether it is running.
func readPID(file string) (int, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, running(pid)
}

// running reports a live process; a zombie (exited, not yet reaped by whoever adopted it)
// counts as gone.
func running(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) state ...: comm may hold spaces and parentheses, so read after the last ')'.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

func waitGone(pid int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for running(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// logTail is the end of a log file, for errors.
func logTail(file string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 2048 {
		_, _ = f.Seek(-2048, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}
