package main

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const (
	exampleRunbook = "testdata/example/runbook.yaml"
	scenarios      = "testdata/example/scenarios"
)

// TestEvaluateIsDeterministic decides the same input twice and wants the same bytes: the
// decision id and digests are derived, and now comes from the facts file.
func TestEvaluateIsDeterministic(t *testing.T) {
	args := []string{"evaluate", "--runbook", exampleRunbook, "--env", "production", "--gate", "canary", "--step", "25",
		"--facts", filepath.Join(scenarios, "sustained-errors__canary-25.json"), "-o", "json"}
	c1, out1, _ := gk(t, args...)
	c2, out2, _ := gk(t, args...)
	if c1 != 3 || c2 != 3 {
		t.Fatalf("exit %d and %d, want 3 (rollback)", c1, c2)
	}
	if out1 != out2 {
		t.Fatalf("two runs differ:\n%s\n---\n%s", out1, out2)
	}
}

// TestNowFlagOverridesFacts moves the decision time 9 minutes past the window scenario's
// facts: every Prometheus and HTTP fact is then stale, so the gate must hold.
func TestNowFlagOverridesFacts(t *testing.T) {
	code, out, stderr := gk(t, "evaluate", "--runbook", exampleRunbook, "--env", "production", "--gate", "window",
		"--facts", filepath.Join(scenarios, "healthy__window.json"), "--now", "2026-11-25T14:29:30Z")
	if code != 2 {
		t.Fatalf("exit %d, want 2 (hold on stale facts)\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "stale") {
		t.Errorf("output does not say the facts are stale:\n%s", out)
	}
}

// TestUserPolicyAddsCheck loads the example change-freeze rule beside the built-ins: its check
// appears in the gate, and the freeze turns a healthy pre-cutover into no-go.
func TestUserPolicyAddsCheck(t *testing.T) {
	base := []string{"evaluate", "--runbook", exampleRunbook, "--env", "production", "--gate", "pre-cutover",
		"--facts", filepath.Join(scenarios, "healthy__pre-cutover.json"), "--policies", "testdata/example/policies"}
	code, out, stderr := gk(t, base...)
	if code != 0 || !strings.Contains(out, "team.change_freeze") {
		t.Fatalf("Wednesday: exit %d, want 0 with the team.change_freeze check\n%s%s", code, out, stderr)
	}
	// A Friday-afternoon copy of the same facts, all collected minutes before.
	b, err := os.ReadFile(filepath.Join(scenarios, "healthy__pre-cutover.json"))
	if err != nil {
		t.Fatal(err)
	}
	friday := strings.ReplaceAll(string(b), "2026-11-25T13:1", "2026-11-27T16:1")
	friday = strings.ReplaceAll(friday, "2026-11-24T11:00:0", "2026-11-26T11:00:0")
	path := filepath.Join(t.TempDir(), "friday.json")
	if err := os.WriteFile(path, []byte(friday), 0o644); err != nil {
		t.Fatal(err)
	}
	base[len(base)-3] = path
	code, out, _ = gk(t, base...)
	if code != 2 || !strings.Contains(out, "checks (1 failed") || !strings.Contains(out, "inside the freeze") {
		t.Fatalf("Friday 16:15: exit %d, want 2 with the freeze not met\n%s", code, out)
	}
}

func TestJUnitOutput(t *testing.T) {
	code, out, _ := gk(t, "evaluate", "--runbook", exampleRunbook, "--env", "production", "--gate", "post-smoke",
		"--facts", filepath.Join(scenarios, "critical-smoke-failure__post-smoke.json"), "-o", "junit")
	if code != 3 {
		t.Fatalf("exit %d, want 3", code)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, out)
	}
	if doc.Tests == 0 || doc.Failures == 0 {
		t.Fatalf("tests=%d failures=%d, want a failing case for the critical smoke step\n%s", doc.Tests, doc.Failures, out)
	}
}

func TestGitHubOutputWritesSummary(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	code, out, _ := gk(t, "evaluate", "--runbook", exampleRunbook, "--env", "production", "--gate", "window",
		"--facts", filepath.Join(scenarios, "latency-regression__window.json"), "-o", "github")
	if code != 3 || !strings.Contains(out, "::error title=gatekeeper window rollback%3A window.latency_p95_sustained::") {
		t.Fatalf("exit %d, want 3 with an error annotation for the latency check\n%s", code, out)
	}
	md, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(md), "window.latency_p95_sustained") {
		t.Fatalf("job summary missing the latency check: %v\n%s", err, md)
	}
}

func TestVet(t *testing.T) {
	code, out, stderr := gk(t, "vet", exampleRunbook)
	if code != 0 || !strings.Contains(out, "ok: shop 2.4.0") {
		t.Fatalf("vet example: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = gk(t, "vet", "--print-digest", exampleRunbook)
	if code != 0 || !strings.HasPrefix(out, "sha256:") {
		t.Fatalf("vet --print-digest: exit %d: %s", code, out)
	}
	code, _, stderr = gk(t, "vet", "testdata/example/runbook-edited.yaml")
	if code != 1 || !strings.Contains(stderr, "runbook-edited.yaml:") || !strings.Contains(stderr, "signoff.digest") {
		t.Fatalf("vet of a runbook edited after sign-off: exit %d, want 1 naming signoff.digest\n%s", code, stderr)
	}
}

// TestVetReportsEveryBadRunbook runs vet over the schema tests' runbooks (all invalid or unsigned): each must exit 1
// and name the file with a line and column.
func TestVetReportsEveryBadRunbook(t *testing.T) {
	files, err := filepath.Glob("engine/testdata/runbooks/*.yaml")
	if err != nil || len(files) < 10 {
		t.Fatalf("want the runbooks of engine/testdata/runbooks, found %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			code, out, stderr := gk(t, "vet", f)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s%s", code, out, stderr)
			}
			if !strings.Contains(stderr, filepath.Base(f)+":") {
				t.Errorf("error does not name the file with a position:\n%s", stderr)
			}
		})
	}
}

// TestPolicyTestsMatchStockOPA runs the built-in policy tests through `gatekeeper test` and,
// where the stock opa CLI is on PATH (.ci/run puts it there), checks that opa agrees.
func TestPolicyTestsMatchStockOPA(t *testing.T) {
	code, out, stderr := gk(t, "test", "--threshold", "90")
	if code != 0 || !strings.Contains(out, " passed, 0 failed") || !strings.Contains(out, "coverage: ") {
		t.Fatalf("gatekeeper test: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = gk(t, "test", "--coverage=false", "--with-builtin", "testdata/example/policies")
	if code != 0 {
		t.Fatalf("gatekeeper test --with-builtin example: exit %d\n%s%s", code, out, stderr)
	}
	opa, err := exec.LookPath("opa")
	if err != nil {
		t.Skip("stock opa not on PATH; .ci/run installs it")
	}
	stock, err := exec.Command(opa, "test", "--timeout", "120s", "policies/", "testdata/example/policies/").CombinedOutput()
	if err != nil {
		t.Fatalf("opa test: %v\n%s", err, stock)
	}
	if !strings.Contains(string(stock), "PASS: ") {
		t.Fatalf("unexpected opa test output:\n%s", stock)
	}
	// Both runs must count the same tests.
	var passed int
	for _, l := range strings.Split(out, "\n") {
		if n, ok := strings.CutSuffix(l, " passed, 0 failed"); ok {
			passed = atoi(n)
		}
	}
	if want := "PASS: " + itoa(passed) + "/" + itoa(passed); !strings.Contains(string(stock), want) {
		t.Errorf("gatekeeper test passed %d tests; opa test says:\n%s", passed, stock)
	}
	// A failing user test fails both.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fail_test.rego"), []byte("package team_test\n\ntest_fails if false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := gk(t, "test", "--coverage=false", dir); code != 2 {
		t.Errorf("gatekeeper test on a failing test: exit %d, want 2", code)
	}
	if err := exec.Command(opa, "test", dir).Run(); err == nil {
		t.Errorf("opa test on a failing test passed")
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func itoa(n int) string { return strconv.Itoa(n) }
