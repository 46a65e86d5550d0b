// Package report writes the launch report of one launch archive: what was deployed, every
// gate's decision and why, smoke results, monitoring observations and the handoff, in
// Markdown or self-contained HTML. The report is built from the archive alone and is
// deterministic: the same archive gives the same bytes.
package report

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Report is everything the launch report shows, gathered from one archive.
type Report struct {
	LaunchID     string
	Environment  string
	Service      string
	Version      string
	Commit       string
	Image        string
	UAT          string
	Commander    string
	Strategy     string
	Steps        []Step
	Window       string
	RollbackTo   string
	CutoverAt    string
	Gates        []Gate
	Outcome      string
	OutcomeWhy   []string
	Smoke        *Smoke
	ErrorRate    Series
	Latency      Series
	Markers      []Marker
	RollbackAt   int64
	Monitoring   []MonitorRow
	Integrations []Integration
	IntegrityAt  string
	Integrity    []IntegrityCheck
	Migrations   string
	Notices      []Notification
	Attestations []Attestation
	Hooks        []HookRun
	KnownIssues  []string
	OnCall       string
	Handoff      string
	Records      int
	LastDigest   string
}

// Step is one planned canary step.
type Step struct {
	Percent int
	Bake    string
}

// Gate is one archived decision with its reasons.
type Gate struct {
	N        int
	Label    string
	Decision engine.Outcome
	Complete bool
	Now      string
	Reasons  []Reason
	Warnings []string
}

// Reason is one check of a decision: outcome, observed value and threshold.
type Reason struct {
	Rule      string
	Outcome   engine.Outcome
	Message   string
	Observed  string
	Threshold string
}

// Smoke is the smoke suite's result from the post-smoke record.
type Smoke struct {
	Started      string
	Finished     string
	Duration     string
	Budget       string
	WithinBudget bool
	Tests        []SmokeTest
}

// SmokeTest is one smoke step.
type SmokeTest struct {
	Name     string
	Suite    string
	Status   string
	Critical bool
	Duration string
	Message  string
}

// Series is one monitored metric's samples, deduplicated by timestamp, with its threshold.
type Series struct {
	Name      string
	Unit      string
	Threshold float64
	Points    []Point
}

// Point is one sample; NaN samples are kept out of Points.
type Point struct {
	T int64
	V float64
}

// Marker is a decision placed on the charts' time axis.
type Marker struct {
	T        int64
	Label    string
	Decision engine.Outcome
}

// MonitorRow is one canary or window decision's monitoring summary.
type MonitorRow struct {
	Now       string
	Gate      string
	Decision  engine.Outcome
	ErrorRate string
	P95       string
	Coverage  string
}

// Integration is one integration's latest probe.
type Integration struct {
	Name     string
	Critical bool
	Up       bool
	Status   string
	At       string
	Error    string
}

// IntegrityCheck is one data-integrity query's latest result against the baseline.
type IntegrityCheck struct {
	Name       string
	Violations string
	Baseline   string
}

// Notification is one notification delivery.
type Notification struct {
	At        string
	Channel   string
	Event     string
	Delivered bool
	Status    string
}

// HookRun is one run of a runbook hook, from the archive's hook events.
type HookRun struct {
	At       string
	Name     string
	Step     string
	Exit     string
	Duration string
}

// Attestation is one manual check or commander's call, recorded with attest (an archive
// event) or, in older archives, as a custom fact.
type Attestation struct {
	Name        string
	CollectedAt string
	Detail      string
}

// Load walks and verifies the archive in dir and gathers the report from it.
func Load(dir string) (*Report, error) {
	a, err := archive.Open(dir)
	if err != nil {
		return nil, err
	}
	b := &builder{
		r:       &Report{LaunchID: a.Meta().LaunchID, Environment: a.Meta().Environment, UAT: "not checked"},
		errPts:  map[int64]float64{},
		latPts:  map[int64]float64{},
		attests: map[string]Attestation{},
	}
	err = a.WalkAll(func(n int, e *archive.Entry, input []byte) error {
		b.r.Records, b.r.LastDigest = n, e.Digest
		if e.Event != nil {
			b.event(e)
			return nil
		}
		var in map[string]any
		if err := json.Unmarshal(input, &in); err != nil {
			return fmt.Errorf("report: record %d: input: %w", n, err)
		}
		b.record(n, e, in)
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.finish()
	return b.r, nil
}

type builder struct {
	r        *Report
	runbook  map[string]any
	entries  []archive.Entry
	errPts   map[int64]float64
	latPts   map[int64]float64
	attests  map[string]Attestation
	cutover  string
	events   []Notification
	ended    *archive.Event
	lastInt  map[string]any
	lastIntg map[string]any
	lastBase map[string]any
	notes    map[string]any
}

func (b *builder) record(n int, e *archive.Entry, in map[string]any) {
	r := b.r
	b.entries = append(b.entries, *e)
	if rb, ok := in["runbook"].(map[string]any); ok {
		b.runbook = rb
	}
	if c := str(in["cutover_at"]); c != "" {
		b.cutover = c
	} else if e.CutoverAt != "" {
		b.cutover = e.CutoverAt
	}
	facts, _ := in["facts"].(map[string]any)
	g := Gate{N: n, Label: gateLabel(e), Decision: e.Decision, Complete: e.Complete, Now: e.Now}
	for _, c := range e.Failed() {
		g.Reasons = append(g.Reasons, reason(c))
	}
	for _, c := range e.Checks {
		if c.Outcome == engine.Go {
			g.Reasons = append(g.Reasons, reason(c))
		}
	}
	for _, w := range e.Warnings {
		g.Warnings = append(g.Warnings, w.Message)
	}
	r.Gates = append(r.Gates, g)
	if e.Gate == engine.PreCutover {
		for _, c := range e.Checks {
			if c.Rule == "pre_cutover.uat_build" {
				if c.Outcome == engine.Go {
					r.UAT = "yes: " + c.Message
				} else {
					r.UAT = "NO (" + string(c.Outcome) + "): " + c.Message
				}
			}
		}
	}
	if sm, ok := facts["smoke"].(map[string]any); ok && e.Gate == engine.PostSmoke {
		r.Smoke = b.smoke(sm)
	}
	if v, ok := facts["integrations"].(map[string]any); ok {
		b.lastInt = v
	}
	if v, ok := facts["integrity"].(map[string]any); ok {
		b.lastIntg = v
		b.lastBase, _ = facts["integrity_baseline"].(map[string]any)
	}
	if v, ok := facts["notifications"].(map[string]any); ok {
		b.notes = v
	}
	if cu, ok := facts["custom"].(map[string]any); ok {
		for k, v := range cu {
			if !strings.HasPrefix(k, "attest") {
				continue
			}
			m, _ := v.(map[string]any)
			at := str(m["collected_at"])
			rest := map[string]any{}
			for mk, mv := range m {
				if mk != "collected_at" && mk != "duration_ms" {
					rest[mk] = mv
				}
			}
			d, _ := json.Marshal(rest)
			b.attests[at+"\x00"+k] = Attestation{Name: k, CollectedAt: at, Detail: string(d)}
		}
	}
	errF, hasErr := facts["error_rate"].(map[string]any)
	latF, hasLat := facts["latency_p95"].(map[string]any)
	if hasErr || hasLat {
		row := MonitorRow{Now: e.Now, Gate: gateLabel(e), Decision: e.Decision, ErrorRate: "—", P95: "—", Coverage: "—"}
		if hasErr {
			row.ErrorRate = latest(samples(errF, b.errPts), "%.4f")
		}
		if hasLat {
			row.P95 = latest(samples(latF, b.latPts), "%.3f s")
		}
		for _, c := range e.Checks {
			if strings.HasSuffix(c.Rule, "error_rate_sustained") {
				if cov, ok := num(c.Evidence["coverage"]); ok {
					row.Coverage = fmt.Sprintf("%.0f%%", cov*100)
				}
			}
		}
		r.Monitoring = append(r.Monitoring, row)
	}
}

// event takes in one archived event: its notifications, attestations, hook runs and the
// launch's recorded outcome.
func (b *builder) event(e *archive.Entry) {
	ev := e.Event
	d := ev.Data
	switch ev.Type {
	case archive.EventNotification:
		// The delivery's own time, as the notifications facts of later decisions repeat it.
		at := ev.At
		if s := str(d["at"]); s != "" {
			at = s
		}
		b.events = append(b.events, Notification{At: at, Channel: str(d["channel"]), Event: str(d["event"]), Delivered: d["delivered"] == true, Status: scalar(d["status_code"])})
	case archive.EventAttestation:
		a := Attestation{CollectedAt: ev.At}
		var detail []string
		if str(d["kind"]) == "call" {
			a.Name = "call: " + str(d["call"])
		} else {
			a.Name = "manual check: " + str(d["check"])
			res := str(d["result"])
			if d["critical"] == true {
				res += " (critical)"
			}
			detail = append(detail, res)
		}
		detail = append(detail, "by "+str(d["by"]))
		if note := str(d["note"]); note != "" {
			detail = append(detail, note)
		}
		if e.Signature != nil {
			detail = append(detail, "signed "+e.Signature.KeyFingerprint)
		} else {
			detail = append(detail, "unsigned")
		}
		a.Detail = strings.Join(detail, "; ")
		b.attests[ev.At+"\x00"+a.Name] = a
	case archive.EventHook:
		h := HookRun{At: ev.At, Name: str(d["name"]), Step: "—", Exit: scalar(d["exit_code"]), Duration: "—"}
		if d["step"] != nil {
			h.Step = scalar(d["step"])
		}
		if d["timed_out"] == true {
			h.Exit = "timed out"
		}
		if ms, ok := num(d["duration_ms"]); ok {
			h.Duration = (time.Duration(ms) * time.Millisecond).Round(time.Millisecond).String()
		}
		b.r.Hooks = append(b.r.Hooks, h)
	case archive.EventOutcome, archive.EventInterrupted:
		b.ended = ev
	}
}

func (b *builder) smoke(sm map[string]any) *Smoke {
	s := &Smoke{Started: str(sm["started_at"]), Finished: str(sm["finished_at"]), Budget: "—", Duration: "—"}
	smokeRB, _ := b.runbook["smoke"].(map[string]any)
	var critical []string
	if smokeRB != nil {
		s.Budget = str(smokeRB["budget"])
		for _, c := range list(smokeRB["critical"]) {
			critical = append(critical, str(c))
		}
	}
	t0, err0 := time.Parse(time.RFC3339, s.Started)
	t1, err1 := time.Parse(time.RFC3339, s.Finished)
	if err0 == nil && err1 == nil {
		d := t1.Sub(t0)
		s.Duration = d.String()
		if bud, err := time.ParseDuration(s.Budget); err == nil {
			s.WithinBudget = d <= bud
		}
	}
	for _, t := range list(sm["tests"]) {
		m, _ := t.(map[string]any)
		st := SmokeTest{Name: str(m["name"]), Suite: str(m["suite"]), Status: str(m["status"]), Message: str(m["message"])}
		st.Critical = isCritical(st.Name, critical)
		if ms, ok := num(m["duration_ms"]); ok {
			st.Duration = (time.Duration(ms) * time.Millisecond).String()
		}
		s.Tests = append(s.Tests, st)
	}
	return s
}

// isCritical matches a smoke step against the runbook's critical names and /regexes/.
func isCritical(name string, critical []string) bool {
	for _, c := range critical {
		if len(c) >= 2 && strings.HasPrefix(c, "/") && strings.HasSuffix(c, "/") {
			if re, err := regexp.Compile(c[1 : len(c)-1]); err == nil && re.MatchString(name) {
				return true
			}
		} else if c == name {
			return true
		}
	}
	return false
}

func (b *builder) finish() {
	r := b.r
	rb := b.runbook
	r.CutoverAt = orDash(b.cutover)
	r.Service = orDash(str(rb["service"]))
	rel, _ := rb["release"].(map[string]any)
	r.Version, r.Commit, r.Image = orDash(str(rel["version"])), orDash(str(rel["commit"])), orDash(str(rel["image"]))
	if rt, ok := rb["rollback_target"].(map[string]any); ok {
		r.RollbackTo = fmt.Sprintf("%s (commit %s, image %s)", str(rt["version"]), str(rt["commit"]), str(rt["image"]))
	}
	r.Commander = orDash(str(rb["commander"]))
	strat, _ := rb["strategy"].(map[string]any)
	r.Strategy = orDash(str(strat["kind"]))
	for _, s := range list(strat["steps"]) {
		m, _ := s.(map[string]any)
		p, _ := num(m["percent"])
		r.Steps = append(r.Steps, Step{Percent: int(p), Bake: str(m["bake"])})
	}
	if w, ok := rb["window"].(map[string]any); ok {
		r.Window = str(w["duration"])
	}
	for _, k := range list(rb["known_issues"]) {
		r.KnownIssues = append(r.KnownIssues, str(k))
	}
	if oc, ok := rb["on_call"].(map[string]any); ok {
		r.OnCall = strings.TrimSpace(str(oc["name"]) + " (" + str(oc["contact"]) + ")")
	}
	crit, _ := rb["criteria"].(map[string]any)
	critInt := map[string]bool{}
	for _, it := range list(crit["integrations"]) {
		m, _ := it.(map[string]any)
		critInt[str(m["name"])] = m["critical"] == true
	}
	r.ErrorRate = Series{Name: "Error rate", Unit: "ratio", Points: points(b.errPts)}
	if er, ok := crit["error_rate"].(map[string]any); ok {
		r.ErrorRate.Threshold, _ = num(er["max_ratio"])
	}
	r.Latency = Series{Name: "p95 latency", Unit: "s", Points: points(b.latPts)}
	if lp, ok := crit["latency_p95"].(map[string]any); ok {
		if bud, err := time.ParseDuration(str(lp["budget"])); err == nil {
			tol, _ := num(lp["tolerance_pct"])
			r.Latency.Threshold = bud.Seconds() * (1 + tol/100)
		}
	}
	b.outcome()
	for _, e := range b.entries {
		t, err := time.Parse(time.RFC3339, e.Now)
		if err != nil {
			continue
		}
		r.Markers = append(r.Markers, Marker{T: t.Unix(), Label: gateLabel(&e), Decision: e.Decision})
	}
	if b.lastInt != nil {
		for _, it := range list(b.lastInt["items"]) {
			m, _ := it.(map[string]any)
			p, _ := m["probe"].(map[string]any)
			in := Integration{Name: str(m["name"]), Critical: critInt[str(m["name"])], Up: p["ok"] == true, At: str(p["at"]), Error: str(p["error"])}
			if sc, ok := num(p["status_code"]); ok {
				in.Status = strconv.Itoa(int(sc))
			}
			r.Integrations = append(r.Integrations, in)
		}
		sort.Slice(r.Integrations, func(i, j int) bool { return r.Integrations[i].Name < r.Integrations[j].Name })
	}
	if b.lastIntg != nil {
		r.IntegrityAt = str(b.lastIntg["collected_at"])
		base := map[string]string{}
		for _, c := range list(b.lastBase["checks"]) {
			m, _ := c.(map[string]any)
			base[str(m["name"])] = scalar(m["violations"])
		}
		for _, c := range list(b.lastIntg["checks"]) {
			m, _ := c.(map[string]any)
			bl := base[str(m["name"])]
			if bl == "" {
				bl = "—"
			}
			r.Integrity = append(r.Integrity, IntegrityCheck{Name: str(m["name"]), Violations: scalar(m["violations"]), Baseline: bl})
		}
		sort.Slice(r.Integrity, func(i, j int) bool { return r.Integrity[i].Name < r.Integrity[j].Name })
		if mg, ok := b.lastIntg["migrations"].(map[string]any); ok {
			r.Migrations = fmt.Sprintf("%s version %s, dirty: %s", str(mg["tool"]), scalar(mg["version"]), scalar(mg["dirty"]))
		}
	}
	// Deliveries are archived as events; decisions' notifications facts repeat them (and
	// hold those of launches archived before events existed): each is listed once.
	seen := map[Notification]bool{}
	for _, nt := range b.events {
		if !seen[nt] {
			seen[nt] = true
			r.Notices = append(r.Notices, nt)
		}
	}
	if b.notes != nil {
		for _, d := range list(b.notes["deliveries"]) {
			m, _ := d.(map[string]any)
			nt := Notification{At: str(m["at"]), Channel: str(m["channel"]), Event: str(m["event"]), Delivered: m["delivered"] == true, Status: scalar(m["status_code"])}
			if !seen[nt] {
				seen[nt] = true
				r.Notices = append(r.Notices, nt)
			}
		}
	}
	sort.SliceStable(r.Notices, func(i, j int) bool {
		if r.Notices[i].At != r.Notices[j].At {
			return r.Notices[i].At < r.Notices[j].At
		}
		return r.Notices[i].Channel < r.Notices[j].Channel
	})
	keys := make([]string, 0, len(b.attests))
	for k := range b.attests {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.Attestations = append(r.Attestations, b.attests[k])
	}
}

// outcome decides completed, rolled back, stopped or in progress from the decision sequence.
func (b *builder) outcome() {
	r := b.r
	complete, firstRB, lastRB := -1, -1, -1
	for i, e := range b.entries {
		if e.Gate == engine.Window && e.Complete {
			complete = i
		}
		if e.Decision == engine.Rollback {
			if firstRB < 0 {
				firstRB = i
			}
			lastRB = i
		}
	}
	rt := r.RollbackTo
	switch {
	case complete >= 0 && lastRB < complete:
		r.Outcome = "completed"
		r.OutcomeWhy = []string{fmt.Sprintf("The monitoring window ended at %s without a rollback criterion met; the launch commander can declare the cutover complete.", b.entries[complete].Now)}
		r.Handoff = "Production runs " + r.Version + "; the on-call rotation transitions to standard operation."
	case firstRB >= 0:
		e := b.entries[firstRB]
		r.Outcome = "rolled back"
		if t, err := time.Parse(time.RFC3339, e.Now); err == nil {
			r.RollbackAt = t.Unix()
		}
		var msgs []string
		for _, c := range e.Failed() {
			if c.Outcome == engine.Rollback {
				msgs = append(msgs, c.Message)
			}
		}
		why := []string{fmt.Sprintf("Rollback decided at %s by gate %s: %s.", e.Now, gateLabel(&e), strings.Join(msgs, "; "))}
		verified := "The rollback has not been verified in this archive (no post-rollback record)."
		for _, p := range b.entries[firstRB+1:] {
			if p.Gate == engine.PostRollback {
				if p.Decision == engine.Go {
					verified = fmt.Sprintf("Rollback verified at %s: every instance serves the rollback target and is healthy.", p.Now)
				} else {
					verified = fmt.Sprintf("Rollback NOT verified at %s (%s).", p.Now, p.Decision)
				}
			}
		}
		r.OutcomeWhy = append(why, verified)
		r.Handoff = "Production runs the rollback target " + rt + "; the on-call engineer owns follow-up of the failed release."
	case len(b.entries) > 0 && b.entries[len(b.entries)-1].Decision == engine.NoGo:
		e := b.entries[len(b.entries)-1]
		r.Outcome = "stopped"
		var msgs []string
		for _, c := range e.Failed() {
			msgs = append(msgs, c.Message)
		}
		r.OutcomeWhy = []string{fmt.Sprintf("No-go at %s by gate %s, with no later decision: %s.", e.Now, gateLabel(&e), strings.Join(msgs, "; "))}
		r.Handoff = "The launch did not proceed; the on-call engineer stays on standby."
	case b.ended != nil && (b.ended.Type == archive.EventInterrupted || str(b.ended.Data["outcome"]) == "interrupted"):
		r.Outcome = "interrupted"
		r.OutcomeWhy = []string{fmt.Sprintf("gatekeeper was interrupted at %s (%s) before the launch reached an outcome.", b.ended.At, orDash(str(b.ended.Data["signal"])))}
		r.Handoff = "The launch commander owns the call; resume the watch or decide by hand."
	default:
		r.Outcome = "in progress"
		r.OutcomeWhy = []string{"No completing window decision is recorded yet."}
		r.Handoff = "The launch window is still open; the launch commander owns the call."
	}
}

func gateLabel(e *archive.Entry) string {
	if e.Step != nil {
		return fmt.Sprintf("%s %d%%", e.Gate, *e.Step)
	}
	return string(e.Gate)
}

func reason(c engine.Check) Reason {
	rs := Reason{Rule: c.Rule, Outcome: c.Outcome, Message: c.Message, Observed: "—", Threshold: "—"}
	if v, ok := c.Evidence["observed"]; ok && isScalar(v) {
		rs.Observed = scalar(v)
		if cov, ok := num(c.Evidence["coverage"]); ok {
			rs.Observed += fmt.Sprintf(" (coverage %.0f%%)", cov*100)
		}
	}
	for _, k := range []string{"threshold", "min_requests"} {
		if v, ok := c.Evidence[k]; ok && isScalar(v) {
			rs.Threshold = scalar(v)
			break
		}
	}
	return rs
}

// samples folds a fact's samples into pts (later records win) and returns its own points.
func samples(f map[string]any, pts map[int64]float64) []Point {
	var own []Point
	for _, s := range list(f["samples"]) {
		pair := list(s)
		if len(pair) != 2 {
			continue
		}
		t, ok := num(pair[0])
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(str(pair[1]), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		pts[int64(t)] = v
		own = append(own, Point{T: int64(t), V: v})
	}
	return own
}

func points(m map[int64]float64) []Point {
	out := make([]Point, 0, len(m))
	for t, v := range m {
		out = append(out, Point{T: t, V: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

func latest(p []Point, format string) string {
	if len(p) == 0 {
		return "no data"
	}
	return fmt.Sprintf(format, p[len(p)-1].V)
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		return scalar(x)
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, float64, bool, json.Number:
		return true
	}
	return false
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
