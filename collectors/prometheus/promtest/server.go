package promtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Available reports why a real Prometheus cannot run here: prometheus or promtool missing
// from PATH (CI installs Debian's prometheus package, which has both).
func Available() error {
	for _, bin := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not on PATH (apt-get install prometheus): %w", bin, err)
		}
	}
	return nil
}

// Backfill writes h as OpenMetrics into dir and turns it into TSDB blocks in dataDir with
// `promtool tsdb create-blocks-from openmetrics`.
func Backfill(ctx context.Context, h *History, dir, dataDir string) error {
	file := filepath.Join(dir, "history.om")
	if err := os.WriteFile(file, h.OpenMetrics(), 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet", file, dataDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("promtool backfill: %w\n%s", err, out)
	}
	return nil
}

// Server is a running prometheus process.
type Server struct {
	URL  string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
	once sync.Once
}

// Options configure Start.
type Options struct {
	// DataDir is the TSDB directory, e.g. one Backfill filled; a temporary one when empty.
	DataDir string
	// ScrapeConfigs is YAML for scrape_configs (a list); none when empty.
	ScrapeConfigs string
	// ScrapeInterval is the global scrape interval (default 1s).
	ScrapeInterval time.Duration
}

// Start runs prometheus on a free loopback port with a retention of 100y (so backfilled
// history of any date stays) and waits until /-/ready answers. The server stops when the test
// ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	dir := t.TempDir()
	if o.DataDir == "" {
		o.DataDir = filepath.Join(dir, "data")
	}
	if o.ScrapeInterval == 0 {
		o.ScrapeInterval = time.Second
	}
	cfg := fmt.Sprintf("global:\n  scrape_interval: %s\n  evaluation_interval: 1m\n", o.ScrapeInterval)
	if o.ScrapeConfigs != "" {
		cfg += "scrape_configs:\n" + o.ScrapeConfigs
	}
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	s := &Server{URL: "http://" + addr, logs: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command("prometheus",
		"--config.file="+cfgFile,
		"--storage.tsdb.path="+o.DataDir,
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address="+addr,
		"--web.console.templates="+dir, "--web.console.libraries="+dir,
		"--log.level=warn",
	)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Logf("stop prometheus: %v", err)
		}
	})
	if err := s.waitReady(30 * time.Second); err != nil {
		t.Fatalf("prometheus not ready: %v\n%s", err, s.logs.String())
	}
	return s
}

// Logs returns what prometheus wrote so far.
func (s *Server) Logs() string { return s.logs.String() }

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("prometheus exited: %v", err)
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

// Stop terminates prometheus (SIGTERM, then SIGKILL after 10s) and waits for it.
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
