// Package slack posts launch events to a Slack-compatible incoming webhook (Slack, Mattermost,
// Rocket.Chat and the like accept the same body): a one-line "text" for notifications and
// clients without Block Kit, and "blocks" with a readable summary per event type.
package slack

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatekeeper-dev/gatekeeper/notify/internal/post"
	"github.com/gatekeeper-dev/gatekeeper/notify/types"
)

// Block Kit limits; text over them makes Slack reject the whole message with 400.
const (
	maxHeader  = 150  // plain_text of a header block
	maxSection = 3000 // mrkdwn text of a section block
	maxField   = 2000 // one field of a section block
	maxText    = 3000 // the top-level fallback text, kept short for notifications
)

// Config is how to reach one incoming webhook.
type Config struct {
	URL    string       // the incoming webhook URL; a secret, never repeated in errors
	Client *http.Client // nil: a default client; redirects are never followed
}

// Notifier posts events to one incoming webhook.
type Notifier struct {
	url    string
	client *http.Client
}

// New checks the URL and returns the webhook's notifier.
func New(c Config) (*Notifier, error) {
	if _, err := post.ParseURL(c.URL); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	return &Notifier{url: c.URL, client: post.Client(c.Client)}, nil
}

// Notify posts e once and returns the status seen.
func (n *Notifier) Notify(ctx context.Context, e types.Event) (int, error) {
	status, err := post.JSON(ctx, n.client, n.url, Render(e), nil)
	if err != nil {
		return status, fmt.Errorf("slack: %w", err)
	}
	return status, nil
}

// Message is an incoming-webhook body.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks"`
}

// Block is one Block Kit layout block (header, section, context or divider).
type Block struct {
	Type     string `json:"type"`
	Text     *Text  `json:"text,omitempty"`
	Fields   []Text `json:"fields,omitempty"`
	Elements []Text `json:"elements,omitempty"`
}

// Text is a Block Kit text object.
type Text struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

// summary is what an event type says, in the fallback text and the blocks.
type summary struct {
	title string   // header: what happened
	lines []string // mrkdwn lines under the header
	used  []string // Fields keys the lines already show
}

// Render returns the message for e. Values from the event are escaped, so a reason quoting
// "<html>" or "a & b" reads as written instead of turning into Slack markup.
func Render(e types.Event) Message {
	s := summarize(e)
	release := strings.TrimSpace(e.Service + " " + e.Version)
	if release == "" {
		release = "release"
	}
	title := s.title + ": " + release
	if e.Environment != "" {
		title += " → " + e.Environment
	}

	blocks := []Block{{Type: "header", Text: &Text{"plain_text", truncate(title, maxHeader)}}}
	if len(s.lines) > 0 {
		blocks = append(blocks, section(strings.Join(s.lines, "\n")))
	}
	var facts []Text
	for _, f := range []struct{ name, value string }{
		{"Service", escape(e.Service)}, {"Environment", escape(e.Environment)}, {"Version", escape(e.Version)},
		{"Commit", code(short(e.Commit))}, {"Image", code(e.Image)}, {"Launch", code(e.LaunchID)},
	} {
		if f.value != "" && f.value != "``" {
			facts = append(facts, Text{"mrkdwn", truncate("*"+f.name+"*\n"+f.value, maxField)})
		}
	}
	if len(facts) > 0 {
		blocks = append(blocks, Block{Type: "section", Fields: facts})
	}
	if d := details(e.Fields, s.used); d != "" {
		blocks = append(blocks, section("*Details*\n"+d))
	}
	ctx := "gatekeeper"
	if !e.At.IsZero() {
		ctx += " · " + e.At.UTC().Format(time.RFC3339)
	}
	blocks = append(blocks, Block{Type: "context", Elements: []Text{{"mrkdwn", ctx}}})

	text := title
	if e.Reason != "" && (e.Type == types.EventHold || e.Type == types.EventRollback) {
		text += ": " + oneLine(e.Reason)
	}
	return Message{Text: truncate(escape(text), maxText), Blocks: blocks}
}

// summarize says what each event type means to the people in the channel.
func summarize(e types.Event) summary {
	f := func(k string) string {
		if v := strings.TrimSpace(e.Fields[k]); v != "" {
			return escape(v)
		}
		return "_not given_"
	}
	at := "_not given_"
	if !e.At.IsZero() {
		at = e.At.UTC().Format(time.RFC3339)
	}
	reason := "_no reason given_"
	if strings.TrimSpace(e.Reason) != "" {
		reason = escape(strings.TrimSpace(e.Reason))
	}
	switch e.Type {
	case types.EventAnnounced:
		return summary{"Launch window announced", []string{
			"*Window opens:* " + f("window_at"),
			"*Announced ahead by:* " + f("lead_time"),
		}, []string{"window_at", "lead_time"}}
	case types.EventCutoverStarted:
		cut := at
		if v := strings.TrimSpace(e.Fields["cutover_at"]); v != "" {
			cut = escape(v)
		}
		return summary{"Cutover started", []string{"*Cutover started at:* " + cut}, []string{"cutover_at"}}
	case types.EventSmokePassed:
		return summary{"Smoke tests passed", []string{"The smoke tests passed on the new version; the launch continues."}, nil}
	case types.EventHold:
		return summary{"Launch on hold", []string{"The launch is holding and will not progress until the checks pass.", "*Reason:*\n" + reason}, nil}
	case types.EventRollback:
		return summary{"Rolled back", []string{"Traffic was moved back to the previous version.", "*Reason:*\n" + reason}, nil}
	case types.EventComplete:
		return summary{"Launch complete", []string{
			"*Cutover at:* " + f("cutover_at"),
			"*Traffic shifted:* " + f("traffic"),
			"*Known issues:* " + f("known_issues"),
			"*On call:* " + f("on_call"),
		}, []string{"cutover_at", "traffic", "known_issues", "on_call"}}
	default:
		return summary{"Launch event " + e.Type, nil, nil}
	}
}

// details lists the fields the summary does not already show, keys sorted.
func details(fields map[string]string, used []string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if !slices.Contains(used, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	lines := make([]string, 0, len(keys))
	for _, k := range keys {
		lines = append(lines, "*"+escape(k)+":* "+escape(fields[k]))
	}
	return strings.Join(lines, "\n")
}

func section(text string) Block {
	return Block{Type: "section", Text: &Text{"mrkdwn", truncate(text, maxSection)}}
}

// escape applies the three escapes Slack's mrkdwn requires.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + escape(strings.ReplaceAll(s, "`", "'")) + "`"
}

// short cuts a full commit SHA to the 12 characters people paste.
func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// truncate cuts s to at most max runes, marking the cut.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
