package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/notify/types"
)

// Send delivers e to every channel concurrently and returns one Delivery per channel, sorted
// by channel name. A channel is retried with exponential backoff on network errors, timeouts,
// 429 and 5xx, never on other answers, and counts as delivered only on a 2xx. A channel that
// cannot be built (see ConfigError) or an unknown event type is a Delivery with an error and
// no attempt. A zero e.At is set from the clock, so every channel reports the same time.
func Send(ctx context.Context, channels []engine.NotificationSpec, e Event, getenv func(string) string, opts ...Option) []Delivery {
	cfg := newConfig(opts)
	if e.At.IsZero() {
		e.At = cfg.now()
	}
	out := make([]Delivery, len(channels))
	var wg sync.WaitGroup
	for i, spec := range channels {
		out[i] = Delivery{Channel: spec.Name, Kind: spec.Kind, Event: e.Type}
		if !types.Known(e.Type) {
			out[i].Error = fmt.Sprintf("unknown event type %q (want one of %s)", e.Type, strings.Join(types.EventTypes, ", "))
			out[i].At = stamp(cfg.now())
			continue
		}
		n, secrets, err := build(spec, getenv, cfg)
		if err != nil {
			out[i].Error = engine.Redact(err.Error(), secrets...)
			out[i].At = stamp(cfg.now())
			cfg.logOutcome(out[i])
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			deliver(ctx, n, e, cfg, secrets, &out[i])
		}()
	}
	wg.Wait()
	slices.SortStableFunc(out, func(a, b Delivery) int { return strings.Compare(a.Channel, b.Channel) })
	return out
}

// deliver runs the attempts of one channel into d.
func deliver(ctx context.Context, n Notifier, e Event, cfg config, secrets []string, d *Delivery) {
	redact := func(err error) string { return engine.Redact(err.Error(), secrets...) }
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, cfg.timeout)
		status, err := n.Notify(actx, e)
		timedOut := errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		cancel()
		d.Attempts, d.StatusCode, d.At = attempt, status, stamp(cfg.now())
		if err == nil && status >= 200 && status < 300 {
			d.Delivered, d.Error = true, ""
			cfg.logOutcome(*d)
			return
		}
		switch {
		case err == nil:
			err = fmt.Errorf("HTTP %d", status) // a Notifier that reports a non-2xx without an error
		case timedOut && status == 0:
			err = fmt.Errorf("no answer within the %s timeout", cfg.timeout)
		}
		if ctx.Err() != nil {
			d.Error = fmt.Sprintf("stopped after %d attempt(s): %v", attempt, ctx.Err())
			if !errors.Is(err, ctx.Err()) { // the attempt failed on its own before the context ended
				d.Error += ": " + redact(err)
			}
			cfg.logOutcome(*d)
			return
		}
		retry, wait := cfg.next(attempt, status, err)
		if !retry {
			d.Error = redact(err) + " (not retried)"
			cfg.logOutcome(*d)
			return
		}
		if attempt > cfg.retries {
			d.Error = fmt.Sprintf("gave up after %d attempts: %s", attempt, redact(err))
			cfg.logOutcome(*d)
			return
		}
		if cfg.log != nil {
			cfg.log.Warn("notification attempt failed; retrying", "channel", d.Channel, "kind", d.Kind,
				"event", d.Event, "attempt", attempt, "status", status, "wait", wait, "error", redact(err))
		}
		if serr := cfg.sleep(ctx, wait); serr != nil {
			d.Error = fmt.Sprintf("stopped after %d attempt(s): %v: %s", attempt, serr, redact(err))
			cfg.logOutcome(*d)
			return
		}
	}
}

// next says whether a failed attempt is retried and after how long: network errors,
// timeouts, 429 and 5xx are (the receiver may recover), other answers are not (resending
// the same body gets the same 4xx). The wait doubles from base up to max; a longer
// Retry-After is honoured up to maxRetryAfter.
func (c config) next(attempt, status int, err error) (bool, time.Duration) {
	if status != 0 && status != 429 && status < 500 {
		return false, 0
	}
	wait := c.base
	for i := 1; i < attempt && wait < c.max; i++ {
		wait *= 2
	}
	wait = min(wait, c.max)
	var he *types.HTTPError
	if errors.As(err, &he) && he.RetryAfter > wait {
		wait = min(he.RetryAfter, max(c.maxRetryAfter, wait))
	}
	return true, wait
}

func (c config) logOutcome(d Delivery) {
	if c.log == nil {
		return
	}
	attrs := []any{"channel", d.Channel, "kind", d.Kind, "event", d.Event, "attempts", d.Attempts, "status", d.StatusCode}
	if d.Delivered {
		c.log.Info("notification delivered", attrs...)
		return
	}
	c.log.Error("notification not delivered", append(attrs, "error", d.Error)...)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
