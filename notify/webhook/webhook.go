// Package webhook posts launch events as a generic, stable JSON document, for receivers
// that are not chat tools: status pages, incident tools, a team's own automation.
//
// The body is one JSON object with these keys, all always present (empty string when a
// value is unknown), so a receiver can rely on the shape:
//
//	{
//	  "gatekeeper_event": 1,           // version of this document; bumped on incompatible change
//	  "type": "rollback",              // announced | cutover_started | smoke_passed | hold | rollback | complete
//	  "launch_id": "...",
//	  "environment": "production",
//	  "service": "checkout",
//	  "version": "2.4.0",
//	  "commit": "...",
//	  "image": "...",
//	  "at": "2026-11-26T14:05:00Z",    // RFC 3339, UTC
//	  "reason": "...",                 // hold and rollback: the failing checks' messages
//	  "fields": {"on_call": "..."}     // event details, keys sorted; {} when none
//	}
//
// Retries resend the identical body with the same Idempotency-Key header, so a receiver can
// drop a duplicate that a lost 2xx caused.
package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/notify/internal/post"
	"github.com/gatekeeper-dev/gatekeeper/notify/types"
)

// SchemaVersion is the value of "gatekeeper_event" in every body.
const SchemaVersion = 1

// Config is how to reach one webhook receiver.
type Config struct {
	URL    string       // the receiver's URL; a secret, never repeated in errors
	Client *http.Client // nil: a default client; redirects are never followed
}

// Notifier posts events to one webhook receiver.
type Notifier struct {
	url    string
	client *http.Client
}

// New checks the URL and returns the receiver's notifier.
func New(c Config) (*Notifier, error) {
	if _, err := post.ParseURL(c.URL); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	return &Notifier{url: c.URL, client: post.Client(c.Client)}, nil
}

// Payload is the JSON body a webhook receiver gets.
type Payload struct {
	Schema      int               `json:"gatekeeper_event"`
	Type        string            `json:"type"`
	LaunchID    string            `json:"launch_id"`
	Environment string            `json:"environment"`
	Service     string            `json:"service"`
	Version     string            `json:"version"`
	Commit      string            `json:"commit"`
	Image       string            `json:"image"`
	At          string            `json:"at"`
	Reason      string            `json:"reason"`
	Fields      map[string]string `json:"fields"`
}

// Render returns the body for e.
func Render(e types.Event) Payload {
	fields := make(map[string]string, len(e.Fields))
	for k, v := range e.Fields {
		fields[k] = v
	}
	at := ""
	if !e.At.IsZero() {
		at = e.At.UTC().Format(time.RFC3339)
	}
	return Payload{
		Schema: SchemaVersion, Type: e.Type, LaunchID: e.LaunchID, Environment: e.Environment,
		Service: e.Service, Version: e.Version, Commit: e.Commit, Image: e.Image,
		At: at, Reason: e.Reason, Fields: fields,
	}
}

// Notify posts e once and returns the status seen.
func (n *Notifier) Notify(ctx context.Context, e types.Event) (int, error) {
	p := Render(e)
	b, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("webhook: %w", err)
	}
	sum := sha256.Sum256(b)
	status, err := post.JSON(ctx, n.client, n.url, json.RawMessage(b), map[string]string{
		"Idempotency-Key": hex.EncodeToString(sum[:16]),
	})
	if err != nil {
		return status, fmt.Errorf("webhook: %w", err)
	}
	return status, nil
}
