package smoke

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// seed adds every testdata file matching the patterns to the fuzz corpus.
func seed(f *testing.F, patterns ...string) {
	f.Helper()
	n := 0
	for _, pat := range patterns {
		files, err := filepath.Glob(pat)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no seed files for %v", patterns)
	}
}

// checkParsed holds for any input: an error that names the format, or a suite whose tests
// render to a fact the engine accepts (valid statuses, non-negative durations, bounded valid
// UTF-8 text, canonical JSON).
func checkParsed(t *testing.T, format string, s *Suite, err error) {
	t.Helper()
	if err != nil {
		if s != nil {
			t.Fatalf("suite and error both returned: %v", err)
		}
		if !strings.HasPrefix(err.Error(), format+": ") {
			t.Fatalf("error %q does not name the format %s", err, format)
		}
		return
	}
	if s == nil {
		t.Fatal("nil suite without an error")
	}
	if !s.Started.IsZero() && s.Finished.Before(s.Started) {
		t.Fatalf("finished %v before started %v", s.Finished, s.Started)
	}
	c := New()
	for _, tt := range s.Tests {
		switch tt.Status {
		case StatusPassed, StatusFailed, StatusSkipped, StatusFlaky:
		default:
			t.Fatalf("status %q", tt.Status)
		}
		if tt.Duration < 0 {
			t.Fatalf("negative duration %v", tt.Duration)
		}
		if len(tt.Message) > defaultMaxMessage+len("…") || !utf8.ValidString(tt.Message) || !utf8.ValidString(tt.Name) || !utf8.ValidString(tt.Suite) {
			t.Fatalf("message or name not bounded valid UTF-8: %q / %q", tt.Message, tt.Name)
		}
		if _, err := engine.Canonical(c.testMap(tt, nil)); err != nil {
			t.Fatalf("test does not render to canonical JSON: %v", err)
		}
	}
	for _, e := range s.Errors {
		if !utf8.ValidString(e) {
			t.Fatalf("error not valid UTF-8: %q", e)
		}
	}
}

func FuzzJUnit(f *testing.F) {
	seed(f, "testdata/pytest/*.xml", "testdata/gotest/*.xml", "testdata/jest/*.xml", "testdata/playwright/*.xml")
	f.Add([]byte(`<testsuite name="s" timestamp="2026-11-25T14:00:00"><testcase name="t"><flakyFailure message="m"><stackTrace>x</stackTrace></flakyFailure></testcase></testsuite>`))
	f.Add([]byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><testsuites><testsuite name=\"\xe9\"><testcase name=\"a\"><error/></testcase></testsuite></testsuites>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &JUnitParser{MaxTokenBytes: 1 << 16}
		s, err := p.Parse(bytes.NewReader(data))
		checkParsed(t, FormatJUnit, s, err)
	})
}

func FuzzPlaywright(f *testing.F) {
	seed(f, "testdata/playwright/*.json")
	f.Add([]byte(`{"suites": [{"title": "a", "specs": [{"title": "t", "tests": [{"status": "flaky", "results": [{"status": "failed"}, {"status": "passed"}]}]}]}], "errors": [{"message": "x"}], "stats": {"startTime": "2026-11-25T14:00:00Z", "duration": -5}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := (&PlaywrightParser{}).Parse(bytes.NewReader(data))
		checkParsed(t, FormatPlaywrightJSON, s, err)
	})
}

func FuzzK6(f *testing.F) {
	seed(f, "testdata/k6/*.json")
	f.Add([]byte(`{"root_group": {"groups": [{"name": "g", "checks": [{"name": "c", "passes": 1, "fails": 2}]}]}, "metrics": {"m": {"values": {"rate": 1}, "thresholds": {"rate<1": {"ok": false}}}}}`))
	f.Add([]byte(`{"root_group": {"groups": {"g": {"checks": {"c": {"passes": 1, "fails": 0}}}}}, "metrics": {"m": {"value": 1, "thresholds": {"rate<1": true}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, export := range []bool{false, true} {
			p := &K6Parser{Export: export}
			s, err := p.Parse(bytes.NewReader(data))
			format := FormatK6Summary
			if export {
				format = FormatK6SummaryExport
			}
			checkParsed(t, format, s, err)
		}
	})
}
