package metrics

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/metrics/pushgwtest"
)

func canaryRollback() *engine.Record {
	return &engine.Record{LaunchID: "shop-2.4.0-production", Environment: "production", Gate: engine.Canary,
		Decision: engine.Rollback, Now: "2026-11-25T14:01:00Z",
		Checks: []engine.Check{{Rule: "canary.error_rate_sustained", Outcome: engine.Rollback,
			Evidence: map[string]any{"observed": 0.0508, "threshold": 0.02, "coverage": 1.0}}}}
}

// TestPushRealPushgateway pushes to Debian's prometheus-pushgateway and reads the series back
// from its /metrics as Prometheus would scrape them.
func TestPushRealPushgateway(t *testing.T) {
	pg := pushgwtest.Start(t)
	ctx := context.Background()

	m := New()
	m.ObserveDecision(canaryRollback(), 1500*time.Millisecond)
	m.ObserveFacts(map[string]engine.Fact{"error_rate": {Source: "prometheus", Duration: 30 * time.Millisecond, Err: "timeout"}})
	if err := m.Push(ctx, pg.URL, Grouping("shop-2.4.0-production", "production", "canary")); err != nil {
		t.Fatal(err)
	}
	// A second gate of the same launch is its own group: it does not replace the first.
	w := New()
	w.ObserveDecision(&engine.Record{Gate: engine.Window, Decision: engine.Go, Now: "2026-11-25T15:00:00Z"}, time.Second)
	w.SetWindowRemaining(0)
	if err := w.Push(ctx, strings.TrimPrefix(pg.URL, "http://"), Grouping("shop-2.4.0-production", "production", "window")); err != nil {
		t.Fatalf("push to a bare host:port: %v", err)
	}

	group := func(gate string) map[string]string {
		return map[string]string{"job": "gatekeeper", "instance": "", "launch_id": "shop-2.4.0-production", "environment": "production", "gate": gate}
	}
	with := func(l map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range l {
			out[a] = b
		}
		return out
	}
	fams := scrape(t, pg)
	tests := []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{name: "rollback counted", metric: "gatekeeper_gate_decisions_total", labels: with(group("canary"), "decision", "rollback"), want: 1},
		{name: "go not counted", metric: "gatekeeper_gate_decisions_total", labels: with(group("canary"), "decision", "go"), want: 0},
		{name: "observed", metric: "gatekeeper_criterion_observed", labels: with(group("canary"), "rule", "canary.error_rate_sustained"), want: 0.0508},
		{name: "threshold", metric: "gatekeeper_criterion_threshold", labels: with(group("canary"), "rule", "canary.error_rate_sustained"), want: 0.02},
		{name: "coverage", metric: "gatekeeper_criterion_coverage", labels: with(group("canary"), "rule", "canary.error_rate_sustained"), want: 1},
		{name: "collector error", metric: "gatekeeper_collector_errors_total", labels: with(group("canary"), "source", "prometheus"), want: 1},
		{name: "decision time", metric: "gatekeeper_last_decision_timestamp_seconds", labels: group("canary"), want: 1795615260},
		{name: "other group kept", metric: "gatekeeper_gate_decisions_total", labels: with(group("window"), "decision", "go"), want: 1},
		{name: "window over", metric: "gatekeeper_window_remaining_seconds", labels: group("window"), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := value(fams[tt.metric], tt.labels)
			if !ok {
				t.Fatalf("no %s%v on the pushgateway; it has:\n%s", tt.metric, tt.labels, describe(fams[tt.metric]))
			}
			if got != tt.want {
				t.Fatalf("%s%v = %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
	if h, ok := histogramOf(fams["gatekeeper_evaluation_duration_seconds"], group("canary")); !ok || h.GetSampleCount() != 1 || h.GetSampleSum() != 1.5 {
		t.Fatalf("evaluation duration on the pushgateway: %v (found %v)", h, ok)
	}

	// Pushing the group again replaces it whole (PUT): a later go of the canary gate in a new
	// process leaves no rollback behind.
	again := New()
	again.ObserveDecision(&engine.Record{Gate: engine.Canary, Decision: engine.Go, Now: "2026-11-25T14:20:00Z"}, time.Second)
	if err := again.Push(ctx, pg.URL, Grouping("shop-2.4.0-production", "production", "canary")); err != nil {
		t.Fatal(err)
	}
	fams = scrape(t, pg)
	if got, _ := value(fams["gatekeeper_gate_decisions_total"], with(group("canary"), "decision", "rollback")); got != 0 {
		t.Fatalf("rollback count %v after a replacing push, want 0", got)
	}
	if _, ok := value(fams["gatekeeper_criterion_observed"], with(group("canary"), "rule", "canary.error_rate_sustained")); ok {
		t.Fatalf("criterion of the replaced push is still there:\n%s", describe(fams["gatekeeper_criterion_observed"]))
	}
}

func scrape(t *testing.T, pg *pushgwtest.Server) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := pg.Families("gatekeeper_")
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// series finds the one series of mf whose labels are exactly want.
func series(mf *dto.MetricFamily, want map[string]string) (*dto.Metric, bool) {
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(want) {
			continue
		}
		match := true
		for k, v := range want {
			if gv, ok := got[k]; !ok || gv != v {
				match = false
			}
		}
		if match {
			return m, true
		}
	}
	return nil, false
}

func value(mf *dto.MetricFamily, want map[string]string) (float64, bool) {
	m, ok := series(mf, want)
	if !ok {
		return 0, false
	}
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue(), true
	case m.Gauge != nil:
		return m.GetGauge().GetValue(), true
	}
	return 0, false
}

func histogramOf(mf *dto.MetricFamily, want map[string]string) (*dto.Histogram, bool) {
	m, ok := series(mf, want)
	if !ok || m.Histogram == nil {
		return nil, false
	}
	return m.GetHistogram(), true
}

func describe(mf *dto.MetricFamily) string {
	var lines []string
	for _, m := range mf.GetMetric() {
		lines = append(lines, m.String())
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestPushErrorsHideCredentials: whatever goes wrong, the error names the host and never the
// user, password or query of the URL.
func TestPushErrorsHideCredentials(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		// A misbehaving gateway echoing what it got must not leak it either.
		http.Error(w, "denied: "+r.Header.Get("Authorization")+" user="+user+" password="+pass, http.StatusUnauthorized)
	}))
	defer echo.Close()
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer hang.Close()
	defer close(stop) // before Close, which waits for the handler
	host := strings.TrimPrefix(echo.URL, "http://")
	tests := []struct {
		name     string
		url      string
		ctx      time.Duration
		wantHost string
		badURL   bool
	}{
		{name: "unreachable", url: "http://gk-user:s3cret-pw@127.0.0.1:1/", wantHost: "127.0.0.1:1"},
		{name: "rejected with echo", url: "http://gk-user:s3cret-pw@" + host, wantHost: host},
		{name: "timeout", url: "http://gk-user:s3cret-pw@" + strings.TrimPrefix(hang.URL, "http://"), ctx: 300 * time.Millisecond,
			wantHost: strings.TrimPrefix(hang.URL, "http://")},
		{name: "query is refused", url: "http://gk-user:s3cret-pw@" + host + "/?token=s3cret-pw", badURL: true},
		{name: "not http", url: "ftp://gk-user:s3cret-pw@" + host, badURL: true},
		{name: "unparsable", url: "http://gk-user:s3cret-pw@[::1", badURL: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				defer cancel()
			}
			m := New()
			m.ObserveError("canary")
			began := time.Now()
			err := m.Push(ctx, tt.url, Grouping("l", "production", "canary"))
			if err == nil {
				t.Fatal("push succeeded")
			}
			if time.Since(began) > 5*time.Second {
				t.Fatalf("push took %v", time.Since(began))
			}
			msg := err.Error()
			for _, secret := range []string{"s3cret-pw", "gk-user", "Z2stdXNlcjpzM2NyZXQtcHc"} {
				if strings.Contains(msg, secret) {
					t.Fatalf("error leaks %q: %s", secret, msg)
				}
			}
			var pe *PushError
			if tt.badURL {
				if !errors.Is(err, errBadURL) {
					t.Fatalf("error %q, want the bad-URL error", msg)
				}
				return
			}
			if !errors.As(err, &pe) || pe.Host != tt.wantHost || !strings.Contains(msg, tt.wantHost) {
				t.Fatalf("error %q does not name host %s", msg, tt.wantHost)
			}
		})
	}
}

// TestPushSendsBasicAuth: credentials in the URL reach the gateway as basic auth (a real
// Pushgateway behind an authenticating proxy needs them), not in the request path.
func TestPushSendsBasicAuth(t *testing.T) {
	var mu sync.Mutex
	var user, pass, path, body string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		user, pass, _ = r.BasicAuth()
		path = r.URL.Path
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.WriteHeader(http.StatusOK)
	}))
	defer gw.Close()
	m := New()
	m.ObserveDecision(canaryRollback(), time.Second)
	u := strings.Replace(gw.URL, "http://", "http://gk-user:s3cret-pw@", 1) + "/prefix"
	if err := m.Push(context.Background(), u, Grouping("shop-2.4.0-production", "production", "canary")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if user != "gk-user" || pass != "s3cret-pw" {
		t.Fatalf("basic auth %q/%q, want the URL's credentials", user, pass)
	}
	// client_golang's push keeps the grouping in a map, so the pairs come in any order.
	const prefix = "/prefix/metrics/job/gatekeeper/"
	pairs := map[string]string{}
	if rest, ok := strings.CutPrefix(path, prefix); ok {
		parts := strings.Split(rest, "/")
		for i := 0; i+1 < len(parts); i += 2 {
			pairs[parts[i]] = parts[i+1]
		}
		if len(parts)%2 != 0 {
			pairs["?"] = "odd"
		}
	}
	if want := map[string]string{"environment": "production", "gate": "canary", "launch_id": "shop-2.4.0-production"}; !maps.Equal(pairs, want) {
		t.Fatalf("pushed to %s, want %s followed by the grouping %v", path, prefix, want)
	}
	// The gate is the grouping key's, not a label of the pushed series (the Pushgateway refuses
	// a pushed label that is also a grouping label).
	dec := expfmt.NewDecoder(strings.NewReader(body), expfmt.NewFormat(expfmt.TypeProtoDelim))
	var rules []string
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("pushed body: %v", err)
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				switch l.GetName() {
				case "gate":
					t.Fatalf("pushed %s with a gate label", mf.GetName())
				case "rule":
					rules = append(rules, mf.GetName()+":"+l.GetValue())
				}
			}
		}
	}
	if len(rules) != 3 {
		t.Fatalf("pushed criteria %v, want observed, threshold and coverage of the error rate", rules)
	}
}

func TestGroupingGatherer(t *testing.T) {
	m := New()
	m.ObserveDecision(canaryRollback(), time.Second)
	m.ObserveDecision(&engine.Record{Gate: engine.Window, Decision: engine.Go, Now: "2026-11-25T15:00:00Z"}, time.Second)
	m.ObserveFacts(map[string]engine.Fact{"health": {Source: "http"}})
	mfs, err := groupGatherer{m.reg, Grouping("l", "production", "window")}.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "gate" {
					t.Fatalf("%s still has a gate label", mf.GetName())
				}
			}
			got[mf.GetName()]++
		}
	}
	want := map[string]int{
		"gatekeeper_gate_decisions_total":            3, // the window gate's only
		"gatekeeper_evaluation_duration_seconds":     1,
		"gatekeeper_last_decision_timestamp_seconds": 1,
		"gatekeeper_collection_duration_seconds":     1, // no gate label: kept
		"gatekeeper_collector_errors_total":          1,
		"gatekeeper_window_remaining_seconds":        1,
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%s: %d series, want %d", name, got[name], n)
		}
	}
	if got["gatekeeper_criterion_observed"] != 0 {
		t.Errorf("the canary's criteria were pushed with the window's group")
	}
}
