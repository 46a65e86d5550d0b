package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/prometheus/promtest"
)

func get(url string) (int, string, error) {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(url)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestServe(t *testing.T) {
	m := New()
	m.ObserveDecision(canaryRollback(), time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bound, err := Serve(ctx, "127.0.0.1:0", m.Handler())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(bound, "127.0.0.1:") || strings.HasSuffix(bound, ":0") {
		t.Fatalf("bound %q, want the loopback address with its port", bound)
	}
	code, body, err := get("http://" + bound + "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", code, err)
	}
	if want := `gatekeeper_gate_decisions_total{decision="rollback",gate="canary"} 1`; !strings.Contains(body, want) {
		t.Fatalf("/metrics lacks %s:\n%s", want, body)
	}
	if code, _, _ := get("http://" + bound + "/"); code != http.StatusNotFound {
		t.Fatalf("GET / answered %d, want 404: only /metrics is served", code)
	}

	// The address is taken while serving: a second Serve fails and names it.
	if _, err := Serve(ctx, bound, m.Handler()); err == nil || !strings.Contains(err.Error(), bound) {
		t.Fatalf("second Serve on %s: %v, want a listen error naming it", bound, err)
	}

	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, _, err := get("http://" + bound + "/metrics"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still serving 5s after the context ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeScrapedByRealPrometheus is what `watch --metrics-addr` relies on: Debian's
// Prometheus scrapes Serve and a criterion's gauge is queryable with its labels.
func TestServeScrapedByRealPrometheus(t *testing.T) {
	if err := promtest.Available(); err != nil {
		t.Skipf("real Prometheus tests need Debian's prometheus package (CI installs it): %v", err)
	}
	m := New()
	m.ObserveDecision(canaryRollback(), time.Second)
	m.SetWindowRemaining(42 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bound, err := Serve(ctx, "127.0.0.1:0", m.Handler())
	if err != nil {
		t.Fatal(err)
	}
	prom := promtest.Start(t, promtest.Options{ScrapeConfigs: fmt.Sprintf(
		"  - job_name: gatekeeper\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['%s']\n", bound)})
	tests := []struct {
		name, query string
		want        string
	}{
		{name: "criterion", query: `gatekeeper_criterion_observed{job="gatekeeper",gate="canary",rule="canary.error_rate_sustained"}`, want: "0.0508"},
		{name: "decisions", query: `gatekeeper_gate_decisions_total{decision="rollback"}`, want: "1"},
		{name: "window", query: `gatekeeper_window_remaining_seconds`, want: "42"},
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for time.Now().Before(deadline) {
				if got, err = instantQuery(prom.URL, tt.query); err == nil && len(got) > 0 {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if err != nil || len(got) != 1 || got[0] != tt.want {
				t.Fatalf("%s = %v (%v), want [%s]\nprometheus logs:\n%s", tt.query, got, err, tt.want, prom.Logs())
			}
		})
	}
}

// instantQuery returns the values of an instant vector query.
func instantQuery(base, q string) ([]string, error) {
	code, body, err := get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("query: %d %s", code, body)
	}
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range r.Data.Result {
		v, _ := s.Value[1].(string)
		out = append(out, v)
	}
	return out, nil
}
