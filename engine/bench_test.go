package engine

import (
	"context"
	"testing"
	"time"
)

// BenchmarkEvaluate measures one gate decision in process after preparation: the policies are
// compiled and the queries prepared once, as evaluate, watch and serve use them.
func BenchmarkEvaluate(b *testing.B) {
	for _, bc := range []struct {
		name, facts string
		gate        Gate
		step        *int
	}{
		{"window", "../testdata/example/scenarios/healthy__window.json", Window, nil},
		{"pre-cutover", "../testdata/example/scenarios/healthy__pre-cutover.json", PreCutover, nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			rb, err := LoadRunbook("../testdata/example/runbook.yaml")
			if err != nil {
				b.Fatal(err)
			}
			ff, err := LoadFacts(bc.facts)
			if err != nil {
				b.Fatal(err)
			}
			now, _ := time.Parse(time.RFC3339, ff.Now)
			in, err := BuildInput(rb, Params{Gate: bc.gate, Environment: "production", Now: now, CutoverAt: ff.CutoverAt}, ff.Facts)
			if err != nil {
				b.Fatal(err)
			}
			m, err := in.Map()
			if err != nil {
				b.Fatal(err)
			}
			ps, err := LoadPolicies(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res, err := ps.Evaluate(ctx, bc.gate, m)
				if err != nil || res.Decision != Go {
					b.Fatalf("decision %v, err %v", res.Decision, err)
				}
			}
		})
	}
}
