package engine

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// provenanceOnly are the fact fields that describe how a fact was gathered rather than what
// was observed; the policies may ignore them, so removing one need not change the decision.
var provenanceOnly = []string{"query", "url", "path", "duration_ms", "start", "end", "step"}

// descriptive are observed fields the policies deliberately do not decide on, each with why.
var descriptive = map[string]string{
	"integrity_baseline.migrations": "the baseline compares violation counts; migration state is judged on the current run",
	"deployment.detail":             "free text for people",
	"deployment.finished_at":        "the deployment status decides; the cutover time is input.cutover_at",
	"rehearsal.finished_at":         "the rehearsal's outcome, commit and image decide, not when it ended",
	"rehearsal.launch_id":           "names the rehearsal archive for people; commit and image identify the build",
}

// TestMutationsNeverGo removes, one at a time, every fact and every observed field of every
// fact from each healthy scenario of the example launch, through the whole engine, and asserts
// the gate is never go: a renamed or missing fact path must not silently pass.
func TestMutationsNeverGo(t *testing.T) {
	ctx := context.Background()
	rb, err := LoadRunbook("../testdata/example/runbook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := LoadPolicies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../testdata/example/scenarios/healthy__*.json")
	if err != nil || len(files) < 7 {
		t.Fatalf("want the 7 healthy scenarios, found %d (%v)", len(files), err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			ff, err := LoadFacts(file)
			if err != nil {
				t.Fatal(err)
			}
			gate, err := ParseGate(ff.Gate)
			if err != nil {
				t.Fatal(err)
			}
			decide := func(facts map[string]any) Outcome {
				t.Helper()
				now, err := time.Parse(time.RFC3339, ff.Now)
				if err != nil {
					t.Fatal(err)
				}
				in, err := BuildInput(rb, Params{Gate: gate, Step: ff.Step, Environment: "production", Now: now,
					CutoverAt: ff.CutoverAt, StepStartedAt: ff.StepStartedAt}, facts)
				if err != nil {
					t.Fatal(err)
				}
				m, err := in.Map()
				if err != nil {
					t.Fatal(err)
				}
				res, err := ps.Evaluate(ctx, gate, m)
				if err != nil {
					t.Fatal(err)
				}
				return res.Decision
			}
			if got := decide(ff.Facts); got != Go {
				t.Fatalf("the healthy scenario decides %s, want go", got)
			}
			mutations := 0
			for _, name := range sortedKeys(ff.Facts) {
				if name != "history" { // optional: only extends how long a criterion was unknown
					mutations++
					if got := decide(without(ff.Facts, name, "")); got == Go {
						t.Errorf("removing fact %s still decides go", name)
					}
					renamed := without(ff.Facts, name, "")
					renamed[strings.ToUpper(name)] = ff.Facts[name]
					if got := decide(renamed); got == Go {
						t.Errorf("renaming fact %s still decides go", name)
					}
				}
				fact, _ := ff.Facts[name].(map[string]any)
				for _, field := range sortedKeys(fact) {
					if _, ok := descriptive[name+"."+field]; ok || slices.Contains(provenanceOnly, field) || name == "history" {
						continue
					}
					mutations++
					if got := decide(without(ff.Facts, name, field)); got == Go {
						t.Errorf("removing %s.%s still decides go", name, field)
					}
				}
			}
			t.Logf("%d mutations tried", mutations)
		})
	}
}

// without copies facts with one fact, or one field of it, removed.
func without(facts map[string]any, name, field string) map[string]any {
	out := make(map[string]any, len(facts))
	for k, v := range facts {
		out[k] = v
	}
	if field == "" {
		delete(out, name)
		return out
	}
	fact := map[string]any{}
	for k, v := range facts[name].(map[string]any) {
		if k != field {
			fact[k] = v
		}
	}
	out[name] = fact
	return out
}
