package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/live"
	"github.com/gatekeeper-dev/gatekeeper/metrics"
	"github.com/gatekeeper-dev/gatekeeper/server"
)

// tokenEnv names the environment variable that may hold serve's bearer token.
const tokenEnv = "GATEKEEPER_TOKEN"

type serveFlags struct {
	runbooks, policies                                      []string
	addr, archive, signKey, tokenFile, tlsCert, tlsKey, env string
	logFormat                                               string
	insecureNoAuth                                          bool
	maxBody                                                 int64
	recent                                                  int
	readTimeout, writeTimeout, shutdownTimeout, deadline    time.Duration
	drainDelay                                              time.Duration
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve --runbook R [--archive DIR] [--addr HOST:PORT]",
		Short: "HTTP API for pipelines and progressive-delivery controllers (Argo Rollouts, Flagger)",
		Long: `serve decides gates over HTTP: POST /v1/decide (facts in the body, or collected live),
GET /v1/decisions/{id}, Flagger webhooks under /v1/flagger/{hook}, /healthz, /readyz and
/metrics. The policies are compiled once at start. A decided gate answers 200 with its
decision record whatever the decision; see docs/serve.md for Argo Rollouts and Flagger.

Deciding endpoints need a bearer token, read from --token-file or $` + tokenEnv + `; serve
refuses to start without one unless --insecure-no-auth is given. SIGINT or SIGTERM stops
accepting requests and drains the ones in flight.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.runbooks, "runbook", nil, "runbook file, selected in requests by its name without extension (repeatable)")
	fl.StringArrayVar(&f.policies, "policies", nil, "directory of extra Rego policies, loaded beside the built-ins (repeatable)")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on (\":8080\" for every interface, as in a container)")
	fl.StringVar(&f.archive, "archive", "", "archive every decision under this directory, one launch archive per launch id")
	fl.StringVar(&f.signKey, "sign-key", "", "with --archive: sign each record with this ed25519 private key file (default: $"+signingKeyEnv+", if set)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token (default: $"+tokenEnv+")")
	fl.BoolVar(&f.insecureNoAuth, "insecure-no-auth", false, "serve without a token: anyone who reaches the port can decide and archive")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate (PEM); with --tls-key serves HTTPS")
	fl.StringVar(&f.tlsKey, "tls-key", "", "TLS private key (PEM)")
	fl.StringVar(&f.env, "env", "", "environment of requests that name none (Flagger metadata)")
	fl.Int64Var(&f.maxBody, "max-body", server.DefaultMaxBody, "largest request body, in bytes")
	fl.IntVar(&f.recent, "recent", server.DefaultRecent, "decisions kept in memory for GET /v1/decisions")
	fl.DurationVar(&f.readTimeout, "read-timeout", 30*time.Second, "time to read a whole request")
	fl.DurationVar(&f.writeTimeout, "write-timeout", 90*time.Second, "time to answer a request (must exceed --deadline)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "time to drain requests in flight on SIGINT/SIGTERM")
	fl.DurationVar(&f.drainDelay, "drain-delay", 0, "on SIGINT/SIGTERM, keep answering (with /readyz not ready) this long before closing the listener (5s behind a Kubernetes Service)")
	fl.DurationVar(&f.deadline, "deadline", live.DefaultDeadline, "live decisions: overall collection deadline")
	fl.StringVar(&f.logFormat, "log-format", "text", "request log format on stderr: text or json")
	_ = cmd.MarkFlagRequired("runbook")
	return cmd
}

func runServe(cmd *cobra.Command, f serveFlags) error {
	if f.writeTimeout <= f.deadline {
		return fmt.Errorf("--write-timeout %s must exceed --deadline %s, or live decisions are cut off", f.writeTimeout, f.deadline)
	}
	var handler slog.Handler
	switch f.logFormat {
	case "text":
		handler = slog.NewTextHandler(cmd.ErrOrStderr(), nil)
	case "json":
		handler = slog.NewJSONHandler(cmd.ErrOrStderr(), nil)
	default:
		return fmt.Errorf("--log-format %q: want text or json", f.logFormat)
	}
	opts := []server.Option{
		server.WithRunbookFiles(f.runbooks...),
		server.WithPolicies(f.policies...),
		server.WithMaxBody(f.maxBody),
		server.WithRecent(f.recent),
		server.WithLogger(slog.New(handler)),
		server.WithLive(live.Options{Deadline: f.deadline}),
		server.WithMetrics(metrics.New()),
	}
	if f.env != "" {
		opts = append(opts, server.WithEnvironment(f.env))
	}
	token, err := serveToken(f.tokenFile)
	if err != nil {
		return err
	}
	switch {
	case token != "":
		opts = append(opts, server.WithToken(token))
	case f.insecureNoAuth:
		opts = append(opts, server.WithInsecureNoAuth())
	default:
		return errors.New("no token: put one in a file for --token-file or in $" + tokenEnv + ", or run with --insecure-no-auth")
	}
	if f.archive != "" {
		key, err := archiveTo{f.archive, f.signKey}.signingKey()
		if err != nil {
			return err
		}
		opts = append(opts, server.WithArchive(f.archive))
		if key != nil {
			opts = append(opts, server.WithSigningKey(key))
		}
	} else if f.signKey != "" {
		return errors.New("--sign-key needs --archive")
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	defer serveGC()()
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := server.New(ctx, opts...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "gatekeeper serve: listening on %s://%s\n", scheme, ln.Addr())
	return s.Serve(ctx, ln, server.Listen{TLSCert: f.tlsCert, TLSKey: f.tlsKey,
		ReadTimeout: f.readTimeout, WriteTimeout: f.writeTimeout, ShutdownTimeout: f.shutdownTimeout, DrainDelay: f.drainDelay})
}

// serveGC trades memory for CPU unless GOGC says otherwise: a facts-in-body decision
// allocates about 9 MB that nothing keeps, and at the default GOGC the collector took a quarter
// of serve's CPU. The memory limit still collects early should many large requests overlap.
// It returns the function that restores the settings (tests run serve in process).
func serveGC() func() {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	percent := debug.SetGCPercent(400)
	limit := debug.SetMemoryLimit(-1)
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(768 << 20)
	}
	return func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(percent)
	}
}

// serveToken reads the token from the file, else from the environment; "" when neither is
// set. It is never a flag value, which every user of the machine could read in ps.
func serveToken(file string) (string, error) {
	if file == "" {
		return strings.TrimSpace(os.Getenv(tokenEnv)), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", file)
	}
	return tok, nil
}
