package promtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/internal/proctest"
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

// Server is a running prometheus process; URL, Logs and Stop come from proctest.Proc.
type Server struct {
	*proctest.Proc
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
	addr := proctest.FreeAddr(t)
	return &Server{proctest.Start(t, addr, "/-/ready", 30*time.Second, "prometheus",
		"--config.file="+cfgFile,
		"--storage.tsdb.path="+o.DataDir,
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address="+addr,
		"--web.console.templates="+dir, "--web.console.libraries="+dir,
		"--log.level=warn",
	)}
}
