package smoke

import (
	"os"
	"strings"
	"testing"
	"time"
)

// k6Tests is what both samples of testdata/k6 hold: the same run, in both formats.
var k6Tests = []want{
	{"k6", "health is ok", StatusPassed, ""},
	{"k6 › homepage", "homepage status is 200", StatusPassed, ""},
	{"k6 › homepage", "homepage has title", StatusPassed, ""},
	{"k6 › checkout", "cart status is 200", StatusPassed, ""},
	{"k6 › checkout › pay", "payment accepted", StatusFailed, "3 of 60 failed"},
	{"k6 thresholds", "threshold checks rate>0.99", StatusFailed, "threshold crossed: observed rate=0.99"},
	{"k6 thresholds", "threshold http_req_duration p(95)<500", StatusPassed, "observed p(95)=344.18"},
	{"k6 thresholds", "threshold http_req_duration max<1000", StatusPassed, "observed max=912.55"},
	{"k6 thresholds", "threshold http_req_failed rate<0.01", StatusFailed, "threshold crossed: observed rate=0.0125"},
}

func TestK6Samples(t *testing.T) {
	for _, tc := range []struct {
		file, format string
		dur          time.Duration
		want         []want
	}{
		{"testdata/k6/k6-summary.json", FormatK6Summary, 30512438700 * time.Nanosecond, k6Tests},
		{"testdata/k6/k6-summary-export.json", FormatK6SummaryExport, 0, exportWants()},
	} {
		t.Run(tc.format, func(t *testing.T) {
			s := parseFile(t, tc.format, tc.file)
			checkTests(t, s.Tests, tc.want)
			checkTimes(t, s, "", "") // k6 says how long, never when
			if s.Duration.Round(time.Microsecond) != tc.dur.Round(time.Microsecond) {
				t.Errorf("duration = %v, want %v", s.Duration, tc.dur)
			}
			if len(s.Errors) != 0 {
				t.Errorf("errors = %q", s.Errors)
			}
			if got := s.Tests[4].Attrs; got["passes"] != int64(57) || got["fails"] != int64(3) {
				t.Errorf("payment accepted attrs = %v", got)
			}
		})
	}
}

// exportWants: --summary-export renames a rate metric's rate to value.
func exportWants() []want {
	out := append([]want(nil), k6Tests...)
	out[5].msg = "threshold crossed: observed rate=0.99"
	out[8].msg = "threshold crossed: observed rate=0.0125"
	return out
}

// TestK6InvertedThresholds: the legacy export's true means crossed; a file given as the other
// format is refused rather than read the wrong way round.
func TestK6InvertedThresholds(t *testing.T) {
	export := `{"root_group": {"name": "", "path": "", "groups": {}, "checks": {}},
		"metrics": {"http_req_failed": {"passes": 0, "fails": 10, "thresholds": {"rate<0.01": false}, "value": 0},
		            "http_req_duration": {"avg": 700, "p(95)": 900, "thresholds": {"p(95)<500": true}}}}`
	s, err := parseString(FormatK6SummaryExport, export)
	if err != nil {
		t.Fatal(err)
	}
	checkTests(t, s.Tests, []want{
		{"k6 thresholds", "threshold http_req_failed rate<0.01", StatusPassed, "observed rate=0"},
		{"k6 thresholds", "threshold http_req_duration p(95)<500", StatusFailed, "observed p(95)=900"},
	})
	summary := `{"root_group": {"name": "", "path": "", "groups": [], "checks": []},
		"metrics": {"http_req_failed": {"type": "rate", "contains": "default", "values": {"rate": 0, "passes": 0, "fails": 10}, "thresholds": {"rate<0.01": {"ok": true}}}}}`
	s, err = parseString(FormatK6Summary, summary)
	if err != nil {
		t.Fatal(err)
	}
	checkTests(t, s.Tests, []want{{"k6 thresholds", "threshold http_req_failed rate<0.01", StatusPassed, "observed rate=0"}})

	for _, tc := range []struct{ format, doc, want string }{
		{FormatK6Summary, export, "looks like a --summary-export file"},
		{FormatK6SummaryExport, summary, "looks like a handleSummary() report"},
		{FormatK6Summary, `{"root_group": {"checks": []}, "metrics": {"m": {"values": {}, "thresholds": {"x<1": true}}}}`, "bare boolean: this looks like a --summary-export file (whose booleans are inverted)"},
		{FormatK6SummaryExport, `{"root_group": {"checks": {}}, "metrics": {"m": {"thresholds": {"x<1": {"ok": true}}}}}`, "is an object: this looks like a handleSummary() report"},
		{FormatK6Summary, `{"root_group": {"checks": []}, "metrics": {"m": {"values": {}, "thresholds": {"x<1": {"passed": true}}}}}`, `expected {"ok": true|false}`},
		{FormatK6SummaryExport, `{"root_group": {"checks": {}}, "metrics": {"m": {"thresholds": {"x<1": "no"}}}}`, "expected a result"},
	} {
		if _, err := parseString(tc.format, tc.doc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.format, err, tc.want)
		}
	}
}

func TestK6Checks(t *testing.T) {
	doc := `{"root_group": {"name": "", "path": "", "groups": [
		{"name": "idle", "path": "::idle", "groups": [], "checks": [{"name": "never ran", "passes": 0, "fails": 0}]}],
		"checks": [{"name": "all failed", "passes": 0, "fails": 5}]},
		"metrics": {"checks": {"type": "rate", "contains": "default", "values": {"rate": 0, "passes": 0, "fails": 5}}}}`
	s, err := parseString(FormatK6Summary, doc)
	if err != nil {
		t.Fatal(err)
	}
	checkTests(t, s.Tests, []want{
		{"k6", "all failed", StatusFailed, "5 of 5 failed"},
		{"k6 › idle", "never ran", StatusSkipped, "check never ran"},
	})
	// Counts come from the checks; a checks metric with nothing listed is a report error.
	s, err = parseString(FormatK6Summary, `{"root_group": {"groups": [], "checks": []},
		"metrics": {"checks": {"type": "rate", "contains": "default", "values": {"rate": 1, "passes": 40, "fails": 0}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Tests) != 0 || len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "counted 40 check runs but root_group lists no checks") {
		t.Errorf("got tests %v errors %q", s.Tests, s.Errors)
	}
}

func TestK6Hostile(t *testing.T) {
	deep := `{"metrics": {}, "root_group": ` + strings.Repeat(`{"groups": [`, 80) + strings.Repeat(`]}`, 80) + `}`
	for _, tc := range []struct{ name, format, doc, want string }{
		{"empty", FormatK6Summary, " ", "empty report"},
		{"truncated", FormatK6Summary, `{"root_group": {"groups": [`, "truncated report"},
		{"not a summary", FormatK6Summary, `{"suites": []}`, "not a k6 summary"},
		{"array", FormatK6SummaryExport, `[]`, "cannot unmarshal array"},
		{"negative count", FormatK6Summary, `{"metrics": {}, "root_group": {"checks": [{"name": "c", "passes": -1, "fails": 0}]}}`, "passes and fails must be counts"},
		{"fractional count", FormatK6Summary, `{"metrics": {}, "root_group": {"checks": [{"name": "c", "passes": 1.5, "fails": 0}]}}`, "passes and fails must be counts"},
		{"missing count", FormatK6SummaryExport, `{"metrics": {}, "root_group": {"checks": {"c": {"passes": 1}}}}`, "passes and fails must be counts"},
		{"groups as a string", FormatK6Summary, `{"metrics": {}, "root_group": {"groups": "x"}}`, "expected a list"},
		{"metric not an object", FormatK6Summary, `{"metrics": {"m": 3}, "root_group": {}}`, `metric "m": expected an object`},
		{"deeply nested", FormatK6Summary, deep, "nested deeper than 64"},
		{"trailing garbage", FormatK6Summary, `{"metrics": {}, "root_group": {}} x`, "content after the summary object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseString(tc.format, tc.doc)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), tc.format+": ") {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParserFor(t *testing.T) {
	for _, f := range []string{FormatJUnit, FormatPlaywrightJSON, FormatK6Summary, FormatK6SummaryExport} {
		if p, err := ParserFor(f); err != nil || p == nil {
			t.Errorf("ParserFor(%q) = %v, %v", f, p, err)
		}
	}
	if _, err := ParserFor("tap"); err == nil || !strings.HasPrefix(err.Error(), "collect smoke: unknown report format \"tap\"") {
		t.Errorf("ParserFor(tap) error = %v", err)
	}
	if _, err := os.Stat("testdata/README.md"); err != nil {
		t.Errorf("testdata/README.md must say how every report was made: %v", err)
	}
}
