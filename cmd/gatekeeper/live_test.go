package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/prometheus/promtest"
	"github.com/gatekeeper-dev/gatekeeper/collectors/sql/pgtest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// liveNow is the fixed time the backfilled Prometheus history ends at.
var liveNow = time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC)

const (
	liveCutover   = "2026-11-25T13:20:00Z"
	liveStepStart = "2026-11-25T13:46:00Z"
	dbPassword    = "pa:ss@w/rd-e2e-Ӝ"
)

// liveEnv is a launch environment made of real servers on loopback: a Prometheus with the
// scenarios' history backfilled, a PostgreSQL with the shop schema, and HTTP services for the
// instances and integrations.
type liveEnv struct {
	dir  string
	prom string
	pg   *pgtest.Server
	web  []string
	api  string
}

func startLiveEnv(t *testing.T) *liveEnv {
	t.Helper()
	if err := promtest.Available(); err != nil {
		t.Skipf("skipping: needs Debian's prometheus and promtool (.ci/run installs them): %v", err)
	}
	ctx := context.Background()
	env := &liveEnv{dir: t.TempDir()}
	data := filepath.Join(env.dir, "prom-data")
	if err := promtest.Backfill(ctx, promtest.LaunchHistory(liveNow, promtest.Scenarios(liveNow)), env.dir, data); err != nil {
		t.Fatalf("backfill: %v", err)
	}
	env.prom = promtest.Start(t, promtest.Options{DataDir: data}).URL

	pg, err := pgtest.Start(ctx)
	if errors.Is(err, pgtest.ErrNotInstalled) {
		t.Skipf("skipping: needs Debian's postgresql (.ci/run installs it): %v", err)
	}
	if err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	env.pg = pg
	schema, err := os.ReadFile("collectors/sql/testdata/shop.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ db, sql string }{
		{"postgres", "CREATE ROLE shop_app LOGIN PASSWORD " + pgtest.QuoteLiteral(dbPassword)},
		{"postgres", "CREATE DATABASE shop OWNER shop_app"},
		{"shop", "SET ROLE shop_app;\n" + string(schema)},
	} {
		if err := pg.Exec(ctx, step.db, step.sql); err != nil {
			t.Fatalf("set up shop database: %v", err)
		}
	}
	t.Setenv("SHOP_DB_DSN", pg.URL("shop_app", dbPassword, "shop"))
	t.Setenv("SHOP_DEPLOY_STATUS", "succeeded")

	for i := 0; i < 3; i++ {
		env.web = append(env.web, serve(t, map[string]string{
			"/version": `{"version": "2.4.0", "commit": "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8", "image": "registry.example.com/shop/web@sha256:d7bdd545f09d8a73c2b990337c8211d708a04ccd9748627685e4fc79cc038039"}`,
			"/healthz": `{"status": "pass", "checks": {"db:connections": [{"status": "pass"}]}}`,
		}))
	}
	env.api = serve(t, map[string]string{"/payments": `{"ok": true}`, "/search": `{"status": "green"}`, "/email": `ok`})
	return env
}

func serve(t *testing.T, routes map[string]string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasPrefix(body, "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// runbook writes the example runbook pointed at the live environment, with the scenario as
// the new cohort's label value, signs it off and returns its path.
func (env *liveEnv) runbook(t *testing.T, scenario string) string {
	t.Helper()
	rb, err := engine.LoadRunbook(exampleRunbook)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	b, _ := json.Marshal(rb.Value)
	_ = json.Unmarshal(b, &v)
	prod := v["environments"].(map[string]any)["production"].(map[string]any)
	prod["prometheus"] = map[string]any{"url": env.prom}
	cohorts := prod["cohorts"].(map[string]any)
	newC := cohorts["new"].(map[string]any)
	newC["label_value"] = scenario
	for i, inst := range newC["instances"].([]any) {
		m := inst.(map[string]any)
		m["version_url"] = env.web[i] + "/version"
		m["health_url"] = env.web[i] + "/healthz"
	}
	for _, in := range prod["integrations"].([]any) {
		m := in.(map[string]any)
		m["url"] = env.api + "/" + m["name"].(string)
	}
	prod["deployment_status"] = map[string]any{"env": "SHOP_DEPLOY_STATUS"}
	v["smoke"].(map[string]any)["reports"] = []any{map[string]any{"path": "smoke.xml", "format": "junit"}}
	v["uat"] = map[string]any{"record": map[string]any{"path": "approval.json", "format": "in-toto"}}
	delete(v, "signoff")

	dir := filepath.Join(env.dir, scenario)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, "testdata/example/uat/approval.json", filepath.Join(dir, "approval.json"))
	writeSmokeReport(t, filepath.Join(dir, "smoke.xml"))
	path := filepath.Join(dir, "runbook.json")
	write := func() {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write()
	unsigned, err := engine.LoadRunbook(path)
	if err != nil {
		t.Fatalf("live runbook: %v", err)
	}
	v["signoff"] = map[string]any{"by": []any{"Dana Ortiz"}, "at": "2026-11-24T16:00:00Z", "digest": unsigned.SignoffDigest}
	write()
	return path
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeSmokeReport writes a JUnit report as Playwright writes it, for a suite run after cutover.
func writeSmokeReport(t *testing.T, path string) {
	t.Helper()
	report := `<?xml version="1.0" encoding="UTF-8"?>
<testsuites id="" name="" tests="4" failures="0" skipped="0" errors="0" time="41.2">
<testsuite name="smoke.spec.ts" timestamp="2026-11-25T13:25:10.000Z" hostname="chromium" tests="4" failures="0" skipped="0" time="41.2" errors="0">
<testcase name="homepage loads with 200" classname="smoke.spec.ts" time="3.1"></testcase>
<testcase name="dashboard loads for test user" classname="smoke.spec.ts" time="9.4"></testcase>
<testcase name="checkout completes with test card" classname="smoke.spec.ts" time="21.5"></testcase>
<testcase name="search returns results" classname="smoke.spec.ts" time="7.2"></testcase>
</testsuite>
</testsuites>
`
	if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
}

// collectAndDecide runs `gatekeeper collect` against the live environment, then `evaluate
// --facts` on what it printed, and returns the decision and the collected input.
func collectAndDecide(t *testing.T, rb, gate string, extra ...string) (string, int, string) {
	t.Helper()
	args := append([]string{"collect", "--runbook", rb, "--env", "production", "--gate", gate,
		"--now", liveNow.Format(time.RFC3339)}, extra...)
	code, out, stderr := gk(t, args...)
	if code != 0 {
		t.Fatalf("collect %s: exit %d\n%s", gate, code, stderr)
	}
	if strings.Contains(out, dbPassword) || strings.Contains(out, "pa:ss") {
		t.Fatalf("collect %s: the database password leaked into the facts", gate)
	}
	facts := filepath.Join(filepath.Dir(rb), gate+".json")
	if os.Getenv("GK_DEBUG_LIVE") != "" {
		t.Logf("%s", out)
	}
	if err := os.WriteFile(facts, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	evalArgs := []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", gate, "--facts", facts, "-o", "json"}
	for i := 0; i < len(extra); i++ {
		if extra[i] == "--step" {
			evalArgs = append(evalArgs, "--step", extra[i+1])
		}
	}
	code, out, stderr = gk(t, evalArgs...)
	var rec struct {
		Decision string         `json:"decision"`
		Checks   []engine.Check `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("evaluate %s: exit %d: %v\n%s%s", gate, code, err, out, stderr)
	}
	var failed []string
	for _, c := range rec.Checks {
		if c.Outcome != engine.Go {
			failed = append(failed, fmt.Sprintf("%s=%s: %s", c.Rule, c.Outcome, c.Message))
		}
	}
	return rec.Decision, code, strings.Join(failed, "\n")
}

// TestLiveGates decides the example launch's gates from real servers: the post-deploy and
// post-smoke gates of a healthy cohort, then the canary and window gates of every metric
// scenario backfilled into Prometheus, and finally new data corruption in PostgreSQL.
func TestLiveGates(t *testing.T) {
	env := startLiveEnv(t)
	healthy := env.runbook(t, "healthy")
	cut := []string{"--cutover-at", liveCutover}

	// The pre-cutover run is the data-integrity baseline of every later gate.
	_, _, _ = collectAndDecide(t, healthy, "pre-cutover")
	baseline := []string{"--baseline", filepath.Join(filepath.Dir(healthy), "pre-cutover.json")}
	withBase := append(append([]string{}, cut...), baseline...)

	for _, gate := range []string{"post-deploy", "post-smoke"} {
		t.Run(gate, func(t *testing.T) {
			dec, code, why := collectAndDecide(t, healthy, gate, withBase...)
			if dec != "go" || code != 0 {
				t.Fatalf("%s: %s (exit %d), want go\n%s", gate, dec, code, why)
			}
		})
	}

	tests := []struct {
		scenario string
		canary   string
		window   string
	}{
		{"healthy", "go", "go"},
		{"short-spike", "go", "go"},
		{"sustained-errors", "rollback", "rollback"},
		{"latency-regression", "rollback", "rollback"},
		{"gap", "no-go", "no-go"},
		{"zero-traffic", "no-go", "no-go"},
		{"low-traffic", "no-go", "go"},
		{"counter-reset", "go", "go"},
		{"jitter", "go", "go"},
		{"flapping", "go", "go"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			rb := env.runbook(t, tt.scenario)
			base := append(append([]string{}, cut...), "--baseline", filepath.Join(filepath.Dir(healthy), "pre-cutover.json"))
			dec, _, why := collectAndDecide(t, rb, "canary", append(append([]string{}, base...), "--step", "25", "--step-started-at", liveStepStart)...)
			if dec != tt.canary {
				t.Errorf("canary 25%%: %s, want %s\n%s", dec, tt.canary, why)
			}
			dec, _, why = collectAndDecide(t, rb, "window", base...)
			if dec != tt.window {
				t.Errorf("window: %s, want %s\n%s", dec, tt.window, why)
			}
			// A live evaluate collects the same facts itself and must decide the same.
			code, out, stderr := gk(t, append([]string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window",
				"--now", liveNow.Format(time.RFC3339), "-o", "json"}, base...)...)
			var rec struct{ Decision string }
			if err := json.Unmarshal([]byte(out), &rec); err != nil || rec.Decision != tt.window {
				t.Errorf("live evaluate window: %q (exit %d), want %s\n%s%s", rec.Decision, code, tt.window, out, stderr)
			}
		})
	}

	t.Run("archive is the baseline", func(t *testing.T) {
		arch := filepath.Join(t.TempDir(), "launch")
		live := func(gate string) (int, string) {
			code, out, stderr := gk(t, "evaluate", "--runbook", healthy, "--env", "production", "--gate", gate,
				"--now", liveNow.Format(time.RFC3339), "--cutover-at", liveCutover, "--archive", arch, "-o", "json")
			return code, out + stderr
		}
		// Pre-cutover holds (no staging rehearsal in this environment) but is archived, with
		// the integrity run that later gates compare against.
		if code, out := live("pre-cutover"); code != 2 {
			t.Fatalf("pre-cutover: exit %d, want 2\n%s", code, out)
		}
		if code, out := live("post-deploy"); code != 0 {
			t.Fatalf("post-deploy without --baseline, baseline from the archive: exit %d, want 0\n%s", code, out)
		}
		if code, out, stderr := gk(t, "replay", arch); code != 0 {
			t.Fatalf("replay of the live archive: exit %d\n%s%s", code, out, stderr)
		}
	})

	t.Run("prometheus unreachable", func(t *testing.T) {
		saved := env.prom
		env.prom = "http://127.0.0.1:1"
		rb := env.runbook(t, "healthy-unreachable")
		env.prom = saved
		for _, gate := range []string{"canary", "window"} {
			args := append(append([]string{}, withBase...), "--step", "25", "--step-started-at", liveStepStart)
			if gate == "window" {
				args = withBase
			}
			dec, code, why := collectAndDecide(t, rb, gate, args...)
			if dec == "go" || code == 0 {
				t.Errorf("%s with Prometheus unreachable: %s (exit %d), must not be go\n%s", gate, dec, code, why)
			}
		}
	})

	t.Run("new corruption", func(t *testing.T) {
		if err := env.pg.Exec(context.Background(), "shop", "INSERT INTO order_items (id, order_id, sku, qty) VALUES (9001, 999, 'sku-1001', 1), (9002, 998, 'sku-1002', 2)"); err != nil {
			t.Fatal(err)
		}
		dec, code, why := collectAndDecide(t, healthy, "window", withBase...)
		if dec != "rollback" || code != 3 || !strings.Contains(why, "integrity") {
			t.Fatalf("window after new orphaned rows: %s (exit %d), want rollback on integrity\n%s", dec, code, why)
		}
	})
}
