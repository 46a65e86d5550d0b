// Package smoke collects the smoke fact of the post-smoke gate: the results of the smoke
// suite, imported from the reports the tools teams already run (JUnit XML, Playwright JSON,
// k6 summaries) and from gatekeeper's own HTTP checks, merged into one list of tests with the
// suite's start and end. Counts are recomputed from the test cases, never taken from summary
// attributes, and nothing is judged here: which tests are critical and what a failure means
// is the policies' business.
package smoke

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// FactName is the fact the collector produces.
const FactName = "smoke"

// DefaultMaxReportBytes is the default size limit of one report.
const DefaultMaxReportBytes = 200 << 20

// Collector produces the smoke fact at the post-smoke gate.
type Collector struct {
	maxReport  int64
	maxBody    int64
	maxMessage int
	parallel   int
	location   *time.Location
	lookupEnv  func(string) (string, bool)
	client     *http.Client
	now        func() time.Time
}

// Option configures a Collector.
type Option func(*Collector)

// WithMaxReportBytes sets the size limit of one report (default 200 MiB); larger reports are refused.
func WithMaxReportBytes(n int64) Option { return func(c *Collector) { c.maxReport = n } }

// WithMaxBodyBytes sets how much of an HTTP check's response is read (default 10 MiB).
func WithMaxBodyBytes(n int64) Option { return func(c *Collector) { c.maxBody = n } }

// WithLookupEnv sets how the environment variables named by checks are read (default os.LookupEnv).
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(c *Collector) { c.lookupEnv = f }
}

// WithHTTPClient sets the client of the HTTP checks.
func WithHTTPClient(cl *http.Client) Option { return func(c *Collector) { c.client = cl } }

// WithClock sets the clock of collected_at and of the HTTP checks' start and end.
func WithClock(now func() time.Time) Option { return func(c *Collector) { c.now = now } }

// WithLocation sets where zone-less JUnit timestamps were taken (default UTC).
func WithLocation(loc *time.Location) Option { return func(c *Collector) { c.location = loc } }

// WithParallel bounds how many HTTP checks run at once (default 16).
func WithParallel(n int) Option { return func(c *Collector) { c.parallel = n } }

// New returns a smoke collector.
func New(opts ...Option) *Collector {
	c := &Collector{
		maxReport:  DefaultMaxReportBytes,
		maxBody:    10 << 20,
		maxMessage: defaultMaxMessage,
		parallel:   16,
		location:   time.UTC,
		lookupEnv:  os.LookupEnv,
		client:     &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		now:        time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	if c.parallel <= 0 {
		c.parallel = 1
	}
	if c.location == nil {
		c.location = time.UTC
	}
	return c
}

var _ engine.Collector = (*Collector)(nil)

// reportResult is what one report contributed.
type reportResult struct {
	spec  engine.SmokeReport
	suite *Suite
	err   error
}

// Collect gathers the smoke fact at the post-smoke gate, and nothing at other gates.
func (c *Collector) Collect(ctx context.Context, req engine.Request) map[string]engine.Fact {
	if req.Gate != engine.PostSmoke {
		return nil
	}
	collectedAt := c.now()
	t0 := time.Now()
	fact := engine.Fact{Source: "smoke", CollectedAt: collectedAt}
	done := func(f engine.Fact) map[string]engine.Fact {
		f.Duration = time.Since(t0)
		return map[string]engine.Fact{FactName: f}
	}
	if req.Runbook == nil {
		fact.Path = "runbook"
		fact.Err = "collect smoke: no runbook"
		fact.Data = map[string]any{"tests": []any{}, "errors": []any{fact.Err}}
		return done(fact)
	}
	spec := req.Runbook.Spec.Smoke
	checks, checkErrs := checksFrom(req.Runbook)
	targets, targetErrs, secrets := c.targets(req, checks)

	var reports []reportResult
	var runs []checkRun
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		runs = c.runChecks(ctx, targets, secrets)
	}()
	baseDir := filepath.Dir(req.Runbook.Path)
	for _, rs := range spec.Reports {
		s, err := c.readReport(ctx, baseDir, rs)
		reports = append(reports, reportResult{spec: rs, suite: s, err: err})
	}
	wg.Wait()

	var paths, urls []string
	for _, rs := range spec.Reports {
		paths = append(paths, rs.Path)
	}
	seenURL := map[string]bool{}
	for _, t := range targets {
		if u := engine.Redact(t.url, secrets...); !seenURL[u] {
			seenURL[u] = true
			urls = append(urls, u)
		}
	}
	fact.Path = strings.Join(paths, ", ")
	fact.URL = strings.Join(urls, ", ")
	if fact.Path == "" && fact.URL == "" {
		fact.Path = req.Runbook.Path
	}

	tests := []any{}
	errs := []any{}
	var failures []string
	counts := map[string]any{"total": 0, "passed": 0, "failed": 0, "skipped": 0, "flaky": 0}
	add := func(t Test) {
		tests = append(tests, c.testMap(t, secrets))
		counts["total"] = counts["total"].(int) + 1
		counts[string(t.Status)] = counts[string(t.Status)].(int) + 1
	}
	var start, end time.Time
	timed, untimed := false, false
	span := func(s, e time.Time) {
		if !timed || s.Before(start) {
			start = s
		}
		if !timed || e.After(end) {
			end = e
		}
		timed = true
	}
	reportList := []any{}
	for _, r := range reports {
		entry := map[string]any{"path": r.spec.Path, "format": r.spec.Format}
		if r.err != nil {
			msg := engine.Redact(fmt.Sprintf("%s: %v", r.spec.Path, r.err), secrets...)
			failures = append(failures, msg)
			errs = append(errs, msg)
			entry["error"] = msg
			untimed = true
			reportList = append(reportList, entry)
			continue
		}
		s := r.suite
		for _, t := range s.Tests {
			add(t)
		}
		for _, e := range s.Errors {
			errs = append(errs, engine.Redact(fmt.Sprintf("%s: %s", r.spec.Path, e), secrets...))
		}
		entry["tests"] = len(s.Tests)
		if s.Duration > 0 {
			entry["duration_ms"] = s.Duration.Milliseconds()
		}
		if s.Started.IsZero() || s.Finished.IsZero() {
			// A report that does not say when it ran: the suite's start and end are unknown,
			// so the policies cannot take them for evidence of a run after cutover.
			untimed = true
		} else {
			entry["started_at"] = rfc3339(s.Started)
			entry["finished_at"] = rfc3339(s.Finished)
			span(s.Started, s.Finished)
		}
		reportList = append(reportList, entry)
	}
	for _, e := range append(checkErrs, targetErrs...) {
		errs = append(errs, engine.Redact(e, secrets...))
	}
	for _, r := range runs {
		add(r.test)
		span(r.start, r.end)
	}
	data := map[string]any{"tests": tests, "errors": errs, "counts": counts, "reports": reportList}
	if timed && !untimed {
		data["started_at"] = rfc3339(start)
		data["finished_at"] = rfc3339(end)
	}
	if len(spec.Reports) == 0 && len(checks) == 0 && len(checkErrs) == 0 {
		failures = append(failures, "the runbook's smoke section names no reports and no checks")
	}
	if ctx.Err() != nil {
		failures = append(failures, "interrupted: "+ctx.Err().Error())
	}
	if len(failures) > 0 {
		fact.Err = fmt.Errorf("collect smoke: %w", errors.New(strings.Join(failures, "; "))).Error()
	}
	fact.Data = data
	return done(fact)
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// testMap renders a test as the fact holds it.
func (c *Collector) testMap(t Test, secrets []string) map[string]any {
	m := make(map[string]any, 6+len(t.Attrs))
	for k, v := range t.Attrs {
		m[k] = v
	}
	msg := t.Message
	if msg != "" {
		msg = engine.Redact(msg, secrets...)
	}
	m["name"] = t.Name
	m["suite"] = t.Suite
	m["status"] = string(t.Status)
	m["duration_ms"] = t.Duration.Milliseconds()
	m["message"] = msg
	return m
}

// ctxReader stops reading once the collection is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// readReport opens and parses one report, refusing what is too large or not a regular file.
func (c *Collector) readReport(ctx context.Context, baseDir string, rs engine.SmokeReport) (*Suite, error) {
	p, err := ParserFor(rs.Format)
	if err != nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownFormat, rs.Format)
	}
	switch jp := p.(type) {
	case *JUnitParser:
		jp.Location = c.location
		jp.MaxMessage = c.maxMessage
	case *PlaywrightParser:
		jp.MaxMessage = c.maxMessage
	case *K6Parser:
		jp.MaxMessage = c.maxMessage
	}
	path := rs.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open report: %w", unwrapPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read report: %w", unwrapPath(err))
	}
	if fi.IsDir() {
		return nil, errors.New("cannot read report: is a directory")
	}
	if fi.Mode().IsRegular() && fi.Size() > c.maxReport {
		return nil, fmt.Errorf("report %w: %d bytes, over the limit of %d", ErrTooLarge, fi.Size(), c.maxReport)
	}
	if fi.Mode().IsRegular() && fi.Size() == 0 {
		return nil, errors.New("empty report (0 bytes)")
	}
	lr := &limitReader{r: ctxReader{ctx, f}, max: c.maxReport, what: "report"}
	s, err := p.Parse(lr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("interrupted: %w", ctx.Err())
		}
		return nil, err
	}
	return s, nil
}

// unwrapPath drops the *PathError's absolute path: the report's runbook path names the file.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
