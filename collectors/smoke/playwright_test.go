package smoke

import (
	"strings"
	"testing"
	"time"
)

// TestPlaywrightRealReport checks the JSON report of the real Playwright run (testdata/README.md).
func TestPlaywrightRealReport(t *testing.T) {
	s := parseFile(t, FormatPlaywrightJSON, "testdata/playwright/pw.json")
	checkTests(t, s.Tests, []want{
		{"checkout.spec.js", "checkout › checkout pays with card", StatusFailed, `Expected: "Total: 25.00"`},
		{"checkout.spec.js", "checkout › checkout applies coupon", StatusSkipped, "coupons are disabled in this environment"},
		{"checkout.spec.js", "checkout › wallet › wallet page opens", StatusPassed, ""},
		{"home.spec.js", "homepage loads with 200", StatusPassed, ""},
		{"home.spec.js", "dashboard loads for test user", StatusFlaky, "passed on retry after attempt 1 failed: Error: first attempt fails on purpose"},
	})
	// stats.startTime, and stats.startTime + stats.duration (later than any result's end).
	checkTimes(t, s, "2026-11-26T08:01:33.892Z", "2026-11-26T08:01:40.134592Z")
	if len(s.Errors) != 0 {
		t.Errorf("errors = %q", s.Errors)
	}
	if got := s.Tests[0].Duration; got != 2552*time.Millisecond {
		t.Errorf("duration of the failed test = %v, want 2.552s (both attempts)", got)
	}
	for _, tt := range s.Tests {
		if strings.Contains(tt.Message, "\x1b") {
			t.Errorf("%s: message keeps terminal escapes: %q", tt.Name, tt.Message)
		}
		if tt.Attrs["project"] != "smoke" {
			t.Errorf("%s: project = %v", tt.Name, tt.Attrs["project"])
		}
	}
}

// pwDoc wraps suites, errors and stats into a report.
func pwDoc(suites, errors, stats string) string {
	return `{"config": {"x": [1, {"y": null}]}, "suites": ` + suites + `, "errors": ` + errors + `, "stats": ` + stats + `}`
}

const pwStatsLying = `{"startTime": "2026-11-25T14:00:00.000Z", "duration": 60000, "expected": 99, "unexpected": 0, "flaky": 0, "skipped": 0}`

func pwSpecJSON(title, expected, status string, results ...string) string {
	return `{"title": "` + title + `", "ok": true, "tests": [{"expectedStatus": "` + expected + `", "status": "` + status +
		`", "projectName": "", "annotations": [], "results": [` + strings.Join(results, ",") + `]}]}`
}

func pwResultJSON(status string, retry int, start string, msg string) string {
	r := `{"status": "` + status + `", "duration": 1000, "retry": ` + string(rune('0'+retry)) + `, "startTime": "` + start + `"`
	if msg != "" {
		r += `, "error": {"message": "` + msg + `"}, "errors": [{"message": "` + msg + `"}]`
	}
	return r + `}`
}

func TestPlaywrightVariants(t *testing.T) {
	r := pwResultJSON
	cases := []struct {
		name       string
		doc        string
		start, end string
		tests      []want
		errors     []string
	}{
		{
			name: "statuses recomputed from the results; stats not trusted",
			doc: pwDoc(`[{"title": "a.spec.ts", "file": "a.spec.ts", "specs": [
				`+pwSpecJSON("says expected but failed", "passed", "expected", r("failed", 0, "2026-11-25T14:00:01Z", "boom"))+`,
				`+pwSpecJSON("fails twice", "passed", "unexpected", r("failed", 0, "2026-11-25T14:00:02Z", "one"), r("timedOut", 1, "2026-11-25T14:00:03Z", "two"))+`,
				`+pwSpecJSON("fails then passes", "passed", "flaky", r("failed", 0, "2026-11-25T14:00:04Z", "first"), r("passed", 1, "2026-11-25T14:01:30Z", ""))+`,
				`+pwSpecJSON("expected to fail and failed", "failed", "expected", r("failed", 0, "2026-11-25T14:00:05Z", "as expected"))+`,
				`+pwSpecJSON("interrupted", "passed", "skipped", r("interrupted", 0, "2026-11-25T14:00:06Z", ""))+`,
				`+pwSpecJSON("says flaky but passed", "passed", "flaky", r("passed", 0, "2026-11-25T14:00:07Z", ""))+`
			], "suites": []}]`, `[]`, pwStatsLying),
			// stats.startTime + 60 s ends before the last result (14:01:30 + 1 s).
			start: "2026-11-25T14:00:00Z", end: "2026-11-25T14:01:31Z",
			tests: []want{
				{"a.spec.ts", "says expected but failed", StatusFailed, "boom"},
				{"a.spec.ts", "fails twice", StatusFailed, "two"},
				{"a.spec.ts", "fails then passes", StatusFlaky, "attempt 1 failed: first"},
				{"a.spec.ts", "expected to fail and failed", StatusPassed, ""},
				{"a.spec.ts", "interrupted", StatusSkipped, ""},
				{"a.spec.ts", "says flaky but passed", StatusFlaky, ""},
			},
		},
		{
			name: "nested describes, several projects, top-level errors",
			doc: pwDoc(`[{"title": "b.spec.ts", "specs": [], "suites": [{"title": "outer", "specs": [], "suites": [{"title": "inner", "suites": [], "specs": [
				{"title": "deep", "tests": [
					{"expectedStatus": "passed", "status": "expected", "projectName": "chromium", "results": [{"status": "passed", "duration": 5, "startTime": "2026-11-25T14:00:00Z"}]},
					{"expectedStatus": "passed", "status": "unexpected", "projectName": "firefox", "results": [{"status": "failed", "duration": 5, "startTime": "2026-11-25T14:00:00Z", "errors": [{"message": "only firefox"}]}]}
				]}]}]}]}]`,
				`[{"message": "Error: globalSetup failed: \u001b[31mdatabase unreachable\u001b[39m", "stack": "at setup.ts:3"}, {"value": "thrown string"}]`,
				`{"startTime": "2026-11-25T14:00:00Z", "duration": 1000}`),
			start: "2026-11-25T14:00:00Z", end: "2026-11-25T14:00:01Z",
			tests: []want{
				{"b.spec.ts", "outer › inner › deep", StatusPassed, ""},
				{"b.spec.ts", "outer › inner › deep", StatusFailed, "only firefox"},
			},
			errors: []string{"Error: globalSetup failed: database unreachable", "thrown string"},
		},
		{
			name: "no tests run (global setup failed)",
			doc:  pwDoc(`[]`, `[{"message": "Error: no tests found"}]`, `{"startTime": "2026-11-25T14:00:00Z", "duration": 10}`),
			// no tests: the times still say when the run happened
			start: "2026-11-25T14:00:00Z", end: "2026-11-25T14:00:00.01Z",
			errors: []string{"Error: no tests found"},
		},
		{
			name:   "unknown status is a failure and a report error",
			doc:    pwDoc(`[{"title": "c.spec.ts", "specs": [`+pwSpecJSON("odd", "passed", "weird")+`]}]`, `[]`, `{}`),
			tests:  []want{{"c.spec.ts", "odd", StatusFailed, `unrecognised Playwright test status "weird"`}},
			errors: []string{`c.spec.ts › odd: unrecognised Playwright test status "weird"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseString(FormatPlaywrightJSON, tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			checkTests(t, s.Tests, tc.tests)
			checkTimes(t, s, tc.start, tc.end)
			if strings.Join(s.Errors, "|") != strings.Join(tc.errors, "|") {
				t.Errorf("errors = %q, want %q", s.Errors, tc.errors)
			}
		})
	}
}

func TestPlaywrightHostile(t *testing.T) {
	deep := `{"suites": [` + strings.Repeat(`{"title": "x", "suites": [`, 80) + strings.Repeat(`]}`, 80) + `]}`
	cases := []struct{ name, doc, want string }{
		{"empty", "", "empty report"},
		{"truncated", `{"suites": [{"title": "a.spec.ts", "specs": [{"title": "t", "tests": [`, "truncated report"},
		{"not an object", `[1, 2]`, "expected an object"},
		{"no suites", `{"stats": {}}`, "no suites"},
		{"suites not an array", `{"suites": {"title": "x"}}`, "suites: expected an array"},
		{"suite not an object", `{"suites": [42]}`, "suites:"},
		{"bad UTF-8 structure", "{\"suites\": [}", "invalid character"},
		{"trailing garbage", `{"suites": []} {"suites": []}`, "content after the report object"},
		{"deeply nested", deep, "nested deeper than 64"},
		{"JUnit given as JSON", `<testsuites/>`, "invalid character '<'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseString(FormatPlaywrightJSON, tc.doc)
			if err == nil {
				t.Fatalf("no error; got %+v", s)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "playwright-json: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}
