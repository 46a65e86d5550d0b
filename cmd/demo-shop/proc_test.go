package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cliEnv makes the test binary act as demo-shop, so Start can run "itself" as a detached
// instance the way the real binary does.
const cliEnv = "DEMO_SHOP_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestStartStop(t *testing.T) {
	t.Setenv(cliEnv, "1")
	dir := t.TempDir()
	addr := freeAddr(t)
	o := StartOptions{PIDFile: filepath.Join(dir, "canary.pid"), LogFile: filepath.Join(dir, "canary.log"), ReadyURL: "http://" + addr + "/healthz", Timeout: 10 * time.Second}
	args := []string{"serve", "--addr", addr, "--track", "canary", "--release", "1.1.0"}
	o.MinReady = 300 * time.Millisecond
	began := time.Now()
	pid, err := Start(context.Background(), args, o)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < o.MinReady {
		t.Errorf("Start returned after %s, before --min-ready %s", took, o.MinReady)
	}
	t.Cleanup(func() { _ = Stop(o.PIDFile, time.Second) })
	if trackOf(t, "http://"+addr) != "canary" {
		t.Fatal("the started instance does not serve the canary")
	}
	if _, err := Start(context.Background(), args, o); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Start: %v, want already running", err)
	}
	if err := Stop(o.PIDFile, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if running(pid) {
		t.Errorf("pid %d still running after Stop", pid)
	}
	if _, err := os.Stat(o.PIDFile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
	if err := Stop(o.PIDFile, time.Second); err != nil {
		t.Errorf("Stop without a pid file: %v", err)
	}
	// The instance logged its start line and its graceful exit left no error.
	if b, _ := os.ReadFile(o.LogFile); !strings.Contains(string(b), "canary 1.1.0") {
		t.Errorf("log: %s", b)
	}
}

func TestStartFailures(t *testing.T) {
	t.Setenv(cliEnv, "1")
	dir := t.TempDir()
	addr := freeAddr(t)
	o := StartOptions{PIDFile: filepath.Join(dir, "x.pid"), LogFile: filepath.Join(dir, "x.log"), ReadyURL: "http://" + addr + "/healthz", Timeout: 10 * time.Second}
	start := time.Now()
	_, err := Start(context.Background(), []string{"serve", "--addr", addr, "--track", "canary", "--release", "7.0.0"}, o)
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), `unknown release "7.0.0"`) {
		t.Errorf("Start of a failing instance: %v; want its exit and log", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s: an exited instance must not wait for the timeout", time.Since(start))
	}
	if _, err := Start(context.Background(), nil, o); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("Start without a command: %v", err)
	}
}
