// Package pgtest gives tests a real PostgreSQL.
//
// If MASSTORE_TEST_DATABASE_URL is set, databases are created on that server
// (the role needs CREATEDB). Otherwise the first test that asks starts a
// throwaway cluster from the installed binaries (initdb, pg_ctl; as the
// postgres user when running as root) in a temporary directory, on a private
// port, once per test binary; [Main] stops and removes it when the tests end.
//
// Each test gets its own database, dropped when the test ends. Migrated
// databases are copies of a template migrated once per test binary, which
// takes a fraction of a second.
//
// When no PostgreSQL can be found, tests skip with a message saying how to get
// one, except when the CI environment variable is set: then they fail.
package pgtest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/masstore/masstore/schema"
)

// EnvURL names the environment variable that points the tests at an existing
// server instead of a throwaway cluster.
const EnvURL = "MASSTORE_TEST_DATABASE_URL"

// Database is one test's own database.
type Database struct {
	// Name is the database name.
	Name string
	// URL connects to it (a lib/pq connection URL).
	URL string
	// DB is an open pool on it, closed when the test ends.
	DB *sqlx.DB
}

var (
	startOnce sync.Once
	srv       *server
	startErr  error

	templateOnce sync.Once
	templateName string
	templateErr  error

	counter atomic.Int64

	// pool holds migrated databases that finished tests emptied and gave
	// back: reusing one costs a TRUNCATE instead of a CREATE DATABASE.
	poolMu sync.Mutex
	pool   []*Database
)

// Main runs the package's tests and then stops the throwaway cluster, if one
// was started. Call it from TestMain. Unless -parallel is given, it lets 8
// parallel tests run at once: they mostly wait on PostgreSQL.
func Main(m *testing.M) {
	flag.Parse()
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", "8")
	}
	code := m.Run()
	if srv != nil {
		srv.stop()
	}
	os.Exit(code)
}

// Empty returns a new database with no tables.
func Empty(t testing.TB) *Database {
	t.Helper()
	s := get(t)
	return s.create(t, "template0")
}

// Migrated returns a database of its own with every migration of package
// schema applied and no rows. When the test ends, the database is emptied and
// reused by a later test, unless the test changed its schema: then it is
// dropped.
func Migrated(t testing.TB) *Database {
	t.Helper()
	s := get(t)
	templateOnce.Do(func() { templateName, templateErr = s.migratedTemplate() })
	if templateErr != nil {
		t.Fatalf("pgtest: migrate template database: %v", templateErr)
	}
	poolMu.Lock()
	var db *Database
	if n := len(pool); n > 0 {
		db, pool = pool[n-1], pool[:n-1]
	}
	poolMu.Unlock()
	if db == nil {
		db = s.createDatabase(t, templateName)
	}
	t.Cleanup(func() { s.release(t, db) })
	return db
}

// release empties db and gives it back to the pool, or drops it when its
// schema is no longer the template's or it cannot be emptied.
func (s *server) release(t testing.TB, db *Database) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fp, err := fingerprint(ctx, db.DB)
	if err == nil && fp == s.templateFingerprint {
		_, err = db.DB.ExecContext(ctx, s.truncate)
		if err == nil {
			poolMu.Lock()
			pool = append(pool, db)
			poolMu.Unlock()
			return
		}
	}
	s.drop(t, db)
}

// AdminURL returns a URL of the server's maintenance database, for tests that
// create databases themselves.
func AdminURL(t testing.TB) string {
	t.Helper()
	return get(t).adminURL
}

func get(t testing.TB) *server {
	t.Helper()
	startOnce.Do(func() { srv, startErr = start() })
	if startErr != nil {
		msg := fmt.Sprintf("pgtest: no PostgreSQL for this test: %v\n"+
			"Install PostgreSQL (initdb and pg_ctl on PATH, e.g. apt-get install postgresql) "+
			"or set %s to a server URL whose role may CREATE DATABASE.", startErr, EnvURL)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return srv
}

// create returns a new database copied from template, dropped when the test ends.
func (s *server) create(t testing.TB, template string) *Database {
	t.Helper()
	db := s.createDatabase(t, template)
	t.Cleanup(func() { s.drop(t, db) })
	return db
}

func (s *server) createDatabase(t testing.TB, template string) *Database {
	t.Helper()
	name := fmt.Sprintf("masstore_test_%d_%d", os.Getpid(), counter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := s.admin.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", pq.QuoteIdentifier(name), pq.QuoteIdentifier(template)))
	if err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	url := s.urlFor(name)
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatalf("pgtest: open %s: %v", name, err)
	}
	return &Database{Name: name, URL: url, DB: db}
}

func (s *server) drop(t testing.TB, db *Database) {
	db.DB.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pq.QuoteIdentifier(db.Name))); err != nil {
		t.Errorf("pgtest: drop database %s: %v", db.Name, err)
	}
}

// fingerprint digests the schema of db's public schema: its tables, columns,
// constraints, indexes and triggers.
func fingerprint(ctx context.Context, db *sqlx.DB) (string, error) {
	var fp string
	err := db.GetContext(ctx, &fp, `
		SELECT md5(string_agg(d, ';' ORDER BY d)) FROM (
			SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS d
			FROM information_schema.columns WHERE table_schema = 'public'
			UNION ALL SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
			UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
			UNION ALL SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
		) defs`)
	return fp, err
}

func (s *server) migratedTemplate() (string, error) {
	name := fmt.Sprintf("masstore_template_%d", os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)+" TEMPLATE template0"); err != nil {
		return "", err
	}
	db, err := sqlx.Open("postgres", s.urlFor(name))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if err := schema.Migrate(ctx, db.DB); err != nil {
		return "", err
	}
	if s.templateFingerprint, err = fingerprint(ctx, db); err != nil {
		return "", err
	}
	var tables []string
	if err := db.SelectContext(ctx, &tables, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' AND tablename <> $1 ORDER BY 1`, schema.DefaultTable); err != nil {
		return "", err
	}
	s.truncate = "TRUNCATE " + strings.Join(tables, ", ")
	s.templates = append(s.templates, name)
	return name, nil
}
