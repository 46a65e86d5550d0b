package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// HTTPSuite is the suite of the built-in HTTP smoke checks in the smoke fact.
const HTTPSuite = "gatekeeper http checks"

// jsonAssertion is one expect_json entry: the value at a dotted path must equal a value, or
// exist (or not).
type jsonAssertion struct {
	Path      string
	Equals    any
	HasEquals bool
	Exists    bool
}

// httpCheck is one runbook smoke check, read from the normalized runbook so that fields the
// typed spec does not (yet) carry — expect_json, max_latency, bearer_token_env, cookie_env,
// body, content_type — are honoured as soon as the schema admits them.
type httpCheck struct {
	Name           string
	URL            string // absolute, or a /path for every new-cohort instance
	Method         string
	ExpectStatus   int
	ExpectBody     string
	ExpectJSON     []jsonAssertion
	MaxLatency     time.Duration
	Timeout        time.Duration
	Critical       bool
	BearerTokenEnv string
	CookieEnv      string
	Body           string
	ContentType    string
}

type httpTarget struct {
	check    *httpCheck
	instance string
	url      string
	token    string
	cookie   string
}

// checksFrom reads the runbook's smoke checks; problems are report-level errors.
func checksFrom(rb *engine.Runbook) ([]httpCheck, []string) {
	var raw []any
	if smoke, ok := rb.Value["smoke"].(map[string]any); ok {
		raw, _ = smoke["checks"].([]any)
	}
	if raw == nil {
		// No generic view (a Runbook built in code): the typed spec.
		var out []httpCheck
		for _, sc := range rb.Spec.Smoke.Checks {
			u := sc.URL
			if u == "" {
				u = sc.Path
			}
			out = append(out, httpCheck{Name: sc.Name, URL: u, Method: sc.Method, ExpectStatus: sc.ExpectStatus,
				ExpectBody: sc.ExpectBody, Timeout: sc.Timeout, Critical: sc.Critical})
		}
		for i := range out {
			defaults(&out[i])
		}
		return out, nil
	}
	var out []httpCheck
	var errs []string
	for i, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Sprintf("smoke.checks[%d]: expected an object", i))
			continue
		}
		c, err := parseCheck(m)
		if err != nil {
			errs = append(errs, fmt.Sprintf("smoke.checks[%d] (%s): %v", i, c.Name, err))
			continue
		}
		out = append(out, c)
	}
	return out, errs
}

func defaults(c *httpCheck) {
	if c.Method == "" {
		c.Method = http.MethodGet
	}
	if c.ExpectStatus == 0 {
		c.ExpectStatus = http.StatusOK
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
}

func parseCheck(m map[string]any) (httpCheck, error) {
	c := httpCheck{Critical: true}
	str := func(k string) string { s, _ := m[k].(string); return s }
	dur := func(k string) (time.Duration, error) {
		s := str(k)
		if s == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", k, err)
		}
		return d, nil
	}
	c.Name, c.URL, c.Method, c.ExpectBody = str("name"), str("url"), strings.ToUpper(str("method")), str("expect_body")
	if c.URL == "" {
		c.URL = str("path")
	}
	c.BearerTokenEnv, c.CookieEnv = str("bearer_token_env"), str("cookie_env")
	c.Body, c.ContentType = str("body"), str("content_type")
	if f, ok := m["expect_status"].(float64); ok {
		c.ExpectStatus = int(f)
	}
	if b, ok := m["critical"].(bool); ok {
		c.Critical = b
	}
	var err error
	if c.Timeout, err = dur("timeout"); err != nil {
		return c, err
	}
	if c.MaxLatency, err = dur("max_latency"); err != nil {
		return c, err
	}
	if ej, ok := m["expect_json"]; ok {
		list, ok := ej.([]any)
		if !ok {
			return c, fmt.Errorf("expect_json: expected a list")
		}
		for j, e := range list {
			em, ok := e.(map[string]any)
			if !ok || str2(em, "path") == "" {
				return c, fmt.Errorf("expect_json[%d]: expected {path, equals | exists}", j)
			}
			a := jsonAssertion{Path: str2(em, "path"), Exists: true}
			if v, ok := em["equals"]; ok {
				a.Equals, a.HasEquals = v, true
			}
			if b, ok := em["exists"].(bool); ok {
				a.Exists = b
			}
			c.ExpectJSON = append(c.ExpectJSON, a)
		}
	}
	defaults(&c)
	if c.Name == "" {
		return c, fmt.Errorf("no name")
	}
	if c.URL == "" {
		return c, fmt.Errorf("no url")
	}
	return c, nil
}

func str2(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// origin returns scheme://host[:port] of an instance URL.
func origin(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	return u.Scheme + "://" + u.Host, true
}

// targets expands the checks into requests: a /path goes to every new-cohort instance, at the
// origin of its version_url (its health_url when that is unusable).
func (c *Collector) targets(req engine.Request, checks []httpCheck) ([]httpTarget, []string, []string) {
	var out []httpTarget
	var errs, secrets []string
	env, haveEnv := req.Runbook.Env(req.Environment)
	for i := range checks {
		chk := &checks[i]
		var token, cookie string
		missing := false
		for _, v := range []struct{ field, name string }{{"bearer_token_env", chk.BearerTokenEnv}, {"cookie_env", chk.CookieEnv}} {
			if v.name == "" {
				continue
			}
			val, ok := c.lookupEnv(v.name)
			if !ok || val == "" {
				errs = append(errs, fmt.Sprintf("check %q: environment variable %s (%s) is not set", chk.Name, v.name, v.field))
				missing = true
				continue
			}
			secrets = append(secrets, val)
			if v.field == "bearer_token_env" {
				token = val
			} else {
				cookie = val
			}
		}
		if missing {
			continue
		}
		if !strings.HasPrefix(chk.URL, "/") {
			if _, ok := origin(chk.URL); !ok {
				errs = append(errs, fmt.Sprintf("check %q: url %s is neither an http(s) URL nor a /path", chk.Name, engine.Redact(chk.URL)))
				continue
			}
			out = append(out, httpTarget{check: chk, url: chk.URL, token: token, cookie: cookie})
			continue
		}
		if !haveEnv {
			errs = append(errs, fmt.Sprintf("check %q: path %s needs the new cohort, but environment %q is not in the runbook", chk.Name, chk.URL, req.Environment))
			continue
		}
		if len(env.Cohorts.New.Instances) == 0 {
			errs = append(errs, fmt.Sprintf("check %q: path %s needs the new cohort, which lists no instances", chk.Name, chk.URL))
			continue
		}
		for _, inst := range env.Cohorts.New.Instances {
			base, ok := origin(inst.VersionURL)
			if !ok {
				base, ok = origin(inst.HealthURL)
			}
			if !ok {
				errs = append(errs, fmt.Sprintf("check %q: instance %s has no usable version_url or health_url", chk.Name, inst.Name))
				continue
			}
			out = append(out, httpTarget{check: chk, instance: inst.Name, url: base + chk.URL, token: token, cookie: cookie})
		}
	}
	return out, errs, secrets
}

type checkRun struct {
	test       Test
	start, end time.Time
}

// runChecks runs every target concurrently (at most c.parallel at a time), in the order given.
func (c *Collector) runChecks(ctx context.Context, targets []httpTarget, secrets []string) []checkRun {
	out := make([]checkRun, len(targets))
	sem := make(chan struct{}, c.parallel)
	var wg sync.WaitGroup
	for i := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
			}
			out[i] = c.runCheck(ctx, &targets[i], secrets)
		}()
	}
	wg.Wait()
	return out
}

func (c *Collector) runCheck(ctx context.Context, t *httpTarget, secrets []string) checkRun {
	chk := t.check
	redact := func(s string) string { return engine.Redact(s, secrets...) }
	test := Test{Name: chk.Name, Suite: HTTPSuite, Status: StatusFailed, Attrs: map[string]any{
		"url": redact(t.url), "method": chk.Method, "critical": chk.Critical,
	}}
	if t.instance != "" {
		test.Attrs["instance"] = t.instance
	}
	start := c.now()
	run := checkRun{start: start}
	finish := func(msg string, latency time.Duration) checkRun {
		run.end = c.now()
		if run.end.Before(start) {
			run.end = start
		}
		test.Duration = latency
		test.Attrs["latency_ms"] = latency.Milliseconds()
		test.Attrs["started_at"] = start.UTC().Format(time.RFC3339Nano)
		test.Message = clean(redact(msg), c.maxMessage)
		if msg == "" {
			test.Status = StatusPassed
		}
		run.test = test
		return run
	}
	if ctx.Err() != nil {
		return finish("not run: "+ctx.Err().Error(), 0)
	}
	cctx, cancel := context.WithTimeout(ctx, chk.Timeout)
	defer cancel()
	var body io.Reader
	if chk.Body != "" {
		body = strings.NewReader(chk.Body)
	}
	hreq, err := http.NewRequestWithContext(cctx, chk.Method, t.url, body)
	if err != nil {
		return finish("bad request: "+err.Error(), 0)
	}
	hreq.Header.Set("User-Agent", "gatekeeper-smoke")
	if chk.ContentType != "" {
		hreq.Header.Set("Content-Type", chk.ContentType)
	}
	if t.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+t.token)
	}
	if t.cookie != "" {
		hreq.Header.Set("Cookie", t.cookie)
	}
	client := c.client
	if chk.ExpectStatus >= 300 && chk.ExpectStatus < 400 {
		// A check that expects a redirect looks at the redirect itself.
		cl := *client
		cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		client = &cl
	}
	t0 := time.Now()
	resp, err := client.Do(hreq)
	if err != nil {
		if cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return finish(fmt.Sprintf("no response within the check's timeout of %v", chk.Timeout), time.Since(t0))
		}
		return finish("request failed: "+err.Error(), time.Since(t0))
	}
	defer resp.Body.Close()
	test.Attrs["status_code"] = resp.StatusCode
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	latency := time.Since(t0)
	var problems []string
	if resp.StatusCode != chk.ExpectStatus {
		p := fmt.Sprintf("status %d, expected %d", resp.StatusCode, chk.ExpectStatus)
		if snippet := clean(string(data), 200); snippet != "" {
			p += ": " + snippet
		}
		problems = append(problems, p)
	}
	needBody := chk.ExpectBody != "" || len(chk.ExpectJSON) > 0
	switch {
	case readErr != nil && needBody:
		if cctx.Err() == context.DeadlineExceeded {
			problems = append(problems, fmt.Sprintf("body not read within the check's timeout of %v", chk.Timeout))
		} else {
			problems = append(problems, "reading the body: "+readErr.Error())
		}
	case int64(len(data)) > c.maxBody && needBody:
		problems = append(problems, fmt.Sprintf("body larger than %d bytes: not checked", c.maxBody))
	case needBody:
		if chk.ExpectBody != "" && !bytes.Contains(data, []byte(chk.ExpectBody)) {
			problems = append(problems, fmt.Sprintf("body does not contain %q", chk.ExpectBody))
		}
		if len(chk.ExpectJSON) > 0 {
			problems = append(problems, checkJSON(data, chk.ExpectJSON)...)
		}
	}
	if chk.MaxLatency > 0 && latency > chk.MaxLatency {
		problems = append(problems, fmt.Sprintf("latency %v over the bound of %v", latency.Round(time.Millisecond), chk.MaxLatency))
	}
	return finish(strings.Join(problems, "; "), latency)
}

// checkJSON evaluates the expect_json assertions against a response body.
func checkJSON(data []byte, asserts []jsonAssertion) []string {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return []string{"body is not JSON: " + err.Error()}
	}
	var problems []string
	for _, a := range asserts {
		v, found := lookupPath(doc, a.Path)
		switch {
		case a.HasEquals && !found:
			problems = append(problems, fmt.Sprintf("json %s is missing, expected %s", a.Path, show(a.Equals)))
		case a.HasEquals && !reflect.DeepEqual(v, a.Equals):
			problems = append(problems, fmt.Sprintf("json %s = %s, expected %s", a.Path, show(v), show(a.Equals)))
		case !a.HasEquals && a.Exists && !found:
			problems = append(problems, fmt.Sprintf("json %s is missing", a.Path))
		case !a.HasEquals && !a.Exists && found:
			problems = append(problems, fmt.Sprintf("json %s is present, expected absent", a.Path))
		}
	}
	return problems
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return clean(string(b), 120)
}

// lookupPath follows a dotted path ("data.items.0.id", optionally "$."-prefixed) through
// decoded JSON; numeric segments index arrays.
func lookupPath(doc any, path string) (any, bool) {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "$"), ".")
	if path == "" {
		return doc, true
	}
	cur := doc
	for _, seg := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}
