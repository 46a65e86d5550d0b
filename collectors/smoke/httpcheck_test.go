package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/collectortest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// checksRunbook builds a runbook whose smoke checks are given as the normalized runbook holds
// them (so fields the schema does not carry yet, like expect_json, can be exercised), with the
// new cohort's instances at the given base URLs.
func checksRunbook(t *testing.T, checks []map[string]any, bases ...string) *engine.Runbook {
	t.Helper()
	rb := &engine.Runbook{Path: filepath.Join(t.TempDir(), "runbook.yaml")}
	var insts []engine.Instance
	for i, b := range bases {
		insts = append(insts, engine.Instance{Name: fmt.Sprintf("web-canary-%d", i), VersionURL: b + "/version", HealthURL: b + "/healthz"})
	}
	rb.Spec.Environments = map[string]engine.EnvSpec{"production": {Name: "production",
		Cohorts: engine.CohortsSpec{New: engine.Cohort{LabelValue: "canary", Replicas: len(insts), Instances: insts}}}}
	list := make([]any, len(checks))
	for i, c := range checks {
		list[i] = c
	}
	rb.Value = map[string]any{"smoke": map[string]any{"checks": list, "reports": []any{}}}
	return rb
}

func env(vars map[string]string) Option {
	return WithLookupEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
}

// shop is a small new-cohort instance; variant "b" serves a broken homepage.
func shop(variant string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if variant == "b" {
			fmt.Fprint(w, "<h1>Maintenance</h1>")
			return
		}
		fmt.Fprint(w, "<h1>Welcome to the shop</h1>")
	})
	mux.HandleFunc("/dashboard", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+collectortest.Secret {
			// A careless server echoing what it got: must not reach the fact.
			http.Error(w, "denied for "+r.Header.Get("Authorization"), http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "dashboard of test user")
	})
	mux.HandleFunc("/account", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil || c.Value != collectortest.Secret {
			http.Error(w, "no session: "+r.Header.Get("Cookie"), http.StatusForbidden)
			return
		}
		fmt.Fprint(w, "account")
	})
	mux.HandleFunc("/api/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status": "ok", "version": "2.4.0", "items": [{"id": 1}, {"id": 2}], "ready": true}`)
	})
	mux.HandleFunc("/api/cart", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"created": true}`)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		fmt.Fprint(w, "finally")
	})
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/", http.StatusFound)
	})
	return mux
}

type row struct {
	name, instance, status, msg string
	code                        float64
}

func TestHTTPChecks(t *testing.T) {
	a := collectortest.Server(t, shop("a"))
	b := collectortest.Server(t, shop("b"))
	checks := []map[string]any{
		{"name": "homepage loads with 200", "url": "/", "expect_body": "Welcome"},
		{"name": "dashboard loads for test user", "url": "/dashboard", "bearer_token_env": "SMOKE_TOKEN", "expect_body": "test user"},
		{"name": "account with session cookie", "url": a.URL + "/account", "cookie_env": "SMOKE_COOKIE"},
		{"name": "status json", "url": a.URL + "/api/status", "expect_json": []any{
			map[string]any{"path": "status", "equals": "ok"},
			map[string]any{"path": "$.items.1.id", "equals": 2.0},
			map[string]any{"path": "ready", "equals": true},
			map[string]any{"path": "debug", "exists": false},
			map[string]any{"path": "version"},
		}},
		{"name": "status json wrong", "url": a.URL + "/api/status", "critical": false, "expect_json": []any{
			map[string]any{"path": "status", "equals": "degraded"},
			map[string]any{"path": "items.5.id", "equals": 6.0},
			map[string]any{"path": "version", "exists": false},
		}},
		{"name": "checkout creates a cart", "url": a.URL + "/api/cart", "method": "POST", "expect_status": 201.0,
			"body": `{"sku": "A1"}`, "content_type": "application/json", "expect_body": "created"},
		{"name": "slow page within 50ms", "url": a.URL + "/slow", "max_latency": "50ms"},
		{"name": "old url redirects", "url": a.URL + "/old", "expect_status": 302.0},
		{"name": "dashboard with the wrong token", "url": a.URL + "/dashboard", "bearer_token_env": "WRONG_TOKEN"},
		{"name": "token not set", "url": a.URL + "/dashboard", "bearer_token_env": "UNSET_TOKEN"},
	}
	rb := checksRunbook(t, checks, a.URL, b.URL)
	c := New(WithClock(fixedClock), env(map[string]string{
		"SMOKE_TOKEN":  collectortest.Secret,
		"SMOKE_COOKIE": "session=" + collectortest.Secret,
		"WRONG_TOKEN":  "wrong-token-12345",
	}))
	facts := c.Collect(context.Background(), postSmoke(rb))
	assertKit(t, facts)
	collectortest.AssertNoSecret(t, facts, "wrong-token-12345")
	f := smokeFact(t, facts)
	if f.Err != "" {
		t.Fatalf("error: %s", f.Err)
	}
	m := factJSON(t, f)
	rows := []row{
		{"homepage loads with 200", "web-canary-0", "passed", "", 200},
		{"homepage loads with 200", "web-canary-1", "failed", `body does not contain "Welcome"`, 200},
		{"dashboard loads for test user", "web-canary-0", "passed", "", 200},
		{"dashboard loads for test user", "web-canary-1", "passed", "", 200},
		{"account with session cookie", "", "passed", "", 200},
		{"status json", "", "passed", "", 200},
		{"status json wrong", "", "failed", `json status = "ok", expected "degraded"; json items.5.id is missing, expected 6; json version is present, expected absent`, 200},
		{"checkout creates a cart", "", "passed", "", 201},
		{"slow page within 50ms", "", "failed", "over the bound of 50ms", 200},
		{"old url redirects", "", "passed", "", 302},
		{"dashboard with the wrong token", "", "failed", "status 401, expected 200: denied for Bearer [REDACTED]", 401},
	}
	tests := m["tests"].([]any)
	if len(tests) != len(rows) {
		t.Fatalf("got %d tests, want %d: %v", len(tests), len(rows), tests)
	}
	for i, w := range rows {
		g := tests[i].(map[string]any)
		inst, _ := g["instance"].(string)
		if g["name"] != w.name || inst != w.instance || g["status"] != w.status || g["suite"] != HTTPSuite || g["status_code"] != w.code {
			t.Errorf("test %d = %v, want %+v", i, g, w)
		}
		if !strings.Contains(g["message"].(string), w.msg) || (w.msg == "" && g["message"] != "") {
			t.Errorf("test %d (%s) message %q, want %q", i, w.name, g["message"], w.msg)
		}
		if g["started_at"] != "2026-11-26T08:05:00Z" {
			t.Errorf("test %d started_at = %v", i, g["started_at"])
		}
	}
	if g := tests[6].(map[string]any); g["critical"] != false {
		t.Errorf("critical = %v, want false", g["critical"])
	}
	if g := tests[1].(map[string]any); g["url"] != b.URL+"/" {
		t.Errorf("a /path goes to each instance's origin: url = %v", g["url"])
	}
	errs := m["errors"].([]any)
	if len(errs) != 1 || errs[0] != `check "token not set": environment variable UNSET_TOKEN (bearer_token_env) is not set` {
		t.Errorf("errors = %v", errs)
	}
	if m["started_at"] != "2026-11-26T08:05:00Z" || m["finished_at"] != "2026-11-26T08:05:00Z" {
		t.Errorf("times = %v .. %v", m["started_at"], m["finished_at"])
	}
	if !strings.Contains(f.URL, a.URL+"/api/status") || !strings.Contains(f.URL, b.URL+"/dashboard") {
		t.Errorf("url = %q", f.URL)
	}
}

// TestHTTPChecksFromRunbookFile: checks as the current schema admits them, through the loader.
func TestHTTPChecksFromRunbookFile(t *testing.T) {
	a := collectortest.Server(t, shop("a"))
	dir := t.TempDir()
	rb := exampleRunbook(t, dir, `smoke:
  budget: 8m
  critical: ["homepage loads with 200"]
  checks:
    - {name: "homepage loads with 200", url: "`+a.URL+`/", expect_body: "Welcome", timeout: 2s}
    - {name: "cart is created", url: "`+a.URL+`/api/cart", method: POST, expect_status: 400, critical: false}
`)
	facts := New(WithClock(fixedClock)).Collect(context.Background(), postSmoke(rb))
	assertKit(t, facts)
	m := factJSON(t, smokeFact(t, facts))
	tests := m["tests"].([]any)
	if len(tests) != 2 {
		t.Fatalf("tests = %v", tests)
	}
	for i, want := range []struct {
		status   string
		critical bool
	}{{"passed", true}, {"passed", false}} {
		g := tests[i].(map[string]any)
		if g["status"] != want.status || g["critical"] != want.critical {
			t.Errorf("test %d = %v", i, g)
		}
	}
	// The example's production instances are not reachable: a /path check against them fails
	// per instance rather than erroring the whole source.
	rb = exampleRunbook(t, dir, `smoke:
  budget: 8m
  critical: ["homepage loads with 200"]
  checks:
    - {name: "homepage loads with 200", url: "/", timeout: 1s}
`)
	// Point the typed instances at closed ports so the test never leaves the machine.
	closed := collectortest.ClosedURL(t)
	e := rb.Spec.Environments["production"]
	for i := range e.Cohorts.New.Instances {
		e.Cohorts.New.Instances[i].VersionURL = closed + "/version"
	}
	facts = New(WithClock(fixedClock)).Collect(context.Background(), postSmoke(rb))
	assertKit(t, facts)
	m = factJSON(t, smokeFact(t, facts))
	tests = m["tests"].([]any)
	if len(tests) != 3 {
		t.Fatalf("tests = %v", tests)
	}
	for i, x := range tests {
		g := x.(map[string]any)
		if g["status"] != "failed" || g["instance"] != fmt.Sprintf("web-canary-%d", i) || !strings.Contains(g["message"].(string), "request failed") {
			t.Errorf("test %d = %v", i, g)
		}
	}
}

// failingChecks wraps the collector for the kit's fault suite: against a broken server every
// check must be a failed test with a reason (a failed check is an observation the policy acts
// on, not a failure of the source), and the fact itself stays usable.
type failingChecks struct {
	t *testing.T
	c *Collector
}

func (f failingChecks) Collect(ctx context.Context, req engine.Request) map[string]engine.Fact {
	facts := f.c.Collect(ctx, req)
	fact := facts["smoke"]
	if fact.Err != "" {
		f.t.Errorf("fact error %q: a broken server fails the checks, not the source", fact.Err)
	}
	tests, _ := fact.Data["tests"].([]any)
	if len(tests) != 3 {
		f.t.Errorf("got %d tests, want 3", len(tests))
	}
	for _, x := range tests {
		tm := x.(map[string]any)
		if tm["status"] != "failed" || tm["message"] == "" {
			f.t.Errorf("check against a broken server: %v", tm)
		}
	}
	if _, ok := fact.Data["finished_at"]; !ok {
		f.t.Errorf("no finished_at")
	}
	collectortest.AssertSchema(f.t, facts)
	return facts
}

func TestHTTPChecksFaults(t *testing.T) {
	collectortest.RunFaults(t, func(t *testing.T, baseURL string) (engine.Collector, engine.Request) {
		rb := checksRunbook(t, []map[string]any{
			{"name": "homepage", "url": "/", "timeout": "1s", "expect_body": "Welcome"},
			{"name": "api", "url": baseURL + "/api/v1/query?token=" + collectortest.Secret, "timeout": "1s",
				"bearer_token_env": "SMOKE_TOKEN", "expect_json": []any{map[string]any{"path": "status", "equals": "success"}}},
		}, baseURL, baseURL)
		c := New(env(map[string]string{"SMOKE_TOKEN": collectortest.Secret}))
		return failingChecks{t, c}, postSmoke(rb)
	})
}

func TestHTTPChecksConcurrent(t *testing.T) {
	var inflight, peak atomic.Int32
	srv := collectortest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(300 * time.Millisecond)
	}))
	var checks []map[string]any
	for i := range 12 {
		checks = append(checks, map[string]any{"name": fmt.Sprintf("check %d", i), "url": srv.URL + fmt.Sprintf("/%d", i)})
	}
	rb := checksRunbook(t, checks)
	start := time.Now()
	facts := New().Collect(context.Background(), postSmoke(rb))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("12 checks of 300ms took %v: not concurrent", d)
	}
	if peak.Load() < 2 {
		t.Errorf("peak concurrency %d", peak.Load())
	}
	m := factJSON(t, smokeFact(t, facts))
	for i, x := range m["tests"].([]any) {
		if g := x.(map[string]any); g["name"] != fmt.Sprintf("check %d", i) || g["status"] != "passed" {
			t.Errorf("test %d = %v (order must follow the runbook)", i, g)
		}
	}
}

func TestHTTPCheckConfigErrors(t *testing.T) {
	rb := checksRunbook(t, []map[string]any{
		{"name": "bad timeout", "url": "http://127.0.0.1:1/", "timeout": "soon"},
		{"name": "bad json assertion", "url": "http://127.0.0.1:1/", "expect_json": []any{"status"}},
		{"name": "needs instances", "url": "/x"},
		{"name": "ftp", "url": "ftp://example.com/x"},
	})
	facts := New().Collect(context.Background(), postSmoke(rb))
	assertKit(t, facts)
	m := factJSON(t, smokeFact(t, facts))
	errs, _ := json.Marshal(m["errors"])
	for _, want := range []string{"smoke.checks[0] (bad timeout): timeout", "smoke.checks[1] (bad json assertion): expect_json[0]",
		`check \"needs instances\": path /x needs the new cohort, which lists no instances`, `url ftp://example.com/x is neither`} {
		if !strings.Contains(string(errs), want) {
			t.Errorf("errors %s lack %q", errs, want)
		}
	}
	if n := len(m["tests"].([]any)); n != 0 {
		t.Errorf("got %d tests", n)
	}
}

func TestLookupPath(t *testing.T) {
	var doc any
	_ = json.Unmarshal([]byte(`{"a": {"b": [10, {"c": "x"}]}, "d.e": 1}`), &doc)
	for _, tc := range []struct {
		path  string
		want  any
		found bool
	}{
		{"a.b.0", 10.0, true}, {"$.a.b.1.c", "x", true}, {"a.b.2", nil, false}, {"a.b.-1", nil, false},
		{"a.x", nil, false}, {"a.b.0.z", nil, false}, {"$", doc, true},
	} {
		got, found := lookupPath(doc, tc.path)
		if found != tc.found || (found && fmt.Sprint(got) != fmt.Sprint(tc.want)) {
			t.Errorf("lookupPath(%q) = %v, %v", tc.path, got, found)
		}
	}
}
