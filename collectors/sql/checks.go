package sql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Migration-state queries. golang-migrate keeps one row (version, dirty); Flyway one row per
// applied script, versioned or repeatable (version NULL), with success = false for a failure.
const (
	golangMigrateSQL = `SELECT version, dirty FROM schema_migrations`
	flywaySQL        = `SELECT version, success FROM flyway_schema_history ORDER BY installed_rank`
)

// check runs one integrity check and renders its entry of the fact: {name, violations,
// sample, duration_ms} or, when the check fails, {name, error, duration_ms} and no count,
// which the policies treat as unknown.
func (c *Collector) check(ctx context.Context, conn *pgx.Conn, ch engine.IntegrityCheck, timeout time.Duration, r redactor) map[string]any {
	start := time.Now()
	var (
		violations int64
		sample     = []string{}
	)
	err := readOnly(ctx, conn, timeout, func(tx pgx.Tx) error {
		// Text results: the first column is rendered exactly as PostgreSQL prints it,
		// whatever its type (uuid, numeric, timestamptz, a composite…).
		rows, err := tx.Query(ctx, ch.SQL, pgx.QueryExecModeDescribeExec, pgx.QueryResultFormats{pgx.TextFormatCode})
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			violations++
			if len(sample) < c.sampleLimit {
				if raw := rows.RawValues(); len(raw) > 0 {
					sample = append(sample, r.redact(renderKey(raw[0])))
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(rows.FieldDescriptions()) == 0 && !rows.CommandTag().Select() {
			return fmt.Errorf("the statement returns no rows (%s): a check must be a query whose rows are the violations", rows.CommandTag().String())
		}
		return nil
	})
	entry := map[string]any{"name": ch.Name, "duration_ms": time.Since(start).Milliseconds()}
	if err != nil {
		entry["error"] = r.error(fmt.Errorf("collect sql: check %s: %w", ch.Name, err)).Error()
		return entry
	}
	entry["violations"] = violations
	entry["sample"] = sample
	return entry
}

// migrations reads the migration state: {tool, version, dirty}, or {tool, error} when the
// state cannot be read (no such table, no permission, timeout), never a guess. The version
// is absent when no migration has been applied; ToolNone reports {tool: "none"} alone.
func (c *Collector) migrations(ctx context.Context, conn *pgx.Conn, tool string, timeout time.Duration, r redactor) map[string]any {
	m := map[string]any{"tool": tool}
	var (
		version any
		dirty   bool
		err     error
	)
	switch tool {
	case ToolNone:
		return m
	case ToolGolangMigrate:
		version, dirty, err = golangMigrate(ctx, conn, timeout)
	case ToolFlyway:
		version, dirty, err = flyway(ctx, conn, timeout)
	default:
		err = fmt.Errorf("unsupported migration tool %q (want %s, %s or %s)", tool, ToolGolangMigrate, ToolFlyway, ToolNone)
	}
	if err != nil {
		m["error"] = r.error(fmt.Errorf("collect sql: migrations (%s): %w", tool, err)).Error()
		return m
	}
	if version != nil {
		m["version"] = version
	}
	m["dirty"] = dirty
	return m
}

// golangMigrate reads schema_migrations: the version, and whether it is dirty (a migration
// failed half-way). The table holds one row; should it hold more, the highest version is
// reported and any dirty row makes the state dirty.
func golangMigrate(ctx context.Context, conn *pgx.Conn, timeout time.Duration) (version any, dirty bool, err error) {
	err = readOnly(ctx, conn, timeout, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, golangMigrateSQL)
		if err != nil {
			return err
		}
		var (
			v     int64
			d     bool
			found bool
			maxV  int64
		)
		_, err = pgx.ForEachRow(rows, []any{&v, &d}, func() error {
			if !found || v > maxV {
				maxV = v
			}
			found = true
			dirty = dirty || d
			return nil
		})
		if err != nil {
			return err
		}
		if found {
			version = maxV
		}
		return nil
	})
	return version, dirty, err
}

// flyway reads flyway_schema_history: dirty when any script failed (success = false), and
// the version of the latest successful versioned migration (by installed_rank).
func flyway(ctx context.Context, conn *pgx.Conn, timeout time.Duration) (version any, dirty bool, err error) {
	err = readOnly(ctx, conn, timeout, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, flywaySQL)
		if err != nil {
			return err
		}
		var (
			v       *string
			success bool
		)
		_, err = pgx.ForEachRow(rows, []any{&v, &success}, func() error {
			if !success {
				dirty = true
			} else if v != nil && *v != "" {
				version = *v
			}
			return nil
		})
		return err
	})
	return version, dirty, err
}

// readOnly runs fn in a READ ONLY transaction with the statement timeout set for it alone,
// and always rolls back: a check has nothing to commit, and anything that slipped through
// is undone.
func readOnly(ctx context.Context, conn *pgx.Conn, timeout time.Duration, fn func(pgx.Tx) error) (err error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if rerr := tx.Rollback(rctx); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) && err == nil && ctx.Err() == nil {
			err = fmt.Errorf("roll back: %w", rerr)
		}
	}()
	ms := max(timeout.Milliseconds(), 1)
	if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", ms)); err != nil {
		return fmt.Errorf("set statement_timeout: %w", err)
	}
	return fn(tx)
}

// renderKey renders a sample key from its text-format value: NULL as "NULL", invalid UTF-8
// replaced, at most maxKeyBytes bytes (cut on a rune boundary, marked with "…").
func renderKey(raw []byte) string {
	if raw == nil {
		return "NULL"
	}
	s := strings.ToValidUTF8(string(raw), "\uFFFD")
	if len(s) <= maxKeyBytes {
		return s
	}
	cut := maxKeyBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
