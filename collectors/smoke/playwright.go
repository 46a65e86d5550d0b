package smoke

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// PlaywrightParser reads the report of Playwright's JSON reporter. It decodes one top-level
// (file) suite at a time, so memory follows the largest spec file, not the whole report.
//
// Each test of each spec becomes a test named like Playwright's own JUnit reporter names it
// (describe titles and the spec title joined by " › ") in the suite of its file. Its status is
// recomputed from its results as Playwright computes the outcome (all results skipped:
// skipped; none unexpected: passed; all unexpected: failed; else flaky), and the stated
// status is only allowed to make it worse. The stats block is not trusted: its startTime and
// duration are only used, with the results' own times, to bound the run. Top-level errors
// (global setup, a file that failed to load) become report errors.
type PlaywrightParser struct {
	// MaxDepth bounds describe nesting; 0 means 64.
	MaxDepth int
	// MaxMessage bounds each test's message; 0 means 2048 bytes.
	MaxMessage int
}

type pwError struct {
	Message string `json:"message"`
	Value   string `json:"value"`
	Stack   string `json:"stack"`
}

type pwResult struct {
	Status    string    `json:"status"`
	Duration  float64   `json:"duration"`
	Retry     int       `json:"retry"`
	StartTime string    `json:"startTime"`
	Error     *pwError  `json:"error"`
	Errors    []pwError `json:"errors"`
}

type pwAnnotation struct {
	Type        string `json:"type"`
	Description string `json:"description"`
}

type pwTest struct {
	ExpectedStatus string         `json:"expectedStatus"`
	Status         string         `json:"status"`
	ProjectName    string         `json:"projectName"`
	Annotations    []pwAnnotation `json:"annotations"`
	Results        []pwResult     `json:"results"`
}

type pwSpec struct {
	Title string   `json:"title"`
	Tests []pwTest `json:"tests"`
}

type pwSuite struct {
	Title  string    `json:"title"`
	File   string    `json:"file"`
	Specs  []pwSpec  `json:"specs"`
	Suites []pwSuite `json:"suites"`
}

type pwStats struct {
	StartTime string   `json:"startTime"`
	Duration  *float64 `json:"duration"`
}

type pwState struct {
	p          *PlaywrightParser
	maxMsg     int
	out        Suite
	start, end time.Time
	hasTimes   bool
}

func (s *pwState) span(start time.Time, d time.Duration) {
	if !s.hasTimes || start.Before(s.start) {
		s.start = start
	}
	if end := start.Add(d); !s.hasTimes || end.After(s.end) {
		s.end = end
	}
	s.hasTimes = true
}

// Parse reads one Playwright JSON report.
func (p *PlaywrightParser) Parse(r io.Reader) (*Suite, error) {
	st := &pwState{p: p, maxMsg: p.MaxMessage}
	if st.maxMsg <= 0 {
		st.maxMsg = defaultMaxMessage
	}
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return nil, pwErr(err, "empty report")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("playwright-json: not a Playwright JSON report: expected an object")
	}
	seenSuites := false
	var stats pwStats
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return nil, pwErr(err, "")
		}
		key, _ := keyTok.(string)
		switch key {
		case "suites":
			seenSuites = true
			if err := st.readSuites(dec); err != nil {
				return nil, err
			}
		case "errors":
			var errs []pwError
			if err := dec.Decode(&errs); err != nil {
				return nil, pwErr(err, "errors")
			}
			for _, e := range errs {
				st.out.Errors = append(st.out.Errors, clean(e.text(), st.maxMsg))
			}
		case "stats":
			if err := dec.Decode(&stats); err != nil {
				return nil, pwErr(err, "stats")
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, pwErr(err, key)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, pwErr(err, "")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("playwright-json: content after the report object")
	}
	if !seenSuites {
		return nil, errors.New("playwright-json: not a Playwright JSON report: no suites")
	}
	if t, err := time.Parse(time.RFC3339Nano, stats.StartTime); err == nil {
		var d time.Duration
		if stats.Duration != nil {
			d = millis(*stats.Duration)
		}
		st.span(t, d)
	}
	out := st.out
	if st.hasTimes {
		out.Started, out.Finished = st.start, st.end
	}
	return &out, nil
}

func pwErr(err error, where string) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		if where == "empty report" {
			return errors.New("playwright-json: empty report")
		}
		return errors.New("playwright-json: truncated report (unexpected end of input)")
	}
	if errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("playwright-json: %w", err)
	}
	if where != "" && where != "empty report" {
		return fmt.Errorf("playwright-json: %s: %w", where, err)
	}
	return fmt.Errorf("playwright-json: %w", err)
}

// readSuites decodes the top-level suites array element by element.
func (st *pwState) readSuites(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return pwErr(err, "suites")
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return errors.New("playwright-json: suites: expected an array")
	}
	for dec.More() {
		var s pwSuite
		if err := dec.Decode(&s); err != nil {
			return pwErr(err, "suites")
		}
		file := s.Title
		if file == "" {
			file = s.File
		}
		if err := st.walk(&s, file, nil, 1); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return pwErr(err, "suites")
	}
	return nil
}

func (st *pwState) walk(s *pwSuite, file string, titles []string, depth int) error {
	maxDepth := st.p.MaxDepth
	if maxDepth <= 0 {
		maxDepth = defaultMaxDepth
	}
	if depth > maxDepth {
		return fmt.Errorf("playwright-json: suites nested deeper than %d", maxDepth)
	}
	for i := range s.Specs {
		sp := &s.Specs[i]
		name := strings.Join(append(append([]string(nil), titles...), sp.Title), " › ")
		for j := range sp.Tests {
			st.addTest(file, clean(name, 4*st.maxMsg), &sp.Tests[j])
		}
	}
	for i := range s.Suites {
		child := &s.Suites[i]
		if err := st.walk(child, file, append(titles[:len(titles):len(titles)], child.Title), depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (e pwError) text() string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Value != "":
		return e.Value
	}
	return e.Stack
}

func (r pwResult) errText() string {
	if r.Error != nil && r.Error.text() != "" {
		return r.Error.text()
	}
	for _, e := range r.Errors {
		if t := e.text(); t != "" {
			return t
		}
	}
	return r.Status
}

// outcome recomputes Playwright's test outcome from the results.
func outcome(t *pwTest) (Status, int) {
	expected := t.ExpectedStatus
	if expected == "" {
		expected = "passed"
	}
	results := t.Results
	for len(results) > 0 && (results[0].Status == "skipped" || results[0].Status == "interrupted") {
		results = results[1:]
	}
	if len(results) == 0 {
		return StatusSkipped, -1
	}
	failures, lastFailure := 0, -1
	for i, r := range results {
		if r.Status != "skipped" && r.Status != "interrupted" && r.Status != expected {
			failures++
			lastFailure = i + len(t.Results) - len(results)
		}
	}
	switch {
	case failures == 0:
		return StatusPassed, -1
	case failures == len(results):
		return StatusFailed, lastFailure
	}
	// Flaky: report the first failed attempt.
	for i, r := range t.Results {
		if r.Status != "skipped" && r.Status != "interrupted" && r.Status != expected {
			return StatusFlaky, i
		}
	}
	return StatusFlaky, lastFailure
}

func (st *pwState) addTest(file, name string, t *pwTest) {
	status, failedAt := outcome(t)
	msg := ""
	switch t.Status {
	case "expected", "":
	case "unexpected":
		status = worse(status, StatusFailed)
	case "flaky":
		status = worse(status, StatusFlaky)
	case "skipped":
		status = worse(status, StatusSkipped)
	default:
		status = StatusFailed
		msg = fmt.Sprintf("unrecognised Playwright test status %q", t.Status)
		st.out.Errors = append(st.out.Errors, clean(fmt.Sprintf("%s › %s: %s", file, name, msg), st.maxMsg))
	}
	var dur time.Duration
	for _, r := range t.Results {
		d := millis(r.Duration)
		dur += d
		if ts, err := time.Parse(time.RFC3339Nano, r.StartTime); err == nil {
			st.span(ts, d)
		}
	}
	if msg == "" {
		switch status {
		case StatusFailed:
			if failedAt >= 0 {
				msg = t.Results[failedAt].errText()
			} else {
				msg = "reported as " + t.Status
			}
		case StatusFlaky:
			if failedAt >= 0 {
				msg = fmt.Sprintf("passed on retry after attempt %d failed: %s", failedAt+1, t.Results[failedAt].errText())
			}
		case StatusSkipped:
			for _, a := range t.Annotations {
				if a.Type == "skip" || a.Type == "fixme" {
					msg = a.Description
					break
				}
			}
		}
	}
	test := Test{Name: name, Suite: file, Status: status, Duration: dur, Message: clean(msg, st.maxMsg)}
	if t.ProjectName != "" {
		test.Attrs = map[string]any{"project": clean(t.ProjectName, st.maxMsg)}
	}
	st.out.Tests = append(st.out.Tests, test)
}
