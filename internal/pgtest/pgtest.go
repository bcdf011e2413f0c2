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
	"fmt"
	"os"
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

	// createMu serialises CREATE DATABASE ... TEMPLATE, which fails when
	// another session is connected to the template.
	createMu sync.Mutex
	counter  atomic.Int64
)

// Main runs the package's tests and then stops the throwaway cluster, if one
// was started. Call it from TestMain.
func Main(m *testing.M) {
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

// Migrated returns a new database with every migration of package schema applied.
func Migrated(t testing.TB) *Database {
	t.Helper()
	s := get(t)
	templateOnce.Do(func() { templateName, templateErr = s.migratedTemplate() })
	if templateErr != nil {
		t.Fatalf("pgtest: migrate template database: %v", templateErr)
	}
	return s.create(t, templateName)
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

func (s *server) create(t testing.TB, template string) *Database {
	t.Helper()
	name := fmt.Sprintf("masstore_test_%d_%d", os.Getpid(), counter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	createMu.Lock()
	_, err := s.admin.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", pq.QuoteIdentifier(name), pq.QuoteIdentifier(template)))
	createMu.Unlock()
	if err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	url := s.urlFor(name)
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatalf("pgtest: open %s: %v", name, err)
	}
	t.Cleanup(func() {
		db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.admin.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pq.QuoteIdentifier(name))); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return &Database{Name: name, URL: url, DB: db}
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
	s.templates = append(s.templates, name)
	return name, nil
}
