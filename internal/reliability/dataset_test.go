package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/schema"
)

// bulkScaleEnv multiplies the size of the bulk datasets: 1 (the default) keeps
// CI fast, 10 gives the upgrade test its 1 000 000 compat sessions and queue
// jobs and the replica test 2 000 000 rows.
const bulkScaleEnv = "MASSTORE_RELIABILITY_SCALE"

// bulkNow is the clock of every bulk dataset: rows are old or recent
// relative to it, and the janitor runs with --now bulkNow.
var bulkNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// bulkScale returns the multiplier of bulkScaleEnv.
func bulkScale(t testing.TB) int {
	t.Helper()
	v := os.Getenv(bulkScaleEnv)
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, "%s=%q", bulkScaleEnv, v)
	require.Positive(t, n, "%s=%q", bulkScaleEnv, v)
	return n
}

// bulkFunctions defines, for the session running the bulk SQL, a ULID-like
// uuid whose first 48 bits are the millisecond of `at` (what the ULID-age
// jobs read), then a tag naming the table, then n.
const bulkFunctions = `
CREATE FUNCTION pg_temp.bulk_id(at timestamptz, tag int, n bigint) RETURNS uuid LANGUAGE sql STABLE AS $$
	SELECT (lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0')
		|| lpad(to_hex(tag), 4, '0') || lpad(to_hex(n), 16, '0'))::uuid
$$;
CREATE FUNCTION pg_temp.bulk_n(id uuid) RETURNS bigint LANGUAGE sql STABLE AS $$
	SELECT ('x' || right(replace(id::text, '-', ''), 15))::bit(60)::bigint
$$;
CREATE FUNCTION pg_temp.bulk_ip(n bigint) RETURNS inet LANGUAGE sql STABLE AS $$
	SELECT ('10.' || (n >> 16) % 256 || '.' || (n >> 8) % 256 || '.' || n % 256)::inet
$$;
`

// bulkRun runs multi-statement SQL with {name} placeholders replaced.
func bulkRun(t testing.TB, db *sqlx.DB, query string, vars map[string]string) {
	t.Helper()
	var pairs []string
	for k, v := range vars {
		pairs = append(pairs, "{"+k+"}", v)
	}
	query = strings.NewReplacer(pairs...).Replace(query)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	conn, err := db.Connx(ctx)
	require.NoError(t, err)
	defer conn.Close()
	// The rows are consistent by construction: a superuser skips the
	// foreign-key and trigger checks, which take most of the time. Others
	// (an external server's role) just wait longer.
	if _, err := conn.ExecContext(ctx, `SET session_replication_role = replica`); err == nil {
		defer conn.ExecContext(context.WithoutCancel(ctx), `RESET session_replication_role`) //nolint:errcheck // the connection is closed next
	}
	_, err = conn.ExecContext(ctx, bulkFunctions+query)
	require.NoError(t, err)
}

// bulkCleanupSQL fills a migrated database with rows for every cleanup job,
// relative to {now}, in proportion to {g} (about 20 rows per unit):
//
//   - browser sessions (user_agent names the kind): finished long ago without
//     children (go, with their authentications), finished long ago with a live
//     compat or OAuth 2.0 child (stay), finished long ago whose only child is
//     a compat session finished long ago (go once the child went: the order of
//     the jobs matters), live with a stale IP (IP cleared), live, finished
//     recently;
//   - compat sessions, each with an access and a refresh token: finished long
//     ago (go with their tokens), live with a stale IP, live, finished recently;
//   - OAuth 2.0 sessions, each with an access and a refresh token, likewise;
//     live ones with a revoked and an expired access token and a consumed
//     refresh token whose successor is revoked (both go) or live (both stay);
//   - queue jobs: completed, failed (naming a retry), lost, available (old)
//     and completed recently; a schedule naming an old job; workers;
//   - personal sessions of users or of the client, each with a token:
//     revoked long ago (go, with their tokens), live with a stale IP (IP
//     cleared) and a token revoked long ago (goes) beside the live one,
//     live, revoked recently;
//   - 30 policy data versions, a day apart (all but the newest 10 go);
//   - upstream links and logins, registrations, email authentications with
//     codes, recovery sessions, authorization and device-code grants, SSO
//     logins: half old, half recent.
const bulkCleanupSQL = `
CREATE FUNCTION pg_temp.bulk_user(i bigint) RETURNS uuid LANGUAGE sql STABLE AS $$
	SELECT pg_temp.bulk_id({now} - interval '200 days' + i * interval '1 second', 1, i)
$$;
CREATE FUNCTION pg_temp.bulk_link(i bigint) RETURNS uuid LANGUAGE sql STABLE AS $$
	SELECT pg_temp.bulk_id(CASE WHEN i % 4 < 2 THEN {now} - interval '30 days' ELSE {now} - interval '1 day' END + i * interval '1 ms', 17, i)
$$;
CREATE FUNCTION pg_temp.bulk_us(i bigint) RETURNS uuid LANGUAGE sql STABLE AS $$
	SELECT pg_temp.bulk_id({now} - interval '90 days' + i * interval '100 ms', 2, i)
$$;

INSERT INTO users (user_id, username, created_at)
SELECT pg_temp.bulk_user(i), 'bulk' || i, {now} - interval '200 days' + i * interval '1 second'
FROM generate_series(1, {users}) i;

INSERT INTO user_sessions (user_session_id, user_id, user_agent, created_at, finished_at, last_active_at, last_active_ip)
SELECT pg_temp.bulk_us(i), pg_temp.bulk_user(i % {users} + 1), 'kind-' || i % 6,
	{now} - interval '90 days' + i * interval '100 ms',
	CASE WHEN i % 6 IN (0, 1, 2) THEN {now} - interval '40 days' + i * interval '100 ms'
	     WHEN i % 6 = 5 THEN {now} - interval '1 day' END,
	CASE WHEN i % 6 IN (0, 1, 2) THEN {now} - interval '40 days' + i * interval '100 ms'
	     WHEN i % 6 = 3 THEN {now} - interval '45 days' + i * interval '100 ms'
	     WHEN i % 6 = 4 THEN {now} - interval '1 hour'
	     ELSE {now} - interval '1 day' END,
	pg_temp.bulk_ip(i)
FROM generate_series(1, 3 * {g}) i;

INSERT INTO user_session_authentications (user_session_authentication_id, user_session_id, created_at)
SELECT pg_temp.bulk_id(created_at, 3, row_number() OVER (ORDER BY user_session_id)), user_session_id, created_at
FROM user_sessions WHERE user_agent IN ('kind-0', 'kind-3');

-- Compat sessions on their own: finished long ago, live with a stale IP,
-- live, finished recently.
INSERT INTO compat_sessions (compat_session_id, user_id, device_id, created_at, finished_at, last_active_at, last_active_ip)
SELECT pg_temp.bulk_id(c, 4, i), pg_temp.bulk_user(i % {users} + 1), 'D' || i, c,
	CASE WHEN i % 4 = 0 THEN {now} - interval '35 days' + i * interval '100 ms'
	     WHEN i % 4 = 3 THEN {now} - interval '2 days' END,
	CASE WHEN i % 4 = 0 THEN {now} - interval '35 days' + i * interval '100 ms'
	     WHEN i % 4 = 1 THEN {now} - interval '50 days' + i * interval '100 ms'
	     ELSE {now} - interval '2 days' END,
	pg_temp.bulk_ip(i)
FROM generate_series(1, 2 * {g}) i, LATERAL (SELECT {now} - interval '60 days' + i * interval '100 ms' AS c) x;

-- Children of browser sessions: live under kind 1 (every other one), finished
-- long ago under kind 2.
INSERT INTO compat_sessions (compat_session_id, user_id, user_session_id, device_id, created_at, finished_at, last_active_at)
SELECT pg_temp.bulk_id(created_at + interval '1 second', 5, n), user_id, user_session_id, 'C' || n,
	created_at + interval '1 second',
	CASE WHEN user_agent = 'kind-2' THEN finished_at - interval '1 second' END,
	CASE WHEN user_agent = 'kind-2' THEN finished_at - interval '1 second' ELSE {now} - interval '3 hours' END
FROM (SELECT *, row_number() OVER (ORDER BY user_session_id) n FROM user_sessions
      WHERE user_agent = 'kind-2' OR (user_agent = 'kind-1' AND pg_temp.bulk_n(user_session_id) / 6 % 2 = 0)) us;

INSERT INTO compat_access_tokens (compat_access_token_id, compat_session_id, access_token, created_at)
SELECT pg_temp.bulk_id(created_at, 6, n), compat_session_id, 'cat-' || n, created_at
FROM (SELECT *, row_number() OVER (ORDER BY compat_session_id) n FROM compat_sessions) s;
INSERT INTO compat_refresh_tokens (compat_refresh_token_id, compat_session_id, compat_access_token_id, refresh_token, created_at)
SELECT pg_temp.bulk_id(created_at, 7, n), compat_session_id, pg_temp.bulk_id(created_at, 6, n), 'crt-' || n, created_at
FROM (SELECT *, row_number() OVER (ORDER BY compat_session_id) n FROM compat_sessions) s;

INSERT INTO oauth2_clients (oauth2_client_id, grant_type_authorization_code, grant_type_refresh_token, created_at)
VALUES (pg_temp.bulk_id({now} - interval '300 days', 8, 1), true, true, {now} - interval '300 days');

-- OAuth 2.0 sessions: finished long ago, live with a stale IP, live with old
-- tokens to clean, finished recently; and live children of the kind-1
-- browser sessions that have no compat child.
INSERT INTO oauth2_sessions (oauth2_session_id, oauth2_client_id, user_id, scope_list, user_agent, created_at, finished_at, last_active_at, last_active_ip)
SELECT pg_temp.bulk_id(c, 9, i), pg_temp.bulk_id({now} - interval '300 days', 8, 1), pg_temp.bulk_user(i % {users} + 1),
	'{openid}', 'kind-' || i % 8, c,
	CASE WHEN i % 4 = 0 THEN {now} - interval '33 days' + i * interval '100 ms'
	     WHEN i % 4 = 3 THEN {now} - interval '3 days' END,
	CASE WHEN i % 4 = 1 THEN {now} - interval '55 days' + i * interval '100 ms' ELSE {now} - interval '3 days' END,
	pg_temp.bulk_ip(i)
FROM generate_series(1, {g}) i, LATERAL (SELECT {now} - interval '70 days' + i * interval '100 ms' AS c) x;
INSERT INTO oauth2_sessions (oauth2_session_id, oauth2_client_id, user_id, user_session_id, scope_list, user_agent, created_at, last_active_at)
SELECT pg_temp.bulk_id(created_at + interval '2 seconds', 9, {g} + n), pg_temp.bulk_id({now} - interval '300 days', 8, 1),
	user_id, user_session_id, '{openid}', 'child', created_at + interval '2 seconds', {now} - interval '3 hours'
FROM (SELECT *, row_number() OVER (ORDER BY user_session_id) n FROM user_sessions
      WHERE user_agent = 'kind-1' AND pg_temp.bulk_n(user_session_id) / 6 % 2 = 1) us;

-- Every OAuth 2.0 session has an access token a1 and a refresh token r1.
-- In kind-2 and kind-6 sessions (live), a1 was revoked two hours ago and r1
-- consumed, naming r2 as its successor; they also have an access token a2
-- that expired long ago. r2 was revoked (kind 2: r2 goes, then r1) or is live
-- (kind 6: r1 stays, never breaking the chain).
INSERT INTO oauth2_access_tokens (oauth2_access_token_id, oauth2_session_id, access_token, created_at, expires_at, revoked_at)
SELECT pg_temp.bulk_id(created_at, 10, n), oauth2_session_id, 'oat1-' || n, created_at, {now} + interval '1 hour',
	CASE WHEN user_agent IN ('kind-2', 'kind-6') THEN {now} - interval '2 hours' END
FROM (SELECT *, row_number() OVER (ORDER BY oauth2_session_id) n FROM oauth2_sessions) s;
INSERT INTO oauth2_access_tokens (oauth2_access_token_id, oauth2_session_id, access_token, created_at, expires_at)
SELECT pg_temp.bulk_id(created_at, 11, n), oauth2_session_id, 'oat2-' || n, created_at, {now} - interval '40 days' + n * interval '1 second'
FROM (SELECT *, row_number() OVER (ORDER BY oauth2_session_id) n FROM oauth2_sessions) s
WHERE user_agent IN ('kind-2', 'kind-6');
INSERT INTO oauth2_refresh_tokens (oauth2_refresh_token_id, oauth2_session_id, refresh_token, created_at, revoked_at)
SELECT pg_temp.bulk_id(created_at, 13, n), oauth2_session_id, 'ort2-' || n, created_at + interval '1 second',
	CASE WHEN user_agent = 'kind-2' THEN {now} - interval '2 hours' END
FROM (SELECT *, row_number() OVER (ORDER BY oauth2_session_id) n FROM oauth2_sessions) s
WHERE user_agent IN ('kind-2', 'kind-6');
INSERT INTO oauth2_refresh_tokens (oauth2_refresh_token_id, oauth2_session_id, oauth2_access_token_id, refresh_token, created_at, consumed_at, next_oauth2_refresh_token_id)
SELECT pg_temp.bulk_id(created_at, 12, n), oauth2_session_id, pg_temp.bulk_id(created_at, 10, n), 'ort1-' || n, created_at,
	CASE WHEN user_agent IN ('kind-2', 'kind-6') THEN {now} - interval '2 hours' END,
	CASE WHEN user_agent IN ('kind-2', 'kind-6') THEN pg_temp.bulk_id(created_at, 13, n) END
FROM (SELECT *, row_number() OVER (ORDER BY oauth2_session_id) n FROM oauth2_sessions) s;

-- The queue. Job i of kind 1 (failed) names job i+2 (kind 3, available) as
-- its retry; the schedule names a completed job.
INSERT INTO queue_schedules (schedule_name) VALUES ('bulk-nightly');
INSERT INTO queue_workers (queue_worker_id, registered_at, last_seen_at, shutdown_at)
SELECT pg_temp.bulk_id(r, 14, i), r,
	CASE WHEN i % 2 = 0 THEN {now} - interval '10 days' ELSE {now} - interval '1 minute' END,
	CASE WHEN i % 4 = 0 THEN {now} - interval '10 days' END
FROM generate_series(1, 100) i, LATERAL (SELECT {now} - interval '20 days' + i * interval '1 second' AS r) x;
INSERT INTO queue_jobs (queue_job_id, queue_name, payload, status, created_at, schedule_name, completed_at, failed_at, failed_reason, attempt)
SELECT pg_temp.bulk_id(c, 15, i), 'bulk', jsonb_build_object('i', i), s::queue_job_status, c,
	CASE WHEN i % 5 = 0 THEN 'bulk-nightly' END,
	CASE WHEN s = 'completed' THEN c + interval '1 second' END,
	CASE WHEN s = 'failed' THEN c + interval '1 second' END,
	CASE WHEN s = 'failed' THEN 'boom' END,
	CASE WHEN i % 5 = 3 THEN 1 ELSE 0 END
FROM generate_series(1, 2 * {g}) i,
	LATERAL (SELECT CASE WHEN i % 5 = 4 THEN {now} - interval '1 day' + i * interval '1 ms'
	                     ELSE {now} - interval '40 days' + i * interval '10 ms' END AS c,
	                (ARRAY['completed', 'failed', 'lost', 'available', 'completed'])[i % 5 + 1] AS s) x;
UPDATE queue_jobs SET next_attempt_id = pg_temp.bulk_id({now} - interval '40 days' + (i + 2) * interval '10 ms', 15, i + 2)
FROM generate_series(1, 2 * {g} - 2) i
WHERE i % 5 = 1 AND queue_job_id = pg_temp.bulk_id({now} - interval '40 days' + i * interval '10 ms', 15, i);
UPDATE queue_schedules SET last_scheduled_job_id = (SELECT queue_job_id FROM queue_jobs WHERE schedule_name = 'bulk-nightly' ORDER BY queue_job_id LIMIT 1),
	last_scheduled_at = {now} - interval '40 days';

-- Upstream logins: links without a user (old ones go, with their logins) or
-- with one; logins never completed (old ones go), of a link, of a browser
-- session that goes (then they go), of one that stays.
INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, issuer, scope, client_id, token_endpoint_auth_method, created_at)
VALUES (pg_temp.bulk_id({now} - interval '300 days', 16, 1), 'https://idp.example', 'openid', 'bulk', 'none', {now} - interval '300 days');
INSERT INTO upstream_oauth_links (upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject, created_at)
SELECT pg_temp.bulk_link(i), pg_temp.bulk_id({now} - interval '300 days', 16, 1),
	CASE WHEN i % 2 = 1 THEN pg_temp.bulk_user(i % {users} + 1) END, 'sub-' || i,
	CASE WHEN i % 4 < 2 THEN {now} - interval '30 days' ELSE {now} - interval '1 day' END + i * interval '1 ms'
FROM generate_series(1, {small}) i;
INSERT INTO upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id, upstream_oauth_provider_id, upstream_oauth_link_id, user_session_id, state, created_at)
SELECT pg_temp.bulk_id(c, 18, i), pg_temp.bulk_id({now} - interval '300 days', 16, 1),
	CASE WHEN i % 4 = 1 THEN pg_temp.bulk_link(i % {small} + 1) END,
	CASE WHEN i % 4 = 2 THEN pg_temp.bulk_us(6 * (i % (3 * {g} / 6)) + 6)
	     WHEN i % 4 = 3 THEN pg_temp.bulk_us(6 * (i % (3 * {g} / 6)) + 1) END,
	'state-' || i, c
FROM generate_series(1, 2 * {small}) i,
	LATERAL (SELECT CASE WHEN i % 4 = 1 THEN {now} - interval '1 day' ELSE {now} - interval '30 days' END + i * interval '1 ms' AS c) x;

INSERT INTO user_registrations (user_registration_id, username, created_at)
SELECT pg_temp.bulk_id(c, 19, i), 'reg' || i, c
FROM generate_series(1, {small}) i,
	LATERAL (SELECT CASE WHEN i % 2 = 0 THEN {now} - interval '40 days' ELSE {now} - interval '1 day' END + i * interval '1 ms' AS c) x;
INSERT INTO user_email_authentications (user_email_authentication_id, email, created_at)
SELECT pg_temp.bulk_id(c, 20, i), 'e' || i || '@example.org', c
FROM generate_series(1, {small}) i,
	LATERAL (SELECT CASE WHEN i % 2 = 0 THEN {now} - interval '10 days' ELSE {now} - interval '1 day' END + i * interval '1 ms' AS c) x;
INSERT INTO user_email_authentication_codes (user_email_authentication_code_id, user_email_authentication_id, code, created_at, expires_at)
SELECT pg_temp.bulk_id(created_at, 21, n), user_email_authentication_id, lpad(n::text, 6, '0'), created_at, created_at + interval '10 minutes'
FROM (SELECT *, row_number() OVER (ORDER BY user_email_authentication_id) n FROM user_email_authentications) a;
INSERT INTO user_recovery_sessions (user_recovery_session_id, email, user_agent, ip_address, locale, created_at)
SELECT pg_temp.bulk_id(c, 22, i), 'r' || i || '@example.org', 'bulk', pg_temp.bulk_ip(i), 'en', c
FROM generate_series(1, {small}) i,
	LATERAL (SELECT CASE WHEN i % 2 = 0 THEN {now} - interval '10 days' ELSE {now} - interval '1 day' END + i * interval '1 ms' AS c) x;
INSERT INTO oauth2_authorization_grants (oauth2_authorization_grant_id, oauth2_client_id, redirect_uri, scope, response_mode, response_type_code, response_type_id_token, created_at)
SELECT pg_temp.bulk_id(c, 23, i), pg_temp.bulk_id({now} - interval '300 days', 8, 1), 'https://app.example/', 'openid', 'query', true, false, c
FROM generate_series(1, {small}) i,
	LATERAL (SELECT CASE WHEN i % 2 = 0 THEN {now} - interval '10 days' ELSE {now} - interval '1 day' END + i * interval '1 ms' AS c) x;
INSERT INTO oauth2_device_code_grant (oauth2_device_code_grant_id, oauth2_client_id, scope, device_code, user_code, created_at, expires_at)
SELECT pg_temp.bulk_id(c, 24, i), pg_temp.bulk_id({now} - interval '300 days', 8, 1), 'openid', 'dev-' || i, 'U' || i, c, c + interval '15 minutes'
FROM generate_series(1, {small}) i,
	LATERAL (SELECT CASE WHEN i % 2 = 0 THEN {now} - interval '10 days' ELSE {now} - interval '1 day' END + i * interval '1 ms' AS c) x;
-- SSO logins: abandoned long ago (go), abandoned recently (stay), fulfilled
-- for a compat session finished long ago (go with it).
INSERT INTO compat_sso_logins (compat_sso_login_id, login_token, redirect_uri, created_at, fulfilled_at, compat_session_id)
SELECT pg_temp.bulk_id(c, 25, i), 'sso-' || i, 'https://app.example/', c,
	CASE WHEN i % 4 = 3 THEN c END,
	CASE WHEN i % 4 = 3 THEN pg_temp.bulk_id({now} - interval '60 days' + 4 * i * interval '100 ms', 4, 4 * i) END
FROM generate_series(1, {small}) i,
	LATERAL (SELECT CASE WHEN i % 4 IN (0, 3) THEN {now} - interval '10 days' ELSE {now} - interval '1 day' END + i * interval '1 ms' AS c) x;
-- Personal sessions: revoked long ago (no IP: only the session job takes
-- them), live with a stale IP, live, revoked recently; every eighth is the
-- client's.
INSERT INTO personal_sessions (personal_session_id, owner_user_id, owner_oauth2_client_id, actor_user_id, human_name, scope_list, created_at, revoked_at, last_active_at, last_active_ip)
SELECT pg_temp.bulk_id(c, 26, i),
	CASE WHEN i % 8 <> 6 THEN pg_temp.bulk_user(i % {users} + 1) END,
	CASE WHEN i % 8 = 6 THEN pg_temp.bulk_id({now} - interval '300 days', 8, 1) END,
	pg_temp.bulk_user(i % {users} + 1), 'bot-' || i, '{urn:matrix:client:api:*}', c,
	CASE WHEN i % 4 = 0 THEN {now} - interval '40 days' + i * interval '1 ms'
	     WHEN i % 4 = 3 THEN {now} - interval '1 day' END,
	CASE WHEN i % 4 = 0 THEN {now} - interval '40 days' + i * interval '1 ms'
	     WHEN i % 4 = 1 THEN {now} - interval '50 days' + i * interval '1 ms'
	     ELSE {now} - interval '2 days' END,
	CASE WHEN i % 4 <> 0 THEN pg_temp.bulk_ip(i) END
FROM generate_series(1, {small}) i, LATERAL (SELECT {now} - interval '60 days' + i * interval '1 ms' AS c) x;
-- Each has a token: revoked with it when it was revoked recently; expired
-- long ago, not revoked, when it was revoked long ago (so that only the
-- session job takes it: a replica already at the token job must not). The
-- live ones also have a token revoked long ago.
INSERT INTO personal_access_tokens (personal_access_token_id, personal_session_id, access_token_sha256, created_at, expires_at, revoked_at)
SELECT pg_temp.bulk_id(created_at + interval '1 second', 27, n), personal_session_id, sha256(convert_to('pat1-' || n, 'UTF8')),
	created_at + interval '1 second',
	CASE WHEN revoked_at < {now} - interval '30 days' THEN revoked_at END,
	CASE WHEN revoked_at >= {now} - interval '30 days' THEN revoked_at END
FROM (SELECT *, row_number() OVER (ORDER BY personal_session_id) n FROM personal_sessions) s;
INSERT INTO personal_access_tokens (personal_access_token_id, personal_session_id, access_token_sha256, created_at, expires_at, revoked_at)
SELECT pg_temp.bulk_id(created_at, 28, n), personal_session_id, sha256(convert_to('pat0-' || n, 'UTF8')),
	created_at, created_at + interval '90 days', {now} - interval '40 days' + n * interval '1 ms'
FROM (SELECT *, row_number() OVER (ORDER BY personal_session_id) n FROM personal_sessions) s
WHERE revoked_at IS NULL;

INSERT INTO policy_data (policy_data_id, created_at, data)
SELECT pg_temp.bulk_id(c, 29, i), c, jsonb_build_object('version', i)
FROM generate_series(1, 30) i, LATERAL (SELECT {now} - interval '31 days' + i * interval '1 day' AS c) x;
ANALYZE;
`

// bulkFillCleanup fills db with bulkCleanupSQL for g (g = 10000 makes about
// 200 000 rows) and returns the number of rows made.
func bulkFillCleanup(t testing.TB, db *sqlx.DB, g int) int {
	t.Helper()
	require.GreaterOrEqual(t, g, 100)
	bulkRun(t, db, bulkCleanupSQL, map[string]string{
		"now":   "'" + bulkNow.Format(time.RFC3339) + "'::timestamptz",
		"g":     strconv.Itoa(g),
		"users": strconv.Itoa(g / 10),
		"small": strconv.Itoa(g / 10),
	})
	total := 0
	for _, d := range bulkDigest(t, db) {
		total += d.Rows
	}
	return total
}

// bulkTableDigest summarises a table: its row count, and an md5 of its sorted
// primary keys and of its sorted rows.
type bulkTableDigest struct {
	Rows int
	IDs  string
	Data string
}

// janitorRunLog is the table where examples/janitor records each job's last
// run: when it finished and how long it took, which differ from run to run.
const janitorRunLog = "masstore_janitor_runs"

// bulkDigest summarises every table of the public schema but the migrator's
// and the janitor's run log: the data, not the bookkeeping about it.
func bulkDigest(t testing.TB, db *sqlx.DB) map[string]bulkTableDigest {
	t.Helper()
	var tables []string
	require.NoError(t, db.Select(&tables, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ($1, $2) ORDER BY 1`, schema.DefaultTable, janitorRunLog))
	out := map[string]bulkTableDigest{}
	for _, table := range tables {
		var pk []string
		require.NoError(t, db.Select(&pk, `
			SELECT quote_ident(a.attname) FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
			WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY a.attnum`, table))
		ids := "''"
		if len(pk) > 0 {
			ids = "md5(coalesce(string_agg((" + strings.Join(pk, ", ") + ")::text, ',' ORDER BY (" + strings.Join(pk, ", ") + ")::text), ''))"
		}
		q := pq.QuoteIdentifier(table)
		var d bulkTableDigest
		require.NoError(t, db.QueryRow(`SELECT count(*), `+ids+`, md5(coalesce(string_agg(r::text, ',' ORDER BY r::text), '')) FROM `+q+` r`).
			Scan(&d.Rows, &d.IDs, &d.Data), table)
		out[table] = d
	}
	return out
}

// bulkServer reaches the test server's maintenance database, to create and
// drop the databases of bulk tests.
type bulkServer struct {
	adminURL string
	admin    *sqlx.DB
}

func bulkConnect(t testing.TB) *bulkServer {
	t.Helper()
	u := pgtest.AdminURL(t)
	admin, err := sqlx.Open("postgres", u)
	require.NoError(t, err)
	admin.SetMaxOpenConns(4)
	t.Cleanup(func() { admin.Close() })
	return &bulkServer{adminURL: u, admin: admin}
}

// url returns the URL of the named database on the server.
func (s *bulkServer) url(t testing.TB, name string, params ...string) string {
	t.Helper()
	u, err := url.Parse(s.adminURL)
	require.NoError(t, err, "admin URL is not a URL")
	u.Path = "/" + name
	q := u.Query()
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// create makes a database copied from template (empty: template0), dropped
// when the test ends. The template must have no open connection.
func (s *bulkServer) create(t testing.TB, template string) *pgtest.Database {
	t.Helper()
	if template == "" {
		template = "template0"
	}
	name := fmt.Sprintf("masstore_bulk_%d_%d", os.Getpid(), time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)+" TEMPLATE "+pq.QuoteIdentifier(template))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	db := &pgtest.Database{Name: name, URL: s.url(t, name)}
	db.DB, err = sqlx.Open("postgres", db.URL)
	require.NoError(t, err)
	t.Cleanup(func() { db.DB.Close() })
	return db
}

// migrated makes a new database with every migration applied.
func (s *bulkServer) migrated(t testing.TB) *pgtest.Database {
	t.Helper()
	db := s.create(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	require.NoError(t, schema.Migrate(ctx, db.DB.DB))
	return db
}

// copies closes src's connections and returns n copies of it.
func (s *bulkServer) copies(t testing.TB, src *pgtest.Database, n int) []*pgtest.Database {
	t.Helper()
	require.NoError(t, src.DB.Close())
	out := make([]*pgtest.Database, n)
	for i := range out {
		out[i] = s.create(t, src.Name)
	}
	return out
}

// bulkJanitor builds the janitor command into the test's temporary directory.
func bulkJanitor(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "janitor")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/masstore/masstore/examples/janitor")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// bulkReport is the part of the janitor's --json report the tests read.
type bulkReport struct {
	Job      string  `json:"job"`
	Affected int     `json:"affected"`
	Scanned  int     `json:"scanned"`
	Batches  int     `json:"batches"`
	Stopped  *string `json:"stopped"`
}

// bulkReports parses the janitor's --json output, one report per job.
func bulkReports(t testing.TB, out string) map[string]bulkReport {
	t.Helper()
	reports := map[string]bulkReport{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r bulkReport
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), sc.Text())
		reports[r.Job] = r
	}
	return reports
}

// bulkJanitorRun is one run of the janitor command.
type bulkJanitorRun struct {
	Code           int
	Stdout, Stderr string
	Took           time.Duration
}

// bulkRunJanitor runs `janitor run --once --json --now bulkNow` on the
// database URL with extra flags, killed at the deadline of ctx.
func bulkRunJanitor(ctx context.Context, t testing.TB, bin, dbURL string, extra ...string) bulkJanitorRun {
	cmd := bulkJanitorCommand(ctx, bin, dbURL, extra...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	return bulkJanitorResult(t, err, stdout.String(), stderr.String(), time.Since(start))
}

func bulkJanitorCommand(ctx context.Context, bin, dbURL string, extra ...string) *exec.Cmd {
	args := append([]string{"run", "--once", "--json", "--now", bulkNow.Format(time.RFC3339), "--database-url", dbURL}, extra...)
	return exec.CommandContext(ctx, bin, args...)
}

func bulkJanitorResult(t testing.TB, err error, stdout, stderr string, took time.Duration) bulkJanitorRun {
	r := bulkJanitorRun{Stdout: stdout, Stderr: stderr, Took: took}
	if exitErr, ok := err.(*exec.ExitError); ok {
		r.Code = exitErr.ExitCode()
	} else if err != nil {
		t.Errorf("janitor did not run: %v", err)
		r.Code = -1
	}
	return r
}

// bulkDiff lists the tables whose digests differ.
func bulkDiff(want, got map[string]bulkTableDigest) []string {
	var diff []string
	for table, w := range want {
		if g := got[table]; g != w {
			diff = append(diff, fmt.Sprintf("%s: want %d rows (%s), got %d rows (%s)", table, w.Rows, w.Data[:8], g.Rows, g.Data[:min(8, len(g.Data))]))
		}
	}
	for table := range got {
		if _, ok := want[table]; !ok {
			diff = append(diff, table+": unexpected table")
		}
	}
	sort.Strings(diff)
	return diff
}
