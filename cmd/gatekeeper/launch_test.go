package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func TestLaunchDryRun(t *testing.T) {
	code, out, stderr := gk(t, "launch", "--runbook", "testdata/example/runbook.yaml", "--env", "production", "--archive", "archives/shop", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	want, err := os.ReadFile("launch/testdata/plan-canary.golden")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("dry run differs from launch/testdata/plan-canary.golden:\n%s", out)
	}
	if _, err := os.Stat("archives"); err == nil {
		t.Error("a dry run created the archive")
	}
}

func TestLaunchAndWatchRefuseBadInput(t *testing.T) {
	rb := "testdata/example/runbook.yaml"
	dir := filepath.Join(t.TempDir(), "a")
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"watch needs a cutover", []string{"watch", "--runbook", rb, "--env", "production", "--archive", dir}, "no cutover time"},
		{"watch only window or canary", []string{"watch", "--runbook", rb, "--env", "production", "--archive", dir, "--gate", "post-deploy"}, "watch runs the window or a canary bake"},
		{"watch canary needs a step", []string{"watch", "--runbook", rb, "--env", "production", "--archive", dir, "--gate", "canary"}, "needs --step"},
		{"watch bad cutover", []string{"watch", "--runbook", rb, "--env", "production", "--archive", dir, "--cutover-at", "noon"}, "want an RFC 3339 time"},
		{"launch unknown env", []string{"launch", "--runbook", rb, "--env", "qa", "--archive", dir}, `environment "qa" is not in runbook`},
		{"announce needs a time", []string{"launch", "--runbook", rb, "--env", "production", "--archive", dir, "--announce"}, "--announce needs --window-at"},
		{"launch needs an archive", []string{"launch", "--runbook", rb, "--env", "production"}, `"archive" not set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := gk(t, tt.args...)
			if code != 1 || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want 1 with %q", code, stderr, tt.stderr)
			}
		})
	}
}

// scaledRunbook writes the example runbook compressed 60 times (testing.time_scale), with its
// staging systems on an address where nothing answers, signed off, and returns its path.
func scaledRunbook(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("testdata/example/runbook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`[a-z0-9.-]+\.staging\.shop\.internal:\d+`).ReplaceAllString(string(src), "127.0.0.1:1")
	s = strings.Replace(s, "signoff:", "testing: {time_scale: 60}\nsignoff:", 1)
	path := filepath.Join(t.TempDir(), "runbook.yaml")
	rb, err := engine.ParseRunbook(path, []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	s = regexp.MustCompile(`digest: "sha256:[0-9a-f]+"`).ReplaceAllString(s, `digest: "`+rb.SignoffDigest+`"`)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// watch on the live sources, in real (compressed) time: nothing answers, every criterion is
// unknown, and past max_unknown (5m / 60 = 5s) that is a rollback.
func TestWatchLiveUnknownRollsBack(t *testing.T) {
	rb := scaledRunbook(t)
	dir := filepath.Join(t.TempDir(), "archive")
	start := time.Now()
	code, out, stderr := gk(t, "watch", "--runbook", rb, "--env", "staging", "--archive", dir,
		"--cutover-at", start.UTC().Format(time.RFC3339), "--deadline", "2s")
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, stderr)
	}
	if took := time.Since(start); took < 5*time.Second || took > 30*time.Second {
		t.Errorf("rolled back after %s, want just past max_unknown (5s)", took)
	}
	lines := strings.Count(out, " window ")
	if lines < 5 || !strings.Contains(out, "window ROLLBACK") || !strings.Contains(out, "window NO-GO") {
		t.Errorf("want one plain line per evaluation, holds then a rollback:\n%s", out)
	}
	if code, out, stderr := gk(t, "replay", dir); code != 0 {
		t.Errorf("replay: exit %d\n%s\n%s", code, out, stderr)
	}
}
