package prometheus

import (
	"encoding/json"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/collectortest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// now is the fixed time of the example launch's window gate.
var now = time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC)

// cutover is the example launch's cutover.
var cutover = time.Date(2026, 11, 25, 13, 20, 0, 0, time.UTC)

var (
	exampleOnce sync.Once
	example     *engine.Runbook
	exampleErr  error
)

// exampleRunbook returns a copy of testdata/example/runbook.yaml whose production environment
// edit has changed; the criteria and the rest come from the example.
func exampleRunbook(t testing.TB, edit func(*engine.RunbookSpec, *engine.EnvSpec)) *engine.Runbook {
	t.Helper()
	exampleOnce.Do(func() { example, exampleErr = engine.LoadRunbook("../../testdata/example/runbook.yaml") })
	if exampleErr != nil {
		t.Fatalf("load example runbook: %v", exampleErr)
	}
	b, err := json.Marshal(example.Spec)
	if err != nil {
		t.Fatal(err)
	}
	var spec engine.RunbookSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	spec.Environments = maps.Clone(spec.Environments)
	for name, e := range spec.Environments {
		e.Name = name
		spec.Environments[name] = e
	}
	env := spec.Environments["production"]
	if edit != nil {
		edit(&spec, &env)
	}
	spec.Environments["production"] = env
	return &engine.Runbook{Path: example.Path, Spec: spec}
}

// secretEnv is a lookup that knows only the example's SHOP_PROM_TOKEN, holding the kit's secret.
func secretEnv(name string) (string, bool) {
	if name == "SHOP_PROM_TOKEN" {
		return collectortest.Secret, true
	}
	return "", false
}

func intp(i int) *int { return &i }

func ts(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// samplesOf returns the samples of a series fact as (time, value) pairs.
func samplesOf(t testing.TB, f engine.Fact) []pair {
	t.Helper()
	raw, ok := f.Data["samples"].([]any)
	if !ok {
		t.Fatalf("fact has no samples: %+v", f)
	}
	out := make([]pair, 0, len(raw))
	for _, s := range raw {
		p := s.([]any)
		out = append(out, pair{T: time.UnixMilli(int64(p[0].(float64) * 1000)).UTC(), V: p[1].(string)})
	}
	return out
}

type pair struct {
	T time.Time
	V string
}

func (p pair) float(t testing.TB) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(p.V, 64)
	if err != nil {
		t.Fatalf("sample value %q: %v", p.V, err)
	}
	return f
}

// schemaFacts drops integration_availability, which #Facts does not know yet.
func schemaFacts(facts map[string]engine.Fact) map[string]engine.Fact {
	out := maps.Clone(facts)
	delete(out, FactIntegrationAvailability)
	return out
}
