package schema

import (
	"errors"
	"fmt"
)

// ErrChecksumMismatch is returned (wrapped in a *MigrationError) by Migrate
// and Status when a migration recorded as applied no longer has the checksum
// of the library's copy: someone edited an applied migration, or the database
// was migrated by a different build.
var ErrChecksumMismatch = errors.New("applied migration's checksum does not match")

// ErrUnknownMigration is returned (wrapped in a *MigrationError) by Migrate
// when the database records a migration this library does not have: it was
// migrated by a newer version.
var ErrUnknownMigration = errors.New("database has a migration this library does not know")

// MigrationError names the migration that failed and why. Migrate returns it
// for a migration whose SQL failed (the database is then as it was before that
// migration; for a no-transaction migration, safe to migrate again) and for a
// checksum mismatch.
type MigrationError struct {
	// Migration is the failed migration, e.g. "0017_compat_session_user_session_no_action".
	Migration string
	// Err is the cause: the SQL error, ErrChecksumMismatch or ErrUnknownMigration.
	Err error
}

// Error names the migration and the cause.
func (e *MigrationError) Error() string {
	return fmt.Sprintf("migration %s: %v", e.Migration, e.Err)
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *MigrationError) Unwrap() error { return e.Err }

// ErrExtensionUnavailable is returned (as an *ExtensionError, wrapped in a
// *MigrationError) by Migrate when a pending migration needs a PostgreSQL
// extension that the database lacks and the connected role cannot create:
// it may not (creating even a trusted extension takes the CREATE privilege
// on the database), or the server does not have the extension installed.
// Migrate then applies nothing at all; once a superuser has created the
// extension, migrating again succeeds.
var ErrExtensionUnavailable = errors.New("extension unavailable")

// ExtensionError names the extension a migration needs and what to do about
// it.
type ExtensionError struct {
	// Extension is the extension's name, e.g. "pg_trgm".
	Extension string
	// Database and Role are where and as whom the migrator tried to create it.
	Database, Role string
	// NotInstalled is true when the server lacks the extension's files (it
	// is not a matter of privilege).
	NotInstalled bool
	// Err is the server's error.
	Err error
}

// Statement is what a superuser must run in the database.
func (e *ExtensionError) Statement() string {
	return "CREATE EXTENSION IF NOT EXISTS " + e.Extension + ";"
}

// Error says what is missing and what to run.
func (e *ExtensionError) Error() string {
	if e.NotInstalled {
		return fmt.Sprintf("%v: the server does not have extension %s installed: install it (Debian: the postgresql package's contrib modules), then a superuser runs in database %q: %s (%v)",
			ErrExtensionUnavailable, e.Extension, e.Database, e.Statement(), e.Err)
	}
	return fmt.Sprintf("%v: role %q may not create extension %s in database %q: a superuser must run there: %s then migrate again (%v)",
		ErrExtensionUnavailable, e.Role, e.Extension, e.Database, e.Statement(), e.Err)
}

// Unwrap returns ErrExtensionUnavailable and the server's error.
func (e *ExtensionError) Unwrap() []error { return []error{ErrExtensionUnavailable, e.Err} }
