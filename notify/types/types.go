// Package types holds what the notify package and its integrations share: the event a
// launch announces and the error an integration returns for a non-2xx answer. It imports
// nothing of gatekeeper, so every integration can use it without an import cycle through the
// notify factory.
package types

import (
	"fmt"
	"strings"
	"time"
)

// Event types a launch announces, in the order a launch goes through them.
const (
	EventAnnounced      = "announced"       // the launch window, announced its lead time ahead
	EventCutoverStarted = "cutover_started" // traffic starts moving to the new version
	EventSmokePassed    = "smoke_passed"    // the post-deploy smoke tests passed
	EventHold           = "hold"            // the launch stopped to wait; Reason says why
	EventRollback       = "rollback"        // the launch rolled back; Reason says why
	EventComplete       = "complete"        // all traffic is on the new version
)

// EventTypes lists every event type, in launch order.
var EventTypes = []string{EventAnnounced, EventCutoverStarted, EventSmokePassed, EventHold, EventRollback, EventComplete}

// Known reports whether typ is one of EventTypes.
func Known(typ string) bool {
	for _, t := range EventTypes {
		if t == typ {
			return true
		}
	}
	return false
}

// Event is one step of a launch that the channels hear about.
type Event struct {
	Type        string            // one of EventTypes
	LaunchID    string            // the launch's archive id
	Environment string            // runbook environment, e.g. production
	Service     string            // the service launched
	Version     string            // release version
	Commit      string            // release commit
	Image       string            // release image
	At          time.Time         // when the event happened
	Reason      string            // hold/rollback reason: the failing checks' messages
	Fields      map[string]string // extra details (window_at, lead_time, cutover_at, traffic, known_issues, on_call)
}

// HTTPError is a non-2xx answer. The retry loop reads StatusCode and RetryAfter from it, so
// an integration that returns one gets 429 and Retry-After handling for free.
type HTTPError struct {
	StatusCode int           // the HTTP status seen
	RetryAfter time.Duration // the server's Retry-After; 0 when absent
	Body       string        // a short, redacted snippet of the response body
}

// Error names the status and what the receiver said, never the URL.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("HTTP %d", e.StatusCode)
	if b := strings.TrimSpace(e.Body); b != "" {
		msg += ": " + b
	}
	return msg
}
