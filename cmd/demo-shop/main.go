// Command demo-shop is the small web shop gatekeeper's end-to-end test and README launch: one
// binary for a shop instance (`serve`), the traffic router in front of the stable and canary
// cohorts (`router`), and what the launch hooks call: `start` and `stop` (an instance that
// outlives its hook, in a session of its own, tracked by a pid file), `shift` (the router's
// canary weight), `wait` and `releases`.
//
//	demo-shop serve --addr 127.0.0.1:8081 --track stable --release 1.0.0
//	demo-shop start --pid-file canary.pid --log-file canary.log --ready http://127.0.0.1:8082/healthz \
//	    --min-ready 2s -- serve --addr 127.0.0.1:8082 --track canary --release 1.1.1
//	demo-shop router --addr 127.0.0.1:8080 --stable http://127.0.0.1:8081 --canary http://127.0.0.1:8082
//	demo-shop shift --router http://127.0.0.1:8080 --canary 25
//	demo-shop stop --pid-file canary.pid
//
// Every instance serves /version (version, commit, image), /healthz (application/health+json)
// and /metrics: http_requests_total{handler,method,code} and the
// http_request_duration_seconds histogram, labelled track and version. Release 1.1.1 fails 8%
// of shop requests; `demo-shop releases` lists the catalog.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "demo-shop:", err)
		os.Exit(1)
	}
}

const usage = `usage: demo-shop <command> [flags]

commands:
  serve     run one shop instance of a release
  router    split traffic between the stable and the canary instance
  shift     set the router's canary weight (percent)
  start     run "demo-shop <args>" detached, record its pid, wait until ready
  stop      stop the process a start recorded
  wait      wait until a URL answers 2xx
  releases  print the release catalog as JSON
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	cmds := map[string]func([]string, io.Writer, io.Writer) error{
		"serve": cmdServe, "router": cmdRouter, "shift": cmdShift, "wait": cmdWait, "releases": cmdReleases,
		"start": cmdStart, "stop": cmdStop,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return cmd(args[1:], stdout, stderr)
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("demo-shop "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func cmdServe(args []string, _, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	version := fs.String("release", envOr("DEMO_RELEASE", ""), "release version from the catalog (env DEMO_RELEASE)")
	track := fs.String("track", envOr("DEMO_TRACK", ""), "cohort label value on every metric: stable or canary (env DEMO_TRACK)")
	latency := fs.Duration("latency", 5*time.Millisecond, "simulated work per shop request (each takes 1-2x this)")
	errorRatio := fs.Float64("error-ratio", -1, "override the release's share of failing shop requests (0..1)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *version == "" || *track == "" {
		return errors.New("serve: --release and --track are required")
	}
	rel, err := Lookup(*version)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if *errorRatio >= 0 {
		if *errorRatio > 1 {
			return fmt.Errorf("serve: --error-ratio %v: must be from 0 to 1", *errorRatio)
		}
		rel.ErrorRatio = *errorRatio
	}
	shop := NewShop(rel, ShopOptions{Track: *track, Latency: *latency})
	fmt.Fprintf(stderr, "demo-shop: %s %s (%s) on %s, error ratio %v\n", *track, rel.Version, rel.Commit[:12], *addr, rel.ErrorRatio)
	return listenAndServe(*addr, shop)
}

func cmdRouter(args []string, _, stderr io.Writer) error {
	fs := newFlags("router", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	stable := fs.String("stable", "", "base URL of the stable instance")
	canary := fs.String("canary", "", "base URL of the canary instance")
	weight := fs.Int("weight", 0, "initial canary weight in percent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	su, err := baseURL("--stable", *stable)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	cu, err := baseURL("--canary", *canary)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	rt, err := NewRouter(su, cu, *weight)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	fmt.Fprintf(stderr, "demo-shop: router on %s: stable %s, canary %s at %d%%\n", *addr, su, cu, *weight)
	return listenAndServe(*addr, rt)
}

func baseURL(flagName, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q: must be an http(s) base URL", flagName, s)
	}
	return u, nil
}

func cmdShift(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("shift", stderr)
	router := fs.String("router", envOr("DEMO_ROUTER_URL", ""), "router base URL (env DEMO_ROUTER_URL)")
	canary := fs.Int("canary", -1, "canary weight in percent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *router == "" || *canary < 0 {
		return errors.New("shift: --router and --canary are required")
	}
	got, err := SetRouterWeight(context.Background(), *router, *canary)
	if err != nil {
		return fmt.Errorf("shift: %w", err)
	}
	fmt.Fprintf(stdout, "canary weight %d%%\n", got)
	return nil
}

func cmdWait(args []string, _, stderr io.Writer) error {
	fs := newFlags("wait", stderr)
	u := fs.String("url", "", "URL to poll")
	timeout := fs.Duration("timeout", 15*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *u == "" {
		return errors.New("wait: --url is required")
	}
	return WaitReady(context.Background(), *u, *timeout)
}

// WaitReady polls u until it answers 2xx or timeout passes.
func WaitReady(ctx context.Context, u string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return fmt.Errorf("wait: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
			err = fmt.Errorf("HTTP %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait: %s not ready after %s: %w", u, timeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func cmdStart(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("start", stderr)
	var o StartOptions
	fs.StringVar(&o.PIDFile, "pid-file", "", "where to record the pid")
	fs.StringVar(&o.LogFile, "log-file", "", "the instance's output, appended")
	fs.StringVar(&o.ReadyURL, "ready", "", "URL that answers 2xx once the instance is ready")
	fs.DurationVar(&o.Timeout, "timeout", 15*time.Second, "how long to wait until ready")
	fs.DurationVar(&o.MinReady, "min-ready", 0, "how long it must stay up once ready (like minReadySeconds)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pid, err := Start(context.Background(), fs.Args(), o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "started pid %d: demo-shop %s\n", pid, strings.Join(fs.Args(), " "))
	return nil
}

func cmdStop(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("stop", stderr)
	pidFile := fs.String("pid-file", "", "the pid file start wrote")
	grace := fs.Duration("grace", 5*time.Second, "time between SIGTERM and SIGKILL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pidFile == "" {
		return errors.New("stop: --pid-file is required")
	}
	pid, _ := readPID(*pidFile)
	if err := Stop(*pidFile, *grace); err != nil {
		return err
	}
	if pid != 0 {
		fmt.Fprintf(stdout, "stopped pid %d\n", pid)
	}
	return nil
}

func cmdReleases(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("releases", stderr)
	version := fs.String("release", "", "print only this release")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var v any = Catalog
	if *version != "" {
		rel, err := Lookup(*version)
		if err != nil {
			return fmt.Errorf("releases: %w", err)
		}
		v = rel
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// listenAndServe serves h on addr until SIGINT or SIGTERM, then drains for up to 5 seconds.
func listenAndServe(addr string, h http.Handler) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
