package schema

import (
	"context"
	"database/sql"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/lib/pq"
)

//go:embed catalog/*.tsv
var catalogFiles embed.FS

// Finding is one way in which a database differs from the schema the
// library needs. Verify returns them; an empty list means the database is
// safe for every cleanup job.
type Finding struct {
	// Kind is what kind of object differs: "table", "column", "constraint",
	// "index", "trigger" or "type".
	Kind string
	// Table is the table the object belongs to (empty for a type).
	Table string
	// Name names the object: column, constraint, index, trigger or type name.
	Name string
	// Want is the expected definition; Got is what the database has, empty
	// when the object is missing.
	Want, Got string
}

// Missing reports whether the object is absent (rather than different).
func (f Finding) Missing() bool { return f.Got == "" }

// String describes the finding for an operator.
func (f Finding) String() string {
	where := f.Name
	if f.Table != "" && f.Kind != "table" {
		where = fmt.Sprintf("%s on %s", f.Name, f.Table)
	}
	if f.Missing() {
		return fmt.Sprintf("%s %s is missing (want %s)", f.Kind, where, f.Want)
	}
	return fmt.Sprintf("%s %s differs: want %s, got %s", f.Kind, where, f.Want, f.Got)
}

// Catalog is a schema described as definitions keyed by table and name.
type Catalog struct {
	// Columns maps "table.column" to "type NOT NULL DEFAULT x".
	Columns map[string]string
	// Constraints maps "table.name" to pg_get_constraintdef's text.
	Constraints map[string]string
	// Indexes maps "table.name" to the index definition, schema-unqualified.
	Indexes map[string]string
	// Triggers maps "table.name" to the trigger definition (pg_get_triggerdef), schema-unqualified.
	Triggers map[string]string
	// Enums maps a type name to its labels, comma-separated, in order.
	Enums map[string]string
}

// Expected returns MAS's schema, all 33 tables: what a database migrated
// by MAS itself has, and what every cleanup job relies on. Migrate produces it
// plus Additions.
func Expected() Catalog {
	c := Catalog{
		Columns:     map[string]string{},
		Constraints: map[string]string{},
		Indexes:     map[string]string{},
		Triggers: map[string]string{
			"queue_jobs.queue_job_notify_trigger":                                               "CREATE TRIGGER queue_job_notify_trigger AFTER INSERT OR UPDATE OF status ON queue_jobs FOR EACH ROW EXECUTE FUNCTION queue_job_notify()",
			"user_session_authentications.upstream_oauth_authorization_sessions_insert_trigger": "CREATE TRIGGER upstream_oauth_authorization_sessions_insert_trigger AFTER INSERT ON user_session_authentications FOR EACH ROW EXECUTE FUNCTION upstream_oauth_authorization_sessions_insert_trigger()",
		},
		Enums: map[string]string{"queue_job_status": "available,running,completed,lost,failed,scheduled"},
	}
	for _, r := range readTSV("catalog/columns.tsv") {
		c.Columns[r[0]+"."+r[1]] = columnDef(r[2], r[3], r[4])
	}
	for _, r := range readTSV("catalog/constraints.tsv") {
		c.Constraints[r[0]+"."+r[1]] = r[2]
	}
	for _, r := range readTSV("catalog/indexes.tsv") {
		c.Indexes[r[0]+"."+r[1]] = unqualify(r[2])
	}
	return c
}

// Additions returns what Migrate creates beyond MAS's schema: indexes that
// only make cleanup jobs cheaper (catalog/additions.tsv). Verify does not ask
// for them: a database MAS migrated lacks them and is still safe, its
// cleanups just read more (create them with the statements of the
// migrations that add them, see README.md).
func Additions() Catalog {
	c := Catalog{Indexes: map[string]string{}}
	for _, r := range readTSV("catalog/additions.tsv") {
		c.Indexes[r[0]+"."+r[1]] = unqualify(r[2])
	}
	return c
}

// Tables returns the tables of the catalog, sorted.
func (c Catalog) Tables() []string {
	seen := map[string]bool{}
	for key := range c.Columns {
		seen[tableOf(key)] = true
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func readTSV(name string) [][]string {
	f, err := catalogFiles.Open(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	var rows [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			panic(fmt.Sprintf("%s: %v", name, err))
		}
		for len(rec) < 5 {
			rec = append(rec, "")
		}
		rows = append(rows, rec)
	}
}

func columnDef(typ, nullable, def string) string {
	s := typ
	if nullable == "NO" {
		s += " NOT NULL"
	}
	if def != "" {
		s += " DEFAULT " + def
	}
	return s
}

func unqualify(def string) string { return strings.ReplaceAll(def, " ON public.", " ON ") }

func tableOf(key string) string { return key[:strings.IndexByte(key, '.')] }

// Inspect reads the catalog of db's current schema for the given tables.
func Inspect(ctx context.Context, db *sql.DB, tables []string) (Catalog, error) {
	c := Catalog{Columns: map[string]string{}, Constraints: map[string]string{}, Indexes: map[string]string{}, Triggers: map[string]string{}, Enums: map[string]string{}}
	queries := []struct {
		what string
		sql  string
		into map[string]string
	}{
		{"columns", `
			SELECT table_name, column_name,
			       CASE WHEN data_type IN ('USER-DEFINED', 'ARRAY') THEN udt_name ELSE data_type END
			       || CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END
			       || COALESCE(' DEFAULT ' || column_default, '')
			FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ANY($1)`, c.Columns},
		{"constraints", `
			SELECT t.relname, con.conname, pg_get_constraintdef(con.oid)
			FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
			WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY($1)`, c.Constraints},
		{"indexes", `
			SELECT tablename, indexname, indexdef FROM pg_indexes
			WHERE schemaname = current_schema() AND tablename = ANY($1)`, c.Indexes},
		{"triggers", `
			SELECT t.relname, tg.tgname, pg_get_triggerdef(tg.oid)
			FROM pg_trigger tg JOIN pg_class t ON t.oid = tg.tgrelid
			WHERE NOT tg.tgisinternal AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY($1)`, c.Triggers},
	}
	for _, q := range queries {
		rows, err := db.QueryContext(ctx, q.sql, pq.Array(tables))
		if err != nil {
			return c, fmt.Errorf("inspect %s: %w", q.what, err)
		}
		for rows.Next() {
			var table, name, def string
			if err := rows.Scan(&table, &name, &def); err != nil {
				rows.Close()
				return c, fmt.Errorf("inspect %s: %w", q.what, err)
			}
			q.into[table+"."+name] = unqualify(def)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return c, fmt.Errorf("inspect %s: %w", q.what, err)
		}
	}
	rows, err := db.QueryContext(ctx, `
		SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
		FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
		WHERE t.typnamespace = current_schema()::regnamespace
		GROUP BY t.typname`)
	if err != nil {
		return c, fmt.Errorf("inspect enums: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, labels string
		if err := rows.Scan(&name, &labels); err != nil {
			return c, fmt.Errorf("inspect enums: %w", err)
		}
		c.Enums[name] = labels
	}
	return c, rows.Err()
}

// Verify compares db with the schema the library needs and returns every
// table, column, constraint (with its ON DELETE action and validation),
// index (with its predicate), trigger and enum that is missing or different.
// Objects the catalog does not name (a migration table, a host's own
// tables and indexes) are not findings. It works on a database
// migrated by this library or by MAS itself.
func Verify(ctx context.Context, db *sql.DB) ([]Finding, error) {
	want := Expected()
	got, err := Inspect(ctx, db, want.Tables())
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return Diff(want, got), nil
}

// Diff returns what want has that got lacks or defines differently, sorted by
// table, kind and name.
func Diff(want, got Catalog) []Finding {
	var out []Finding
	haveTable := map[string]bool{}
	for key := range got.Columns {
		haveTable[tableOf(key)] = true
	}
	for _, t := range want.Tables() {
		if !haveTable[t] {
			out = append(out, Finding{Kind: "table", Table: t, Name: t, Want: "table " + t})
		}
	}
	compare := func(kind string, w, g map[string]string) {
		for key, def := range w {
			table := tableOf(key)
			if !haveTable[table] {
				continue // reported once, as a missing table
			}
			if have, ok := g[key]; !ok || have != def {
				out = append(out, Finding{Kind: kind, Table: table, Name: key[len(table)+1:], Want: def, Got: have})
			}
		}
	}
	compare("column", want.Columns, got.Columns)
	compare("constraint", want.Constraints, got.Constraints)
	compare("index", want.Indexes, got.Indexes)
	compare("trigger", want.Triggers, got.Triggers)
	for name, labels := range want.Enums {
		if have := got.Enums[name]; have != labels {
			out = append(out, Finding{Kind: "type", Name: name, Want: "enum (" + labels + ")", Got: enumOrEmpty(have)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	return out
}

func enumOrEmpty(labels string) string {
	if labels == "" {
		return ""
	}
	return "enum (" + labels + ")"
}
