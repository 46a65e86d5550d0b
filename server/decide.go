package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/live"
)

// DecideRequest is the body of POST /v1/decide: the policy input's coordinates and,
// optionally, its facts. It is the JSON `gatekeeper collect` prints and `evaluate --facts`
// reads, so a collected input can be posted as it is. With facts, the gate is decided from
// them; without (no "facts" key), they are collected live from the runbook's environment.
type DecideRequest struct {
	Gate          string          `json:"gate"`
	Step          *int            `json:"step,omitempty"`
	Environment   string          `json:"environment,omitempty"`
	LaunchID      string          `json:"launch_id,omitempty"`
	Now           string          `json:"now,omitempty"`
	CutoverAt     string          `json:"cutover_at,omitempty"`
	StepStartedAt string          `json:"step_started_at,omitempty"`
	Facts         json.RawMessage `json:"facts,omitempty"`
	// Runbook is what collect's output carries; it is ignored, as evaluate ignores it: the
	// runbook is always the server's (selected with ?runbook=NAME).
	Runbook json.RawMessage `json:"runbook,omitempty"`
}

// launchIDRe keeps launch ids usable as archive directory names: no separators, no "..".
var launchIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// job is one decision to make: the runbook, the coordinates, and the facts (nil: live).
type job struct {
	rb     *engine.Runbook
	params engine.Params
	facts  map[string]any
	live   bool
}

func (s *Server) handleDecide(w http.ResponseWriter, r *http.Request) {
	rec, err := s.decideRequest(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.writeRecord(w, http.StatusOK, rec)
}

func (s *Server) decideRequest(r *http.Request) (*engine.Record, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fromDecodeError(err)
	}
	// A body with facts that #Facts certainly accepts is read once; any other the long way.
	ff, fast := engine.AcceptFacts("request.json", body)
	var req DecideRequest
	if fast {
		req = DecideRequest{Gate: ff.Gate, Step: ff.Step, Environment: ff.Environment, LaunchID: ff.LaunchID,
			Now: ff.Now, CutoverAt: ff.CutoverAt, StepStartedAt: ff.StepStartedAt, Facts: json.RawMessage("{}")}
	} else {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return nil, fromDecodeError(err)
		}
		if dec.More() {
			return nil, &RequestError{Status: http.StatusBadRequest, Msg: "malformed JSON: more than one value in the body"}
		}
	}
	rb, err := s.runbook(r.URL.Query().Get("runbook"), "runbook (query parameter)")
	if err != nil {
		return nil, err
	}
	j := job{rb: rb, live: len(req.Facts) == 0 || string(req.Facts) == "null"}
	if !j.live {
		// The facts are validated against the same schema as a facts file, by the same code.
		if !fast {
			if ff, err = s.parseFacts(body); err != nil {
				return nil, err
			}
		}
		j.facts = ff.Facts
	}
	c := coords{gate: req.Gate, step: req.Step, env: req.Environment, launchID: req.LaunchID, now: req.Now,
		cutoverAt: req.CutoverAt, stepStartedAt: req.StepStartedAt}
	if j.live {
		// A live request names its step (Argo knows it); the times may come from the archive.
		if err := s.fromArchive(rb, &c, "", false); err != nil {
			return nil, err
		}
	}
	if j.params, err = s.params(rb, c, fieldNames{}, j.live); err != nil {
		return nil, err
	}
	return s.decide(r.Context(), j)
}

// parseFacts validates a body with facts against the facts schema. Validators are pooled:
// one compiles the schemas once (about 50 ms) and is not safe for concurrent use. The pool is
// a channel, not a sync.Pool, which the garbage collector empties: under load that meant
// compiling the schemas again every few requests.
func (s *Server) parseFacts(body []byte) (*engine.FactsFile, error) {
	var vd *pooledValidator
	select {
	case vd = <-s.validators:
	default:
		vd = &pooledValidator{v: engine.NewValidator()}
	}
	ff, err := vd.v.ParseFacts("request.json", body)
	// A validator's CUE context grows with what it validated; retire it now and then.
	if vd.uses++; vd.uses < validatorUses {
		select {
		case s.validators <- vd:
		default: // enough idle validators already
		}
	}
	if err != nil {
		var ve *engine.ValidationError
		if errors.As(err, &ve) {
			return nil, fromValidation(ve)
		}
		return nil, &RequestError{Status: http.StatusUnprocessableEntity, Field: "facts", Msg: err.Error()}
	}
	return ff, nil
}

type pooledValidator struct {
	v    *engine.Validator
	uses int
}

// validatorUses is how many bodies one validator checks before it is dropped for a fresh one.
const validatorUses = 256

// coords are a request's launch coordinates as it wrote them.
type coords struct {
	gate, env, launchID, now, cutoverAt, stepStartedAt string
	step                                               *int
}

// fieldNames names the coordinates in the request's own terms (Flagger: metadata.step).
type fieldNames struct {
	prefix string
}

func (f fieldNames) name(n string) string { return f.prefix + n }

// params checks a request's coordinates against the runbook, naming the field at fault, and
// returns them as engine.Params. It refuses everything engine.BuildInput would, so that a
// request error is a 422 and not an engine error.
func (s *Server) params(rb *engine.Runbook, c coords, f fieldNames, live bool) (engine.Params, error) {
	var p engine.Params
	if c.gate == "" {
		return p, badField(f.name("gate"), "required: one of %s", gateList())
	}
	g, err := engine.ParseGate(c.gate)
	if err != nil {
		return p, badField(f.name("gate"), "%v", err)
	}
	p.Gate = g
	env := c.env
	if env == "" {
		env = s.cfg.env
	}
	if env == "" {
		return p, badField(f.name("environment"), "required (runbook %s has: %s)", rb.Spec.Service, strings.Join(envNames(rb), ", "))
	}
	if _, ok := rb.Env(env); !ok {
		return p, badField(f.name("environment"), "%q is not an environment of the runbook (has: %s)", env, strings.Join(envNames(rb), ", "))
	}
	p.Environment = env
	if g == engine.Canary {
		steps := stepPercents(rb)
		switch {
		case rb.Spec.Strategy.Kind != "canary":
			return p, badField(f.name("gate"), "the runbook uses strategy %q, which has no canary steps", rb.Spec.Strategy.Kind)
		case c.step == nil:
			return p, badField(f.name("step"), "required for the canary gate (runbook steps: %s)", intList(steps))
		case !slices.Contains(steps, *c.step):
			return p, badField(f.name("step"), "%d is not a step of the runbook (steps: %s)", *c.step, intList(steps))
		}
		p.Step = c.step
	} else if c.step != nil {
		return p, badField(f.name("step"), "applies only to the canary gate, not %s", g)
	}
	p.LaunchID = c.launchID
	if p.LaunchID == "" {
		p.LaunchID = engine.DefaultLaunchID(rb, env)
	}
	if !launchIDRe.MatchString(p.LaunchID) {
		return p, badField(f.name("launch_id"), "%q: want letters, digits, '.', '_' and '-' (at most 128), starting with a letter or digit", p.LaunchID)
	}
	for _, t := range []struct{ field, v string }{{"cutover_at", c.cutoverAt}, {"step_started_at", c.stepStartedAt}, {"now", c.now}} {
		if t.v == "" {
			continue
		}
		if _, err := time.Parse(time.RFC3339, t.v); err != nil {
			return p, badField(f.name(t.field), "%q: want an RFC 3339 time such as 2026-11-25T14:05:00Z", t.v)
		}
	}
	p.CutoverAt, p.StepStartedAt = c.cutoverAt, c.stepStartedAt
	switch {
	case c.now != "":
		p.Now, _ = time.Parse(time.RFC3339, c.now)
	case !live:
		// As evaluate: a facts file without now is decided at the wall clock.
		p.Now = s.now().UTC()
	case s.cfg.clock != nil:
		// A live collection without now runs as if at the replaced clock; with the wall
		// clock, Now stays zero so that Gather stamps when the collection ended.
		p.Now = s.cfg.clock().UTC()
	}
	return p, nil
}

// decide makes one decision and archives it when the server archives: the same path as
// `gatekeeper evaluate`, with the policy set compiled once for every request.
func (s *Server) decide(ctx context.Context, j job) (*engine.Record, error) {
	start := time.Now()
	dir := ""
	if s.cfg.archive != "" {
		dir = filepath.Join(s.cfg.archive, j.params.LaunchID)
	}
	var (
		in  *engine.Input
		err error
	)
	if j.live {
		// A live decision reads its launch's archive (baseline, history) before it appends:
		// one at a time per launch, or two would read the same history.
		unlock := s.lockLaunch(j.params.LaunchID)
		defer unlock()
		o := s.cfg.live
		o.Archive = dir
		if in, err = live.Gather(ctx, j.rb, j.params, o); err != nil {
			return nil, fmt.Errorf("collect: %w", err)
		}
	} else if in, err = engine.BuildInput(j.rb, j.params, j.facts); err != nil {
		return nil, badField("", "%v", err)
	}
	var rec *engine.Record
	if dir == "" {
		rec, err = engine.Decide(ctx, s.ps, j.rb, in, "")
	} else {
		var e *archive.Entry
		e, err = archive.AppendDecision(dir, s.cfg.signKey, j.rb, s.ps, in, func(prev string) (*engine.Record, error) {
			return engine.Decide(ctx, s.ps, j.rb, in, prev)
		})
		if e != nil {
			rec = &e.Record
		}
	}
	if err != nil {
		if eo, ok := s.cfg.metrics.(errorObserver); ok {
			eo.ObserveError(string(j.params.Gate))
		}
		return nil, err
	}
	s.recent.add(rec)
	if s.cfg.metrics != nil {
		s.cfg.metrics.ObserveDecision(rec, time.Since(start))
	}
	return rec, nil
}

func (s *Server) now() time.Time {
	if s.cfg.clock != nil {
		return s.cfg.clock()
	}
	return time.Now()
}

// errorObserver is the optional part of Metrics that counts gates that could not be decided.
type errorObserver interface {
	ObserveError(gate string)
}

func (s *Server) lockLaunch(id string) func() {
	mu, _ := s.launches.LoadOrStore(id, &sync.Mutex{})
	m := mu.(*sync.Mutex)
	m.Lock()
	return m.Unlock
}

// runbook selects the runbook a request names; the only one when it names none.
func (s *Server) runbook(name, field string) (*engine.Runbook, error) {
	if name == "" {
		if len(s.names) == 1 {
			return s.runbooks[s.names[0]], nil
		}
		return nil, badField(field, "required: this server has several runbooks (%s)", strings.Join(s.names, ", "))
	}
	rb, ok := s.runbooks[name]
	if !ok {
		return nil, badField(field, "%q is not a runbook of this server (has: %s)", name, strings.Join(s.names, ", "))
	}
	return rb, nil
}

// fail answers an error: a RequestError as it is, anything else as a 500 whose message is
// redacted of the token and of anything shaped like a credential.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var re *RequestError
	if errors.As(err, &re) {
		re.Msg = engine.Redact(re.Msg, s.cfg.token)
		re.Field = engine.Redact(re.Field, s.cfg.token)
		for i := range re.Issues {
			re.Issues[i].Message = engine.Redact(re.Issues[i].Message, s.cfg.token)
			re.Issues[i].Field = engine.Redact(re.Issues[i].Field, s.cfg.token)
		}
		writeError(w, re)
		return
	}
	status := http.StatusInternalServerError
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		status = http.StatusServiceUnavailable
	}
	msg := engine.Redact(err.Error(), s.cfg.token)
	s.cfg.log.Error("decide", "error", msg)
	writeError(w, &RequestError{Status: status, Msg: msg})
}

func (s *Server) writeRecord(w http.ResponseWriter, status int, rec *engine.Record) {
	noteRecord(w, rec)
	w.Header().Set("X-Gatekeeper-Decision", string(rec.Decision))
	w.Header().Set("X-Gatekeeper-Decision-Id", rec.DecisionID)
	writeJSON(w, status, rec)
}

func (s *Server) handleDecision(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if rec, ok := s.recent.get(id); ok {
		s.writeRecord(w, http.StatusOK, rec)
		return
	}
	if s.cfg.archive != "" {
		rec, err := findArchived(s.cfg.archive, id, r.URL.Query().Get("launch_id"))
		if err != nil {
			s.fail(w, err)
			return
		}
		if rec != nil {
			s.writeRecord(w, http.StatusOK, rec)
			return
		}
	}
	writeError(w, &RequestError{Status: http.StatusNotFound, Field: "decision_id", Msg: fmt.Sprintf("no decision %q (neither recent nor archived)", id)})
}

// findArchived looks for a decision in the launch archives under root (only launchID's when
// given), verifying each archive as it reads it; nil when no archive holds it.
func findArchived(root, id, launchID string) (*engine.Record, error) {
	var dirs []string
	if launchID != "" {
		if !launchIDRe.MatchString(launchID) {
			return nil, badField("launch_id", "%q is not a launch id", launchID)
		}
		dirs = []string{filepath.Join(root, launchID)}
	} else {
		ents, err := os.ReadDir(root)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("archive: %w", err)
		}
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(root, e.Name()))
			}
		}
	}
	needle := []byte(`"decision_id":"` + id + `"`)
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, archive.MetaFile)); err != nil {
			continue
		}
		// Skip archives that cannot hold it without verifying them.
		b, err := os.ReadFile(filepath.Join(dir, archive.RecordsFile))
		if err != nil || !bytes.Contains(b, needle) {
			continue
		}
		a, err := archive.Open(dir)
		if err != nil {
			return nil, err
		}
		var found *engine.Record
		err = a.Walk(func(_ int, e *archive.Entry, _ []byte) error {
			if e.Kind == "" && e.DecisionID == id {
				r := e.Record
				found = &r
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("archive %s: %w", filepath.Base(dir), err)
		}
		if found != nil {
			return found, nil
		}
	}
	return nil, nil
}

func gateList() string {
	var names []string
	for _, g := range engine.Gates() {
		names = append(names, string(g))
	}
	return strings.Join(names, ", ")
}

func envNames(rb *engine.Runbook) []string {
	var names []string
	for name := range rb.Spec.Environments {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func stepPercents(rb *engine.Runbook) []int {
	var out []int
	for _, st := range rb.Spec.Strategy.Steps {
		out = append(out, st.Percent)
	}
	return out
}

func intList(xs []int) string {
	if len(xs) == 0 {
		return "none"
	}
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ", ")
}
