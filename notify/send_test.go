package notify_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/notify"
	"github.com/gatekeeper-dev/gatekeeper/notify/notifytest"
)

// barrier answers status only after n requests arrived, so a test sees whether Send posts to
// its channels at the same time; a sequential Send would leave the first request waiting.
type barrier struct {
	n       int32
	arrived atomic.Int32
	all     chan struct{}
	once    sync.Once
	late    atomic.Bool
}

func newBarrier(n int) *barrier { return &barrier{n: int32(n), all: make(chan struct{})} }

func (b *barrier) handler(status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.arrived.Add(1) >= b.n {
			b.once.Do(func() { close(b.all) })
		}
		select {
		case <-b.all:
		case <-time.After(2 * time.Second):
			b.late.Store(true)
		}
		w.WriteHeader(status)
	})
}

func TestSendFanOut(t *testing.T) {
	b := newBarrier(2)
	ok := httptest.NewServer(b.handler(http.StatusOK))
	defer ok.Close()
	failing := httptest.NewServer(b.handler(http.StatusInternalServerError))
	defer failing.Close()
	env := map[string]string{
		"OPS_HOOK":    ok.URL + notifytest.SecretPath,
		"STATUS_HOOK": failing.URL + "/hook?token=" + notifytest.Secret,
	}
	channels := []engine.NotificationSpec{ // deliberately not in name order
		{Name: "status-page", Kind: notify.KindWebhook, URLEnv: "STATUS_HOOK"},
		{Name: "launch-channel", Kind: notify.KindSlack, URLEnv: "OPS_HOOK"},
	}
	var sleeps notifytest.Sleeps
	start := time.Now()
	ds := notify.Send(t.Context(), channels, notifytest.Events()[0], func(k string) string { return env[k] },
		notify.WithSleep(sleeps.Sleep), notify.WithRetries(2), notify.WithClock(func() time.Time { return notifytest.Clock }))
	if b.late.Load() {
		t.Errorf("the channels were not posted to concurrently")
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Send took %v", d)
	}
	want := []notify.Delivery{
		{Channel: "launch-channel", Kind: "slack", Event: "announced", StatusCode: 200, Delivered: true, Attempts: 1, At: "2026-11-26T14:00:00Z"},
		{Channel: "status-page", Kind: "webhook", Event: "announced", StatusCode: 500, Delivered: false, Attempts: 3, At: "2026-11-26T14:00:00Z",
			Error: "gave up after 3 attempts: webhook: HTTP 500"},
	}
	if len(ds) != len(want) {
		t.Fatalf("got %d deliveries, want %d", len(ds), len(want))
	}
	for i := range want {
		if ds[i] != want[i] {
			t.Errorf("delivery %d = %+v\nwant %+v", i, ds[i], want[i])
		}
		notifytest.AssertNoSecret(t, ds[i])
	}
}

func TestSendChannelErrors(t *testing.T) {
	rcv := notifytest.NewReceiver(t)
	tests := []struct {
		name    string
		spec    engine.NotificationSpec
		env     map[string]string
		errHas  []string
		errNot  []string
		wantReq int // requests the good channel's receiver gets
	}{
		{name: "missing env var", spec: engine.NotificationSpec{Name: "status-page", Kind: "webhook", URLEnv: "STATUS_HOOK"},
			errHas: []string{`"status-page"`, "STATUS_HOOK", "not set"}},
		{name: "empty env var", spec: engine.NotificationSpec{Name: "status-page", Kind: "webhook", URLEnv: "STATUS_HOOK"},
			env: map[string]string{"STATUS_HOOK": ""}, errHas: []string{"STATUS_HOOK", "not set"}},
		{name: "not a URL", spec: engine.NotificationSpec{Name: "status-page", Kind: "webhook", URLEnv: "STATUS_HOOK"},
			env: map[string]string{"STATUS_HOOK": "hooks.example.com" + notifytest.SecretPath}, errHas: []string{"STATUS_HOOK", "not an http or https URL"},
			errNot: []string{notifytest.Secret, "hooks.example.com"}},
		{name: "unknown kind", spec: engine.NotificationSpec{Name: "pager", Kind: "pagerduty", URLEnv: "STATUS_HOOK"},
			env: map[string]string{"STATUS_HOOK": "https://example.com" + notifytest.SecretPath}, errHas: []string{`"pager"`, `unknown kind "pagerduty"`}},
		{name: "no url_env", spec: engine.NotificationSpec{Name: "status-page", Kind: "slack"}, errHas: []string{`"status-page"`, "url_env"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{notifytest.URLEnv: rcv.HookURL()}
			for k, v := range tt.env {
				env[k] = v
			}
			getenv := func(k string) string { return env[k] }
			before := len(rcv.Requests())
			ds := notify.Send(t.Context(), []engine.NotificationSpec{tt.spec, notifytest.Channel("webhook")}, notifytest.Events()[0], getenv)
			if len(ds) != 2 || ds[0].Channel != "kit-webhook" {
				t.Fatalf("deliveries = %+v", ds)
			}
			if !ds[0].Delivered {
				t.Errorf("a broken channel kept the good one from delivering: %+v", ds[0])
			}
			if got := len(rcv.Requests()) - before; got != 1 {
				t.Errorf("good channel receiver got %d requests, want 1", got)
			}
			d := ds[1]
			if d.Delivered || d.Attempts != 0 || d.StatusCode != 0 || d.At == "" {
				t.Errorf("broken channel delivery = %+v, want no attempt", d)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(d.Error, s) {
					t.Errorf("error %q lacks %q", d.Error, s)
				}
			}
			for _, s := range tt.errNot {
				if strings.Contains(d.Error, s) {
					t.Errorf("error %q repeats %q", d.Error, s)
				}
			}
			_, err := notify.New(tt.spec, getenv)
			var ce *notify.ConfigError
			if !errors.As(err, &ce) || err.Error() != d.Error {
				t.Errorf("New error = %v, want the ConfigError Send reported (%q)", err, d.Error)
			}
		})
	}
}

func TestSendUnknownEventType(t *testing.T) {
	rcv := notifytest.NewReceiver(t)
	e := notifytest.Events()[0]
	e.Type = "launched"
	ds := notify.Send(t.Context(), []engine.NotificationSpec{notifytest.Channel("slack")}, e, notifytest.Env(rcv.HookURL()))
	if len(ds) != 1 || ds[0].Delivered || ds[0].Attempts != 0 || !strings.Contains(ds[0].Error, `unknown event type "launched"`) {
		t.Errorf("deliveries = %+v", ds)
	}
	if n := len(rcv.Requests()); n != 0 {
		t.Errorf("receiver got %d requests for an unknown event", n)
	}
}

func TestSendNoChannels(t *testing.T) {
	if ds := notify.Send(t.Context(), nil, notifytest.Events()[0], nil); len(ds) != 0 {
		t.Errorf("deliveries = %+v, want none", ds)
	}
}

func TestSendStampsZeroEventTime(t *testing.T) {
	rcv := notifytest.NewReceiver(t)
	e := notifytest.Events()[1]
	e.At = time.Time{}
	clock := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	d := notify.Send(t.Context(), []engine.NotificationSpec{notifytest.Channel("webhook")}, e, notifytest.Env(rcv.HookURL()),
		notify.WithClock(func() time.Time { return clock }))[0]
	if !d.Delivered || d.At != "2026-12-01T09:30:00Z" {
		t.Fatalf("delivery = %+v", d)
	}
	var body struct{ At string }
	if err := json.Unmarshal(rcv.Requests()[0].Body, &body); err != nil || body.At != "2026-12-01T09:30:00Z" {
		t.Errorf("body at = %q (%v), want the clock's time", body.At, err)
	}
}

// countingTransport counts the requests sent through it.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestNewWithHTTPClientAndEnvironment(t *testing.T) {
	rcv := notifytest.NewReceiver(t)
	t.Setenv(notifytest.URLEnv, rcv.HookURL())
	var tr countingTransport
	n, err := notify.New(notifytest.Channel("slack"), nil, notify.WithHTTPClient(&http.Client{Transport: &tr}))
	if err != nil {
		t.Fatal(err)
	}
	status, err := n.Notify(t.Context(), notifytest.Events()[2])
	if err != nil || status != 200 {
		t.Fatalf("Notify = %d, %v", status, err)
	}
	if tr.n.Load() != 1 || len(rcv.Requests()) != 1 {
		t.Errorf("transport saw %d requests, receiver %d; want the given client used once", tr.n.Load(), len(rcv.Requests()))
	}
}
