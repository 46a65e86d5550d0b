// Package servertest helps test what calls gatekeeper serve (controllers' request code,
// manifests) without the live systems a runbook names: a collector that reports the facts of
// a facts file, as the live collectors would have observed them.
package servertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/live"
)

// Collector reports fixed facts, given as a policy input holds them (provenance beside the
// data), converted back into engine.Facts. With a Hold, Collect first says it started and
// then waits until the hold is released (or the request ends).
type Collector struct {
	Facts map[string]any
	Hold  *Hold
}

// Hold keeps a live collection in flight until the test releases it.
type Hold struct {
	once sync.Once
	// Started is closed when a collection begins.
	Started chan struct{}
	// Release lets the collection finish when closed.
	Release chan struct{}
}

// NewHold returns a Hold with its channels made.
func NewHold() *Hold { return &Hold{Started: make(chan struct{}), Release: make(chan struct{})} }

// Collect implements engine.Collector.
func (c Collector) Collect(ctx context.Context, _ engine.Request) map[string]engine.Fact {
	if c.Hold != nil {
		c.Hold.once.Do(func() { close(c.Hold.Started) })
		select {
		case <-c.Hold.Release:
		case <-ctx.Done():
		}
	}
	out := make(map[string]engine.Fact, len(c.Facts))
	for name, v := range c.Facts {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		f := engine.Fact{Data: map[string]any{}}
		for k, x := range m {
			s, _ := x.(string)
			switch k {
			case "source":
				f.Source = s
			case "collected_at":
				f.CollectedAt, _ = time.Parse(time.RFC3339Nano, s)
			case "duration_ms":
				if n, ok := x.(float64); ok {
					f.Duration = time.Duration(n) * time.Millisecond
				}
			case "query":
				f.Query = s
			case "url":
				f.URL = s
			case "path":
				f.Path = s
			case "error":
				f.Err = s
			default:
				f.Data[k] = x
			}
		}
		out[name] = f
	}
	return out
}

// LiveFrom returns live options whose only source reports the facts of a facts file (as
// `gatekeeper collect` prints it); an empty path reports no facts at all. h may be nil.
func LiveFrom(t testing.TB, path string, h *Hold) live.Options {
	t.Helper()
	facts := map[string]any{}
	if path != "" {
		ff, err := engine.LoadFacts(path)
		if err != nil {
			t.Fatal(err)
		}
		facts = ff.Facts
	}
	return live.Options{Deadline: 20 * time.Second, Sources: []engine.Source{{Name: "servertest", Collector: Collector{Facts: facts, Hold: h}, Timeout: 20 * time.Second}}}
}
