package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/live"
	"github.com/gatekeeper-dev/gatekeeper/metrics"
	"github.com/gatekeeper-dev/gatekeeper/server/servertest"
)

const (
	testToken   = "tok-5f1c9e0b7a3d4e6f8a2b"
	example     = "../testdata/example"
	exampleRB   = example + "/runbook.yaml"
	scenarioDir = example + "/scenarios"
)

// expectedScenario is one entry of testdata/example/scenarios/expected.json.
type expectedScenario struct {
	File     string         `json:"file"`
	Gate     string         `json:"gate"`
	Step     *int           `json:"step"`
	Runbook  string         `json:"runbook"`
	Decision engine.Outcome `json:"decision"`
}

func expectedScenarios(t testing.TB) []expectedScenario {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(scenarioDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []expectedScenario
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) < 20 {
		t.Fatalf("expected.json lists %d scenarios, want the whole example launch", len(out))
	}
	return out
}

func scenario(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(scenarioDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newServer is a server on the example runbooks ("runbook" and "runbook-edited") with the
// test token, logging into the returned buffer.
func newServer(t testing.TB, opts ...Option) (*Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	base := []Option{
		WithRunbookFiles(exampleRB, example+"/runbook-edited.yaml"),
		WithToken(testToken),
		WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		// No test reaches the example runbook's (fictional) hosts: live sources report nothing
		// unless a test gives its own.
		WithLive(servertest.LiveFrom(t, "", nil)),
	}
	s, err := New(context.Background(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}

// call sends one request to h and returns the status and body.
func call(t testing.TB, h http.Handler, method, path, token string, body []byte) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	return rr.Code, rr.Body.Bytes()
}

func decodeRecord(t testing.TB, body []byte) *engine.Record {
	t.Helper()
	var rec engine.Record
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		t.Fatalf("response is not a decision record: %v\n%s", err, body)
	}
	if rec.DecisionID == "" || rec.InputDigest == "" || rec.PoliciesDigest == "" {
		t.Fatalf("record without its identifiers: %s", body)
	}
	return &rec
}

func decodeError(t testing.TB, body []byte) RequestError {
	t.Helper()
	var e RequestError
	if err := json.Unmarshal(body, &e); err != nil || e.Msg == "" {
		t.Fatalf("response is not a JSON error (%v): %s", err, body)
	}
	return e
}

// ref is what evaluateLike decides with: loaded and compiled apart from any server.
var ref struct {
	once sync.Once
	rbs  map[string]*engine.Runbook
	ps   *engine.PolicySet
	err  error
}

// evaluateLike decides a facts file exactly as `gatekeeper evaluate --facts` does (same
// engine calls, its own policy set), for comparing with the server's answers.
func evaluateLike(t testing.TB, rbPath, file string) *engine.Record {
	t.Helper()
	ref.once.Do(func() {
		ref.rbs = map[string]*engine.Runbook{}
		for _, p := range []string{exampleRB, example + "/runbook-edited.yaml"} {
			rb, err := engine.LoadRunbook(p)
			if err != nil {
				ref.err = err
				return
			}
			ref.rbs[p] = rb
		}
		ref.ps, ref.err = engine.LoadPolicies(context.Background())
	})
	if ref.err != nil {
		t.Fatal(ref.err)
	}
	rb, ps := ref.rbs[rbPath], ref.ps
	ff, err := engine.LoadFacts(filepath.Join(scenarioDir, file))
	if err != nil {
		t.Fatal(err)
	}
	g, err := engine.ParseGate(ff.Gate)
	if err != nil {
		t.Fatal(err)
	}
	now, err := time.Parse(time.RFC3339, ff.Now)
	if err != nil {
		t.Fatal(err)
	}
	step := ff.Step
	if g != engine.Canary {
		step = nil
	}
	in, err := engine.BuildInput(rb, engine.Params{Gate: g, Step: step, Environment: ff.Environment, Now: now,
		CutoverAt: ff.CutoverAt, StepStartedAt: ff.StepStartedAt}, ff.Facts)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := engine.Decide(context.Background(), ps, rb, in, "")
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestDecideScenarios posts every example facts file and checks the answer is 200 with the
// expected decision and, byte for byte, the record evaluate's engine path makes.
func TestDecideScenarios(t *testing.T) {
	s, _ := newServer(t)
	for _, sc := range expectedScenarios(t) {
		t.Run(sc.File, func(t *testing.T) {
			path := "/v1/decide?runbook=" + strings.TrimSuffix(sc.Runbook, ".yaml")
			code, body := call(t, s, http.MethodPost, path, testToken, scenario(t, sc.File))
			if code != http.StatusOK {
				t.Fatalf("status %d, want 200 for a decided gate: %s", code, body)
			}
			rec := decodeRecord(t, body)
			if rec.Decision != sc.Decision || string(rec.Gate) != sc.Gate {
				t.Fatalf("decided %s at %s, want %s at %s", rec.Decision, rec.Gate, sc.Decision, sc.Gate)
			}
			want, err := json.Marshal(evaluateLike(t, example+"/"+sc.Runbook, sc.File))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(rec)
			if !bytes.Equal(got, want) {
				t.Errorf("record differs from evaluate's:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	s, _ := newServer(t)
	noTokenServer, _ := New(context.Background(), WithRunbookFiles(exampleRB), WithInsecureNoAuth())
	facts := scenario(t, "healthy__post-deploy.json")
	flagger := func(token string) []byte {
		md := map[string]string{"runbook": "runbook", "environment": "production", "gate": "post-deploy", "now": "2026-11-25T13:24:00Z"}
		if token != "" {
			md["token"] = token
		}
		b, _ := json.Marshal(FlaggerPayload{Name: "web", Namespace: "shop", Phase: "Progressing", Checksum: "abc", Metadata: md})
		return b
	}
	tests := []struct {
		name   string
		h      http.Handler
		method string
		path   string
		header string // Authorization header value, "" for none
		body   []byte
		want   int
	}{
		{"bearer header", s, "POST", "/v1/decide?runbook=runbook", "Bearer " + testToken, facts, 200},
		{"bearer scheme case-insensitive", s, "POST", "/v1/decide?runbook=runbook", "bearer " + testToken, facts, 200},
		{"no token", s, "POST", "/v1/decide?runbook=runbook", "", facts, 401},
		{"wrong token", s, "POST", "/v1/decide?runbook=runbook", "Bearer " + testToken + "x", facts, 401},
		{"token prefix", s, "POST", "/v1/decide?runbook=runbook", "Bearer " + testToken[:10], facts, 401},
		{"basic scheme", s, "POST", "/v1/decide?runbook=runbook", "Basic " + testToken, facts, 401},
		{"decisions need the token", s, "GET", "/v1/decisions/0000", "", nil, 401},
		{"flagger metadata token", s, "POST", "/v1/flagger/pre-rollout?", "", flagger(testToken), 412},
		{"flagger header token", s, "POST", "/v1/flagger/pre-rollout", "Bearer " + testToken, flagger(""), 412},
		{"flagger wrong metadata token", s, "POST", "/v1/flagger/pre-rollout", "", flagger("nope-" + testToken), 401},
		{"flagger no token", s, "POST", "/v1/flagger/pre-rollout", "", flagger(""), 401},
		{"flagger malformed body, no token", s, "POST", "/v1/flagger/pre-rollout", "", []byte("{"), 401},
		{"metadata-style token not read on decide", s, "POST", "/v1/decide?runbook=runbook", "", []byte(`{"token":"` + testToken + `"}`), 401},
		{"healthz is open", s, "GET", "/healthz", "", nil, 200},
		{"readyz is open", s, "GET", "/readyz", "", nil, 200},
		{"insecure server decides without a token", noTokenServer, "POST", "/v1/decide", "", facts, 200},
		{"insecure server ignores a token", noTokenServer, "POST", "/v1/decide", "Bearer whatever", facts, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, bytes.NewReader(tt.body))
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rr := httptest.NewRecorder()
			tt.h.ServeHTTP(rr, req)
			if rr.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rr.Code, tt.want, rr.Body)
			}
			if tt.want == 401 {
				if got := rr.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("401 without a Bearer challenge: %q", got)
				}
				if strings.Contains(rr.Body.String(), "decision") {
					t.Errorf("an unauthenticated request got a decision: %s", rr.Body)
				}
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"no token and not insecure", []Option{WithRunbookFiles(exampleRB)}, "no token"},
		{"short token", []Option{WithRunbookFiles(exampleRB), WithToken("short")}, "shorter than 16"},
		{"no runbook", []Option{WithInsecureNoAuth()}, "no runbook"},
		{"runbook that does not validate", []Option{WithInsecureNoAuth(), WithRunbookFiles("../testdata/golden/does-not-exist.yaml")}, "does-not-exist.yaml"},
		{"same runbook name twice", []Option{WithInsecureNoAuth(), WithRunbookFiles(exampleRB, exampleRB)}, "given twice"},
		{"unknown default environment", []Option{WithInsecureNoAuth(), WithRunbookFiles(exampleRB), WithEnvironment("qa")}, `"qa"`},
		{"policy that does not compile", []Option{WithInsecureNoAuth(), WithRunbookFiles(exampleRB), WithPolicies("../testdata/badpolicies")}, "broken.rego"},
		{"zero max body", []Option{WithInsecureNoAuth(), WithMaxBody(0)}, "max body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(context.Background(), tt.opts...)
			if err == nil || s != nil {
				t.Fatalf("New succeeded, want an error mentioning %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// TestBadRequests: every request that cannot be decided is a JSON error naming what is
// wrong, never a decision and never a 5xx.
func TestBadRequests(t *testing.T) {
	s, _ := newServer(t, WithMaxBody(64<<10))
	healthy := scenario(t, "healthy__canary-25.json")
	var m map[string]any
	if err := json.Unmarshal(healthy, &m); err != nil {
		t.Fatal(err)
	}
	with := func(edit func(m map[string]any)) []byte {
		var c map[string]any
		_ = json.Unmarshal(healthy, &c)
		edit(c)
		b, _ := json.Marshal(c)
		return b
	}
	tests := []struct {
		name      string
		path      string
		body      []byte
		want      int
		wantField string
	}{
		{"malformed JSON", "/v1/decide?runbook=runbook", []byte(`{"gate": "canary",`), 400, ""},
		{"not an object", "/v1/decide?runbook=runbook", []byte(`[1,2]`), 422, ""},
		{"two values", "/v1/decide?runbook=runbook", []byte(`{"gate":"window"} {}`), 400, ""},
		{"body too large", "/v1/decide?runbook=runbook", scenario(t, "healthy__window.json"), 413, ""},
		{"unknown field", "/v1/decide?runbook=runbook", with(func(m map[string]any) { m["gaet"] = "canary" }), 422, "gaet"},
		{"step of the wrong type", "/v1/decide?runbook=runbook", with(func(m map[string]any) { m["step"] = "25" }), 422, "step"},
		{"unknown gate", "/v1/decide?runbook=runbook", with(func(m map[string]any) { m["gate"] = "canery" }), 422, "gate"},
		{"no gate", "/v1/decide?runbook=runbook", with(func(m map[string]any) { delete(m, "gate") }), 422, "gate"},
		{"step not in the runbook", "/v1/decide?runbook=runbook", with(func(m map[string]any) { m["step"] = 30 }), 422, "step"},
		{"canary without step", "/v1/decide?runbook=runbook", with(func(m map[string]any) { delete(m, "step") }), 422, "step"},
		{"step on another gate", "/v1/decide?runbook=runbook", with(func(m map[string]any) { m["gate"] = "window" }), 422, "step"},
		{"unknown environment", "/v1/decide?runbook=runbook", with(func(m map[string]any) { m["environment"] = "qa" }), 422, "environment"},
		{"bad now", "/v1/decide?runbook=runbook", with(func(m map[string]any) { m["now"] = "yesterday" }), 422, "now"},
		{"bad cutover_at", "/v1/decide?runbook=runbook", with(func(m map[string]any) { m["cutover_at"] = "13:20" }), 422, "cutover_at"},
		{"launch id with a path", "/v1/decide?runbook=runbook", with(func(m map[string]any) { m["launch_id"] = "../../etc" }), 422, "launch_id"},
		{"fact of the wrong shape", "/v1/decide?runbook=runbook", with(func(m map[string]any) {
			m["facts"].(map[string]any)["request_count"].(map[string]any)["collected_at"] = 12
		}), 422, "facts.request_count.collected_at"},
		{"facts not an object", "/v1/decide?runbook=runbook", with(func(m map[string]any) { m["facts"] = []any{1} }), 422, "facts"},
		{"no runbook named on a server with two", "/v1/decide", healthy, 422, "runbook (query parameter)"},
		{"unknown runbook", "/v1/decide?runbook=nope", healthy, 422, "runbook (query parameter)"},
		{"unknown Flagger hook", "/v1/flagger/confirm-everything", []byte(`{}`), 404, "hook"},
		{"Flagger step not a number", "/v1/flagger/confirm-traffic-increase", []byte(`{"name":"web","metadata":{"runbook":"runbook","environment":"production","step":"a quarter"}}`), 422, "metadata.step"},
		{"Flagger without step nor archive", "/v1/flagger/confirm-promotion", []byte(`{"name":"web","metadata":{"runbook":"runbook","environment":"production"}}`), 422, "metadata.step"},
		{"Flagger without environment", "/v1/flagger/pre-rollout", []byte(`{"name":"web","metadata":{"runbook":"runbook"}}`), 422, "metadata.environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, s, http.MethodPost, tt.path, testToken, tt.body)
			if code != tt.want {
				t.Fatalf("status %d, want %d: %s", code, tt.want, body)
			}
			e := decodeError(t, body)
			if tt.wantField != "" && e.Field != tt.wantField {
				t.Errorf("field %q, want %q (%s)", e.Field, tt.wantField, body)
			}
			if bytes.Contains(body, []byte(`"decision"`)) {
				t.Errorf("an undecidable request got a decision: %s", body)
			}
		})
	}
}

// TestMissingFactsNeverGo: a body whose facts are empty, or miss the metrics, decides — and
// never go. Positive evidence is required.
func TestMissingFactsNeverGo(t *testing.T) {
	s, _ := newServer(t)
	var healthy map[string]any
	if err := json.Unmarshal(scenario(t, "healthy__window.json"), &healthy); err != nil {
		t.Fatal(err)
	}
	without := func(names ...string) []byte {
		var c map[string]any
		b, _ := json.Marshal(healthy)
		_ = json.Unmarshal(b, &c)
		for _, n := range names {
			delete(c["facts"].(map[string]any), n)
		}
		b, _ = json.Marshal(c)
		return b
	}
	tests := []struct {
		name string
		body []byte
	}{
		{"empty facts", []byte(`{"gate":"window","environment":"production","now":"2026-11-25T14:21:00Z","cutover_at":"2026-11-25T13:20:00Z","facts":{}}`)},
		{"no error rate", without("error_rate")},
		{"no latency nor integrations", without("latency_p95", "integrations")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, s, http.MethodPost, "/v1/decide?runbook=runbook", testToken, tt.body)
			if code != http.StatusOK {
				t.Fatalf("status %d, want 200 (a decided gate): %s", code, body)
			}
			if rec := decodeRecord(t, body); rec.Decision != engine.NoGo {
				t.Fatalf("decision %s with facts missing, want no-go (hold)", rec.Decision)
			}
		})
	}
}

// TestConcurrentDecisions decides every scenario many times at once through a real HTTP
// server (run with -race): each answer is its scenario's, byte for byte as decided alone.
func TestConcurrentDecisions(t *testing.T) {
	m := metrics.New()
	s, _ := newServer(t, WithMetrics(m))
	ts := httptest.NewServer(s)
	defer ts.Close()
	scs := expectedScenarios(t)
	alone := map[string][]byte{}
	for _, sc := range scs {
		_, body := call(t, s, http.MethodPost, "/v1/decide?runbook="+strings.TrimSuffix(sc.Runbook, ".yaml"), testToken, scenario(t, sc.File))
		alone[sc.File] = body
	}
	const rounds = 1
	var wg sync.WaitGroup
	errs := make(chan error, len(scs)*rounds)
	for r := 0; r < rounds; r++ {
		for _, sc := range scs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/decide?runbook="+strings.TrimSuffix(sc.Runbook, ".yaml"), bytes.NewReader(scenario(t, sc.File)))
				req.Header.Set("Authorization", "Bearer "+testToken)
				resp, err := ts.Client().Do(req)
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 || !bytes.Equal(body, alone[sc.File]) {
					errs <- fmt.Errorf("%s: status %d, answer differs from the one decided alone", sc.File, resp.StatusCode)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Every decision was reported to the metrics, and /metrics serves them.
	code, body := call(t, s, http.MethodGet, "/metrics", "", nil)
	if code != 200 || !bytes.Contains(body, []byte(`gatekeeper_gate_decisions_total{decision="rollback",gate="window"}`)) {
		t.Fatalf("/metrics: status %d without the decision counters:\n%.2000s", code, body)
	}
	want := fmt.Sprintf(`gatekeeper_gate_decisions_total{decision="go",gate="canary"} %d`, (rounds+1)*3)
	if !bytes.Contains(body, []byte(want)) {
		t.Errorf("/metrics lacks %q", want)
	}
}

// TestArchiveConcurrent appends many decisions of one launch at once: the archive verifies,
// holds them all chained, and every one can be read back, from memory and from the archive.
func TestArchiveConcurrent(t *testing.T) {
	dir := t.TempDir()
	s, _ := newServer(t, WithArchive(dir), WithRecent(2))
	files := []string{"healthy__window.json", "short-spike__window.json", "latency-regression__window.json", "missing-metrics__window.json"}
	const n = 8
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[string]engine.Outcome{}
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body := call(t, s, http.MethodPost, "/v1/decide?runbook=runbook", testToken, scenario(t, files[i%len(files)]))
			if code != 200 {
				t.Errorf("status %d: %s", code, body)
				return
			}
			rec := decodeRecord(t, body)
			mu.Lock()
			ids[rec.DecisionID] = rec.Decision
			mu.Unlock()
		}()
	}
	wg.Wait()
	launch := filepath.Join(dir, "shop-2.4.0-production")
	count, err := archive.Verify(launch)
	if err != nil {
		t.Fatalf("archive does not verify after concurrent appends: %v", err)
	}
	if count != n || len(ids) != n {
		t.Fatalf("archive holds %d records and the answers %d distinct ids, want %d each", count, len(ids), n)
	}
	// Each record names the digest of the line before it.
	lines, err := os.ReadFile(filepath.Join(launch, archive.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	prev := ""
	for _, line := range bytes.Split(bytes.TrimSuffix(lines, []byte("\n")), []byte("\n")) {
		var e archive.Entry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		if e.Prev != prev {
			t.Fatalf("record %s: prev %q, want %q", e.DecisionID, e.Prev, prev)
		}
		prev = engine.DigestBytes(line)
		if ids[e.DecisionID] != e.Decision {
			t.Fatalf("record %s archived as %s, answered %s", e.DecisionID, e.Decision, ids[e.DecisionID])
		}
	}
	// Only 2 are recent: the rest come from the archive, verified.
	for id, d := range ids {
		code, body := call(t, s, http.MethodGet, "/v1/decisions/"+id, testToken, nil)
		if code != 200 {
			t.Fatalf("GET decision %s: status %d: %s", id, code, body)
		}
		if rec := decodeRecord(t, body); rec.DecisionID != id || rec.Decision != d {
			t.Fatalf("GET decision %s: got %s (%s)", id, rec.DecisionID, rec.Decision)
		}
	}
	code, body := call(t, s, http.MethodGet, "/v1/decisions/no-such-id", testToken, nil)
	if code != 404 || decodeError(t, body).Field != "decision_id" {
		t.Fatalf("unknown decision: status %d: %s", code, body)
	}
	// Another server on the same archive (a restart) finds them too, and the same
	// facts decided again chain after the last record: a new id.
	s2, _ := newServer(t, WithArchive(dir))
	for id := range ids {
		if code, body := call(t, s2, http.MethodGet, "/v1/decisions/"+id+"?launch_id=shop-2.4.0-production", testToken, nil); code != 200 {
			t.Fatalf("after restart, GET decision %s: status %d: %s", id, code, body)
		}
		break
	}
}

func liveFrom(t testing.TB, file string, h *servertest.Hold) live.Options {
	t.Helper()
	if file == "" {
		return servertest.LiveFrom(t, "", h)
	}
	return servertest.LiveFrom(t, filepath.Join(scenarioDir, file), h)
}

// TestLiveDecide: a body without facts collects them live, with the server's sources.
func TestLiveDecide(t *testing.T) {
	tests := []struct {
		name, file, body string
		want             engine.Outcome
	}{
		{"healthy canary step", "healthy__canary-25.json", `{"gate":"canary","step":25,"environment":"production","now":"2026-11-25T14:01:00Z","cutover_at":"2026-11-25T13:20:00Z","step_started_at":"2026-11-25T13:46:00Z"}`, engine.Go},
		{"sustained errors", "sustained-errors__canary-25.json", `{"gate":"canary","step":25,"environment":"production","now":"2026-11-25T14:01:00Z","cutover_at":"2026-11-25T13:20:00Z","step_started_at":"2026-11-25T13:46:00Z"}`, engine.Rollback},
		{"facts null is live", "sustained-errors__canary-25.json", `{"gate":"canary","step":25,"environment":"production","now":"2026-11-25T14:01:00Z","cutover_at":"2026-11-25T13:20:00Z","step_started_at":"2026-11-25T13:46:00Z","facts":null}`, engine.Rollback},
		{"sources report nothing", "", `{"gate":"window","environment":"production","now":"2026-11-25T14:21:00Z","cutover_at":"2026-11-25T13:20:00Z"}`, engine.NoGo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t, WithLive(liveFrom(t, tt.file, nil)))
			code, body := call(t, s, http.MethodPost, "/v1/decide?runbook=runbook", testToken, []byte(tt.body))
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			if rec := decodeRecord(t, body); rec.Decision != tt.want {
				t.Fatalf("decision %s, want %s", rec.Decision, tt.want)
			}
		})
	}
}
