package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// cleanupResult ends every cleanup statement. The statement's CTEs are
// `candidates` (columns id and t, t NULL for ULID-age cleanups; the rows the
// batch examined, in order, locked FOR UPDATE SKIP LOCKED) and `deleted`
// (one row per row deleted or IP cleared). It yields exactly one row, also
// when there is no candidate: scanned, affected, and the last candidate.
const cleanupResult = `
SELECT (SELECT count(*) FROM candidates), (SELECT count(*) FROM deleted), last.t, last.id
FROM (SELECT 1) AS one
LEFT JOIN (SELECT t, id FROM candidates ORDER BY t DESC, id DESC LIMIT 1) AS last ON true`

// timeCleanup runs a cleanup ordered by (time, id). Its query takes $1 the
// horizon (rows qualify when their time is < $1), $2 and $3 the cursor's
// time and ID (rows come strictly after), $4 the limit.
func timeCleanup(ctx context.Context, ext sqlx.ExtContext, name, query string, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return runCleanup(ctx, ext, name, query, after, limit,
		storage.Horizon(before), storage.Timestamp(after.Time), key(after.ID))
}

// ulidCleanup runs a cleanup by ULID age, ordered by ID. Its query takes $1
// the horizon ID (rows qualify when their ID is < $1), $2 the cursor's ID
// (rows come strictly after), $3 the limit.
func ulidCleanup(ctx context.Context, ext sqlx.ExtContext, name, query string, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return runCleanup(ctx, ext, name, query, after, limit,
		key(ulidx.Horizon(before)), key(after.ID))
}

// idCleanup runs a cleanup ordered by ID whose rows qualify by a time. Its
// query takes $1 the horizon (rows qualify when their time is < $1), $2 the
// cursor's ID (rows come strictly after), $3 the limit.
func idCleanup(ctx context.Context, ext sqlx.ExtContext, name, query string, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return runCleanup(ctx, ext, name, query, after, limit,
		storage.Horizon(before), key(after.ID))
}

// checkLimit refuses a batch or window limit under 1.
func checkLimit(name string, limit int) error {
	if limit < 1 {
		return fmt.Errorf("%s: limit %d: %w", name, limit, storage.ErrInvalidArgument)
	}
	return nil
}

// runCleanup runs one batch of a cleanup: query takes args, then the limit
// (at least 1) as its last parameter, and returns scanned, affected and the
// last candidate's time (NULL when ordered by ID) and ID.
func runCleanup(ctx context.Context, ext sqlx.ExtContext, name, query string, after storage.Cursor, limit int, args ...any) (storage.Batch, error) {
	if err := checkLimit(name, limit); err != nil {
		return storage.Batch{}, err
	}
	args = append(args, limit)
	var (
		b        storage.Batch
		lastTime *time.Time
		lastID   ulid.ULID
	)
	err := ext.QueryRowxContext(ctx, query, args...).
		Scan(&b.Scanned, &b.Affected, nullTimeCol{&lastTime}, idCol{&lastID})
	if err != nil {
		return storage.Batch{}, fmt.Errorf("%s: %w", name, translateDelete(err))
	}
	b.Cursor = after
	if b.Scanned > 0 {
		b.Cursor = storage.Cursor{ID: lastID}
		if lastTime != nil {
			b.Cursor.Time = *lastTime
		}
	}
	return b, nil
}

// timeWindow reads a window of a cleanup ordered by (time, id). Its query
// takes the arguments of timeCleanup's and returns the candidates' id and
// time, in order.
func timeWindow(ctx context.Context, ext sqlx.ExtContext, name, query string, after storage.Cursor, before time.Time, limit int) (storage.Window, error) {
	if err := checkLimit(name, limit); err != nil {
		return storage.Window{}, err
	}
	rows, err := ext.QueryxContext(ctx, query, storage.Horizon(before), storage.Timestamp(after.Time), key(after.ID), limit)
	if err != nil {
		return storage.Window{}, fmt.Errorf("%s: %w", name, translate(err))
	}
	defer rows.Close()
	w := storage.Window{IDs: make([]ulid.ULID, 0, min(limit, 1<<16)), Cursor: after}
	for rows.Next() {
		var (
			id ulid.ULID
			t  *time.Time
		)
		if err := rows.Scan(idCol{&id}, nullTimeCol{&t}); err != nil {
			return storage.Window{}, fmt.Errorf("%s: %w", name, err)
		}
		w.IDs = append(w.IDs, id)
		w.Cursor = storage.Cursor{Time: *t, ID: id}
	}
	if err := rows.Err(); err != nil {
		return storage.Window{}, fmt.Errorf("%s: %w", name, translate(err))
	}
	return w, nil
}

// deleteByID runs a DeleteFunc's statement: $1 the horizon, $2 the IDs; it
// returns the number of rows deleted.
func deleteByID(ctx context.Context, ext sqlx.ExtContext, name, query string, ids []ulid.ULID, before time.Time) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = key(id)
	}
	var n int
	if err := ext.QueryRowxContext(ctx, query, storage.Horizon(before), pq.Array(keys)).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %w", name, translateDelete(err))
	}
	return n, nil
}

// finishedQueries are the statements of a finished-session cleanup.
type finishedQueries struct {
	batch  string // the CleanupFunc's (see timeCleanup)
	window string // the WindowFunc's (see timeWindow)
	byID   string // the DeleteFunc's (see deleteByID)
}

// finishedSessionQueries returns the statements deleting table's sessions
// finished before the horizon, each with its rows in children (tables whose
// idColumn references the session). The batch and the window read the
// candidates from the (finished_at) index in (finished_at, id) order; the
// delete by ID finds them by primary key, in ID order.
func finishedSessionQueries(table, idColumn string, children ...string) finishedQueries {
	deletes := ""
	for _, c := range children {
		deletes += fmt.Sprintf(`, deleted_%[1]s AS (
	DELETE FROM %[1]s WHERE %[2]s = ANY (ARRAY(SELECT id FROM candidates))
)`, c, idColumn)
	}
	deletes += fmt.Sprintf(`, deleted AS (
	DELETE FROM %[1]s WHERE %[2]s = ANY (ARRAY(SELECT id FROM candidates))
	RETURNING 1
)`, table, idColumn)
	inOrder := fmt.Sprintf(`
	SELECT %[2]s AS id, finished_at AS t FROM %[1]s
	WHERE finished_at IS NOT NULL AND finished_at < $1 AND (finished_at, %[2]s) > ($2, $3)
	ORDER BY finished_at, %[2]s
	LIMIT $4`, table, idColumn)
	return finishedQueries{
		batch: `
WITH candidates AS MATERIALIZED (` + inOrder + `
	FOR UPDATE SKIP LOCKED
)` + deletes + cleanupResult,
		window: inOrder,
		byID: fmt.Sprintf(`
WITH candidates AS MATERIALIZED (
	SELECT %[2]s AS id FROM %[1]s
	WHERE %[2]s = ANY ($2::uuid[]) AND finished_at < $1
	FOR UPDATE SKIP LOCKED
)`, table, idColumn) + deletes + `
SELECT count(*) FROM deleted`,
	}
}

// count runs a counting query whose $1 is the horizon.
func count(ctx context.Context, ext sqlx.ExtContext, name, query string, horizon any) (int, error) {
	var n int
	if err := ext.QueryRowxContext(ctx, query, horizon).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %w", name, translate(err))
	}
	return n, nil
}

// The cleanups that delete or change the very row versions their candidates
// locked (those below, and those of tokens, SSO logins, personal sessions and
// upstream OAuth links and logins) find them again by ctid (a TID scan)
// rather than through the primary key: an index descent less per row, about
// 8 % of a batch of queue jobs. A locked version cannot move before the
// commit. The one difference from a lookup by key: a candidate updated by
// another transaction between the statement's snapshot and the lock, and
// still qualifying, is locked in its new version, which the snapshot does not
// see; it is left for the next run (counted as scanned, not affected) instead
// of being changed in this one.

// clearIPsQuery returns the statement clearing the IPs of table's rows last
// active before the horizon, ordered by (last_active_at, id), through the
// table's partial index on last_active_at.
func clearIPsQuery(table, idColumn string) string {
	return `
WITH candidates AS MATERIALIZED (
	SELECT ctid AS tid, ` + idColumn + ` AS id, last_active_at AS t FROM ` + table + `
	WHERE last_active_ip IS NOT NULL AND last_active_at IS NOT NULL
	  AND last_active_at < $1 AND (last_active_at, ` + idColumn + `) > ($2, $3)
	ORDER BY last_active_at, ` + idColumn + `
	LIMIT $4
	FOR UPDATE SKIP LOCKED
), deleted AS (
	UPDATE ` + table + ` SET last_active_ip = NULL
	WHERE ctid = ANY (ARRAY(SELECT tid FROM candidates))
	RETURNING 1
)` + cleanupResult
}

// countStaleIPsQuery returns the count matching clearIPsQuery's candidates.
func countStaleIPsQuery(table string) string {
	return `SELECT count(*) FROM ` + table + `
	WHERE last_active_ip IS NOT NULL AND last_active_at IS NOT NULL AND last_active_at < $1`
}
