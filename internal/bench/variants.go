package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/schema"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/postgres"
)

// variant is one way of doing a job's work on a fresh copy of a dataset.
type variant struct {
	name string
	// setup, when set, prepares the copy before the clock starts.
	setup func(ctx context.Context, db *sqlx.DB) error
	run   func(ctx context.Context, db *sqlx.DB, url string) (outcome, error)
}

// outcome is what a variant did.
type outcome struct {
	rows    int
	batches []time.Duration
	// maxScanned is the most candidates one batch examined.
	maxScanned int
	// maxLimit is the largest batch size a batch ran with.
	maxLimit int
	// batchCount is the number of batches when batches (their durations)
	// are unknown.
	batchCount int
	// rssKB is the peak resident set of a variant run as its own process.
	rssKB int64
	// live is what the workload saw, for a variant run beside it.
	live *liveOutcome
}

// singleStatement runs query (whose $1 is arg) once: the practical limit of
// what PostgreSQL can do, everything locked at once.
func singleStatement(query string, arg any) variant {
	return variant{name: "single-statement", run: func(ctx context.Context, db *sqlx.DB, _ string) (outcome, error) {
		start := time.Now()
		res, err := db.ExecContext(ctx, query, arg)
		if err != nil {
			return outcome{}, err
		}
		n, err := res.RowsAffected()
		took := time.Since(start)
		return outcome{rows: int(n), batches: []time.Duration{took}, maxScanned: int(n), maxLimit: int(n)}, err
	}}
}

// singleStatementTuned runs query in a transaction that first sets
// settings (SET LOCAL): the single statement with the plan a DBA would force
// for a one-off purge.
func singleStatementTuned(query string, arg any, settings ...string) variant {
	return variant{name: "single-statement-tuned", run: func(ctx context.Context, db *sqlx.DB, _ string) (outcome, error) {
		start := time.Now()
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			return outcome{}, err
		}
		defer tx.Rollback()
		for _, s := range settings {
			if _, err := tx.ExecContext(ctx, "SET LOCAL "+s); err != nil {
				return outcome{}, err
			}
		}
		res, err := tx.ExecContext(ctx, query, arg)
		if err != nil {
			return outcome{}, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return outcome{}, err
		}
		if err := tx.Commit(); err != nil {
			return outcome{}, err
		}
		took := time.Since(start)
		return outcome{rows: int(n), batches: []time.Duration{took}, maxScanned: int(n), maxLimit: int(n)}, nil
	}}
}

// tunedSingle are the settings of the tuned single statements: hash joins
// over sequential scans instead of one index probe per row in hash order,
// and the memory for them.
var tunedSingle = []string{"enable_nestloop = off", "work_mem = '512MB'"}

// The single statements, one per job benchmarked. $1 is the horizon.
const (
	singleCompat = `
WITH c AS MATERIALIZED (
	SELECT compat_session_id AS id FROM compat_sessions WHERE finished_at IS NOT NULL AND finished_at < $1
), rt AS (
	DELETE FROM compat_refresh_tokens WHERE compat_session_id IN (SELECT id FROM c)
), at AS (
	DELETE FROM compat_access_tokens WHERE compat_session_id IN (SELECT id FROM c)
), sso AS (
	DELETE FROM compat_sso_logins WHERE compat_session_id IN (SELECT id FROM c)
)
DELETE FROM compat_sessions WHERE compat_session_id IN (SELECT id FROM c)`

	singleOAuth2 = `
WITH c AS MATERIALIZED (
	SELECT oauth2_session_id AS id FROM oauth2_sessions WHERE finished_at IS NOT NULL AND finished_at < $1
), rt AS (
	DELETE FROM oauth2_refresh_tokens WHERE oauth2_session_id IN (SELECT id FROM c)
), at AS (
	DELETE FROM oauth2_access_tokens WHERE oauth2_session_id IN (SELECT id FROM c)
), g AS (
	DELETE FROM oauth2_authorization_grants WHERE oauth2_session_id IN (SELECT id FROM c)
)
DELETE FROM oauth2_sessions WHERE oauth2_session_id IN (SELECT id FROM c)`

	singleUserSessions = `
WITH d AS MATERIALIZED (
	SELECT us.user_session_id AS id FROM user_sessions us
	WHERE us.finished_at IS NOT NULL AND us.finished_at < $1
	  AND NOT EXISTS (SELECT 1 FROM compat_sessions cs WHERE cs.user_session_id = us.user_session_id)
	  AND NOT EXISTS (SELECT 1 FROM oauth2_sessions os WHERE os.user_session_id = us.user_session_id)
), a AS (
	DELETE FROM user_session_authentications WHERE user_session_id IN (SELECT id FROM d)
), g AS (
	UPDATE oauth2_device_code_grant SET user_session_id = NULL WHERE user_session_id IN (SELECT id FROM d)
)
DELETE FROM user_sessions WHERE user_session_id IN (SELECT id FROM d)`

	singleUserSessionIPs = `
UPDATE user_sessions SET last_active_ip = NULL
WHERE last_active_ip IS NOT NULL AND last_active_at IS NOT NULL AND last_active_at < $1`

	singleQueueJobs = `
DELETE FROM queue_jobs WHERE status IN ('completed', 'failed') AND queue_job_id < $1`
)

// The common batched form of the compat cleanup, as most hand-written
// retention jobs (and MAS) do it: one transaction per batch; pick the
// candidates ordered by finished_at, LIMIT, FOR UPDATE; the cursor is the
// last deleted timestamp (>=, since the deleted rows are gone); delete the
// tokens, then the sessions, one statement each, by the IDs picked.
const (
	commonPickFirst = `
SELECT compat_session_id, finished_at FROM compat_sessions
WHERE finished_at IS NOT NULL AND finished_at < $1
ORDER BY finished_at LIMIT $2 FOR UPDATE`
	commonPickNext = `
SELECT compat_session_id, finished_at FROM compat_sessions
WHERE finished_at IS NOT NULL AND finished_at < $1 AND finished_at >= $3
ORDER BY finished_at LIMIT $2 FOR UPDATE`
)

var commonDeletes = []string{
	`DELETE FROM compat_refresh_tokens WHERE compat_session_id = ANY ($1::uuid[])`,
	`DELETE FROM compat_access_tokens WHERE compat_session_id = ANY ($1::uuid[])`,
	`DELETE FROM compat_sso_logins WHERE compat_session_id = ANY ($1::uuid[])`,
	`DELETE FROM compat_sessions WHERE compat_session_id = ANY ($1::uuid[])`,
}

func commonCompat(size int) variant {
	return variant{name: fmt.Sprintf("common-%d", size), run: func(ctx context.Context, db *sqlx.DB, _ string) (outcome, error) {
		out := outcome{maxLimit: size}
		var cursor *time.Time
		for {
			start := time.Now()
			picked, last, err := commonBatch(ctx, db, size, cursor)
			if err != nil {
				return out, err
			}
			out.batches = append(out.batches, time.Since(start))
			out.rows += picked
			out.maxScanned = max(out.maxScanned, picked)
			if picked < size {
				return out, nil
			}
			cursor = &last
		}
	}}
}

// commonBatch runs one batch of the common form in its own transaction.
func commonBatch(ctx context.Context, db *sqlx.DB, size int, cursor *time.Time) (int, time.Time, error) {
	var last time.Time
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, last, err
	}
	defer tx.Rollback()
	var rows *sqlx.Rows
	if cursor == nil {
		rows, err = tx.QueryxContext(ctx, commonPickFirst, horizon, size)
	} else {
		rows, err = tx.QueryxContext(ctx, commonPickNext, horizon, size, *cursor)
	}
	if err != nil {
		return 0, last, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id, &last); err != nil {
			rows.Close()
			return 0, last, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return 0, last, err
	}
	if len(ids) == 0 {
		return 0, last, tx.Commit()
	}
	for _, q := range commonDeletes {
		if _, err := tx.ExecContext(ctx, q, pq.Array(ids)); err != nil {
			return 0, last, err
		}
	}
	return len(ids), last, tx.Commit()
}

// masstore runs the library's job with cleanup.Run on postgres.New, batch
// size `size`, adaptive when target is not zero.
func masstore(jobName string, size int, target time.Duration, window int) variant {
	return variant{name: engineVariantName("masstore", size, target, window), run: func(ctx context.Context, db *sqlx.DB, _ string) (outcome, error) {
		job, err := cleanup.Lookup(jobName)
		if err != nil {
			return outcome{}, err
		}
		return runEngine(ctx, job, db, cleanup.Options{BatchSize: size, TargetBatchDuration: target, WindowSize: window})
	}}
}

// engineVariantName names a variant run through the engine: prefix-size,
// or prefix-adaptive-target when the batch size adapts, then -window-N
// when it deletes out of windows.
func engineVariantName(prefix string, size int, target time.Duration, window int) string {
	name := fmt.Sprintf("%s-%d", prefix, size)
	if target > 0 {
		name = fmt.Sprintf("%s-adaptive-%s", prefix, target)
	}
	if window > 0 {
		name += fmt.Sprintf("-window-%d", window)
	}
	return name
}

// runEngine runs job with cleanup.Run on postgres.New(db) under opts (its
// OnBatch is the benchmark's) at benchNow, and collects its batches.
func runEngine(ctx context.Context, job cleanup.Job, db *sqlx.DB, opts cleanup.Options) (outcome, error) {
	var out outcome
	opts.OnBatch = func(b cleanup.BatchInfo) {
		out.batches = append(out.batches, b.Duration)
		out.maxScanned = max(out.maxScanned, b.Scanned)
		out.maxLimit = max(out.maxLimit, b.Limit)
	}
	r, err := cleanup.Run(ctx, job, postgres.New(db), storage.NewTestClock(benchNow), opts)
	out.rows = r.Affected
	return out, err
}

// Job names.
const (
	jobCompat       = "cleanup-finished-compat-sessions"
	jobOAuth2       = "cleanup-finished-oauth2-sessions"
	jobUserSessions = "cleanup-finished-user-sessions"
	jobUserIPs      = "cleanup-inactive-user-session-ips"
	jobQueue        = "cleanup-queue-jobs"
)

// queueHorizon is the single statement's $1 for the ULID-age queue job.
func queueHorizon() string { return ulidx.UUID(ulidx.Horizon(horizon)) }

// earlierUserSessions is the browser-session cleanup as storage/postgres had
// it before migration 0028: the candidates were found again through the
// primary key and checked for children there, so a blocked candidate cost
// a heap fetch more. Run on a copy without masstore's index (withoutAdditions),
// it is the library of that time (--proposals).
const earlierUserSessions = finishedAtCandidates + `
	SELECT us.user_session_id AS id FROM user_sessions us
	WHERE us.user_session_id = ANY (ARRAY(SELECT id FROM candidates))
	  AND NOT EXISTS (SELECT 1 FROM compat_sessions cs WHERE cs.user_session_id = us.user_session_id OFFSET 0)
	  AND NOT EXISTS (SELECT 1 FROM oauth2_sessions os WHERE os.user_session_id = us.user_session_id OFFSET 0)
	FOR UPDATE OF us SKIP LOCKED
` + deleteDeletableUserSessions

// probingUserSessions is the browser-session cleanup of migration 0028:
// candidates in (finished_at, id) order from 0028's index, each checked for
// children by an index probe of its own. Run on a copy with 0028's index in
// place of 0029's (with0028Index), it is the library before ID order, for
// what ID order bought (--proposals).
const probingUserSessions = finishedAtCandidates + `
	SELECT us.user_session_id AS id FROM user_sessions us
	WHERE us.user_session_id = ANY (ARRAY(
		SELECT c.id FROM candidates c
		WHERE NOT EXISTS (SELECT 1 FROM compat_sessions cs WHERE cs.user_session_id = c.id OFFSET 0)
		  AND NOT EXISTS (SELECT 1 FROM oauth2_sessions os WHERE os.user_session_id = c.id OFFSET 0)))
	FOR UPDATE OF us SKIP LOCKED
` + deleteDeletableUserSessions

// with0028Index runs v on a copy whose masstore index is migration 0028's
// (finished_at, user_session_id) instead of 0029's.
func with0028Index(v variant) variant {
	v.setup = func(ctx context.Context, db *sqlx.DB) error {
		_, err := db.ExecContext(ctx, `DROP INDEX masstore_user_sessions_finished_id_idx;
			CREATE INDEX masstore_user_sessions_finished_idx ON user_sessions (finished_at, user_session_id) WHERE finished_at IS NOT NULL`)
		return err
	}
	return v
}

// finishedAtCandidates begins the earlier browser-session statements: the
// batch's candidates in (finished_at, id) order, then the CTE deletable
// opens.
const finishedAtCandidates = `
WITH candidates AS MATERIALIZED (
	SELECT user_session_id AS id, finished_at AS t FROM user_sessions
	WHERE finished_at IS NOT NULL AND finished_at < $1 AND (finished_at, user_session_id) > ($2, $3)
	ORDER BY finished_at, user_session_id
	LIMIT $4
), deletable AS MATERIALIZED (`

// deleteDeletableUserSessions ends the earlier browser-session statements:
// it deletes the sessions of the CTE deletable and what goes with them, as
// the library does.
const deleteDeletableUserSessions = `
), deleted_authentications AS (
	DELETE FROM user_session_authentications WHERE user_session_id = ANY (ARRAY(SELECT id FROM deletable))
), unlinked_device_grants AS (
	UPDATE oauth2_device_code_grant SET user_session_id = NULL WHERE user_session_id = ANY (ARRAY(SELECT id FROM deletable))
), deleted AS (
	DELETE FROM user_sessions WHERE user_session_id = ANY (ARRAY(SELECT id FROM deletable))
	RETURNING 1
)` + earlierResult

// earlierUserSessionIPs and earlierQueueJobs are the IP and ULID-age
// cleanups as storage/postgres had them before they found their locked rows
// again by ctid: through the primary key.
const (
	earlierUserSessionIPs = `
WITH candidates AS MATERIALIZED (
	SELECT user_session_id AS id, last_active_at AS t FROM user_sessions
	WHERE last_active_ip IS NOT NULL AND last_active_at IS NOT NULL
	  AND last_active_at < $1 AND (last_active_at, user_session_id) > ($2, $3)
	ORDER BY last_active_at, user_session_id
	LIMIT $4
	FOR UPDATE SKIP LOCKED
), deleted AS (
	UPDATE user_sessions SET last_active_ip = NULL
	WHERE user_session_id = ANY (ARRAY(SELECT id FROM candidates))
	RETURNING 1
)` + earlierResult

	earlierQueueJobs = `
WITH candidates AS MATERIALIZED (
	SELECT queue_job_id AS id, NULL::timestamptz AS t FROM queue_jobs
	WHERE status IN ('completed', 'failed') AND queue_job_id < $1 AND queue_job_id > $2
	ORDER BY queue_job_id
	LIMIT $3
	FOR UPDATE SKIP LOCKED
), deleted AS (
	DELETE FROM queue_jobs WHERE queue_job_id = ANY (ARRAY(SELECT id FROM candidates))
	RETURNING 1
)` + earlierResult

	earlierResult = `
SELECT (SELECT count(*) FROM candidates), (SELECT count(*) FROM deleted), last.t, last.id
FROM (SELECT 1) AS one
LEFT JOIN (SELECT t, id FROM candidates ORDER BY t DESC, id DESC LIMIT 1) AS last ON true`
)

// withoutAdditions runs v on a copy without the indexes masstore adds to
// MAS's schema (schema.Additions): what a database MAS migrated has.
func withoutAdditions(v variant) variant {
	v.name += "-mas-indexes"
	v.setup = func(ctx context.Context, db *sqlx.DB) error {
		for key := range schema.Additions().Indexes {
			if _, err := db.ExecContext(ctx, "DROP INDEX "+quote(key[strings.Index(key, ".")+1:])); err != nil {
				return err
			}
		}
		return nil
	}
	return v
}

// proposed runs another statement through the library's engine
// (cleanup.Run, so the same batch loop and adaptive sizing) in place of the
// repository's. The statement has the shape of storage/postgres's
// time-ordered cleanups: $1 the horizon, $2 and $3 the cursor, $4 the limit;
// one row out: scanned, affected, the last candidate's time and ID.
func proposed(name, query string, size int, target time.Duration) variant {
	return viaEngine(name, size, target, func(ctx context.Context, db *sqlx.DB, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
		return proposedBatch(ctx, db, query, after, before, limit, storage.Horizon(before), storage.Timestamp(after.Time), ulidx.UUID(after.ID), limit)
	})
}

// proposedULID is proposed for the shape of the cleanups by ULID age: $1 the
// horizon ID, $2 the cursor's ID, $3 the limit.
func proposedULID(name, query string, size int, target time.Duration) variant {
	return viaEngine(name, size, target, func(ctx context.Context, db *sqlx.DB, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
		return proposedBatch(ctx, db, query, after, before, limit, ulidx.UUID(ulidx.Horizon(before)), ulidx.UUID(after.ID), limit)
	})
}

// viaEngine runs batch through cleanup.Run, batch size `size`, adaptive
// when target is not zero, named like masstore's variants.
func viaEngine(name string, size int, target time.Duration, batch func(ctx context.Context, db *sqlx.DB, after storage.Cursor, before time.Time, limit int) (storage.Batch, error)) variant {
	return variant{name: engineVariantName(name, size, target, 0), run: func(ctx context.Context, db *sqlx.DB, _ string) (outcome, error) {
		job := cleanup.Job{Name: name, Retention: 30 * 24 * time.Hour, Method: func(storage.Repository) storage.CleanupFunc {
			return func(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
				return batch(ctx, db, after, before, limit)
			}
		}}
		return runEngine(ctx, job, db, cleanup.Options{BatchSize: size, TargetBatchDuration: target})
	}}
}

// proposedBatch runs one batch of query with args; the statement returns
// scanned, affected and the last candidate's time (NULL by ULID age) and ID.
func proposedBatch(ctx context.Context, db *sqlx.DB, query string, after storage.Cursor, before time.Time, limit int, args ...any) (storage.Batch, error) {
	var (
		b      storage.Batch
		lastT  sql.NullTime
		lastID sql.NullString
	)
	err := db.QueryRowxContext(ctx, query, args...).Scan(&b.Scanned, &b.Affected, &lastT, &lastID)
	if err != nil {
		return b, err
	}
	b.Cursor = after
	if b.Scanned > 0 && lastID.Valid {
		id, err := ulidx.ParseUUID(lastID.String)
		if err != nil {
			return b, err
		}
		b.Cursor = storage.Cursor{Time: lastT.Time, ID: id}
	}
	return b, nil
}
