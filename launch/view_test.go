package launch

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/metrics"
)

func TestSparkline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		vals      []float64
		threshold float64
		want      string
	}{
		{name: "below threshold reads low", vals: []float64{0, 0.01, 0.02}, threshold: 0.04, want: "▁▃▅"},
		{name: "above threshold tops out", vals: []float64{0.02, 0.08}, threshold: 0.04, want: "▃█"},
		{name: "empty", vals: nil, threshold: 1, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := sparkline(tt.vals, tt.threshold); got != tt.want {
				t.Errorf("sparkline = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTermViewRedraws(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	v := NewTermView(&b)
	rec := func(obs float64, d engine.Outcome) *engine.Record {
		return &engine.Record{LaunchID: "shop-2.4.0-production", Gate: engine.Window, Decision: d, Now: "2026-11-25T14:00:00Z",
			Checks: []engine.Check{
				{Rule: "window.error_rate_sustained", Status: "pass", Outcome: engine.Go, Evidence: map[string]any{"observed": obs, "threshold": 0.02, "coverage": 0.97}},
				{Rule: "window.integrations", Status: "unknown", Outcome: engine.NoGo, Message: "search: no probe result"},
			}}
	}
	for i, obs := range []float64{0.001, 0.01, 0.019} {
		v.Evaluation(Evaluation{Phase: "window", Record: rec(obs, engine.NoGo), Left: time.Duration(10-i) * time.Minute})
	}
	v.Message("deploy hook exited 0")
	screen := b.String()[strings.LastIndex(b.String(), "\x1b[H\x1b[2J"):]
	for _, want := range []string{"time left: 8m0s", "decision: NO-GO", "window.error_rate_sustained", "0.019", "0.02", "97%", "▁▅█",
		"no-go: window.integrations: search: no probe result", "deploy hook exited 0"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	// Unknown checks are listed before passing ones.
	if strings.Index(screen, "window.integrations") > strings.Index(screen, "window.error_rate_sustained") {
		t.Errorf("unknown check not first:\n%s", screen)
	}
	if _, ok := NewView(io.Discard).(*PlainView); !ok {
		t.Error("a non-terminal writer does not get the plain view")
	}
}

// gatekeeper's own metrics (the real client_golang registry) see every decision of a watch.
func TestWatchFeedsMetrics(t *testing.T) {
	t.Parallel()
	f, _ := watchFixture(t)
	m := metrics.New()
	r := f.runner(WithObserver(m))
	r.SetCutover(f.clock.Now().Add(-10 * time.Minute))
	if _, err := r.RunWatch(context.Background(), engine.Window, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`gatekeeper_gate_decisions_total{decision="go",gate="window"} 21`, "gatekeeper_window_remaining_seconds 0"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
