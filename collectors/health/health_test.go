package health

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/collectortest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

const tokenEnv = "GK_HEALTH_TOKEN"

// lookup serves the test token for tokenEnv, nothing else.
func lookup(name string) (string, bool) {
	if name == tokenEnv {
		return collectortest.Secret, true
	}
	return "", false
}

// request builds a post-deploy (or other gate) request whose cohorts hold the given health URLs.
func request(gate engine.Gate, newURLs, oldURLs []string) engine.Request {
	inst := func(prefix string, urls []string) []engine.Instance {
		out := make([]engine.Instance, len(urls))
		for i, u := range urls {
			out[i] = engine.Instance{Name: fmt.Sprintf("%s-%d", prefix, i), HealthURL: u, VersionURL: u}
		}
		return out
	}
	rb := &engine.Runbook{Path: "runbook.yaml", Spec: engine.RunbookSpec{Environments: map[string]engine.EnvSpec{
		"production": {Name: "production", Cohorts: engine.CohortsSpec{
			New: engine.Cohort{LabelValue: "canary", Replicas: len(newURLs), Instances: inst("web-canary", newURLs)},
			Old: engine.Cohort{LabelValue: "stable", Replicas: len(oldURLs), Instances: inst("web-stable", oldURLs)},
		}},
	}}}
	return engine.Request{Runbook: rb, Environment: "production", Gate: gate, Now: time.Now()}
}

// reply is a handler answering with a content type, status code and body, and checking the
// bearer token arrives.
func reply(t *testing.T, contentType string, code int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+collectortest.Secret {
			t.Errorf("Authorization = %q, want the bearer token", got)
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		} else {
			w.Header()["Content-Type"] = nil // no sniffing
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	})
}

func newCollector(opts ...Option) *Collector {
	return New(append([]Option{WithLookupEnv(lookup), WithBearerTokenEnv(tokenEnv), WithTimeout(2 * time.Second)}, opts...)...)
}

func collect(t *testing.T, c *Collector, req engine.Request) engine.Fact {
	t.Helper()
	facts := c.Collect(context.Background(), req)
	collectortest.AssertSchema(t, facts)
	collectortest.AssertProvenance(t, facts)
	collectortest.AssertNoSecret(t, facts)
	f, ok := facts[FactName]
	if !ok {
		t.Fatalf("no %s fact in %v", FactName, facts)
	}
	if f.Source != "http" {
		t.Errorf("source = %q, want http", f.Source)
	}
	return f
}

func instances(t *testing.T, f engine.Fact) []map[string]any {
	t.Helper()
	list, ok := f.Data["instances"].([]any)
	if !ok {
		t.Fatalf("instances missing: %+v", f)
	}
	out := make([]map[string]any, len(list))
	for i, e := range list {
		out[i] = e.(map[string]any)
	}
	return out
}

const (
	hj       = "application/health+json"
	actuator = "application/vnd.spring-boot.actuator.v3+json"
	js       = "application/json"
)

func TestFormats(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		code        int
		body        string
		status      string // "" when the entry must have no status
		raw         string
		format      string
		wantErr     string // substring of the instance error; "" for none
		degraded    []string
	}{
		{"health+json pass", hj, 200, `{"status":"pass"}`, "pass", "pass", FormatHealthJSON, "", nil},
		{"health+json warn", hj, 200, `{"status":"warn","output":"disk 85%"}`, "warn", "warn", FormatHealthJSON, "", nil},
		{"health+json fail over 503", hj, 503, `{"status":"fail"}`, "fail", "fail", FormatHealthJSON, "", nil},
		{"alias ok", hj, 200, `{"status":"ok"}`, "pass", "ok", FormatHealthJSON, "", nil},
		{"alias up", js, 200, `{"status":"up"}`, "pass", "up", FormatHealthJSON, "", nil},
		{"alias down", hj, 200, `{"status":"down"}`, "fail", "down", FormatHealthJSON, "", nil},
		{"alias error", hj, 200, `{"status":"error"}`, "fail", "error", FormatHealthJSON, "", nil},
		{"alias case-insensitive", js, 200, `{"status":"OK"}`, "pass", "OK", FormatHealthJSON, "", nil},
		{"nested checks: worst is warn", hj, 200, `{"status":"pass","checks":{"db:connections":[{"status":"pass"},{"status":"warn"}],"cache:responseTime":[{"status":"pass"}]}}`, "warn", "pass", FormatHealthJSON, "", []string{"db:connections[1]: warn"}},
		{"nested checks: worst is fail", hj, 200, `{"status":"pass","checks":{"db":[{"status":"down"}],"cache":[{"status":"warn"}]}}`, "fail", "pass", FormatHealthJSON, "", []string{"cache: warn", "db: down"}},
		{"nested checks: all pass", hj, 200, `{"status":"pass","checks":{"db":[{"status":"pass"}],"uptime":[{"componentType":"system","observedValue":1209600}]}}`, "pass", "pass", FormatHealthJSON, "", nil},
		{"nested check with unknown status", hj, 200, `{"status":"pass","checks":{"db":[{"status":"purple"}]}}`, "fail", "pass", FormatHealthJSON, "unrecognized status", nil},
		{"nested check as a single object", hj, 200, `{"status":"pass","checks":{"db":{"status":"fail"}}}`, "fail", "pass", FormatHealthJSON, "", []string{"db: fail"}},
		{"actuator UP", actuator, 200, `{"status":"UP","components":{"db":{"status":"UP"},"diskSpace":{"status":"UP"}}}`, "pass", "UP", FormatActuator, "", nil},
		{"actuator DOWN", actuator, 503, `{"status":"DOWN","components":{"db":{"status":"DOWN","details":{"error":"timeout"}}}}`, "fail", "DOWN", FormatActuator, "", []string{"db: DOWN"}},
		{"actuator OUT_OF_SERVICE", js, 503, `{"status":"OUT_OF_SERVICE"}`, "fail", "OUT_OF_SERVICE", FormatActuator, "", nil},
		{"actuator UNKNOWN", js, 200, `{"status":"UNKNOWN"}`, "warn", "UNKNOWN", FormatActuator, "", nil},
		{"actuator nested components listed", actuator, 200, `{"status":"UP","components":{"db":{"status":"UP","components":{"primary":{"status":"UP"},"replica":{"status":"UNKNOWN"}}}}}`, "pass", "UP", FormatActuator, "", []string{"db.replica: UNKNOWN"}},
		{"pass document over HTTP 500 is fail", hj, 500, `{"status":"pass"}`, "fail", "pass", FormatHealthJSON, "", nil},
		{"plain 200 ok", "text/plain; charset=utf-8", 200, "ok\n", "pass", "ok", FormatPlain, "", nil},
		{"plain 204 empty", "", 204, "", "pass", "HTTP 204", FormatPlain, "", nil},
		{"plain 503", "text/plain", 503, "unhealthy", "fail", "unhealthy", FormatPlain, "HTTP 503", nil},
		{"plain 404", "text/plain", 404, "404 page not found", "fail", "404 page not found", FormatPlain, "HTTP 404", nil},
		{"JSON sent as text/plain", "text/plain", 200, `{"status":"warn"}`, "warn", "warn", FormatHealthJSON, "", nil},
		{"HTML page over 200", "text/html", 200, "<html><body>Sign in</body></html>", "", "", "", "HTML page", nil},
		{"HTML page over 502", "text/html", 502, "<html><body>Bad Gateway</body></html>", "fail", "", "", "HTTP 502", nil},
		{"truncated JSON", js, 200, `{"status":"pa`, "", "", "", "truncated", nil},
		{"JSON without status", js, 200, `{"healthy":true}`, "", "", "", "no status string", nil},
		{"JSON numeric status (error body)", js, 401, `{"status":401,"error":"Unauthorized"}`, "fail", "", "", "HTTP 401", nil},
		{"JSON array", js, 200, `[{"status":"pass"}]`, "", "", "", "not a health document", nil},
		{"unknown status word", hj, 200, `{"status":"green"}`, "", "green", FormatHealthJSON, `unrecognized health status "green"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := collectortest.Server(t, reply(t, tt.contentType, tt.code, tt.body))
			f := collect(t, newCollector(), request(engine.PostDeploy, []string{srv.URL + "/healthz", srv.URL + "/healthz"}, nil))
			for _, e := range instances(t, f) {
				if got, _ := e["status"].(string); got != tt.status {
					t.Errorf("status = %q, want %q (%v)", got, tt.status, e)
				}
				if got, _ := e["raw_status"].(string); got != tt.raw {
					t.Errorf("raw_status = %q, want %q", got, tt.raw)
				}
				if got, _ := e["format"].(string); got != tt.format {
					t.Errorf("format = %q, want %q", got, tt.format)
				}
				if got := e["status_code"]; got != tt.code {
					t.Errorf("status_code = %v, want %d", got, tt.code)
				}
				msg, _ := e["error"].(string)
				if tt.wantErr == "" && msg != "" || tt.wantErr != "" && !strings.Contains(msg, tt.wantErr) {
					t.Errorf("error = %q, want %q", msg, tt.wantErr)
				}
				var degraded []string
				if d, ok := e["degraded"].([]any); ok {
					for _, s := range d {
						degraded = append(degraded, s.(string))
					}
				}
				if fmt.Sprint(degraded) != fmt.Sprint(tt.degraded) {
					t.Errorf("degraded = %v, want %v", degraded, tt.degraded)
				}
			}
			// Every instance answered the same way: an error on each fails the whole source.
			if (tt.wantErr != "") != (f.Err != "") {
				t.Errorf("fact error = %q; want one exactly when every instance errored", f.Err)
			}
		})
	}
}

func TestCohortsPerGate(t *testing.T) {
	var hits atomic.Int32
	srv := collectortest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", hj)
		_, _ = w.Write([]byte(`{"status":"pass"}`))
	}))
	u := srv.URL + "/health"
	tests := []struct {
		name    string
		gate    engine.Gate
		want    []string // instance names, in order
		noFacts bool
	}{
		{"post-deploy reads the new cohort", engine.PostDeploy, []string{"web-canary-0", "web-canary-1"}, false},
		{"post-rollback reads both cohorts", engine.PostRollback, []string{"web-canary-0", "web-canary-1", "web-stable-0", "web-stable-1", "web-stable-2"}, false},
		{"pre-cutover reads none", engine.PreCutover, nil, true},
		{"post-smoke reads none", engine.PostSmoke, nil, true},
		{"window reads none", engine.Window, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			req := request(tt.gate, []string{u, u}, []string{u, u, u})
			facts := newCollector().Collect(context.Background(), req)
			if tt.noFacts {
				if len(facts) != 0 || hits.Load() != 0 {
					t.Fatalf("gate %s: facts %v, %d requests; want none", tt.gate, facts, hits.Load())
				}
				return
			}
			collectortest.AssertSchema(t, facts)
			var names []string
			for _, e := range instances(t, facts[FactName]) {
				names = append(names, e["name"].(string))
				if e["status"] != "pass" {
					t.Errorf("%v: not pass", e)
				}
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.want) {
				t.Errorf("instances = %v, want %v", names, tt.want)
			}
			if int(hits.Load()) != len(tt.want) {
				t.Errorf("%d requests, want %d", hits.Load(), len(tt.want))
			}
		})
	}
}

func TestPartialFailure(t *testing.T) {
	ok := collectortest.Server(t, reply(t, hj, 200, `{"status":"pass"}`))
	f := collect(t, newCollector(), request(engine.PostDeploy, []string{ok.URL, collectortest.ClosedURL(t), ok.URL}, nil))
	if f.Err != "" {
		t.Fatalf("one instance down must not fail the source: %s", f.Err)
	}
	got := instances(t, f)
	if got[1]["error"] == nil || got[1]["status"] != nil || got[1]["status_code"] != nil {
		t.Errorf("closed port entry = %v, want an error and no status", got[1])
	}
	if got[0]["status"] != "pass" || got[2]["status"] != "pass" {
		t.Errorf("healthy entries = %v, %v", got[0], got[2])
	}
}

func TestConcurrent(t *testing.T) {
	srv := collectortest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		w.Header().Set("Content-Type", hj)
		_, _ = w.Write([]byte(`{"status":"pass"}`))
	}))
	urls := []string{srv.URL, srv.URL, srv.URL, srv.URL, srv.URL, srv.URL, srv.URL, srv.URL}
	start := time.Now()
	f := collect(t, newCollector(), request(engine.PostRollback, urls, urls))
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("16 instances of 300ms took %v; they must be queried concurrently", d)
	}
	if n := len(instances(t, f)); n != 16 {
		t.Errorf("%d instances, want 16", n)
	}
}

func TestSourceFailures(t *testing.T) {
	srv := collectortest.Server(t, reply(t, hj, 200, `{"status":"pass"}`))
	tests := []struct {
		name    string
		c       *Collector
		req     func() engine.Request
		wantErr string
	}{
		{"no runbook", newCollector(), func() engine.Request { return engine.Request{Gate: engine.PostDeploy, Environment: "production"} }, "no runbook"},
		{"unknown environment", newCollector(), func() engine.Request {
			r := request(engine.PostDeploy, []string{srv.URL}, nil)
			r.Environment = "staging"
			return r
		}, `environment "staging" is not in the runbook`},
		{"no instances in the new cohort", newCollector(), func() engine.Request { return request(engine.PostDeploy, nil, []string{srv.URL}) }, "cohorts.new has no instances"},
		{"no instances in the old cohort at post-rollback", newCollector(), func() engine.Request { return request(engine.PostRollback, []string{srv.URL}, nil) }, "cohorts.old has no instances"},
		{"token variable unset", New(WithBearerTokenEnv("GK_UNSET_TOKEN"), WithLookupEnv(lookup)), func() engine.Request { return request(engine.PostDeploy, []string{srv.URL}, nil) }, "GK_UNSET_TOKEN is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			facts := tt.c.Collect(context.Background(), tt.req())
			collectortest.AssertFailed(t, facts, FactName)
			collectortest.AssertProvenance(t, facts)
			collectortest.AssertSchema(t, facts)
			if f := facts[FactName]; !strings.HasPrefix(f.Err, "collect health: ") || !strings.Contains(f.Err, tt.wantErr) {
				t.Errorf("error = %q, want collect health: …%s…", f.Err, tt.wantErr)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	big := `{"status":"pass","pad":"` + strings.Repeat("x", 4096) + `"}`
	loop := 0
	tests := []struct {
		name    string
		h       http.Handler
		opts    []Option
		wantErr string
	}{
		{"body over the limit", reply(t, hj, 200, big), []Option{WithMaxBody(1024)}, "exceeds the limit of 1 KiB"},
		{"streamed body over the limit", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", hj)
			for range 8 {
				_, _ = w.Write([]byte(strings.Repeat(" ", 512)))
				w.(http.Flusher).Flush()
			}
		}), []Option{WithMaxBody(1024)}, "exceeds the limit of 1 KiB"},
		{"redirect loop", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			loop++
			http.Redirect(w, r, fmt.Sprintf("/again/%d", loop), http.StatusFound)
		}), nil, "stopped after 5 redirects"},
		{"slow past the timeout", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}), []Option{WithTimeout(200 * time.Millisecond)}, "within the 200ms timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := collectortest.Server(t, tt.h)
			start := time.Now()
			f := collect(t, newCollector(tt.opts...), request(engine.PostDeploy, []string{srv.URL}, nil))
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			e := instances(t, f)[0]
			if msg, _ := e["error"].(string); !strings.Contains(msg, tt.wantErr) {
				t.Errorf("instance error = %q, want %q", msg, tt.wantErr)
			}
			if f.Err == "" {
				t.Error("the only instance failed: the fact must carry an error")
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", hj)
		// An actuator that echoes the request into its details, and a status nobody knows.
		_, _ = fmt.Fprintf(w, `{"status":"pass","checks":{"auth %s %s":[{"status":"warn"}]}}`, r.Header.Get("Authorization"), r.URL.RawQuery)
	})
	srv := collectortest.Server(t, echo)
	u := srv.URL + "/health?token=" + collectortest.Secret
	f := collect(t, newCollector(), request(engine.PostDeploy, []string{u}, nil))
	e := instances(t, f)[0]
	if url, _ := e["url"].(string); strings.Contains(url, collectortest.Secret) || !strings.Contains(url, "token="+engine.Redacted) {
		t.Errorf("url = %q, want the token redacted", url)
	}
	if e["status"] != "warn" {
		t.Errorf("status = %v, want warn", e["status"])
	}
}

func TestFaults(t *testing.T) {
	collectortest.RunFaults(t, func(t *testing.T, baseURL string) (engine.Collector, engine.Request) {
		u := baseURL + "/health?token=" + collectortest.Secret
		return New(WithLookupEnv(lookup), WithBearerTokenEnv(tokenEnv), WithTimeout(time.Second)), request(engine.PostDeploy, []string{u, u}, nil)
	}, FactName)
}
