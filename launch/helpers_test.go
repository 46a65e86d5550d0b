package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/live"
	"github.com/gatekeeper-dev/gatekeeper/notify/notifytest"
)

const scenarios = "../testdata/example/scenarios"

// rbParams fill testdata/runbook.yaml.tmpl.
type rbParams struct {
	Strategy string
	Hooks    map[string]int // hook name → exit code; absent hooks are not in the runbook
	Sleep    map[string]int // hook name → seconds to sleep
	Timeout  string
	Env      string
	Extra    string // top-level YAML added before signoff (testing: ...)
	Digest   string
	Window   string // window.duration (default 30m)
	Interval string // window.interval (default 1m)
	// OldHealth replaces the old cohort's health URLs (blue-green warm checks).
	OldHealth string
}

const canaryStrategy = "  kind: canary\n  steps:\n    - {percent: 50, bake: 3m}\n    - {percent: 100, bake: 3m}"

// fixture is a launch of the test runbook on a fake clock, with facts from the example
// scenarios moved to the clock's time.
type fixture struct {
	t       *testing.T
	dir     string
	log     string
	archive string
	rb      *engine.Runbook
	env     string
	clock   *FakeClock
	recv    *notifytest.Receiver
	view    *PlainView
	out     *bytes.Buffer

	mu     sync.Mutex
	files  map[string]string // gate key → scenario file
	mutate func(p engine.Params, n int, facts map[string]any)
	calls  map[engine.Gate]int
}

func newFixture(t *testing.T, p rbParams) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, log: filepath.Join(dir, "hooks.log"), archive: filepath.Join(dir, "archive"),
		clock: NewFakeClock(time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)), out: &bytes.Buffer{}, calls: map[engine.Gate]int{},
		files: map[string]string{
			"pre-cutover": "healthy__pre-cutover", "post-deploy": "healthy__post-deploy", "post-smoke": "healthy__post-smoke",
			"canary": "healthy__canary-25", "window": "healthy__window", "post-rollback": "post-rollback-verified__post-rollback",
		}}
	f.view = NewPlainView(f.out)
	f.rb = writeRunbook(t, dir, f.log, p)
	f.env = p.Env
	if f.env == "" {
		f.env = "production"
	}
	f.recv = notifytest.NewReceiver(t)
	return f
}

// writeRunbook renders the template, signs it off with its own digest and loads it.
func writeRunbook(t *testing.T, dir, log string, p rbParams) *engine.Runbook {
	t.Helper()
	if p.Strategy == "" {
		p.Strategy = canaryStrategy
	}
	if p.Env == "" {
		p.Env = "production"
	}
	if p.Timeout == "" {
		p.Timeout = "20s"
	}
	hookDir, err := filepath.Abs("testdata/hooks")
	if err != nil {
		t.Fatal(err)
	}
	var hooks strings.Builder
	for _, name := range []string{HookDeploy, HookShift, HookSwitch, HookRollback, HookSmoke} {
		code, ok := p.Hooks[name]
		if !ok {
			continue
		}
		fmt.Fprintf(&hooks, "      %s: [%q, %q, %q, \"%d\", \"%d\"]\n", name, filepath.Join(hookDir, "hook.sh"), name, log, code, p.Sleep[name])
	}
	fmt.Fprintf(&hooks, "      timeout: %s", p.Timeout)
	tmpl := template.Must(template.ParseFiles("testdata/runbook.yaml.tmpl"))
	render := func(digest string) []byte {
		var b bytes.Buffer
		q := p
		q.Digest = digest
		if err := tmpl.Execute(&b, struct {
			rbParams
			Hooks string
		}{q, hooks.String()}); err != nil {
			t.Fatal(err)
		}
		if p.OldHealth != "" {
			return oldHealthRe.ReplaceAll(b.Bytes(), []byte(p.OldHealth))
		}
		return b.Bytes()
	}
	path := filepath.Join(dir, "runbook.yaml")
	draft, err := engine.ParseRunbook(path, render("sha256:"+strings.Repeat("0", 64)))
	if err != nil {
		t.Fatalf("test runbook: %v", err)
	}
	data := render(draft.SignoffDigest)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rb, err := engine.LoadRunbook(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := rb.VerifySignoff(); err != nil {
		t.Fatal(err)
	}
	return rb
}

// runner builds the Runner under test.
func (f *fixture) runner(opts ...Option) *Runner {
	f.t.Helper()
	url := f.recv.HookURL()
	all := append([]Option{WithClock(f.clock), WithGather(f.gather), WithView(f.view),
		WithGetenv(func(k string) string {
			if strings.HasPrefix(k, "GK_TEST_") {
				return url
			}
			return ""
		})}, opts...)
	r, err := New(f.rb, f.env, f.archive, all...)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// gather returns the scenario's facts for p's gate, moved so that the scenario's now is
// p.Now, plus what the archive knows (history) as live.Gather adds it.
func (f *fixture) gather(_ context.Context, p engine.Params) (*engine.Input, error) {
	f.mu.Lock()
	key := string(p.Gate)
	name := f.files[key]
	f.calls[p.Gate]++
	n := f.calls[p.Gate]
	mutate := f.mutate
	f.mu.Unlock()
	facts, err := scenarioFacts(name, p.Now)
	if err != nil {
		return nil, err
	}
	delete(facts, "history")
	if mutate != nil {
		mutate(p, n, facts)
	}
	if _, err := os.Stat(filepath.Join(f.archive, archive.MetaFile)); err == nil {
		known, err := live.FromArchive(f.archive, p.Now)
		if err != nil {
			return nil, err
		}
		for k, v := range engine.FactsMap(known) {
			if _, ok := facts[k]; !ok || archiveWins[k] {
				facts[k] = v
			}
		}
	}
	return engine.BuildInput(f.rb, p, facts)
}

// scenarioFacts reads an example scenario's facts with every time moved by now − its now.
func scenarioFacts(name string, now time.Time) (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(scenarios, name+".json"))
	if err != nil {
		return nil, err
	}
	var in struct {
		Now   string         `json:"now"`
		Facts map[string]any `json:"facts"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	at, err := time.Parse(time.RFC3339, in.Now)
	if err != nil {
		return nil, err
	}
	shift(in.Facts, now.Sub(at))
	return in.Facts, nil
}

// archiveWins are the facts the launch itself makes (its history and events): the archive's
// replace the scenario's.
var archiveWins = map[string]bool{"history": true, "deployment": true, "attestations": true, "hooks": true, "notifications": true}

var oldHealthRe = regexp.MustCompile(`http://web-stable-\d\.prod\.shop\.internal:8080/healthz`)

var rfc3339 = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`)

// shift moves every RFC 3339 time and every sample timestamp in v by d.
func shift(v any, d time.Duration) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = shift(e, d)
		}
	case []any:
		if len(x) == 2 {
			if t, ok := x[0].(float64); ok {
				if _, ok := x[1].(string); ok {
					x[0] = t + d.Seconds()
					return x
				}
			}
		}
		for i, e := range x {
			x[i] = shift(e, d)
		}
	case string:
		if rfc3339.MatchString(x) {
			t, err := time.Parse(time.RFC3339Nano, x)
			if err == nil {
				return t.Add(d).UTC().Format(time.RFC3339)
			}
		}
	}
	return v
}

// hookLog is the hooks that ran, in order, as "name step".
func (f *fixture) hookLog() []string {
	b, err := os.ReadFile(f.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		fields := strings.Fields(l)
		out = append(out, fields[0]+" "+strings.TrimPrefix(fields[1], "step="))
	}
	return out
}

// events returns the archive's events of one type.
func (f *fixture) events(typ string) []map[string]any {
	f.t.Helper()
	a, err := archive.Open(f.archive)
	if err != nil {
		f.t.Fatal(err)
	}
	es, err := a.Events()
	if err != nil {
		f.t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range es {
		if e.Event.Type == typ {
			out = append(out, e.Event.Data)
		}
	}
	return out
}

// records returns the archive's decision records.
func (f *fixture) records() []*archive.Entry {
	f.t.Helper()
	a, err := archive.Open(f.archive)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []*archive.Entry
	if err := a.Walk(func(_ int, e *archive.Entry, _ []byte) error {
		c := *e
		out = append(out, &c)
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// notified is the event types the receiver got, in order (one per channel).
func (f *fixture) notified() []string {
	var out []string
	for _, r := range f.recv.Requests() {
		var m map[string]any
		if json.Unmarshal(r.Body, &m) == nil {
			if typ, ok := m["event"].(string); ok {
				out = append(out, typ)
				continue
			}
			if typ, ok := m["type"].(string); ok {
				out = append(out, typ)
				continue
			}
		}
		out = append(out, "?")
	}
	return out
}

func notifiedTypes(f *fixture) []string {
	var out []string
	for _, d := range f.events(EventNotification) {
		out = append(out, fmt.Sprint(d["event"]))
	}
	return out
}

// brokenSeries replaces a series fact's samples with v everywhere.
func setSeries(facts map[string]any, name, v string) {
	fact := facts[name].(map[string]any)
	samples := fact["samples"].([]any)
	for i, s := range samples {
		p := s.([]any)
		samples[i] = []any{p[0], v}
	}
}

// slowHooks runs hooks for real and lets the fake clock pass as if each took its time.
type slowHooks struct {
	clock *FakeClock
	took  map[string]time.Duration
}

func (s slowHooks) Run(ctx context.Context, h Hook, c Clock) HookResult {
	res := ExecRunner{}.Run(ctx, h, c)
	s.clock.Advance(s.took[h.Name])
	res.FinishedAt = s.clock.Now()
	return res
}

// realistic is how long hooks take in the tests' simulated time.
func (f *fixture) realistic() Option {
	return WithHookRunner(slowHooks{clock: f.clock, took: map[string]time.Duration{
		HookDeploy: time.Minute, HookSmoke: 7 * time.Minute, HookShift: 10 * time.Second, HookRollback: time.Minute,
	}})
}

func readLines(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func splitFields(s string) []string { return strings.Fields(s) }

func cutPrefix(s, p string) (string, bool) { return strings.CutPrefix(s, p) }
