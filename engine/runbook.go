package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
	cuejson "cuelang.org/go/encoding/json"
	cueyaml "cuelang.org/go/encoding/yaml"

	"github.com/gatekeeper-dev/gatekeeper/schemas"
)

// Runbook is a validated, normalized runbook.
type Runbook struct {
	Path          string         // file it was read from
	Source        []byte         // raw bytes as read
	Normalized    []byte         // RFC 8785 canonical JSON of the normalized runbook (defaults filled)
	Value         map[string]any // Normalized as generic JSON: float64, string, bool, map, slice
	Spec          RunbookSpec    // typed view of Value for Go code
	Digest        string         // "sha256:" of Normalized: the runbook_digest of decision records
	SignoffDigest string         // "sha256:" of the canonical normalized runbook without "signoff"

	root ast.Node // parsed source, to locate sign-off problems
}

// RunbookSpec is the typed view of a normalized runbook; see docs/facts.md.
type RunbookSpec struct {
	Service        string             `json:"service"`
	Release        Build              `json:"release"`
	UAT            UATSpec            `json:"uat"`
	RollbackTarget Build              `json:"rollback_target"`
	Commander      string             `json:"commander"`
	OnCall         *OnCall            `json:"on_call,omitempty"`
	KnownIssues    []string           `json:"known_issues,omitempty"`
	Strategy       StrategySpec       `json:"strategy"`
	Window         WindowSpec         `json:"window"`
	Smoke          SmokeSpec          `json:"smoke"`
	Criteria       CriteriaSpec       `json:"criteria"`
	Environments   map[string]EnvSpec `json:"environments"`
	Signoff        *SignoffSpec       `json:"signoff,omitempty"`
	Testing        *TestingSpec       `json:"testing,omitempty"`
}

// TestingSpec holds test-only settings for end-to-end tests on one machine. A production
// pre-cutover gate is no-go while a runbook has them, so they never reach a real launch.
type TestingSpec struct {
	// TimeScale divides the window's duration, interval and max_unknown, every canary
	// bake and the announce lead, in the sequencer and in the policies alike.
	TimeScale int `json:"time_scale"`
}

// Scaled is d as the launch runs it: divided by the runbook's testing.time_scale, if any.
func (s RunbookSpec) Scaled(d time.Duration) time.Duration {
	if s.Testing == nil || s.Testing.TimeScale <= 1 {
		return d
	}
	return d / time.Duration(s.Testing.TimeScale)
}

// Build identifies one build: the release to promote or the rollback target.
type Build struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Image   string `json:"image"`
}

// UATSpec says where the UAT-approved build comes from; exactly one is set.
type UATSpec struct {
	Record   *UATRecord   `json:"record,omitempty"`
	Endpoint *UATEndpoint `json:"endpoint,omitempty"`
}

// UATRecord is a UAT approval document, read from Path or fetched from URL.
type UATRecord struct {
	Path   string `json:"path,omitempty"`
	URL    string `json:"url,omitempty"`
	Format string `json:"format"` // gatekeeper | in-toto
}

// UATEndpoint is the UAT environment's version endpoint and where the build sits in its JSON.
type UATEndpoint struct {
	URL        string `json:"url"`
	CommitPath string `json:"commit_path"`
	ImagePath  string `json:"image_path,omitempty"`
}

// OnCall names who answers during the launch.
type OnCall struct {
	Name    string `json:"name"`
	Contact string `json:"contact,omitempty"`
}

// StrategySpec is how traffic moves to the new build.
type StrategySpec struct {
	Kind  string       `json:"kind"` // big-bang | blue-green | canary
	Steps []CanaryStep `json:"steps,omitempty"`
}

// CanaryStep is one canary traffic share and how long it bakes.
type CanaryStep struct {
	Percent int           `json:"percent"`
	Bake    time.Duration `json:"bake"`
}

// WindowSpec is the post-cutover monitoring window.
type WindowSpec struct {
	Duration   time.Duration `json:"duration"`
	Interval   time.Duration `json:"interval"`
	MaxUnknown time.Duration `json:"max_unknown"`
}

// SmokeSpec is the smoke suite run after deploy.
type SmokeSpec struct {
	Command  []string      `json:"command,omitempty"`
	Reports  []SmokeReport `json:"reports"`
	Budget   time.Duration `json:"budget"`
	Critical []string      `json:"critical"` // exact test names or /regex/
	Checks   []SmokeCheck  `json:"checks"`
}

// SmokeReport is a report file written by the smoke tool.
type SmokeReport struct {
	Path   string `json:"path"`
	Format string `json:"format"` // junit | playwright-json | k6-summary | k6-summary-export
}

// SmokeCheck is a built-in HTTP smoke check: an absolute URL, or a Path
// requested from the origin of every new-cohort instance's health URL.
type SmokeCheck struct {
	Name         string        `json:"name"`
	URL          string        `json:"url,omitempty"`
	Path         string        `json:"path,omitempty"`
	Method       string        `json:"method"`
	ExpectStatus int           `json:"expect_status"`
	ExpectBody   string        `json:"expect_body,omitempty"`
	Timeout      time.Duration `json:"timeout"`
	Critical     bool          `json:"critical"`
}

// CriteriaSpec holds the rollback criteria and how they are measured.
type CriteriaSpec struct {
	ErrorRate     ErrorRateCriterion     `json:"error_rate"`
	LatencyP95    LatencyCriterion       `json:"latency_p95"`
	CoverageRatio float64                `json:"coverage_ratio"`
	MinRequests   int                    `json:"min_requests"`
	Step          time.Duration          `json:"step"`
	ScrapeLag     time.Duration          `json:"scrape_lag"`
	Integrations  []IntegrationCriterion `json:"integrations"`
	DataIntegrity DataIntegrityCriterion `json:"data_integrity"`
}

// ErrorRateCriterion: roll back when the error ratio stays above MaxRatio for Sustained.
type ErrorRateCriterion struct {
	MaxRatio  float64       `json:"max_ratio"`
	Sustained time.Duration `json:"sustained"`
	Query     string        `json:"query,omitempty"`
}

// LatencyCriterion: roll back when p95 exceeds Budget by more than TolerancePct, sustained.
type LatencyCriterion struct {
	Budget       time.Duration `json:"budget"`
	TolerancePct float64       `json:"tolerance_pct"`
	Query        string        `json:"query,omitempty"`
}

// IntegrationCriterion: roll back when a critical integration is down longer than MaxUnavailable.
type IntegrationCriterion struct {
	Name           string        `json:"name"`
	Critical       bool          `json:"critical"`
	MaxUnavailable time.Duration `json:"max_unavailable"`
}

// DataIntegrityCriterion: roll back on integrity violations new since the baseline.
type DataIntegrityCriterion struct {
	RollbackOnNew bool `json:"rollback_on_new"`
}

// EnvSpec is one environment (staging or production) of the runbook.
type EnvSpec struct {
	Name             string                   `json:"-"` // the key in environments
	Prometheus       PrometheusSpec           `json:"prometheus"`
	CohortLabel      string                   `json:"cohort_label"`
	Cohorts          CohortsSpec              `json:"cohorts"`
	Integrations     []IntegrationProbe       `json:"integrations"`
	Database         *DatabaseSpec            `json:"database,omitempty"`
	Notifications    []NotificationSpec       `json:"notifications"`
	Hooks            *HooksSpec               `json:"hooks,omitempty"`
	DeploymentStatus *DeploymentStatusSpec    `json:"deployment_status,omitempty"`
	RehearsalArchive string                   `json:"rehearsal_archive,omitempty"`
	AnnounceLead     time.Duration            `json:"announce_lead"`
	MaxAge           map[string]time.Duration `json:"max_age"` // keyed by fact source
}

// PrometheusSpec is how to reach the environment's Prometheus.
type PrometheusSpec struct {
	URL       string          `json:"url"`
	Auth      *PrometheusAuth `json:"auth,omitempty"`
	TLSCAFile string          `json:"tls_ca_file,omitempty"`
}

// PrometheusAuth names where credentials are, never the credentials.
type PrometheusAuth struct {
	BearerTokenEnv string `json:"bearer_token_env,omitempty"`
	TokenFile      string `json:"token_file,omitempty"`
	Username       string `json:"username,omitempty"`
	PasswordEnv    string `json:"password_env,omitempty"`
}

// CohortsSpec is the new and the old cohort of a launch.
type CohortsSpec struct {
	New Cohort `json:"new"`
	Old Cohort `json:"old"`
}

// Cohort is one set of instances, told apart in Prometheus by LabelValue.
type Cohort struct {
	LabelValue string     `json:"label_value"`
	Replicas   int        `json:"replicas"`
	Instances  []Instance `json:"instances"`
}

// Instance is one instance's version and health endpoints.
type Instance struct {
	Name        string `json:"name"`
	VersionURL  string `json:"version_url"`
	HealthURL   string `json:"health_url"`
	VersionPath string `json:"version_path"` // where the commit sits in the version JSON
	ImagePath   string `json:"image_path"`   // where the image sits in the version JSON
}

// IntegrationProbe is how to probe one integration in an environment.
type IntegrationProbe struct {
	Name              string        `json:"name"`
	URL               string        `json:"url"`
	ExpectStatus      int           `json:"expect_status"`
	Timeout           time.Duration `json:"timeout"`
	AvailabilityQuery string        `json:"availability_query,omitempty"`
}

// DatabaseSpec is the data-integrity source; the DSN comes from DSNEnv.
type DatabaseSpec struct {
	DSNEnv           string           `json:"dsn_env"`
	StatementTimeout time.Duration    `json:"statement_timeout"`
	Migrations       string           `json:"migrations,omitempty"`
	Checks           []IntegrityCheck `json:"checks"`
}

// IntegrityCheck is a query whose rows are integrity violations.
type IntegrityCheck struct {
	Name string `json:"name"`
	SQL  string `json:"sql"`
}

// NotificationSpec is a channel the launch is announced on; its URL comes from URLEnv.
type NotificationSpec struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"` // slack | webhook
	URLEnv string `json:"url_env"`
}

// HooksSpec holds the argv commands a launch runs at each step.
type HooksSpec struct {
	Deploy   []string      `json:"deploy,omitempty"`
	Shift    []string      `json:"shift,omitempty"`
	Switch   []string      `json:"switch,omitempty"` // blue-green: move traffic to the other colour
	Rollback []string      `json:"rollback,omitempty"`
	Smoke    []string      `json:"smoke,omitempty"`
	Timeout  time.Duration `json:"timeout"`
}

// DeploymentStatusSpec says where the deploy hook leaves its status.
type DeploymentStatusSpec struct {
	File string `json:"file,omitempty"`
	Env  string `json:"env,omitempty"`
}

// SignoffSpec is the readiness review's sign-off, bound to SignoffDigest.
type SignoffSpec struct {
	By     []string  `json:"by"`
	At     time.Time `json:"at"`
	Digest string    `json:"digest"`
}

// Env returns the named environment of the runbook.
func (r *Runbook) Env(name string) (EnvSpec, bool) {
	e, ok := r.Spec.Environments[name]
	return e, ok
}

// VerifySignoff reports, as a *ValidationError, a runbook that is not signed
// off or whose signoff.digest is not the digest of its current content.
func (r *Runbook) VerifySignoff() error {
	so := r.Spec.Signoff
	if so == nil {
		return newValidationError(r.Path, []Issue{{File: r.Path, Line: 1, Col: 1, Path: "signoff",
			Msg: "runbook is not signed off: expected signoff {by, at, digest: \"" + r.SignoffDigest + "\"}"}})
	}
	if so.Digest == r.SignoffDigest {
		return nil
	}
	line, col := locate(r.Path, r.root, rawIssue{path: []string{"signoff", "digest"}})
	return newValidationError(r.Path, []Issue{{File: r.Path, Line: line, Col: col, Path: "signoff.digest",
		Msg: fmt.Sprintf("runbook changed since sign-off: expected %s (its current digest), got %s; a changed runbook needs a new sign-off", r.SignoffDigest, so.Digest)}})
}

// LoadRunbook reads and validates a runbook; the format follows the extension
// (.cue, .yaml/.yml, .json). Problems with the content are a *ValidationError;
// a file that cannot be read is reported as the wrapped I/O error.
func LoadRunbook(path string) (*Runbook, error) {
	return (*Validator)(nil).LoadRunbook(path)
}

// ParseRunbook validates data, read from path, against #Runbook and
// normalizes it. Every problem is reported at once in a *ValidationError.
func ParseRunbook(path string, data []byte) (*Runbook, error) {
	return (*Validator)(nil).ParseRunbook(path, data)
}

// Validator validates runbooks and facts files against one compilation of the
// embedded schemas: compiling them costs about as much as validating a
// runbook, so a caller that loads both, as evaluate does, compiles them once.
// A Validator is not safe for concurrent use; the nil *Validator compiles the
// schemas afresh for every file, as LoadRunbook and LoadFacts do.
type Validator struct {
	ctx    *cue.Context
	schema cue.Value
	err    error
}

// NewValidator returns a Validator; the schemas are compiled on first use.
func NewValidator() *Validator { return &Validator{} }

// LoadRunbook is LoadRunbook with the Validator's schemas.
func (vd *Validator) LoadRunbook(path string) (*Runbook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read runbook: %w", err)
	}
	return vd.ParseRunbook(path, data)
}

// ParseRunbook is ParseRunbook with the Validator's schemas.
func (vd *Validator) ParseRunbook(path string, data []byte) (rb *Runbook, err error) {
	defer func() {
		// The CUE evaluator is a large dependency; a crash on odd input
		// must still come out as an error, never take the CLI down.
		if r := recover(); r != nil {
			rb, err = nil, newValidationError(path, []Issue{{File: path, Line: 1, Col: 1, Msg: fmt.Sprintf("internal error while validating: %v", r)}})
		}
	}()
	c, err := newChecker(vd, path, data, "#Runbook")
	if err != nil {
		return nil, err
	}
	v, issues := c.run()
	issues = append(issues, runbookPostChecks(path, c.root, issues)...)
	if len(issues) > 0 {
		return nil, newValidationError(path, issues)
	}
	value, issues := c.export(v)
	if len(issues) > 0 {
		return nil, newValidationError(path, issues)
	}
	rb = &Runbook{Path: path, Source: data, Value: value, root: c.root}
	if rb.Normalized, err = Canonical(value); err != nil {
		return nil, fmt.Errorf("normalize runbook %s: %w", path, err)
	}
	rb.Digest = DigestBytes(rb.Normalized)
	unsigned := maps.Clone(value)
	delete(unsigned, "signoff")
	if rb.SignoffDigest, err = Digest(unsigned); err != nil {
		return nil, fmt.Errorf("digest runbook %s: %w", path, err)
	}
	if err := decodeSpec(value, &rb.Spec); err != nil {
		return nil, fmt.Errorf("decode runbook %s: %w", path, err)
	}
	for name, e := range rb.Spec.Environments {
		e.Name = name
		rb.Spec.Environments[name] = e
	}
	return rb, nil
}

// checker validates one input file against one schema definition.
type checker struct {
	file   string
	data   []byte
	format string // yaml, json or cue
	def    cue.Value
	defSel string
	ctx    *cue.Context
	root   ast.Node // the parsed input, never modified
	// fast lets run validate well-formed JSON without building a syntax tree (see
	// factsjson.go); root then stays nil unless the input is rejected.
	fast bool
	// decoded is a JSON input as read by run (numbers as json.Number, or as decodeJSON
	// gives them): once CUE accepts the input, it is the input's value without an export.
	decoded any
}

func newChecker(v *Validator, file string, data []byte, def string) (*checker, error) {
	c := &checker{file: file, data: data, defSel: def}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".yaml", ".yml":
		c.format = "yaml"
	case ".json":
		c.format = "json"
	case ".cue":
		c.format = "cue"
	default:
		return nil, newValidationError(file, []Issue{{File: file, Line: 1, Col: 1,
			Msg: fmt.Sprintf("unsupported file type %q: expected .cue, .yaml, .yml or .json", filepath.Ext(file))}})
	}
	var schema cue.Value
	if v == nil {
		c.ctx = cuecontext.New()
		s, err := compileSchemas(c.ctx, schemaFiles[def]...)
		if err != nil {
			return nil, err
		}
		schema = s
	} else {
		if v.ctx == nil {
			v.ctx = cuecontext.New()
			v.schema, v.err = compileSchemas(v.ctx)
		}
		if v.err != nil {
			return nil, v.err
		}
		c.ctx, schema = v.ctx, v.schema
	}
	c.def = schema.LookupPath(cue.ParsePath(def))
	if !c.def.Exists() {
		return nil, fmt.Errorf("compile schemas: %s is not defined", def)
	}
	return c, nil
}

// schemaFiles names the files a definition needs, as `cue vet` is given them; others get
// the whole package. #Runbook stands alone: compiling #Facts beside it would only cost time.
var schemaFiles = map[string][]string{"#Runbook": {"runbook.cue"}}

// compileSchemas builds the embedded schemas package, or only the named files of it.
// Each call gets its own cue.Context, which is not safe for concurrent use.
func compileSchemas(ctx *cue.Context, only ...string) (cue.Value, error) {
	inst := build.NewContext().NewInstance("schemas", nil)
	entries, err := fs.ReadDir(schemas.FS, ".")
	if err != nil {
		return cue.Value{}, fmt.Errorf("compile schemas: %w", err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".cue") || len(only) > 0 && !slices.Contains(only, e.Name()) {
			continue
		}
		src, err := fs.ReadFile(schemas.FS, e.Name())
		if err != nil {
			return cue.Value{}, fmt.Errorf("compile schemas: %w", err)
		}
		f, err := parser.ParseFile("schemas/"+e.Name(), src, parser.ParseComments)
		if err != nil {
			return cue.Value{}, fmt.Errorf("compile schemas: %w", err)
		}
		if err := inst.AddSyntax(f); err != nil {
			return cue.Value{}, fmt.Errorf("compile schemas: %w", err)
		}
	}
	v := ctx.BuildInstance(inst)
	if err := v.Err(); err != nil {
		return cue.Value{}, fmt.Errorf("compile schemas: %w", err)
	}
	return v, nil
}

// parse returns a fresh AST of the input; callers may modify it.
func (c *checker) parse() (ast.Node, error) {
	switch c.format {
	case "yaml":
		return cueyaml.Extract(c.file, c.data)
	case "json":
		return cuejson.Extract(c.file, c.data)
	default:
		return parser.ParseFile(c.file, c.data)
	}
}

func (c *checker) build(n ast.Node) cue.Value {
	switch x := n.(type) {
	case *ast.File:
		return c.ctx.BuildFile(x)
	case ast.Expr:
		return c.ctx.BuildExpr(x)
	}
	return c.ctx.CompileString("_|_")
}

// maxRounds bounds re-validation; each round uncovers errors that CUE hides
// behind others, and a file needs about one round per level of nesting at
// which it has problems.
const maxRounds = 8

// run validates the input and returns the unified value, or every issue.
//
// CUE reports only part of the problems at once: a struct holding an invalid
// field skips its closedness check, a missing required field is not reported
// beside other errors, and a check on a struct (exactly one of record or
// endpoint) fails when a member is invalid. So each round reports the
// innermost errors, removes the offending fields (unknown ones) or replaces
// them by top (bad values), and validates again until nothing new appears.
// Errors at or below a replaced field, and incompleteness above it, are
// echoes of what was already reported and are dropped.
func (c *checker) run() (cue.Value, []Issue) {
	if c.format == "json" {
		if c.fast {
			if v, ok := c.runFast(); ok {
				return v, nil
			}
		}
		v, is := jsonSyntax(c.file, c.data)
		if is != nil {
			return cue.Value{}, []Issue{*is}
		}
		c.decoded = v
	}
	root, err := c.parse()
	if err != nil {
		return cue.Value{}, syntaxIssues(c.file, c.data, err)
	}
	c.root = root
	if c.format != "cue" {
		if dups := c.duplicateKeys(root, nil, nil); len(dups) > 0 {
			return cue.Value{}, dups
		}
	}
	var (
		issues   []Issue
		first    cue.Value
		firstErr error
		patched  []patch
	)
	for round := range maxRounds {
		n := root
		if round > 0 {
			if n, err = c.parse(); err != nil {
				break
			}
			for _, p := range patched {
				p.apply(n)
			}
		}
		data := c.build(n)
		if err := data.Err(); err != nil {
			// Conflicts inside a CUE runbook itself, before any schema.
			issues = append(issues, c.issues(cueIssues(err, ""), false)...)
			break
		}
		if k := data.IncompleteKind(); k != cue.StructKind {
			line, col := locate(c.file, c.root, rawIssue{})
			issues = append(issues, Issue{File: c.file, Line: line, Col: col, Msg: fmt.Sprintf("expected an object at the top level, got %v", k)})
			break
		}
		v := c.def.Unify(data)
		if round == 0 {
			first = v
		}
		err := v.Validate(cue.Concrete(true), cue.Final())
		if err == nil {
			break
		}
		if round == 0 {
			firstErr = err
		}
		raws := c.schemaPaths(cueIssues(err, c.defSel))
		if round > 0 {
			raws = slices.DeleteFunc(raws, func(r rawIssue) bool { return echo(r, patched) })
		}
		// An error above another one may only be its consequence; if it is
		// real it shows again once the inner one is patched.
		inner, outer := splitOuter(raws)
		grew := false
		for _, r := range inner {
			if len(r.path) == 0 || slices.ContainsFunc(patched, func(p patch) bool { return slices.Equal(p.path, r.path) }) {
				continue
			}
			if _, depth := lookupNode(root, r.path); depth < len(r.path) {
				continue
			}
			patched = append(patched, patch{path: r.path, remove: r.msg == "field not allowed"})
			grew = true
		}
		issues = append(issues, c.issues(inner, true)...)
		if !grew {
			issues = append(issues, c.issues(outer, true)...)
			break
		}
	}
	if len(issues) == 0 && firstErr != nil {
		// Never let a value CUE rejected pass because its errors were
		// filtered away as echoes.
		issues = append(issues, Issue{File: c.file, Line: 1, Col: 1, Msg: firstErr.Error()})
	}
	if len(issues) > 0 {
		return cue.Value{}, underUnknown(issues)
	}
	return first, nil
}

// runFast validates JSON read by decodeJSON and encoded straight into a CUE value, and
// reports false for anything but an accepted object; run then validates it again the usual
// way, for located error messages.
func (c *checker) runFast() (cue.Value, bool) {
	tree, ok := decodeJSON(c.data)
	if !ok {
		return cue.Value{}, false
	}
	if _, ok := tree.(map[string]any); !ok {
		return cue.Value{}, false
	}
	data := c.ctx.Encode(tree)
	if data.Err() != nil {
		return cue.Value{}, false
	}
	v := c.def.Unify(data)
	if err := v.Validate(cue.Concrete(true), cue.Final()); err != nil {
		return cue.Value{}, false
	}
	c.decoded = tree
	return v, true
}

// splitOuter separates errors whose path lies above another error's path.
func splitOuter(raws []rawIssue) (inner, outer []rawIssue) {
	for _, r := range raws {
		if slices.ContainsFunc(raws, func(o rawIssue) bool { return len(o.path) > len(r.path) && hasPrefix(o.path, r.path) }) {
			outer = append(outer, r)
		} else {
			inner = append(inner, r)
		}
	}
	return inner, outer
}

var requiredMissing = regexp.MustCompile(`^required field missing: (\S+)$`)

// schemaPaths rewrites errors raised inside the schema's own helpers (let
// bindings, which are not fields) onto the field they are about, and drops
// those that merely repeat an error reported on a real field.
func (c *checker) schemaPaths(raws []rawIssue) []rawIssue {
	real := map[string]bool{}
	// Unknown fields are not in the schema either, but they are in the data.
	helper := func(path []string) bool {
		if schemaHas(c.def, path) {
			return false
		}
		_, depth := lookupNode(c.root, path)
		return depth < len(path)
	}
	for i, r := range raws {
		if !helper(r.path) {
			if m := requiredMissing.FindStringSubmatch(r.msg); m != nil {
				// A schema comprehension read a missing required field.
				raws[i].path = append(slices.Clip(r.path), m[1])
				raws[i].msg = "field is required but not present"
				continue
			}
			real[r.msg] = true
			continue
		}
		base := r.path
		for len(base) > 0 && !schemaHas(c.def, base) {
			base = base[:len(base)-1]
		}
		raws[i].helper, raws[i].base = true, base
		if m := requiredMissing.FindStringSubmatch(r.msg); m != nil {
			raws[i].path = append(slices.Clip(base), m[1])
			raws[i].msg = "field is required but not present"
		}
	}
	// A helper failing beside a real error in the same struct (ParseDuration
	// of an invalid duration) adds nothing; alone, it is shown on the struct.
	out := raws[:0]
	for _, r := range raws {
		if r.helper && r.msg != "field is required but not present" {
			if real[r.msg] || slices.ContainsFunc(raws, func(o rawIssue) bool { return !o.helper && hasPrefix(o.path, r.base) }) {
				continue
			}
			r.path = r.base
		}
		out = append(out, r)
	}
	return out
}

// echo reports whether a later round's error only restates a patched one: it
// is at or below a patched field, above one (checks on a struct, such as
// exactly-one-of, see a patched member as missing), or a schema helper
// computed it from the patched field's surroundings.
//
// An unknown field is a fact about the data, not a consequence: it is never
// an echo unless it lies inside a field already removed.
func echo(r rawIssue, patched []patch) bool {
	for _, p := range patched {
		if r.msg == "field not allowed" {
			if p.remove && hasPrefix(r.path, p.path) {
				return true
			}
			continue
		}
		if hasPrefix(r.path, p.path) || hasPrefix(p.path, r.path) || r.helper && hasPrefix(p.path, r.base) {
			return true
		}
	}
	return false
}

// underUnknown drops issues inside a field that is itself unknown: with no
// schema there, whatever CUE says about its contents is noise.
func underUnknown(issues []Issue) []Issue {
	var unknown []string
	for _, is := range issues {
		if strings.HasPrefix(is.Msg, "field not allowed") {
			unknown = append(unknown, is.Path)
		}
	}
	return slices.DeleteFunc(issues, func(is Issue) bool {
		return slices.ContainsFunc(unknown, func(u string) bool {
			return strings.HasPrefix(is.Path, u+".") || strings.HasPrefix(is.Path, u+"[")
		})
	})
}

func hasPrefix(path, prefix []string) bool {
	return len(path) >= len(prefix) && slices.Equal(path[:len(prefix)], prefix)
}

// issues locates raw CUE issues in the input and, for schema errors (not
// conflicts within a CUE runbook itself), words them as expectations.
func (c *checker) issues(raws []rawIssue, schema bool) []Issue {
	type group struct {
		path []string
		msgs []string
		pos  []token.Pos
	}
	var groups []*group
	byPath := map[string]*group{}
	for _, r := range raws {
		k := strings.Join(r.path, "\x00")
		g := byPath[k]
		if g == nil {
			g = &group{path: r.path}
			byPath[k] = g
			groups = append(groups, g)
		}
		g.msgs = append(g.msgs, r.msg)
		g.pos = append(g.pos, r.pos...)
	}
	var out []Issue
	for _, g := range groups {
		lit := ""
		if n, depth := lookupNode(c.root, g.path); depth == len(g.path) {
			if f, ok := n.(*ast.Field); ok {
				n = f.Value
			}
			if b, ok := n.(*ast.BasicLit); ok {
				lit = b.Value
			}
		}
		msgs := g.msgs
		if schema {
			msgs = tidy(g.path, g.msgs, lit, func() []string { return allowedLabels(c.def, g.path[:max(len(g.path)-1, 0)]) })
		}
		line, col := locate(c.file, c.root, rawIssue{path: g.path, msg: strings.Join(g.msgs, "\n"), pos: g.pos})
		for _, m := range msgs {
			if slices.Contains(g.msgs, "field not allowed") {
				// Unknown fields are located at their name, not their value.
				if n, depth := lookupNode(c.root, g.path); depth == len(g.path) {
					if p := nodePos(n, true); p.IsValid() {
						line, col = p.Line(), p.Column()
					}
				}
			}
			line, col := c.unquoteCol(line, col)
			out = append(out, Issue{File: c.file, Line: line, Col: col, Path: pathString(g.path), Msg: m})
		}
	}
	return out
}

// unquoteCol moves a position that points just inside a JSON key's opening
// quote onto the quote: encoding/json turns such keys into identifiers
// positioned after it.
func (c *checker) unquoteCol(line, col int) (int, int) {
	if c.format != "json" || col < 2 {
		return line, col
	}
	start := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(c.data[start:], '\n')
		if i < 0 {
			return line, col
		}
		start += i + 1
	}
	if off := start + col - 2; off < len(c.data) && c.data[off] == '"' && (off+1 >= len(c.data) || c.data[off+1] != '"') {
		return line, col - 1
	}
	return line, col
}

// patch neutralizes one offending field for the next validation round.
type patch struct {
	path   []string
	remove bool // unknown fields are removed; bad values become top (_)
}

func (p patch) apply(root ast.Node) {
	if len(p.path) == 0 {
		return
	}
	parent, depth := lookupNode(root, p.path[:len(p.path)-1])
	if depth < len(p.path)-1 {
		return
	}
	last := p.path[len(p.path)-1]
	top := ast.NewIdent("_")
	if l, ok := parent.(*ast.Field); ok {
		parent = l.Value
	}
	switch x := parent.(type) {
	case *ast.ListLit:
		if i, err := strconv.Atoi(last); err == nil && i >= 0 && i < len(x.Elts) {
			x.Elts[i] = top
		}
	case *ast.StructLit:
		x.Elts = patchDecls(x.Elts, last, p.remove, top)
	case *ast.File:
		x.Decls = patchDecls(x.Decls, last, p.remove, top)
	}
}

func patchDecls(decls []ast.Decl, name string, remove bool, top ast.Expr) []ast.Decl {
	name = unquotePath(name)
	out := decls[:0]
	for _, d := range decls {
		if f, ok := d.(*ast.Field); ok {
			if l, ok := label(f); ok && l == name {
				if remove {
					continue
				}
				f.Value = top
			}
		}
		out = append(out, d)
	}
	return out
}

// duplicateKeys rejects repeated keys in JSON and YAML, where the last one
// would otherwise silently win (CUE would unify them instead).
func (c *checker) duplicateKeys(n ast.Node, path []string, out []Issue) []Issue {
	fields, elems, _ := fieldsOf(n)
	seen := map[string]bool{}
	for _, f := range fields {
		l, ok := label(f)
		if !ok {
			continue
		}
		p := append(slices.Clip(path), quoteLabel(l))
		if seen[l] {
			pos := f.Label.Pos()
			line, col := c.unquoteCol(pos.Line(), pos.Column())
			out = append(out, Issue{File: c.file, Line: line, Col: col, Path: pathString(p), Msg: fmt.Sprintf("duplicate key %q", l)})
		}
		seen[l] = true
		out = c.duplicateKeys(f.Value, p, out)
	}
	for i, e := range elems {
		out = c.duplicateKeys(e, append(slices.Clip(path), strconv.Itoa(i)), out)
	}
	return out
}

// jsonSyntax reports the first JSON syntax error with its line and column;
// NaN and Infinity literals are not JSON and are reported here. Otherwise it
// returns the decoded value, with numbers as json.Number.
func jsonSyntax(file string, data []byte) (any, *Issue) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	if err == nil {
		rest := data[d.InputOffset():]
		if trimmed := bytes.TrimLeft(rest, " \t\r\n"); len(trimmed) > 0 {
			line, col := lineCol(data, len(data)-len(trimmed))
			return nil, &Issue{File: file, Line: line, Col: col, Msg: "invalid JSON: unexpected data after the top-level value"}
		}
		return v, nil
	}
	off := len(data)
	if se, ok := err.(*json.SyntaxError); ok {
		off = int(se.Offset) - 1
	}
	line, col := lineCol(data, off)
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if err.Error() == "unexpected EOF" || err.Error() == "EOF" {
		msg = "unexpected end of JSON input"
	}
	return nil, &Issue{File: file, Line: line, Col: col, Msg: "invalid JSON: " + msg}
}

// lineCol converts a byte offset into a 1-based line and column (in bytes,
// as CUE positions are).
func lineCol(data []byte, off int) (int, int) {
	off = max(0, min(off, len(data)))
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// export turns a validated value into generic JSON with float64 numbers.
func (c *checker) export(v cue.Value) (map[string]any, []Issue) {
	b, err := v.MarshalJSON()
	if err != nil {
		return nil, c.issues(cueIssues(err, c.defSel), true)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var g any
	if err := d.Decode(&g); err != nil {
		return nil, []Issue{{File: c.file, Line: 1, Col: 1, Msg: "cannot export: " + err.Error()}}
	}
	var issues []Issue
	g = floats(g, nil, func(path []string, n json.Number) {
		line, col := locate(c.file, c.root, rawIssue{path: path})
		issues = append(issues, Issue{File: c.file, Line: line, Col: col, Path: pathString(path),
			Msg: fmt.Sprintf("number %s is out of range for a JSON number (IEEE 754 double)", n)})
	})
	m, ok := g.(map[string]any)
	if !ok && len(issues) == 0 {
		issues = append(issues, Issue{File: c.file, Line: 1, Col: 1, Msg: "expected an object at the top level"})
	}
	if len(issues) > 0 {
		return nil, issues
	}
	return m, nil
}

// decodedValue returns a JSON input that CUE accepted as generic JSON with
// float64 numbers, read from the input itself: for a schema that adds no
// values (no defaults), that is what export returns, without its cost. It
// reports false when the input is not an object or holds a number a double
// cannot; export then reports it.
func (c *checker) decodedValue() (map[string]any, bool) {
	m, ok := c.decoded.(map[string]any)
	c.decoded = nil // converted in place: not to be used twice
	if !ok {
		return nil, false
	}
	if _, ok := jsonFloats(m); !ok {
		return nil, false
	}
	return m, true
}

// floats replaces json.Number by float64, the number type policies and
// Canonical agree on, calling bad for numbers a double cannot hold.
func floats(v any, path []string, bad func([]string, json.Number)) any {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			bad(slices.Clone(path), x)
			return nil
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = floats(e, append(slices.Clip(path), k), bad)
		}
	case []any:
		for i, e := range x {
			x[i] = floats(e, append(slices.Clip(path), strconv.Itoa(i)), bad)
		}
	}
	return v
}

var (
	credentialURL = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s/?#@:]*:[^\s/?#@]*@`)
	dsnPassword   = regexp.MustCompile(`(?i)(^|[\s;])password\s*=\s*[^\s;]`)
)

// runbookPostChecks are the checks CUE cannot express on every string: no
// credentials anywhere in the runbook, and /regex/ smoke names that compile.
func runbookPostChecks(file string, root ast.Node, have []Issue) []Issue {
	if root == nil {
		return nil
	}
	reported := map[string]bool{}
	for _, is := range have {
		reported[is.Path] = true
	}
	var out []Issue
	add := func(path []string, lit *ast.BasicLit, msg string) {
		ps := pathString(path)
		if reported[ps] {
			return
		}
		reported[ps] = true
		p := lit.Pos()
		out = append(out, Issue{File: file, Line: p.Line(), Col: p.Column(), Path: ps, Msg: msg})
	}
	walkStrings(root, nil, func(path []string, lit *ast.BasicLit, s string) {
		last := ""
		if len(path) > 0 {
			last = path[len(path)-1]
		}
		switch {
		case credentialURL.MatchString(s):
			add(path, lit, "must not contain credentials (user:pass@); secrets must be given by environment variable name (e.g. bearer_token_env)")
		case last != "sql" && dsnPassword.MatchString(s):
			add(path, lit, "must not contain a password; secrets must be given by environment variable name (e.g. dsn_env)")
		case len(path) == 3 && path[0] == "smoke" && path[1] == "critical" && len(s) >= 2 && strings.HasPrefix(s, "/") && strings.HasSuffix(s, "/"):
			if _, err := regexp.Compile(s[1 : len(s)-1]); err != nil {
				add(path, lit, "expected a valid /regex/ (RE2 syntax): "+err.Error())
			}
		}
	})
	return out
}

// walkStrings calls fn for every string literal in data with its path.
func walkStrings(n ast.Node, path []string, fn func([]string, *ast.BasicLit, string)) {
	if lit, ok := n.(*ast.BasicLit); ok {
		if lit.Kind == token.STRING {
			if s, err := literal.Unquote(lit.Value); err == nil {
				fn(path, lit, s)
			}
		}
		return
	}
	if f, ok := n.(*ast.Field); ok {
		walkStrings(f.Value, path, fn)
		return
	}
	fields, elems, _ := fieldsOf(n)
	for _, f := range fields {
		if l, ok := label(f); ok {
			walkStrings(f.Value, append(slices.Clip(path), quoteLabel(l)), fn)
		}
	}
	for i, e := range elems {
		walkStrings(e, append(slices.Clip(path), strconv.Itoa(i)), fn)
	}
}

var durationType = reflect.TypeFor[time.Duration]()

// decodeSpec fills a typed spec from normalized JSON; duration strings,
// already validated by the schema, become time.Duration.
func decodeSpec(v map[string]any, out any) error {
	conv, err := durations(reflect.TypeOf(out).Elem(), v)
	if err != nil {
		return err
	}
	b, err := json.Marshal(conv)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func durations(t reflect.Type, v any) (any, error) {
	if t == durationType {
		s, ok := v.(string)
		if !ok {
			return v, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, err
		}
		return int64(d), nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return durations(t.Elem(), v)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		out := make(map[string]any, len(m))
		maps.Copy(out, m)
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if e, ok := m[name]; ok && name != "" && name != "-" {
				c, err := durations(f.Type, e)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				out[name] = c
			}
		}
		return out, nil
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			return v, nil
		}
		out := make([]any, len(l))
		for i, e := range l {
			c, err := durations(t.Elem(), e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = c
		}
		return out, nil
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			c, err := durations(t.Elem(), e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = c
		}
		return out, nil
	}
	return v, nil
}
