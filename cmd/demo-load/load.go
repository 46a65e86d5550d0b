package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one load run.
type Config struct {
	Target      string        // base URL, e.g. the router
	RPS         float64       // requests per second, > 0
	Duration    time.Duration // 0: until the context ends
	MaxInFlight int           // > 0
	Timeout     time.Duration // per request, > 0
	Client      *http.Client  // nil: a client with Timeout
}

// Summary is what a run did.
type Summary struct {
	Target   string         `json:"target"`
	Seconds  float64        `json:"seconds"`
	Sent     int64          `json:"sent"`
	Skipped  int64          `json:"skipped"` // ticks dropped because MaxInFlight requests were outstanding
	Errors   int64          `json:"errors"`  // transport errors: no status code
	Statuses map[string]int `json:"statuses"`
}

// call is one request of the shop's mix: mostly browsing, some carts and checkouts.
type call struct {
	method, path, body string
}

var mix = []call{
	{"GET", "/", ""},
	{"GET", "/products", ""},
	{"GET", "/products/tea", ""},
	{"GET", "/products/mug", ""},
	{"POST", "/cart", `{"id":"tea","qty":1}`},
	{"GET", "/products", ""},
	{"GET", "/products/pot", ""},
	{"POST", "/checkout", ""},
}

func (c *Config) validate() error {
	u, err := url.Parse(c.Target)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("target %q: must be an http(s) base URL", c.Target)
	case !(c.RPS > 0) || c.RPS > 10000:
		return fmt.Errorf("rps %v: must be more than 0 and at most 10000", c.RPS)
	case c.Duration < 0:
		return fmt.Errorf("duration %s: must not be negative", c.Duration)
	case c.MaxInFlight <= 0:
		return fmt.Errorf("max-in-flight %d: must be positive", c.MaxInFlight)
	case c.Timeout <= 0:
		return fmt.Errorf("timeout %s: must be positive", c.Timeout)
	}
	return nil
}

// Run sends the mix at c.RPS until c.Duration passes or ctx ends; in-flight requests finish
// (or time out) before it returns.
func Run(ctx context.Context, c Config) (Summary, error) {
	if err := c.validate(); err != nil {
		return Summary{}, fmt.Errorf("load: %w", err)
	}
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: c.Timeout, Transport: &http.Transport{MaxIdleConnsPerHost: c.MaxInFlight}}
	}
	if c.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Duration)
		defer cancel()
	}
	base := strings.TrimRight(c.Target, "/")
	var (
		mu       sync.Mutex
		statuses = map[string]int{}
		sent     atomic.Int64
		skipped  atomic.Int64
		errs     atomic.Int64
		wg       sync.WaitGroup
		slots    = make(chan struct{}, c.MaxInFlight)
	)
	// A request's own context is not ctx: ending the run stops new requests, not the ones
	// already sent, so their answers are counted.
	reqCtx := context.WithoutCancel(ctx)
	send := func(k call) {
		defer wg.Done()
		defer func() { <-slots }()
		var body io.Reader
		if k.body != "" {
			body = strings.NewReader(k.body)
		}
		req, err := http.NewRequestWithContext(reqCtx, k.method, base+k.path, body)
		if err != nil {
			errs.Add(1)
			return
		}
		if k.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			errs.Add(1)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		mu.Lock()
		statuses[strconv.Itoa(resp.StatusCode)]++
		mu.Unlock()
	}

	start := time.Now()
	interval := time.Duration(float64(time.Second) / c.RPS)
	// Ticks are scheduled from the start time, not from the previous tick, so a slow
	// moment does not lower the rate for the rest of the run.
	for i := 0; ; i++ {
		next := start.Add(time.Duration(i) * interval)
		if d := time.Until(next); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case slots <- struct{}{}:
			wg.Add(1)
			sent.Add(1)
			go send(mix[i%len(mix)])
		default:
			skipped.Add(1)
		}
	}
	wg.Wait()
	s := Summary{Target: c.Target, Seconds: time.Since(start).Seconds(), Sent: sent.Load(), Skipped: skipped.Load(), Errors: errs.Load(), Statuses: statuses}
	return s, nil
}
