package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/integrations"
	"github.com/gatekeeper-dev/gatekeeper/collectors/prometheus"
	sqlcollector "github.com/gatekeeper-dev/gatekeeper/collectors/sql"
	"github.com/gatekeeper-dev/gatekeeper/collectors/sql/pgtest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// BenchmarkCollectConcurrency collects a window gate with 20 integrations, the Prometheus
// queries and 5 SQL checks, each source slowed by injected latency, and reports the time of
// the whole collection against the slowest single source (target: ratio <= 1.2).
//
//	go test -run '^$' -bench CollectConcurrency -benchtime 10x ./live/
func BenchmarkCollectConcurrency(b *testing.B) {
	ctx := context.Background()
	const promDelay, probeDelay, checkSleep = 120 * time.Millisecond, 150 * time.Millisecond, "0.04"

	// A Prometheus API answering every query after promDelay with one healthy series.
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		time.Sleep(promDelay)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v1/query_range" {
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[%s,"0.004"]]}]}}`, r.Form.Get("end"))
			return
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%s,"1000"]}]}}`, r.Form.Get("time"))
	}))
	defer prom.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(probeDelay)
		_, _ = w.Write([]byte("ok"))
	}))
	defer api.Close()
	pg, err := pgtest.Start(ctx)
	if err != nil {
		b.Skipf("needs PostgreSQL: %v", err)
	}
	defer func() { _ = pg.Stop() }()
	if err := pg.Exec(ctx, "postgres", "CREATE ROLE bench LOGIN PASSWORD 'bench-pw'"); err != nil {
		b.Fatal(err)
	}
	b.Setenv("BENCH_DSN", pg.URL("bench", "bench-pw", "postgres"))

	rb := benchRunbook(b, prom.URL, api.URL, checkSleep)
	req := engine.Request{Runbook: rb, Environment: "production", Gate: engine.Window, Now: time.Now().UTC(),
		CutoverAt: time.Now().Add(-30 * time.Minute)}
	sources := []engine.Source{
		{Name: "prometheus", Collector: prometheus.New(), Timeout: 30 * time.Second},
		{Name: "integrations", Collector: integrations.New(), Timeout: 30 * time.Second},
		{Name: "sql", Collector: sqlcollector.New(), Timeout: 30 * time.Second},
	}
	// Sanity: every source answers without error, or the timings mean nothing.
	for name, f := range engine.CollectAll(ctx, req, time.Minute, sources...) {
		if f.Err != "" {
			b.Fatalf("fact %s: %s", name, f.Err)
		}
	}
	single := map[string][]time.Duration{}
	var all []time.Duration
	b.ResetTimer()
	for b.Loop() {
		for _, s := range sources {
			start := time.Now()
			s.Collector.Collect(ctx, req)
			single[s.Name] = append(single[s.Name], time.Since(start))
		}
		start := time.Now()
		engine.CollectAll(ctx, req, time.Minute, sources...)
		all = append(all, time.Since(start))
	}
	slowest := time.Duration(0)
	for name, ds := range single {
		m := median(ds)
		b.ReportMetric(float64(m.Milliseconds()), name+"-ms")
		slowest = max(slowest, m)
	}
	b.ReportMetric(float64(median(all).Milliseconds()), "all-ms")
	b.ReportMetric(float64(median(all))/float64(slowest), "ratio")
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// benchRunbook is the example runbook with 20 integrations and 5 slow SQL checks.
func benchRunbook(b *testing.B, promURL, apiURL, sleep string) *engine.Runbook {
	b.Helper()
	rb, err := engine.LoadRunbook("../testdata/example/runbook.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var v map[string]any
	raw, _ := json.Marshal(rb.Value)
	_ = json.Unmarshal(raw, &v)
	prod := v["environments"].(map[string]any)["production"].(map[string]any)
	prod["prometheus"] = map[string]any{"url": promURL}
	var envInts, crit []any
	for i := range 20 {
		name := fmt.Sprintf("partner-%02d", i)
		envInts = append(envInts, map[string]any{"name": name, "url": apiURL + "/" + name, "expect_status": 200, "timeout": "5s"})
		crit = append(crit, map[string]any{"name": name, "critical": true, "max_unavailable": "3m"})
	}
	prod["integrations"] = envInts
	v["criteria"].(map[string]any)["integrations"] = crit
	var checks []any
	for i := range 5 {
		checks = append(checks, map[string]any{"name": fmt.Sprintf("check_%d", i), "sql": "SELECT x FROM (SELECT pg_sleep(" + sleep + ")::text AS x) AS t WHERE x = 'never'"})
	}
	prod["database"] = map[string]any{"dsn_env": "BENCH_DSN", "migrations": "none", "checks": checks}
	delete(v, "signoff")
	path := filepath.Join(b.TempDir(), "runbook.json")
	out, _ := json.Marshal(v)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		b.Fatal(err)
	}
	r, err := engine.LoadRunbook(path)
	if err != nil {
		b.Fatal(err)
	}
	return r
}
