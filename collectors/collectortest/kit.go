// Package collectortest is the shared test kit of the collectors, as alertmanager's
// notify/test serves every notifier: fault servers, provenance and schema checks, and
// secret-redaction assertions that every collector runs against itself.
package collectortest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/internal/proctest"
)

// Secret is a token value tests hand to collectors; it must never appear in their output.
const Secret = "gk-test-s3cr3t-7f1c9a"

// AssertNoSecret fails when any secret appears in the facts (data, provenance or error).
func AssertNoSecret(t testing.TB, facts map[string]engine.Fact, secrets ...string) {
	t.Helper()
	b, err := json.Marshal(engine.FactsMap(facts))
	if err != nil {
		t.Fatalf("marshal facts: %v", err)
	}
	for _, s := range append([]string{Secret}, secrets...) {
		if s != "" && strings.Contains(string(b), s) {
			t.Errorf("a secret leaked into the facts: %s", b)
		}
	}
}

// AssertProvenance checks that every fact says where it came from and when.
func AssertProvenance(t testing.TB, facts map[string]engine.Fact) {
	t.Helper()
	for name, f := range facts {
		if f.Source == "" {
			t.Errorf("fact %s has no source", name)
		}
		if f.CollectedAt.IsZero() {
			t.Errorf("fact %s has no collected_at", name)
		}
		if f.Query == "" && f.URL == "" && f.Path == "" {
			t.Errorf("fact %s names no query, url or path", name)
		}
	}
}

// AssertFailed checks that each named fact exists and carries an error: a failed source must
// be visible in the facts, so the gate is unknown rather than silently go.
func AssertFailed(t testing.TB, facts map[string]engine.Fact, names ...string) {
	t.Helper()
	for _, name := range names {
		f, ok := facts[name]
		if !ok {
			t.Errorf("fact %s missing; a failed source must still report it with an error", name)
			continue
		}
		if f.Err == "" {
			t.Errorf("fact %s has no error: %+v", name, f)
		}
	}
}

// AssertSchema validates the facts against the #Facts schema, as evaluate --facts would.
func AssertSchema(t testing.TB, facts map[string]engine.Fact) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"facts": engine.FactsMap(facts)})
	if err != nil {
		t.Fatalf("marshal facts: %v", err)
	}
	if _, err := engine.ParseFacts("collected.json", b); err != nil {
		t.Errorf("collected facts do not match #Facts: %v\n%s", err, b)
	}
}

// Fault is a misbehaving HTTP server every HTTP-speaking collector must survive.
type Fault struct {
	Name    string
	Handler http.Handler
}

// Faults are the server failures of the kit: error status, HTML instead of JSON, truncated
// JSON, a reply slower than any sane timeout, and a server echoing the credentials it got.
func Faults() []Fault {
	return []Fault{
		{"status 500", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "internal error", http.StatusInternalServerError)
		})},
		{"html", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html><body>Bad Gateway</body></html>"))
		})},
		{"truncated json", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[17`))
		})},
		{"slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Reading the body first lets the server notice a client that gives up on a POST.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
		})},
		{"echoes credentials", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "denied for "+r.Header.Get("Authorization")+" "+r.URL.RawQuery, http.StatusUnauthorized)
		})},
	}
}

// Server starts an httptest server on loopback, closed when the test ends.
func Server(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// ClosedURL returns an http URL on loopback where nothing listens.
func ClosedURL(t testing.TB) string {
	t.Helper()
	return "http://" + proctest.FreeAddr(t)
}

// RunFaults is the shared fault suite: for every fault server (and a closed port), the
// collector built against that base URL must return promptly, report each named fact with an
// error, keep provenance, and leak no secret. build returns the collector and request to run.
func RunFaults(t *testing.T, build func(t *testing.T, baseURL string) (engine.Collector, engine.Request), names ...string) {
	t.Helper()
	cases := Faults()
	cases = append(cases, Fault{Name: "closed port"})
	for _, fc := range cases {
		t.Run(fc.Name, func(t *testing.T) {
			url := ""
			if fc.Handler == nil {
				url = ClosedURL(t)
			} else {
				url = Server(t, fc.Handler).URL
			}
			c, req := build(t, url)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			facts := c.Collect(ctx, req)
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("collector took %v against a %s server; it must honour its timeout", d, fc.Name)
			}
			AssertFailed(t, facts, names...)
			AssertProvenance(t, facts)
			AssertNoSecret(t, facts)
		})
	}
}
