package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

type replayFlags struct {
	format      string
	policies    []string
	runbook     string
	publicKey   string
	fingerprint string
	requireSigs bool
}

// replayInputHook, when set by a test, alters each archived input before it is re-decided.
var replayInputHook func(e *archive.Entry, in map[string]any)

func newReplayCmd() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay ARCHIVE... [--policies DIR] [--runbook R] [-o text|json]",
		Short: "Verify launch archives and re-evaluate every archived decision",
		Long: `replay verifies each archive (format, hash chain, record and blob digests) and re-decides
every record from its archived input with its archived policy set, comparing decision, checks
and warnings. Exit 0 when everything verifies and matches, 4 when an archive fails
verification, 5 when a decision differs.

Signatures: every signed record's ed25519 signature is verified against the public key it
records. --public-key FILE or --fingerprint FP additionally requires every signature to be by
that key; --require-signatures makes an unsigned record fail verification (without it,
unsigned records stay valid, also when a key is pinned). A failing signature exits 4 naming
the record.

Records are verified as they stream and re-decided by a pool of one worker per CPU; the
results are printed in record order and memory stays bounded (with -o json the per-record
results are collected for the report).

What-if: with --policies DIR (the built-ins plus DIR instead of the archived set) and/or
--runbook R (R's normalized runbook in place of the archived one), the archived facts are
re-decided and only the records whose decision would change are listed; exit 0 unless an
archive fails verification (4).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.format != "text" && f.format != "json" {
				return fmt.Errorf("-o %q: want text or json", f.format)
			}
			defer replayGC()()
			code, err := replay(cmd.Context(), cmd.OutOrStdout(), f, args)
			if err != nil {
				return err
			}
			if code != engine.ExitGo {
				return exitCode(code)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.format, "output", "o", "text", "output format: text or json")
	fl.StringArrayVar(&f.policies, "policies", nil, "what-if: directory of Rego policies loaded beside the built-ins instead of the archived set (repeatable)")
	fl.StringVar(&f.runbook, "runbook", "", "what-if: runbook whose normalized form replaces the archived one")
	fl.StringVar(&f.publicKey, "public-key", "", "require every signature to be by this ed25519 public key (file: PEM or base64)")
	fl.StringVar(&f.fingerprint, "fingerprint", "", "require every signature to be by the key with this fingerprint (sha256:…)")
	fl.BoolVar(&f.requireSigs, "require-signatures", false, "fail verification on any unsigned record")
	return cmd
}

// checkChange is one check whose outcome differs between the archived and the new decision.
type checkChange struct {
	New  engine.Outcome `json:"new,omitempty"`
	Old  engine.Outcome `json:"old,omitempty"`
	Rule string         `json:"rule"`
}

// replayed is one record's replay result (fields in key order: JSON output is sorted).
type replayed struct {
	Archive  string         `json:"archive"`
	Changed  []checkChange  `json:"changed_checks,omitempty"`
	Decision engine.Outcome `json:"decision"`
	Gate     engine.Gate    `json:"gate"`
	Match    bool           `json:"match"`
	New      engine.Outcome `json:"new_decision"`
	Now      string         `json:"now"`
	Record   int            `json:"record"`
	Step     *int           `json:"step,omitempty"`
}

type archiveResult struct {
	Archive  string `json:"archive"`
	Error    string `json:"error,omitempty"`
	Records  int    `json:"records"`
	Verified bool   `json:"verified"`
}

type replaySummary struct {
	Mismatched int  `json:"mismatched"`
	Replayed   int  `json:"replayed"`
	Verified   int  `json:"verified"`
	WhatIf     bool `json:"what_if"`
}

type replayReport struct {
	Archives []archiveResult `json:"archives"`
	Records  []replayed      `json:"records"`
	Summary  replaySummary   `json:"summary"`
}

// replayer re-decides archived records, compiling each archived policy set once.
type replayer struct {
	ctx    context.Context
	whatIf bool
	ps     *engine.PolicySet // what-if policies, or nil for the archived set
	rb     *engine.Runbook   // what-if runbook, or nil
	sig    archive.SigPolicy
	mu     sync.Mutex // guards cache
	cache  map[string]*engine.PolicySet
}

// sigPolicy turns the signature flags into what verification demands.
func sigPolicy(f replayFlags) (archive.SigPolicy, error) {
	p := archive.SigPolicy{Require: f.requireSigs, Fingerprint: f.fingerprint}
	if f.publicKey != "" {
		b, err := os.ReadFile(f.publicKey)
		if err != nil {
			return p, fmt.Errorf("public key: %w", err)
		}
		pub, err := archive.ParsePublicKey(b)
		if err != nil {
			return p, fmt.Errorf("%s: %w", f.publicKey, err)
		}
		fp := archive.Fingerprint(pub)
		if p.Fingerprint != "" && p.Fingerprint != fp {
			return p, fmt.Errorf("--fingerprint %s is not that of --public-key %s (%s)", p.Fingerprint, f.publicKey, fp)
		}
		p.Fingerprint = fp
	}
	return p, nil
}

func replay(ctx context.Context, w io.Writer, f replayFlags, dirs []string) (int, error) {
	sp, err := sigPolicy(f)
	if err != nil {
		return 0, err
	}
	r := &replayer{ctx: ctx, sig: sp, cache: map[string]*engine.PolicySet{}}
	if len(f.policies) > 0 {
		ps, err := engine.LoadPolicies(ctx, f.policies...)
		if err != nil {
			return 0, err
		}
		r.ps, r.whatIf = ps, true
	}
	if f.runbook != "" {
		rb, err := engine.LoadRunbook(f.runbook)
		if err != nil {
			return 0, err
		}
		r.rb, r.whatIf = rb, true
		if err := rb.VerifySignoff(); err != nil && f.format == "text" {
			fmt.Fprintf(w, "note: %s is not signed off as it stands, so sign-off checks will not pass: %v\n", f.runbook, err)
		}
	}
	rep := replayReport{Archives: []archiveResult{}, Records: []replayed{}, Summary: replaySummary{WhatIf: r.whatIf}}
	text := f.format == "text"
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	w = bw
	verifyFailed := false
	for _, dir := range dirs {
		ar := archiveResult{Archive: dir}
		err := r.archive(dir, func(res replayed) {
			ar.Records = res.Record
			rep.Summary.Verified++
			rep.Summary.Replayed++
			if !res.Match {
				rep.Summary.Mismatched++
			}
			if r.whatIf && res.Match {
				return
			}
			if text {
				printReplayed(bw, res, r.whatIf)
				return
			}
			rep.Records = append(rep.Records, res)
		})
		var ve *archive.VerifyError
		switch {
		case errors.As(err, &ve):
			verifyFailed = true
			ar.Error = err.Error()
			if text {
				fmt.Fprintf(w, "FAILED %v\n", err)
			}
		case err != nil:
			return 0, err
		default:
			ar.Verified = true
		}
		rep.Archives = append(rep.Archives, ar)
	}
	s := rep.Summary
	if text {
		if r.whatIf {
			fmt.Fprintf(w, "%d records verified, %d re-decided, %d would change\n", s.Verified, s.Replayed, s.Mismatched)
		} else {
			fmt.Fprintf(w, "%d records verified, %d replayed, %d mismatched\n", s.Verified, s.Replayed, s.Mismatched)
		}
	} else {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return 0, err
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return 0, err
		}
	}
	switch {
	case verifyFailed:
		return engine.ExitVerifyFailed, nil
	case s.Mismatched > 0 && !r.whatIf:
		return engine.ExitReplayMismatch, nil
	}
	return engine.ExitGo, nil
}

func printReplayed(w io.Writer, res replayed, whatIf bool) {
	step := "-"
	if res.Step != nil {
		step = strconv.Itoa(*res.Step)
	}
	switch {
	case whatIf:
		fmt.Fprintf(w, "%s record %d  %s %s  %s  %s → %s\n", res.Archive, res.Record, res.Gate, step, res.Now, res.Decision, res.New)
		for _, c := range res.Changed {
			fmt.Fprintf(w, "    %s: %s → %s\n", c.Rule, orNone(c.Old), orNone(c.New))
		}
	case res.Match:
		fmt.Fprintf(w, "%s record %d  %s %s  %s  %s  match\n", res.Archive, res.Record, res.Gate, step, res.Now, res.Decision)
	default:
		fmt.Fprintf(w, "%s record %d  %s %s  %s  %s  MISMATCH: replayed %s\n", res.Archive, res.Record, res.Gate, step, res.Now, res.Decision, res.New)
		for _, c := range res.Changed {
			fmt.Fprintf(w, "    %s: %s → %s\n", c.Rule, orNone(c.Old), orNone(c.New))
		}
	}
}

func orNone(o engine.Outcome) string {
	if o == "" {
		return "(none)"
	}
	return string(o)
}

// archive verifies one archive as it streams and re-decides its records: archive.WalkEach
// streams the lines and checks the chain links, and a pool of runtime.NumCPU workers does
// each record's verification (JSON, digests, signature, reading and hashing its input) and
// re-decision (decoding the input, evaluating); the results are reported in record order.
// At most a few records per worker are in flight, so memory stays bounded however long the
// archive.
func (r *replayer) archive(dir string, report func(replayed)) error {
	a, err := archive.Open(dir)
	if err != nil {
		return err
	}
	a.RequireSignatures(r.sig)
	return archive.WalkEach(a, runtime.NumCPU(),
		func(n int, e *archive.Entry, input []byte) (replayed, error) {
			res, err := r.record(a, e, input)
			if err != nil {
				return res, fmt.Errorf("replay %s: record %d: %w", dir, n, err)
			}
			return res, nil
		},
		func(n int, _ *archive.Entry, _ []byte, res replayed) error {
			res.Archive, res.Record = dir, n
			report(res)
			return nil
		})
}

func (r *replayer) record(a *archive.Archive, e *archive.Entry, input []byte) (replayed, error) {
	var in map[string]any
	if err := json.Unmarshal(input, &in); err != nil {
		return replayed{}, fmt.Errorf("input: %w", err)
	}
	if r.rb != nil {
		in["runbook"] = r.rb.Value
		if facts, ok := in["facts"].(map[string]any); ok {
			if so, ok := facts["signoff"].(map[string]any); ok {
				so["digest"] = r.rb.SignoffDigest
			}
		}
	}
	if replayInputHook != nil {
		replayInputHook(e, in)
	}
	ps, err := r.policies(a, e.PoliciesDigest)
	if err != nil {
		return replayed{}, err
	}
	res, err := ps.Evaluate(r.ctx, e.Gate, in)
	if err != nil {
		return replayed{}, err
	}
	out := replayed{Decision: e.Decision, Gate: e.Gate, New: res.Decision, Now: e.Now, Step: e.Step}
	out.Match = res.Decision == e.Decision && sameJSON(res.Checks, e.Checks) && sameJSON(res.Warnings, e.Warnings)
	if !out.Match {
		out.Changed = changedChecks(e.Checks, res.Checks)
	}
	if r.whatIf {
		// What-if lists changed decisions; new evidence (thresholds) alone is no change.
		out.Match = res.Decision == e.Decision
	}
	return out, nil
}

// policies returns the what-if set, or the archived set compiled once per digest.
func (r *replayer) policies(a *archive.Archive, digest string) (*engine.PolicySet, error) {
	if r.ps != nil {
		return r.ps, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ps, ok := r.cache[digest]; ok {
		return ps, nil
	}
	b, err := a.Blob(digest)
	if err != nil {
		return nil, err
	}
	var mods map[string]string
	if err := json.Unmarshal(b, &mods); err != nil {
		return nil, fmt.Errorf("policies %s: %w", digest, err)
	}
	ps, err := engine.CompilePolicies(r.ctx, mods)
	if err != nil {
		return nil, fmt.Errorf("policies %s: %w", digest, err)
	}
	r.cache[digest] = ps
	return ps, nil
}

// sameJSON is structural equality of the JSON forms (nil and empty lists are the same).
func sameJSON(a, b any) bool {
	var x, y any
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil || json.Unmarshal(ja, &x) != nil || json.Unmarshal(jb, &y) != nil {
		return false
	}
	if x == nil {
		x = []any{}
	}
	if y == nil {
		y = []any{}
	}
	return reflect.DeepEqual(x, y)
}

// changedChecks lists the rules whose outcome differs, in the order they appear.
func changedChecks(old, cur []engine.Check) []checkChange {
	was := map[string]engine.Outcome{}
	for _, c := range old {
		was[c.Rule] = c.Outcome
	}
	is := map[string]engine.Outcome{}
	for _, c := range cur {
		is[c.Rule] = c.Outcome
	}
	var out []checkChange
	for _, c := range old {
		if is[c.Rule] != c.Outcome {
			out = append(out, checkChange{Rule: c.Rule, Old: c.Outcome, New: is[c.Rule]})
		}
	}
	for _, c := range cur {
		if _, ok := was[c.Rule]; !ok {
			out = append(out, checkChange{Rule: c.Rule, New: c.Outcome})
		}
	}
	return out
}

// replayGC trades memory for throughput within the replay's bound: re-deciding a record
// allocates about a megabyte that is garbage right after, so collecting at 4x the live heap
// instead of 2x halves the collector's work, while the soft limit keeps the peak well under
// the 200 MiB that a million-record replay may use. GOGC and GOMEMLIMIT, when set, win.
func replayGC() func() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	percent := debug.SetGCPercent(400)
	limit := debug.SetMemoryLimit(160 << 20)
	return func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(percent)
	}
}
