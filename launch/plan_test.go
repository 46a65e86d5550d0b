package launch

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestWritePlanGolden(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, runbook, env, golden string }{
		{name: "canary production", runbook: "../testdata/example/runbook.yaml", env: "production", golden: "plan-canary.golden"},
		{name: "canary staging", runbook: "../testdata/example/runbook.yaml", env: "staging", golden: "plan-canary-staging.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rb, err := engine.LoadRunbook(tt.runbook)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := WritePlan(&b, rb, tt.env, "", "archives/shop"); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				t.Errorf("plan differs from %s (go test -update rewrites it):\n%s", path, b.String())
			}
		})
	}
}

func TestWritePlanShowsTestSettingsAndScales(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rb := writeRunbook(t, dir, filepath.Join(dir, "log"), rbParams{Hooks: allHooks, Env: "staging", Extra: "testing: {time_scale: 60}\n",
		Strategy: "  kind: blue-green"})
	var b bytes.Buffer
	if err := WritePlan(&b, rb, "staging", "", "a"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TEST SETTINGS: testing.time_scale 60", "until cutover + 30s", "every 1s", "more than 5s rolls back",
		"check old colour \"stable\" is warm", "no switch hook", "announcement delivered 24m0s before cutover"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, b.String())
		}
	}
	if err := WritePlan(&b, rb, "qa", "", "a"); err == nil {
		t.Error("plan for an environment the runbook lacks: no error")
	}
	if got := rb.Spec.Scaled(30 * time.Minute); got != 30*time.Second {
		t.Errorf("Scaled(30m) = %s", got)
	}
}
