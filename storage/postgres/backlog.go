package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// Backlog is how far behind one cleanup job is.
type Backlog struct {
	// Due counts the rows the job would affect (delete, clear the IP of,
	// finish) if it ran now, alone: what its report would count as
	// affected. Rows it would skip (a browser session with children, a
	// refresh token with a live successor, a worker a job names, the policy
	// data it keeps) are not due.
	Due int64
	// Estimated is true when Due is the planner's estimate: the exact count
	// did not finish within BacklogOptions.ExactWithin.
	Estimated bool
	// Oldest is the qualifying time of the oldest due row (its finished_at,
	// last_active_at, revoked_at, consumed_at, expires_at, the earlier of a
	// worker's shutdown_at and last_seen_at, or the millisecond of its ID
	// for the jobs by ULID age), in UTC. It is zero when no row is due, or
	// when it could not be read within the bound.
	Oldest time.Time
}

// DefaultExactWithin is the default bound of a job's exact count, and of
// reading its oldest due row: past it, Backlog falls back to the planner's
// estimate.
const DefaultExactWithin = time.Second

// BacklogOptions tune Backlog. The zero value counts as the jobs run with
// their defaults.
type BacklogOptions struct {
	// ExactWithin bounds the exact count (a statement_timeout), and the read
	// of the oldest due row; 0 is DefaultExactWithin. Negative is an error.
	ExactWithin time.Duration
	// KeepPolicyData is how many of the newest policy data versions
	// prune-stale-policy-data keeps (the newest is always kept); 0 is 10,
	// cleanup.DefaultKeepPolicyData. Negative is an error.
	KeepPolicyData int
	// SkipCompat, SkipOAuth2 and SkipBrowser leave that kind of session out
	// of expire-inactive-sessions, as cleanup.InactiveSessions does.
	SkipCompat, SkipOAuth2, SkipBrowser bool
}

// defaultKeepPolicyData mirrors cleanup.DefaultKeepPolicyData (this package
// cannot import cleanup; a test keeps them equal).
const defaultKeepPolicyData = 10

// backlogJob is how Backlog counts one job. Its rows have the candidate and
// skip conditions of the job's statements, in the same WHERE shape, so that
// the count reads the index the job reads.
type backlogJob struct {
	name string
	// ulid is set for the jobs by ULID age: $1 is the horizon as an ID, and
	// the oldest due row is the smallest ID.
	ulid bool
	// rows returns the due rows, with columns t (the qualifying time, NULL
	// for ulid jobs) and id, and $1 the horizon; "" when none can be due.
	rows func(o BacklogOptions) string
	// estimate, when set, returns the query the planner estimates in place
	// of rows, and how many rows to take off that estimate.
	estimate func(o BacklogOptions) (string, int)
}

// backlogJobs lists the jobs in the order of cleanup.AllJobs.
var backlogJobs = []backlogJob{
	{name: "expire-inactive-sessions", rows: inactiveSessionsRows},
	{name: "cleanup-finished-compat-sessions", rows: fixed(byTime("compat_sessions", "compat_session_id", "finished_at", ""))},
	{name: "cleanup-finished-oauth2-sessions", rows: fixed(byTime("oauth2_sessions", "oauth2_session_id", "finished_at", ""))},
	// cleanupFinishedUserSessions skips the sessions a compat or OAuth 2.0
	// session still references.
	{name: "cleanup-finished-user-sessions", rows: fixed(byTime("user_sessions", "user_session_id", "finished_at", `
	  AND NOT EXISTS (SELECT 1 FROM compat_sessions c WHERE c.user_session_id = user_sessions.user_session_id)
	  AND NOT EXISTS (SELECT 1 FROM oauth2_sessions o WHERE o.user_session_id = user_sessions.user_session_id)`))},
	{name: "cleanup-upstream-oauth-sessions", ulid: true, rows: fixed(byAge("upstream_oauth_authorization_sessions", "upstream_oauth_authorization_session_id", "user_session_id IS NULL"))},
	{name: "cleanup-upstream-oauth-links", ulid: true, rows: fixed(byAge("upstream_oauth_links", "upstream_oauth_link_id", "user_id IS NULL"))},
	{name: "cleanup-revoked-oauth-access-tokens", rows: fixed(byTime("oauth2_access_tokens", "oauth2_access_token_id", "revoked_at", ""))},
	{name: "cleanup-expired-oauth-access-tokens", rows: fixed(byTime("oauth2_access_tokens", "oauth2_access_token_id", "expires_at", ""))},
	{name: "cleanup-revoked-oauth-refresh-tokens", rows: fixed(byTime("oauth2_refresh_tokens", "oauth2_refresh_token_id", "revoked_at", ""))},
	// cleanupConsumedRefreshTokens skips the tokens whose successor is live.
	{name: "cleanup-consumed-oauth-refresh-tokens", rows: fixed(byTime("oauth2_refresh_tokens", "oauth2_refresh_token_id", "consumed_at", `
	  AND (oauth2_refresh_tokens.next_oauth2_refresh_token_id IS NULL
	       OR EXISTS (SELECT 1 FROM oauth2_refresh_tokens n
	                  WHERE n.oauth2_refresh_token_id = oauth2_refresh_tokens.next_oauth2_refresh_token_id AND n.consumed_at IS NOT NULL))`))},
	{name: "cleanup-user-registrations", ulid: true, rows: fixed(byAge("user_registrations", "user_registration_id", ""))},
	{name: "cleanup-oauth-authorization-grants", ulid: true, rows: fixed(byAge("oauth2_authorization_grants", "oauth2_authorization_grant_id", ""))},
	{name: "cleanup-oauth-device-code-grants", ulid: true, rows: fixed(byAge("oauth2_device_code_grant", "oauth2_device_code_grant_id", ""))},
	{name: "cleanup-user-recovery-sessions", ulid: true, rows: fixed(byAge("user_recovery_sessions", "user_recovery_session_id", ""))},
	{name: "cleanup-user-email-authentications", ulid: true, rows: fixed(byAge("user_email_authentications", "user_email_authentication_id", ""))},
	{name: "cleanup-inactive-oauth2-session-ips", rows: fixed(inactiveIPs("oauth2_sessions", "oauth2_session_id"))},
	{name: "cleanup-inactive-compat-session-ips", rows: fixed(inactiveIPs("compat_sessions", "compat_session_id"))},
	{name: "cleanup-inactive-user-session-ips", rows: fixed(inactiveIPs("user_sessions", "user_session_id"))},
	{name: "cleanup-queue-jobs", ulid: true, rows: fixed(byAge("queue_jobs", "queue_job_id", "status IN ('completed', 'failed')"))},
	// Prune keeps the newest versions: the planner cannot estimate the
	// version that bounds them, so the estimate is of every version before
	// the horizon, less those kept.
	{name: "prune-stale-policy-data", ulid: true, rows: stalePolicyDataRows,
		estimate: func(o BacklogOptions) (string, int) {
			return byAge("policy_data", "policy_data_id", ""), o.KeepPolicyData
		}},
	{name: "cleanup-abandoned-compat-sso-logins", ulid: true, rows: fixed(byAge("compat_sso_logins", "compat_sso_login_id", "compat_session_id IS NULL"))},
	{name: "cleanup-lost-queue-jobs", ulid: true, rows: fixed(byAge("queue_jobs", "queue_job_id", "status IN ('lost')"))},
	// cleanupWorkers skips the workers a job names and the leader.
	{name: "cleanup-stale-queue-workers", rows: fixed(`
	SELECT LEAST(shutdown_at, last_seen_at) AS t, queue_worker_id AS id FROM queue_workers w
	WHERE (shutdown_at < $1 OR last_seen_at < $1)
	  AND NOT EXISTS (SELECT 1 FROM queue_jobs j WHERE j.started_by = w.queue_worker_id)
	  AND NOT EXISTS (SELECT 1 FROM queue_leader l WHERE l.queue_worker_id = w.queue_worker_id)`)},
	{name: "cleanup-revoked-personal-sessions", rows: fixed(byTime("personal_sessions", "personal_session_id", "revoked_at", ""))},
	{name: "cleanup-revoked-personal-access-tokens", rows: fixed(byTime("personal_access_tokens", "personal_access_token_id", "revoked_at", ""))},
	{name: "cleanup-inactive-personal-session-ips", rows: fixed(inactiveIPs("personal_sessions", "personal_session_id"))},
}

func fixed(query string) func(BacklogOptions) string {
	return func(BacklogOptions) string { return query }
}

// byTime returns the rows of table whose column is before $1 and that meet
// more (SQL starting with AND, or ""), as timeCleanup's statements select
// their candidates. It leaves out "column IS NOT NULL": "<" is strict, so
// the planner still proves the partial indexes' WHERE column IS NOT NULL
// from it, and the estimate would count the NULLs out twice (once in the
// comparison's selectivity, once in the null test's) and halve a table
// with as many live rows as finished ones.
func byTime(table, idColumn, column, more string) string {
	return `
	SELECT ` + column + ` AS t, ` + idColumn + ` AS id FROM ` + table + `
	WHERE ` + column + ` < $1` + more
}

// byAge returns the rows of table whose ID is below $1 and that meet where
// (if not empty), as deleteByULIDAgeQuery selects its candidates.
func byAge(table, idColumn, where string) string {
	if where != "" {
		where += " AND "
	}
	return `
	SELECT NULL::timestamptz AS t, ` + idColumn + ` AS id FROM ` + table + `
	WHERE ` + where + idColumn + ` < $1`
}

// inactiveIPs returns the rows clearIPsQuery clears.
func inactiveIPs(table, idColumn string) string {
	return byTime(table, idColumn, "last_active_at", " AND last_active_ip IS NOT NULL")
}

// inactiveSessionsRows returns the sessions expire-inactive-sessions
// finishes, those of expireQuery's three statements that o does not skip.
func inactiveSessionsRows(o BacklogOptions) string {
	inactive := func(table, idColumn, more string) string {
		return `
	SELECT last_active_at AS t, ` + idColumn + ` AS id FROM ` + table + `
	WHERE finished_at IS NULL AND last_active_at < $1` + more
	}
	var parts []string
	if !o.SkipCompat {
		parts = append(parts, inactive("compat_sessions", "compat_session_id", ""))
	}
	if !o.SkipOAuth2 {
		parts = append(parts, inactive("oauth2_sessions", "oauth2_session_id",
			" AND user_id IS NOT NULL AND oauth2_client_id IN (SELECT oauth2_client_id FROM oauth2_clients WHERE NOT is_static)"))
	}
	if !o.SkipBrowser {
		parts = append(parts, inactive("user_sessions", "user_session_id", ""))
	}
	return strings.Join(parts, "\n\tUNION ALL")
}

// stalePolicyDataRows returns the versions Prune deletes: older than the
// newest o.KeepPolicyData (an int, so formatting it in is safe).
func stalePolicyDataRows(o BacklogOptions) string {
	return byAge("policy_data", "policy_data_id", fmt.Sprintf(
		"policy_data_id < (SELECT policy_data_id FROM policy_data ORDER BY policy_data_id DESC OFFSET %d LIMIT 1)", o.KeepPolicyData-1))
}

// BacklogJobs returns the names of the jobs Backlog counts, in the order of
// cleanup.AllJobs.
func BacklogJobs() []string {
	names := make([]string, len(backlogJobs))
	for i, j := range backlogJobs {
		names[i] = j.name
	}
	return names
}

// Backlog counts what the cleanup job named job (a name of
// cleanup.AllJobs) would affect with horizon before: now minus the job's
// retention (for expire-inactive-sessions, now minus the time-to-live). The
// exact count equals what the job's run then affects, when nothing else
// changes the database in between; it reads the job's own index.
//
// The count and the read of the oldest due row run in one read-only
// transaction (one snapshot), each bounded by o.ExactWithin. A count that
// does not finish within it gives way to the planner's estimate
// (Estimated); an oldest row that cannot be read within it is left zero.
// An unknown job or bad options are an error wrapping
// storage.ErrInvalidArgument; when ctx ends, the error is ctx's.
func (s *Store) Backlog(ctx context.Context, job string, before time.Time, o BacklogOptions) (Backlog, error) {
	j, err := lookupBacklogJob(job)
	if err != nil {
		return Backlog{}, err
	}
	switch {
	case o.ExactWithin < 0:
		return Backlog{}, fmt.Errorf("backlog of %s: exact-count bound %s is negative: %w", job, o.ExactWithin, storage.ErrInvalidArgument)
	case o.KeepPolicyData < 0:
		return Backlog{}, fmt.Errorf("backlog of %s: policy data to keep %d is negative: %w", job, o.KeepPolicyData, storage.ErrInvalidArgument)
	}
	if o.ExactWithin == 0 {
		o.ExactWithin = DefaultExactWithin
	}
	if o.KeepPolicyData == 0 {
		o.KeepPolicyData = defaultKeepPolicyData
	}
	var b Backlog
	err = readOnly(ctx, s.db, o.ExactWithin, func(tx *sqlx.Tx) error {
		var err error
		b, err = j.measure(ctx, tx, before, o)
		return err
	})
	// A context that ended while counting is the error, whatever the
	// statements returned: one that completes before its cancel request
	// lands still returns its result (lib/pq).
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return Backlog{}, fmt.Errorf("backlog of %s: %w", job, err)
	}
	return b, nil
}

func lookupBacklogJob(name string) (backlogJob, error) {
	for _, j := range backlogJobs {
		if j.name == name {
			return j, nil
		}
	}
	return backlogJob{}, fmt.Errorf("backlog: unknown cleanup job %q: %w", name, storage.ErrInvalidArgument)
}

// measure runs exact-then-estimate in tx, whose statements time out after
// o.ExactWithin.
func (j backlogJob) measure(ctx context.Context, tx *sqlx.Tx, before time.Time, o BacklogOptions) (Backlog, error) {
	rows := j.rows(o)
	if rows == "" {
		return Backlog{}, nil
	}
	var horizon any = storage.Horizon(before)
	if j.ulid {
		horizon = key(ulidx.Horizon(before))
	}
	var b Backlog
	exact, err := bounded(ctx, tx, func() error {
		return tx.QueryRowxContext(ctx, `SELECT count(*) FROM (`+rows+`) AS due`, horizon).Scan(&b.Due)
	})
	if err != nil {
		return Backlog{}, fmt.Errorf("count: %w", translate(err))
	}
	if exact && b.Due == 0 {
		return b, nil
	}
	if _, err := bounded(ctx, tx, func() error { return j.oldest(ctx, tx, rows, horizon, &b.Oldest) }); err != nil {
		return Backlog{}, fmt.Errorf("oldest: %w", translate(err))
	}
	if exact {
		return b, nil
	}
	query, less := rows, 0
	if j.estimate != nil {
		query, less = j.estimate(o)
	}
	// Planning alone is quick, but it may look at an index's ends: it gets
	// at least the default bound, so that an estimate comes back.
	if err := setTimeout(ctx, tx, max(o.ExactWithin, DefaultExactWithin)); err != nil {
		return Backlog{}, err
	}
	n, err := estimateRows(ctx, tx, query, horizon)
	if err != nil {
		return Backlog{}, fmt.Errorf("estimate: %w", err)
	}
	b.Due, b.Estimated = max(n-int64(less), 0), true
	return b, nil
}

// oldest reads the earliest qualifying time of the due rows: the first by t,
// through the index on the time the job compares (for the jobs ordered by
// ID, too: the oldest row is what tells how far behind a job is), or, by
// ULID age, the first by ID, through the primary key. It leaves *t zero
// when no row is due.
func (j backlogJob) oldest(ctx context.Context, tx *sqlx.Tx, rows string, horizon any, t *time.Time) error {
	var err error
	if j.ulid {
		var id ulid.ULID
		err = tx.QueryRowxContext(ctx, `SELECT id FROM (`+rows+`) AS due ORDER BY id LIMIT 1`, horizon).Scan(idCol{&id})
		if err == nil {
			*t = ulid.Time(id.Time()).UTC()
		}
	} else {
		var at *time.Time
		err = tx.QueryRowxContext(ctx, `SELECT t FROM (`+rows+`) AS due ORDER BY t LIMIT 1`, horizon).Scan(nullTimeCol{&at})
		if err == nil && at != nil {
			*t = *at
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}

// codeQueryCanceled is the SQLSTATE of a statement cancelled, by its
// statement_timeout among others.
const codeQueryCanceled = "57014"

// bounded runs fn, one statement of tx, under a savepoint: when the
// statement times out (ctx still live), the savepoint is rolled back so
// that tx goes on, and bounded reports false.
func bounded(ctx context.Context, tx *sqlx.Tx, fn func() error) (bool, error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT backlog`); err != nil {
		return false, err
	}
	err := fn()
	if err == nil || ctx.Err() != nil || sqlState(err) != codeQueryCanceled {
		return err == nil, err
	}
	if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT backlog`); err != nil {
		return false, err
	}
	return false, nil
}

// readOnly runs fn in a read-only repeatable-read transaction of db whose
// statements time out after within, and rolls it back.
func readOnly(ctx context.Context, db *sqlx.DB, within time.Duration, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := setTimeout(ctx, tx, within); err != nil {
		return err
	}
	return fn(tx)
}

// setTimeout sets tx's statement_timeout to within, rounded up to the
// millisecond (0 would turn it off).
func setTimeout(ctx context.Context, tx *sqlx.Tx, within time.Duration) error {
	ms := max((within+time.Millisecond-1)/time.Millisecond, 1)
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL statement_timeout = %d`, ms)); err != nil {
		return fmt.Errorf("set statement timeout: %w", err)
	}
	return nil
}

// estimateRows returns the planner's estimate of the rows query returns: the
// "Plan Rows" of the top of its plan.
func estimateRows(ctx context.Context, tx *sqlx.Tx, query string, args ...any) (int64, error) {
	var out []byte
	if err := tx.QueryRowxContext(ctx, `EXPLAIN (FORMAT JSON) `+query, args...).Scan(&out); err != nil {
		return 0, translate(err)
	}
	var plans []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	if err := json.Unmarshal(out, &plans); err != nil {
		return 0, fmt.Errorf("read plan: %w", err)
	}
	if len(plans) == 0 {
		return 0, errors.New("read plan: no plan")
	}
	return int64(math.Round(plans[0].Plan.Rows)), nil
}
