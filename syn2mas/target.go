package syn2mas

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"
)

// The MAS side of a migration: the eight tables it fills, and how they are
// hidden and stripped of their indexes and constraints while loading, then
// restored. Every schema change is made in one transaction, so the database
// is always in one of two states: the MAS schema as it was, or "loading"
// (tables renamed, definitions saved in the restore tables). The restore
// tables mark the second state; a run that finds them resets the database
// to the first before it does anything else.

// targetTables are the MAS tables a migration writes, in load order.
var targetTables = []string{
	"users",
	"user_passwords",
	"user_emails",
	"user_unsupported_third_party_ids",
	"upstream_oauth_links",
	"compat_sessions",
	"compat_access_tokens",
	"compat_refresh_tokens",
}

// loadingPrefix is prepended to a target table's name while it loads, so that
// a MAS started by mistake finds no users table rather than half of one.
// It is MAS's own, so either tool can recover a run the other left.
const loadingPrefix = "syn2mas__"

// The restore tables hold the dropped definitions, in drop order. They are
// MAS's own too.
const (
	restoreConstraintsTable = "syn2mas_restore_constraints"
	restoreIndexesTable     = "syn2mas_restore_indices"
)

// advisoryLockKey is the session advisory lock MAS's tool holds on the MAS
// database (sqlx's key for the name "syn2mas-maswriter"): holding the same
// one keeps this migration and MAS's from running at once.
const advisoryLockKey int64 = 6584285998412104315

// ErrMigrationRunning is returned (wrapped) by [Migrate] when another
// migration holds the MAS database's syn2mas advisory lock.
var ErrMigrationRunning = errors.New("another syn2mas migration is running on this MAS database")

// ErrTargetNotEmpty is returned (wrapped, with the table named) by [Migrate]
// when a table it would fill already has rows.
var ErrTargetNotEmpty = errors.New("the MAS database is not empty")

// lockTarget takes the advisory lock on conn, a connection the caller keeps
// for the whole migration (the lock is the session's).
func lockTarget(ctx context.Context, conn *sql.Conn) error {
	if err := noticeClientGone(ctx, conn, false); err != nil {
		return fmt.Errorf("set up the MAS connection: %w", err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, advisoryLockKey).Scan(&ok); err != nil {
		return fmt.Errorf("take the syn2mas advisory lock on the MAS database: %w", err)
	}
	if !ok {
		var pid int
		var since time.Time
		err := conn.QueryRowContext(ctx, `SELECT a.pid, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid)
			WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			  AND (l.classid::bigint << 32 | l.objid::bigint) = $1 LIMIT 1`, advisoryLockKey).Scan(&pid, &since)
		if err != nil {
			return ErrMigrationRunning
		}
		return fmt.Errorf("%w: its lock is held by backend %d, connected since %s (a killed run's backend lets go once PostgreSQL notices its client is gone)",
			ErrMigrationRunning, pid, since.UTC().Format(time.RFC3339))
	}
	return nil
}

// noticeClientGone asks PostgreSQL to check every second, during a long
// statement, that the client is still there, so that the backends of a
// killed migration stop (and let go of its locks) at once rather than when
// their statement ends. In a transaction (local) the setting ends with it;
// otherwise the caller resets it. Servers before PostgreSQL 14 lack the
// setting; they notice at the end of the statement.
func noticeClientGone(ctx context.Context, q querier, local bool) error {
	set := `SET client_connection_check_interval = '1s'`
	if local {
		set = `SET LOCAL client_connection_check_interval = '1s'`
	}
	_, err := q.ExecContext(ctx, set)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "42704" { // unrecognized configuration parameter
		return nil
	}
	return err
}

// loading reports whether the MAS database is in the loading state: a run
// died (or failed and could not clean up) after pausing the schema.
func loading(ctx context.Context, q querier) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema AND tablename = ANY($1)`,
		pq.Array([]string{restoreConstraintsTable, restoreIndexesTable})).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look for the restore tables of an earlier syn2mas run: %w", err)
	}
	switch n {
	case 0:
		return false, nil
	case 2:
		return true, nil
	}
	return false, fmt.Errorf("the MAS database has one of %s and %s but not the other: it was changed by hand; restore it from a backup",
		restoreConstraintsTable, restoreIndexesTable)
}

// querier is what the target functions need of a *sql.Conn or *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkTargetEmpty returns an error wrapping [ErrTargetNotEmpty] naming the
// first target table that has a row. A table that does not exist yet is
// empty (the schema migrations will create it).
func checkTargetEmpty(ctx context.Context, q querier) error {
	for _, table := range targetTables {
		var exists bool
		if err := q.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil {
			return fmt.Errorf("look up MAS table %s: %w", table, err)
		}
		if !exists {
			continue
		}
		var hasRows bool
		if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT FROM `+pq.QuoteIdentifier(table)+`)`).Scan(&hasRows); err != nil {
			return fmt.Errorf("read MAS table %s: %w", table, err)
		}
		if hasRows {
			return fmt.Errorf("%w: table %s has rows; migrate into a new database (drop and recreate it)", ErrTargetNotEmpty, table)
		}
	}
	return nil
}

// definition is a dropped index or constraint: what recreates it.
type definition struct {
	table, name, sql string
}

// pauseTarget moves the MAS database into the loading state in one
// transaction: it creates the restore tables, renames the target tables,
// and drops their primary keys, unique and foreign-key constraints (and the
// foreign keys of other tables that point at them) and their indexes,
// saving each definition first.
func pauseTarget(ctx context.Context, conn *sql.Conn) error {
	return inTx(ctx, conn, func(tx *sql.Tx) error {
		for _, t := range []string{restoreConstraintsTable, restoreIndexesTable} {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE `+t+` (
				order_key SERIAL NOT NULL PRIMARY KEY,
				table_name TEXT NOT NULL,
				name TEXT NOT NULL,
				definition TEXT NOT NULL)`); err != nil {
				return fmt.Errorf("create %s: %w", t, err)
			}
		}
		for _, table := range targetTables {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE `+pq.QuoteIdentifier(table)+` RENAME TO `+pq.QuoteIdentifier(loadingPrefix+table)); err != nil {
				return fmt.Errorf("rename %s while loading: %w", table, err)
			}
		}
		for _, table := range targetTables {
			loadName := loadingPrefix + table
			// Foreign keys pointing at the table first (from any table),
			// then the table's own keys; a key between two target tables is
			// found once, as the first query drops it.
			for _, query := range []string{
				`SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
				 WHERE contype = 'f' AND confrelid = to_regclass($1) ORDER BY conrelid::regclass::text, conname`,
				`SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
				 WHERE contype IN ('f', 'p', 'u') AND conrelid = to_regclass($1) ORDER BY contype, conname`,
			} {
				defs, err := describe(ctx, tx, query, loadName)
				if err != nil {
					return fmt.Errorf("read the constraints of %s: %w", table, err)
				}
				for _, d := range defs {
					if err := save(ctx, tx, restoreConstraintsTable, d); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `ALTER TABLE `+d.table+` DROP CONSTRAINT `+pq.QuoteIdentifier(d.name)); err != nil {
						return fmt.Errorf("drop constraint %s on %s: %w", d.name, d.table, err)
					}
				}
			}
			defs, err := describe(ctx, tx, `SELECT tablename::text, indexname::text, indexdef FROM pg_indexes
				WHERE schemaname = current_schema AND tablename = $1 ORDER BY indexname`, loadName)
			if err != nil {
				return fmt.Errorf("read the indexes of %s: %w", table, err)
			}
			for _, d := range defs {
				if err := save(ctx, tx, restoreIndexesTable, d); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `DROP INDEX `+pq.QuoteIdentifier(d.name)); err != nil {
					return fmt.Errorf("drop index %s: %w", d.name, err)
				}
			}
		}
		return nil
	})
}

func describe(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]definition, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var defs []definition
	for rows.Next() {
		var d definition
		if err := rows.Scan(&d.table, &d.name, &d.sql); err != nil {
			return nil, err
		}
		defs = append(defs, d)
	}
	return defs, rows.Err()
}

func save(ctx context.Context, tx *sql.Tx, restoreTable string, d definition) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO `+restoreTable+` (table_name, name, definition) VALUES ($1, $2, $3)`, d.table, d.name, d.sql)
	if err != nil {
		return fmt.Errorf("save the definition of %s in %s: %w", d.name, restoreTable, err)
	}
	return nil
}

// restoreMode says what restoreTarget keeps of the loaded rows.
type restoreMode int

const (
	// keepRows restores the schema over the loaded rows: the migration's
	// result.
	keepRows restoreMode = iota
	// checkThenEmpty restores the schema over the loaded rows (so that a
	// row the constraints reject fails as it would for real), then rolls
	// that back and restores it over empty tables: a dry run.
	checkThenEmpty
	// emptyRows empties the tables and restores the schema over nothing:
	// the reset after a failed or killed run.
	emptyRows
)

// restoreTarget moves the MAS database from the loading state back to the
// MAS schema in one transaction: indexes then constraints are recreated in
// the reverse of the order they were dropped, the restore tables dropped and
// the tables renamed back. progress, when not nil, is told each definition
// before it is rebuilt.
func restoreTarget(ctx context.Context, conn *sql.Conn, mode restoreMode, progress func(name string)) error {
	return inTx(ctx, conn, func(tx *sql.Tx) error {
		indexes, err := describe(ctx, tx, `SELECT table_name, name, definition FROM `+restoreIndexesTable+` ORDER BY order_key DESC`)
		if err != nil {
			return fmt.Errorf("read the saved index definitions: %w", err)
		}
		constraints, err := describe(ctx, tx, `SELECT table_name, name, definition FROM `+restoreConstraintsTable+` ORDER BY order_key DESC`)
		if err != nil {
			return fmt.Errorf("read the saved constraint definitions: %w", err)
		}
		rebuild := func() error {
			for _, d := range indexes {
				if progress != nil {
					progress(d.name)
				}
				if _, err := tx.ExecContext(ctx, d.sql); err != nil {
					return fmt.Errorf("rebuild index %s on %s: %w", d.name, strings.TrimPrefix(d.table, loadingPrefix), err)
				}
			}
			for _, d := range constraints {
				if progress != nil {
					progress(d.name)
				}
				if _, err := tx.ExecContext(ctx, `ALTER TABLE `+d.table+` ADD CONSTRAINT `+pq.QuoteIdentifier(d.name)+` `+d.sql); err != nil {
					return fmt.Errorf("rebuild constraint %s on %s: %w", d.name, strings.TrimPrefix(d.table, loadingPrefix), err)
				}
			}
			return nil
		}
		truncate := func() error {
			names := make([]string, len(targetTables))
			for i, table := range targetTables {
				names[i] = pq.QuoteIdentifier(loadingPrefix + table)
			}
			if _, err := tx.ExecContext(ctx, `TRUNCATE `+strings.Join(names, ", ")); err != nil {
				return fmt.Errorf("empty the loaded tables: %w", err)
			}
			return nil
		}
		switch mode {
		case keepRows:
			err = rebuild()
		case emptyRows:
			if err = truncate(); err == nil {
				err = rebuild()
			}
		case checkThenEmpty:
			if _, err = tx.ExecContext(ctx, `SAVEPOINT syn2mas_dry_run`); err != nil {
				return err
			}
			if err = rebuild(); err != nil {
				return err
			}
			if _, err = tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT syn2mas_dry_run`); err != nil {
				return err
			}
			if err = truncate(); err == nil {
				err = rebuild()
			}
		}
		if err != nil {
			return err
		}
		for _, t := range []string{restoreConstraintsTable, restoreIndexesTable} {
			if _, err := tx.ExecContext(ctx, `DROP TABLE `+t); err != nil {
				return fmt.Errorf("drop %s: %w", t, err)
			}
		}
		for _, table := range targetTables {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE `+pq.QuoteIdentifier(loadingPrefix+table)+` RENAME TO `+pq.QuoteIdentifier(table)); err != nil {
				return fmt.Errorf("rename %s back: %w", table, err)
			}
		}
		return nil
	})
}

// inTx runs fn in a transaction on conn, committing when it returns nil.
func inTx(ctx context.Context, conn *sql.Conn, fn func(*sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
