package launch

import (
	"sync"
	"time"
)

// Clock is the time the launch runs on. The loops only ever ask it for the time and to wait,
// so a fake clock runs a two-hour window in milliseconds and tests never sleep.
type Clock interface {
	Now() time.Time
	// After waits d (or until ctx ends, see wait) and then delivers the time.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
func RealClock() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now().UTC() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// FakeClock is a Clock for tests: After moves the time forward by d at once, so a loop that
// waits its interval runs through simulated time as fast as it can decide.
type FakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewFakeClock returns a FakeClock standing at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{now: t.UTC()} }

// Now returns the simulated time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the simulated time forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
}

// After advances the clock by d and returns a channel that already holds the new time.
func (c *FakeClock) After(d time.Duration) <-chan time.Time {
	c.Advance(d)
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}
