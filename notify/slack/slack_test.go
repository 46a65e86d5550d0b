package slack_test

import (
	"encoding/json"
	"flag"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatekeeper-dev/gatekeeper/notify"
	"github.com/gatekeeper-dev/gatekeeper/notify/notifytest"
	"github.com/gatekeeper-dev/gatekeeper/notify/slack"
	"github.com/gatekeeper-dev/gatekeeper/notify/types"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// checkBody checks what Slack accepts: text, known block types, Block Kit length limits.
func checkBody(t testing.TB, body []byte) {
	t.Helper()
	var m slack.Message
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body is not an incoming-webhook message: %v\n%s", err, body)
	}
	if strings.TrimSpace(m.Text) == "" {
		t.Errorf("no fallback text")
	}
	if len(m.Blocks) == 0 || len(m.Blocks) > 50 {
		t.Errorf("%d blocks, want 1..50", len(m.Blocks))
	}
	for i, b := range m.Blocks {
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || utf8.RuneCountInString(b.Text.Text) > 150 {
				t.Errorf("block %d: bad header %+v", i, b.Text)
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				t.Errorf("block %d: empty section", i)
			}
			if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > 3000 {
				t.Errorf("block %d: section text over 3000 characters", i)
			}
			if len(b.Fields) > 10 {
				t.Errorf("block %d: %d fields, Slack allows 10", i, len(b.Fields))
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > 10 {
				t.Errorf("block %d: context with %d elements", i, len(b.Elements))
			}
		default:
			t.Errorf("block %d: unexpected type %q", i, b.Type)
		}
	}
}

func TestKit(t *testing.T) {
	notifytest.Run(t, notifytest.Suite{Kind: notify.KindSlack, Check: checkBody})
}

func TestGolden(t *testing.T) {
	for _, e := range notifytest.Events() {
		t.Run(e.Type, func(t *testing.T) {
			notifytest.Golden(t, "testdata", e.Type, notifytest.Body(t, notify.KindSlack, e), *update)
		})
	}
}

// text is everything a reader sees in the message.
func text(m slack.Message) string {
	parts := []string{m.Text}
	for _, b := range m.Blocks {
		if b.Text != nil {
			parts = append(parts, b.Text.Text)
		}
		for _, f := range append(b.Fields, b.Elements...) {
			parts = append(parts, f.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func TestRenderSummaries(t *testing.T) {
	events := map[string]types.Event{}
	for _, e := range notifytest.Events() {
		events[e.Type] = e
	}
	tests := []struct {
		name  string
		event types.Event
		want  []string // substrings the reader must see
		not   []string
	}{
		{"announced shows window and lead time", events["announced"],
			[]string{"Launch window announced: checkout 2.4.0 → production", "*Window opens:* 2026-11-26T14:00:00Z", "*Announced ahead by:* 26h0m0s", "*commander:* Dana Whit &lt;dana@example.com&gt;"}, nil},
		{"rollback shows the reason, escaped", events["rollback"],
			[]string{"Rolled back: checkout 2.4.0 → production", "*Reason:*\ncanary: 5xx ratio 8.1% &gt; 1% sustained 2m\nsmoke: POST /checkout returned 500 (expected 200) &amp; &lt;html&gt; error page",
				"*rollback_to:* 2.3.7"}, []string{"<html>"}},
		{"rollback fallback text carries the reason on one line", events["rollback"],
			[]string{"Rolled back: checkout 2.4.0 → production: canary: 5xx ratio 8.1% &gt; 1% sustained 2m smoke:"}, nil},
		{"hold shows the reason", events["hold"], []string{"Launch on hold", "p99 latency 912ms &gt; 800ms"}, nil},
		{"complete shows cutover, traffic, known issues, on-call", events["complete"],
			[]string{"*Cutover at:* 2026-11-26T14:00:00Z", "*Traffic shifted:* 100%", "*Known issues:* CHK-481: slow coupon lookup under load", "*On call:* Sam Ortiz (@sam, +1 555 0100)"},
			[]string{"*Details*"}},
		{"complete without fields says so", types.Event{Type: types.EventComplete, Service: "checkout"},
			[]string{"*On call:* _not given_", "*Known issues:* _not given_"}, nil},
		{"rollback without reason says so", types.Event{Type: types.EventRollback}, []string{"Rolled back: release", "_no reason given_"}, nil},
		{"commit shortened", events["smoke_passed"], []string{"`9f1c2ab7d4e8`", "Smoke tests passed"}, []string{"9f1c2ab7d4e85f3a"}},
		{"cutover falls back to the event time", types.Event{Type: types.EventCutoverStarted, At: notifytest.Clock}, []string{"*Cutover started at:* 2026-11-26T14:00:00Z"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := slack.Render(tt.event)
			got := text(m)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("message lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("message contains %q:\n%s", n, got)
				}
			}
			b, _ := json.Marshal(m)
			checkBody(t, b)
		})
	}
}

func TestRenderLimits(t *testing.T) {
	long := strings.Repeat("check failed: error budget exhausted; ", 400)
	e := types.Event{Type: types.EventRollback, Service: strings.Repeat("s", 200), Reason: long,
		Fields: map[string]string{"notes": long}}
	b, _ := json.Marshal(slack.Render(e))
	checkBody(t, b)
	if m := slack.Render(e); utf8.RuneCountInString(m.Text) > 3000 {
		t.Errorf("fallback text has %d characters", utf8.RuneCountInString(m.Text))
	}
}
