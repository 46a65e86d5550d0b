package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/types"

	"github.com/gatekeeper-dev/gatekeeper/policies"
)

// builtinPrefix names the embedded modules in digests and archives, so that a policy set is
// identified by content and the same everywhere, not by where the binary was built.
const builtinPrefix = "policies/"

// userPrefix names modules loaded with --policies, by their path inside the given directory.
const userPrefix = "user/"

// PolicySet is a set of gate policies: the exact module sources, their digest, and one
// prepared query per gate, compiled and prepared on first use (safe for concurrent use).
//
// A set loaded with LoadPolicies or CompilePolicies compiles every module up front. A set
// loaded with LoadGatePolicies compiles, per gate, only the modules that gate can reach:
// the shared library, the gate's package, every user module and whatever built-in package
// those refer to or extend. Either way the digest covers the whole set.
type PolicySet struct {
	modules map[string]string
	digest  string
	caps    *ast.Capabilities
	// compiler holds every module, when the whole set was compiled; otherwise each gate
	// compiles its own subset.
	compiler *ast.Compiler
	gates    map[Gate]*gateQuery
}

type gateQuery struct {
	once sync.Once
	pq   rego.PreparedEvalQuery
	err  error
}

// The capabilities allow-list is embedded and immutable, so it is parsed once per process.
var loadCapabilities = sync.OnceValues(func() (*ast.Capabilities, error) {
	b, err := fs.ReadFile(policies.FS, "capabilities.json")
	if err != nil {
		return nil, fmt.Errorf("read capabilities: %w", err)
	}
	if caps, ok := capabilitiesByName(b); ok {
		return caps, nil
	}
	caps, err := ast.LoadCapabilitiesJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parse capabilities: %w", err)
	}
	return caps, nil
})

// capabilitiesByName reads capabilities.json by builtin name only and takes each builtin's
// declaration from this OPA version, which is what the file was generated from: decoding
// every declaration's types costs more than the rest of a decision. It reports false when
// the file names a builtin this version lacks; the caller then decodes it in full. A test
// checks that both ways give the same capabilities.
func capabilitiesByName(b []byte) (*ast.Capabilities, bool) {
	var doc struct {
		Builtins []struct {
			Name string `json:"name"`
		} `json:"builtins"`
		FutureKeywords  []string             `json:"future_keywords,omitempty"`
		WasmABIVersions []ast.WasmABIVersion `json:"wasm_abi_versions,omitempty"`
		Features        []string             `json:"features,omitempty"`
		AllowNet        []string             `json:"allow_net,omitempty"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, false
	}
	caps := &ast.Capabilities{
		FutureKeywords: doc.FutureKeywords, WasmABIVersions: doc.WasmABIVersions,
		Features: doc.Features, AllowNet: doc.AllowNet,
	}
	if len(doc.Builtins) > 0 {
		caps.Builtins = make([]*ast.Builtin, 0, len(doc.Builtins))
	}
	for _, d := range doc.Builtins {
		bi, ok := ast.BuiltinMap[d.Name]
		if !ok || bi.Decl == nil {
			return nil, false
		}
		// The JSON form carries no argument names: type errors then read as opa check
		// --capabilities reports them.
		c := *bi
		fa := bi.Decl.FuncArgs()
		if fa.Variadic != nil {
			c.Decl = types.NewVariadicFunction(fa.Args, fa.Variadic, bi.Decl.Result())
		} else {
			c.Decl = types.NewFunction(fa.Args, bi.Decl.Result())
		}
		caps.Builtins = append(caps.Builtins, &c)
	}
	return caps, true
}

// Capabilities returns the allow-list every policy is compiled against.
func Capabilities() (*ast.Capabilities, error) {
	caps, err := loadCapabilities()
	if err != nil {
		return nil, err
	}
	// Callers get their own copy of the lists; the builtin declarations are shared and
	// never modified.
	c := *caps
	c.Builtins = append([]*ast.Builtin(nil), caps.Builtins...)
	return &c, nil
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

func loadModules(userDirs []string) (map[string]string, error) {
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
	return mods, nil
}

// LoadPolicies compiles the built-in policies plus the modules of each user directory, with
// the capabilities allow-list. Each gate's query is prepared on first use.
func LoadPolicies(ctx context.Context, userDirs ...string) (*PolicySet, error) {
	mods, err := loadModules(userDirs)
	if err != nil {
		return nil, err
	}
	return CompilePolicies(ctx, mods)
}

// LoadGatePolicies is LoadPolicies for deciding one gate: it compiles only what that gate
// can reach (the shared library, the gate's package, every user module and the built-in
// packages they refer to or extend) and prepares its query, so a user module that does not
// compile is reported here as LoadPolicies would. Other gates are compiled on first use.
// The digest covers every module, as LoadPolicies' does.
func LoadGatePolicies(ctx context.Context, gate Gate, userDirs ...string) (*PolicySet, error) {
	mods, err := loadModules(userDirs)
	if err != nil {
		return nil, err
	}
	ps, err := newPolicySet(mods)
	if err != nil {
		return nil, err
	}
	if _, err := ps.query(ctx, gate); err != nil {
		return nil, err
	}
	return ps, nil
}

// CompilePolicies compiles an exact module set (for example one restored from an archive).
func CompilePolicies(ctx context.Context, mods map[string]string) (*PolicySet, error) {
	ps, err := newPolicySet(mods)
	if err != nil {
		return nil, err
	}
	parsed, err := parseModules(mods, sortedKeys(mods), ps.caps)
	if err != nil {
		return nil, err
	}
	if ps.compiler, err = compileModules(parsed, ps.caps); err != nil {
		return nil, err
	}
	return ps, nil
}

func newPolicySet(mods map[string]string) (*PolicySet, error) {
	caps, err := Capabilities()
	if err != nil {
		return nil, err
	}
	digest, err := modulesDigest(mods)
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	ps := &PolicySet{modules: mods, digest: digest, caps: caps, gates: map[Gate]*gateQuery{}}
	for _, g := range Gates() {
		ps.gates[g] = &gateQuery{}
	}
	return ps, nil
}

// modulesDigest is Digest(mods), without the detour through encoding/json that Canonical
// takes for a map of strings.
func modulesDigest(mods map[string]string) (string, error) {
	m := make(map[string]any, len(mods))
	for k, v := range mods {
		m[k] = v
	}
	return Digest(m)
}

// parseModules parses the named modules concurrently and reports the first error in name
// order, as parsing them one after the other would.
func parseModules(mods map[string]string, names []string, caps *ast.Capabilities) (map[string]*ast.Module, error) {
	popts := ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: caps, ProcessAnnotation: true}
	out := make([]*ast.Module, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			out[i], errs[i] = ast.ParseModuleWithOpts(name, mods[name], popts)
		})
	}
	wg.Wait()
	parsed := make(map[string]*ast.Module, len(names))
	for i, name := range names {
		if errs[i] != nil {
			return nil, fmt.Errorf("load policies: %w", errs[i])
		}
		parsed[name] = out[i]
	}
	return parsed, nil
}

func compileModules(parsed map[string]*ast.Module, caps *ast.Capabilities) (*ast.Compiler, error) {
	compiler := ast.NewCompiler().WithCapabilities(caps).WithEnablePrintStatements(false)
	compiler.Compile(parsed)
	if compiler.Failed() {
		return nil, fmt.Errorf("load policies: %w%s", compiler.Errors, capsHint(compiler.Errors))
	}
	return compiler, nil
}

var packageLine = regexp.MustCompile(`(?m)^package[ \t]+([A-Za-z_][A-Za-z0-9_.]*)[ \t]*(#.*)?\r?$`)

// gateModules parses and returns the modules deciding gate: the shared library and the
// gate's package, every user module, and, until nothing is added, each built-in module
// whose package lies on the path of a data reference (or a package) of a module already
// taken. Built-in packages are read from their package line; every one of them has one.
func (p *PolicySet) gateModules(gate Gate) (map[string]*ast.Module, error) {
	type builtin struct {
		name string
		pkg  ast.Ref
	}
	var builtins []builtin
	var names []string
	for _, name := range sortedKeys(p.modules) {
		if !strings.HasPrefix(name, builtinPrefix) {
			names = append(names, name)
			continue
		}
		m := packageLine.FindStringSubmatch(p.modules[name])
		var pkg ast.Ref
		if m != nil {
			pkg, _ = ast.ParseRef("data." + m[1])
		}
		if pkg == nil || m[1] == "gatekeeper.lib" || m[1] == "gatekeeper.gates."+gate.Package() {
			// the gate's own modules, or a package line not recognised: always compiled
			names = append(names, name)
			continue
		}
		builtins = append(builtins, builtin{name, pkg})
	}
	parsed := map[string]*ast.Module{}
	for len(names) > 0 {
		batch, err := parseModules(p.modules, names, p.caps)
		if err != nil {
			return nil, err
		}
		var prefixes []ast.Ref
		for name, m := range batch {
			parsed[name] = m
			prefixes = append(prefixes, m.Package.Path)
			ast.WalkRefs(m, func(r ast.Ref) bool {
				if r.HasPrefix(ast.DefaultRootRef) {
					prefixes = append(prefixes, r.GroundPrefix())
				}
				return false
			})
		}
		names = names[:0]
		rest := builtins[:0]
		for _, b := range builtins {
			if slices.ContainsFunc(prefixes, func(r ast.Ref) bool { return r.HasPrefix(b.pkg) || b.pkg.HasPrefix(r) }) {
				names = append(names, b.name)
			} else {
				rest = append(rest, b)
			}
		}
		builtins = rest
	}
	return parsed, nil
}

// query returns the gate's prepared query, compiling and preparing it on first use.
func (p *PolicySet) query(ctx context.Context, gate Gate) (rego.PreparedEvalQuery, error) {
	gq, ok := p.gates[gate]
	if !ok {
		return rego.PreparedEvalQuery{}, fmt.Errorf("evaluate: unknown gate %q", gate)
	}
	gq.once.Do(func() {
		compiler := p.compiler
		if compiler == nil {
			parsed, err := p.gateModules(gate)
			if err != nil {
				gq.err = err
				return
			}
			if compiler, err = compileModules(parsed, p.caps); err != nil {
				gq.err = err
				return
			}
		}
		pkg := "data.gatekeeper.gates." + gate.Package()
		q := fmt.Sprintf("decision := %[1]s.decision; checks := %[1]s.checks; warnings := %[1]s.warnings; complete := %[1]s.complete", pkg)
		gq.pq, gq.err = rego.New(
			rego.Query(q),
			rego.Compiler(compiler),
			rego.Capabilities(p.caps),
			rego.SetRegoVersion(ast.RegoV1),
			rego.StrictBuiltinErrors(true),
		).PrepareForEval(ctx)
		if gq.err != nil {
			gq.err = fmt.Errorf("load policies: prepare gate %s: %w", gate, gq.err)
		}
	})
	return gq.pq, gq.err
}

// Prepare compiles and prepares the queries of the given gates (every gate when none is
// given) now rather than on first use, so a server can fail fast and answer evenly.
func (p *PolicySet) Prepare(ctx context.Context, gates ...Gate) error {
	if len(gates) == 0 {
		gates = Gates()
	}
	for _, g := range gates {
		if _, err := p.query(ctx, g); err != nil {
			return err
		}
	}
	return nil
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
	if _, err := p.query(ctx, gate); err != nil {
		return Result{}, err
	}
	v, err := inputValue(input)
	if err != nil {
		return Result{}, fmt.Errorf("evaluate %s: input: %w", gate, err)
	}
	return p.evaluate(ctx, gate, v)
}

func (p *PolicySet) evaluate(ctx context.Context, gate Gate, v ast.Value) (Result, error) {
	pq, err := p.query(ctx, gate)
	if err != nil {
		return Result{}, err
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

// inputValue converts the policy input for evaluation, as ast.InterfaceToValue does but in
// fewer allocations, and with every number written as the input's canonical JSON writes it
// (RFC 8785: what an archive and --write-input hold): opa eval of that JSON sees the same
// number text, so sprintf renders numbers alike, and whole numbers stay integers, which
// Rego compares and multiplies without big-number arithmetic.
func inputValue(x any) (ast.Value, error) {
	switch x := x.(type) {
	case nil:
		return ast.NullValue, nil
	case bool:
		return ast.Boolean(x), nil
	case string:
		return ast.String(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < maxSafe && (x != 0 || !math.Signbit(x)) {
			return ast.Number(strconv.FormatInt(int64(x), 10)), nil
		}
		s, err := formatNumber(x)
		if err != nil {
			return nil, err
		}
		return ast.Number(s), nil
	case int:
		return ast.Number(strconv.Itoa(x)), nil
	case []any:
		terms := make([]ast.Term, len(x))
		ptrs := make([]*ast.Term, len(x))
		for i, e := range x {
			v, err := inputValue(e)
			if err != nil {
				return nil, err
			}
			terms[i].Value = v
			ptrs[i] = &terms[i]
		}
		return ast.NewArray(ptrs...), nil
	case map[string]any:
		terms := make([]ast.Term, 2*len(x))
		kvs := make([][2]*ast.Term, 0, len(x))
		i := 0
		for k, e := range x {
			v, err := inputValue(e)
			if err != nil {
				return nil, err
			}
			terms[i].Value, terms[i+1].Value = ast.String(k), v
			kvs = append(kvs, [2]*ast.Term{&terms[i], &terms[i+1]})
			i += 2
		}
		return ast.NewObject(kvs...), nil
	}
	return ast.InterfaceToValue(x)
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
