package storage

import (
	"context"
	"time"

	"github.com/oklog/ulid/v2"
)

// Cursor is where a cleanup resumes: after the row at (Time, ID) in the
// cleanup's order. Cleanups ordered by a timestamp use both fields; cleanups
// ordered by ID (those by ULID age, finished browser sessions, queue
// workers) leave Time zero.
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
//     counted nor revisited by this run: that call deletes them. (A cleanup
//     by ULID age in PostgreSQL claims ranges, not rows: a range another
//     call holds is scanned, not affected, and passed; a row that some
//     other transaction holds in its own range is waited for.)
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
//     (for a cleanup by ULID age, ranges) another call holds are skipped.
//
// limit must be at least 1 (else ErrInvalidArgument).
type CleanupFunc func(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)

// Window is a run of cleanup candidates read ahead of deleting them (see
// WindowFunc).
type Window struct {
	// IDs are the candidates, in the cleanup's order.
	IDs []ulid.ULID
	// Cursor is the last candidate: pass it to the next call. It is the
	// cursor passed in when IDs is empty.
	Cursor Cursor
}

// WindowFunc reads, without locking or changing anything, up to limit
// candidates of a cleanup: the candidates the cleanup's CleanupFunc would
// examine from the same cursor with the same limit, in the same order. A
// window shorter than limit was the last. limit must be at least 1 (else
// ErrInvalidArgument).
//
// A window lets a caller delete many candidates in the order of their IDs
// (with DeleteFunc, in batches) rather than in the cleanup's order: the rows
// and index entries that go with neighbouring IDs are neighbours, so a large
// table's deletes touch fewer pages (BENCHMARKS.md, "windows").
type WindowFunc func(ctx context.Context, after Cursor, before time.Time, limit int) (Window, error)

// DeleteFunc deletes, atomically, those of ids that are still candidates at
// `before` (they may have changed since a WindowFunc read them), with what
// goes with them, and returns how many it deleted. Rows another call holds
// locked are skipped (that call deletes them), as are IDs of rows that are
// gone. It has the CleanupFunc's guarantees but for the cursor: it never
// fails because some row references a row it deletes, and concurrent calls
// never delete a row twice. No IDs deletes nothing.
type DeleteFunc func(ctx context.Context, ids []ulid.ULID, before time.Time) (int, error)

// CountFunc counts the rows a privacy audit looks for: rows still holding an
// IP address whose time is strictly before `before`, compared exactly as the
// cleanup that removes those IPs compares it (for rows cleaned by ULID age,
// the ID's millisecond), so that after that cleanup the count is zero.
type CountFunc func(ctx context.Context, before time.Time) (int, error)
