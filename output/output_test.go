package output

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func sampleRecord() *engine.Record {
	step := 25
	return &engine.Record{
		DecisionID: "d", LaunchID: "shop-2.4.0-production", Environment: "production", Gate: engine.Canary, Step: &step,
		Decision: engine.Rollback, Now: "2026-11-25T14:05:00Z",
		Checks: []engine.Check{
			{Rule: "canary.error_rate_sustained", Outcome: engine.Rollback, Status: "fail", Message: "Error rate sustained: 7.1% > 2%, 100% coverage",
				Evidence: map[string]any{"observed": 0.071, "threshold": 0.02, "coverage": 1.0, "window_start": "2026-11-25T13:59:30Z"}},
			{Rule: "canary.latency_p95_sustained", Outcome: engine.Go, Status: "pass", Message: "p95 within budget", Evidence: map[string]any{"observed": 0.21, "threshold": 0.48}},
			{Rule: "canary.min_requests", Outcome: engine.NoGo, Status: "unknown", Message: "100% of 50, under: 1,000", Evidence: map[string]any{"observed": 450.0, "threshold": 500.0}},
		},
		Warnings: []engine.Warning{{Rule: "canary.integrations", Message: "email: down since 13:50\nnot critical"}},
	}
}

func TestGet(t *testing.T) {
	tests := []struct {
		name    string
		format  string
		wantErr bool
	}{
		{"text", "text", false},
		{"default", "", false},
		{"json", "json", false},
		{"junit", "junit", false},
		{"github", "github", false},
		{"unknown", "yaml", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Get(tt.format, Options{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Get(%q) error = %v, wantErr %v", tt.format, err, tt.wantErr)
			}
		})
	}
}

// TestTextPutsFailuresFirst checks that a reader sees what blocks the gate before what passed,
// with observed value against threshold on the evidence line.
func TestTextPutsFailuresFirst(t *testing.T) {
	var b bytes.Buffer
	if err := (Text{}).Render(&b, sampleRecord()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	iRoll := strings.Index(out, "canary.error_rate_sustained")
	iHold := strings.Index(out, "canary.min_requests")
	iPass := strings.Index(out, "canary.latency_p95_sustained")
	if !(iRoll < iHold && iHold < iPass) {
		t.Errorf("want rollback, then no-go, then passing checks:\n%s", out)
	}
	for _, want := range []string{"ROLLBACK", "observed=0.071 threshold=0.02 coverage=1", "(unknown)", "warnings (1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestJUnitCountsFailures(t *testing.T) {
	var b bytes.Buffer
	if err := (JUnit{}).Render(&b, sampleRecord()); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("junit output is not XML: %v\n%s", err, b.String())
	}
	if doc.Tests != 3 || doc.Failures != 2 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 3 {
		t.Fatalf("tests=%d failures=%d, want 3 and 2:\n%s", doc.Tests, doc.Failures, b.String())
	}
	if f := doc.Suites[0].Cases[0].Failure; f == nil || f.Type != "rollback/fail" {
		t.Errorf("first case failure = %+v, want type rollback/fail", f)
	}
}

// TestGitHubEscapesAndSummarizes checks workflow-command escaping (a newline in a message
// must not end the command) and the appended job summary.
func TestGitHubEscapesAndSummarizes(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	var b bytes.Buffer
	if err := (GitHub{SummaryPath: summary}).Render(&b, sampleRecord()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "::error title=gatekeeper canary rollback%3A canary.error_rate_sustained::") {
		t.Errorf("missing escaped error annotation:\n%s", out)
	}
	if !strings.Contains(out, "down since 13:50%0Anot critical") {
		t.Errorf("newline in a warning is not escaped:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n != 4 {
		t.Errorf("want 4 annotation lines (2 errors, 1 warning, 1 notice), got %d:\n%s", n, out)
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| rollback | `canary.error_rate_sustained` |") {
		t.Errorf("summary lacks the failing check:\n%s", md)
	}
}
