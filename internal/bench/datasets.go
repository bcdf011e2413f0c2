package main

import (
	"fmt"
	"time"

	"github.com/masstore/masstore/internal/ulidx"
)

// benchNow is the clock of every run: with the jobs' default retention of 30
// days, rows are stale when their time is before 2026-05-02.
var benchNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// horizon is benchNow minus the 30-day retention of every job benchmarked.
var horizon = benchNow.Add(-30 * 24 * time.Hour)

// Times of the generated rows. Row i of `total` is created at
// base + i*span/total (2025-12-01 .. 2026-03-31); a stale row's time
// (finished_at, last_active_at) is its creation plus a pseudo-random offset
// under 30 days, so before the horizon, and in an order that differs from
// the creation (and so the heap, and ID) order, as in a real table. Rows that
// must stay are live, or active on 2026-05-31.
const (
	baseTime = `timestamptz '2025-12-01 00:00:00+00'`
	spanUS   = int64(120 * 24 * time.Hour / time.Microsecond)
	offset   = `((i * 2654435761) % 2592000000000) * interval '1 microsecond'`
	recent   = `(timestamptz '2026-05-31 00:00:00+00' + i * interval '1 microsecond')`
)

// Table tags keep the generated IDs of different tables apart.
const (
	tagUser = iota + 1
	tagCompatSession
	tagCompatAccessToken
	tagCompatRefreshToken
	tagUserSession
	tagQueueJob
	tagOAuth2Client
	tagOAuth2Session
	tagOAuth2AccessToken
	tagOAuth2RefreshToken
)

// dataset is one database to benchmark on, built once as a template.
type dataset struct {
	// name is unique and part of the template database's name.
	name string
	// statements build it on a migrated database.
	statements []string
	// pending counts the rows the job under test must affect; run on the
	// template it is the expected count, after a run it must be 0.
	pending string
	// arg is pending's $1.
	arg any
}

// ulidExpr is SQL for a ULID-like uuid: the first 48 bits are the
// millisecond of ts, the rest the table's tag and n, so IDs sort by creation
// time and are unique per table.
func ulidExpr(ts string, tag int, n string) string {
	return fmt.Sprintf(`(lpad(to_hex(floor(extract(epoch FROM %s) * 1000)::bigint), 12, '0') || lpad(to_hex(%d::bigint * 1099511627776 + %s), 20, '0'))::uuid`, ts, tag, n)
}

// rowsOf is the FROM clause of rows 1..total: i, c (creation time), f (the
// stale time's offset).
func rowsOf(total int) string {
	step := spanUS / int64(total)
	return fmt.Sprintf(`(SELECT i, %s + (i * %d) * interval '1 microsecond' AS c, %s AS f
	FROM generate_series(1::bigint, %d) AS i) AS s`, baseTime, step, offset, total)
}

// usersOf inserts the users the sessions belong to: one per 10 rows.
func usersOf(total int) (users int, stmt string) {
	users = max(1, total/10)
	return users, fmt.Sprintf(`INSERT INTO users (user_id, username, created_at)
	SELECT %s, 'user_' || i, %s FROM generate_series(1::bigint, %d) AS i`,
		ulidExpr(baseTime, tagUser, "i"), baseTime, users)
}

// userOf is the ID of row i's user.
func userOf(users int) string {
	return ulidExpr(baseTime, tagUser, fmt.Sprintf("(i %% %d + 1)", users))
}

// compatDataset: 2n compat sessions, every other one finished before the
// horizon, each with one access token and one refresh token.
func compatDataset(n int) dataset { return compatSessions(n, "f", "compat_%d") }

// compatInOrderDataset is compatDataset with every session finished 15 days
// after its creation, so that finish order is creation (heap, ID) order and a
// batch's rows lie next to each other: the locality check of the flat scenario.
func compatInOrderDataset(n int) dataset {
	return compatSessions(n, "interval '15 days'", "compat_in_order_%d")
}

// compatSessions builds compatDataset, a stale session finishing at its
// creation plus finish (SQL over rowsOf's columns).
func compatSessions(n int, finish, nameFormat string) dataset {
	total := 2 * n
	users, insertUsers := usersOf(total)
	session := ulidExpr("c", tagCompatSession, "i")
	access := ulidExpr("c", tagCompatAccessToken, "i")
	return dataset{
		name: fmt.Sprintf(nameFormat, n),
		statements: []string{
			insertUsers,
			fmt.Sprintf(`INSERT INTO compat_sessions (compat_session_id, user_id, device_id, created_at, finished_at, last_active_at, last_active_ip)
			SELECT %s, %s, 'DEVICE' || i, c,
				CASE WHEN i %% 2 = 0 THEN c + %[4]s END,
				CASE WHEN i %% 2 = 0 THEN c + %[4]s ELSE %[3]s END, '192.0.2.1'
			FROM %[5]s`, session, userOf(users), recent, finish, rowsOf(total)),
			fmt.Sprintf(`INSERT INTO compat_access_tokens (compat_access_token_id, access_token, compat_session_id, created_at)
			SELECT %s, 'mct_' || i, %s, c FROM %s`, access, session, rowsOf(total)),
			fmt.Sprintf(`INSERT INTO compat_refresh_tokens (compat_refresh_token_id, compat_access_token_id, compat_session_id, refresh_token, created_at)
			SELECT %s, %s, %s, 'mcr_' || i, c FROM %s`, ulidExpr("c", tagCompatRefreshToken, "i"), access, session, rowsOf(total)),
		},
		pending: `SELECT count(*) FROM compat_sessions WHERE finished_at < $1`,
		arg:     horizon,
	}
}

// oauth2Dataset: 2n OAuth 2.0 sessions of one client, every other one
// finished before the horizon, each with one access token and one refresh
// token; finish times as compatDataset's.
func oauth2Dataset(n int) dataset {
	total := 2 * n
	users, insertUsers := usersOf(total)
	client := ulidExpr(baseTime, tagOAuth2Client, "1")
	session := ulidExpr("c", tagOAuth2Session, "i")
	access := ulidExpr("c", tagOAuth2AccessToken, "i")
	return dataset{
		name: fmt.Sprintf("oauth2_%d", n),
		statements: []string{
			insertUsers,
			fmt.Sprintf(`INSERT INTO oauth2_clients (oauth2_client_id, grant_type_authorization_code, grant_type_refresh_token)
			VALUES (%s, true, true)`, client),
			fmt.Sprintf(`INSERT INTO oauth2_sessions (oauth2_session_id, user_id, oauth2_client_id, scope_list, created_at, finished_at, last_active_at, last_active_ip)
			SELECT %[1]s, %[2]s, %[3]s, '{openid}', c,
				CASE WHEN i %% 2 = 0 THEN c + f END,
				CASE WHEN i %% 2 = 0 THEN c + f ELSE %[4]s END, '192.0.2.1'
			FROM %[5]s`, session, userOf(users), client, recent, rowsOf(total)),
			fmt.Sprintf(`INSERT INTO oauth2_access_tokens (oauth2_access_token_id, oauth2_session_id, access_token, created_at)
			SELECT %s, %s, 'mat_' || i, c FROM %s`, access, session, rowsOf(total)),
			fmt.Sprintf(`INSERT INTO oauth2_refresh_tokens (oauth2_refresh_token_id, oauth2_session_id, oauth2_access_token_id, refresh_token, created_at)
			SELECT %s, %s, %s, 'mar_' || i, c FROM %s`, ulidExpr("c", tagOAuth2RefreshToken, "i"), session, access, rowsOf(total)),
		},
		pending: `SELECT count(*) FROM oauth2_sessions WHERE finished_at < $1`,
		arg:     horizon,
	}
}

// userSessionsMode says which browser-session dataset to build.
type userSessionsMode int

const (
	// blockedSessions: n finished sessions, 9 in 10 with a live compat session.
	blockedSessions userSessionsMode = iota
	// onlyDeletable: only the tenth without a compat session.
	onlyDeletable
	// unfinishedParents: blockedSessions with the 9 in 10 not finished.
	unfinishedParents
)

// userSessionsDataset: n browser sessions, every one finished before the
// horizon but in unfinishedParents mode, where 9 in 10 are live; in
// blockedSessions and unfinishedParents modes those 9 in 10 have a live
// compat session, in onlyDeletable mode they do not exist.
func userSessionsDataset(n int, mode userSessionsMode) dataset {
	users, insertUsers := usersOf(n)
	session := ulidExpr("c", tagUserSession, "i")
	keep, finished := "true", "c + f"
	var name string
	switch mode {
	case blockedSessions:
		name = fmt.Sprintf("users_blocked_%d", n)
	case onlyDeletable:
		name, keep = fmt.Sprintf("users_clean_%d", n), "i % 10 = 0"
	case unfinishedParents:
		name, finished = fmt.Sprintf("users_unfinished_%d", n), "CASE WHEN i % 10 = 0 THEN c + f END"
	}
	stmts := []string{
		insertUsers,
		fmt.Sprintf(`INSERT INTO user_sessions (user_session_id, user_id, user_agent, created_at, finished_at, last_active_at)
		SELECT %s, %s, 'bench', c, %s, c + f FROM %s WHERE %s`, session, userOf(users), finished, rowsOf(n), keep),
	}
	if mode != onlyDeletable {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO compat_sessions (compat_session_id, user_id, user_session_id, device_id, created_at, last_active_at, last_active_ip)
		SELECT %s, %s, %s, 'DEVICE' || i, c, %s, '192.0.2.1' FROM %s WHERE i %% 10 <> 0`,
			ulidExpr("c", tagCompatSession, "i"), userOf(users), session, recent, rowsOf(n)))
	}
	return dataset{
		name:       name,
		statements: stmts,
		pending: `SELECT count(*) FROM user_sessions us WHERE finished_at < $1
			AND NOT EXISTS (SELECT 1 FROM compat_sessions cs WHERE cs.user_session_id = us.user_session_id)
			AND NOT EXISTS (SELECT 1 FROM oauth2_sessions os WHERE os.user_session_id = us.user_session_id)`,
		arg: horizon,
	}
}

// ipDataset: 2n live browser sessions holding an IP, every other one last
// active before the horizon.
func ipDataset(n int) dataset {
	total := 2 * n
	users, insertUsers := usersOf(total)
	return dataset{
		name: fmt.Sprintf("ips_%d", n),
		statements: []string{
			insertUsers,
			fmt.Sprintf(`INSERT INTO user_sessions (user_session_id, user_id, user_agent, created_at, last_active_at, last_active_ip)
			SELECT %s, %s, 'bench', c, CASE WHEN i %% 2 = 0 THEN c + f ELSE %s END, '192.0.2.1' FROM %s`,
				ulidExpr("c", tagUserSession, "i"), userOf(users), recent, rowsOf(total)),
		},
		pending: `SELECT count(*) FROM user_sessions WHERE last_active_ip IS NOT NULL AND last_active_at < $1`,
		arg:     horizon,
	}
}

// queueDataset: n queue jobs created before the horizon, completed (9 in
// 10) or failed, but 1 in 100 still available; and n completed jobs created
// after the horizon.
func queueDataset(n int) dataset {
	oldStep := spanUS / int64(n)
	newStep := int64(28*24*time.Hour/time.Microsecond) / int64(n)
	created := fmt.Sprintf(`CASE WHEN i <= %d THEN %s + (i * %d) * interval '1 microsecond'
		ELSE timestamptz '2026-05-03 00:00:00+00' + ((i - %d) * %d) * interval '1 microsecond' END`,
		n, baseTime, oldStep, n, newStep)
	return dataset{
		name: fmt.Sprintf("queue_%d", n),
		statements: []string{
			`INSERT INTO queue_schedules (schedule_name) VALUES ('bench')`,
			fmt.Sprintf(`INSERT INTO queue_jobs (queue_job_id, queue_name, status, created_at, started_at, completed_at, failed_at, attempt)
			SELECT %s, 'email', st::queue_job_status, c, c, CASE WHEN st = 'completed' THEN c END, CASE WHEN st = 'failed' THEN c END, 0
			FROM (SELECT i, c, CASE WHEN i <= %d AND i %% 100 = 50 THEN 'available'
			                        WHEN i <= %d AND i %% 10 = 0 THEN 'failed' ELSE 'completed' END AS st
			      FROM (SELECT i, %s AS c FROM generate_series(1::bigint, %d) AS i) AS t) AS s`,
				ulidExpr("c", tagQueueJob, "i"), n, n, created, 2*n),
			// The last job of the schedule is one of the old ones: deleting
			// it nulls the reference, as in production.
			`UPDATE queue_schedules SET last_scheduled_job_id =
				(SELECT queue_job_id FROM queue_jobs WHERE status = 'completed' ORDER BY queue_job_id LIMIT 1)`,
		},
		pending: `SELECT count(*) FROM queue_jobs WHERE status IN ('completed', 'failed') AND queue_job_id < $1`,
		arg:     ulidx.UUID(ulidx.Horizon(horizon)),
	}
}
