package prometheus

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/collectortest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// fakeProm answers the Prometheus HTTP API with canned bodies and records what it was asked.
type fakeProm struct {
	mu      sync.Mutex
	asked   []asked
	respond func(a asked) (int, string)
}

type asked struct {
	path, query, start, end, step, time, timeout, authz string
}

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a := asked{path: r.URL.Path, query: r.Form.Get("query"), start: r.Form.Get("start"), end: r.Form.Get("end"),
		step: r.Form.Get("step"), time: r.Form.Get("time"), timeout: r.Form.Get("timeout"), authz: r.Header.Get("Authorization")}
	f.mu.Lock()
	f.asked = append(f.asked, a)
	f.mu.Unlock()
	code, body := f.respond(a)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

func (f *fakeProm) requests() []asked {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.asked)
	sort.Slice(out, func(i, j int) bool { return out[i].query < out[j].query })
	return out
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// cannedResponse is a plausible answer for each kind of query of the example runbook.
func cannedResponse(a asked) (int, string) {
	switch {
	case strings.Contains(a.query, "histogram_quantile"):
		return 200, fmt.Sprintf(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[%s,"NaN"],[%s,"0.31"]]}]},"warnings":["PromQL warning: encountered a mix of histograms and floats"],"infos":["PromQL info: metric might not be a counter"]}`,
			unix(windowStart), unix(windowStart.Add(15*time.Second)))
	case strings.Contains(a.query, `code=~"5.."`) && a.path == "/api/v1/query_range":
		return 200, fmt.Sprintf(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[%s,"0.0213"],[%s.5,"NaN"],[%s,"+Inf"]]}]}}`,
			unix(windowStart), unix(windowStart.Add(15*time.Second)), unix(windowStart.Add(30*time.Second)))
	case strings.Contains(a.query, `code=~"5.."`):
		return 200, fmt.Sprintf(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%s,"0.0011"]}]}}`, unix(windowEnd))
	case strings.Contains(a.query, "increase"):
		return 200, fmt.Sprintf(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%s,"1234.5"]}]}}`, unix(windowEnd))
	case strings.Contains(a.query, "probe_success"):
		return 200, fmt.Sprintf(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"target":"x"},"values":[[%s,"1"],[%s,"0"]]}]}}`,
			unix(windowEnd.Add(-15*time.Second)), unix(windowEnd))
	}
	return 400, `{"status":"error","errorType":"bad_data","error":"unexpected query"}`
}

// runExample collects gate from a fake Prometheus with the example runbook's production environment.
func runExample(t *testing.T, h http.Handler, req engine.Request, opts []Option, edit func(*engine.RunbookSpec, *engine.EnvSpec)) map[string]engine.Fact {
	t.Helper()
	srv := collectortest.Server(t, h)
	req.Runbook = exampleRunbook(t, func(s *engine.RunbookSpec, e *engine.EnvSpec) {
		e.Prometheus.URL = srv.URL
		if edit != nil {
			edit(s, e)
		}
	})
	req.Environment = "production"
	req.Now = now
	if req.CutoverAt.IsZero() {
		req.CutoverAt = cutover
	}
	opts = append([]Option{WithLookupEnv(secretEnv), WithTimeout(2 * time.Second)}, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return New(opts...).Collect(ctx, req)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestCollectFactShapes(t *testing.T) {
	rangeParams := func(start time.Time) asked {
		return asked{path: "/api/v1/query_range", start: unix(start), end: unix(windowEnd), step: "15", timeout: "2s", authz: "Bearer " + collectortest.Secret}
	}
	instantParams := asked{path: "/api/v1/query", time: unix(windowEnd), timeout: "2s", authz: "Bearer " + collectortest.Secret}
	for _, tc := range []struct {
		name   string
		req    engine.Request
		fields map[string][]string // fact → its fields in the policy input, sorted
		asked  []asked             // without query; sorted by query
	}{
		{
			name: "pre-cutover",
			req:  engine.Request{Gate: engine.PreCutover},
			fields: map[string][]string{
				FactProductionErrorRate: {"at", "collected_at", "duration_ms", "query", "rate_window", "source", "value"},
			},
			asked: []asked{instantParams},
		},
		{
			name: "post-smoke",
			req:  engine.Request{Gate: engine.PostSmoke},
			fields: map[string][]string{
				FactTraffic:                 {"at", "collected_at", "duration_ms", "query", "range", "source", "value"},
				FactIntegrationAvailability: {"collected_at", "duration_ms", "end", "items", "source", "start", "step", "url"},
			},
			asked: []asked{rangeParams(cutover.Add(-15 * time.Minute)), rangeParams(cutover.Add(-15 * time.Minute)), instantParams},
		},
		{
			name: "canary",
			req:  engine.Request{Gate: engine.Canary, Step: intp(5), StepStarted: cutover},
			fields: map[string][]string{
				FactErrorRate:               {"collected_at", "duration_ms", "end", "query", "rate_window", "samples", "source", "start", "step"},
				FactLatencyP95:              {"collected_at", "duration_ms", "end", "infos", "query", "rate_window", "samples", "source", "start", "step", "warnings"},
				FactRequestCount:            {"at", "collected_at", "duration_ms", "query", "range", "source", "value"},
				FactIntegrationAvailability: {"collected_at", "duration_ms", "end", "items", "source", "start", "step", "url"},
			},
			asked: []asked{rangeParams(windowStart), rangeParams(windowStart), rangeParams(cutover.Add(-15 * time.Minute)), rangeParams(cutover.Add(-15 * time.Minute)), instantParams},
		},
		{
			name: "window",
			req:  engine.Request{Gate: engine.Window},
			fields: map[string][]string{
				FactErrorRate:               {"collected_at", "duration_ms", "end", "query", "rate_window", "samples", "source", "start", "step"},
				FactLatencyP95:              {"collected_at", "duration_ms", "end", "infos", "query", "rate_window", "samples", "source", "start", "step", "warnings"},
				FactIntegrationAvailability: {"collected_at", "duration_ms", "end", "items", "source", "start", "step", "url"},
			},
			asked: []asked{rangeParams(windowStart), rangeParams(windowStart), rangeParams(cutover.Add(-15 * time.Minute)), rangeParams(cutover.Add(-15 * time.Minute))},
		},
		{name: "post-deploy asks nothing", req: engine.Request{Gate: engine.PostDeploy}, fields: map[string][]string{}},
		{name: "post-rollback asks nothing", req: engine.Request{Gate: engine.PostRollback}, fields: map[string][]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeProm{respond: cannedResponse}
			facts := runExample(t, fake, tc.req, nil, nil)
			if len(facts) != len(tc.fields) {
				t.Errorf("facts %v, want %v", slices.Sorted(func(yield func(string) bool) {
					for k := range facts {
						if !yield(k) {
							return
						}
					}
				}), tc.fields)
			}
			for name, want := range tc.fields {
				f, ok := facts[name]
				if !ok {
					t.Errorf("fact %s missing", name)
					continue
				}
				if f.Err != "" {
					t.Errorf("fact %s: %s", name, f.Err)
				}
				if got := keys(f.Map()); !slices.Equal(got, want) {
					t.Errorf("fact %s fields\n got %v\nwant %v", name, got, want)
				}
				if f.Source != "prometheus" || !f.CollectedAt.Equal(now) {
					t.Errorf("fact %s provenance: source %q collected_at %v (want the evaluation time %v)", name, f.Source, f.CollectedAt, now)
				}
			}
			got := fake.requests()
			for i := range got {
				got[i].query = ""
			}
			if len(tc.asked) > 0 || len(got) > 0 {
				sortAsked := func(a []asked) {
					sort.Slice(a, func(i, j int) bool { return fmt.Sprint(a[i]) < fmt.Sprint(a[j]) })
				}
				sortAsked(got)
				want := slices.Clone(tc.asked)
				sortAsked(want)
				if !slices.Equal(got, want) {
					t.Errorf("requests\n got %+v\nwant %+v", got, want)
				}
			}
			collectortest.AssertProvenance(t, facts)
			collectortest.AssertNoSecret(t, facts)
			collectortest.AssertSchema(t, schemaFacts(facts))
		})
	}
}

func TestCollectKeepsPrometheusValues(t *testing.T) {
	facts := runExample(t, &fakeProm{respond: cannedResponse}, engine.Request{Gate: engine.Canary, Step: intp(5), StepStarted: cutover}, nil, nil)
	b, err := json.Marshal(engine.FactsMap(facts))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		got  any
		want string
	}{
		{"error_rate samples: values as strings, NaN and +Inf kept, millisecond times", m[FactErrorRate]["samples"],
			fmt.Sprintf(`[[%s,"0.0213"],[%s.5,"NaN"],[%s,"+Inf"]]`, unix(windowStart), unix(windowStart.Add(15*time.Second)), unix(windowStart.Add(30*time.Second)))},
		{"latency_p95 samples", m[FactLatencyP95]["samples"], fmt.Sprintf(`[[%s,"NaN"],[%s,"0.31"]]`, unix(windowStart), unix(windowStart.Add(15*time.Second)))},
		{"warnings kept", m[FactLatencyP95]["warnings"], `["PromQL warning: encountered a mix of histograms and floats"]`},
		{"infos kept", m[FactLatencyP95]["infos"], `["PromQL info: metric might not be a counter"]`},
		{"request_count value", m[FactRequestCount]["value"], `"1234.5"`},
		{"request_count query", m[FactRequestCount]["query"], `"sum(increase(http_requests_total{ track=\"canary\" }[5m]))"`},
		{"availability items", m[FactIntegrationAvailability]["items"],
			fmt.Sprintf(`[{"name":"payments","query":"probe_success{job=\"blackbox\",target=\"payments\"}","samples":[[%[1]s,"1"],[%[2]s,"0"]]},{"name":"search","query":"probe_success{job=\"blackbox\",target=\"search\"}","samples":[[%[1]s,"1"],[%[2]s,"0"]]}]`,
				unix(windowEnd.Add(-15*time.Second)), unix(windowEnd))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.got)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("\n got %s\nwant %s", b, tc.want)
			}
		})
	}
}

func TestCollectResponses(t *testing.T) {
	windowReq := engine.Request{Gate: engine.Window}
	canaryReq := engine.Request{Gate: engine.Canary, Step: intp(5), StepStarted: cutover}
	for _, tc := range []struct {
		name    string
		req     engine.Request
		respond func(asked) (int, string)
		opts    []Option
		check   func(t *testing.T, facts map[string]engine.Fact)
	}{
		{
			name: "no series: empty samples and no value, no error",
			req:  canaryReq,
			respond: func(a asked) (int, string) {
				if a.path == "/api/v1/query" {
					return 200, `{"status":"success","data":{"resultType":"vector","result":[]}}`
				}
				return 200, `{"status":"success","data":{"resultType":"matrix","result":[]}}`
			},
			check: func(t *testing.T, facts map[string]engine.Fact) {
				for _, name := range []string{FactErrorRate, FactLatencyP95} {
					f := facts[name]
					if s, ok := f.Data["samples"].([]any); f.Err != "" || !ok || len(s) != 0 {
						t.Errorf("%s: %+v", name, f.Map())
					}
					if b, _ := json.Marshal(f.Map()); !strings.Contains(string(b), `"samples":[]`) {
						t.Errorf("%s: empty samples must be [] not null: %s", name, b)
					}
				}
				if f := facts[FactRequestCount]; f.Err != "" || f.Data["value"] != nil {
					t.Errorf("request_count: %+v", f.Map())
				}
			},
		},
		{
			name: "several series: an error naming the query, no samples",
			req:  windowReq,
			respond: func(a asked) (int, string) {
				return 200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"a"},"values":[[1,"1"]]},{"metric":{"pod":"b"},"values":[[1,"2"]]}]}}`
			},
			check: func(t *testing.T, facts map[string]engine.Fact) {
				for _, name := range []string{FactErrorRate, FactLatencyP95} {
					f := facts[name]
					if !strings.HasPrefix(f.Err, "collect prometheus: ") || !strings.Contains(f.Err, "returned 2 series") || !strings.Contains(f.Err, f.Query) {
						t.Errorf("%s error %q should name the query %s", name, f.Err, f.Query)
					}
					if _, ok := f.Data["samples"]; ok {
						t.Errorf("%s: errored fact has samples", name)
					}
				}
				collectortest.AssertFailed(t, facts, FactIntegrationAvailability)
			},
		},
		{
			name: "instant query returning several series",
			req:  engine.Request{Gate: engine.PreCutover},
			respond: func(a asked) (int, string) {
				return 200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}}`
			},
			check: func(t *testing.T, facts map[string]engine.Fact) {
				if f := facts[FactProductionErrorRate]; !strings.Contains(f.Err, "returned 2 series") || f.Data["value"] != nil {
					t.Errorf("%+v", f.Map())
				}
			},
		},
		{
			name: "scalar instant result",
			req:  engine.Request{Gate: engine.PreCutover},
			respond: func(asked) (int, string) {
				return 200, `{"status":"success","data":{"resultType":"scalar","result":[1,"0.5"]}}`
			},
			check: func(t *testing.T, facts map[string]engine.Fact) {
				if f := facts[FactProductionErrorRate]; f.Err != "" || f.Data["value"] != "0.5" {
					t.Errorf("%+v", f.Map())
				}
			},
		},
		{
			name: "wrong result type",
			req:  windowReq,
			respond: func(asked) (int, string) {
				return 200, `{"status":"success","data":{"resultType":"vector","result":[]}}`
			},
			check: func(t *testing.T, facts map[string]engine.Fact) {
				collectortest.AssertFailed(t, facts, FactErrorRate, FactLatencyP95, FactIntegrationAvailability)
				if !strings.Contains(facts[FactErrorRate].Err, "expected a range vector") {
					t.Errorf("%s", facts[FactErrorRate].Err)
				}
			},
		},
		{
			name: "PromQL error: the server's message, the fact failed",
			req:  windowReq,
			respond: func(asked) (int, string) {
				return 400, `{"status":"error","errorType":"bad_data","error":"1:20: parse error: unexpected \"}\""}`
			},
			check: func(t *testing.T, facts map[string]engine.Fact) {
				collectortest.AssertFailed(t, facts, FactErrorRate, FactLatencyP95, FactIntegrationAvailability)
				if e := facts[FactErrorRate].Err; !strings.Contains(e, "bad_data: 1:20: parse error") {
					t.Errorf("%s", e)
				}
			},
		},
		{
			name: "server error with a body echoing the token: redacted",
			req:  windowReq,
			respond: func(a asked) (int, string) {
				return 503, "upstream rejected " + a.authz + " token=" + collectortest.Secret + " and password=hunter22"
			},
			check: func(t *testing.T, facts map[string]engine.Fact) {
				collectortest.AssertFailed(t, facts, FactErrorRate, FactLatencyP95, FactIntegrationAvailability)
				e := facts[FactErrorRate].Err
				if !strings.Contains(e, "server_error: server error: 503") || !strings.Contains(e, engine.Redacted) || strings.Contains(e, "hunter22") {
					t.Errorf("%s", e)
				}
			},
		},
		{
			name: "warnings echoing the token are redacted",
			req:  windowReq,
			respond: func(a asked) (int, string) {
				return 200, `{"status":"success","data":{"resultType":"matrix","result":[]},"warnings":["remote read of ` + collectortest.Secret + ` failed"],"infos":["auth ` + a.authz + `"]}`
			},
			check: func(t *testing.T, facts map[string]engine.Fact) {
				w, _ := facts[FactErrorRate].Data["warnings"].([]any)
				in, _ := facts[FactErrorRate].Data["infos"].([]any)
				if len(w) != 1 || w[0] != "remote read of [REDACTED] failed" || len(in) != 1 || in[0] != "auth Bearer [REDACTED]" {
					t.Errorf("warnings %v infos %v", w, in)
				}
			},
		},
		{
			name: "response over the size limit",
			req:  windowReq,
			opts: []Option{WithMaxResponseBytes(64)},
			respond: func(asked) (int, string) {
				return 200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"1"],[3,"1"],[4,"1"]]}]}}`
			},
			check: func(t *testing.T, facts map[string]engine.Fact) {
				collectortest.AssertFailed(t, facts, FactErrorRate, FactLatencyP95, FactIntegrationAvailability)
				if !strings.Contains(facts[FactErrorRate].Err, "response larger than 64 bytes") {
					t.Errorf("%s", facts[FactErrorRate].Err)
				}
			},
		},
		{
			name: "one integration failing fails the availability fact, naming it; the others keep their samples",
			req:  windowReq,
			respond: func(a asked) (int, string) {
				if strings.Contains(a.query, `target="search"`) {
					return 422, `{"status":"error","errorType":"execution","error":"query processing would load too many samples"}`
				}
				return cannedResponse(a)
			},
			check: func(t *testing.T, facts map[string]engine.Fact) {
				f := facts[FactIntegrationAvailability]
				if !strings.HasPrefix(f.Err, "collect prometheus: availability of search: execution: query processing") {
					t.Errorf("error %q", f.Err)
				}
				items := f.Data["items"].([]any)
				pay, search := items[0].(map[string]any), items[1].(map[string]any)
				if pay["samples"] == nil || pay["error"] != nil || search["samples"] != nil || search["error"] == nil {
					t.Errorf("items %v", items)
				}
				if facts[FactErrorRate].Err != "" {
					t.Errorf("error_rate should not fail: %s", facts[FactErrorRate].Err)
				}
			},
		},
		{
			name: "no integration has an availability query: no items, no request, no error",
			req:  windowReq,
			respond: func(a asked) (int, string) {
				if strings.Contains(a.query, "probe_success") {
					return 500, "must not be asked"
				}
				return cannedResponse(a)
			},
			check: func(t *testing.T, facts map[string]engine.Fact) {
				f := facts[FactIntegrationAvailability]
				if items, ok := f.Data["items"].([]any); f.Err != "" || !ok || len(items) != 0 || f.URL == "" {
					t.Errorf("%+v", f.Map())
				}
			},
		},
		{
			name: "a bad runbook template fails only its own fact",
			req:  windowReq,
			respond: func(a asked) (int, string) {
				return cannedResponse(a)
			},
			check: func(t *testing.T, facts map[string]engine.Fact) {
				if e := facts[FactLatencyP95].Err; !strings.Contains(e, "criteria.latency_p95.query") || !strings.Contains(e, "Cohort") {
					t.Errorf("latency_p95 error %q", e)
				}
				if facts[FactLatencyP95].Query != `histogram_quantile(0.95, x{ {{.Cohort}} })` {
					t.Errorf("the failed fact should show the template it could not render: %q", facts[FactLatencyP95].Query)
				}
				if facts[FactErrorRate].Err != "" {
					t.Errorf("error_rate: %s", facts[FactErrorRate].Err)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edit := func(s *engine.RunbookSpec, e *engine.EnvSpec) {
				switch {
				case strings.HasPrefix(tc.name, "no integration"):
					for i := range e.Integrations {
						e.Integrations[i].AvailabilityQuery = ""
					}
				case strings.HasPrefix(tc.name, "a bad runbook template"):
					s.Criteria.LatencyP95.Query = `histogram_quantile(0.95, x{ {{.Cohort}} })`
				}
			}
			facts := runExample(t, &fakeProm{respond: tc.respond}, tc.req, tc.opts, edit)
			tc.check(t, facts)
			collectortest.AssertProvenance(t, facts)
			collectortest.AssertNoSecret(t, facts, "hunter22")
			collectortest.AssertSchema(t, schemaFacts(facts))
		})
	}
}

func TestCollectAuth(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "prom.token")
	if err := os.WriteFile(tokenFile, []byte(collectortest.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const password = "pa55-w0rd-xyz"
	env := func(name string) (string, bool) {
		switch name {
		case "PROM_TOKEN":
			return collectortest.Secret, true
		case "PROM_PASSWORD":
			return password, true
		case "EMPTY":
			return "  ", true
		}
		return "", false
	}
	var readPaths []string
	var mu sync.Mutex
	readFile := func(p string) ([]byte, error) {
		mu.Lock()
		readPaths = append(readPaths, p)
		mu.Unlock()
		if filepath.Base(p) == "prom.token" {
			return os.ReadFile(tokenFile)
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	for _, tc := range []struct {
		name      string
		auth      *engine.PrometheusAuth
		wantAuthz string // header the server must get; empty with wantErr
		wantErr   string
		wantRead  string // the path the token file is read from
	}{
		{name: "none", auth: nil},
		{name: "bearer token from the environment", auth: &engine.PrometheusAuth{BearerTokenEnv: "PROM_TOKEN"}, wantAuthz: "Bearer " + collectortest.Secret},
		{name: "bearer token from a file relative to the runbook", auth: &engine.PrometheusAuth{TokenFile: "secrets/prom.token"}, wantAuthz: "Bearer " + collectortest.Secret,
			wantRead: filepath.Join("..", "..", "testdata", "example", "secrets", "prom.token")},
		{name: "bearer token from an absolute path", auth: &engine.PrometheusAuth{TokenFile: tokenFile}, wantAuthz: "Bearer " + collectortest.Secret, wantRead: tokenFile},
		{name: "basic auth", auth: &engine.PrometheusAuth{Username: "gatekeeper", PasswordEnv: "PROM_PASSWORD"}, wantAuthz: "Basic Z2F0ZWtlZXBlcjpwYTU1LXcwcmQteHl6"},
		{name: "unset variable is named, never valued", auth: &engine.PrometheusAuth{BearerTokenEnv: "SHOP_PROM_TOKEN_MISSING"}, wantErr: "prometheus.auth.bearer_token_env: environment variable SHOP_PROM_TOKEN_MISSING is not set"},
		{name: "empty variable", auth: &engine.PrometheusAuth{Username: "u", PasswordEnv: "EMPTY"}, wantErr: "environment variable EMPTY is empty"},
		{name: "missing token file", auth: &engine.PrometheusAuth{TokenFile: "nope.token"}, wantErr: "prometheus.auth.token_file: open"},
		{name: "bearer and basic together", auth: &engine.PrometheusAuth{BearerTokenEnv: "PROM_TOKEN", Username: "u", PasswordEnv: "PROM_PASSWORD"}, wantErr: "not both"},
		{name: "env and file together", auth: &engine.PrometheusAuth{BearerTokenEnv: "PROM_TOKEN", TokenFile: tokenFile}, wantErr: "not both"},
		{name: "username without password", auth: &engine.PrometheusAuth{Username: "u"}, wantErr: "needs both username and password_env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			readPaths = nil
			mu.Unlock()
			fake := &fakeProm{respond: cannedResponse}
			facts := runExample(t, fake, engine.Request{Gate: engine.Canary, Step: intp(5), StepStarted: cutover},
				[]Option{WithLookupEnv(env), WithReadFile(readFile)},
				func(_ *engine.RunbookSpec, e *engine.EnvSpec) { e.Prometheus.Auth = tc.auth })
			collectortest.AssertNoSecret(t, facts, password, "Z2F0ZWtlZXBlcjpwYTU1LXcwcmQteHl6")
			collectortest.AssertProvenance(t, facts)
			if tc.wantErr != "" {
				collectortest.AssertFailed(t, facts, Facts(engine.Canary)...)
				for name, f := range facts {
					if !strings.HasPrefix(f.Err, "collect prometheus: ") || !strings.Contains(f.Err, tc.wantErr) {
						t.Errorf("%s error %q, want %q", name, f.Err, tc.wantErr)
					}
					if _, ok := f.Data["samples"]; ok {
						t.Errorf("%s: samples on a failed fact", name)
					}
				}
				if len(fake.requests()) != 0 {
					t.Errorf("asked Prometheus without its credentials")
				}
				return
			}
			for name, f := range facts {
				if f.Err != "" {
					t.Errorf("%s: %s", name, f.Err)
				}
			}
			reqs := fake.requests()
			if len(reqs) != 5 {
				t.Errorf("%d requests, want 5", len(reqs))
			}
			for _, r := range reqs {
				if r.authz != tc.wantAuthz {
					t.Errorf("Authorization %q, want %q", r.authz, tc.wantAuthz)
				}
			}
			if tc.wantRead != "" {
				mu.Lock()
				defer mu.Unlock()
				if len(readPaths) != 1 || readPaths[0] != tc.wantRead {
					t.Errorf("read %v, want %s", readPaths, tc.wantRead)
				}
			}
		})
	}
}

func TestCollectNoCredentialsOnRedirectElsewhere(t *testing.T) {
	other := &fakeProm{respond: cannedResponse}
	otherSrv := collectortest.Server(t, other)
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherSrv.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	facts := runExample(t, redirect, engine.Request{Gate: engine.PreCutover}, nil, nil)
	if len(other.requests()) == 0 {
		t.Fatalf("redirect not followed: %+v", facts[FactProductionErrorRate].Map())
	}
	for _, r := range other.requests() {
		if r.authz != "" {
			t.Errorf("credentials sent to another host after a redirect: %q", r.authz)
		}
	}
}

func TestCollectTLSCA(t *testing.T) {
	fake := &fakeProm{respond: cannedResponse}
	srv := httptest.NewTLSServer(fake)
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	readFile := func(p string) ([]byte, error) {
		switch filepath.Base(p) {
		case "ca.pem":
			return caPEM, nil
		case "garbage.pem":
			return []byte("not a certificate"), nil
		}
		return nil, errors.New("no such file")
	}
	for _, tc := range []struct {
		name, caFile, wantErr string
		client                *http.Client
	}{
		{name: "trusted through tls_ca_file", caFile: "/etc/gatekeeper/ca.pem"},
		{name: "unknown authority without it", wantErr: "certificate"},
		{name: "a file without a certificate", caFile: "/etc/gatekeeper/garbage.pem", wantErr: "holds no PEM certificate"},
		{name: "unreadable CA file", caFile: "/etc/gatekeeper/missing.pem", wantErr: "read tls_ca_file"},
		{name: "a custom transport cannot take the CA", caFile: "/etc/gatekeeper/ca.pem", client: &http.Client{Transport: roundTripFunc(http.DefaultTransport.RoundTrip)}, wantErr: "needs an *http.Transport"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rb := exampleRunbook(t, func(_ *engine.RunbookSpec, e *engine.EnvSpec) {
				e.Prometheus.URL = srv.URL
				e.Prometheus.TLSCAFile = tc.caFile
			})
			opts := []Option{WithLookupEnv(secretEnv), WithReadFile(readFile), WithTimeout(2 * time.Second)}
			if tc.client != nil {
				opts = append(opts, WithHTTPClient(tc.client))
			}
			facts := New(opts...).Collect(context.Background(), engine.Request{Runbook: rb, Environment: "production", Gate: engine.PreCutover, Now: now})
			f := facts[FactProductionErrorRate]
			if tc.wantErr == "" {
				if f.Err != "" || f.Data["value"] != "0.0011" {
					t.Errorf("%+v", f.Map())
				}
				return
			}
			if !strings.Contains(f.Err, tc.wantErr) {
				t.Errorf("error %q, want %q", f.Err, tc.wantErr)
			}
			collectortest.AssertNoSecret(t, facts)
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCollectWindowErrorsFailEveryFact(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  engine.Request
		edit func(*engine.RunbookSpec, *engine.EnvSpec)
		want string
	}{
		{"canary without its step start", engine.Request{Gate: engine.Canary, Step: intp(5)}, nil, "step_started_at"},
		{"rate window under two steps", engine.Request{Gate: engine.Window}, func(s *engine.RunbookSpec, _ *engine.EnvSpec) { s.Criteria.Step = 2 * time.Minute }, "shorter than 2 × criteria.step (2m)"},
		{"unknown environment", engine.Request{Gate: engine.Window, Environment: "qa"}, nil, `no environment "qa"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeProm{respond: cannedResponse}
			srv := collectortest.Server(t, fake)
			req := tc.req
			req.Runbook = exampleRunbook(t, func(s *engine.RunbookSpec, e *engine.EnvSpec) {
				e.Prometheus.URL = srv.URL
				if tc.edit != nil {
					tc.edit(s, e)
				}
			})
			if req.Environment == "" {
				req.Environment = "production"
			}
			req.Now = now
			facts := New(WithLookupEnv(secretEnv)).Collect(context.Background(), req)
			collectortest.AssertFailed(t, facts, Facts(req.Gate)...)
			collectortest.AssertProvenance(t, facts)
			for name, f := range facts {
				if !strings.Contains(f.Err, tc.want) {
					t.Errorf("%s: %q, want %q", name, f.Err, tc.want)
				}
			}
			if len(fake.requests()) != 0 {
				t.Errorf("asked Prometheus with a broken window")
			}
		})
	}
}

// allGates collects every gate this collector serves, concurrently, and merges their facts, so
// that one run of the kit's fault suite covers every fact.
type allGates struct {
	c   *Collector
	req engine.Request
}

func (a allGates) Collect(ctx context.Context, _ engine.Request) map[string]engine.Fact {
	gates := []engine.Gate{engine.PreCutover, engine.PostSmoke, engine.Canary, engine.Window}
	results := make([]map[string]engine.Fact, len(gates))
	var wg sync.WaitGroup
	for i, g := range gates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := a.req
			req.Gate = g
			results[i] = a.c.Collect(ctx, req)
		}()
	}
	wg.Wait()
	out := map[string]engine.Fact{}
	for _, r := range results {
		maps.Copy(out, r)
	}
	return out
}

// TestCollectFaults runs the kit's fault suite (500, HTML, truncated JSON, slow past the
// timeout, echoing credentials, closed port) over every gate at once: each fact must fail
// promptly, keep its provenance and leak no secret. One run, because the kit's "slow" server
// takes its full 30s to close: it ignores a client that hangs up on a POST whose body it never
// read, and the Prometheus client POSTs its queries.
func TestCollectFaults(t *testing.T) {
	collectortest.RunFaults(t, func(t *testing.T, baseURL string) (engine.Collector, engine.Request) {
		rb := exampleRunbook(t, func(_ *engine.RunbookSpec, e *engine.EnvSpec) { e.Prometheus.URL = baseURL })
		req := engine.Request{Runbook: rb, Environment: "production", Step: intp(25), Now: now, CutoverAt: cutover, StepStarted: cutover}
		return allGates{c: New(WithLookupEnv(secretEnv), WithTimeout(time.Second)), req: req}, req
	}, FactProductionErrorRate, FactTraffic, FactErrorRate, FactLatencyP95, FactRequestCount, FactIntegrationAvailability)
}

func TestCollectHonoursCancellation(t *testing.T) {
	block := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the client going away.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	})
	srv := collectortest.Server(t, block)
	rb := exampleRunbook(t, func(_ *engine.RunbookSpec, e *engine.EnvSpec) { e.Prometheus.URL = srv.URL })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	facts := New(WithLookupEnv(secretEnv), WithTimeout(time.Minute)).Collect(ctx, engine.Request{Runbook: rb, Environment: "production", Gate: engine.Window, Now: now, CutoverAt: cutover})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v after the context ended", d)
	}
	collectortest.AssertFailed(t, facts, Facts(engine.Window)...)
	if e := facts[FactErrorRate].Err; !strings.Contains(e, "collection stopped before the query answered") {
		t.Errorf("%s", e)
	}
}
