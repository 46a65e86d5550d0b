// Package pushgwtest runs a real Pushgateway for tests: Debian's prometheus-pushgateway on a
// free loopback port with a temporary persistence file, stopped when the test ends.
package pushgwtest

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatekeeper-dev/gatekeeper/internal/proctest"
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

// Server is a running Pushgateway; URL (the base URL to push to), Logs and Stop come from
// proctest.Proc.
type Server struct {
	*proctest.Proc
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
	addr := proctest.FreeAddr(t)
	return &Server{proctest.Start(t, addr, "/-/ready", 20*time.Second, Binary,
		"--web.listen-address="+addr,
		"--persistence.file="+filepath.Join(dir, "pushgateway.data"),
		"--persistence.interval=1s",
		"--log.level=warn",
	)}
}

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
