package storage

import (
	"context"
	"time"

	"github.com/oklog/ulid/v2"
)

// Cursor is where a cleanup resumes: after the row at (Time, ID) in the
// cleanup's order. Cleanups ordered by a timestamp use both fields; cleanups
// ordered by ID (those by ULID age, and the queue workers') leave Time zero.
// The zero Cursor starts from the beginning.
type Cursor struct {
	Time time.Time
	ID   ulid.ULID
}

// IsZero reports whether c is the starting cursor.
func (c Cursor) IsZero() bool { return c.Time.IsZero() && c.ID == (ulid.ULID{}) }

// Batch is what one cleanup call did.
type Batch struct {
	// Affected counts the rows deleted (or whose IP was cleared). Rows deleted
	// with them (tokens of a session, codes of an authentication) are not
	// counted.
	Affected int
	// Scanned counts the candidates the batch examined: Affected plus those it
	// skipped (a user session that still has children, a refresh token whose
	// successor is live). A batch that scanned fewer than its limit was the
	// last one.
	Scanned int
	// Cursor is the last candidate examined: pass it to the next call. It is
	// the cursor passed in when Scanned is 0.
	Cursor Cursor
}

// CleanupFunc deletes (or, for IPs, nulls) in one batch the rows of one
// cleanup. Every cleanup method of every repository has this shape and this
// contract:
//
//   - Candidates are the rows that meet the cleanup's time condition and its
//     row conditions (a job's status, a link without a user, an upstream
//     login without a browser session, an IP that is set). Rows that fail a
//     row condition are not candidates: they are neither scanned nor passed
//     by the cursor. Only the rows a method's doc names as skipped (sessions
//     with children, tokens with a live successor, workers a job names) are
//     scanned but not affected. Rows another call holds locked are neither
//     counted nor revisited by this run: that call deletes them.
//   - It examines at most limit candidates, in the cleanup's order, strictly
//     after the cursor `after`, among rows that qualify strictly before
//     `before` (a timestamp, compared at microsecond precision; for a
//     ULID-age cleanup, the ID's millisecond time is compared with the
//     millisecond of `before`).
//   - It is atomic: the whole batch happens, or none of it.
//   - It never fails because some row references a row it deletes: what
//     references it is deleted with it or nulled, or the row is skipped and
//     the cursor moves past it, so a long run of skipped rows cannot make a
//     batch slow or wedge a job.
//   - Concurrent calls (several replicas) never delete a row twice: rows
//     another call holds are skipped.
//
// limit must be at least 1 (else ErrInvalidArgument).
type CleanupFunc func(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)

// CountFunc counts the rows a privacy audit looks for: rows still holding an
// IP address whose time is strictly before `before`, compared exactly as the
// cleanup that removes those IPs compares it (for rows cleaned by ULID age,
// the ID's millisecond), so that after that cleanup the count is zero.
type CountFunc func(ctx context.Context, before time.Time) (int, error)
