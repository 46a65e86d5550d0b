package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Input is DESIGN.md's policy input: the one contract every evaluator sees.
type Input struct {
	Gate          Gate           `json:"gate"`
	Step          *int           `json:"step,omitempty"`
	Environment   string         `json:"environment"`
	LaunchID      string         `json:"launch_id"`
	Now           string         `json:"now"`
	CutoverAt     string         `json:"cutover_at,omitempty"`
	StepStartedAt string         `json:"step_started_at,omitempty"`
	Runbook       map[string]any `json:"runbook"`
	Facts         map[string]any `json:"facts"`
}

// Map returns the input as generic JSON, the form digests and policies see: what
// encoding/json makes of it, as a copy that shares nothing with the input.
func (in *Input) Map() (map[string]any, error) {
	if m, ok := in.genericMap(); ok {
		return m, nil
	}
	var m map[string]any
	if _, err := jsonRoundTrip(in, &m); err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	return m, nil
}

// genericMap is Map without encoding and decoding 100 KB of JSON, for the usual input
// whose runbook and facts hold only generic JSON values. It reports false for anything
// encoding/json could render differently (other Go types, invalid UTF-8, non-finite
// numbers); Map then takes the long way.
func (in *Input) genericMap() (map[string]any, bool) {
	m := make(map[string]any, 9)
	for k, s := range map[string]string{"gate": string(in.Gate), "environment": in.Environment, "launch_id": in.LaunchID, "now": in.Now} {
		if !utf8.ValidString(s) {
			return nil, false
		}
		m[k] = s
	}
	for k, s := range map[string]string{"cutover_at": in.CutoverAt, "step_started_at": in.StepStartedAt} {
		if s == "" {
			continue // omitempty
		}
		if !utf8.ValidString(s) {
			return nil, false
		}
		m[k] = s
	}
	if in.Step != nil {
		m["step"] = float64(*in.Step)
	}
	for k, v := range map[string]map[string]any{"runbook": in.Runbook, "facts": in.Facts} {
		if v == nil {
			m[k] = nil
			continue
		}
		c, ok := genericCopy(v)
		if !ok {
			return nil, false
		}
		m[k] = c
	}
	return m, true
}

// genericCopy deep-copies generic JSON (maps, slices, strings, finite float64, int, bool,
// nil) as a JSON round trip would, with int as float64; false for anything else.
func genericCopy(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool:
		return x, true
	case string:
		return x, utf8.ValidString(x)
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case int:
		return float64(x), x <= maxSafe && x >= -maxSafe
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if !utf8.ValidString(k) {
				return nil, false
			}
			c, ok := genericCopy(e)
			if !ok {
				return nil, false
			}
			out[k] = c
		}
		return out, true
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, ok := genericCopy(e)
			if !ok {
				return nil, false
			}
			out[i] = c
		}
		return out, true
	}
	return nil, false
}

// Params are the launch coordinates of one decision; the CLI fills them from flags.
type Params struct {
	Gate          Gate
	Step          *int
	Environment   string
	LaunchID      string
	Now           time.Time
	CutoverAt     string
	StepStartedAt string
}

// DefaultLaunchID is service-version-environment (DESIGN.md).
func DefaultLaunchID(rb *Runbook, env string) string {
	return rb.Spec.Service + "-" + rb.Spec.Release.Version + "-" + env
}

// BuildInput assembles the policy input for one gate, refusing coordinates the runbook does not
// know: an unknown environment or a canary step that is not in the runbook cannot be decided.
func BuildInput(rb *Runbook, p Params, facts map[string]any) (*Input, error) {
	if _, ok := rb.Env(p.Environment); !ok {
		return nil, fmt.Errorf("environment %q is not in runbook %s (has: %s)", p.Environment, rb.Path, strings.Join(envNames(rb), ", "))
	}
	if p.Gate == Canary {
		if rb.Spec.Strategy.Kind != "canary" {
			return nil, fmt.Errorf("gate canary: runbook %s uses strategy %q, which has no canary steps", rb.Path, rb.Spec.Strategy.Kind)
		}
		if p.Step == nil {
			return nil, fmt.Errorf("gate canary needs --step (runbook %s has steps %s)", rb.Path, stepList(rb))
		}
		if !slices.Contains(stepPercents(rb), *p.Step) {
			return nil, fmt.Errorf("--step %d is not a step of runbook %s (steps: %s)", *p.Step, rb.Path, stepList(rb))
		}
	} else if p.Step != nil {
		return nil, fmt.Errorf("--step applies only to the canary gate, not %s", p.Gate)
	}
	for _, t := range []struct{ name, v string }{{"cutover_at", p.CutoverAt}, {"step_started_at", p.StepStartedAt}} {
		if t.v == "" {
			continue
		}
		if _, err := time.Parse(time.RFC3339, t.v); err != nil {
			return nil, fmt.Errorf("%s %q: want an RFC 3339 time such as 2026-11-25T13:20:00Z", t.name, t.v)
		}
	}
	if facts == nil {
		facts = map[string]any{}
	}
	launchID := p.LaunchID
	if launchID == "" {
		launchID = DefaultLaunchID(rb, p.Environment)
	}
	now := p.Now.UTC().Truncate(time.Second).Format(time.RFC3339)
	merged := make(map[string]any, len(facts)+1)
	for k, v := range facts {
		merged[k] = v
	}
	// The sign-off digest is computed here, from the runbook actually used, never taken from a
	// facts file: otherwise an edited runbook could travel with an old, matching digest.
	merged["signoff"] = map[string]any{
		"source":       "gatekeeper",
		"path":         rb.Path,
		"collected_at": now,
		"duration_ms":  0,
		"digest":       rb.SignoffDigest,
	}
	return &Input{
		Gate: p.Gate, Step: p.Step, Environment: p.Environment, LaunchID: launchID, Now: now,
		CutoverAt: p.CutoverAt, StepStartedAt: p.StepStartedAt, Runbook: rb.Value, Facts: merged,
	}, nil
}

// Decide evaluates one gate and returns its decision record. prev is the digest of the
// launch's previous record (empty for the first) so that records chain.
func Decide(ctx context.Context, ps *PolicySet, rb *Runbook, in *Input, prev string) (*Record, error) {
	m, err := in.Map()
	if err != nil {
		return nil, err
	}
	// The input digest does not depend on the decision: compute it meanwhile.
	type digest struct {
		d   string
		err error
	}
	dc := make(chan digest, 1)
	go func() {
		d, err := Digest(m)
		dc <- digest{d, err}
	}()
	res, err := ps.Evaluate(ctx, in.Gate, m)
	dg := <-dc
	if err != nil {
		return nil, err
	}
	if dg.err != nil {
		return nil, fmt.Errorf("digest input: %w", dg.err)
	}
	return record(ps, rb, in, res, dg.d, prev), nil
}

// PreparedInput is a policy input converted for evaluation, with its digest: all a
// decision needs besides the policies, so a caller can prepare it while they compile.
type PreparedInput struct {
	in     *Input
	value  ast.Value
	digest string
}

// PrepareInput converts the input for evaluation and digests it.
func PrepareInput(in *Input) (*PreparedInput, error) {
	m, err := in.Map()
	if err != nil {
		return nil, err
	}
	v, err := inputValue(m)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: input: %w", in.Gate, err)
	}
	d, err := Digest(m)
	if err != nil {
		return nil, fmt.Errorf("digest input: %w", err)
	}
	return &PreparedInput{in: in, value: v, digest: d}, nil
}

// Digest is the input digest of the decision record.
func (p *PreparedInput) Digest() string { return p.digest }

// DecidePrepared is Decide for an input prepared with PrepareInput.
func DecidePrepared(ctx context.Context, ps *PolicySet, rb *Runbook, pin *PreparedInput, prev string) (*Record, error) {
	res, err := ps.evaluate(ctx, pin.in.Gate, pin.value)
	if err != nil {
		return nil, err
	}
	return record(ps, rb, pin.in, res, pin.digest, prev), nil
}

func record(ps *PolicySet, rb *Runbook, in *Input, res Result, inputDigest, prev string) *Record {
	rec := &Record{
		LaunchID: in.LaunchID, Environment: in.Environment, Gate: in.Gate, Step: in.Step,
		Decision: res.Decision, Complete: res.Complete, Checks: res.Checks, Warnings: res.Warnings,
		Now: in.Now, CutoverAt: in.CutoverAt,
		InputDigest: inputDigest, RunbookDigest: rb.Digest, PoliciesDigest: ps.Digest(),
		GatekeeperVersion: Version(), Prev: prev,
	}
	rec.DecisionID = decisionID(prev, inputDigest, ps.Digest())
	return rec
}

// decisionID is derived, not random, so the same input decides byte for byte the same record.
func decisionID(prev, input, policies string) string {
	h := sha256.Sum256([]byte(prev + "\n" + input + "\n" + policies))
	s := hex.EncodeToString(h[:16])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

func envNames(rb *Runbook) []string {
	names := sortedKeys(rb.Spec.Environments)
	return names
}

func stepPercents(rb *Runbook) []int {
	out := make([]int, 0, len(rb.Spec.Strategy.Steps))
	for _, s := range rb.Spec.Strategy.Steps {
		out = append(out, s.Percent)
	}
	return out
}

func stepList(rb *Runbook) string {
	parts := []string{}
	for _, p := range stepPercents(rb) {
		parts = append(parts, strconv.Itoa(p))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// jsonRoundTrip converts between typed and generic JSON through encoding/json, returning the
// encoded bytes for error messages.
func jsonRoundTrip(in, out any) ([]byte, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	return b, json.Unmarshal(b, out)
}
