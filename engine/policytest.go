package engine

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestCase is the outcome of one Rego test, in the flat shape renderers need.
type TestCase struct {
	Package  string        `json:"package"`
	Name     string        `json:"name"`
	File     string        `json:"file"`
	Line     int           `json:"line"`
	Pass     bool          `json:"pass"`
	Skip     bool          `json:"skip,omitempty"`
	Error    string        `json:"error,omitempty"`
	Output   string        `json:"output,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// TestReport is a whole policy test run with its coverage.
type TestReport struct {
	Cases    []TestCase `json:"cases"`
	Coverage float64    `json:"coverage,omitempty"`
	// Uncovered lists file:line of every module line the tests never evaluated.
	Uncovered []string `json:"uncovered,omitempty"`
}

// Passed and Failed count test cases; skipped cases count as neither.
func (r *TestReport) Passed() int { return r.count(func(c TestCase) bool { return c.Pass && !c.Skip }) }

// Failed counts failing or erroring cases.
func (r *TestReport) Failed() int {
	return r.count(func(c TestCase) bool { return !c.Pass && !c.Skip })
}

func (r *TestReport) count(f func(TestCase) bool) int {
	n := 0
	for _, c := range r.Cases {
		if f(c) {
			n++
		}
	}
	return n
}

// ExitCode follows `opa test`: 0 when every test passed, 2 when any failed.
func (r *TestReport) ExitCode() int {
	if r.Failed() > 0 {
		return 2
	}
	return 0
}

// RunPolicyTests runs the Rego tests of the given modules (tests included) through OPA's
// tester with the capabilities allow-list, as `opa test` does; with coverage it also traces
// which lines ran, as `opa test --coverage` does (several times slower).
func RunPolicyTests(ctx context.Context, mods map[string]string, coverage bool) (*TestReport, error) {
	caps, err := Capabilities()
	if err != nil {
		return nil, err
	}
	popts := ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: caps, ProcessAnnotation: true}
	parsed := make(map[string]*ast.Module, len(mods))
	for _, name := range sortedKeys(mods) {
		m, err := ast.ParseModuleWithOpts(name, mods[name], popts)
		if err != nil {
			return nil, fmt.Errorf("test policies: %w", err)
		}
		parsed[name] = m
	}
	store := inmem.New()
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, fmt.Errorf("test policies: %w", err)
	}
	defer store.Abort(ctx, txn)
	compiler := ast.NewCompiler().WithCapabilities(caps).WithEnablePrintStatements(true)
	runner := tester.NewRunner().
		SetCompiler(compiler).
		SetStore(store).
		CapturePrintOutput(true).
		SetModules(parsed).
		SetTimeout(2 * time.Minute)
	var cov *cover.Cover
	if coverage {
		cov = cover.New()
		runner = runner.SetCoverageQueryTracer(cov)
	}
	ch, err := runner.RunTests(ctx, txn)
	if err != nil {
		return nil, fmt.Errorf("test policies: %w", err)
	}
	rep := &TestReport{}
	for r := range ch {
		tc := TestCase{Package: r.Package, Name: r.Name, Pass: r.Pass(), Skip: r.Skip, Output: string(r.Output), Duration: r.Duration}
		if r.Location != nil {
			tc.File, tc.Line = r.Location.File, r.Location.Row
		}
		if r.Error != nil {
			tc.Error = r.Error.Error()
		}
		rep.Cases = append(rep.Cases, tc)
	}
	sort.SliceStable(rep.Cases, func(i, j int) bool {
		if rep.Cases[i].File != rep.Cases[j].File {
			return rep.Cases[i].File < rep.Cases[j].File
		}
		return rep.Cases[i].Line < rep.Cases[j].Line
	})
	if cov == nil {
		return rep, nil
	}
	// Coverage is over the modules under test only, as `opa test --coverage` reports it.
	cr := cov.Report(parsed)
	rep.Coverage = cr.Coverage
	for _, file := range sortedKeys(cr.Files) {
		for _, rng := range cr.Files[file].NotCovered {
			for row := rng.Start.Row; row <= rng.End.Row; row++ {
				rep.Uncovered = append(rep.Uncovered, fmt.Sprintf("%s:%d", file, row))
			}
		}
	}
	return rep, nil
}

// BuiltinModulesWithTests returns the embedded policies including their tests.
func BuiltinModulesWithTests() (map[string]string, error) {
	return readModules(policiesFS(), ".", builtinPrefix, true)
}
