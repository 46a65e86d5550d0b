package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/collectortest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

var fixedNow = time.Date(2026, 11, 26, 8, 5, 0, 0, time.UTC)

func fixedClock() time.Time { return fixedNow }

// copyReport copies a testdata report into dir/reports.
func copyReport(t *testing.T, dir, src string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "reports"), 0o755); err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join("reports", filepath.Base(src))
	if err := os.WriteFile(filepath.Join(dir, rel), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return rel
}

// exampleRunbook loads the example launch's runbook with its smoke section replaced, through
// the real loader (schema validation and normalization), from dir.
func exampleRunbook(t *testing.T, dir, smoke string) *engine.Runbook {
	t.Helper()
	src, err := os.ReadFile("../../testdata/example/runbook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	start := strings.Index(doc, "\nsmoke:\n")
	end := strings.Index(doc, "\ncriteria:\n")
	if start < 0 || end < start {
		t.Fatal("example runbook has no smoke section before criteria")
	}
	doc = doc[:start] + "\n" + smoke + doc[end:]
	path := filepath.Join(dir, "runbook.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	rb, err := engine.LoadRunbook(path)
	if err != nil {
		t.Fatalf("load runbook: %v", err)
	}
	return rb
}

func postSmoke(rb *engine.Runbook) engine.Request {
	return engine.Request{Runbook: rb, Environment: "production", Gate: engine.PostSmoke, Now: fixedNow}
}

func smokeFact(t *testing.T, facts map[string]engine.Fact) engine.Fact {
	t.Helper()
	if len(facts) != 1 {
		t.Fatalf("got facts %v, want only smoke", facts)
	}
	f, ok := facts["smoke"]
	if !ok {
		t.Fatal("no smoke fact")
	}
	if f.Source != "smoke" {
		t.Errorf("source = %q", f.Source)
	}
	return f
}

// factJSON renders the smoke fact as the policy input holds it.
func factJSON(t *testing.T, f engine.Fact) map[string]any {
	t.Helper()
	b, err := json.Marshal(f.Map())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func assertKit(t *testing.T, facts map[string]engine.Fact) {
	t.Helper()
	collectortest.AssertSchema(t, facts)
	collectortest.AssertProvenance(t, facts)
	collectortest.AssertNoSecret(t, facts)
}

// TestCollectMergesReports: several real reports and a built-in check, from a runbook loaded
// by the real loader, become one fact: every test, earliest start, latest end.
func TestCollectMergesReports(t *testing.T) {
	srv := collectortest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status": "ok"}`)
	}))
	dir := t.TempDir()
	pw := copyReport(t, dir, "testdata/playwright/pw.json")
	py := copyReport(t, dir, "testdata/pytest/pytest-junit.xml")
	gj := copyReport(t, dir, "testdata/gotest/go-junit.xml")
	rb := exampleRunbook(t, dir, `smoke:
  reports:
    - {path: `+pw+`, format: playwright-json}
    - {path: `+py+`, format: junit}
    - {path: `+gj+`, format: junit}
  budget: 8m
  critical: ["homepage loads with 200"]
  checks:
    - {name: "status endpoint answers", url: "`+srv.URL+`/status", expect_body: '"ok"'}
`)
	// The HTTP check runs at 08:00:00, before the reports' runs end.
	clock := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	c := New(WithClock(func() time.Time { return clock }))
	facts := c.Collect(context.Background(), postSmoke(rb))
	f := smokeFact(t, facts)
	assertKit(t, facts)
	if f.Err != "" {
		t.Fatalf("error: %s", f.Err)
	}
	if want := pw + ", " + py + ", " + gj; f.Path != want {
		t.Errorf("path = %q, want %q", f.Path, want)
	}
	if f.URL != srv.URL+"/status" {
		t.Errorf("url = %q", f.URL)
	}
	if !f.CollectedAt.Equal(clock) {
		t.Errorf("collected_at = %v", f.CollectedAt)
	}
	m := factJSON(t, f)
	if m["started_at"] != "2026-11-26T08:00:00Z" || m["finished_at"] != "2026-11-26T08:01:40.134592Z" {
		t.Errorf("started_at %v finished_at %v: want the HTTP check's start and Playwright's end", m["started_at"], m["finished_at"])
	}
	tests := m["tests"].([]any)
	if len(tests) != 5+6+6+1 {
		t.Fatalf("got %d tests", len(tests))
	}
	last := tests[len(tests)-1].(map[string]any)
	if last["suite"] != HTTPSuite || last["name"] != "status endpoint answers" || last["status"] != "passed" || last["critical"] != true {
		t.Errorf("http check test = %v", last)
	}
	counts := m["counts"].(map[string]any)
	wantCounts := map[string]float64{"total": 18, "passed": 7, "failed": 6, "skipped": 4, "flaky": 1}
	for k, v := range wantCounts {
		if counts[k] != v {
			t.Errorf("counts[%s] = %v, want %v (all: %v)", k, counts[k], v, counts)
		}
	}
	if errs := m["errors"].([]any); len(errs) != 0 {
		t.Errorf("errors = %v", errs)
	}
	reports := m["reports"].([]any)
	if r := reports[1].(map[string]any); r["path"] != py || r["started_at"] != "2026-11-26T08:00:28.508579Z" || r["tests"] != 6.0 {
		t.Errorf("reports[1] = %v", r)
	}
	// Every test carries the documented fields.
	for _, x := range tests {
		tm := x.(map[string]any)
		for _, k := range []string{"name", "suite", "status", "duration_ms", "message"} {
			if _, ok := tm[k]; !ok {
				t.Errorf("test %v lacks %s", tm, k)
			}
		}
	}
}

func TestCollectOnlyAtPostSmoke(t *testing.T) {
	dir := t.TempDir()
	rb := exampleRunbook(t, dir, "smoke:\n  reports: [{path: nowhere.xml, format: junit}]\n  budget: 8m\n  critical: [x]\n")
	for _, g := range engine.Gates() {
		req := postSmoke(rb)
		req.Gate = g
		facts := New().Collect(context.Background(), req)
		if g == engine.PostSmoke && len(facts) != 1 {
			t.Errorf("%s: got %d facts", g, len(facts))
		}
		if g != engine.PostSmoke && len(facts) != 0 {
			t.Errorf("%s: got facts %v, want none", g, facts)
		}
	}
}

// TestCollectReportFaults: a report that cannot be read or parsed gives the fact an error
// naming the file, and the good reports are still there.
func TestCollectReportFaults(t *testing.T) {
	type fault struct {
		name   string
		format string
		make   func(t *testing.T, path string) string // returns the runbook path of the report
		opts   []Option
		want   string
	}
	write := func(content string) func(t *testing.T, path string) string {
		return func(t *testing.T, path string) string {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			return path
		}
	}
	faults := []fault{
		{"missing file", FormatJUnit, func(t *testing.T, path string) string { return path }, nil, "cannot open report: no such file or directory"},
		{"directory", FormatJUnit, func(t *testing.T, path string) string {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
			return path
		}, nil, "cannot read report: is a directory"},
		{"empty file", FormatJUnit, write(""), nil, "empty report (0 bytes)"},
		{"whitespace file", FormatJUnit, write("\n\n"), nil, "junit: empty report"},
		{"truncated XML", FormatJUnit, write(`<testsuites><testsuite name="a" timestamp="2026-11-26T08:00:00Z"><testcase name="t">`), nil, "junit: malformed XML on line 1: unexpected EOF"},
		{"truncated JSON", FormatPlaywrightJSON, write(`{"suites": [{"title": "a", "specs": [`), nil, "playwright-json: truncated report"},
		{"k6 export given as handleSummary", FormatK6Summary, func(t *testing.T, path string) string {
			b, _ := os.ReadFile("testdata/k6/k6-summary-export.json")
			return write(string(b))(t, path)
		}, nil, "use format k6-summary-export"},
		{"over the size limit", FormatJUnit, func(t *testing.T, path string) string {
			// Sparse: 300 MiB on paper, nothing on disk; refused before reading.
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(300 << 20); err != nil {
				t.Fatal(err)
			}
			return path
		}, nil, "report too large: 314572800 bytes, over the limit of 209715200"},
		{"endless stream", FormatJUnit, func(t *testing.T, path string) string {
			// A FIFO fed forever with valid JUnit: only the streaming limit stops it.
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			go func() {
				w, err := os.OpenFile(path, os.O_WRONLY, 0)
				if err != nil {
					return
				}
				defer w.Close()
				if _, err := w.WriteString(`<testsuite name="endless" timestamp="2026-11-26T08:00:00Z">`); err != nil {
					return
				}
				chunk := []byte(strings.Repeat(`<testcase name="again"/>`, 1000))
				for {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			}()
			return path
		}, []Option{WithMaxReportBytes(1 << 20)}, "report too large: more than 1048576 bytes"},
		{"unknown format", "tap", write("TAP version 13"), nil, `unknown report format "tap"`},
	}
	if os.Geteuid() != 0 {
		faults = append(faults, fault{"unreadable file", FormatJUnit, func(t *testing.T, path string) string {
			write("<testsuite/>")(t, path)
			if err := os.Chmod(path, 0); err != nil {
				t.Fatal(err)
			}
			return path
		}, nil, "permission denied"})
	}
	for _, fc := range faults {
		t.Run(fc.name, func(t *testing.T) {
			dir := t.TempDir()
			good := copyReport(t, dir, "testdata/gotest/go-junit.xml")
			bad := fc.make(t, filepath.Join(dir, "reports", "bad.report"))
			rel := bad
			if strings.HasPrefix(bad, dir) {
				rel, _ = filepath.Rel(dir, bad)
			}
			rb := &engine.Runbook{Path: filepath.Join(dir, "runbook.yaml")}
			rb.Spec.Smoke.Reports = []engine.SmokeReport{{Path: good, Format: FormatJUnit}, {Path: rel, Format: fc.format}}
			start := time.Now()
			facts := New(append(fc.opts, WithClock(fixedClock))...).Collect(context.Background(), postSmoke(rb))
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			collectortest.AssertFailed(t, facts, "smoke")
			assertKit(t, facts)
			f := smokeFact(t, facts)
			if !strings.HasPrefix(f.Err, "collect smoke: "+rel+": ") || !strings.Contains(f.Err, fc.want) {
				t.Errorf("error = %q, want one naming %s and saying %q", f.Err, rel, fc.want)
			}
			m := factJSON(t, f)
			errs := m["errors"].([]any)
			if len(errs) != 1 || !strings.HasPrefix(errs[0].(string), rel+": ") {
				t.Errorf("errors = %v", errs)
			}
			if len(m["tests"].([]any)) != 6 {
				t.Errorf("the good report's tests are missing: %v", m["tests"])
			}
			if _, ok := m["started_at"]; ok {
				t.Errorf("started_at %v despite a report that could not be read", m["started_at"])
			}
		})
	}
}

// TestCollectUntimedReport: a k6 summary says how long, not when; the fact then has no
// started_at / finished_at, so the policies cannot take another report's times for its run.
func TestCollectUntimedReport(t *testing.T) {
	dir := t.TempDir()
	k6 := copyReport(t, dir, "testdata/k6/k6-summary.json")
	ex := copyReport(t, dir, "testdata/k6/k6-summary-export.json")
	py := copyReport(t, dir, "testdata/pytest/pytest-junit.xml")
	rb := exampleRunbook(t, dir, `smoke:
  reports:
    - {path: `+k6+`, format: k6-summary}
    - {path: `+ex+`, format: k6-summary-export}
    - {path: `+py+`, format: junit}
  budget: 8m
  critical: ["/^payment/"]
`)
	facts := New(WithClock(fixedClock)).Collect(context.Background(), postSmoke(rb))
	assertKit(t, facts)
	f := smokeFact(t, facts)
	if f.Err != "" {
		t.Fatalf("error: %s", f.Err)
	}
	m := factJSON(t, f)
	if _, ok := m["started_at"]; ok {
		t.Errorf("started_at = %v, want none", m["started_at"])
	}
	if _, ok := m["finished_at"]; ok {
		t.Errorf("finished_at = %v, want none", m["finished_at"])
	}
	if n := len(m["tests"].([]any)); n != 9+9+6 {
		t.Errorf("got %d tests", n)
	}
	r0 := m["reports"].([]any)[0].(map[string]any)
	if r0["duration_ms"] != 30512.0 || r0["started_at"] != nil {
		t.Errorf("k6 report entry = %v", r0)
	}
}

func TestCollectNothingConfigured(t *testing.T) {
	dir := t.TempDir()
	rb := exampleRunbook(t, dir, "smoke:\n  budget: 8m\n  critical: [x]\n")
	facts := New(WithClock(fixedClock)).Collect(context.Background(), postSmoke(rb))
	collectortest.AssertFailed(t, facts, "smoke")
	assertKit(t, facts)
	if f := facts["smoke"]; !strings.Contains(f.Err, "names no reports and no checks") || f.Path != rb.Path {
		t.Errorf("fact = %+v", f)
	}
	facts = New().Collect(context.Background(), engine.Request{Gate: engine.PostSmoke})
	collectortest.AssertFailed(t, facts, "smoke")
	collectortest.AssertProvenance(t, facts)
}

func TestCollectCancelled(t *testing.T) {
	dir := t.TempDir()
	py := copyReport(t, dir, "testdata/pytest/pytest-junit.xml")
	rb := &engine.Runbook{Path: filepath.Join(dir, "runbook.yaml")}
	rb.Spec.Smoke.Reports = []engine.SmokeReport{{Path: py, Format: FormatJUnit}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	facts := New().Collect(ctx, postSmoke(rb))
	collectortest.AssertFailed(t, facts, "smoke")
	if f := facts["smoke"]; !strings.Contains(f.Err, "interrupted") {
		t.Errorf("error = %q", f.Err)
	}
}
