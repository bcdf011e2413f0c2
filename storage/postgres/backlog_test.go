package postgres_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/postgres"
)

// scenarioNow is the time the janitor's scenario (examples/janitor/testdata)
// is written for.
var scenarioNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// backlogExtras adds, to the janitor's scenario, a due row to the jobs the
// scenario leaves at zero and a due and a skipped row to every job that
// skips some (times relative to scenarioNow).
const backlogExtras = `
CREATE OR REPLACE FUNCTION pg_temp.id(created timestamptz, n int) RETURNS uuid LANGUAGE sql AS $$
    SELECT (lpad(to_hex((extract(epoch FROM created) * 1000)::bigint), 12, '0') || lpad(to_hex(n), 20, '0'))::uuid
$$;
CREATE OR REPLACE FUNCTION pg_temp.i(text) RETURNS uuid LANGUAGE sql AS $$ SELECT id FROM janitor_e2e_ids WHERE name = $1 $$;
INSERT INTO janitor_e2e_ids (name, id) SELECT name, pg_temp.id(at, n) FROM (VALUES
    ('x_client_static',      '2026-01-01T00:00:00Z'::timestamptz, 201),
    ('x_cs_inactive',        '2026-05-01T00:00:00Z', 202),
    ('x_cs_stale_ip',        '2026-03-01T00:00:00Z', 203),
    ('x_os_inactive',        '2026-03-01T00:00:00Z', 204),
    ('x_os_static_inactive', '2026-03-01T00:00:00Z', 205),
    ('x_os_userless',        '2026-03-01T00:00:00Z', 206),
    ('x_us_finished_oauth',  '2026-04-01T00:00:00Z', 207),
    ('x_os_child',           '2026-04-01T00:00:00Z', 208),
    ('x_rt_consumed_last',   '2026-05-01T00:00:00Z', 209),
    ('x_rt_consumed_first',  '2026-05-01T00:00:00Z', 210),
    ('x_rt_consumed_mid',    '2026-05-02T00:00:00Z', 211),
    ('x_rt_live',            '2026-05-03T00:00:00Z', 212),
    ('x_rt_revoked',         '2026-05-01T00:00:00Z', 213),
    ('x_device_grant',       '2026-05-01T00:00:00Z', 214),
    ('x_email_auth',         '2026-05-01T00:00:00Z', 215),
    ('x_sso_abandoned',      '2026-05-01T00:00:00Z', 216),
    ('x_job_lost',           '2026-04-01T00:00:00Z', 217),
    ('x_worker_busy',        '2026-03-01T00:00:00Z', 218),
    ('x_job_running',        '2026-03-01T00:00:00Z', 219),
    ('x_worker_shut_down',   '2026-05-01T00:00:00Z', 220)
) AS v(name, at, n);

INSERT INTO oauth2_clients (oauth2_client_id, grant_type_authorization_code, grant_type_refresh_token, is_static, created_at) VALUES
    (pg_temp.i('x_client_static'), true, true, true, '2026-01-01T00:00:00Z');
-- expire-inactive-sessions (TTL 24 hours): both compat sessions are due, the
-- second also for its IP once it is finished.
INSERT INTO compat_sessions (compat_session_id, user_id, device_id, created_at, last_active_at, last_active_ip) VALUES
    (pg_temp.i('x_cs_inactive'), pg_temp.i('kept_user_alice'), 'TABLET', '2026-05-01T00:00:00Z', '2026-05-20T00:00:00Z', NULL),
    (pg_temp.i('x_cs_stale_ip'), pg_temp.i('kept_user_alice'), 'LAPTOP', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', '192.0.2.30');
-- Only the first OAuth 2.0 session is due for expiry: the second's client is
-- static, the third has no user. All three hold a stale IP.
INSERT INTO oauth2_sessions (oauth2_session_id, oauth2_client_id, user_id, scope_list, created_at, last_active_at, last_active_ip) VALUES
    (pg_temp.i('x_os_inactive'), pg_temp.i('kept_client'), pg_temp.i('kept_user_alice'), '{openid}', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', '192.0.2.31'),
    (pg_temp.i('x_os_static_inactive'), pg_temp.i('x_client_static'), pg_temp.i('kept_user_alice'), '{openid}', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', '192.0.2.32'),
    (pg_temp.i('x_os_userless'), pg_temp.i('kept_client'), NULL, '{openid}', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', '192.0.2.33');
-- A finished browser session kept by an OAuth 2.0 child (the scenario's is
-- kept by a compat child).
INSERT INTO user_sessions (user_session_id, user_id, created_at, finished_at) VALUES
    (pg_temp.i('x_us_finished_oauth'), pg_temp.i('kept_user_bob'), '2026-04-01T00:00:00Z', '2026-04-15T00:00:00Z');
INSERT INTO oauth2_sessions (oauth2_session_id, oauth2_client_id, user_id, user_session_id, scope_list, created_at) VALUES
    (pg_temp.i('x_os_child'), pg_temp.i('kept_client'), pg_temp.i('kept_user_bob'), pg_temp.i('x_us_finished_oauth'), '{openid}', '2026-04-01T00:00:00Z');
-- A rotation chain first -> mid -> live: first (successor consumed) and last
-- (no successor) are due, mid (successor live) is skipped.
INSERT INTO oauth2_refresh_tokens (oauth2_refresh_token_id, oauth2_session_id, refresh_token, created_at, consumed_at, revoked_at) VALUES
    (pg_temp.i('x_rt_live'), pg_temp.i('kept_os_live'), 'x-rt-live', '2026-05-03T00:00:00Z', NULL, NULL),
    (pg_temp.i('x_rt_consumed_mid'), pg_temp.i('kept_os_live'), 'x-rt-mid', '2026-05-02T00:00:00Z', '2026-05-03T00:00:00Z', NULL),
    (pg_temp.i('x_rt_consumed_first'), pg_temp.i('kept_os_live'), 'x-rt-first', '2026-05-01T00:00:00Z', '2026-05-02T00:00:00Z', NULL),
    (pg_temp.i('x_rt_consumed_last'), pg_temp.i('kept_os_live'), 'x-rt-last', '2026-05-01T00:00:00Z', '2026-05-01T00:00:00Z', NULL),
    (pg_temp.i('x_rt_revoked'), pg_temp.i('kept_os_live'), 'x-rt-revoked', '2026-05-01T00:00:00Z', NULL, '2026-05-01T00:00:00Z');
UPDATE oauth2_refresh_tokens SET next_oauth2_refresh_token_id = pg_temp.i('x_rt_consumed_mid') WHERE oauth2_refresh_token_id = pg_temp.i('x_rt_consumed_first');
UPDATE oauth2_refresh_tokens SET next_oauth2_refresh_token_id = pg_temp.i('x_rt_live') WHERE oauth2_refresh_token_id = pg_temp.i('x_rt_consumed_mid');
INSERT INTO oauth2_device_code_grant (oauth2_device_code_grant_id, oauth2_client_id, scope, device_code, user_code, created_at, expires_at) VALUES
    (pg_temp.i('x_device_grant'), pg_temp.i('kept_client'), 'openid', 'x-device', 'X-USER', '2026-05-01T00:00:00Z', '2026-05-01T00:10:00Z');
INSERT INTO user_email_authentications (user_email_authentication_id, email, created_at) VALUES
    (pg_temp.i('x_email_auth'), 'dave@example.org', '2026-05-01T00:00:00Z');
INSERT INTO compat_sso_logins (compat_sso_login_id, login_token, redirect_uri, created_at) VALUES
    (pg_temp.i('x_sso_abandoned'), 'x-login', 'https://app.example/', '2026-05-01T00:00:00Z');
-- A stale worker a running job names is skipped; one shut down long ago is due.
INSERT INTO queue_workers (queue_worker_id, registered_at, last_seen_at, shutdown_at) VALUES
    (pg_temp.i('x_worker_busy'), '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z', NULL),
    (pg_temp.i('x_worker_shut_down'), '2026-05-01T00:00:00Z', '2026-05-31T23:59:00Z', '2026-05-01T00:00:00Z');
INSERT INTO queue_jobs (queue_job_id, queue_name, status, created_at, started_at, started_by) VALUES
    (pg_temp.i('x_job_lost'), 'email', 'lost', '2026-04-01T00:00:00Z', NULL, NULL),
    (pg_temp.i('x_job_running'), 'email', 'running', '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z', pg_temp.i('x_worker_busy'));
`

// loadScenario fills db with the janitor's scenario and backlogExtras.
func loadScenario(t *testing.T, db *sqlx.DB) {
	t.Helper()
	for _, file := range []string{"scenario.sql", "mas_main.sql"} {
		sql, err := os.ReadFile("../../examples/janitor/testdata/" + file)
		require.NoError(t, err)
		_, err = db.Exec(string(sql))
		require.NoError(t, err, file)
	}
	_, err := db.Exec(backlogExtras)
	require.NoError(t, err)
}

// backlogOptions are the BacklogOptions that count as a run with opts.
func backlogOptions(opts cleanup.Options) postgres.BacklogOptions {
	return postgres.BacklogOptions{
		KeepPolicyData: opts.KeepPolicyData,
		SkipCompat:     opts.InactiveSessions.SkipCompat,
		SkipOAuth2:     opts.InactiveSessions.SkipOAuth2,
		SkipBrowser:    opts.InactiveSessions.SkipBrowser,
	}
}

func TestBacklog(t *testing.T) {
	t.Parallel()

	t.Run("EveryJobHasABacklog", func(t *testing.T) {
		t.Parallel()
		jobs := postgres.BacklogJobs()
		for _, name := range cleanup.Names() {
			require.Contains(t, jobs, name, "job %s has no backlog", name)
		}
		require.Equal(t, cleanup.Names(), jobs, "in the order of cleanup.AllJobs")
	})

	t.Run("ExactCountIsWhatTheRunAffects", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Migrated(t).DB
		loadScenario(t, db)
		store := postgres.New(db)
		ctx := context.Background()
		zone := time.FixedZone("UTC-3", -3*3600)
		clock := storage.NewTestClock(scenarioNow.In(zone))
		opts := cleanup.Options{Retention: map[string]time.Duration{"expire-inactive-sessions": 24 * time.Hour}}

		for _, j := range cleanup.AllJobs() {
			horizon := opts.HorizonOf(j, clock.Now())
			b, err := store.Backlog(ctx, j.Name, horizon, backlogOptions(opts))
			require.NoError(t, err, j.Name)
			require.False(t, b.Estimated, j.Name)
			require.Positive(t, b.Due, "%s: the scenario gives every job a due row", j.Name)
			require.False(t, b.Oldest.IsZero(), j.Name)
			require.True(t, b.Oldest.Before(horizon), "%s: oldest %s, horizon %s", j.Name, b.Oldest, horizon)

			report, err := cleanup.Run(ctx, j, store, clock, opts)
			require.NoError(t, err, j.Name)
			require.True(t, report.Horizon.Equal(horizon), j.Name)
			require.Equal(t, int64(report.Affected), b.Due, j.Name)
			require.Greater(t, report.Scanned, 0, j.Name)
		}

		for _, j := range cleanup.AllJobs() {
			b, err := store.Backlog(ctx, j.Name, opts.HorizonOf(j, clock.Now()), backlogOptions(opts))
			require.NoError(t, err, j.Name)
			require.Equal(t, postgres.Backlog{}, b, "%s: nothing is due after the run", j.Name)
		}
	})

	t.Run("SkipsWhatTheRunSkips", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Migrated(t).DB
		loadScenario(t, db)
		store := postgres.New(db)
		ctx := context.Background()
		horizon := scenarioNow.Add(-24 * time.Hour)
		expire := func(o postgres.BacklogOptions) int64 {
			b, err := store.Backlog(ctx, "expire-inactive-sessions", horizon, o)
			require.NoError(t, err)
			return b.Due
		}
		// Two compat sessions, one OAuth 2.0 session, one browser session.
		require.Equal(t, int64(4), expire(postgres.BacklogOptions{}))
		require.Equal(t, int64(2), expire(postgres.BacklogOptions{SkipCompat: true}))
		require.Equal(t, int64(3), expire(postgres.BacklogOptions{SkipOAuth2: true}))
		require.Equal(t, int64(3), expire(postgres.BacklogOptions{SkipBrowser: true}))
		require.Zero(t, expire(postgres.BacklogOptions{SkipCompat: true, SkipOAuth2: true, SkipBrowser: true}))

		policy := func(keep int) postgres.Backlog {
			b, err := store.Backlog(ctx, "prune-stale-policy-data", scenarioNow, postgres.BacklogOptions{KeepPolicyData: keep})
			require.NoError(t, err)
			return b
		}
		require.Equal(t, int64(11), policy(1).Due, "the newest of 12 is kept")
		require.Equal(t, int64(2), policy(0).Due, "10 kept by default")
		require.Equal(t, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), policy(0).Oldest)
		require.Zero(t, policy(12).Due)
		require.Zero(t, policy(20).Due)
	})

	t.Run("EstimatesPastTheBound", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Migrated(t).DB
		// 500 000 compat sessions created 10 seconds apart from 1 January,
		// every other one finished as it was created (the others are live,
		// finished_at NULL, as in a real table); those of January are
		// before the horizon.
		const rows = 500000
		_, err := db.Exec(`INSERT INTO users (user_id, username, created_at) VALUES ('01890000-0000-0000-0000-000000000001', 'alice', '2026-01-01Z')`)
		require.NoError(t, err)
		_, err = db.Exec(`
			INSERT INTO compat_sessions (compat_session_id, user_id, created_at, finished_at)
			SELECT (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') || lpad(to_hex(g), 20, '0'))::uuid,
			       '01890000-0000-0000-0000-000000000001', at, CASE WHEN g % 2 = 0 THEN at END
			FROM generate_series(1, $1) g, LATERAL (SELECT '2026-01-01Z'::timestamptz + g * interval '10 seconds' AS at) a`, rows)
		require.NoError(t, err)
		_, err = db.Exec(`ANALYZE compat_sessions`)
		require.NoError(t, err)
		horizon := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		var want int64
		require.NoError(t, db.Get(&want, `SELECT count(*) FROM compat_sessions WHERE finished_at < $1`, horizon))
		require.Greater(t, want, int64(rows/6))
		ctx := context.Background()
		store := postgres.New(db)
		const job = "cleanup-finished-compat-sessions"

		exact, err := store.Backlog(ctx, job, horizon, postgres.BacklogOptions{})
		require.NoError(t, err)
		require.Equal(t, postgres.Backlog{Due: want, Oldest: time.Date(2026, 1, 1, 0, 0, 20, 0, time.UTC)}, exact)

		estimate, err := store.Backlog(ctx, job, horizon, postgres.BacklogOptions{ExactWithin: time.Millisecond})
		require.NoError(t, err)
		require.True(t, estimate.Estimated, "counting %d rows took under 1ms", want)
		require.InEpsilon(t, float64(want), float64(estimate.Due), 0.3, "the estimate counts the NULLs out once")
		// The oldest row is one index read, also bounded by the 1ms: on a
		// loaded machine (CI) it can miss it, and is then unknown (zero).
		if !estimate.Oldest.IsZero() {
			require.Equal(t, exact.Oldest, estimate.Oldest)
		}

		// A context that ends while counting is an error, never an estimate.
		short, cancel := context.WithTimeout(ctx, time.Millisecond)
		defer cancel()
		_, err = store.Backlog(short, job, horizon, postgres.BacklogOptions{})
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})

	t.Run("RefusesUnknownJobsAndBadOptions", func(t *testing.T) {
		t.Parallel()
		store := postgres.New(pgtest.Migrated(t).DB)
		ctx := context.Background()
		_, err := store.Backlog(ctx, "cleanup-everything", scenarioNow, postgres.BacklogOptions{})
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
		require.ErrorContains(t, err, `"cleanup-everything"`)
		_, err = store.Backlog(ctx, "cleanup-queue-jobs", scenarioNow, postgres.BacklogOptions{ExactWithin: -time.Second})
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
		_, err = store.Backlog(ctx, "prune-stale-policy-data", scenarioNow, postgres.BacklogOptions{KeepPolicyData: -1})
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("CancelledContextIsItsError", func(t *testing.T) {
		t.Parallel()
		store := postgres.New(pgtest.Migrated(t).DB)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := store.Backlog(ctx, "cleanup-queue-jobs", scenarioNow, postgres.BacklogOptions{})
		require.ErrorIs(t, err, context.Canceled)
	})
}
