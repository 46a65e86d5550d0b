package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput feeds every kind of bad input through the CLI: each must exit 1 with a message
// that names the file, field or flag at fault, and never panic or decide.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	healthy := "testdata/example/scenarios/healthy__window.json"
	rb := "testdata/example/runbook.yaml"
	// A directory where a file belongs: unreadable even for root, which CI runs as.
	unreadable := filepath.Join(dir, "unreadable.json")
	if err := os.Mkdir(unreadable, 0o755); err != nil {
		t.Fatal(err)
	}
	malformed := write("malformed.json", `{"facts": {"error_rate": {"source": "prometheus",`)
	nan := write("nan.json", `{"facts": {"request_count": {"source": "prometheus", "collected_at": "2026-11-25T14:04:00Z", "value": NaN}}}`)
	inf := write("inf.json", `{"facts": {"request_count": {"source": "prometheus", "collected_at": "2026-11-25T14:04:00Z", "value": Infinity}}}`)
	wrongType := write("wrongtype.json", `{"facts": {"error_rate": {"source": "prometheus", "collected_at": "2026-11-25T14:04:00Z", "samples": "lots"}}}`)
	noFacts := write("nofacts.json", `{"gate": "window"}`)
	renamed := write("renamed.json", `{"facts": {"errorrate": {"source": "prometheus", "collected_at": "2026-11-25T14:04:00Z"}}}`)
	bare := write("bare.json", `{"facts": {}}`)
	otherGate := write("othergate.json", `{"gate": "post-smoke", "facts": {}}`)

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown gate", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "launch", "--facts", healthy}, []string{`unknown gate "launch"`}},
		{"unknown environment", []string{"evaluate", "--runbook", rb, "--env", "qa", "--gate", "window", "--facts", bare}, []string{`environment "qa"`, rb}},
		{"step not in runbook", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "canary", "--step", "30", "--facts", bare}, []string{"--step 30", "steps: 5, 25, 100"}},
		{"canary without step", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "canary", "--facts", bare}, []string{"needs --step"}},
		{"step on another gate", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--step", "5", "--facts", healthy}, []string{"--step applies only"}},
		{"missing runbook file", []string{"evaluate", "--runbook", filepath.Join(dir, "nope.yaml"), "--env", "production", "--gate", "window", "--facts", healthy}, []string{"nope.yaml"}},
		{"missing facts file", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", filepath.Join(dir, "nope.json")}, []string{"nope.json"}},
		{"unreadable facts file", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", unreadable}, []string{"unreadable.json"}},
		{"malformed facts", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", malformed}, []string{"malformed.json"}},
		{"NaN literal in facts", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", nan}, []string{"nan.json"}},
		{"Infinity literal in facts", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", inf}, []string{"inf.json"}},
		{"wrong type in facts", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", wrongType}, []string{"wrongtype.json", "samples"}},
		{"facts without facts section", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", noFacts}, []string{"nofacts.json", "facts"}},
		{"renamed fact", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", renamed}, []string{"renamed.json", "errorrate"}},
		{"facts of another gate", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", otherGate}, []string{"othergate.json", "post-smoke"}},
		{"bad now", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", healthy, "--now", "yesterday"}, []string{`now "yesterday"`}},
		{"unknown output format", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", healthy, "-o", "yaml"}, []string{`unknown output format "yaml"`}},
		{"policy does not compile", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", healthy, "--policies", "testdata/badpolicies/syntax"}, []string{"broken.rego"}},
		{"policy uses http.send", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", healthy, "--policies", "testdata/badpolicies/forbidden"}, []string{"lookup.rego", "http.send", "capabilities"}},
		{"policy reads the clock", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", healthy, "--policies", "testdata/badpolicies/clock"}, []string{"now.rego", "time.now_ns", "capabilities"}},
		{"policies dir missing", []string{"evaluate", "--runbook", rb, "--env", "production", "--gate", "window", "--facts", healthy, "--policies", filepath.Join(dir, "none")}, []string{"none"}},
		{"vet missing file", []string{"vet", filepath.Join(dir, "nope.yaml")}, []string{"nope.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := gk(t, tt.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("stderr shows a panic:\n%s", stderr)
			}
		})
	}
}
