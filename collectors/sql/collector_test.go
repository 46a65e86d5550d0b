package sql

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekeeper-dev/gatekeeper/collectors/collectortest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Tests that need no server: configuration faults, gates, redaction, key rendering.

func TestConfigurationFaults(t *testing.T) {
	withDB := request(engine.PreCutover, dbSpec())
	noDB := request(engine.PreCutover, dbSpec())
	noDB.Runbook.Spec.Environments["production"] = engine.EnvSpec{Name: "production"}
	otherEnv := request(engine.PreCutover, dbSpec())
	otherEnv.Environment = "staging"
	noRunbook := engine.Request{Environment: "production", Gate: engine.PreCutover}

	cases := []struct {
		name string
		env  func(string) (string, bool)
		req  engine.Request
		want string
		leak []string
	}{
		{"dsn env missing", envOf(), withDB, "collect sql: environment variable SHOP_DB_DSN (database.dsn_env) is not set", nil},
		{"dsn env empty", envOf(dsnEnv, ""), withDB, "environment variable SHOP_DB_DSN (database.dsn_env) is empty", nil},
		{"url dsn unparsable", envOf(dsnEnv, "postgres://shop:hunter2-pw@db.internal:notaport/shop"), withDB,
			"collect sql: the DSN in SHOP_DB_DSN is not a valid PostgreSQL connection string", []string{"hunter2-pw"}},
		{"url dsn with odd password", envOf(dsnEnv, "postgres://shop:p@ss:w0rd%zz@db.internal/shop"), withDB,
			"the DSN in SHOP_DB_DSN is not a valid", []string{"p@ss:w0rd%zz", "ss:w0rd"}},
		{"keyword dsn unparsable", envOf(dsnEnv, "host=db.internal password='hunter 2 pw' port=abc"), withDB,
			"the DSN in SHOP_DB_DSN is not a valid", []string{"hunter 2 pw"}},
		{"keyword dsn unterminated", envOf(dsnEnv, "host=db.internal password='hunter3-pw"), withDB,
			"the DSN in SHOP_DB_DSN is not a valid", []string{"hunter3-pw"}},
		{"no runbook", envOf(), noRunbook, "collect sql: no runbook in the request", nil},
		{"environment not in runbook", envOf(), otherEnv, `collect sql: environment "staging" is not in the runbook`, nil},
		{"no database section", envOf(), noDB, `collect sql: environment "production" has no database section`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			facts := New(WithLookupEnv(tc.env)).Collect(context.Background(), tc.req)
			collectortest.AssertFailed(t, facts, FactName)
			collectortest.AssertProvenance(t, facts)
			collectortest.AssertSchema(t, facts)
			collectortest.AssertNoSecret(t, facts, tc.leak...)
			f := facts[FactName]
			if !strings.Contains(f.Err, tc.want) {
				t.Errorf("error = %q, want it to contain %q", f.Err, tc.want)
			}
			if f.Source != Source || f.Data != nil {
				t.Errorf("fact = %+v", f)
			}
		})
	}
}

func TestGates(t *testing.T) {
	for _, g := range engine.Gates() {
		facts := New(WithLookupEnv(envOf())).Collect(context.Background(), request(g, dbSpec()))
		_, got := facts[FactName]
		want := g != engine.PostRollback
		if got != want || len(facts) > 1 {
			t.Errorf("gate %s: facts %v, want integrity: %v", g, keys(facts), want)
		}
		if facts == nil {
			t.Errorf("gate %s: nil map", g)
		}
	}
}

func TestOptions(t *testing.T) {
	c := New()
	if c.sampleLimit != DefaultSampleLimit || c.timeout != DefaultTimeout || c.lookupEnv == nil {
		t.Errorf("defaults = %+v", c)
	}
	c = New(WithSampleLimit(-3), WithTimeout(0), WithLookupEnv(nil))
	if c.sampleLimit != 0 || c.timeout != 0 || c.lookupEnv == nil {
		t.Errorf("options = %+v", c)
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		db   engine.DatabaseSpec
		want string
	}{
		{dbSpec(), "checks: orphaned_order_items, negative_stock; migrations: golang-migrate"},
		{engine.DatabaseSpec{DSNEnv: "X", Migrations: "flyway"}, "checks: (none); migrations: flyway"},
		{engine.DatabaseSpec{DSNEnv: "X"}, "checks: (none); migrations: none"},
	} {
		if got := describe(&tc.db); got != tc.want {
			t.Errorf("describe = %q, want %q", got, tc.want)
		}
	}
}

func TestRedactor(t *testing.T) {
	cases := []struct {
		name, dsn string
		secrets   []string
	}{
		{"url", "postgres://shop:s3cret-pw@db:5432/shop", []string{"s3cret-pw"}},
		{"url escaped", "postgres://shop:p%40ss%3Aword%2F1@db/shop", []string{"p@ss:word/1", "p%40ss%3Aword%2F1"}},
		{"url query password", "postgres://db/shop?user=shop&password=qparam-pw&sslpassword=keypass-pw", []string{"qparam-pw", "keypass-pw"}},
		{"keyword", "host=db user=shop password=kw-secret dbname=shop", []string{"kw-secret"}},
		{"keyword quoted", `host=db password='it\'s a secret' sslpassword=ssl-key-pw`, []string{"it's a secret", "ssl-key-pw"}},
		{"unparsable url", "postgres://shop:bad-pw-123@db:port/shop", []string{"bad-pw-123"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := pgx.ParseConfig(tc.dsn)
			r := newRedactor(tc.dsn, cfg)
			for _, s := range tc.secrets {
				msg := "failed: " + s + " | dsn " + tc.dsn + " | " + strings.ToUpper("x") + s
				got := r.redact(msg)
				if strings.Contains(got, s) || strings.Contains(got, tc.dsn) {
					t.Errorf("redact(%q) = %q: secret %q survived", msg, got, s)
				}
			}
		})
	}
	// Words that merely look like SQL stay readable.
	r := newRedactor("postgres://shop:s3cret-pw@db/shop", nil)
	if got := r.redact(`relation "refunds" does not exist`); got != `relation "refunds" does not exist` {
		t.Errorf("redact changed an innocent message: %q", got)
	}
	if r.error(nil) != nil {
		t.Error("error(nil) != nil")
	}
}

func TestRenderKey(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes: cut on a rune boundary
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{nil, "NULL"},
		{[]byte{}, ""},
		{[]byte("sku-1041"), "sku-1041"},
		{[]byte("bad\xffutf8"), "bad\uFFFDutf8"},
		{[]byte(long), strings.Repeat("é", 100) + "…"},
		{[]byte(strings.Repeat("a", maxKeyBytes)), strings.Repeat("a", maxKeyBytes)},
	} {
		if got := renderKey(tc.in); got != tc.want {
			t.Errorf("renderKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCollectHonoursCanceledContext(t *testing.T) {
	// An address nothing answers quickly from: a canceled context must still end promptly.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	facts := New(WithLookupEnv(envOf(dsnEnv, "postgres://shop:ctx-secret-pw@10.255.255.1:5432/shop"))).Collect(ctx, request(engine.Window, dbSpec()))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v with a canceled context", d)
	}
	collectortest.AssertFailed(t, facts, FactName)
	collectortest.AssertNoSecret(t, facts, "ctx-secret-pw")
}
