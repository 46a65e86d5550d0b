// Package notifytest is the shared test kit of the notify integrations, as alertmanager's
// notify/test serves every notifier: a local receiver that records requests and misbehaves
// on demand, the delivery suite every integration runs against itself (retries, backoff,
// Retry-After, timeouts, cancellation, secret redaction), sample events of every type, and
// structural golden-file comparison of the bodies.
package notifytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/internal/proctest"
	"github.com/gatekeeper-dev/gatekeeper/notify"
)

// Secret is the token the kit puts in webhook URLs; it must never appear in what Send reports.
const Secret = "gk-hook-s3cr3t-5b2e90"

// SecretPath is the secret part of the kit's webhook URLs, shaped like a Slack hook path.
const SecretPath = "/services/T0GATE/B0KEEP/" + Secret

// URLEnv is the environment variable the kit's channels read their URL from.
const URLEnv = "GK_TEST_NOTIFY_URL"

// Request is one request the receiver got.
type Request struct {
	Method string
	Path   string // includes the secret: only for assertions, never for printing
	Header http.Header
	Body   []byte
}

// Receiver is a local webhook receiver that answers from a script: Answers[i] answers the
// i-th request, the last one every request after it; with no answers it replies 200 "ok".
type Receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []Request
	answers []Answer
}

// Answer is how the receiver replies to one request.
type Answer struct {
	Status     int    // HTTP status; 0 means 200
	RetryAfter string // Retry-After header value, if any
	Body       string // reply body; "{{url}}" is replaced by the request URL (a server echoing the secret)
	Hang       bool   // never reply; wait until the client gives up
	Redirect   string // Location for a 3xx Status
}

// NewReceiver starts a receiver on loopback, closed when the test ends.
func NewReceiver(t testing.TB, answers ...Answer) *Receiver {
	t.Helper()
	r := &Receiver{answers: answers}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	n := len(r.reqs)
	r.reqs = append(r.reqs, Request{Method: req.Method, Path: req.URL.RequestURI(), Header: req.Header.Clone(), Body: body})
	a := Answer{}
	if len(r.answers) > 0 {
		a = r.answers[min(n, len(r.answers)-1)]
	}
	r.mu.Unlock()
	if a.Hang {
		select { // the body was read, so the server notices a client giving up
		case <-req.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	if a.Redirect != "" {
		w.Header().Set("Location", a.Redirect)
	}
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	reply := a.Body
	if reply == "" && status == http.StatusOK {
		reply = "ok"
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, strings.ReplaceAll(reply, "{{url}}", "http://"+req.Host+req.URL.RequestURI()))
}

// Requests returns a copy of the requests received so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// HookURL is the receiver's URL with the kit's secret in its path and query.
func (r *Receiver) HookURL() string {
	return r.URL + SecretPath + "?token=" + Secret
}

// ClosedURL returns a webhook URL (with the secret) on loopback where nothing listens.
func ClosedURL(t testing.TB) string {
	t.Helper()
	return "http://" + proctest.FreeAddr(t) + SecretPath + "?token=" + Secret
}

// Env returns a getenv that knows only URLEnv, set to url.
func Env(url string) func(string) string {
	return func(k string) string {
		if k == URLEnv {
			return url
		}
		return ""
	}
}

// Channel is a runbook channel of the given kind reading its URL from URLEnv.
func Channel(kind string) engine.NotificationSpec {
	return engine.NotificationSpec{Name: "kit-" + kind, Kind: kind, URLEnv: URLEnv}
}

// Sleeps records the waits Send asks for instead of sleeping, so retries take microseconds.
type Sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
	// OnSleep, if set, runs before each recorded wait returns (e.g. to cancel the context).
	OnSleep func(n int)
}

// Sleep is the function to pass to notify.WithSleep.
func (s *Sleeps) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	n := len(s.waits)
	s.mu.Unlock()
	if s.OnSleep != nil {
		s.OnSleep(n)
	}
	return ctx.Err()
}

// Waits returns the recorded waits.
func (s *Sleeps) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// Clock is the fixed time the kit's deliveries are stamped with.
var Clock = time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)

// Events returns a sample event of every type, as a launch of checkout 2.4.0 sends them.
func Events() []notify.Event {
	base := notify.Event{
		LaunchID: "launch-20261126-checkout-2.4.0", Environment: "production", Service: "checkout",
		Version: "2.4.0", Commit: "9f1c2ab7d4e85f3a0b6c1d2e3f405162738495a6",
		Image: "registry.example.com/shop/checkout@sha256:4b1d5e3c2a", At: Clock,
	}
	with := func(typ string, at time.Time, reason string, fields map[string]string) notify.Event {
		e := base
		e.Type, e.At, e.Reason, e.Fields = typ, at, reason, fields
		return e
	}
	return []notify.Event{
		with(notify.EventAnnounced, Clock.Add(-26*time.Hour), "", map[string]string{
			"window_at": "2026-11-26T14:00:00Z", "lead_time": "26h0m0s", "commander": "Dana Whit <dana@example.com>",
		}),
		with(notify.EventCutoverStarted, Clock, "", map[string]string{"cutover_at": "2026-11-26T14:00:00Z", "traffic": "5%"}),
		with(notify.EventSmokePassed, Clock.Add(4*time.Minute), "", map[string]string{"checks": "12/12 passed"}),
		with(notify.EventHold, Clock.Add(9*time.Minute), "canary: p99 latency 912ms > 800ms for 2m (3 of 4 windows)", map[string]string{"traffic": "25%", "step": "2"}),
		with(notify.EventRollback, Clock.Add(12*time.Minute),
			"canary: 5xx ratio 8.1% > 1% sustained 2m\nsmoke: POST /checkout returned 500 (expected 200) & <html> error page",
			map[string]string{"traffic": "25% → 0%", "rollback_to": "2.3.7"}),
		with(notify.EventComplete, Clock.Add(58*time.Minute), "", map[string]string{
			"cutover_at": "2026-11-26T14:00:00Z", "traffic": "100%",
			"known_issues": "CHK-481: slow coupon lookup under load", "on_call": "Sam Ortiz (@sam, +1 555 0100)",
		}),
	}
}

// Suite is the integration the delivery suite runs against.
type Suite struct {
	Kind  string                          // engine.NotificationSpec.Kind
	Check func(t testing.TB, body []byte) // validates one body the receiver got; nil: valid JSON only
}

// base options: a fixed clock, recorded sleeps, short timeouts.
func kitOptions(s *Sleeps, log io.Writer, extra ...notify.Option) []notify.Option {
	opts := []notify.Option{
		notify.WithClock(func() time.Time { return Clock }),
		notify.WithSleep(s.Sleep),
		notify.WithBackoff(10*time.Millisecond, 80*time.Millisecond),
		notify.WithRetries(3),
		notify.WithTimeout(2 * time.Second),
		notify.WithLogger(slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}
	return append(opts, extra...)
}

// Run is the delivery suite: every integration must pass it with its own Kind.
func Run(t *testing.T, s Suite) {
	t.Helper()
	ms := time.Millisecond
	tests := []struct {
		name      string
		answers   []Answer
		closed    bool // send to a closed port instead of the receiver
		opts      []notify.Option
		delivered bool
		attempts  int
		status    int
		waits     []time.Duration
		errHas    string // substring of Delivery.Error
	}{
		{name: "200 delivered", delivered: true, attempts: 1, status: 200},
		{name: "204 delivered", answers: []Answer{{Status: 204}}, delivered: true, attempts: 1, status: 204},
		{name: "500 then 200 retried", answers: []Answer{{Status: 500}, {Status: 503}, {Status: 200}},
			delivered: true, attempts: 3, status: 200, waits: []time.Duration{10 * ms, 20 * ms}},
		{name: "500 forever gives up after retries", answers: []Answer{{Status: 500, Body: "boom at {{url}}"}},
			attempts: 4, status: 500, waits: []time.Duration{10 * ms, 20 * ms, 40 * ms}, errHas: "gave up after 4 attempts: "},
		{name: "backoff capped", answers: []Answer{{Status: 502}}, opts: []notify.Option{notify.WithRetries(5)},
			attempts: 6, status: 502, waits: []time.Duration{10 * ms, 20 * ms, 40 * ms, 80 * ms, 80 * ms}, errHas: "HTTP 502"},
		{name: "400 not retried", answers: []Answer{{Status: 400, Body: "invalid_payload for {{url}}"}},
			attempts: 1, status: 400, errHas: "HTTP 400: invalid_payload"},
		{name: "404 not retried", answers: []Answer{{Status: 404, Body: "no_service"}}, attempts: 1, status: 404, errHas: "not retried"},
		{name: "redirect not followed", answers: []Answer{{Status: 302, Redirect: "/elsewhere"}}, attempts: 1, status: 302, errHas: "HTTP 302"},
		{name: "429 honours Retry-After seconds", answers: []Answer{{Status: 429, RetryAfter: "3"}, {Status: 200}},
			delivered: true, attempts: 2, status: 200, waits: []time.Duration{3 * time.Second}},
		{name: "429 Retry-After capped", answers: []Answer{{Status: 429, RetryAfter: "3600"}, {Status: 200}},
			opts: []notify.Option{notify.WithMaxRetryAfter(5 * time.Second)}, delivered: true, attempts: 2, status: 200, waits: []time.Duration{5 * time.Second}},
		{name: "429 Retry-After shorter than backoff", answers: []Answer{{Status: 429, RetryAfter: "0"}, {Status: 429}, {Status: 200}},
			delivered: true, attempts: 3, status: 200, waits: []time.Duration{10 * ms, 20 * ms}},
		{name: "timeout retried then gives up", answers: []Answer{{Hang: true}},
			opts: []notify.Option{notify.WithTimeout(50 * ms), notify.WithRetries(1)}, attempts: 2, status: 0,
			waits: []time.Duration{10 * ms}, errHas: "no answer within the 50ms timeout"},
		{name: "closed port retried then gives up", closed: true, attempts: 4, status: 0,
			waits: []time.Duration{10 * ms, 20 * ms, 40 * ms}, errHas: "gave up after 4 attempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := NewReceiver(t, tt.answers...)
			url := rcv.HookURL()
			if tt.closed {
				url = ClosedURL(t)
			}
			var sleeps Sleeps
			var log bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			ds := notify.Send(ctx, []engine.NotificationSpec{Channel(s.Kind)}, Events()[4], Env(url), kitOptions(&sleeps, &log, tt.opts...)...)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Send took %v; retries must not really sleep and attempts must honour the timeout", d)
			}
			if len(ds) != 1 {
				t.Fatalf("Send returned %d deliveries, want 1", len(ds))
			}
			d := ds[0]
			if d.Delivered != tt.delivered || d.Attempts != tt.attempts || d.StatusCode != tt.status {
				t.Errorf("delivery = %+v, want delivered=%v attempts=%d status=%d", d, tt.delivered, tt.attempts, tt.status)
			}
			if d.Channel != "kit-"+s.Kind || d.Kind != s.Kind || d.Event != notify.EventRollback || d.At != "2026-11-26T14:00:00Z" {
				t.Errorf("delivery names = %+v", d)
			}
			if tt.delivered && d.Error != "" {
				t.Errorf("delivered with error %q", d.Error)
			}
			if !tt.delivered && (d.Error == "" || !strings.Contains(d.Error, tt.errHas)) {
				t.Errorf("error = %q, want it to contain %q", d.Error, tt.errHas)
			}
			if got := sleeps.Waits(); !reflect.DeepEqual(got, tt.waits) && !(len(got) == 0 && len(tt.waits) == 0) {
				t.Errorf("waits = %v, want %v", got, tt.waits)
			}
			if !tt.closed {
				reqs := rcv.Requests()
				if len(reqs) != tt.attempts {
					t.Errorf("receiver got %d requests, want %d (one per attempt)", len(reqs), tt.attempts)
				}
				for _, r := range reqs {
					checkRequest(t, s, r)
				}
			}
			AssertNoSecret(t, d, log.String())
		})
	}
	t.Run("context cancelled stops retries", func(t *testing.T) {
		rcv := NewReceiver(t, Answer{Status: 500})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sleeps := Sleeps{OnSleep: func(n int) {
			if n == 2 {
				cancel()
			}
		}}
		var log bytes.Buffer
		ds := notify.Send(ctx, []engine.NotificationSpec{Channel(s.Kind)}, Events()[0], Env(rcv.HookURL()),
			kitOptions(&sleeps, &log, notify.WithRetries(10))...)
		d := ds[0]
		if d.Delivered || d.Attempts != 2 || len(rcv.Requests()) != 2 || !strings.Contains(d.Error, "context canceled") {
			t.Errorf("after cancelling during the 2nd wait: %+v, %d requests; want 2 attempts, not delivered, a cancellation error", d, len(rcv.Requests()))
		}
		AssertNoSecret(t, d, log.String())
	})
	t.Run("context cancelled during an attempt", func(t *testing.T) {
		rcv := NewReceiver(t, Answer{Hang: true})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		var sleeps Sleeps
		var log bytes.Buffer
		start := time.Now()
		ds := notify.Send(ctx, []engine.NotificationSpec{Channel(s.Kind)}, Events()[0], Env(rcv.HookURL()), kitOptions(&sleeps, &log)...)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Send took %v after its context ended", d)
		}
		if d := ds[0]; d.Delivered || d.Attempts != 1 || !strings.Contains(d.Error, "deadline exceeded") || len(sleeps.Waits()) != 0 {
			t.Errorf("delivery = %+v, waits %v; want one attempt stopped by the context", d, sleeps.Waits())
		}
		AssertNoSecret(t, ds[0], log.String())
	})
	t.Run("429 honours Retry-After date", func(t *testing.T) {
		date := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
		rcv := NewReceiver(t, Answer{Status: 429, RetryAfter: date}, Answer{Status: 200})
		var sleeps Sleeps
		d := notify.Send(t.Context(), []engine.NotificationSpec{Channel(s.Kind)}, Events()[0], Env(rcv.HookURL()), kitOptions(&sleeps, io.Discard)...)[0]
		w := sleeps.Waits()
		// The date has one-second resolution: the wait is what is left of 3 s, at least 2 s of it.
		if !d.Delivered || d.Attempts != 2 || len(w) != 1 || w[0] <= 1*time.Second || w[0] > 3*time.Second {
			t.Errorf("delivery %+v, waits %v; want one wait of 2–3 s", d, w)
		}
	})
	t.Run("Notify errors carry no secret", func(t *testing.T) {
		for _, url := range []string{NewReceiver(t, Answer{Status: 500, Body: "no hook at {{url}}"}).HookURL(), ClosedURL(t)} {
			n, err := notify.New(Channel(s.Kind), Env(url))
			if err != nil {
				t.Fatal(err)
			}
			_, err = n.Notify(t.Context(), Events()[3])
			if err == nil {
				t.Fatal("Notify to a failing receiver returned no error")
			}
			AssertNoSecret(t, notify.Delivery{}, err.Error(), fmt.Sprintf("%+v", err))
		}
	})
	t.Run("every event type delivered", func(t *testing.T) {
		rcv := NewReceiver(t)
		for _, e := range Events() {
			var sleeps Sleeps
			var log bytes.Buffer
			d := notify.Send(context.Background(), []engine.NotificationSpec{Channel(s.Kind)}, e, Env(rcv.HookURL()), kitOptions(&sleeps, &log)...)[0]
			if !d.Delivered || d.Event != e.Type {
				t.Errorf("%s: %+v", e.Type, d)
			}
		}
		reqs := rcv.Requests()
		if len(reqs) != len(Events()) {
			t.Fatalf("receiver got %d requests, want %d", len(reqs), len(Events()))
		}
		for _, r := range reqs {
			checkRequest(t, s, r)
		}
	})
	t.Run("bad URLs never repeated", func(t *testing.T) {
		for _, raw := range []string{
			"ftp://hooks.example.com" + SecretPath,
			"http://[::1" + SecretPath,
			"https://" + Secret + ":x@" + "/no-host",
			"/relative" + SecretPath,
		} {
			_, err := notify.New(Channel(s.Kind), Env(raw))
			if err == nil {
				t.Errorf("New accepted a bad URL")
				continue
			}
			var ce *notify.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), URLEnv) || !strings.Contains(err.Error(), "kit-"+s.Kind) {
				t.Errorf("error %q does not name the channel and %s", err, URLEnv)
			}
			if strings.Contains(err.Error(), Secret) || strings.Contains(err.Error(), raw) {
				t.Errorf("error repeats the URL: %q", err)
			}
		}
	})
}

// checkRequest checks what every integration sends: a JSON POST the integration's Check accepts.
func checkRequest(t testing.TB, s Suite, r Request) {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("method %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if !strings.HasSuffix(strings.SplitN(r.Path, "?", 2)[0], SecretPath) {
		t.Errorf("request went to another path than the webhook URL's")
	}
	if !json.Valid(r.Body) {
		t.Errorf("body is not JSON: %s", r.Body)
	}
	if s.Check != nil {
		s.Check(t, r.Body)
	}
}

// AssertNoSecret fails when the kit's secret or secret path appears in the delivery or in the
// extra texts (log output, errors).
func AssertNoSecret(t testing.TB, d notify.Delivery, texts ...string) {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, txt := range append([]string{string(b)}, texts...) {
		for _, sec := range []string{Secret, SecretPath, strings.TrimPrefix(SecretPath, "/services/")} {
			if strings.Contains(txt, sec) {
				t.Errorf("a secret leaked: %s", txt)
			}
		}
	}
}

// Body sends e through Send to a receiver answering 200 and returns the body it got.
func Body(t testing.TB, kind string, e notify.Event) []byte {
	t.Helper()
	rcv := NewReceiver(t)
	var sleeps Sleeps
	d := notify.Send(context.Background(), []engine.NotificationSpec{Channel(kind)}, e, Env(rcv.HookURL()), kitOptions(&sleeps, io.Discard)...)[0]
	reqs := rcv.Requests()
	if !d.Delivered || len(reqs) != 1 {
		t.Fatalf("sending %s: %+v, %d requests", e.Type, d, len(reqs))
	}
	return reqs[0].Body
}

// Golden compares body with dir/name.golden.json structurally (as decoded JSON, so key order
// and indentation do not matter); with update it rewrites the file instead.
func Golden(t testing.TB, dir, name string, body []byte, update bool) {
	t.Helper()
	path := filepath.Join(dir, name+".golden.json")
	var got any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s: body is not JSON: %v", name, err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<", ">" and "&" readable in the golden file
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	pretty := buf.Bytes()
	if update {
		if err := os.WriteFile(path, pretty, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	var want any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s differs from the body sent (rerun with -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, pretty, raw)
	}
}
