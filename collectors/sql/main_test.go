package sql

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/collectortest"
	"github.com/gatekeeper-dev/gatekeeper/collectors/sql/pgtest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// One private PostgreSQL server serves the whole test binary: started on first use, stopped
// (and its directory removed) by TestMain. Each test copies the shop template database.

const (
	appUser    = "shop_app"
	templateDB = "shop_template"
	dsnEnv     = "SHOP_DB_DSN"
)

var (
	pgOnce sync.Once
	pgSrv  *pgtest.Server
	pgErr  error
	dbSeq  atomic.Int64
	// appPassword is shop_app's password: random, with characters a URL must escape, so
	// redaction is tested against the raw and the escaped forms.
	appPassword = "gk:pw@" + randomHex(8) + "/s3cr3t"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pgSrv != nil {
		if err := pgSrv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop postgres:", err)
		}
	}
	os.Exit(code)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// server returns the shared server, skipping the test only when PostgreSQL is not installed.
func server(t *testing.T) *pgtest.Server {
	t.Helper()
	pgOnce.Do(func() { pgSrv, pgErr = startShop() })
	if errors.Is(pgErr, pgtest.ErrNotInstalled) {
		t.Skipf("skipping: real-PostgreSQL test needs the server binaries: %v", pgErr)
	}
	if pgErr != nil {
		t.Fatalf("start postgres: %v", pgErr)
	}
	return pgSrv
}

// startShop starts the server and builds the template: role shop_app (password auth) owning
// database shop_template with testdata/shop.sql loaded.
func startShop() (*pgtest.Server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := pgtest.Start(ctx)
	if err != nil {
		return nil, err
	}
	schema, err := os.ReadFile("testdata/shop.sql")
	if err == nil {
		err = s.Exec(ctx, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s", appUser, pgtest.QuoteLiteral(appPassword)))
	}
	if err == nil {
		err = s.Exec(ctx, "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", templateDB, appUser))
	}
	if err == nil {
		err = s.Exec(ctx, templateDB, "SET ROLE "+appUser+";\n"+string(schema))
	}
	if err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("set up the shop database: %w", err)
	}
	return s, nil
}

// shopDB is a fresh copy of the shop database for one test, dropped at its end.
type shopDB struct {
	t    *testing.T
	srv  *pgtest.Server
	Name string
}

func newShopDB(t *testing.T) *shopDB {
	t.Helper()
	s := server(t)
	name := fmt.Sprintf("shop_t%d", dbSeq.Add(1))
	ctx := context.Background()
	if err := s.Exec(ctx, "postgres", fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s OWNER %s", name, templateDB, appUser)); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Exec(ctx, "postgres", "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database: %v", err)
		}
	})
	return &shopDB{t: t, srv: s, Name: name}
}

// DSN is the URL DSN of shop_app on this database.
func (d *shopDB) DSN() string { return d.srv.URL(appUser, appPassword, d.Name) }

// Exec runs fixture SQL as the superuser.
func (d *shopDB) Exec(sql string) {
	d.t.Helper()
	if err := d.srv.Exec(context.Background(), d.Name, sql); err != nil {
		d.t.Fatalf("exec %q: %v", sql, err)
	}
}

// Int runs a one-value query as the superuser.
func (d *shopDB) Int(sql string) int64 {
	d.t.Helper()
	ctx := context.Background()
	conn, err := d.srv.Connect(ctx, d.Name)
	if err != nil {
		d.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		d.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// envOf is a lookup-env function over a fixed map.
func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var (
	orphanCheck = engine.IntegrityCheck{Name: "orphaned_order_items",
		SQL: "SELECT oi.id FROM order_items oi LEFT JOIN orders o ON o.id = oi.order_id WHERE o.id IS NULL ORDER BY oi.id"}
	negativeStockCheck = engine.IntegrityCheck{Name: "negative_stock",
		SQL: "SELECT sku FROM inventory WHERE on_hand < 0 ORDER BY sku"}
)

// dbSpec is the runbook's database section for the shop, with extra checks appended.
func dbSpec(extra ...engine.IntegrityCheck) engine.DatabaseSpec {
	return engine.DatabaseSpec{DSNEnv: dsnEnv, StatementTimeout: 5 * time.Second, Migrations: ToolGolangMigrate,
		Checks: append([]engine.IntegrityCheck{orphanCheck, negativeStockCheck}, extra...)}
}

// request asks for gate with a production environment holding db.
func request(gate engine.Gate, db engine.DatabaseSpec) engine.Request {
	rb := &engine.Runbook{Spec: engine.RunbookSpec{Environments: map[string]engine.EnvSpec{
		"production": {Name: "production", Database: &db},
	}}}
	return engine.Request{Runbook: rb, Environment: "production", Gate: gate, Now: time.Now().UTC()}
}

// secrets are every form the password and the DSNs could leak in.
func secrets(extra ...string) []string {
	out := []string{appPassword, url.QueryEscape(appPassword), url.PathEscape(appPassword),
		strings.TrimPrefix(url.UserPassword("", appPassword).String(), ":")}
	for _, e := range extra {
		out = append(out, e, url.QueryEscape(e), url.PathEscape(e))
	}
	return out
}

// collectFact runs c and checks what every produced fact set must satisfy: the #Facts schema,
// provenance, no secret, exactly the integrity fact, and a query that is not the DSN.
func collectFact(t *testing.T, c *Collector, req engine.Request, extraSecrets ...string) engine.Fact {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	facts := c.Collect(ctx, req)
	collectortest.AssertSchema(t, facts)
	collectortest.AssertProvenance(t, facts)
	collectortest.AssertNoSecret(t, facts, secrets(extraSecrets...)...)
	if len(facts) != 1 {
		t.Fatalf("facts = %v, want exactly %s", keys(facts), FactName)
	}
	f, ok := facts[FactName]
	if !ok {
		t.Fatalf("no %s fact: %v", FactName, keys(facts))
	}
	if f.Source != Source {
		t.Errorf("source = %q, want %q", f.Source, Source)
	}
	for _, bad := range []string{"postgres://", "127.0.0.1", "password", appUser} {
		if strings.Contains(f.Query, bad) {
			t.Errorf("query provenance %q holds %q: it must name the checks, never the DSN", f.Query, bad)
		}
	}
	if f.CollectedAt.IsZero() || f.CollectedAt.Location() != time.UTC {
		t.Errorf("collected_at = %v, want a UTC time", f.CollectedAt)
	}
	return f
}

func keys(m map[string]engine.Fact) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// entry returns the fact's check entry called name.
func entry(t *testing.T, f engine.Fact, name string) map[string]any {
	t.Helper()
	checks, ok := f.Data["checks"].([]any)
	if !ok {
		t.Fatalf("checks is %T, want []any (fact error %q)", f.Data["checks"], f.Err)
	}
	for _, c := range checks {
		m := c.(map[string]any)
		if m["name"] == name {
			return m
		}
	}
	t.Fatalf("no check %s in %v", name, checks)
	return nil
}

// wantCount asserts a check's count and sample, and that it carries no error.
func wantCount(t *testing.T, f engine.Fact, name string, violations int64, sample ...string) {
	t.Helper()
	e := entry(t, f, name)
	if e["error"] != nil {
		t.Errorf("check %s: unexpected error %v", name, e["error"])
	}
	if e["violations"] != violations {
		t.Errorf("check %s: violations = %v (%T), want %d", name, e["violations"], e["violations"], violations)
	}
	got, _ := e["sample"].([]string)
	if sample == nil {
		sample = []string{}
	}
	if strings.Join(got, "|") != strings.Join(sample, "|") || got == nil {
		t.Errorf("check %s: sample = %#v, want %#v", name, e["sample"], sample)
	}
}

// wantCheckError asserts a check reports an error containing want and no count.
func wantCheckError(t *testing.T, f engine.Fact, name, want string) {
	t.Helper()
	e := entry(t, f, name)
	msg, _ := e["error"].(string)
	if msg == "" || !strings.Contains(msg, want) {
		t.Errorf("check %s: error = %q, want one containing %q", name, msg, want)
	}
	if !strings.HasPrefix(msg, "collect sql: ") {
		t.Errorf("check %s: error %q does not start with \"collect sql: \"", name, msg)
	}
	if _, ok := e["violations"]; ok {
		t.Errorf("check %s errored but reports violations %v: the policy must see it as unknown", name, e["violations"])
	}
	if _, ok := e["sample"]; ok {
		t.Errorf("check %s errored but reports a sample", name)
	}
}

// migrationsOf returns the fact's migrations object.
func migrationsOf(t *testing.T, f engine.Fact) map[string]any {
	t.Helper()
	m, ok := f.Data["migrations"].(map[string]any)
	if !ok {
		t.Fatalf("migrations is %T (fact error %q)", f.Data["migrations"], f.Err)
	}
	return m
}
