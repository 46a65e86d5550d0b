// Package sql collects the data-integrity fact (`integrity`) from PostgreSQL with pgx.
//
// Each check of the runbook's environment database is SQL returning the violating rows; the
// collector counts every row and keeps the first column of the first few, in the order the
// query returns them (give a check an ORDER BY for a stable sample), rendered as PostgreSQL
// prints it, as sample keys. It also reads the migration state of golang-migrate or Flyway. It applies no threshold: the
// policies compare the counts with the pre-cutover baseline.
//
// Everything runs sequentially on one connection opened for the collection and closed after
// it: each query in its own BEGIN READ ONLY transaction with SET LOCAL statement_timeout,
// always rolled back, sent with the extended protocol (one statement per check, so a check
// cannot end its transaction and write after it). One connection keeps the load on a
// production database minimal and the order of the checks deterministic. The DSN comes from
// the environment variable the runbook names; it and its password never reach a fact.
package sql

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// FactName is the fact this collector produces.
const FactName = "integrity"

// Source is the provenance source of the integrity fact; it selects max_age["sql"].
const Source = "sql"

// DefaultSampleLimit is how many violating keys a check keeps unless WithSampleLimit says otherwise.
const DefaultSampleLimit = 10

// DefaultTimeout bounds a whole collection (connect, migrations, every check) unless
// WithTimeout says otherwise; the caller's context deadline applies as well.
const DefaultTimeout = 30 * time.Second

// DefaultStatementTimeout applies when the runbook gives no positive statement_timeout.
const DefaultStatementTimeout = 5 * time.Second

// The migration tools the runbook's database.migrations may name.
const (
	// ToolGolangMigrate reads golang-migrate's schema_migrations (version, dirty).
	ToolGolangMigrate = "golang-migrate"
	// ToolFlyway reads Flyway's flyway_schema_history (version, success).
	ToolFlyway = "flyway"
	// ToolNone means the database has no migration tool; it is also what an absent field means.
	ToolNone = "none"
)

// maxKeyBytes bounds one sample key, so a check selecting a document column cannot bloat the facts.
const maxKeyBytes = 200

// Collector gathers the integrity fact; build it with New. It holds no state between
// collections and is safe for concurrent use.
type Collector struct {
	lookupEnv   func(string) (string, bool)
	timeout     time.Duration
	sampleLimit int
}

// Option configures a Collector.
type Option func(*Collector)

// WithLookupEnv sets how the DSN environment variable is read (default os.LookupEnv).
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(c *Collector) {
		if f != nil {
			c.lookupEnv = f
		}
	}
}

// WithTimeout bounds a whole collection (default DefaultTimeout); zero or less leaves only
// the caller's context deadline.
func WithTimeout(d time.Duration) Option {
	return func(c *Collector) { c.timeout = d }
}

// WithSampleLimit sets how many violating keys each check keeps (default DefaultSampleLimit;
// negative means zero). Violations are always counted in full.
func WithSampleLimit(n int) Option {
	return func(c *Collector) { c.sampleLimit = max(n, 0) }
}

// New returns a Collector with the given options.
func New(opts ...Option) *Collector {
	c := &Collector{lookupEnv: os.LookupEnv, timeout: DefaultTimeout, sampleLimit: DefaultSampleLimit}
	for _, o := range opts {
		o(c)
	}
	return c
}

var _ engine.Collector = (*Collector)(nil)

// gateWants reports whether a gate reads the integrity fact: the baseline before cutover
// and the current state at every later gate except post-rollback.
func gateWants(g engine.Gate) bool {
	switch g {
	case engine.PreCutover, engine.PostDeploy, engine.PostSmoke, engine.Canary, engine.Window:
		return true
	}
	return false
}

// Collect implements engine.Collector. At pre-cutover, post-deploy, post-smoke, canary and
// window it returns the integrity fact; at other gates, nothing. A failure to reach the
// database is the fact's error; a failing check or migrations query is an error on that
// entry only, so the other entries stay usable.
func (c *Collector) Collect(ctx context.Context, req engine.Request) map[string]engine.Fact {
	facts := map[string]engine.Fact{}
	if !gateWants(req.Gate) {
		return facts
	}
	start := time.Now()
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	f := engine.Fact{Source: Source, Query: "integrity checks", CollectedAt: start.UTC()}
	db, err := database(req)
	if err == nil {
		f.Query = describe(db)
		f.Data, err = c.collect(ctx, db)
	}
	if err != nil {
		f.Err = err.Error() // already redacted by collect
		f.Data = nil
	}
	f.Duration = time.Since(start)
	facts[FactName] = f
	return facts
}

// database returns the environment's database section, or why there is none.
func database(req engine.Request) (*engine.DatabaseSpec, error) {
	if req.Runbook == nil {
		return nil, errors.New("collect sql: no runbook in the request")
	}
	env, ok := req.Runbook.Env(req.Environment)
	if !ok {
		return nil, fmt.Errorf("collect sql: environment %q is not in the runbook", req.Environment)
	}
	if env.Database == nil {
		return nil, fmt.Errorf("collect sql: environment %q has no database section: data integrity cannot be checked", req.Environment)
	}
	return env.Database, nil
}

// describe is the fact's query provenance: the check names and the migration tool, never the DSN.
func describe(db *engine.DatabaseSpec) string {
	names := make([]string, 0, len(db.Checks))
	for _, ch := range db.Checks {
		names = append(names, ch.Name)
	}
	list := "(none)"
	if len(names) > 0 {
		list = strings.Join(names, ", ")
	}
	return fmt.Sprintf("checks: %s; migrations: %s", list, migrationTool(db))
}

// migrationTool is the runbook's migration tool, ToolNone when absent.
func migrationTool(db *engine.DatabaseSpec) string {
	if db.Migrations == "" {
		return ToolNone
	}
	return db.Migrations
}

// collect connects with the DSN and runs the migrations query and every check. Every error
// it returns, and every error inside the data, is redacted.
func (c *Collector) collect(ctx context.Context, db *engine.DatabaseSpec) (map[string]any, error) {
	name := db.DSNEnv
	dsn, ok := c.lookupEnv(name)
	if !ok {
		return nil, fmt.Errorf("collect sql: environment variable %s (database.dsn_env) is not set", name)
	}
	if strings.TrimSpace(dsn) == "" {
		return nil, fmt.Errorf("collect sql: environment variable %s (database.dsn_env) is empty", name)
	}
	cfg, err := pgx.ParseConfig(dsn)
	r := newRedactor(dsn, cfg)
	if err != nil {
		return nil, r.error(fmt.Errorf("collect sql: %w", parseError(name, err)))
	}
	// Checks run once per collection: no statement cache, and the extended protocol so each
	// check is exactly one statement, whatever default_query_exec_mode the DSN asks for.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	cfg.StatementCacheCapacity = 0
	cfg.DescriptionCacheCapacity = 0
	cfg.Tracer = nil
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		cfg.RuntimeParams["application_name"] = "gatekeeper"
	}

	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, r.error(fmt.Errorf("collect sql: connect to the database from %s: %w", name, err))
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()

	timeout := db.StatementTimeout
	if timeout <= 0 {
		timeout = DefaultStatementTimeout
	}
	// Migrations first: the query is cheap, and a dirty migration is known even when slow
	// checks exhaust the deadline.
	migrations := c.migrations(ctx, conn, migrationTool(db), timeout, r)
	checks := make([]any, 0, len(db.Checks))
	for _, ch := range db.Checks {
		checks = append(checks, c.check(ctx, conn, ch, timeout, r))
	}
	return map[string]any{"checks": checks, "migrations": migrations}, nil
}

// parseError describes a DSN pgx cannot parse without echoing it: pgx's own message quotes
// the connection string with the password removed only on a best-effort basis.
func parseError(envName string, err error) error {
	msg := fmt.Sprintf("the DSN in %s is not a valid PostgreSQL connection string", envName)
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		// pgx's reason ("invalid port", "failed to parse as URL (…)") without the string.
		bare := *pce
		bare.ConnString = ""
		return fmt.Errorf("%s: %s", msg, strings.TrimPrefix(bare.Error(), "cannot parse ``: "))
	}
	return fmt.Errorf("%s: %w", msg, err)
}
