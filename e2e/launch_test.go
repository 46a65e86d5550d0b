package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/notify/notifytest"
)

// launchTiming compresses the launch 60 times (testing.time_scale): the 80m window takes 80s,
// each 30m bake 30s, the 2m interval 2s, the 40m max_unknown 40s and the 2m announce lead 2s.
// The criteria are not scaled: 20s sustained at a 1s step with a 2s scrape lag. So a canary
// step is unknown for about 20s after its shift (max_unknown leaves room for that), and the
// faulty release's breach is decided about 24s after the shift, well inside the bake: the
// first samples of a step's window have rate windows reaching back before the shift, so a
// step's verdict settles only once they have left the window.
var launchTiming = timing{Bake: "30m", Window: "80m", Interval: "2m", MaxUnknown: "40m", AnnounceLead: "2m", TimeScale: 60}

// keepEnv names a directory to copy each launch's archive into, to read its report or
// replay it after the test: GATEKEEPER_E2E_KEEP=/tmp/launches go test ./e2e -run TestLaunch -v
const keepEnv = "GATEKEEPER_E2E_KEEP"

// event is one archived decision, as `gatekeeper export` writes it (an OPA decision-log event).
type event struct {
	Timestamp string `json:"timestamp"`
	Input     struct {
		Gate          string `json:"gate"`
		Step          *int   `json:"step"`
		StepStartedAt string `json:"step_started_at"`
		CutoverAt     string `json:"cutover_at"`
	} `json:"input"`
	Result record `json:"result"`
}

// webhookBody is the generic webhook's document (notify/webhook).
type webhookBody struct {
	Type     string            `json:"type"`
	LaunchID string            `json:"launch_id"`
	Version  string            `json:"version"`
	Reason   string            `json:"reason"`
	Fields   map[string]string `json:"fields"`
}

// launched is what one launch left behind.
type launched struct {
	res      result
	took     time.Duration
	archive  string
	events   []event
	webhooks []webhookBody
	slack    []string // raw Slack bodies
}

// launch announces the window, waits out the announce lead, runs `gatekeeper launch` under
// load with gatekeeper's metrics scraped, and collects what it left behind.
func (s *stack) launch(rb string) launched {
	s.t.Helper()
	l := launched{archive: filepath.Join(s.dir, "archives", "staging")}
	began := time.Now()
	// The pre-cutover gate needs the stable cohort's error rate: wait until Prometheus has a
	// request rate from before the scrape lag.
	waitFor(s.t, 30*time.Second, "stable traffic in Prometheus", func() (bool, string) {
		v, ok := s.promQuery(`sum(rate(http_requests_total{track="stable"}[10s] offset 3s))`)
		return ok && v > 0, fmt.Sprint(v)
	})
	s.t.Logf("stable traffic in Prometheus after %s", time.Since(began).Round(100*time.Millisecond))
	windowAt := time.Now().UTC().Add(3 * time.Second).Format(time.RFC3339)
	if res := s.gatekeeper("launch", "--runbook", rb, "--env", "staging", "--archive", l.archive, "--announce", "--window-at", windowAt); res.code != 0 {
		s.t.Fatalf("launch --announce: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	time.Sleep(2500 * time.Millisecond) // the announce lead: 2m / 60

	start := time.Now()
	l.res = s.gatekeeper("launch", "--runbook", rb, "--env", "staging", "--archive", l.archive, "--metrics-addr", s.gkAddr)
	l.took = time.Since(start)
	sum, err := s.traffic.stop()
	if err != nil {
		s.t.Error(err)
	}
	s.t.Logf("ready to launch after %s", start.Sub(began).Round(100*time.Millisecond))
	s.t.Logf("launch exit %d after %s; load sent %d (%v, skipped %d, errors %d)\n--- stdout\n%s--- stderr\n%s",
		l.res.code, l.took.Round(100*time.Millisecond), sum.Sent, sum.Statuses, sum.Skipped, sum.Errors, l.res.stdout, l.res.stderr)

	if keep := os.Getenv(keepEnv); keep != "" {
		dst := filepath.Join(keep, strings.ReplaceAll(s.t.Name(), "/", "-"))
		if err := os.CopyFS(dst, os.DirFS(l.archive)); err != nil {
			s.t.Errorf("keep the archive: %v", err)
		} else {
			s.t.Logf("archive kept in %s (gatekeeper report %s)", dst, dst)
		}
	}

	exp := s.gatekeeper("export", l.archive)
	if exp.code != 0 {
		s.t.Fatalf("export: exit %d\n%s", exp.code, exp.stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(exp.stdout))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			s.t.Fatalf("export line: %v: %.200s", err, sc.Text())
		}
		l.events = append(l.events, e)
	}
	for _, r := range s.status.Requests() {
		var b webhookBody
		if err := json.Unmarshal(r.Body, &b); err != nil {
			s.t.Fatalf("webhook body: %v: %s", err, r.Body)
		}
		l.webhooks = append(l.webhooks, b)
	}
	for _, r := range s.slack.Requests() {
		l.slack = append(l.slack, string(r.Body))
	}
	return l
}

// gates lists the final archived decision of each gate (and canary step) as
// "gate[/step]:decision", in order. Holds before a gate's final decision are expected: a
// canary step is unknown while its window fills, post-smoke until the smoke requests are
// past the scrape lag.
func (l launched) gates() []string {
	var out []string
	last := ""
	for _, e := range l.events {
		g := e.Input.Gate
		if e.Input.Step != nil {
			g += fmt.Sprintf("/%d", *e.Input.Step)
		}
		if g == last {
			out[len(out)-1] = g + ":" + e.Result.Decision
			continue
		}
		last = g
		out = append(out, g+":"+e.Result.Decision)
	}
	return out
}

// decisions counts the archived decisions by value.
func (l launched) decisions() map[string]int {
	n := map[string]int{}
	for _, e := range l.events {
		n[e.Result.Decision]++
	}
	return n
}

// webhookTypes lists the generic webhook's events in order, holds left out (see gates).
func (l launched) webhookTypes() []string {
	var out []string
	for _, w := range l.webhooks {
		if w.Type != "hold" {
			out = append(out, w.Type)
		}
	}
	return out
}

// webhook returns the first webhook event of the type.
func (l launched) webhook(t *testing.T, typ string) webhookBody {
	t.Helper()
	for _, w := range l.webhooks {
		if w.Type == typ {
			return w
		}
	}
	t.Fatalf("no %s webhook", typ)
	return webhookBody{}
}

// checkCommon asserts what every launch must leave: an archive that replays, a report from
// it, no secret anywhere in the archive, and gatekeeper's own metrics in Prometheus.
func (s *stack) checkCommon(l launched, version, metricGate, metricDecision string) string {
	t := s.t
	t.Helper()
	if res := s.gatekeeper("replay", l.archive); res.code != 0 {
		t.Errorf("replay: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	rep := s.gatekeeper("report", l.archive)
	if rep.code != 0 {
		t.Fatalf("report: exit %d\n%s", rep.code, rep.stderr)
	}
	if !strings.Contains(rep.stdout, version) {
		t.Errorf("report does not name release %s", version)
	}
	for _, f := range []string{"report.md", "report.html"} {
		if _, err := os.Stat(filepath.Join(l.archive, f)); err != nil {
			t.Errorf("launch left no %s in the archive: %v", f, err)
		}
	}
	secrets := []string{notifytest.Secret, dbPassword, s.dsn}
	err := filepath.WalkDir(l.archive, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, sec := range secrets {
			if strings.Contains(string(b), sec) {
				t.Errorf("%s holds a secret", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{l.res.stdout, l.res.stderr, rep.stdout} {
		for _, sec := range secrets {
			if strings.Contains(out, sec) {
				t.Errorf("gatekeeper's output holds a secret")
			}
		}
	}
	// Prometheus scraped gatekeeper's --metrics-addr during the launch; the range selector
	// reads samples from before the target went away.
	v, ok := s.promQuery(`sum(max_over_time(gatekeeper_gate_decisions_total[10m]))`)
	if !ok || v < 3 {
		t.Errorf("gatekeeper_gate_decisions_total in Prometheus: %v (present %v), want the launch's decisions", v, ok)
	}
	q := fmt.Sprintf(`max_over_time(gatekeeper_gate_decisions_total{gate=%q,decision=%q}[10m])`, metricGate, metricDecision)
	if v, ok := s.promQuery(q); !ok || v < 1 {
		t.Errorf("%s: %v (present %v), want at least 1", q, v, ok)
	}
	return rep.stdout
}

// TestLaunch runs `gatekeeper launch` on staging for the healthy release, which completes,
// and for the faulty one, which rolls back at the first canary step with the rollback
// verified. Both launch over release 1.0.0 with real hooks, pytest, PostgreSQL and Prometheus.
func TestLaunch(t *testing.T) {
	requireRealParts(t)

	t.Run("healthy", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, "1.0.0")
		rb := s.writeRunbook("1.1.0", "1.0.0", launchTiming)
		l := s.launch(rb)
		if l.res.code != 0 {
			t.Fatalf("launch of the healthy release: exit %d, want 0 (complete)", l.res.code)
		}
		want := []string{"pre-cutover:go", "post-deploy:go", "post-smoke:go", "canary/25:go", "canary/100:go", "window:go"}
		if got := l.gates(); !slices.Equal(got, want) {
			t.Errorf("final decisions %v\nwant            %v", got, want)
		}
		if n := l.decisions(); n["rollback"] != 0 {
			t.Errorf("decisions %v: the healthy release was never to be rolled back", n)
		}
		var v map[string]string
		var w map[string]int
		getJSON(t, "http://"+s.canaryAddr+"/version", &v)
		getJSON(t, "http://"+s.routerAddr+"/-/weight", &w)
		if v["version"] != "1.1.0" || w["canary"] != 100 {
			t.Errorf("after the launch: canary slot %s at weight %d, want 1.1.0 at 100", v["version"], w["canary"])
		}
		if got, want := l.webhookTypes(), []string{"announced", "cutover_started", "smoke_passed", "complete"}; !slices.Equal(got, want) {
			t.Errorf("webhook events %v, want %v", got, want)
		}
		if len(l.slack) != len(l.webhooks) {
			t.Errorf("slack got %d messages, the webhook %d", len(l.slack), len(l.webhooks))
		}
		report := s.checkCommon(l, "1.1.0", "canary", "go")
		if !strings.Contains(report, "**Outcome: COMPLETED.**") {
			t.Errorf("report does not say the launch completed:\n%.600s", report)
		}
		t.Logf("healthy launch took %s", l.took.Round(100*time.Millisecond))
	})

	t.Run("faulty", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, "1.0.0")
		rb := s.writeRunbook("1.1.1", "1.0.0", launchTiming)
		l := s.launch(rb)
		if l.res.code != 3 {
			t.Fatalf("launch of the faulty release: exit %d, want 3 (rolled back, verified)", l.res.code)
		}
		// Rolled back at the first step: the 100% step never starts.
		want := []string{"pre-cutover:go", "post-deploy:go", "post-smoke:go", "canary/25:rollback", "post-rollback:go"}
		if got := l.gates(); !slices.Equal(got, want) {
			t.Errorf("final decisions %v\nwant            %v", got, want)
		}
		// The rollback decision: the sustained error rate on the canary, soon after the shift.
		for _, e := range l.events {
			if e.Input.Gate != "canary" || e.Result.Decision != "rollback" {
				continue
			}
			outcome, _, msg, ev := e.Result.check(t, "canary.error_rate_sustained")
			if outcome != "rollback" {
				t.Errorf("canary.error_rate_sustained %s: %s", outcome, msg)
			}
			if obs, _ := ev["observed"].(float64); obs < 0.05 || obs > 0.11 {
				t.Errorf("observed error ratio %v, want about 0.08", ev["observed"])
			}
			shifted, err1 := time.Parse(time.RFC3339Nano, e.Input.StepStartedAt)
			decided, err2 := time.Parse(time.RFC3339Nano, e.Timestamp)
			if err1 != nil || err2 != nil {
				t.Fatalf("times: %v %v", err1, err2)
			}
			// A breach is decided within sustained + interval + scrape lag (20s + 2s + 2s) of
			// its start. Here it starts a little after the shift, once the routed requests
			// dominate the 10s rate window; allow for that and an evaluation's own time
			// (measured: 23-26s).
			if d := decided.Sub(shifted); d > 30*time.Second {
				t.Errorf("rollback decided %s after the shift, want within 30s", d)
			}
			t.Logf("rollback decided %s after the shift to 25%%", decided.Sub(shifted).Round(100*time.Millisecond))
			break
		}
		var v map[string]string
		var w map[string]int
		getJSON(t, "http://"+s.canaryAddr+"/version", &v)
		getJSON(t, "http://"+s.routerAddr+"/-/weight", &w)
		if v["version"] != "1.0.0" || w["canary"] != 0 {
			t.Errorf("after the rollback: canary slot %s at weight %d, want 1.0.0 at 0", v["version"], w["canary"])
		}
		if got, want := l.webhookTypes(), []string{"announced", "cutover_started", "smoke_passed", "rollback"}; !slices.Equal(got, want) {
			t.Errorf("webhook events %v, want %v", got, want)
		}
		if r := l.webhook(t, "rollback").Reason; !strings.Contains(r, "canary.error_rate_sustained") {
			t.Errorf("rollback notification reason %q does not name the error rate", r)
		}
		// post-rollback verified the target on every instance of both cohorts.
		for _, e := range l.events {
			if e.Input.Gate == "post-rollback" && e.Result.Decision == "go" {
				outcome, _, msg, ev := e.Result.check(t, "post_rollback.version")
				exp, _ := ev["expected"].(map[string]any)
				obs, _ := ev["observed"].(map[string]any)
				if outcome != "go" || exp["version"] != "1.0.0" || obs["matching"] != 2.0 {
					t.Errorf("post_rollback.version %s (%s): %v", outcome, msg, ev)
				}
			}
		}
		report := s.checkCommon(l, "1.1.1", "canary", "rollback")
		for _, want := range []string{"**Outcome: ROLLED BACK.**", "by gate canary 25%", "canary.error_rate_sustained", "Rollback verified at"} {
			if !strings.Contains(report, want) {
				t.Errorf("report lacks %q:\n%.800s", want, report)
			}
		}
		t.Logf("faulty launch took %s", l.took.Round(100*time.Millisecond))
	})
}
