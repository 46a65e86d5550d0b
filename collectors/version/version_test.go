package version

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/collectortest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

const (
	tokenEnv = "GK_VERSION_TOKEN"
	fullSHA  = "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"
	digest   = "sha256:d7bdd545f09d8a73c2b990337c8211d708a04ccd9748627685e4fc79cc038039"
	image    = "registry.example.com/shop/web@" + digest
)

func lookup(name string) (string, bool) {
	if name == tokenEnv {
		return collectortest.Secret, true
	}
	return "", false
}

// target is one instance of a test runbook.
type target struct {
	url, versionPath, imagePath string
}

func request(gate engine.Gate, replicas int, newT, oldT []target) engine.Request {
	inst := func(prefix string, ts []target) []engine.Instance {
		out := make([]engine.Instance, len(ts))
		for i, x := range ts {
			out[i] = engine.Instance{Name: fmt.Sprintf("%s-%d", prefix, i), VersionURL: x.url, HealthURL: x.url, VersionPath: x.versionPath, ImagePath: x.imagePath}
		}
		return out
	}
	rb := &engine.Runbook{Path: "runbook.yaml", Spec: engine.RunbookSpec{Environments: map[string]engine.EnvSpec{
		"production": {Name: "production", Cohorts: engine.CohortsSpec{
			New: engine.Cohort{LabelValue: "canary", Replicas: replicas, Instances: inst("web-canary", newT)},
			Old: engine.Cohort{LabelValue: "stable", Replicas: replicas, Instances: inst("web-stable", oldT)},
		}},
	}}}
	return engine.Request{Runbook: rb, Environment: "production", Gate: gate, Now: time.Now()}
}

func reply(t *testing.T, contentType string, code int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+collectortest.Secret {
			t.Errorf("Authorization = %q, want the bearer token", got)
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		} else {
			w.Header()["Content-Type"] = nil
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

func TestVersionDocuments(t *testing.T) {
	const js = "application/json"
	tests := []struct {
		name                  string
		contentType           string
		code                  int
		body                  string
		versionPath           string
		imagePath             string
		commit, image, versio string
		wantErr               string
	}{
		{"default paths", js, 200, `{"version":"2.4.0","commit":"` + fullSHA + `","image":"` + image + `"}`, "", "", fullSHA, image, "2.4.0", ""},
		{"runbook defaults spelled out", js, 200, `{"commit":"` + fullSHA + `","image":"` + image + `"}`, "commit", "image", fullSHA, image, "", ""},
		{"short SHA reported raw", js, 200, `{"commit":"86f7e43"}`, "", "", "86f7e43", "", "", ""},
		{"upper-case SHA reported raw", js, 200, `{"commit":"86F7E437FAA5A7FCE15D1DDCB9EAEAEA377667B8"}`, "", "", "86F7E437FAA5A7FCE15D1DDCB9EAEAEA377667B8", "", "", ""},
		{"dotted path", js, 200, `{"build":{"git":{"sha":"` + fullSHA + `"},"image":{"digest":"` + digest + `"}},"version":"2.4.0"}`, "build.git.sha", "build.image.digest", fullSHA, digest, "2.4.0", ""},
		{"JSONPath-style prefix", js, 200, `{"build":{"git":{"sha":"abc1234"}}}`, "$.build.git.sha", "", "abc1234", "", "", ""},
		{"array index", js, 200, `{"builds":[{"sha":"abc1234","image":"` + image + `"}]}`, "builds[0].sha", "builds.0.image", "abc1234", image, "", ""},
		{"image absent", js, 200, `{"commit":"` + fullSHA + `","version":"2.4.0"}`, "", "", fullSHA, "", "2.4.0", ""},
		{"numeric version kept as written", js, 200, `{"commit":"abc1234","version":2.40}`, "", "", "abc1234", "", "2.40", ""},
		{"commit under version: no version reported", js, 200, `{"version":"` + fullSHA + `"}`, "version", "", fullSHA, "", "", ""},
		{"JSON sent as text/plain", "text/plain", 200, `{"commit":"abc1234"}`, "", "", "abc1234", "", "", ""},
		{"plain-text bare SHA", "text/plain", 200, fullSHA + "\n", "", "", fullSHA, "", "", ""},
		{"plain-text version banner", "text/plain", 200, "shop 2.4.0 (86f7e43)\n", "", "", "", "", "", "neither JSON nor a bare commit SHA"},
		{"HTML page", "text/html", 200, "<!DOCTYPE html><html><body>login</body></html>", "", "", "", "", "", "HTML page"},
		{"commit missing", js, 200, `{"sha":"abc1234"}`, "", "", "", "", "", `no commit at JSON path "commit"`},
		{"dotted path missing", js, 200, `{"build":{"git":{}}}`, "build.git.sha", "", "", "", "", `no commit at JSON path "build.git.sha"`},
		{"commit not a string", js, 200, `{"commit":1234567}`, "", "", "", "", "", "commit: commit is a number, not a string"},
		{"image not a string", js, 200, `{"commit":"abc1234","image":{"digest":"x"}}`, "", "", "", "", "", "image: image is an object, not a string"},
		{"HTTP 503", js, 503, `{"commit":"abc1234"}`, "", "", "", "", "", "HTTP 503"},
		{"truncated JSON", js, 200, `{"commit":"abc`, "", "", "", "", "", "truncated"},
		{"trailing garbage", js, 200, `{"commit":"abc1234"} x`, "", "", "", "", "", "unexpected data after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := collectortest.Server(t, reply(t, tt.contentType, tt.code, tt.body))
			tg := target{srv.URL + "/version", tt.versionPath, tt.imagePath}
			f := collect(t, newCollector(), request(engine.PostDeploy, 1, []target{tg}, nil))
			e := instances(t, f)[0]
			msg, _ := e["error"].(string)
			if tt.wantErr != "" {
				if !strings.Contains(msg, tt.wantErr) {
					t.Errorf("error = %q, want %q", msg, tt.wantErr)
				}
				if f.Err == "" {
					t.Error("the only instance failed: the fact must carry an error")
				}
				if e["commit"] != nil {
					t.Errorf("an errored instance reports commit %v", e["commit"])
				}
				return
			}
			if msg != "" || f.Err != "" {
				t.Fatalf("unexpected error %q / %q", msg, f.Err)
			}
			for k, want := range map[string]string{"commit": tt.commit, "image": tt.image, "version": tt.versio} {
				got, present := e[k]
				if want == "" && present || want != "" && got != want {
					t.Errorf("%s = %v (present %v), want %q", k, got, present, want)
				}
			}
			if e["status_code"] != tt.code {
				t.Errorf("status_code = %v", e["status_code"])
			}
		})
	}
}

func TestReplicas(t *testing.T) {
	good := collectortest.Server(t, reply(t, "application/json", 200, `{"commit":"`+fullSHA+`"}`))
	old := collectortest.Server(t, reply(t, "application/json", 200, `{"commit":"e9d71f5"}`))
	down := collectortest.ClosedURL(t)
	tests := []struct {
		name                            string
		gate                            engine.Gate
		replicas                        int
		newT, oldT                      []target
		expected, configured, answering int
		cohorts                         map[string][3]int // expected, configured, answering
		factErr                         bool
	}{
		{"all answering", engine.PostDeploy, 3, []target{{url: good.URL}, {url: good.URL}, {url: good.URL}}, nil, 3, 3, 3, map[string][3]int{"new": {3, 3, 3}}, false},
		{"fewer configured than replicas", engine.PostDeploy, 3, []target{{url: good.URL}, {url: good.URL}}, nil, 3, 2, 2, map[string][3]int{"new": {3, 2, 2}}, false},
		{"one of three not answering", engine.PostDeploy, 3, []target{{url: good.URL}, {url: down}, {url: good.URL}}, nil, 3, 3, 2, map[string][3]int{"new": {3, 3, 2}}, false},
		{"post-rollback counts both cohorts", engine.PostRollback, 2, []target{{url: old.URL}, {url: down}}, []target{{url: old.URL}, {url: old.URL}}, 4, 4, 3, map[string][3]int{"new": {2, 2, 1}, "old": {2, 2, 2}}, false},
		{"none answering", engine.PostDeploy, 2, []target{{url: down}, {url: down}}, nil, 2, 2, 0, map[string][3]int{"new": {2, 2, 0}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := collect(t, newCollector(), request(tt.gate, tt.replicas, tt.newT, tt.oldT))
			if (f.Err != "") != tt.factErr {
				t.Errorf("fact error = %q, want error %v", f.Err, tt.factErr)
			}
			for k, want := range map[string]int{"expected_replicas": tt.expected, "configured": tt.configured, "answering": tt.answering} {
				if f.Data[k] != want {
					t.Errorf("%s = %v, want %d", k, f.Data[k], want)
				}
			}
			cohorts := f.Data["cohorts"].(map[string]any)
			if len(cohorts) != len(tt.cohorts) {
				t.Errorf("cohorts = %v", cohorts)
			}
			for name, want := range tt.cohorts {
				c := cohorts[name].(map[string]any)
				got := [3]int{c["expected_replicas"].(int), c["configured"].(int), c["answering"].(int)}
				if got != want {
					t.Errorf("cohort %s = %v, want %v", name, got, want)
				}
			}
			if n := len(instances(t, f)); n != tt.configured {
				t.Errorf("%d instance entries, want %d", n, tt.configured)
			}
		})
	}
}

func TestGates(t *testing.T) {
	srv := collectortest.Server(t, reply(t, "application/json", 200, `{"commit":"abc1234"}`))
	for _, g := range engine.Gates() {
		t.Run(string(g), func(t *testing.T) {
			facts := newCollector().Collect(context.Background(), request(g, 1, []target{{url: srv.URL}}, []target{{url: srv.URL}}))
			_, got := facts[FactName]
			want := g == engine.PostDeploy || g == engine.PostRollback
			if got != want || len(facts) > 1 {
				t.Errorf("gate %s: facts %v, want %s only at post-deploy and post-rollback", g, facts, FactName)
			}
		})
	}
}

func TestSourceFailures(t *testing.T) {
	srv := collectortest.Server(t, reply(t, "application/json", 200, `{"commit":"abc1234"}`))
	tests := []struct {
		name    string
		c       *Collector
		req     engine.Request
		wantErr string
	}{
		{"no runbook", newCollector(), engine.Request{Gate: engine.PostDeploy, Environment: "production"}, "no runbook"},
		{"no instances", newCollector(), request(engine.PostDeploy, 1, nil, []target{{url: srv.URL}}), "cohorts.new has no instances"},
		{"token variable unset", New(WithBearerTokenEnv("GK_UNSET")), request(engine.PostDeploy, 1, []target{{url: srv.URL}}, nil), "GK_UNSET is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			facts := tt.c.Collect(context.Background(), tt.req)
			collectortest.AssertFailed(t, facts, FactName)
			collectortest.AssertProvenance(t, facts)
			collectortest.AssertSchema(t, facts)
			if e := facts[FactName].Err; !strings.HasPrefix(e, "collect versions: ") || !strings.Contains(e, tt.wantErr) {
				t.Errorf("error = %q, want collect versions: …%s…", e, tt.wantErr)
			}
		})
	}
}

func TestLimitsAndRedaction(t *testing.T) {
	big := collectortest.Server(t, reply(t, "application/json", 200, `{"commit":"abc1234","pad":"`+strings.Repeat("x", 2048)+`"}`))
	f := collect(t, newCollector(WithMaxBody(1024)), request(engine.PostDeploy, 1, []target{{url: big.URL + "/version?api_key=" + collectortest.Secret}}, nil))
	e := instances(t, f)[0]
	if msg, _ := e["error"].(string); !strings.Contains(msg, "exceeds the limit of 1 KiB") {
		t.Errorf("error = %q", msg)
	}
	if u := e["url"].(string); !strings.HasSuffix(u, "api_key="+engine.Redacted) {
		t.Errorf("url = %q, want the key redacted", u)
	}
}

func TestFaults(t *testing.T) {
	collectortest.RunFaults(t, func(t *testing.T, baseURL string) (engine.Collector, engine.Request) {
		u := baseURL + "/version?token=" + collectortest.Secret
		return New(WithLookupEnv(lookup), WithBearerTokenEnv(tokenEnv), WithTimeout(time.Second)),
			request(engine.PostRollback, 1, []target{{url: u}}, []target{{url: u}})
	}, FactName)
}
