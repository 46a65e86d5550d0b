package notify

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Defaults used when Send is called without the corresponding option. Worst case one
// channel takes (DefaultRetries+1) × DefaultTimeout plus the backoff (0.5+1+2+4 s).
const (
	DefaultRetries       = 4                      // retries after the first attempt
	DefaultBackoffBase   = 500 * time.Millisecond // wait before the first retry; doubles each retry
	DefaultBackoffMax    = 8 * time.Second        // no wait between attempts exceeds this…
	DefaultMaxRetryAfter = 15 * time.Second       // …except a Retry-After, honoured up to this
	DefaultTimeout       = 10 * time.Second       // per attempt
)

// Option changes how Send (and New) deliver.
type Option func(*config)

type config struct {
	client        *http.Client
	retries       int
	base, max     time.Duration
	maxRetryAfter time.Duration
	timeout       time.Duration
	now           func() time.Time
	sleep         func(context.Context, time.Duration) error
	log           *slog.Logger
}

func newConfig(opts []Option) config {
	c := config{
		client:        defaultClient,
		retries:       DefaultRetries,
		base:          DefaultBackoffBase,
		max:           DefaultBackoffMax,
		maxRetryAfter: DefaultMaxRetryAfter,
		timeout:       DefaultTimeout,
		now:           time.Now,
		sleep:         sleepCtx,
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithHTTPClient sends through c (its redirect policy is replaced: redirects are never
// followed, because a redirected POST becomes a GET that could fake a delivery).
func WithHTTPClient(c *http.Client) Option {
	return func(cfg *config) {
		if c != nil {
			cfg.client = c
		}
	}
}

// WithRetries allows n retries after the first attempt (n+1 attempts in all); n < 0 is 0.
func WithRetries(n int) Option {
	return func(c *config) { c.retries = max(n, 0) }
}

// WithBackoff waits base before the first retry, doubling each retry up to max.
func WithBackoff(base, max time.Duration) Option {
	return func(c *config) {
		if base > 0 {
			c.base = base
		}
		if max > 0 {
			c.max = max
		}
		if c.max < c.base {
			c.max = c.base
		}
	}
}

// WithMaxRetryAfter caps how long a server's Retry-After can make Send wait.
func WithMaxRetryAfter(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.maxRetryAfter = d
		}
	}
}

// WithTimeout bounds each attempt; the caller's context bounds them all.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithClock sets the clock a Delivery's At and a zero Event.At are read from.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithSleep replaces the wait between attempts, so tests retry in microseconds. sleep must
// return ctx.Err() when ctx ends first.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *config) {
		if sleep != nil {
			c.sleep = sleep
		}
	}
}

// WithLogger logs each failed attempt and each outcome to l (redacted); nil logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.log = l }
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
