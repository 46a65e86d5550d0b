package engine

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/types"

	"github.com/gatekeeper-dev/gatekeeper/policies"
)

// TestCapabilitiesByName checks the fast reading of capabilities.json against OPA's own
// loader: same builtins with the same declarations, same features and keywords.
func TestCapabilitiesByName(t *testing.T) {
	b, err := fs.ReadFile(policies.FS, "capabilities.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := ast.LoadCapabilitiesJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := capabilitiesByName(b)
	if !ok {
		t.Fatal("capabilities.json names a builtin this OPA version does not have")
	}
	if len(got.Builtins) != len(want.Builtins) {
		t.Fatalf("%d builtins, want %d", len(got.Builtins), len(want.Builtins))
	}
	for i := range want.Builtins {
		// CanSkipBctx is not part of the JSON: it is what this version knows about its own
		// implementation of the builtin (it needs no builtin context), and only speeds it up.
		// Declarations are compared as types: an empty any<> may be a nil or an empty slice.
		g, w := *got.Builtins[i], *want.Builtins[i]
		w.CanSkipBctx = g.CanSkipBctx
		if types.Compare(g.Decl, w.Decl) != 0 || g.Decl.String() != w.Decl.String() {
			t.Errorf("builtin %s: declaration %v, want %v", w.Name, g.Decl, w.Decl)
		}
		g.Decl, w.Decl = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("builtin %s differs:\n got %+v\nwant %+v", want.Builtins[i].Name, got.Builtins[i], want.Builtins[i])
		}
	}
	got.Builtins, want.Builtins = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("capabilities differ:\n got %+v\nwant %+v", got, want)
	}
	if _, ok := capabilitiesByName([]byte(`{"builtins": [{"name": "no.such.builtin"}]}`)); ok {
		t.Error("an unknown builtin must fall back to the full decoder")
	}
}

// writeModules writes Rego modules into a fresh directory.
func writeModules(t *testing.T, mods map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range mods {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestGateModules checks which modules a gate compiles: the library and its own package,
// every user module, and the built-in packages user modules extend or refer to.
func TestGateModules(t *testing.T) {
	ctx := context.Background()
	names := func(ps *PolicySet, g Gate) []string {
		t.Helper()
		parsed, err := ps.gateModules(g)
		if err != nil {
			t.Fatal(err)
		}
		return sortedKeys(parsed)
	}
	lib := []string{"policies/lib/attest.rego", "policies/lib/checks.rego", "policies/lib/facts.rego", "policies/lib/integrations.rego",
		"policies/lib/integrity.rego", "policies/lib/series.rego", "policies/lib/shape.rego", "policies/lib/shared.rego"}
	ps, err := LoadGatePolicies(ctx, Window)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(ps, Window), append([]string{"policies/gates/window.rego"}, lib...); !slices.Equal(got, want) {
		t.Errorf("window compiles %v, want %v", got, want)
	}
	user := writeModules(t, map[string]string{
		// extends another gate: that gate's built-in module comes along
		"freeze.rego": "package gatekeeper.gates.pre_cutover\n\nfindings contains {\"rule\": \"x\"} if false\n",
		// reads a third gate's documents
		"peek.rego": "package team\n\nimport data.gatekeeper.gates.post_deploy\n\nok if post_deploy.decision == \"go\"\n",
	})
	ps, err = LoadGatePolicies(ctx, Window, user)
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(lib), "policies/gates/post_deploy.rego", "policies/gates/pre_cutover.rego",
		"policies/gates/window.rego", "user/freeze.rego", "user/peek.rego")
	slices.Sort(want)
	if got := names(ps, Window); !slices.Equal(got, want) {
		t.Errorf("window with user modules compiles %v, want %v", got, want)
	}
	// A reference with a variable reaches every package under its ground prefix.
	dyn := writeModules(t, map[string]string{"dyn.rego": "package team\n\nanswers[g] := data.gatekeeper.gates[g].decision if some g in {\"window\"}\n"})
	ps, err = LoadGatePolicies(ctx, Window, dyn)
	if err != nil {
		t.Fatal(err)
	}
	got := names(ps, Window)
	for _, g := range Gates() {
		if m := "policies/gates/" + g.Package() + ".rego"; !slices.Contains(got, m) {
			t.Errorf("a reference to data.gatekeeper.gates[g] does not bring %s: %v", m, got)
		}
	}
	if slices.Contains(got, "policies/main/main.rego") {
		t.Errorf("nothing refers to data.gatekeeper.main: %v", got)
	}
}

// TestGatePoliciesAgree checks that deciding each gate from its own compiled subset gives the
// same digest and the same results as compiling everything.
func TestGatePoliciesAgree(t *testing.T) {
	ctx := context.Background()
	full, err := LoadPolicies(ctx, "../testdata/example/policies")
	if err != nil {
		t.Fatal(err)
	}
	rb, err := LoadRunbook("../testdata/example/runbook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../testdata/example/scenarios/*__*.json")
	if len(files) < 20 {
		t.Fatalf("found %d scenarios", len(files))
	}
	for _, file := range files {
		ff, err := LoadFacts(file)
		if err != nil {
			t.Fatal(err)
		}
		gate := Gate(ff.Gate)
		gp, err := LoadGatePolicies(ctx, gate, "../testdata/example/policies")
		if err != nil {
			t.Fatal(err)
		}
		if gp.Digest() != full.Digest() {
			t.Fatalf("digest %s, want %s", gp.Digest(), full.Digest())
		}
		now, _ := time.Parse(time.RFC3339, ff.Now)
		in, err := BuildInput(rb, Params{Gate: gate, Step: ff.Step, Environment: "production", Now: now,
			CutoverAt: ff.CutoverAt, StepStartedAt: ff.StepStartedAt}, ff.Facts)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Decide(ctx, full, rb, in, "")
		if err != nil {
			t.Fatal(err)
		}
		pin, err := PrepareInput(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecidePrepared(ctx, gp, rb, pin, "")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: gate policies decide\n%+v\nwant\n%+v", filepath.Base(file), got, want)
		}
	}
}

// TestUserPolicyErrorsAtLoad checks that a user module that does not compile fails
// LoadGatePolicies with the message LoadPolicies gives, whichever gate is asked for.
func TestUserPolicyErrorsAtLoad(t *testing.T) {
	ctx := context.Background()
	for _, dir := range []string{"../testdata/badpolicies/syntax", "../testdata/badpolicies/forbidden", "../testdata/badpolicies/clock"} {
		_, want := LoadPolicies(ctx, dir)
		if want == nil {
			t.Fatalf("%s compiles", dir)
		}
		for _, g := range Gates() {
			_, err := LoadGatePolicies(ctx, g, dir)
			if err == nil || err.Error() != want.Error() {
				t.Errorf("%s, gate %s: error %v, want %v", dir, g, err, want)
			}
		}
	}
}

// TestInputValue checks the conversion of the input against OPA's own: the same values,
// with numbers written as canonical JSON writes them.
func TestInputValue(t *testing.T) {
	m := map[string]any{
		"s": "x", "b": true, "n": nil, "i": 3, "big": 1795616100.0, "f": 0.0051, "tiny": 1e-7, "huge": 1e21,
		"neg": -2.5, "zero": 0.0, "list": []any{1.0, "a", map[string]any{"k": []any{}}}, "obj": map[string]any{},
	}
	got, err := inputValue(m)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ast.InterfaceToValue(m)
	if err != nil {
		t.Fatal(err)
	}
	if got.Compare(want) != 0 {
		t.Errorf("converted to\n%v\nwant\n%v", got, want)
	}
	obj := got.(ast.Object)
	for k, text := range map[string]string{"big": "1795616100", "f": "0.0051", "tiny": "1e-7", "huge": "1e+21", "i": "3", "zero": "0"} {
		if n := obj.Get(ast.StringTerm(k)).Value; n.String() != text {
			t.Errorf("%s: %s, want %s", k, n, text)
		}
	}
}

// TestInputMap checks the direct conversion of the input against the JSON round trip.
func TestInputMap(t *testing.T) {
	rb, err := LoadRunbook("../testdata/example/runbook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	step := 25
	in, err := BuildInput(rb, Params{Gate: Canary, Step: &step, Environment: "production", Now: time.Unix(1795615500, 0),
		CutoverAt: "2026-11-25T13:20:00Z"}, map[string]any{"x": map[string]any{"n": 3, "l": []any{1.5, "a", nil, true}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := in.Map()
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if _, err := jsonRoundTrip(in, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Map()\n%v\nwant\n%v", got, want)
	}
	// Anything else takes the round trip, as before.
	in.Facts = map[string]any{"odd": []string{"a"}}
	if _, ok := in.genericMap(); ok {
		t.Error("a []string is not generic JSON")
	}
	if got, err = in.Map(); err != nil || !reflect.DeepEqual(got["facts"], map[string]any{"odd": []any{"a"}}) {
		t.Errorf("Map() = %v, %v", got["facts"], err)
	}
}

// TestPolicySetConcurrentUse prepares every gate from many goroutines at once, as a server
// would on its first requests: each gate is compiled and prepared once, and all agree.
func TestPolicySetConcurrentUse(t *testing.T) {
	ctx := context.Background()
	for _, load := range []func() (*PolicySet, error){
		func() (*PolicySet, error) { return LoadPolicies(ctx) },
		func() (*PolicySet, error) { return LoadGatePolicies(ctx, Window) },
	} {
		ps, err := load()
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4*len(Gates()))
		for range 4 {
			for _, g := range Gates() {
				wg.Go(func() {
					if _, err := ps.Evaluate(ctx, g, map[string]any{"gate": string(g)}); err != nil {
						errs <- err
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if err := ps.Prepare(ctx); err != nil {
			t.Error(err)
		}
	}
}
