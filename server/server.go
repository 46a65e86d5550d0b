package server

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/live"
)

// DefaultMaxBody bounds a request body: the example launch's largest facts file is 82 KB.
const DefaultMaxBody = 4 << 20

// DefaultRecent is how many decisions the server keeps in memory for GET /v1/decisions.
const DefaultRecent = 1024

// Metrics is what the server reports decisions to and serves on /metrics; package metrics
// implements it.
type Metrics interface {
	// ObserveDecision counts one decided gate and how long deciding it took.
	ObserveDecision(rec *engine.Record, took time.Duration)
	// Handler serves the metrics in the Prometheus exposition format.
	Handler() http.Handler
}

// Option configures a Server.
type Option func(*config) error

type config struct {
	runbooks     map[string]*engine.Runbook
	runbookFiles []string
	policyDirs   []string
	archive      string
	signKey      ed25519.PrivateKey
	token        string
	noAuth       bool
	metrics      Metrics
	maxBody      int64
	log          *slog.Logger
	env          string
	live         live.Options
	recent       int
	clock        func() time.Time
}

// WithRunbooks serves these runbooks, keyed by the name requests select them with.
func WithRunbooks(rbs map[string]*engine.Runbook) Option {
	return func(c *config) error {
		for name, rb := range rbs {
			if err := c.addRunbook(name, rb); err != nil {
				return err
			}
		}
		return nil
	}
}

// WithRunbookFiles loads runbook files (CUE, YAML or JSON) when the server is created; each is
// selected by its file name without the extension (runbooks/shop.yaml is "shop").
func WithRunbookFiles(paths ...string) Option {
	return func(c *config) error {
		c.runbookFiles = append(c.runbookFiles, paths...)
		return nil
	}
}

// WithPolicies loads the Rego modules of these directories beside the built-in policies, as
// `evaluate --policies` does.
func WithPolicies(dirs ...string) Option {
	return func(c *config) error {
		c.policyDirs = append(c.policyDirs, dirs...)
		return nil
	}
}

// WithArchive archives every decision under dir, one launch archive per launch id
// (dir/<launch_id>), exactly as `evaluate --archive dir/<launch_id>` would.
func WithArchive(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return errors.New("archive: empty directory")
		}
		c.archive = dir
		return nil
	}
}

// WithSigningKey signs every archived record with key.
func WithSigningKey(key ed25519.PrivateKey) Option {
	return func(c *config) error {
		c.signKey = key
		return nil
	}
}

// WithToken requires this bearer token on every endpoint that decides or reads decisions.
// The token is never logged nor echoed.
func WithToken(token string) Option {
	return func(c *config) error {
		token = strings.TrimSpace(token)
		if len(token) < 16 {
			return errors.New("token: shorter than 16 characters; use a random one (openssl rand -hex 32)")
		}
		c.token = token
		return nil
	}
}

// WithInsecureNoAuth lets the server run without a token: anyone who reaches it can decide
// and archive. Only for a loopback port or a network policy that stands in for the token.
func WithInsecureNoAuth() Option {
	return func(c *config) error {
		c.noAuth = true
		return nil
	}
}

// WithMetrics reports every decision to m and serves m on /metrics.
func WithMetrics(m Metrics) Option {
	return func(c *config) error {
		c.metrics = m
		return nil
	}
}

// WithMaxBody bounds request bodies to n bytes (default DefaultMaxBody).
func WithMaxBody(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("max body %d: want a positive number of bytes", n)
		}
		c.maxBody = n
		return nil
	}
}

// WithLogger logs one line per request (never a header or a body) and the server's life.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.log = l
		return nil
	}
}

// WithEnvironment is the environment of requests that name none (Flagger's metadata, say).
func WithEnvironment(env string) Option {
	return func(c *config) error {
		c.env = env
		return nil
	}
}

// WithLive sets how live decisions collect their facts (deadline; sources in tests). Its
// Archive is ignored: a live decision reads its own launch's archive.
func WithLive(o live.Options) Option {
	return func(c *config) error {
		c.live = o
		return nil
	}
}

// WithRecent keeps the last n decisions in memory for GET /v1/decisions (default DefaultRecent).
func WithRecent(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("recent %d: want a positive number", n)
		}
		c.recent = n
		return nil
	}
}

// WithClock replaces the wall clock for requests without a now: facts are decided, and live
// collections run, as if at clock() (tests, rehearsals on recorded data).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		c.clock = now
		return nil
	}
}

func (c *config) addRunbook(name string, rb *engine.Runbook) error {
	if name == "" || rb == nil {
		return errors.New("runbook: empty name or nil runbook")
	}
	if _, dup := c.runbooks[name]; dup {
		return fmt.Errorf("runbook %q given twice", name)
	}
	c.runbooks[name] = rb
	return nil
}

// Server decides gates over HTTP. It is an http.Handler, safe for concurrent use.
type Server struct {
	cfg      config
	runbooks map[string]*engine.Runbook
	names    []string // sorted runbook names
	ps       *engine.PolicySet
	tokenSum [32]byte
	recent   *recentRecords
	mux      *http.ServeMux
	ready    atomic.Bool
	// launches serializes live decisions of one launch: its archive is read (history,
	// baseline) before the decision is appended, and two at once would read the same history.
	launches sync.Map // launch id -> *sync.Mutex
	// validators are idle facts validators; each compiles the schemas once.
	validators chan *pooledValidator
}

// New loads the runbooks, compiles and prepares every gate's policies once, and returns a
// Server ready to decide. Without WithToken it refuses to start unless WithInsecureNoAuth is
// given: deciding endpoints are authenticated by default.
func New(ctx context.Context, opts ...Option) (*Server, error) {
	c := config{runbooks: map[string]*engine.Runbook{}, maxBody: DefaultMaxBody, recent: DefaultRecent}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
	}
	if c.token == "" && !c.noAuth {
		return nil, errors.New("serve: no token: set one (--token-file or $GATEKEEPER_TOKEN) or run with --insecure-no-auth")
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	vd := engine.NewValidator()
	for _, p := range c.runbookFiles {
		rb, err := vd.LoadRunbook(p)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		if err := c.addRunbook(name, rb); err != nil {
			return nil, fmt.Errorf("serve: %s: %w", p, err)
		}
	}
	if len(c.runbooks) == 0 {
		return nil, errors.New("serve: no runbook: give at least one (--runbook)")
	}
	if c.env != "" {
		for name, rb := range c.runbooks {
			if _, ok := rb.Env(c.env); !ok {
				return nil, fmt.Errorf("serve: default environment %q is not in runbook %s (%s)", c.env, name, rb.Path)
			}
		}
	}
	ps, err := engine.LoadPolicies(ctx, c.policyDirs...)
	if err != nil {
		return nil, err
	}
	// Prepared now, every request is an evaluation only, and a policy that cannot compile
	// stops the server from starting rather than failing the first canary.
	if err := ps.Prepare(ctx); err != nil {
		return nil, err
	}
	s := &Server{cfg: c, runbooks: c.runbooks, ps: ps, recent: newRecentRecords(c.recent)}
	s.validators = make(chan *pooledValidator, 2*runtime.GOMAXPROCS(0))
	for name := range c.runbooks {
		s.names = append(s.names, name)
	}
	slices.Sort(s.names)
	if c.token != "" {
		s.tokenSum = sha256.Sum256([]byte(c.token))
	}
	s.routes()
	if c.archive == "" {
		c.log.Warn("serve: no archive: live decisions cannot read a launch's cutover, step start or history (max_unknown) from it; controllers need --archive")
	}
	s.ready.Store(true)
	c.log.Info("serve: ready", "runbooks", strings.Join(s.names, ","), "policies_digest", ps.Digest(),
		"archive", c.archive, "auth", !c.noAuth || c.token != "")
	return s, nil
}

// PolicySet is the compiled policy set every decision uses.
func (s *Server) PolicySet() *engine.PolicySet { return s.ps }

// SetReady says whether /readyz reports ready; a server shutting down turns it off first so
// that load balancers stop sending it requests while it drains.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

func (s *Server) routes() {
	m := http.NewServeMux()
	m.Handle("POST /v1/decide", s.authed(s.handleDecide))
	m.Handle("GET /v1/decisions/{id}", s.authed(s.handleDecision))
	m.Handle("POST /v1/flagger/{hook}", http.HandlerFunc(s.handleFlagger)) // authenticates itself: token may be in metadata
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	m.HandleFunc("GET /readyz", s.handleReady)
	if s.cfg.metrics != nil {
		m.Handle("GET /metrics", s.cfg.metrics.Handler())
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &RequestError{Status: http.StatusNotFound, Msg: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	s.mux = m
}

// ServeHTTP logs every request (method, path, status, duration; never headers nor bodies).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.maxBody)
	}
	s.mux.ServeHTTP(sw, r)
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", sw.status, "duration_ms", float64(time.Since(start).Microseconds()) / 1000}
	if sw.rec != nil {
		attrs = append(attrs, "decision_id", sw.rec.DecisionID, "launch_id", sw.rec.LaunchID, "gate", string(sw.rec.Gate), "decision", string(sw.rec.Decision))
	}
	level := slog.LevelInfo
	if sw.status >= 500 {
		level = slog.LevelError
	}
	s.cfg.log.Log(r.Context(), level, "request", attrs...)
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	body := map[string]any{"ready": s.ready.Load(), "runbooks": s.names, "policies_digest": s.ps.Digest()}
	status := http.StatusOK
	if !s.ready.Load() {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}

// authed requires the bearer token, unless the server runs without one.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(bearer(r), "") {
			unauthorized(w)
			return
		}
		h(w, r)
	})
}

// authorized reports whether either presented token is the server's. Tokens are compared as
// SHA-256 sums in constant time, so neither their content nor their length leaks by timing.
func (s *Server) authorized(tokens ...string) bool {
	if s.cfg.token == "" {
		return true
	}
	ok := 0
	for _, t := range tokens {
		if t == "" {
			continue
		}
		sum := sha256.Sum256([]byte(t))
		ok |= subtle.ConstantTimeCompare(sum[:], s.tokenSum[:])
	}
	return ok == 1
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatekeeper"`)
	writeError(w, &RequestError{Status: http.StatusUnauthorized, Msg: "missing or wrong bearer token"})
}

// statusWriter remembers the status and the decision written, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	rec    *engine.Record
}

// WriteHeader remembers the first status written.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts an implicit 200 as the status.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func noteRecord(w http.ResponseWriter, rec *engine.Record) {
	if sw, ok := w.(*statusWriter); ok {
		sw.rec = rec
	}
}
