package sql

import (
	"context"
	"net"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/collectortest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// The scenarios of the issue, against a real PostgreSQL server (see main_test.go).

func TestExampleRunbookCleanBaseline(t *testing.T) {
	db := newShopDB(t)
	rb, err := engine.LoadRunbook("../../testdata/example/runbook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	req := engine.Request{Runbook: rb, Environment: "production", Gate: engine.PreCutover, Now: time.Now().UTC()}
	f := collectFact(t, New(WithLookupEnv(envOf("SHOP_DB_DSN", db.DSN()))), req)
	if f.Err != "" {
		t.Fatalf("error: %s", f.Err)
	}
	if want := "checks: orphaned_order_items, negative_stock; migrations: golang-migrate"; f.Query != want {
		t.Errorf("query = %q, want %q", f.Query, want)
	}
	wantCount(t, f, "orphaned_order_items", 0)
	wantCount(t, f, "negative_stock", 0)
	if got, want := migrationsOf(t, f), map[string]any{"tool": "golang-migrate", "version": int64(42), "dirty": false}; !reflect.DeepEqual(got, want) {
		t.Errorf("migrations = %#v, want %#v", got, want)
	}
	if f.Duration <= 0 {
		t.Errorf("duration = %v", f.Duration)
	}
	m := f.Map()
	for _, k := range []string{"source", "query", "collected_at", "duration_ms", "checks", "migrations"} {
		if _, ok := m[k]; !ok {
			t.Errorf("policy input lacks %s: %v", k, m)
		}
	}
	if _, ok := m["error"]; ok {
		t.Errorf("clean run has an error field: %v", m)
	}
}

func TestNewOrphansSinceBaseline(t *testing.T) {
	db := newShopDB(t)
	env := WithLookupEnv(envOf(dsnEnv, db.DSN()))

	base := collectFact(t, New(env), request(engine.PreCutover, dbSpec()))
	wantCount(t, base, "orphaned_order_items", 0)

	// The release deletes orders without their items: 25 orphans, ids 1001..1025.
	db.Exec(`INSERT INTO order_items (id, order_id, sku, qty)
		SELECT 1000 + g, 9000 + g, 'sku-1001', 1 FROM generate_series(1, 25) AS g`)

	limited := collectFact(t, New(env, WithSampleLimit(5)), request(engine.PostDeploy, dbSpec()))
	wantCount(t, limited, "orphaned_order_items", 25, "1001", "1002", "1003", "1004", "1005")
	wantCount(t, limited, "negative_stock", 0)

	for _, gate := range []engine.Gate{engine.PostSmoke, engine.Canary, engine.Window} {
		f := collectFact(t, New(env), request(gate, dbSpec()))
		wantCount(t, f, "orphaned_order_items", 25,
			"1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009", "1010")
	}

	none := collectFact(t, New(env, WithSampleLimit(0)), request(engine.Window, dbSpec()))
	wantCount(t, none, "orphaned_order_items", 25)
}

func TestPreExistingViolations(t *testing.T) {
	db := newShopDB(t)
	env := WithLookupEnv(envOf(dsnEnv, db.DSN()))
	db.Exec(`UPDATE inventory SET on_hand = -on_hand - 1 WHERE sku IN ('sku-1007', 'sku-1003', 'sku-1005')`)

	base := collectFact(t, New(env), request(engine.PreCutover, dbSpec()))
	wantCount(t, base, "negative_stock", 3, "sku-1003", "sku-1005", "sku-1007")
	wantCount(t, base, "orphaned_order_items", 0)

	same := collectFact(t, New(env), request(engine.PostDeploy, dbSpec()))
	wantCount(t, same, "negative_stock", 3, "sku-1003", "sku-1005", "sku-1007")

	db.Exec(`UPDATE inventory SET on_hand = -5 WHERE sku = 'sku-1001'`)
	grown := collectFact(t, New(env), request(engine.Window, dbSpec()))
	wantCount(t, grown, "negative_stock", 4, "sku-1001", "sku-1003", "sku-1005", "sku-1007")
}

func TestMigrationState(t *testing.T) {
	cases := []struct {
		name    string
		tool    string
		fixture string
		want    map[string]any
	}{
		{"golang-migrate clean", ToolGolangMigrate, "",
			map[string]any{"tool": "golang-migrate", "version": int64(42), "dirty": false}},
		{"golang-migrate dirty", ToolGolangMigrate, `UPDATE schema_migrations SET version = 43, dirty = true`,
			map[string]any{"tool": "golang-migrate", "version": int64(43), "dirty": true}},
		{"golang-migrate nothing applied", ToolGolangMigrate, `DELETE FROM schema_migrations`,
			map[string]any{"tool": "golang-migrate", "dirty": false}},
		{"flyway clean", ToolFlyway, "",
			map[string]any{"tool": "flyway", "version": "1.2", "dirty": false}},
		{"flyway failed migration", ToolFlyway,
			`INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
			 VALUES (5, '1.3', 'add order index', 'SQL', 'V1_3__add_order_index.sql', 99, 'shop_app', 3, false)`,
			map[string]any{"tool": "flyway", "version": "1.2", "dirty": true}},
		{"flyway failed repeatable", ToolFlyway,
			`UPDATE flyway_schema_history SET success = false WHERE installed_rank = 4`,
			map[string]any{"tool": "flyway", "version": "1.2", "dirty": true}},
		{"none", ToolNone, "", map[string]any{"tool": "none"}},
		{"absent means none", "", "", map[string]any{"tool": "none"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := newShopDB(t)
			if tc.fixture != "" {
				db.Exec(tc.fixture)
			}
			spec := dbSpec()
			spec.Migrations = tc.tool
			f := collectFact(t, New(WithLookupEnv(envOf(dsnEnv, db.DSN()))), request(engine.PostDeploy, spec))
			if f.Err != "" {
				t.Fatalf("error: %s", f.Err)
			}
			if got := migrationsOf(t, f); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("migrations = %#v, want %#v", got, tc.want)
			}
			wantCount(t, f, "orphaned_order_items", 0)
		})
	}
}

func TestMigrationStateUnreadable(t *testing.T) {
	cases := []struct {
		name, tool, fixture, want string
	}{
		{"no schema_migrations", ToolGolangMigrate, `DROP TABLE schema_migrations`, `relation "schema_migrations" does not exist`},
		{"no flyway_schema_history", ToolFlyway, `DROP TABLE flyway_schema_history`, `relation "flyway_schema_history" does not exist`},
		{"no permission", ToolGolangMigrate, `ALTER TABLE schema_migrations OWNER TO ` + "gkadmin", `permission denied`},
		{"unknown tool", "liquibase", "", `unsupported migration tool "liquibase"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := newShopDB(t)
			if tc.fixture != "" {
				db.Exec(tc.fixture)
			}
			spec := dbSpec()
			spec.Migrations = tc.tool
			f := collectFact(t, New(WithLookupEnv(envOf(dsnEnv, db.DSN()))), request(engine.PreCutover, spec))
			if f.Err != "" {
				t.Fatalf("a migrations problem must not fail the whole fact: %s", f.Err)
			}
			m := migrationsOf(t, f)
			msg, _ := m["error"].(string)
			if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "collect sql: ") {
				t.Errorf("migrations error = %q, want one containing %q", msg, tc.want)
			}
			if m["tool"] != tc.tool {
				t.Errorf("tool = %v, want %s", m["tool"], tc.tool)
			}
			for _, k := range []string{"dirty", "version"} {
				if _, ok := m[k]; ok {
					t.Errorf("unreadable migrations report %s = %v: it must stay unknown", k, m[k])
				}
			}
			wantCount(t, f, "orphaned_order_items", 0)
			wantCount(t, f, "negative_stock", 0)
		})
	}
}

func TestFailingChecks(t *testing.T) {
	db := newShopDB(t)
	db.Exec(`CREATE TABLE payroll (id int PRIMARY KEY); REVOKE ALL ON payroll FROM PUBLIC`)
	spec := dbSpec(
		engine.IntegrityCheck{Name: "syntax", SQL: "SELEC id FROM orders"},
		engine.IntegrityCheck{Name: "missing_table", SQL: "SELECT id FROM refunds"},
		engine.IntegrityCheck{Name: "permission", SQL: "SELECT id FROM payroll"},
		engine.IntegrityCheck{Name: "slow", SQL: "SELECT pg_sleep(5)"},
		engine.IntegrityCheck{Name: "not_a_query", SQL: "SET LOCAL work_mem = '8MB'"},
		engine.IntegrityCheck{Name: "after_failures", SQL: "SELECT id FROM orders WHERE id > 18 ORDER BY id"},
	)
	spec.StatementTimeout = 300 * time.Millisecond
	start := time.Now()
	f := collectFact(t, New(WithLookupEnv(envOf(dsnEnv, db.DSN()))), request(engine.Canary, spec))
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("collection took %v: the 300ms statement timeout was not applied", d)
	}
	if f.Err != "" {
		t.Fatalf("failing checks must not fail the whole fact: %s", f.Err)
	}
	wantCheckError(t, f, "syntax", `syntax error at or near "SELEC"`)
	wantCheckError(t, f, "missing_table", `relation "refunds" does not exist`)
	wantCheckError(t, f, "permission", "permission denied for table payroll")
	wantCheckError(t, f, "slow", "canceling statement due to statement timeout")
	wantCheckError(t, f, "not_a_query", "a check must be a query")
	// One failure poisons neither the connection nor the checks after it.
	wantCount(t, f, "orphaned_order_items", 0)
	wantCount(t, f, "after_failures", 2, "19", "20")
	if got := len(f.Data["checks"].([]any)); got != 8 {
		t.Errorf("%d check entries, want all 8 configured", got)
	}
}

func TestChecksCannotWrite(t *testing.T) {
	db := newShopDB(t)
	spec := dbSpec(
		engine.IntegrityCheck{Name: "delete", SQL: "DELETE FROM orders WHERE id = 1 RETURNING id"},
		engine.IntegrityCheck{Name: "update", SQL: "UPDATE inventory SET on_hand = -1 RETURNING sku"},
		engine.IntegrityCheck{Name: "cte_delete", SQL: "WITH d AS (DELETE FROM orders WHERE id = 2 RETURNING id) SELECT id FROM d"},
		engine.IntegrityCheck{Name: "two_statements", SQL: "SELECT 1; DELETE FROM orders WHERE id = 3"},
		engine.IntegrityCheck{Name: "commit_then", SQL: "COMMIT"},
		engine.IntegrityCheck{Name: "ddl", SQL: "DROP TABLE order_items"},
		engine.IntegrityCheck{Name: "read_write", SQL: "SET TRANSACTION READ WRITE"},
		engine.IntegrityCheck{Name: "still_counts", SQL: "SELECT id FROM orders WHERE id <= 3 ORDER BY id"},
	)
	f := collectFact(t, New(WithLookupEnv(envOf(dsnEnv, db.DSN()))), request(engine.PostDeploy, spec))
	if f.Err != "" {
		t.Fatalf("error: %s", f.Err)
	}
	wantCheckError(t, f, "delete", "cannot execute DELETE in a read-only transaction")
	wantCheckError(t, f, "update", "cannot execute UPDATE in a read-only transaction")
	wantCheckError(t, f, "cte_delete", "in a read-only transaction")
	wantCheckError(t, f, "two_statements", "cannot insert multiple commands into a prepared statement")
	wantCheckError(t, f, "commit_then", "a check must be a query")
	wantCheckError(t, f, "ddl", "cannot execute DROP TABLE in a read-only transaction")
	wantCheckError(t, f, "read_write", "a check must be a query")
	wantCount(t, f, "still_counts", 3, "1", "2", "3")

	// The proof: every row the checks tried to remove or change is still there.
	if n := db.Int(`SELECT count(*) FROM orders WHERE id IN (1, 2, 3)`); n != 3 {
		t.Errorf("orders 1-3: %d rows left, want 3", n)
	}
	if n := db.Int(`SELECT count(*) FROM inventory WHERE on_hand < 0`); n != 0 {
		t.Errorf("%d inventory rows changed", n)
	}
	if n := db.Int(`SELECT count(*) FROM order_items`); n != 40 {
		t.Errorf("order_items: %d rows, want 40", n)
	}
}

func TestSampleKeys(t *testing.T) {
	db := newShopDB(t)
	spec := dbSpec(
		engine.IntegrityCheck{Name: "uuid", SQL: "SELECT '6f1c2a3b-9d4e-4f5a-8b6c-7d8e9f0a1b2c'::uuid"},
		engine.IntegrityCheck{Name: "numeric", SQL: "SELECT 12.50::numeric(10,2), 'second column ignored'"},
		engine.IntegrityCheck{Name: "timestamp", SQL: "SELECT '2026-11-25 14:05:00'::timestamp"},
		engine.IntegrityCheck{Name: "composite", SQL: "SELECT (order_id, sku) FROM order_items WHERE id = 1"},
		engine.IntegrityCheck{Name: "null", SQL: "SELECT NULL::bigint"},
		engine.IntegrityCheck{Name: "long", SQL: "SELECT repeat('x', 500)"},
		engine.IntegrityCheck{Name: "no_columns", SQL: "SELECT FROM orders WHERE id <= 3"},
		engine.IntegrityCheck{Name: "many_rows", SQL: "SELECT g FROM generate_series(1, 100000) AS g"},
		engine.IntegrityCheck{Name: "echoes_secret", SQL: "SELECT " + "'" + appPassword + "'"},
	)
	f := collectFact(t, New(WithLookupEnv(envOf(dsnEnv, db.DSN())), WithSampleLimit(3)), request(engine.Window, spec))
	if f.Err != "" {
		t.Fatalf("error: %s", f.Err)
	}
	wantCount(t, f, "uuid", 1, "6f1c2a3b-9d4e-4f5a-8b6c-7d8e9f0a1b2c")
	wantCount(t, f, "numeric", 1, "12.50")
	wantCount(t, f, "timestamp", 1, "2026-11-25 14:05:00")
	wantCount(t, f, "composite", 1, "(1,sku-1001)")
	wantCount(t, f, "null", 1, "NULL")
	wantCount(t, f, "long", 1, strings.Repeat("x", maxKeyBytes)+"…")
	wantCount(t, f, "no_columns", 3)
	wantCount(t, f, "many_rows", 100000, "1", "2", "3")
	wantCount(t, f, "echoes_secret", 1, engine.Redacted)
}

func TestDeadline(t *testing.T) {
	db := newShopDB(t)
	spec := dbSpec(engine.IntegrityCheck{Name: "slow", SQL: "SELECT pg_sleep(10)"}, engine.IntegrityCheck{Name: "after", SQL: "SELECT 1"})
	spec.StatementTimeout = 30 * time.Second
	start := time.Now()
	f := collectFact(t, New(WithLookupEnv(envOf(dsnEnv, db.DSN())), WithTimeout(500*time.Millisecond)), request(engine.Window, spec))
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("collection took %v with a 500ms timeout", d)
	}
	if f.Err != "" {
		t.Fatalf("error: %s", f.Err)
	}
	if got := migrationsOf(t, f); got["dirty"] != false {
		t.Errorf("migrations = %v: they run first and must be known", got)
	}
	wantCount(t, f, "orphaned_order_items", 0)
	wantCheckError(t, f, "slow", "")
	wantCheckError(t, f, "after", "")
}

func TestDatabaseUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	pw := "unreach:" + appPassword
	u := url.URL{Scheme: "postgres", User: url.UserPassword(appUser, pw), Host: addr, Path: "/shop", RawQuery: "sslmode=disable&connect_timeout=3"}
	dsn := u.String()
	start := time.Now()
	f := collectFact(t, New(WithLookupEnv(envOf(dsnEnv, dsn))), request(engine.PostDeploy, dbSpec()), pw, dsn)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v against a closed port", d)
	}
	collectortest.AssertFailed(t, map[string]engine.Fact{FactName: f}, FactName)
	for _, want := range []string{"collect sql: connect to the database from SHOP_DB_DSN", "connection refused"} {
		if !strings.Contains(f.Err, want) {
			t.Errorf("error %q lacks %q", f.Err, want)
		}
	}
	if f.Data != nil {
		t.Errorf("a failed fact carries data: %v", f.Data)
	}
}

func TestWrongPassword(t *testing.T) {
	srv := server(t)
	db := newShopDB(t)
	wrong := "wrong:pw@" + randomHex(6)
	for name, dsn := range map[string]string{
		"url":           srv.URL(appUser, wrong, db.Name),
		"keyword/value": srv.KeywordDSN(appUser, wrong, db.Name),
	} {
		t.Run(name, func(t *testing.T) {
			f := collectFact(t, New(WithLookupEnv(envOf(dsnEnv, dsn))), request(engine.PostSmoke, dbSpec()), wrong, dsn)
			if !strings.Contains(f.Err, "password authentication failed for user") || !strings.HasPrefix(f.Err, "collect sql: ") {
				t.Errorf("error = %q", f.Err)
			}
		})
	}
	// And the right password in keyword/value form works.
	f := collectFact(t, New(WithLookupEnv(envOf(dsnEnv, srv.KeywordDSN(appUser, appPassword, db.Name)))), request(engine.PostSmoke, dbSpec()))
	if f.Err != "" {
		t.Fatalf("error: %s", f.Err)
	}
	wantCount(t, f, "negative_stock", 0)
}

// TestCollectorFaults runs the kit's failure assertions over every way the source can fail.
func TestCollectorFaults(t *testing.T) {
	db := newShopDB(t)
	cases := map[string]func(string) (string, bool){
		"missing env":   envOf(),
		"empty env":     envOf(dsnEnv, " "),
		"bad dsn":       envOf(dsnEnv, "postgres://shop_app:"+appPassword+"@127.0.0.1:notaport/x"),
		"wrong db name": envOf(dsnEnv, server(t).URL(appUser, appPassword, "no_such_db")),
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			facts := New(WithLookupEnv(env)).Collect(ctx, request(engine.PostDeploy, dbSpec()))
			collectortest.AssertFailed(t, facts, FactName)
			collectortest.AssertProvenance(t, facts)
			collectortest.AssertSchema(t, facts)
			collectortest.AssertNoSecret(t, facts, secrets(db.DSN())...)
		})
	}
}
