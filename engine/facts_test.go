package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFactsValid(t *testing.T) {
	ff, err := LoadFacts("testdata/facts/valid.json")
	if err != nil {
		t.Fatal(err)
	}
	samples := ff.Facts["error_rate"].(map[string]any)["samples"].([]any)
	custom := ff.Facts["custom"].(map[string]any)["queue_depth"].(map[string]any)
	health := ff.Facts["health"].(map[string]any)["instances"].([]any)[0].(map[string]any)
	tests := []struct {
		name      string
		got, want any
	}{
		{name: "gate", got: ff.Gate, want: "canary"},
		{name: "step", got: *ff.Step, want: 25},
		{name: "environment", got: ff.Environment, want: "production"},
		{name: "launch id", got: ff.LaunchID, want: "shop-2.4.0-production"},
		{name: "now", got: ff.Now, want: "2026-11-25T14:05:00Z"},
		{name: "cutover", got: ff.CutoverAt, want: "2026-11-25T13:20:00Z"},
		{name: "step started", got: ff.StepStartedAt, want: "2026-11-25T13:55:00Z"},
		{name: "facts", got: len(ff.Facts), want: 5},
		{name: "sample time is float64", got: samples[0].([]any)[0], want: 1795615170.0},
		{name: "NaN survives as a string", got: samples[1].([]any)[1], want: "NaN"},
		{name: "custom facts are kept", got: custom["value"], want: 3.0},
		{name: "extra fields inside a fact are kept", got: health["extra"], want: map[string]any{"kept": true}},
		{name: "no runbook in the file", got: ff.Runbook == nil, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !equal(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadFactsInvalid(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		issues int
		want   []string
	}{
		{name: "malformed json", file: "malformed.json", issues: 1,
			want: []string{"4:94: invalid JSON: invalid character '}' looking for beginning of object key string"}},
		{name: "NaN literal", file: "nan.json", issues: 1,
			want: []string{"4:104: invalid JSON: invalid character 'N' looking for beginning of value"}},
		{name: "missing facts", file: "missing-facts.json", issues: 1,
			want: []string{"1:1: facts: required field is missing"}},
		{name: "unknown fact name", file: "unknown-fact.json", issues: 1,
			want: []string{"4:5: facts.error_ratio: field not allowed; expected one of: attestations, custom, deployment, error_rate,"}},
		{name: "duplicate key", file: "duplicate-key.json", issues: 1,
			want: []string{`4:3: gate: duplicate key "gate"`}},
		{name: "wrong types", file: "wrong-types.json", issues: 12,
			want: []string{
				`2:11: gate: expected one of "canary", "post-deploy", "post-rollback", "post-smoke", "pre-cutover", "window", got "windows"`,
				`3:11: step: expected one of int, null, got "25"`,
				`4:10: now: must be an RFC 3339 time`,
				`10:32: facts.error_rate.samples[0][1]: must be a sample value string`,
				`10:42: facts.error_rate.samples[1][0]: expected number, got "1795615185"`,
				`10:66: facts.error_rate.samples[2]: incompatible list lengths`,
				`16:52: facts.integrity.checks[0].violations: expected int, got "3"`,
				`22:45: facts.health.instances[0].status: expected one of "fail", "pass", "warn", got "ok"`,
				`25:17: facts.deployment.source: expected "deploy", got "prometheus"`,
				`27:23: facts.deployment.collected_at: must be an RFC 3339 time`,
				`28:17: facts.deployment.status: expected one of "failed", "succeeded", got "done"`,
				`33:16: facts.traffic.value: must be a sample value string`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("testdata", "facts", tt.file)
			ff, err := LoadFacts(path)
			if err == nil {
				t.Fatalf("LoadFacts(%s) = %+v, want an error", path, ff)
			}
			checkIssues(t, err, path, tt.issues, tt.want)
		})
	}
}

func TestParseFactsInputs(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string // substring of the error; "" when the input is valid
	}{
		{name: "any extension is read as JSON", data: `{"facts": {}}`},
		{name: "null step", data: `{"facts": {}, "step": null}`},
		{name: "runbook is carried", data: `{"facts": {}, "runbook": {"service": "shop"}}`},
		{name: "top level must be an object", data: `[]`, want: "1:1: expected an object at the top level, got list"},
		{name: "unknown top-level field", data: `{"facts": {}, "gates": "window"}`, want: `1:15: gates: field not allowed`},
		{name: "fact without source", data: `{"facts": {"traffic": {"query": "q", "collected_at": "2026-11-25T14:00:00Z"}}}`,
			want: "facts.traffic.source: required field is missing"},
		{name: "fact without what was asked", data: `{"facts": {"traffic": {"source": "prometheus", "collected_at": "2026-11-25T14:00:00Z"}}}`,
			want: "facts.traffic: a fact must say what was asked: query, url or path"},
		{name: "custom fact with unknown source", data: `{"facts": {"custom": {"mine": {"source": "dns", "collected_at": "2026-11-25T14:00:00Z"}}}}`,
			want: `facts.custom.mine.source: expected one of`},
		{name: "number beyond float64", data: `{"facts": {"custom": {"mine": {"source": "sql", "collected_at": "2026-11-25T14:00:00Z", "n": 1e400}}}}`,
			want: "1:94: facts.custom.mine.n: number 1E+400 is out of range"},
		{name: "empty input", data: ``, want: "1:1: invalid JSON: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const path = "input.txt"
			ff, err := ParseFacts(path, []byte(tt.data))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ParseFacts: %v", err)
				}
				if ff.Facts == nil {
					t.Error("Facts is nil, want an empty map")
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ParseFacts = %v, want a *ValidationError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not contain %q:\n%v", tt.want, err)
			}
		})
	}
}

// The recorded scenarios are what collectors and policy tests produce; the
// schema must accept every one of them.
func TestScenarioFactsValidate(t *testing.T) {
	files, _ := filepath.Glob("../testdata/example/scenarios/*__*.json")
	if len(files) == 0 {
		t.Skip("no recorded scenarios")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := LoadFacts(f); err != nil {
				t.Error(err)
			}
		})
	}
}

// FuzzParseFacts checks that no input makes the facts parser panic and that
// every failure is a located *ValidationError.
func FuzzParseFacts(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/facts/*.json")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"facts": {"error_rate": {"source": "prometheus", "query": "q", "collected_at": "2026-11-25T14:00:00Z", "samples": [[1, "NaN"]]}}}`))
	f.Add([]byte(`{"facts": {}, "step": 1.5}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		const path = "fuzz.json"
		ff, err := ParseFacts(path, data)
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
		if ff.Facts == nil {
			t.Fatal("valid facts file with nil Facts")
		}
		if _, err := Canonical(ff.Facts); err != nil {
			t.Fatalf("validated facts are not canonicalizable: %v", err)
		}
	})
}
