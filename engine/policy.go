package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/gatekeeper-dev/gatekeeper/policies"
)

// builtinPrefix names the embedded modules in digests and archives, so that a policy set is
// identified by content and the same everywhere, not by where the binary was built.
const builtinPrefix = "policies/"

// userPrefix names modules loaded with --policies, by their path inside the given directory.
const userPrefix = "user/"

// PolicySet is a compiled set of gate policies with one prepared query per gate.
type PolicySet struct {
	modules  map[string]string
	digest   string
	caps     *ast.Capabilities
	compiler *ast.Compiler
	prepared map[Gate]rego.PreparedEvalQuery
}

// Capabilities returns the allow-list every policy is compiled against.
func Capabilities() (*ast.Capabilities, error) {
	b, err := fs.ReadFile(policies.FS, "capabilities.json")
	if err != nil {
		return nil, fmt.Errorf("read capabilities: %w", err)
	}
	caps, err := ast.LoadCapabilitiesJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parse capabilities: %w", err)
	}
	return caps, nil
}

// BuiltinModules returns the embedded policy modules (without tests), keyed by archive name.
func BuiltinModules() (map[string]string, error) {
	return readModules(policies.FS, ".", builtinPrefix, false)
}

// ReadModuleDir reads the Rego modules of a directory tree, keyed by prefix plus their path
// inside it; tests are included only when asked for.
func ReadModuleDir(dir, prefix string, tests bool) (map[string]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("read policies %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("read policies %s: not a directory", dir)
	}
	mods, err := readModules(os.DirFS(dir), ".", prefix, tests)
	if err != nil {
		return nil, fmt.Errorf("read policies %s: %w", dir, err)
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("read policies %s: no .rego files", dir)
	}
	return mods, nil
}

func readModules(fsys fs.FS, root, prefix string, tests bool) (map[string]string, error) {
	mods := map[string]string{}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(p) != ".rego" {
			return nil
		}
		if !tests && strings.HasSuffix(p, "_test.rego") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		mods[prefix+p] = string(b)
		return nil
	})
	return mods, err
}

// LoadPolicies compiles the built-in policies plus the modules of each user directory, with
// the capabilities allow-list, and prepares one query per gate.
func LoadPolicies(ctx context.Context, userDirs ...string) (*PolicySet, error) {
	mods, err := BuiltinModules()
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	for _, dir := range userDirs {
		user, err := ReadModuleDir(dir, userPrefix, false)
		if err != nil {
			return nil, err
		}
		for name, src := range user {
			mods[name] = src
		}
	}
	return CompilePolicies(ctx, mods)
}

// CompilePolicies compiles an exact module set (for example one restored from an archive).
func CompilePolicies(ctx context.Context, mods map[string]string) (*PolicySet, error) {
	caps, err := Capabilities()
	if err != nil {
		return nil, err
	}
	popts := ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: caps, ProcessAnnotation: true}
	parsed := make(map[string]*ast.Module, len(mods))
	for _, name := range sortedKeys(mods) {
		m, err := ast.ParseModuleWithOpts(name, mods[name], popts)
		if err != nil {
			return nil, fmt.Errorf("load policies: %w", err)
		}
		parsed[name] = m
	}
	compiler := ast.NewCompiler().WithCapabilities(caps).WithEnablePrintStatements(false)
	compiler.Compile(parsed)
	if compiler.Failed() {
		return nil, fmt.Errorf("load policies: %w%s", compiler.Errors, capsHint(compiler.Errors))
	}
	digest, err := Digest(mods)
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	ps := &PolicySet{modules: mods, digest: digest, caps: caps, compiler: compiler, prepared: map[Gate]rego.PreparedEvalQuery{}}
	for _, g := range Gates() {
		pkg := "data.gatekeeper.gates." + g.Package()
		q := fmt.Sprintf("decision := %[1]s.decision; checks := %[1]s.checks; warnings := %[1]s.warnings; complete := %[1]s.complete", pkg)
		pq, err := rego.New(
			rego.Query(q),
			rego.Compiler(compiler),
			rego.Capabilities(caps),
			rego.SetRegoVersion(ast.RegoV1),
			rego.StrictBuiltinErrors(true),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("load policies: prepare gate %s: %w", g, err)
		}
		ps.prepared[g] = pq
	}
	return ps, nil
}

// capsHint explains the most common compile failure of a user policy: a builtin the
// allow-list removed on purpose, so that decisions stay deterministic and replayable.
func capsHint(errs ast.Errors) string {
	for _, e := range errs {
		if strings.Contains(e.Message, "undefined function") {
			return " (policies may only use the builtins allowed by policies/capabilities.json: no network, clock, randomness or crypto verification)"
		}
	}
	return ""
}

// Digest identifies the policy set: the canonical digest of every module by name.
func (p *PolicySet) Digest() string { return p.digest }

// Modules returns the exact module sources, keyed by name, so an archive can store them.
func (p *PolicySet) Modules() map[string]string { return p.modules }

// Evaluate decides one gate for a prepared policy input.
func (p *PolicySet) Evaluate(ctx context.Context, gate Gate, input map[string]any) (Result, error) {
	pq, ok := p.prepared[gate]
	if !ok {
		return Result{}, fmt.Errorf("evaluate: unknown gate %q", gate)
	}
	v, err := ast.InterfaceToValue(input)
	if err != nil {
		return Result{}, fmt.Errorf("evaluate %s: input: %w", gate, err)
	}
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(v))
	if err != nil {
		return Result{}, fmt.Errorf("evaluate %s: %w", gate, err)
	}
	if len(rs) != 1 {
		return Result{}, fmt.Errorf("evaluate %s: the policies gave no decision (is data.gatekeeper.gates.%s complete?)", gate, gate.Package())
	}
	return decodeResult(gate, rs[0].Bindings)
}

func decodeResult(gate Gate, b rego.Vars) (Result, error) {
	var res Result
	raw, err := jsonRoundTrip(map[string]any{
		"decision": b["decision"], "checks": b["checks"], "warnings": b["warnings"], "complete": b["complete"],
	}, &res)
	if err != nil {
		return Result{}, fmt.Errorf("evaluate %s: decode result: %w (%s)", gate, err, raw)
	}
	switch res.Decision {
	case Go, NoGo, Rollback:
	default:
		return Result{}, fmt.Errorf("evaluate %s: the policies decided %q, not go, no-go or rollback", gate, res.Decision)
	}
	if res.Decision == Go && len(res.Checks) == 0 {
		return Result{}, errors.New("evaluate " + string(gate) + ": go without any check")
	}
	// Policies sort too; sorting here keeps user-added checks deterministic as well.
	sort.SliceStable(res.Checks, func(i, j int) bool { return res.Checks[i].Rule < res.Checks[j].Rule })
	sort.SliceStable(res.Warnings, func(i, j int) bool {
		if res.Warnings[i].Rule != res.Warnings[j].Rule {
			return res.Warnings[i].Rule < res.Warnings[j].Rule
		}
		return res.Warnings[i].Message < res.Warnings[j].Message
	})
	if res.Checks == nil {
		res.Checks = []Check{}
	}
	if res.Warnings == nil {
		res.Warnings = []Warning{}
	}
	return res, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func policiesFS() fs.FS { return policies.FS }
