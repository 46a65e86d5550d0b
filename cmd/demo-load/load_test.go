package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRunRate(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Method+" "+r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/checkout" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	sum, err := Run(context.Background(), Config{Target: srv.URL, RPS: 200, Duration: time.Second, MaxInFlight: 16, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// 200 rps for 1s: ticks at 0, 5ms, ..., 995ms. A loaded machine may skip a few.
	if sum.Sent+sum.Skipped < 195 || sum.Sent+sum.Skipped > 201 || sum.Sent < 150 {
		t.Errorf("sent %d, skipped %d: want about 200 ticks", sum.Sent, sum.Skipped)
	}
	total := sum.Statuses["200"] + sum.Statuses["500"]
	if int64(total)+sum.Errors != sum.Sent || sum.Errors != 0 {
		t.Errorf("statuses %v + errors %d != sent %d", sum.Statuses, sum.Errors, sum.Sent)
	}
	// One request in eight is a checkout.
	if c := seen["POST /checkout"]; c != sum.Statuses["500"] || c < int(sum.Sent)/8-1 || c > int(sum.Sent)/8+1 {
		t.Errorf("checkouts %d, 500s %d, of %d", c, sum.Statuses["500"], sum.Sent)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	sum, err := Run(ctx, Config{Target: srv.URL, RPS: 50, MaxInFlight: 4, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second || sum.Sent == 0 {
		t.Errorf("ran %s, sent %d", el, sum.Sent)
	}
}

func TestRunSkipsWhenSaturated(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	go func() { time.Sleep(600 * time.Millisecond); release <- struct{}{}; release <- struct{}{} }()
	sum, err := Run(context.Background(), Config{Target: srv.URL, RPS: 100, Duration: 500 * time.Millisecond, MaxInFlight: 2, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sent != 2 || sum.Skipped < 40 {
		t.Errorf("sent %d, skipped %d: want 2 sent and the rest skipped", sum.Sent, sum.Skipped)
	}
}

func TestRunErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no target", []string{"--target", ""}, `target "": must be an http(s) base URL`},
		{"zero rps", []string{"--target", "http://x", "--rps", "0"}, "rps 0: must be more than 0"},
		{"negative duration", []string{"--target", "http://x", "--duration", "-1s"}, "must not be negative"},
		{"extra args", []string{"--target", "http://x", "now"}, "unexpected arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := run(tc.args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %v, want %q", tc.args, err, tc.want)
			}
		})
	}
}

func TestRunPrintsSummary(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var out bytes.Buffer
	if err := run([]string{"--target", srv.URL, "--rps", "20", "--duration", "200ms"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var sum Summary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if sum.Sent == 0 || sum.Statuses["200"] != int(sum.Sent) {
		t.Errorf("summary %+v", sum)
	}
}
