package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
