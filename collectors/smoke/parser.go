package smoke

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is the outcome of one test as the smoke fact reports it.
type Status string

// The statuses of docs/facts.md; a flaky test failed at least once and then passed.
const (
	StatusPassed  Status = "passed"
	StatusFailed  Status = "failed"
	StatusSkipped Status = "skipped"
	StatusFlaky   Status = "flaky"
)

// Test is one test case of a report, or one built-in HTTP check against one target.
type Test struct {
	Name     string
	Suite    string
	Status   Status
	Duration time.Duration
	Message  string
	// Attrs holds further fact fields (JUnit classname, Playwright project, k6 counts, an HTTP
	// check's url, instance, status_code...). Parsers may share one map between tests: read only.
	Attrs map[string]any
}

// Suite is what one report says: its test cases, its report-level errors, and when the run
// started and finished (both zero when the report does not say).
type Suite struct {
	Tests    []Test
	Errors   []string
	Started  time.Time
	Finished time.Time
	Duration time.Duration // how long the run took, when the report says (k6 does, without a start)
}

// Parser reads one report format.
type Parser interface {
	Parse(r io.Reader) (*Suite, error)
}

// The report formats a runbook's smoke.reports may name.
const (
	FormatJUnit           = "junit"
	FormatPlaywrightJSON  = "playwright-json"
	FormatK6Summary       = "k6-summary"
	FormatK6SummaryExport = "k6-summary-export"
)

// ErrUnknownFormat is returned by ParserFor for a format it does not know.
var ErrUnknownFormat = errors.New("unknown report format")

// ErrTooLarge reports input beyond a size limit: a report, an XML token or a response body.
var ErrTooLarge = errors.New("too large")

// ParserFor returns the parser of a report format with its default limits.
func ParserFor(format string) (Parser, error) {
	switch format {
	case FormatJUnit:
		return &JUnitParser{}, nil
	case FormatPlaywrightJSON:
		return &PlaywrightParser{}, nil
	case FormatK6Summary:
		return &K6Parser{}, nil
	case FormatK6SummaryExport:
		return &K6Parser{Export: true}, nil
	}
	return nil, fmt.Errorf("collect smoke: %w %q (expected junit, playwright-json, k6-summary or k6-summary-export)", ErrUnknownFormat, format)
}

// Limits shared by the parsers.
const (
	defaultMaxMessage = 2048 // bytes of a test's message kept in the fact
	defaultMaxDepth   = 64   // nesting of suites / groups / XML elements
)

var ansiRe = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

// clean makes report text fit for a fact: valid UTF-8, no terminal escapes, trimmed and
// bounded to max bytes (cut on a rune boundary, marked with an ellipsis).
func clean(s string, max int) string {
	if max <= 0 {
		max = defaultMaxMessage
	}
	if len(s) > 4*max {
		s = s[:4*max] // escapes and whitespace removed below rarely shrink it more than this
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0x1b) >= 0 {
		s = ansiRe.ReplaceAllString(s, "")
	}
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// worse returns the status that is further from a pass: failed, then skipped (no evidence),
// then flaky (a pass with a warning), then passed.
func worse(a, b Status) Status {
	rank := func(s Status) int {
		switch s {
		case StatusFailed:
			return 3
		case StatusSkipped:
			return 2
		case StatusFlaky:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// limitReader fails, rather than truncating, once more than max bytes have been read.
type limitReader struct {
	r    io.Reader
	n    int64
	max  int64
	what string
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n > l.max {
		return 0, fmt.Errorf("%s %w: more than %d bytes", l.what, ErrTooLarge, l.max)
	}
	if rest := l.max + 1 - l.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return 0, fmt.Errorf("%s %w: more than %d bytes", l.what, ErrTooLarge, l.max)
	}
	return n, err
}

// seconds converts a report's seconds (JUnit "time", possibly with thousands separators) to a
// duration; anything unusable (empty, negative, NaN, absurd) is zero.
func seconds(s string) time.Duration {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	if s == "" {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return millis(f * 1000)
}

// millis converts milliseconds to a duration; negative, NaN or over a year is zero.
func millis(ms float64) time.Duration {
	if !(ms >= 0) || ms > 365*24*3600*1000 {
		return 0
	}
	return time.Duration(ms * float64(time.Millisecond))
}
