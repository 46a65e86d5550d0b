// Command demo-load sends steady traffic to the demo shop (usually its router) so that a
// launch's canary and monitoring window see real requests:
//
//	demo-load --target http://127.0.0.1:8080 --rps 100 --duration 5m
//
// It cycles through the shop's endpoints at a fixed rate until the duration passes or it is
// interrupted (SIGINT, SIGTERM), then prints a JSON summary: requests sent, answers by status
// code, transport errors and requests skipped because too many were still in flight.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "demo-load:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	fs.StringVar(&c.Target, "target", os.Getenv("DEMO_ROUTER_URL"), "base URL to load (env DEMO_ROUTER_URL)")
	fs.Float64Var(&c.RPS, "rps", 50, "requests per second")
	fs.DurationVar(&c.Duration, "duration", time.Minute, "how long to send (0: until interrupted)")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 64, "requests outstanding at once; beyond it a tick is skipped")
	fs.DurationVar(&c.Timeout, "timeout", 5*time.Second, "per-request timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "demo-load: %v rps against %s %s\n", c.RPS, c.Target, durationText(c.Duration))
	sum, err := Run(ctx, c)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sum); err != nil {
		return err
	}
	if sum.Sent == 0 {
		return errors.New("no request was sent")
	}
	return nil
}

func durationText(d time.Duration) string {
	if d == 0 {
		return "until interrupted"
	}
	return "for " + d.String()
}
