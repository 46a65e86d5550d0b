// Package notify tells the launch's channels what the launch is doing: the window
// announcement, cutover, smoke tests, holds, rollbacks and completion. Each integration is a
// subpackage behind the one-method Notifier interface (webhook, slack); this package builds
// them from the runbook, delivers to every channel concurrently with bounded retries, and
// reports one Delivery per channel for the archive.
//
// Webhook URLs are credentials. They are read from the environment variable the runbook
// names and never appear in a Delivery, an error or a log line.
package notify

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/notify/internal/post"
	"github.com/gatekeeper-dev/gatekeeper/notify/slack"
	"github.com/gatekeeper-dev/gatekeeper/notify/types"
	"github.com/gatekeeper-dev/gatekeeper/notify/webhook"
)

// Event is one step of a launch; it lives in notify/types so integrations need not import
// this package (which imports them).
type Event = types.Event

// HTTPError is a non-2xx answer; its StatusCode and RetryAfter drive the retries.
type HTTPError = types.HTTPError

// Event types, in launch order.
const (
	EventAnnounced      = types.EventAnnounced
	EventCutoverStarted = types.EventCutoverStarted
	EventSmokePassed    = types.EventSmokePassed
	EventHold           = types.EventHold
	EventRollback       = types.EventRollback
	EventComplete       = types.EventComplete
)

// Channel kinds a runbook may name.
const (
	KindSlack   = "slack"
	KindWebhook = "webhook"
)

// Notifier delivers one event once (no retries); it returns the HTTP status seen (0 when no
// answer came) and an error unless the status is 2xx.
type Notifier interface {
	Notify(ctx context.Context, e Event) (status int, err error)
}

// Delivery is what one channel's delivery of one event came to; it becomes a fact in the
// archive, and the pre-cutover gate reads the announcement's.
type Delivery struct {
	Channel    string `json:"channel"`
	Kind       string `json:"kind"`
	Event      string `json:"event"`
	StatusCode int    `json:"status_code"`     // of the final attempt; 0 when no answer came
	Delivered  bool   `json:"delivered"`       // true only on a 2xx answer
	Attempts   int    `json:"attempts"`        // 0 when the channel could not be built
	At         string `json:"at"`              // RFC 3339 (UTC) of the end of the final attempt
	Error      string `json:"error,omitempty"` // redacted
}

// ConfigError is a channel that cannot be built: unknown kind, or its URL variable unset or
// not a URL. It names the channel and the variable, never the variable's value.
type ConfigError struct {
	Channel string // runbook channel name
	Kind    string // runbook channel kind
	URLEnv  string // the environment variable holding the URL
	Reason  string // what is wrong
}

// Error names the channel and the environment variable.
func (e *ConfigError) Error() string {
	if e.URLEnv == "" {
		return fmt.Sprintf("notify channel %q: %s", e.Channel, e.Reason)
	}
	return fmt.Sprintf("notify channel %q: %s (from environment variable %s)", e.Channel, e.Reason, e.URLEnv)
}

// New builds the channel's notifier; the URL is read via getenv(spec.URLEnv), os.Getenv
// when getenv is nil. Of the options only WithHTTPClient matters here.
func New(spec engine.NotificationSpec, getenv func(string) string, opts ...Option) (Notifier, error) {
	n, _, err := build(spec, getenv, newConfig(opts))
	return n, err
}

// build is New, also returning the URL's secret parts for redacting what Send reports.
func build(spec engine.NotificationSpec, getenv func(string) string, cfg config) (Notifier, []string, error) {
	cerr := func(reason string) error {
		return &ConfigError{Channel: spec.Name, Kind: spec.Kind, URLEnv: spec.URLEnv, Reason: reason}
	}
	if spec.Kind != KindSlack && spec.Kind != KindWebhook {
		return nil, nil, cerr(fmt.Sprintf("unknown kind %q (want %s or %s)", spec.Kind, KindSlack, KindWebhook))
	}
	if spec.URLEnv == "" {
		return nil, nil, cerr("no url_env names the variable holding the URL")
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	raw := getenv(spec.URLEnv)
	if raw == "" {
		return nil, nil, cerr("URL not set")
	}
	secrets := post.Secrets(raw)
	if _, err := post.ParseURL(raw); err != nil {
		return nil, secrets, cerr(engine.Redact(err.Error(), secrets...))
	}
	var (
		n   Notifier
		err error
	)
	switch spec.Kind {
	case KindSlack:
		n, err = slack.New(slack.Config{URL: raw, Client: cfg.client})
	default:
		n, err = webhook.New(webhook.Config{URL: raw, Client: cfg.client})
	}
	if err != nil {
		return nil, secrets, cerr(engine.Redact(err.Error(), secrets...))
	}
	return n, secrets, nil
}

// defaultClient is shared by notifiers built without WithHTTPClient, so connections are reused.
var defaultClient = &http.Client{}

// The integrations satisfy Notifier.
var (
	_ Notifier = (*slack.Notifier)(nil)
	_ Notifier = (*webhook.Notifier)(nil)
)
