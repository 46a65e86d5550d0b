package engine

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const exampleRunbook = "../testdata/example/runbook.yaml"

// exampleSignoffDigest is the sign-off digest written into the example
// runbook; it changes only when the example or the schema's defaults do.
const exampleSignoffDigest = "sha256:958c35e3ef663ff27dc40224ee7cd058cac4eefd5c1ddb7ab98747b8c510c05d"

func loadExample(t *testing.T) *Runbook {
	t.Helper()
	rb, err := LoadRunbook(exampleRunbook)
	if err != nil {
		t.Fatalf("LoadRunbook(%s): %v", exampleRunbook, err)
	}
	return rb
}

func TestLoadRunbookExample(t *testing.T) {
	rb := loadExample(t)
	if err := rb.VerifySignoff(); err != nil {
		t.Errorf("VerifySignoff: %v", err)
	}
	if rb.SignoffDigest != exampleSignoffDigest {
		t.Errorf("SignoffDigest = %s, want %s", rb.SignoffDigest, exampleSignoffDigest)
	}
	if got := DigestBytes(rb.Normalized); got != rb.Digest {
		t.Errorf("Digest = %s, but the normalized bytes digest to %s", rb.Digest, got)
	}
	canon, err := Canonical(rb.Value)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(canon, rb.Normalized) {
		t.Errorf("Normalized is not the canonical form of Value")
	}
	prod, ok := rb.Env("production")
	if !ok {
		t.Fatal("no production environment")
	}
	staging, _ := rb.Env("staging")
	if _, ok := rb.Env("qa"); ok {
		t.Error(`Env("qa") found an environment`)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{name: "service", got: rb.Spec.Service, want: "shop"},
		{name: "release version", got: rb.Spec.Release.Version, want: "2.4.0"},
		{name: "uat format", got: rb.Spec.UAT.Record.Format, want: "in-toto"},
		{name: "steps", got: stepPercentsOf(rb), want: []int{5, 25, 100}},
		{name: "bake", got: rb.Spec.Strategy.Steps[1].Bake, want: 15 * time.Minute},
		{name: "window", got: rb.Spec.Window.Duration, want: time.Hour},
		{name: "smoke budget", got: rb.Spec.Smoke.Budget, want: 8 * time.Minute},
		{name: "latency budget", got: rb.Spec.Criteria.LatencyP95.Budget, want: 400 * time.Millisecond},
		{name: "max ratio", got: rb.Spec.Criteria.ErrorRate.MaxRatio, want: 0.02},
		{name: "env name", got: prod.Name, want: "production"},
		{name: "replicas", got: prod.Cohorts.New.Replicas, want: 3},
		{name: "bearer token env", got: prod.Prometheus.Auth.BearerTokenEnv, want: "SHOP_PROM_TOKEN"},
		{name: "given max_age", got: prod.MaxAge["prometheus"], want: 2 * time.Minute},
		{name: "default max_age uat", got: prod.MaxAge["uat"], want: 720 * time.Hour},
		{name: "default max_age gatekeeper", got: prod.MaxAge["gatekeeper"], want: time.Minute},
		{name: "default max_age on staging", got: staging.MaxAge["deploy"], want: 2 * time.Hour},
		{name: "default version_path", got: prod.Cohorts.New.Instances[0].VersionPath, want: "commit"},
		{name: "default image_path", got: prod.Cohorts.Old.Instances[2].ImagePath, want: "image"},
		{name: "signoff at", got: rb.Spec.Signoff.At, want: time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)},
		{name: "value keeps numbers as float64", got: rb.Value["criteria"].(map[string]any)["min_requests"], want: 500.0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !equal(tt.got, tt.want) {
				t.Errorf("got %v (%T), want %v (%T)", tt.got, tt.got, tt.want, tt.want)
			}
		})
	}
}

func TestRunbookDefaults(t *testing.T) {
	rb, err := LoadRunbook("testdata/runbooks/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	criteria := rb.Value["criteria"].(map[string]any)
	prod := rb.Value["environments"].(map[string]any)["production"].(map[string]any)
	instance := prod["cohorts"].(map[string]any)["new"].(map[string]any)["instances"].([]any)[0].(map[string]any)
	tests := []struct {
		name      string
		got, want any
	}{
		{name: "coverage_ratio", got: criteria["coverage_ratio"], want: 0.9},
		{name: "min_requests", got: criteria["min_requests"], want: 0.0},
		{name: "step", got: criteria["step"], want: "15s"},
		{name: "scrape_lag", got: criteria["scrape_lag"], want: "30s"},
		{name: "criteria integrations", got: criteria["integrations"], want: []any{}},
		{name: "rollback_on_new", got: criteria["data_integrity"], want: map[string]any{"rollback_on_new": true}},
		{name: "uat format", got: rb.Value["uat"].(map[string]any)["record"].(map[string]any)["format"], want: "gatekeeper"},
		{name: "window interval", got: rb.Value["window"].(map[string]any)["interval"], want: "1m"},
		{name: "window max_unknown", got: rb.Value["window"].(map[string]any)["max_unknown"], want: "5m"},
		{name: "smoke reports", got: rb.Value["smoke"].(map[string]any)["reports"], want: []any{}},
		{name: "announce_lead", got: prod["announce_lead"], want: "24h"},
		{name: "notifications", got: prod["notifications"], want: []any{}},
		{name: "version_path", got: instance["version_path"], want: "commit"},
		{name: "image_path", got: instance["image_path"], want: "image"},
		{name: "max_age", got: prod["max_age"], want: map[string]any{
			"prometheus": "2m", "http": "2m", "smoke": "30m", "sql": "10m", "uat": "720h",
			"archive": "720h", "notify": "720h", "deploy": "2h", "gatekeeper": "1m"}},
		{name: "no steps for big-bang", got: rb.Spec.Strategy.Steps == nil, want: true},
		{name: "no signoff", got: rb.Spec.Signoff == nil, want: true},
		{name: "unsigned digests agree", got: rb.Digest, want: rb.SignoffDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !equal(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

// The same runbook in YAML, JSON and CUE is the same runbook: same bytes
// after normalization, so the same digests and the same sign-off.
func TestRunbookFormatsAgree(t *testing.T) {
	want := loadExample(t)
	tests := []struct {
		name string
		path string
	}{
		{name: "json", path: "testdata/example/runbook.json"},
		{name: "cue", path: "testdata/example/runbook.cue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb, err := LoadRunbook(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rb.Normalized, want.Normalized) {
				t.Errorf("normalized bytes differ from the YAML runbook's:\n%s\n%s", rb.Normalized, want.Normalized)
			}
			if rb.Digest != want.Digest || rb.SignoffDigest != want.SignoffDigest {
				t.Errorf("digests %s/%s, want %s/%s", rb.Digest, rb.SignoffDigest, want.Digest, want.SignoffDigest)
			}
			if err := rb.VerifySignoff(); err != nil {
				t.Errorf("VerifySignoff: %v", err)
			}
		})
	}
}

// issueLine matches one line of a ValidationError: file:line:col: path: msg.
var issueLine = regexp.MustCompile(`^(.+):(\d+):(\d+): (.+)$`)

func TestLoadRunbookInvalid(t *testing.T) {
	tests := []struct {
		name string
		file string
		// want are substrings of issues, "path: message" or exact
		// "line:col: path" prefixes; each must be in some issue.
		want []string
		// issues is the exact number of issues expected.
		issues int
	}{
		{name: "missing required field", file: "missing-commander.yaml", issues: 1,
			want: []string{"1:1: commander: required field is missing"}},
		{name: "wrong type", file: "replicas-string.yaml", issues: 1,
			want: []string{`103:19: environments.production.cohorts.new.replicas: expected int, got "three"`}},
		{name: "window too short", file: "window-20m.yaml", issues: 1,
			want: []string{"29:13: window.duration: the monitoring window must be between 30m and 120m"}},
		{name: "window too long", file: "window-3h.yaml", issues: 1,
			want: []string{"29:13: window.duration: the monitoring window must be between 30m and 120m"}},
		{name: "canary steps not ascending", file: "steps-not-ascending.yaml", issues: 1,
			want: []string{"strategy.steps: percent must be strictly ascending: step 2 has 2 after 5"}},
		{name: "canary steps not ending at 100", file: "steps-not-ending-100.yaml", issues: 1,
			want: []string{"strategy.steps: the last step must have percent 100, not 50"}},
		{name: "bad sha", file: "bad-sha.yaml", issues: 1,
			want: []string{"6:11: release.commit: must be a full commit SHA"}},
		{name: "bad image digest", file: "bad-image.yaml", issues: 1,
			want: []string{"7:10: release.image: must be an image reference pinned by digest"}},
		{name: "yaml syntax error", file: "yaml-syntax.yaml", issues: 1,
			want: []string{"26:5: syntax error: did not find expected ',' or '}'"}},
		{name: "unknown field", file: "unknown-field.yaml", issues: 2,
			want: []string{
				"criteria.error_rate.max_ration: field not allowed; expected one of: max_ratio, query, sustained",
				"criteria.error_rate.max_ratio: required field is missing",
			}},
		{name: "inline token", file: "inline-token.yaml", issues: 1,
			want: []string{"98:9: environments.production.prometheus.auth.token: field not allowed: secrets must be given by environment variable name (e.g. bearer_token_env)"}},
		{name: "credentials in url", file: "url-credentials.yaml", issues: 1,
			want: []string{"96:12: environments.production.prometheus.url: must be an http:// or https:// URL without credentials"}},
		{name: "secrets in strings and a bad regex", file: "secrets-in-strings.yaml", issues: 5,
			want: []string{
				"smoke.critical[2]: expected a valid /regex/",
				"environments.production.database.dsn: field not allowed: secrets must be given by environment variable name (e.g. dsn_env)",
				"environments.production.database.dsn_env: required field is missing",
				"environments.production.database.migrations: must not contain a password",
				"environments.production.rehearsal_archive: must not contain credentials",
			}},
		{name: "several problems at once", file: "several-problems.yaml", issues: 8,
			want: []string{
				"1:1: commander: required field is missing",
				"6:11: release.commit: must be a full commit SHA",
				"strategy.steps: percent must be strictly ascending",
				"28:13: window.duration: the monitoring window must be between 30m and 120m",
				"29:3: window.intervall: field not allowed; expected one of: duration, interval, max_unknown",
				"60:12: environments.staging.prometheus.url: must be an http:// or https:// URL without credentials",
				"97:9: environments.production.prometheus.auth.token: field not allowed: secrets must be given",
				`102:19: environments.production.cohorts.new.replicas: expected int, got "three"`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("testdata", "runbooks", tt.file)
			rb, err := LoadRunbook(path)
			if err == nil {
				t.Fatalf("LoadRunbook(%s) = %v, want an error", path, rb.Spec.Service)
			}
			checkIssues(t, err, path, tt.issues, tt.want)
		})
	}
}

// checkIssues asserts err is a *ValidationError of n issues whose lines
// each name the file, a line:col and (but for syntax errors) a field path.
func checkIssues(t *testing.T, err error, path string, n int, want []string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T is not a *ValidationError: %v", err, err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(ve.Issues) != n || len(lines) != n {
		t.Errorf("got %d issues (%d lines), want %d:\n%v", len(ve.Issues), len(lines), n, err)
	}
	for i, line := range lines {
		m := issueLine.FindStringSubmatch(line)
		if m == nil || m[1] != path {
			t.Errorf("issue %q does not start with %s:line:col:", line, path)
			continue
		}
		if is := ve.Issues[i]; is.Path == "" && !strings.Contains(is.Msg, "syntax error") && !strings.Contains(is.Msg, "JSON") {
			t.Errorf("issue %q names no field path", line)
		}
	}
	for _, w := range want {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, ": "+w) || strings.Contains(l, ":"+w) }) {
			t.Errorf("no issue contains %q in:\n%v", w, err)
		}
	}
}

func TestVerifySignoff(t *testing.T) {
	tests := []struct {
		name string
		path string
		want string // "" for a runbook whose sign-off holds
	}{
		{name: "example", path: exampleRunbook},
		{name: "edited after sign-off", path: "testdata/runbooks/edited-after-signoff.yaml",
			want: "testdata/runbooks/edited-after-signoff.yaml:147:11: signoff.digest: runbook changed since sign-off: expected sha256:"},
		{name: "never signed off", path: "testdata/runbooks/minimal.yaml",
			want: "testdata/runbooks/minimal.yaml:1:1: signoff: runbook is not signed off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb, err := LoadRunbook(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			err = rb.VerifySignoff()
			if tt.want == "" {
				if err != nil {
					t.Errorf("VerifySignoff: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("VerifySignoff = %v, want a *ValidationError", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("VerifySignoff = %q, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestParseRunbookInputs(t *testing.T) {
	example, err := os.ReadFile("testdata/example/runbook.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		path   string
		data   string
		issues int
		want   []string
	}{
		{name: "unsupported extension", path: "runbook.toml", data: "service = 'shop'", issues: 1,
			want: []string{`1:1: unsupported file type ".toml": expected .cue, .yaml, .yml or .json`}},
		{name: "json syntax error", path: "runbook.json", data: "{\n  \"service\": \"shop\",\n}\n", issues: 1,
			want: []string{"3:1: invalid JSON: invalid character '}' looking for beginning of object key string"}},
		{name: "json NaN", path: "runbook.json", data: `{"criteria": {"coverage_ratio": NaN}}`, issues: 1,
			want: []string{"1:33: invalid JSON"}},
		{name: "json trailing data", path: "runbook.json", data: string(example) + "{}", issues: 1,
			want: []string{"invalid JSON: unexpected data after the top-level value"}},
		{name: "json duplicate key", path: "runbook.json", data: "{\"service\": \"shop\",\n \"service\": \"shop\"}", issues: 1,
			want: []string{`2:2: service: duplicate key "service"`}},
		{name: "yaml duplicate key", path: "runbook.yml", data: "service: shop\nservice: shop\n", issues: 1,
			want: []string{"2:"}},
		{name: "empty yaml", path: "runbook.yaml", data: "", issues: 1,
			want: []string{"1:1: expected an object at the top level"}},
		{name: "yaml list", path: "runbook.yaml", data: "- a\n", issues: 1,
			want: []string{"1:1: expected an object at the top level, got list"}},
		{name: "cue syntax error", path: "runbook.cue", data: "service: \"shop\n", issues: 1,
			want: []string{"1:10: syntax error"}},
		{name: "cue conflict", path: "runbook.cue", data: "service: \"shop\"\nservice: \"cart\"\n", issues: 1,
			want: []string{`service: conflicting values "cart" and "shop"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRunbook(tt.path, []byte(tt.data))
			if err == nil {
				t.Fatal("ParseRunbook succeeded, want an error")
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError: %v", err, err)
			}
			if len(ve.Issues) != tt.issues {
				t.Errorf("got %d issues, want %d:\n%v", len(ve.Issues), tt.issues, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), tt.path+":"+w) && !strings.Contains(err.Error(), ": "+w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadRunbookMissingFile(t *testing.T) {
	_, err := LoadRunbook("testdata/runbooks/does-not-exist.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadRunbook of a missing file = %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestValidationErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  *ValidationError
		want string
	}{
		{name: "issues one per line", err: &ValidationError{File: "r.yaml", Issues: []Issue{
			{File: "r.yaml", Line: 3, Col: 5, Path: "window.duration", Msg: "too short"},
			{File: "r.yaml", Line: 9, Col: 1, Msg: "syntax error: bad"},
		}}, want: "r.yaml:3:5: window.duration: too short\nr.yaml:9:1: syntax error: bad"},
		{name: "no issues", err: &ValidationError{File: "r.yaml"}, want: "r.yaml: invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzParseRunbook checks that no input makes the parser panic, that every
// failure is a located *ValidationError, and that every success is
// consistent with its own digests.
func FuzzParseRunbook(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/runbooks/*.yaml")
	seeds = append(seeds, exampleRunbook)
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b, uint8(0))
		}
	}
	for i, s := range []string{"testdata/example/runbook.json", "testdata/example/runbook.cue"} {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b, uint8(i+1))
		}
	}
	f.Add([]byte("a: &x [*x]\n"), uint8(0))
	f.Add([]byte(`{"strategy": {"kind": "canary", "steps": [{"percent": 1e400}]}}`), uint8(1))
	exts := []string{".yaml", ".json", ".cue"}
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		path := "fuzz" + exts[int(format)%len(exts)]
		rb, err := ParseRunbook(path, data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Issues) == 0 {
				t.Fatalf("error %T without issues: %v", err, err)
			}
			for _, is := range ve.Issues {
				if is.Line < 1 || is.Col < 1 || is.File != path {
					t.Fatalf("issue not located in %s: %+v", path, is)
				}
				if strings.Contains(is.Msg, "internal error") {
					t.Fatalf("validator crashed: %v", is.Msg)
				}
			}
			return
		}
		if DigestBytes(rb.Normalized) != rb.Digest {
			t.Fatal("Digest does not match Normalized")
		}
		canon, err := Canonical(rb.Value)
		if err != nil || !bytes.Equal(canon, rb.Normalized) {
			t.Fatalf("Normalized is not Canonical(Value): %v", err)
		}
		_ = rb.VerifySignoff()
	})
}

func stepPercentsOf(rb *Runbook) []int {
	var out []int
	for _, s := range rb.Spec.Strategy.Steps {
		out = append(out, s.Percent)
	}
	return out
}

// equal compares test values through their canonical JSON where they are
// JSON, so that []any{} and empty slices or maps compare by content.
func equal(a, b any) bool {
	switch a.(type) {
	case map[string]any, []any:
		ca, errA := Canonical(a)
		cb, errB := Canonical(b)
		return errA == nil && errB == nil && bytes.Equal(ca, cb)
	case []int:
		return slices.Equal(a.([]int), b.([]int))
	case time.Time:
		return a.(time.Time).Equal(b.(time.Time))
	}
	return a == b
}
