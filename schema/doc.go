// Package schema holds the PostgreSQL schema of Matrix Authentication Service
// (MAS) main, all 33 of its tables, as embedded SQL migrations, and the
// migrator that applies them.
//
// The migrations start from a baseline (the schema of late 2025) and then add
// each later change of MAS as its own, ordered migration, so that a database at
// the baseline upgrades in place and under load: foreign-key changes come in
// two steps (NOT VALID, then VALIDATE CONSTRAINT) and indexes are built with
// CREATE INDEX CONCURRENTLY outside a transaction. MAS's trigram search
// indexes need the pg_trgm extension: a role that may not create it gets an
// [ExtensionError] naming the statement a superuser must run, before any
// migration is applied.
//
// Opening a store never migrates: hosts call [Migrate] themselves, or take the
// raw SQL from [Migrations] into goose or golang-migrate. [Verify] inspects any
// database, including one migrated by MAS itself, and reports what the cleanup
// jobs need that is missing or different.
package schema
