package schema

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/lib/pq"
)

// DefaultTable is the table in which the migrator records what it applied.
// It is the library's own; MAS's _sqlx_migrations is never touched.
const DefaultTable = "masstore_schema_migrations"

// lockKey is the PostgreSQL advisory lock that serialises migrators:
// the first 8 bytes of sha256("masstore schema migrations").
const lockKey int64 = 0x6d61737374726d31

// Migrator applies migrations to one database.
type Migrator struct {
	db          *sql.DB
	migrations  []Migration
	table       string
	poll        time.Duration
	lockTimeout time.Duration
	attempts    int
}

// DefaultLockTimeout bounds how long a migration waits for a table lock
// before it gives up, rolls back and tries again: the application's queries
// queue behind a waiting ALTER TABLE, so the wait is their stall.
const DefaultLockTimeout = 500 * time.Millisecond

// WithLockTimeout sets how long a transactional migration waits for a lock
// before it rolls back and tries again (0: wait forever, never retry), and
// how many times it tries in all.
func WithLockTimeout(timeout time.Duration, attempts int) Option {
	return func(m *Migrator) error {
		if timeout < 0 || attempts < 1 {
			return fmt.Errorf("lock timeout %s and attempts %d: want a timeout >= 0 and at least one attempt", timeout, attempts)
		}
		m.lockTimeout, m.attempts = timeout, attempts
		return nil
	}
}

// Option configures a Migrator.
type Option func(*Migrator) error

// WithMigrations replaces the embedded migrations by the NNNN_name.sql files
// in fsys's root (tests use an fstest.MapFS).
func WithMigrations(fsys fs.FS) Option {
	return func(m *Migrator) error {
		ms, err := loadMigrations(fsys, ".")
		if err != nil {
			return err
		}
		m.migrations = ms
		return nil
	}
}

// WithTable records applied migrations in the named table instead of DefaultTable.
func WithTable(name string) Option {
	return func(m *Migrator) error {
		if name == "" {
			return errors.New("migration table name is empty")
		}
		m.table = name
		return nil
	}
}

// NewMigrator returns a migrator for db with the embedded migrations.
func NewMigrator(db *sql.DB, opts ...Option) (*Migrator, error) {
	if db == nil {
		return nil, errors.New("new migrator: db is nil")
	}
	m := &Migrator{db: db, migrations: Migrations(), table: DefaultTable, poll: 100 * time.Millisecond,
		lockTimeout: DefaultLockTimeout, attempts: 60}
	for _, opt := range opts {
		if err := opt(m); err != nil {
			return nil, fmt.Errorf("new migrator: %w", err)
		}
	}
	return m, nil
}

// Migrate applies every pending embedded migration to db, in order.
func Migrate(ctx context.Context, db *sql.DB) error {
	m, err := NewMigrator(db)
	if err != nil {
		return err
	}
	return m.Migrate(ctx)
}

// Migrate applies every pending migration in order. Each runs in its own
// transaction unless marked no-transaction. Concurrent migrators, in this or
// other processes, take turns: the second waits for the first, then finds
// nothing left to do.
func (m *Migrator) Migrate(ctx context.Context) error {
	return m.MigrateTo(ctx, m.migrations[len(m.migrations)-1].Version)
}

// MigrateTo applies the pending migrations up to and including version.
// Upgrade tests use it to build the baseline (version 1).
func (m *Migrator) MigrateTo(ctx context.Context, version int) error {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if err := m.lock(ctx, conn); err != nil {
		return err
	}
	// Unlock on a fresh context: the caller's may be cancelled by now. If
	// unlocking fails, closing the connection ends the session and its lock.
	defer func() {
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(unlockCtx, `SELECT pg_advisory_unlock($1)`, lockKey); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		checksum   text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`, pq.QuoteIdentifier(m.table))); err != nil {
		return fmt.Errorf("migrate: create %s: %w", m.table, err)
	}
	applied, err := m.applied(ctx, conn)
	if err != nil {
		return err
	}
	if err := m.check(applied); err != nil {
		return err
	}
	var pending []Migration
	for _, mig := range m.migrations {
		if _, done := applied[mig.Version]; !done && mig.Version <= version {
			pending = append(pending, mig)
		}
	}
	if err := checkExtensions(ctx, conn, pending); err != nil {
		return err
	}
	for _, mig := range pending {
		if err := m.apply(ctx, conn, mig); err != nil {
			return &MigrationError{Migration: mig.String(), Err: extensionError(ctx, conn, mig, err)}
		}
	}
	return nil
}

// checkExtensions makes sure, before anything is applied, that the
// extensions the pending migrations create can be created: each one the
// database lacks is created in a transaction that is then rolled back. One
// that cannot be is an *ExtensionError, and nothing is applied.
func checkExtensions(ctx context.Context, conn *sql.Conn, pending []Migration) error {
	for _, mig := range pending {
		for _, name := range mig.extensions() {
			var exists bool
			if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = $1)`, name).Scan(&exists); err != nil {
				return fmt.Errorf("migrate: inspect extension %s: %w", name, err)
			}
			if exists {
				continue
			}
			tx, err := conn.BeginTx(ctx, nil)
			if err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			_, err = tx.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS `+pq.QuoteIdentifier(name))
			_ = tx.Rollback()
			if err != nil {
				return &MigrationError{Migration: mig.String(), Err: extensionError(ctx, conn, mig, err)}
			}
		}
	}
	return nil
}

// extensionError turns the failure of a migration that creates an extension
// into an *ExtensionError when the role may not create it (42501) or the
// server lacks it (58P01, undefined_file); any other error is returned as is.
func extensionError(ctx context.Context, conn *sql.Conn, mig Migration, err error) error {
	names := mig.extensions()
	var pqErr *pq.Error
	if len(names) == 0 || !errors.As(err, &pqErr) || (pqErr.Code != "42501" && pqErr.Code != "58P01") {
		return err
	}
	e := &ExtensionError{Extension: names[0], NotInstalled: pqErr.Code == "58P01", Err: err}
	for _, n := range names {
		if strings.Contains(pqErr.Message, n) {
			e.Extension = n
		}
	}
	if qerr := conn.QueryRowContext(ctx, `SELECT current_database(), current_user`).Scan(&e.Database, &e.Role); qerr != nil {
		e.Database, e.Role = "?", "?"
	}
	return e
}

// lock takes the advisory lock, polling with pg_try_advisory_lock: a session
// blocked in pg_advisory_lock would hold a snapshot, and CREATE INDEX
// CONCURRENTLY in the migrator that has the lock would wait for it forever.
func (m *Migrator) lock(ctx context.Context, conn *sql.Conn) error {
	for {
		var ok bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey).Scan(&ok); err != nil {
			return fmt.Errorf("migrate: take advisory lock: %w", err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("migrate: wait for another migrator: %w", ctx.Err())
		case <-time.After(m.poll):
		}
	}
}

type appliedMigration struct {
	name     string
	checksum string
	at       time.Time
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// applied reads the migration table; a missing table means nothing applied.
func (m *Migrator) applied(ctx context.Context, q querier) (map[int]appliedMigration, error) {
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT version, name, checksum, applied_at FROM %s`, pq.QuoteIdentifier(m.table)))
	if err != nil {
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "42P01" { // undefined_table
			return map[int]appliedMigration{}, nil
		}
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	defer rows.Close()
	out := map[int]appliedMigration{}
	for rows.Next() {
		var v int
		var a appliedMigration
		if err := rows.Scan(&v, &a.name, &a.checksum, &a.at); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		out[v] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	return out, nil
}

// check refuses applied migrations that were changed or that the library lacks.
func (m *Migrator) check(applied map[int]appliedMigration) error {
	known := map[int]bool{}
	for _, mig := range m.migrations {
		known[mig.Version] = true
		if a, ok := applied[mig.Version]; ok && a.checksum != mig.Checksum {
			return &MigrationError{Migration: mig.String(), Err: fmt.Errorf("%w: recorded %s, library has %s", ErrChecksumMismatch, short(a.checksum), short(mig.Checksum))}
		}
	}
	for v, a := range applied {
		if !known[v] {
			return &MigrationError{Migration: fmt.Sprintf("%04d_%s", v, a.name), Err: ErrUnknownMigration}
		}
	}
	return nil
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

func (m *Migrator) record(ctx context.Context, exec func(context.Context, string, ...any) (sql.Result, error), mig Migration) error {
	_, err := exec(ctx, fmt.Sprintf(`INSERT INTO %s (version, name, checksum) VALUES ($1, $2, $3)`, pq.QuoteIdentifier(m.table)),
		mig.Version, mig.Name, mig.Checksum)
	if err != nil {
		return fmt.Errorf("record migration: %w", err)
	}
	return nil
}

func (m *Migrator) apply(ctx context.Context, conn *sql.Conn, mig Migration) error {
	if mig.NoTransaction {
		return m.applyOutsideTransaction(ctx, conn, mig)
	}
	// A migration that must wait for a lock gives up after lockTimeout and
	// tries again later, rather than stalling every query queued behind it
	// or deadlocking with an application transaction that locks the same
	// tables in the other order.
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := m.applyInTransaction(ctx, conn, mig)
		if err == nil || !lockContention(err) || attempt >= m.attempts || m.lockTimeout == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after %d attempts, last: %w)", ctx.Err(), attempt, err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (m *Migrator) applyInTransaction(ctx context.Context, conn *sql.Conn, mig Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if m.lockTimeout > 0 {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", max(1, m.lockTimeout.Milliseconds()))); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, mig.SQL); err != nil {
		return err
	}
	if err := m.record(ctx, tx.ExecContext, mig); err != nil {
		return err
	}
	return tx.Commit()
}

// lockContention reports a lock wait that timed out (55P03) or a deadlock
// (40P01): the migration rolled back and may simply be tried again.
func lockContention(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && (pqErr.Code == "55P03" || pqErr.Code == "40P01")
}

// applyOutsideTransaction runs the statements one by one. A concurrent index
// build that failed earlier left an invalid index, which IF NOT EXISTS would
// take for done: drop such leftovers first, so that a rerun builds them anew.
func (m *Migrator) applyOutsideTransaction(ctx context.Context, conn *sql.Conn, mig Migration) error {
	for _, name := range mig.concurrentIndexes() {
		var invalid bool
		err := conn.QueryRowContext(ctx, `
			SELECT NOT i.indisvalid FROM pg_index i
			JOIN pg_class c ON c.oid = i.indexrelid
			WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace`, name).Scan(&invalid)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("inspect index %s: %w", name, err)
		}
		if invalid {
			if _, err := conn.ExecContext(ctx, `DROP INDEX CONCURRENTLY IF EXISTS `+pq.QuoteIdentifier(name)); err != nil {
				return fmt.Errorf("drop invalid index %s: %w", name, err)
			}
		}
	}
	for _, stmt := range mig.Statements() {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return m.record(ctx, conn.ExecContext, mig)
}
