package webhook_test

import (
	"encoding/json"
	"flag"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/notify"
	"github.com/gatekeeper-dev/gatekeeper/notify/notifytest"
	"github.com/gatekeeper-dev/gatekeeper/notify/types"
	"github.com/gatekeeper-dev/gatekeeper/notify/webhook"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// keys is the documented body: every key always present.
var keys = []string{"at", "commit", "environment", "fields", "gatekeeper_event", "image", "launch_id", "reason", "service", "type", "version"}

func checkBody(t testing.TB, body []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v", err)
	}
	got := make([]string, 0, len(m))
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	if !reflect.DeepEqual(got, keys) {
		t.Errorf("body keys = %v, want %v", got, keys)
	}
	if v, _ := m["gatekeeper_event"].(float64); v != webhook.SchemaVersion {
		t.Errorf("gatekeeper_event = %v, want %d", m["gatekeeper_event"], webhook.SchemaVersion)
	}
	if _, ok := m["fields"].(map[string]any); !ok {
		t.Errorf("fields = %v, want an object", m["fields"])
	}
}

func TestKit(t *testing.T) {
	notifytest.Run(t, notifytest.Suite{Kind: notify.KindWebhook, Check: checkBody})
}

func TestGolden(t *testing.T) {
	for _, e := range notifytest.Events() {
		t.Run(e.Type, func(t *testing.T) {
			notifytest.Golden(t, "testdata", e.Type, notifytest.Body(t, notify.KindWebhook, e), *update)
		})
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		in   types.Event
		want webhook.Payload
	}{
		{"empty event keeps every key", types.Event{Type: types.EventHold},
			webhook.Payload{Schema: 1, Type: "hold", Fields: map[string]string{}}},
		{"time in UTC", types.Event{Type: types.EventComplete, At: notifytest.Clock.In(time.FixedZone("CET", 3600)), Fields: map[string]string{"on_call": "sam"}},
			webhook.Payload{Schema: 1, Type: "complete", At: "2026-11-26T14:00:00Z", Fields: map[string]string{"on_call": "sam"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := webhook.Render(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Render = %+v, want %+v", got, tt.want)
			}
			b, _ := json.Marshal(got)
			checkBody(t, b)
		})
	}
}

func TestIdempotencyKeyStableAcrossRetries(t *testing.T) {
	rcv := notifytest.NewReceiver(t, notifytest.Answer{Status: 503}, notifytest.Answer{Status: 200})
	var sleeps notifytest.Sleeps
	ch := notifytest.Channel(notify.KindWebhook)
	d := notify.Send(t.Context(), []engine.NotificationSpec{ch}, notifytest.Events()[0], notifytest.Env(rcv.HookURL()), notify.WithSleep(sleeps.Sleep))[0]
	reqs := rcv.Requests()
	if !d.Delivered || len(reqs) != 2 {
		t.Fatalf("delivery %+v, %d requests", d, len(reqs))
	}
	k1, k2 := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key")
	if k1 == "" || k1 != k2 || string(reqs[0].Body) != string(reqs[1].Body) {
		t.Errorf("retry changed the request: keys %q/%q", k1, k2)
	}
}
