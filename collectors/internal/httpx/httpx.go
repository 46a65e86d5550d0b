// Package httpx holds what the HTTP collectors (health, version, integrations, uat) share:
// bounded, time-limited GETs with limited redirects, bearer tokens from environment
// variables, bounded file reads, JSON-path lookups and secret redaction. Collectors never
// import each other; they may import this package.
package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Defaults applied when a collector is built without the corresponding option.
const (
	DefaultTimeout       = 10 * time.Second // per request
	DefaultMaxBody int64 = 1 << 20          // 1 MiB
	MaxRedirects         = 5                // redirects followed before giving up
	// Parallelism bounds how many requests one collector has in flight at once.
	Parallelism = 16
)

// ErrTooLarge is wrapped by the error returned for a body or file over the size limit.
var ErrTooLarge = errors.New("size limit exceeded")

// Config is the HTTP behaviour every HTTP collector's options set.
type Config struct {
	Client    *http.Client                // nil: a default client
	Timeout   time.Duration               // per request; <= 0: DefaultTimeout
	MaxBody   int64                       // bytes; <= 0: DefaultMaxBody
	LookupEnv func(string) (string, bool) // nil: os.LookupEnv
	TokenEnv  string                      // environment variable holding a bearer token; "" for none
}

// Normalized returns c with defaults filled in and a client whose redirects are limited.
func (c Config) Normalized() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.LookupEnv == nil {
		c.LookupEnv = os.LookupEnv
	}
	var cl http.Client
	if c.Client != nil {
		cl = *c.Client // shallow copy: the caller's client is not modified
	}
	if cl.CheckRedirect == nil {
		cl.CheckRedirect = limitRedirects
	}
	c.Client = &cl
	return c
}

func limitRedirects(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("stopped after %d redirects", MaxRedirects)
	}
	return nil
}

// Token returns the bearer token named by TokenEnv: "" when none is configured, an error
// when the variable is configured but unset or empty (a missing credential must not turn
// into an unauthenticated request that silently observes something else).
func (c Config) Token() (string, error) {
	if c.TokenEnv == "" {
		return "", nil
	}
	lookup := c.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(c.TokenEnv)
	if !ok || strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("bearer token environment variable %s is not set", c.TokenEnv)
	}
	return strings.TrimSpace(v), nil
}

// Response is a bounded HTTP response.
type Response struct {
	StatusCode  int           // HTTP status code
	ContentType string        // media type only, lower case, without parameters
	Body        []byte        // at most the configured MaxBody bytes
	Duration    time.Duration // from sending the request to the end of the body
}

// Get requests rawURL with the given timeout (on top of ctx), an optional bearer token and
// accept header, and reads at most maxBody bytes of the body. A body over the limit yields
// the response read so far together with an error wrapping ErrTooLarge, so callers that do
// not need the body (probes) can still use the status code. Transport errors never repeat the
// URL (it may carry credentials); callers report the redacted URL beside the error.
func Get(ctx context.Context, c Config, rawURL, accept string) (*Response, error) {
	c = c.Normalized()
	token, err := c.Token()
	if err != nil {
		return nil, err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("bad URL: %w", unwrapURLError(err))
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("User-Agent", "gatekeeper")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return nil, transportError(parent, ctx, err, c.Timeout)
	}
	defer resp.Body.Close()
	r := &Response{StatusCode: resp.StatusCode, ContentType: MediaType(resp.Header.Get("Content-Type"))}
	if resp.ContentLength > c.MaxBody {
		r.Duration = time.Since(start)
		return r, fmt.Errorf("response body of %d bytes exceeds the limit of %s: %w", resp.ContentLength, Size(c.MaxBody), ErrTooLarge)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.MaxBody+1))
	r.Duration = time.Since(start)
	if int64(len(body)) > c.MaxBody {
		r.Body = body[:c.MaxBody]
		return r, fmt.Errorf("response body exceeds the limit of %s: %w", Size(c.MaxBody), ErrTooLarge)
	}
	r.Body = body
	if err != nil {
		return r, fmt.Errorf("reading the response body: %w", transportError(parent, ctx, err, c.Timeout))
	}
	return r, nil
}

// transportError words a client error without the URL and says plainly when it was a
// timeout: the request's own, or the caller's deadline for the whole collection.
func transportError(parent, ctx context.Context, err error, timeout time.Duration) error {
	if errors.Is(parent.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no complete answer before the collection deadline: %w", context.DeadlineExceeded)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no complete answer within the %s timeout: %w", timeout, context.DeadlineExceeded)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("collection cancelled: %w", context.Canceled)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("no complete answer within the %s timeout: %w", timeout, context.DeadlineExceeded)
	}
	return unwrapURLError(err)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// MediaType returns the lower-case media type of a Content-Type header, without parameters.
func MediaType(contentType string) string {
	if contentType == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
	}
	return strings.ToLower(strings.TrimSpace(mt))
}

// IsJSONType reports whether a media type declares JSON (application/json or any +json type).
func IsJSONType(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

// LooksLikeJSON reports whether the body starts (after white space) like a JSON object or array.
func LooksLikeJSON(body []byte) bool {
	s := strings.TrimLeftFunc(string(body[:min(len(body), 64)]), unicode.IsSpace)
	return strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")
}

// IsHTML reports whether the response is an HTML page: a proxy error, a login page or a
// default page, never the document a collector asked for.
func IsHTML(mediaType string, body []byte) bool {
	if mediaType == "text/html" || mediaType == "application/xhtml+xml" {
		return true
	}
	s := strings.ToLower(strings.TrimLeftFunc(string(body[:min(len(body), 64)]), unicode.IsSpace))
	return strings.HasPrefix(s, "<!doctype html") || strings.HasPrefix(s, "<html")
}

// Snippet returns the start of body as one printable line of at most n runes, for error
// messages. Callers still redact it: servers echo credentials back.
func Snippet(body []byte, n int) string {
	var b strings.Builder
	count := 0
	space := false
	for len(body) > 0 && count < n {
		r, size := utf8.DecodeRune(body)
		body = body[size:]
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
				count++
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
		count++
	}
	s := strings.TrimSpace(b.String())
	if len(body) > 0 {
		s += "…"
	}
	return s
}

// FirstLine returns the first non-empty line of body, trimmed, if it is at most n bytes.
func FirstLine(body []byte, n int) (string, bool) {
	for line := range strings.SplitSeq(string(body), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(line) > n || !utf8.ValidString(line) {
			return "", false
		}
		return line, true
	}
	return "", false
}

// ReadFile reads at most maxBody bytes of a file; a larger file is refused with an error
// wrapping ErrTooLarge rather than read into memory.
func ReadFile(path string, maxBody int64) ([]byte, error) {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		if st.IsDir() {
			return nil, fmt.Errorf("%s is a directory, not a file", path)
		}
		if st.Size() > maxBody {
			return nil, fmt.Errorf("file of %d bytes exceeds the limit of %s: %w", st.Size(), Size(maxBody), ErrTooLarge)
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, maxBody+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > maxBody {
		return nil, fmt.Errorf("file exceeds the limit of %s: %w", Size(maxBody), ErrTooLarge)
	}
	return b, nil
}

// Size renders a byte count for messages: "1 MiB", "512 KiB", "100 bytes".
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

// Redactor removes the secrets a collector holds (and anything credential-shaped) from text
// bound for facts.
type Redactor []string

// S returns s redacted with engine.Redact.
func (r Redactor) S(s string) string { return engine.Redact(s, r...) }

// Parallel calls fn(i) for i in [0, n) concurrently, at most Parallelism at a time, and
// returns when all have returned.
func Parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, Parallelism)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// Timestamp renders t as the facts hold times: RFC 3339 in UTC.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// AllFailed words the fact-level error of a source whose every target failed: the count and
// the first few per-target errors ("every instance failed (2): web-0: connection refused;
// web-1: HTTP 500 …"). what is singular ("instance").
func AllFailed(what string, names, errs []string) string {
	const show = 3
	parts := make([]string, 0, show)
	for i := range min(len(errs), show) {
		parts = append(parts, names[i]+": "+errs[i])
	}
	more := ""
	if len(errs) > show {
		more = fmt.Sprintf("; and %d more", len(errs)-show)
	}
	return fmt.Sprintf("every %s failed (%d): %s%s", what, len(errs), strings.Join(parts, "; "), more)
}
