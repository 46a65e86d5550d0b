package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/template"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/gatekeeper-dev/gatekeeper/collectors/prometheus/promtest"
	"github.com/gatekeeper-dev/gatekeeper/collectors/sql/pgtest"
	"github.com/gatekeeper-dev/gatekeeper/notify/notifytest"
)

// python is Debian's interpreter, which has python3-pytest; a python3 earlier on PATH (pyenv,
// a virtualenv) usually has not.
const python = "/usr/bin/python3"

var (
	binOnce sync.Once
	binDir  string
	binErr  error

	pgOnce sync.Once
	pgSrv  *pgtest.Server
	pgErr  error
	dbSeq  atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pgSrv != nil {
		if err := pgSrv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop postgres:", err)
		}
	}
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// requireRealParts skips in -short mode, and when a real part is not installed (CI installs
// prometheus, postgresql and python3-pytest).
func requireRealParts(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end launch: skipped with -short")
	}
	if err := promtest.Available(); err != nil {
		t.Skipf("end-to-end tests need Debian's prometheus: %v", err)
	}
	if _, err := pgtest.BinDir(); err != nil {
		t.Skipf("end-to-end tests need Debian's postgresql: %v", err)
	}
	if out, err := exec.Command(python, "-m", "pytest", "--version").CombinedOutput(); err != nil {
		t.Skipf("end-to-end tests need Debian's python3-pytest (%s -m pytest): %v %s", python, err, out)
	}
}

// bins are the binaries under test, built once per test run.
type bins struct {
	gatekeeper, shop, load string
}

func buildBins(t *testing.T) bins {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "gk-e2e-bin-"); binErr != nil {
			return
		}
		for _, pkg := range []string{"gatekeeper", "demo-shop", "demo-load"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, pkg), "./cmd/"+pkg)
			cmd.Dir = ".."
			if out, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("go build ./cmd/%s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return bins{
		gatekeeper: filepath.Join(binDir, "gatekeeper"),
		shop:       filepath.Join(binDir, "demo-shop"),
		load:       filepath.Join(binDir, "demo-load"),
	}
}

// shopDB returns the DSN of a new database holding testdata/shop.sql, on the one PostgreSQL
// server of the test run.
func shopDB(t *testing.T) string {
	t.Helper()
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		pgSrv, pgErr = pgtest.Start(ctx)
		if pgErr == nil {
			pgErr = pgSrv.Exec(ctx, "postgres", "CREATE ROLE shop_app LOGIN PASSWORD "+pgtest.QuoteLiteral(dbPassword))
		}
	})
	if pgErr != nil {
		t.Fatalf("start postgres: %v", pgErr)
	}
	schema, err := os.ReadFile("testdata/shop.sql")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name := fmt.Sprintf("shop_e2e_%d", dbSeq.Add(1))
	if err := pgSrv.Exec(ctx, "postgres", "CREATE DATABASE "+name+" OWNER shop_app"); err != nil {
		t.Fatal(err)
	}
	if err := pgSrv.Exec(ctx, name, "SET ROLE shop_app;\n"+string(schema)); err != nil {
		t.Fatal(err)
	}
	return pgSrv.URL("shop_app", dbPassword, name)
}

// dbPassword has characters a URL must escape; it must never reach an archive or a report.
const dbPassword = "e2e:pw@s3cr3t/9f1c"

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// stack is one demo environment: stable and canary slots behind the router, a payments
// sandbox, a database, two notification receivers and a Prometheus scraping it all.
type stack struct {
	t          *testing.T
	bins       bins
	dir        string // the runbook's directory
	state      string // the hooks' state directory (demo.env, pid files, logs)
	stableAddr string
	canaryAddr string
	routerAddr string
	gkAddr     string // gatekeeper's --metrics-addr
	dsn        string
	payments   *httptest.Server
	slack      *notifytest.Receiver
	status     *notifytest.Receiver
	prom       *promtest.Server
	traffic    *loadRun // demo-load against the router, from the start
}

// newStack starts Prometheus, the stable slot on stable (a catalog version), the router at
// weight 0 and 60 requests per second of load on it. The canary slot is empty until a deploy
// hook (or startSlot) fills it.
func newStack(t *testing.T, stable string) *stack {
	t.Helper()
	s := &stack{t: t, bins: buildBins(t), dir: t.TempDir()}
	s.state = filepath.Join(s.dir, "state")
	if err := os.MkdirAll(s.state, 0o755); err != nil {
		t.Fatal(err)
	}
	s.stableAddr, s.canaryAddr, s.routerAddr, s.gkAddr = freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	for _, slot := range []string{"canary", "stable", "router"} {
		pid := filepath.Join(s.state, slot+".pid")
		t.Cleanup(func() {
			if out, err := exec.Command(s.bins.shop, "stop", "--pid-file", pid, "--grace", "3s").CombinedOutput(); err != nil {
				t.Errorf("stop %s: %v %s", slot, err, out)
			}
		})
	}
	// Prometheus first: it takes about 5s after it is ready to scrape its static targets,
	// time the rest of the stack uses to start.
	var scrape bytes.Buffer
	tmpl := template.Must(template.ParseFiles("testdata/prometheus-scrape.yml.tmpl"))
	if err := tmpl.Execute(&scrape, map[string]string{
		"StableAddr": s.stableAddr, "CanaryAddr": s.canaryAddr, "RouterAddr": s.routerAddr, "GatekeeperAddr": s.gkAddr,
	}); err != nil {
		t.Fatal(err)
	}
	s.prom = promtest.Start(t, promtest.Options{ScrapeConfigs: scrape.String(), ScrapeInterval: time.Second})
	s.startSlot("stable", "serve", "--addr", s.stableAddr, "--track", "stable", "--release", stable)
	s.startSlot("router", "router", "--addr", s.routerAddr, "--stable", "http://"+s.stableAddr, "--canary", "http://"+s.canaryAddr)
	// Production has traffic before, during and after a launch; the pre-cutover gate needs
	// the stable cohort's error rate, which is no number without requests.
	s.traffic = s.load(60)

	s.payments = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/ping" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	t.Cleanup(s.payments.Close)
	s.slack = notifytest.NewReceiver(t)
	s.status = notifytest.NewReceiver(t)
	s.dsn = shopDB(t)

	smoke, err := filepath.Abs("testdata/smoke/test_smoke.py")
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Join([]string{
		"# Written by the e2e test: where the demo's parts are, for the hooks.",
		"DEMO_SHOP=" + shellQuote(s.bins.shop),
		"ROUTER_URL=" + shellQuote("http://"+s.routerAddr),
		"CANARY_ADDR=" + shellQuote(s.canaryAddr),
		"PYTHON=" + shellQuote(python),
		"SMOKE_TESTS=" + shellQuote(smoke),
		"SMOKE_REPORT=" + shellQuote(filepath.Join(s.dir, "reports", "smoke-junit.xml")),
		"",
	}, "\n")
	if err := os.WriteFile(filepath.Join(s.state, "demo.env"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// startSlot runs demo-shop args detached as slot, the way the hooks do.
func (s *stack) startSlot(slot string, args ...string) {
	s.t.Helper()
	ready := "http://" + map[string]string{"stable": s.stableAddr, "canary": s.canaryAddr}[slot] + "/healthz"
	if slot == "router" {
		ready = "http://" + s.routerAddr + "/-/healthz"
	}
	cmd := append([]string{"start", "--pid-file", filepath.Join(s.state, slot+".pid"),
		"--log-file", filepath.Join(s.state, slot+".log"), "--ready", ready, "--"}, args...)
	if out, err := exec.Command(s.bins.shop, cmd...).CombinedOutput(); err != nil {
		s.t.Fatalf("start %s: %v\n%s", slot, err, out)
	}
}

// shift sets the router's canary weight.
func (s *stack) shift(percent int) {
	s.t.Helper()
	if out, err := exec.Command(s.bins.shop, "shift", "--router", "http://"+s.routerAddr, "--canary", fmt.Sprint(percent)).CombinedOutput(); err != nil {
		s.t.Fatalf("shift: %v %s", err, out)
	}
}

// loadRun is a running demo-load.
type loadRun struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

// load starts demo-load against the router until stop is called (or the test ends).
func (s *stack) load(rps int) *loadRun {
	s.t.Helper()
	l := &loadRun{done: make(chan error, 1)}
	l.cmd = exec.Command(s.bins.load, "--target", "http://"+s.routerAddr, "--rps", fmt.Sprint(rps), "--duration", "0")
	l.cmd.Stdout = &l.out
	l.cmd.Stderr = os.Stderr
	if err := l.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() { l.done <- l.cmd.Wait() }()
	s.t.Cleanup(func() { _, _ = l.stop() })
	return l
}

// loadSummary is demo-load's JSON summary.
type loadSummary struct {
	Sent     int64          `json:"sent"`
	Skipped  int64          `json:"skipped"`
	Errors   int64          `json:"errors"`
	Statuses map[string]int `json:"statuses"`
}

func (l *loadRun) stop() (loadSummary, error) {
	var sum loadSummary
	if l.cmd.ProcessState == nil {
		_ = l.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case err := <-l.done:
		l.done <- err
		if err != nil {
			return sum, fmt.Errorf("demo-load: %w", err)
		}
	case <-time.After(15 * time.Second):
		_ = l.cmd.Process.Kill()
		return sum, errors.New("demo-load did not stop")
	}
	err := json.Unmarshal(l.out.Bytes(), &sum)
	return sum, err
}

// promQuery runs an instant PromQL query and returns its single value (NaN-safe: ok is false
// when the result is empty).
func (s *stack) promQuery(q string) (float64, bool) {
	s.t.Helper()
	client, err := promapi.NewClient(promapi.Config{Address: s.prom.URL})
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, _, _, err := promv1.NewAPI(client).Query(ctx, q, time.Now())
	if err != nil {
		s.t.Fatalf("query %s: %v", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) != 1 {
		return 0, false
	}
	return float64(vec[0].Value), true
}

// waitFor polls cond every 500ms until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (last: %s)", what, limit, last)
}
