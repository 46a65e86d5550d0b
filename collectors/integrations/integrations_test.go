package integrations

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/collectortest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

const tokenEnv = "GK_INTEGRATIONS_TOKEN"

func lookup(name string) (string, bool) {
	if name == tokenEnv {
		return collectortest.Secret, true
	}
	return "", false
}

func request(gate engine.Gate, probes []engine.IntegrationProbe, criteria []engine.IntegrationCriterion) engine.Request {
	rb := &engine.Runbook{Path: "runbook.yaml", Spec: engine.RunbookSpec{
		Criteria:     engine.CriteriaSpec{Integrations: criteria},
		Environments: map[string]engine.EnvSpec{"production": {Name: "production", Integrations: probes}},
	}}
	return engine.Request{Runbook: rb, Environment: "production", Gate: gate, Now: time.Now()}
}

func status(t *testing.T, code int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+collectortest.Secret {
			t.Errorf("Authorization = %q, want the bearer token", got)
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	})
}

func newCollector(opts ...Option) *Collector {
	return New(append([]Option{WithLookupEnv(lookup), WithBearerTokenEnv(tokenEnv), WithTimeout(2 * time.Second)}, opts...)...)
}

func collect(t *testing.T, c *Collector, req engine.Request) []map[string]any {
	t.Helper()
	facts := c.Collect(context.Background(), req)
	collectortest.AssertSchema(t, facts)
	collectortest.AssertProvenance(t, facts)
	collectortest.AssertNoSecret(t, facts)
	f, ok := facts[FactName]
	if !ok {
		t.Fatalf("no %s fact", FactName)
	}
	if f.Err != "" {
		t.Fatalf("fact error %q: probe failures belong in the items", f.Err)
	}
	list := f.Data["items"].([]any)
	out := make([]map[string]any, len(list))
	for i, e := range list {
		out[i] = e.(map[string]any)
	}
	return out
}

func TestProbes(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	tests := []struct {
		name      string
		h         http.Handler // nil: a closed port
		expect    int
		timeout   time.Duration
		ok        bool
		code      int // 0: none
		wantErr   string
		maxSecond time.Duration
	}{
		{"200 as expected", status(t, 200, "pong"), 200, 0, true, 200, "", 0},
		{"default expectation is 200", status(t, 200, ""), 0, 0, true, 200, "", 0},
		{"204 expected", status(t, 204, ""), 204, 0, true, 204, "", 0},
		{"200 when 204 expected", status(t, 200, "ok"), 204, 0, false, 200, "HTTP 200, expected 204", 0},
		{"500", status(t, 500, "upstream exploded"), 200, 0, false, 500, "HTTP 500, expected 200: upstream exploded", 0},
		{"401 echoing the token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "denied for "+r.Header.Get("Authorization")+" "+r.URL.RawQuery, http.StatusUnauthorized)
		}), 200, 0, false, 401, "denied for Bearer [REDACTED]", 0},
		{"large body does not fail the probe", status(t, 200, strings.Repeat("x", 4096)), 200, 0, true, 200, "", 0},
		{"slow past the integration's timeout", slow, 200, 300 * time.Millisecond, false, 0, "within the 300ms timeout", time.Second},
		{"closed port", nil, 200, 0, false, 0, "connection refused", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := collectortest.ClosedURL(t)
			if tt.h != nil {
				url = collectortest.Server(t, tt.h).URL + "/ping?token=" + collectortest.Secret
			}
			probes := []engine.IntegrationProbe{{Name: "payments", URL: url, ExpectStatus: tt.expect, Timeout: tt.timeout}}
			start := time.Now()
			items := collect(t, newCollector(WithMaxBody(1024)), request(engine.Window, probes, nil))
			if tt.maxSecond > 0 && time.Since(start) > tt.maxSecond {
				t.Errorf("took %v, want under %v", time.Since(start), tt.maxSecond)
			}
			p := items[0]["probe"].(map[string]any)
			if p["ok"] != tt.ok {
				t.Errorf("ok = %v, want %v (%v)", p["ok"], tt.ok, p)
			}
			if tt.code == 0 && p["status_code"] != nil || tt.code != 0 && p["status_code"] != tt.code {
				t.Errorf("status_code = %v, want %d", p["status_code"], tt.code)
			}
			msg, _ := p["error"].(string)
			if tt.wantErr == "" && msg != "" || !strings.Contains(msg, tt.wantErr) {
				t.Errorf("error = %q, want %q", msg, tt.wantErr)
			}
			if at, err := time.Parse(time.RFC3339, p["at"].(string)); err != nil || time.Since(at) > time.Minute {
				t.Errorf("at = %v (%v)", p["at"], err)
			}
			if strings.Contains(items[0]["url"].(string), collectortest.Secret) {
				t.Errorf("url not redacted: %v", items[0]["url"])
			}
		})
	}
}

func TestCriticalAndOrder(t *testing.T) {
	srv := collectortest.Server(t, status(t, 200, ""))
	probes := []engine.IntegrationProbe{
		{Name: "payments", URL: srv.URL, ExpectStatus: 200},
		{Name: "search", URL: srv.URL, ExpectStatus: 200},
		{Name: "email", URL: srv.URL, ExpectStatus: 200},
	}
	criteria := []engine.IntegrationCriterion{
		{Name: "payments", Critical: true, MaxUnavailable: 3 * time.Minute},
		{Name: "email", Critical: false, MaxUnavailable: 15 * time.Minute},
	}
	items := collect(t, newCollector(), request(engine.PostSmoke, probes, criteria))
	want := []struct {
		name     string
		critical bool
	}{{"payments", true}, {"search", true}, {"email", false}}
	for i, w := range want {
		if items[i]["name"] != w.name || items[i]["critical"] != w.critical {
			t.Errorf("item %d = %v, want %s critical=%v (unclassified integrations count as critical)", i, items[i], w.name, w.critical)
		}
	}
}

func TestConcurrent(t *testing.T) {
	srv := collectortest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
	}))
	var probes []engine.IntegrationProbe
	for range 20 {
		probes = append(probes, engine.IntegrationProbe{Name: "x", URL: srv.URL, ExpectStatus: 200, Timeout: 5 * time.Second})
	}
	start := time.Now()
	items := collect(t, newCollector(), request(engine.Canary, probes, nil))
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("20 probes of 300ms took %v; they must run concurrently", d)
	}
	if len(items) != 20 {
		t.Errorf("%d items", len(items))
	}
}

func TestGates(t *testing.T) {
	srv := collectortest.Server(t, status(t, 200, ""))
	probes := []engine.IntegrationProbe{{Name: "payments", URL: srv.URL, ExpectStatus: 200}}
	for _, g := range engine.Gates() {
		t.Run(string(g), func(t *testing.T) {
			facts := newCollector().Collect(context.Background(), request(g, probes, nil))
			_, got := facts[FactName]
			want := g == engine.PostSmoke || g == engine.Canary || g == engine.Window
			if got != want || len(facts) > 1 {
				t.Errorf("gate %s: facts %v", g, facts)
			}
		})
	}
}

func TestNoIntegrations(t *testing.T) {
	items := collect(t, newCollector(), request(engine.Window, nil, nil))
	if len(items) != 0 {
		t.Errorf("items = %v, want none", items)
	}
}

func TestSourceFailures(t *testing.T) {
	srv := collectortest.Server(t, status(t, 200, ""))
	probes := []engine.IntegrationProbe{{Name: "payments", URL: srv.URL}}
	tests := []struct {
		name    string
		c       *Collector
		req     engine.Request
		wantErr string
	}{
		{"no runbook", newCollector(), engine.Request{Gate: engine.Window, Environment: "production"}, "no runbook"},
		{"unknown environment", newCollector(), func() engine.Request {
			r := request(engine.Window, probes, nil)
			r.Environment = "staging"
			return r
		}(), `environment "staging" is not in the runbook`},
		{"token variable unset", New(WithBearerTokenEnv("GK_UNSET")), request(engine.Window, probes, nil), "GK_UNSET is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			facts := tt.c.Collect(context.Background(), tt.req)
			collectortest.AssertFailed(t, facts, FactName)
			collectortest.AssertProvenance(t, facts)
			collectortest.AssertSchema(t, facts)
			if e := facts[FactName].Err; !strings.HasPrefix(e, "collect integrations: ") || !strings.Contains(e, tt.wantErr) {
				t.Errorf("error = %q", e)
			}
		})
	}
}

// failedProbes wraps the collector for the kit's fault suite. A failed probe is the
// observation the integration criterion is about (down since when, before or after
// cutover), so it is reported in the item — probe.ok false with probe.error — and never
// as a fact error; this wrapper asserts exactly that for every fault. The runbook's probe
// is a URL and an expected status, so the faults answering 200 with a body that is not
// what a JSON API would send (html, truncated json) are up: the body is not judged.
type failedProbes struct {
	t  *testing.T
	c  *Collector
	up bool
}

func (w failedProbes) Collect(ctx context.Context, req engine.Request) map[string]engine.Fact {
	facts := w.c.Collect(ctx, req)
	f := facts[FactName]
	if f.Err != "" {
		w.t.Errorf("fact error %q: a failed probe belongs in its item", f.Err)
	}
	items, _ := f.Data["items"].([]any)
	if len(items) != 2 {
		w.t.Fatalf("items = %v", items)
	}
	for _, it := range items {
		p := it.(map[string]any)["probe"].(map[string]any)
		msg, _ := p["error"].(string)
		if w.up && (p["ok"] != true || msg != "" || p["status_code"] != 200) {
			w.t.Errorf("probe = %v, want ok true with status 200", p)
		}
		if !w.up && (p["ok"] != false || msg == "") {
			w.t.Errorf("probe = %v, want ok false with an error", p)
		}
	}
	collectortest.AssertSchema(w.t, facts)
	return facts
}

func TestFaults(t *testing.T) {
	collectortest.RunFaults(t, func(t *testing.T, baseURL string) (engine.Collector, engine.Request) {
		u := baseURL + "/ping?token=" + collectortest.Secret
		probes := []engine.IntegrationProbe{
			{Name: "payments", URL: u, ExpectStatus: 200, Timeout: time.Second},
			{Name: "search", URL: u, ExpectStatus: 200}, // the collector's own timeout applies
		}
		c := New(WithLookupEnv(lookup), WithBearerTokenEnv(tokenEnv), WithTimeout(time.Second))
		up := strings.HasSuffix(t.Name(), "/html") || strings.HasSuffix(t.Name(), "/truncated_json")
		return failedProbes{t, c, up}, request(engine.Window, probes, nil)
	})
}
