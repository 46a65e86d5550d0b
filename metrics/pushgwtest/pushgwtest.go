// Package pushgwtest runs a real Pushgateway for tests: Debian's prometheus-pushgateway on a
// free loopback port with a temporary persistence file, stopped when the test ends.
package pushgwtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Binary is the Pushgateway executable Debian's prometheus-pushgateway package installs.
const Binary = "prometheus-pushgateway"

// Available reports why a real Pushgateway cannot run here.
func Available() error {
	if _, err := exec.LookPath(Binary); err != nil {
		return fmt.Errorf("%s not on PATH (apt-get install -y prometheus-pushgateway; CI installs it): %w", Binary, err)
	}
	return nil
}

// Server is a running Pushgateway.
type Server struct {
	// URL is the base URL to push to, e.g. http://127.0.0.1:40123.
	URL  string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
	once sync.Once
}

// Start runs the Pushgateway and waits until /-/ready answers. A missing binary fails the
// test rather than skipping it: the real Pushgateway is what these tests are for, and a
// silently skipped test would pass on a machine that never pushed anything.
func Start(t testing.TB) *Server {
	t.Helper()
	if err := Available(); err != nil {
		t.Fatalf("real Pushgateway tests need Debian's prometheus-pushgateway: %v", err)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	s := &Server{URL: "http://" + addr, logs: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(Binary,
		"--web.listen-address="+addr,
		"--persistence.file="+filepath.Join(dir, "pushgateway.data"),
		"--persistence.interval=1s",
		"--log.level=warn",
	)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", Binary, err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Logf("stop pushgateway: %v\n%s", err, s.Logs())
		}
	})
	if err := s.waitReady(20 * time.Second); err != nil {
		t.Fatalf("pushgateway not ready: %v\n%s", err, s.Logs())
	}
	return s
}

// Logs returns what the Pushgateway wrote so far.
func (s *Server) Logs() string { return s.logs.String() }

// Families scrapes the Pushgateway's /metrics as Prometheus would and returns the metric
// families whose name starts with prefix.
func (s *Server) Families(prefix string) (map[string]*dto.MetricFamily, error) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(s.URL + "/metrics")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	all, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse /metrics: %w", err)
	}
	out := map[string]*dto.MetricFamily{}
	for name, mf := range all {
		if strings.HasPrefix(name, prefix) {
			out[name] = mf
		}
	}
	return out, nil
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("pushgateway exited: %v", err)
		default:
		}
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("timed out waiting for /-/ready")
}

// Stop terminates the Pushgateway (SIGTERM, then SIGKILL after 10s) and waits for it.
func (s *Server) Stop() error {
	var err error
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err = <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			err = <-s.done
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled() {
			err = nil
		}
	})
	return err
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
