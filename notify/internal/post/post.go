// Package post sends one JSON body to one webhook URL for the notify integrations. A webhook
// URL is a credential (whoever knows it can post to the channel), so nothing this package
// returns carries it: transport errors lose Go's *url.Error wrapper and every message is
// redacted against the URL's parts.
package post

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/notify/types"
)

// MaxSnippet bounds how much of a response body an error repeats.
const MaxSnippet = 256

// maxDrain bounds how much of a response body is read at all.
const maxDrain = 64 << 10

// ParseURL checks that raw is an absolute http(s) URL with a host. Its errors never repeat
// raw, because raw is a secret.
func ParseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("empty URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("not a URL: %s", engine.Redact(err.Error(), Secrets(raw)...))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("not an http or https URL")
	}
	if u.Host == "" {
		return nil, errors.New("URL has no host")
	}
	return u, nil
}

// minPart is the shortest URL part Secrets lists: a token is longer, while a short path like
// "/hook" is no secret and redacting it would mangle ordinary words ("webhook").
const minPart = 8

// Secrets returns the parts of a webhook URL that must not be repeated: the URL itself, its
// path, query, query values and userinfo. The host stays visible: it says which receiver failed.
func Secrets(raw string) []string {
	out := []string{raw, strings.TrimSpace(raw)}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return out
	}
	parts := []string{u.Path, u.EscapedPath(), u.RawQuery, u.Fragment,
		// A path without its leading slash is what a "no such hook" message may echo.
		strings.TrimPrefix(u.Path, "/")}
	// A token-length path segment (a Slack hook's last one) may be echoed alone.
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= 2*minPart {
			parts = append(parts, seg)
		}
	}
	if q, err := url.ParseQuery(u.RawQuery); err == nil {
		for _, vs := range q {
			parts = append(parts, vs...)
		}
	}
	if u.User != nil {
		p, _ := u.User.Password()
		parts = append(parts, u.User.Username(), p)
	}
	for _, p := range parts {
		if len(p) >= minPart {
			out = append(out, p)
		}
	}
	return out
}

// Client returns a copy of c (or a fresh client) that never follows redirects: net/http turns
// a redirected POST into a GET, and a 2xx from that GET would confirm a delivery that never
// happened. The redirect itself is then a non-2xx answer.
func Client(c *http.Client) *http.Client {
	var cl http.Client
	if c != nil {
		cl = *c
	}
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cl
}

// JSON posts v as JSON to rawURL once and returns the status seen. A non-2xx answer is a
// *types.HTTPError; a transport failure has status 0. headers are added to the request.
func JSON(ctx context.Context, client *http.Client, rawURL string, v any, headers map[string]string) (int, error) {
	secrets := Secrets(rawURL)
	body, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encoding the body: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, redacted(err, secrets)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gatekeeper")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if client == nil {
		client = Client(nil)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, redacted(err, secrets)
	}
	defer resp.Body.Close()
	// Read (a bounded part of) the body so the connection can be reused.
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxDrain))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, &types.HTTPError{
		StatusCode: resp.StatusCode,
		RetryAfter: RetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		Body:       engine.Redact(Snippet(data, MaxSnippet), secrets...),
	}
}

// Error is a transport error stripped of the URL Go's *url.Error adds, with its message
// redacted; it still unwraps to the cause, so errors.Is(err, context.DeadlineExceeded) holds.
type Error struct {
	msg   string
	cause error
}

// Error returns the redacted message.
func (e *Error) Error() string { return e.msg }

// Unwrap returns the cause without the URL wrapper.
func (e *Error) Unwrap() error { return e.cause }

func redacted(err error, secrets []string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &Error{msg: engine.Redact(err.Error(), secrets...), cause: err}
}

// RetryAfter reads a Retry-After header: delay seconds or an HTTP date relative to now.
// Anything unreadable, and a date in the past, is 0.
func RetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.Atoi(h); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Snippet returns the body's first max bytes as trimmed single-line text, cut on a rune.
func Snippet(b []byte, max int) string {
	cut := len(b) > max
	if cut {
		b = b[:max]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if cut {
		s += "…"
	}
	return s
}
