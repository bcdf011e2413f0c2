package schema_test

import (
	"context"
	"database/sql"
	"maps"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/schema"
)

// Fixed ids keep the SQL readable; the schema does not care what they encode.
const (
	userID        = "00000000-0000-0000-0000-000000000001"
	linkedSession = "00000000-0000-0000-0000-0000000000a1"
	otherSession  = "00000000-0000-0000-0000-0000000000a2"
	providerID    = "00000000-0000-0000-0000-0000000000b1"
	upstreamOld   = "00000000-0000-0000-0000-0000000000c1"
	upstreamNew   = "00000000-0000-0000-0000-0000000000c2"
	upstreamNever = "00000000-0000-0000-0000-0000000000c3"
	compatID      = "00000000-0000-0000-0000-0000000000d1"
	jobFirst      = "00000000-0000-0000-0000-0000000000e1"
	jobRetry      = "00000000-0000-0000-0000-0000000000e2"
)

func exec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	_, err := db.Exec(query, args...)
	require.NoError(t, err)
}

func TestUpgradeInPlaceFromBaseline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.Empty(t)
	m, err := schema.NewMigrator(db.DB.DB)
	require.NoError(t, err)
	require.NoError(t, m.MigrateTo(ctx, 1))

	sqlDB := db.DB.DB
	exec(t, sqlDB, `INSERT INTO users (user_id, username, created_at) VALUES ($1, 'alice', now())`, userID)
	exec(t, sqlDB, `INSERT INTO user_sessions (user_session_id, user_id, created_at) VALUES ($1, $3, now()), ($2, $3, now())`, linkedSession, otherSession, userID)
	exec(t, sqlDB, `INSERT INTO compat_sessions (compat_session_id, user_id, user_session_id, created_at) VALUES ($1, $2, $3, now())`, compatID, userID, linkedSession)
	exec(t, sqlDB, `INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, scope, client_id, token_endpoint_auth_method, created_at)
		VALUES ($1, 'openid', 'client', 'none', now())`, providerID)
	exec(t, sqlDB, `INSERT INTO upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id, upstream_oauth_provider_id, state, created_at)
		VALUES ($1, $4, 'state-old', now()), ($2, $4, 'state-new', now()), ($3, $4, 'state-never', now())`, upstreamOld, upstreamNew, upstreamNever, providerID)
	exec(t, sqlDB, `INSERT INTO user_session_authentications (user_session_authentication_id, user_session_id, upstream_oauth_authorization_session_id, created_at)
		VALUES (gen_random_uuid(), $1, $2, now())`, linkedSession, upstreamOld)
	// A retry chain: the first attempt names its retry, and a schedule names the retry.
	exec(t, sqlDB, `INSERT INTO queue_schedules (schedule_name) VALUES ('cleanup')`)
	exec(t, sqlDB, `INSERT INTO queue_jobs (queue_job_id, queue_name, status, created_at) VALUES ($1, 'q', 'completed', now()), ($2, 'q', 'completed', now())`, jobRetry, jobFirst)
	exec(t, sqlDB, `UPDATE queue_jobs SET next_attempt_id = $1 WHERE queue_job_id = $2`, jobRetry, jobFirst)
	exec(t, sqlDB, `UPDATE queue_schedules SET last_scheduled_job_id = $1`, jobRetry)

	findings, err := schema.Verify(ctx, sqlDB)
	require.NoError(t, err)
	require.Contains(t, names(findings), "constraint compat_sessions_user_session_id_fkey")

	require.NoError(t, m.Migrate(ctx))
	findings, err = schema.Verify(ctx, sqlDB)
	require.NoError(t, err)
	require.Empty(t, findings)

	t.Run("BackfillFilledUserSessionID", func(t *testing.T) {
		var got sql.NullString
		require.NoError(t, db.DB.Get(&got, `SELECT user_session_id FROM upstream_oauth_authorization_sessions WHERE upstream_oauth_authorization_session_id = $1`, upstreamOld))
		require.Equal(t, linkedSession, got.String)
		require.NoError(t, db.DB.Get(&got, `SELECT user_session_id FROM upstream_oauth_authorization_sessions WHERE upstream_oauth_authorization_session_id = $1`, upstreamNever))
		require.False(t, got.Valid)
	})

	t.Run("TriggerFillsUserSessionIDForNewAuthentications", func(t *testing.T) {
		exec(t, sqlDB, `INSERT INTO user_session_authentications (user_session_authentication_id, user_session_id, upstream_oauth_authorization_session_id, created_at)
			VALUES (gen_random_uuid(), $1, $2, now())`, otherSession, upstreamNew)
		var got string
		require.NoError(t, db.DB.Get(&got, `SELECT user_session_id FROM upstream_oauth_authorization_sessions WHERE upstream_oauth_authorization_session_id = $1`, upstreamNew))
		require.Equal(t, otherSession, got)
	})

	t.Run("UserSessionWithCompatSessionCannotBeDeleted", func(t *testing.T) {
		exec(t, sqlDB, `DELETE FROM user_session_authentications WHERE user_session_id = $1`, linkedSession)
		_, err := sqlDB.Exec(`DELETE FROM user_sessions WHERE user_session_id = $1`, linkedSession)
		require.ErrorContains(t, err, "compat_sessions_user_session_id_fkey")
	})

	t.Run("DeletingAQueueJobNullsWhatNamesIt", func(t *testing.T) {
		exec(t, sqlDB, `DELETE FROM queue_jobs WHERE queue_job_id = $1`, jobRetry)
		var next, last sql.NullString
		require.NoError(t, db.DB.Get(&next, `SELECT next_attempt_id FROM queue_jobs WHERE queue_job_id = $1`, jobFirst))
		require.False(t, next.Valid)
		require.NoError(t, db.DB.Get(&last, `SELECT last_scheduled_job_id FROM queue_schedules WHERE schedule_name = 'cleanup'`))
		require.False(t, last.Valid)
	})
}

func names(findings []schema.Finding) []string {
	out := make([]string, len(findings))
	for i, f := range findings {
		out[i] = f.Kind + " " + f.Name
	}
	return out
}

// lastBeforeStep17 is the last migration the library shipped before MAS
// main's six tables (step 17 of SCHEMA.md): what deployed databases are at.
const lastBeforeStep17 = 29

func TestUpgradeInPlaceToMASMain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.Empty(t)
	m, err := schema.NewMigrator(db.DB.DB)
	require.NoError(t, err)
	require.NoError(t, m.MigrateTo(ctx, lastBeforeStep17))

	sqlDB := db.DB.DB
	exec(t, sqlDB, `INSERT INTO users (user_id, username, created_at) VALUES ($1, 'alice', now())`, userID)
	exec(t, sqlDB, `INSERT INTO user_sessions (user_session_id, user_id, created_at, last_active_ip) VALUES ($1, $2, now(), '192.0.2.1')`, linkedSession, userID)
	exec(t, sqlDB, `INSERT INTO compat_sessions (compat_session_id, user_id, user_session_id, created_at) VALUES ($1, $2, $3, now())`, compatID, userID, linkedSession)
	exec(t, sqlDB, `INSERT INTO oauth2_clients (oauth2_client_id, client_name, client_uri, grant_type_authorization_code, grant_type_refresh_token)
		VALUES (gen_random_uuid(), 'Element', 'https://element.example', true, true)`)
	exec(t, sqlDB, `INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, scope, client_id, token_endpoint_auth_method, created_at)
		VALUES ($1, 'openid', 'client', 'none', now())`, providerID)
	exec(t, sqlDB, `INSERT INTO upstream_oauth_links (upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject, human_account_name, created_at)
		VALUES (gen_random_uuid(), $1, $2, 'sub', 'alice@idp', now())`, providerID, userID)
	exec(t, sqlDB, `INSERT INTO queue_workers (queue_worker_id, registered_at, last_seen_at) VALUES (gen_random_uuid(), now(), now())`)
	tables := schema.Expected().Tables()
	before := tableDigests(t, sqlDB, tables)

	require.NoError(t, m.Migrate(ctx))

	want := schema.Expected()
	maps.Copy(want.Indexes, schema.Additions().Indexes)
	got, err := schema.Inspect(ctx, sqlDB, want.Tables())
	require.NoError(t, err)
	require.Empty(t, schema.Diff(want, got), "missing or different")
	require.Empty(t, schema.Diff(got, want), "present but not in the catalog")
	require.Len(t, want.Tables(), 33)
	findings, err := schema.Verify(ctx, sqlDB)
	require.NoError(t, err)
	require.Empty(t, findings)

	after := tableDigests(t, sqlDB, tables)
	for _, table := range tables {
		if _, existed := before[table]; existed {
			require.Equal(t, before[table], after[table], "rows of %s changed", table)
		}
	}
	require.Len(t, before, 27, "the tables at step 16")

	// The trigram indexes serve a similarity search.
	var n int
	exec(t, sqlDB, `SET enable_seqscan = off`)
	require.NoError(t, db.DB.Get(&n, `SELECT count(*) FROM users WHERE username % 'alicia'`))
	require.Equal(t, 1, n)
}

// tableDigests returns, for each table that exists, a digest of its rows.
func tableDigests(t *testing.T, db *sql.DB, tables []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range tables {
		var exists bool
		require.NoError(t, db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists))
		if !exists {
			continue
		}
		var digest sql.NullString
		require.NoError(t, db.QueryRow(`SELECT md5(string_agg(r::text, ';' ORDER BY r::text)) || count(*) FROM `+table+` r`).Scan(&digest))
		out[table] = digest.String
	}
	return out
}
