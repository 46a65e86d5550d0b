package main

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
)

// healthyLaunch and rolledBackLaunch are the example launches, gate by gate in launch order.
var (
	healthyLaunch = []string{"healthy__pre-cutover", "healthy__post-deploy", "healthy__post-smoke",
		"healthy__canary-5", "healthy__canary-25", "healthy__canary-100", "healthy__window"}
	rolledBackLaunch = []string{"healthy__pre-cutover", "healthy__post-deploy", "healthy__post-smoke",
		"healthy__canary-5", "sustained-errors__canary-25", "post-rollback-verified__post-rollback"}
)

// buildLaunch decides the named scenarios in the given order with --archive into a new archive.
func buildLaunch(t *testing.T, names []string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop-2.4.0-production")
	byName := map[string]scenario{}
	for _, s := range loadScenarios(t) {
		byName[strings.TrimSuffix(s.File, ".json")] = s
	}
	for _, name := range names {
		s, ok := byName[name]
		if !ok {
			t.Fatalf("scenario %s not in expected.json", name)
		}
		code, _, stderr := gk(t, append(s.args("json"), "--archive", dir)...)
		if code != s.Exit {
			t.Fatalf("%s: exit %d, want %d\n%s", name, code, s.Exit, stderr)
		}
	}
	return dir
}

// launchEvents appends what a launch records between decisions (the announcement, hook runs,
// a signed manual check, the outcome) to the archive in dir, as `launch` and `attest` do.
func launchEvents(t *testing.T, dir string) {
	t.Helper()
	a, err := archive.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A fixed key: the report shows its fingerprint, and the golden file must not change.
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	for _, ev := range []archive.Event{
		{Type: archive.EventNotification, At: "2026-11-24T13:00:00Z", Data: map[string]any{"channel": "launch-channel", "kind": "slack", "event": "announced", "status_code": 200, "delivered": true, "attempts": 1}},
		{Type: archive.EventHook, At: "2026-11-25T13:20:00Z", Data: map[string]any{"name": "deploy", "exit_code": 0, "duration_ms": 41250, "timed_out": false}},
		{Type: archive.EventHook, At: "2026-11-25T13:46:00Z", Data: map[string]any{"name": "shift", "step": 25, "exit_code": 0, "duration_ms": 820, "timed_out": false}},
		{Type: archive.EventAttestation, At: "2026-11-25T13:50:00Z", Data: map[string]any{"kind": "manual_check", "by": "Dana Ortiz", "check": "refund from the admin console", "result": "pass", "critical": true, "note": "order 1042"}},
		{Type: archive.EventHook, At: "2026-11-25T14:02:00Z", Data: map[string]any{"name": "rollback", "exit_code": 0, "duration_ms": 30500, "timed_out": false}},
		{Type: archive.EventNotification, At: "2026-11-25T14:02:01Z", Data: map[string]any{"channel": "launch-channel", "kind": "slack", "event": "rollback", "status_code": 503, "delivered": false, "attempts": 4, "error": "503 Service Unavailable"}},
	} {
		if ev.Type == archive.EventAttestation {
			a.SignWith(priv)
		} else {
			a.SignWith(nil)
		}
		if _, err := a.AppendEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReportGolden(t *testing.T) {
	healthy, rolledBack := buildLaunch(t, healthyLaunch), buildLaunch(t, rolledBackLaunch)
	launchEvents(t, rolledBack)
	tests := []struct {
		name    string
		archive string
		format  string
		golden  string
		want    []string
	}{
		{"healthy-markdown", healthy, "markdown", "healthy.md", []string{"**Outcome: COMPLETED.**", "| UAT build | yes: ", "7 records"}},
		{"healthy-html", healthy, "html", "healthy.html", []string{"<b>COMPLETED</b>", `data-points="84"`}},
		{"rolled-back-markdown", rolledBack, "markdown", "rolled-back.md", []string{"**Outcome: ROLLED BACK.**", "by gate canary 25%: Error rate", "Rollback verified at 2026-11-25T14:15:00Z", "| 2026-11-25T14:01:00Z | canary 25% | rollback | 0.0508 | 0.235 s | 100% |",
			"| 2026-11-25T14:02:00Z | rollback | — | 0 | 30.5s |", "| 2026-11-25T14:02:01Z | launch-channel | rollback |", "`manual check: refund from the admin console`: pass (critical); by Dana Ortiz; order 1042; signed sha256:"}},
		{"rolled-back-html", rolledBack, "html", "rolled-back.html", []string{"<b>ROLLED BACK</b>", `<g class="rollback">`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := gk(t, "report", tt.archive, "--format", tt.format)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("report lacks %q", w)
				}
			}
			file := filepath.Join(t.TempDir(), "report")
			if code, _, stderr := gk(t, "report", tt.archive, "--format", tt.format, "-o", file); code != 0 {
				t.Fatalf("-o: exit %d\n%s", code, stderr)
			}
			if b, err := os.ReadFile(file); err != nil || string(b) != out {
				t.Errorf("-o wrote something else than stdout (%v)", err)
			}
			golden(t, filepath.Join("testdata/golden/report", tt.golden), out, false)
		})
	}
}

func TestReportErrors(t *testing.T) {
	tampered := copyDir(t, buildLaunch(t, rolledBackLaunch[:2]))
	recs := filepath.Join(tampered, "records.jsonl")
	b, err := os.ReadFile(recs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recs, []byte(strings.Replace(string(b), `"decision":"go"`, `"decision":"no-go"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"tampered", []string{"report", tampered}, 4, "record 1"},
		{"missing", []string{"report", filepath.Join(t.TempDir(), "nope")}, 4, "not an archive"},
		{"bad-format", []string{"report", tampered, "--format", "pdf"}, 1, "want markdown or html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := gk(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, want %d and %q in stderr\n%s", code, tt.code, tt.want, stderr)
			}
		})
	}
}

const chromium = "/usr/bin/chromium"

// headless runs Debian's chromium on a local file and returns its stdout and stderr.
func headless(t *testing.T, file string, extra ...string) (string, string) {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}, extra...)
	args = append(args, "file://"+abs)
	cmd := exec.Command(chromium, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errb.String())
	}
	t.Logf("chromium %s: %v", filepath.Base(file), time.Since(start).Round(time.Millisecond))
	return out.String(), errb.String()
}

// consoleLines are the page's console messages chromium logs with --enable-logging.
func consoleLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "CONSOLE") {
			out = append(out, l)
		}
	}
	return out
}

// TestReportInBrowser opens the rolled-back example report in headless Chromium, fails on
// console errors and checks that both charts rendered with every sample and decision marker.
// With -update it also rewrites the screenshot docs/report-example.png.
func TestReportInBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s not installed (apt-get install chromium)", chromium)
	}
	t.Run("console-detection", func(t *testing.T) {
		page := filepath.Join(t.TempDir(), "console.html")
		if err := os.WriteFile(page, []byte(`<!DOCTYPE html><script>console.error("gatekeeper-probe")</script>`), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr := headless(t, page, "--dump-dom")
		if l := consoleLines(stderr); len(l) != 1 || !strings.Contains(l[0], "gatekeeper-probe") {
			t.Fatalf("console error not seen in chromium's stderr: %q", l)
		}
	})
	dir := buildLaunch(t, rolledBackLaunch)
	page := filepath.Join(t.TempDir(), "report.html")
	if code, _, stderr := gk(t, "report", dir, "--format", "html", "-o", page); code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	dom, stderr := headless(t, page, "--dump-dom")
	if l := consoleLines(stderr); len(l) > 0 {
		t.Fatalf("console messages:\n%s", strings.Join(l, "\n"))
	}
	tests := []struct {
		name    string
		id      string
		points  int
		markers int
	}{
		{"error-rate", "chart-error-rate", 42, 5},
		{"latency-p95", "chart-latency-p95", 42, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re := regexp.MustCompile(`(?s)<svg class="chart" id="` + tt.id + `".*?</svg>`)
			svg := re.FindString(dom)
			if svg == "" {
				t.Fatalf("no rendered <svg id=%q> in the DOM", tt.id)
			}
			if n := strings.Count(svg, `<circle class="pt"`); n != tt.points {
				t.Errorf("%d points, want %d", n, tt.points)
			}
			if n := strings.Count(svg, `<g class="marker"`); n != tt.markers {
				t.Errorf("%d decision markers, want %d", n, tt.markers)
			}
			for _, w := range []string{`<g class="rollback">`, `<g class="threshold">`, `<path class="series" d="M`} {
				if !strings.Contains(svg, w) {
					t.Errorf("chart lacks %s", w)
				}
			}
		})
	}
	if *update {
		shot, err := filepath.Abs("docs/report-example.png")
		if err != nil {
			t.Fatal(err)
		}
		headless(t, page, "--screenshot="+shot, "--window-size=1200,2400", "--hide-scrollbars")
	}
}
