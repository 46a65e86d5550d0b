// Package proctest runs a real server binary for tests (Debian's prometheus, the Pushgateway):
// on a free loopback port, its output kept for failure messages, readiness polled, and SIGTERM
// (then SIGKILL) when the test ends.
package proctest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a running server process.
type Proc struct {
	// URL is the server's base URL, http://ADDR.
	URL  string
	name string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
	once sync.Once
}

// FreeAddr returns a loopback address with a port nothing listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// Start runs argv, which must listen on addr, stops it when the test ends, and waits until
// GET readyPath answers 200 within limit; a server that exits or never gets ready fails the
// test with its output.
func Start(t testing.TB, addr, readyPath string, limit time.Duration, argv ...string) *Proc {
	t.Helper()
	p := &Proc{URL: "http://" + addr, name: argv[0], logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Logf("stop %s: %v\n%s", p.name, err, p.Logs())
		}
	})
	if err := p.waitReady(readyPath, limit); err != nil {
		t.Fatalf("%s not ready: %v\n%s", p.name, err, p.Logs())
	}
	return p
}

// Logs returns what the process wrote so far.
func (p *Proc) Logs() string { return p.logs.String() }

func (p *Proc) waitReady(path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("%s exited: %v", p.name, err)
		default:
		}
		resp, err := client.Get(p.URL + path)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("timed out waiting for %s", path)
}

// Stop terminates the process (SIGTERM, then SIGKILL after 10s) and waits for it.
func (p *Proc) Stop() error {
	var err error
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err = <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			err = <-p.done
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled() {
			err = nil
		}
	})
	return err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
