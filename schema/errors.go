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
