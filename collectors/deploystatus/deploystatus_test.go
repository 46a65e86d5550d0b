package deploystatus

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/collectortest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func request(gate engine.Gate, runbookPath string, ds *engine.DeploymentStatusSpec) engine.Request {
	rb := &engine.Runbook{Path: runbookPath, Spec: engine.RunbookSpec{Environments: map[string]engine.EnvSpec{
		"production": {Name: "production", DeploymentStatus: ds},
	}}}
	return engine.Request{Runbook: rb, Environment: "production", Gate: gate, Now: time.Now()}
}

func env(vars map[string]string) Option {
	return WithLookupEnv(func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	})
}

func TestSources(t *testing.T) {
	dir := t.TempDir()
	mtime := time.Date(2026, 11, 25, 13, 19, 30, 0, time.UTC)
	files := map[string]string{
		"status.json":     `{"status":"succeeded","finished_at":"2026-11-25T13:19:42Z","detail":"rollout web 3/3 ready"}`,
		"failed.json":     `{"status":"failed","finished_at":"2026-11-25T14:19:42+01:00","detail":"deployment \"web\" exceeded its progress deadline","job":"deploy-prod"}`,
		"detail-obj.json": `{"status":"success","detail":{"replicas":3}}`,
		"word":            "succeeded\n",
		"alias":           "  Success  ",
		"upper":           "FAILED",
		"cancelled":       "cancelled\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	rb := filepath.Join(dir, "runbook.yaml")
	tests := []struct {
		name       string
		ds         *engine.DeploymentStatusSpec
		vars       map[string]string
		status     string
		raw        string
		finishedAt string
		detail     string
	}{
		{"JSON file", &engine.DeploymentStatusSpec{File: "status.json"}, nil, Succeeded, "", "2026-11-25T13:19:42Z", "rollout web 3/3 ready"},
		{"JSON file, failed, other offset, extra members", &engine.DeploymentStatusSpec{File: "failed.json"}, nil, Failed, "", "2026-11-25T13:19:42Z", `deployment "web" exceeded its progress deadline`},
		{"JSON file, detail object", &engine.DeploymentStatusSpec{File: "detail-obj.json"}, nil, Succeeded, "success", "2026-11-25T13:19:30Z", `{"replicas":3}`},
		{"word file: finished_at from its mtime", &engine.DeploymentStatusSpec{File: "word"}, nil, Succeeded, "", "2026-11-25T13:19:30Z", ""},
		{"alias word", &engine.DeploymentStatusSpec{File: "alias"}, nil, Succeeded, "Success", "2026-11-25T13:19:30Z", ""},
		{"upper-case word", &engine.DeploymentStatusSpec{File: "upper"}, nil, Failed, "FAILED", "2026-11-25T13:19:30Z", ""},
		{"cancelled is failed", &engine.DeploymentStatusSpec{File: "cancelled"}, nil, Failed, "cancelled", "2026-11-25T13:19:30Z", ""},
		{"absolute file", &engine.DeploymentStatusSpec{File: filepath.Join(dir, "status.json")}, nil, Succeeded, "", "2026-11-25T13:19:42Z", "rollout web 3/3 ready"},
		{"env word", &engine.DeploymentStatusSpec{Env: "DEPLOY_STATUS"}, map[string]string{"DEPLOY_STATUS": "failed"}, Failed, "", "", ""},
		{"env JSON", &engine.DeploymentStatusSpec{Env: "DEPLOY_STATUS"}, map[string]string{"DEPLOY_STATUS": `{"status":"succeeded","finished_at":"2026-11-25T13:19:42Z","detail":"ok token=` + collectortest.Secret + `"}`}, Succeeded, "", "2026-11-25T13:19:42Z", "ok token=" + engine.Redacted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			facts := New(env(tt.vars)).Collect(context.Background(), request(engine.PostDeploy, rb, tt.ds))
			collectortest.AssertSchema(t, facts)
			collectortest.AssertProvenance(t, facts)
			collectortest.AssertNoSecret(t, facts)
			f := facts[FactName]
			if f.Err != "" {
				t.Fatal(f.Err)
			}
			if f.Source != "deploy" {
				t.Errorf("source = %q", f.Source)
			}
			for k, want := range map[string]string{"status": tt.status, "raw_status": tt.raw, "finished_at": tt.finishedAt, "detail": tt.detail} {
				got, present := f.Data[k]
				if want == "" && present || want != "" && got != want {
					t.Errorf("%s = %v, want %q", k, got, want)
				}
			}
			if tt.ds.File != "" && f.Path == "" || tt.ds.Env != "" && f.Query != "env "+tt.ds.Env {
				t.Errorf("provenance path %q query %q", f.Path, f.Query)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"empty":      "  \n",
		"unknown":    "deployed",
		"sentence":   "deploy succeeded at 13:19",
		"no-status":  `{"finished_at":"2026-11-25T13:19:42Z"}`,
		"bad-time":   `{"status":"succeeded","finished_at":"13:19"}`,
		"bad-json":   `{"status":"succeeded"`,
		"trailing":   `{"status":"succeeded"} {}`,
		"num-status": `{"status":1}`,
		"big":        strings.Repeat("x", 100),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rb := filepath.Join(dir, "runbook.yaml")
	tests := []struct {
		name    string
		ds      *engine.DeploymentStatusSpec
		vars    map[string]string
		wantErr string
	}{
		{"missing file", &engine.DeploymentStatusSpec{File: "status.json"}, nil, "no such file"},
		{"empty file", &engine.DeploymentStatusSpec{File: "empty"}, nil, "empty"},
		{"unknown word", &engine.DeploymentStatusSpec{File: "unknown"}, nil, `unrecognized deployment status "deployed"`},
		{"several words", &engine.DeploymentStatusSpec{File: "sentence"}, nil, "expected a single word"},
		{"JSON without status", &engine.DeploymentStatusSpec{File: "no-status"}, nil, "has no status"},
		{"bad finished_at", &engine.DeploymentStatusSpec{File: "bad-time"}, nil, "not an RFC 3339 time"},
		{"truncated JSON", &engine.DeploymentStatusSpec{File: "bad-json"}, nil, "invalid JSON"},
		{"trailing JSON", &engine.DeploymentStatusSpec{File: "trailing"}, nil, "unexpected data after"},
		{"numeric status", &engine.DeploymentStatusSpec{File: "num-status"}, nil, "invalid JSON"},
		{"file over the limit", &engine.DeploymentStatusSpec{File: "big"}, nil, "exceeds the limit of 64 bytes"},
		{"env unset", &engine.DeploymentStatusSpec{Env: "DEPLOY_STATUS"}, nil, "DEPLOY_STATUS is not set"},
		{"env empty", &engine.DeploymentStatusSpec{Env: "DEPLOY_STATUS"}, map[string]string{"DEPLOY_STATUS": ""}, "empty"},
		{"env over the limit", &engine.DeploymentStatusSpec{Env: "DEPLOY_STATUS"}, map[string]string{"DEPLOY_STATUS": strings.Repeat("x", 65)}, "over the limit of 64 bytes"},
		{"nothing configured", nil, nil, "names no file or env"},
		{"both configured", &engine.DeploymentStatusSpec{File: "status.json", Env: "DEPLOY_STATUS"}, map[string]string{"DEPLOY_STATUS": "succeeded"}, "both a file and an env variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			facts := New(env(tt.vars), WithMaxBody(64)).Collect(context.Background(), request(engine.PostDeploy, rb, tt.ds))
			collectortest.AssertFailed(t, facts, FactName)
			collectortest.AssertSchema(t, facts)
			collectortest.AssertProvenance(t, facts)
			if e := facts[FactName].Err; !strings.HasPrefix(e, "collect deployment: ") || !strings.Contains(e, tt.wantErr) {
				t.Errorf("error = %q, want collect deployment: …%s…", e, tt.wantErr)
			}
		})
	}
	t.Run("no runbook", func(t *testing.T) {
		facts := New().Collect(context.Background(), engine.Request{Gate: engine.PostDeploy, Environment: "production"})
		collectortest.AssertFailed(t, facts, FactName)
		collectortest.AssertProvenance(t, facts)
	})
}

func TestGates(t *testing.T) {
	ds := &engine.DeploymentStatusSpec{Env: "DEPLOY_STATUS"}
	for _, g := range engine.Gates() {
		t.Run(string(g), func(t *testing.T) {
			facts := New(env(map[string]string{"DEPLOY_STATUS": "succeeded"})).Collect(context.Background(), request(g, "runbook.yaml", ds))
			if _, got := facts[FactName]; got != (g == engine.PostDeploy) || len(facts) > 1 {
				t.Errorf("gate %s: facts %v", g, facts)
			}
		})
	}
}
