package schema

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var embedded embed.FS

// noTransactionMarker, on a line of its own in a migration, makes the migrator
// run that migration outside a transaction, one statement at a time. It is
// required by CREATE and DROP INDEX CONCURRENTLY.
const noTransactionMarker = "-- masstore:no-transaction"

// Migration is one step of the schema.
type Migration struct {
	// Version orders the migrations; it is the number the file name starts with.
	Version int
	// Name is the rest of the file name, without the extension.
	Name string
	// SQL is the raw SQL, for hosts that run migrations with their own tool.
	SQL string
	// Checksum is the hex SHA-256 of SQL; the migrator refuses to run when an
	// applied migration's recorded checksum differs from it.
	Checksum string
	// NoTransaction is true for migrations that must run outside a
	// transaction (CREATE or DROP INDEX CONCURRENTLY); such a migration is safe to
	// run again after it failed halfway.
	NoTransaction bool
}

// String returns the migration as "0004_registration_upstream_session_index".
func (m Migration) String() string { return fmt.Sprintf("%04d_%s", m.Version, m.Name) }

// Statements splits the SQL of a no-transaction migration into the statements
// the migrator runs one by one. Such migrations hold simple statements, each
// ending with a semicolon at the end of a line.
func (m Migration) Statements() []string {
	var stmts []string
	var cur strings.Builder
	for _, line := range strings.Split(m.SQL, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		stmts = append(stmts, rest)
	}
	return stmts
}

var concurrentIndexName = regexp.MustCompile(`(?i)CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+(\w+)`)

// concurrentIndexes returns the names of the indexes the migration builds
// concurrently: a failed concurrent build leaves an invalid index behind,
// which the migrator drops before trying again.
func (m Migration) concurrentIndexes() []string {
	var names []string
	for _, match := range concurrentIndexName.FindAllStringSubmatch(m.SQL, -1) {
		names = append(names, match[1])
	}
	return names
}

var createExtension = regexp.MustCompile(`(?i)CREATE\s+EXTENSION\s+IF\s+NOT\s+EXISTS\s+(\w+)`)

// extensions returns the extensions the migration creates.
func (m Migration) extensions() []string {
	var names []string
	for _, match := range createExtension.FindAllStringSubmatch(m.SQL, -1) {
		names = append(names, match[1])
	}
	return names
}

var migrationFile = regexp.MustCompile(`^(\d+)_([a-z0-9_]+)\.sql$`)

// Migrations returns the library's migrations in the order they apply.
func Migrations() []Migration {
	ms, err := loadMigrations(embedded, "migrations")
	if err != nil {
		// The embedded files are checked by the tests; a broken build is a bug.
		panic(err)
	}
	return ms
}

// loadMigrations reads NNNN_name.sql files from dir of fsys.
func loadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		match := migrationFile.FindStringSubmatch(e.Name())
		if match == nil {
			return nil, fmt.Errorf("migration file %q: name must be NNNN_name.sql", e.Name())
		}
		version, _ := strconv.Atoi(match[1])
		if version <= 0 {
			return nil, fmt.Errorf("migration file %q: version must be positive", e.Name())
		}
		if other, dup := seen[version]; dup {
			return nil, fmt.Errorf("migration files %q and %q have the same version", other, e.Name())
		}
		seen[version] = e.Name()
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		sum := sha256.Sum256(body)
		ms = append(ms, Migration{
			Version:       version,
			Name:          match[2],
			SQL:           string(body),
			Checksum:      hex.EncodeToString(sum[:]),
			NoTransaction: hasLine(string(body), noTransactionMarker),
		})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}
