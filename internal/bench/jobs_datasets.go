package main

import (
	"fmt"
	"time"

	"github.com/masstore/masstore/cleanup"
)

// More table tags, for the jobs scenario's tables.
const (
	tagUpstreamProvider = tagOAuth2RefreshToken + 1 + iota
	tagUpstreamLink
	tagUpstreamSession
	tagUserRegistration
	tagEmailAuthentication
	tagEmailAuthenticationCode
	tagAuthorizationGrant
	tagDeviceCodeGrant
	tagRecoverySession
	tagRecoveryTicket
	tagUserEmail
	tagPolicyData
	tagQueueWorker
	tagCompatSSOLogin
	tagPersonalSession
	tagPersonalAccessToken
)

// fresh is a time after the horizon of every job, the 1-hour ones too
// (recent is not: it is 23 hours before benchNow).
const fresh = `(timestamptz '2026-05-31 23:30:00+00' + i * interval '1 microsecond')`

// staleOr is SQL for row i's qualifying time over rowsOf's columns: stale
// (before every horizon) for even i, stay for odd i.
func staleOr(stay string) string { return "CASE WHEN i % 2 = 0 THEN c + f ELSE " + stay + " END" }

// predecessorStaleOr is staleOr for the datasets whose rows go in pairs
// (2k-1, 2k), the first naming the second: stale for odd i, stay for even i.
func predecessorStaleOr(stay string) string {
	return "CASE WHEN i % 2 = 1 THEN c + f ELSE " + stay + " END"
}

// agedRowsOf is rowsOf with a column a, the creation time of a row cleaned
// up by ULID age: c (before every horizon) for even i, recent for odd i.
func agedRowsOf(total int) string {
	return fmt.Sprintf(`(SELECT i, c, f, CASE WHEN i %% 2 = 0 THEN c ELSE %s END AS a FROM %s) AS r`, recent, rowsOf(total))
}

// nextRowID is the ID of row i+1 of rowsOf(total) in a table whose row IDs
// are ulidExpr("c", tag, "i").
func nextRowID(total, tag int) string {
	return ulidExpr(fmt.Sprintf("(c + %d * interval '1 microsecond')", spanUS/int64(total)), tag, "(i + 1)")
}

// parentID is the ID of row i's parent, one of `parents` rows created at
// baseTime with IDs ulidExpr(baseTime, tag, 1..parents).
func parentID(tag, parents int) string {
	return ulidExpr(baseTime, tag, fmt.Sprintf("(i %% %d + 1)", parents))
}

// The single rows the datasets share.
var (
	clientID   = ulidExpr(baseTime, tagOAuth2Client, "1")
	providerID = ulidExpr(baseTime, tagUpstreamProvider, "1")
	workerID   = ulidExpr(baseTime, tagQueueWorker, "0")
)

// insertClient adds the one (not static) OAuth 2.0 client.
var insertClient = fmt.Sprintf(`INSERT INTO oauth2_clients (oauth2_client_id, grant_type_authorization_code, grant_type_refresh_token)
	VALUES (%s, true, true)`, clientID)

// insertProvider adds the one upstream OAuth 2.0 provider.
var insertProvider = fmt.Sprintf(`INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, issuer, client_id, scope, token_endpoint_auth_method, created_at)
	VALUES (%s, 'https://idp.example', 'masstore', 'openid', 'client_secret_basic', %s)`, providerID, baseTime)

// oauth2SessionsOf inserts the client, the users and the live OAuth 2.0
// sessions the tokens of rowsOf(total) belong to: one session per 10 rows,
// whose IDs parentID(tagOAuth2Session, sessions) gives.
func oauth2SessionsOf(total int) (sessions int, stmts []string) {
	users, insertUsers := usersOf(total)
	sessions = max(1, total/10)
	return sessions, []string{insertUsers, insertClient, fmt.Sprintf(`INSERT INTO oauth2_sessions (oauth2_session_id, user_id, oauth2_client_id, scope_list, created_at, last_active_at)
	SELECT %s, %s, %s, '{openid}', %s, %s FROM generate_series(1::bigint, %d) AS i`,
		ulidExpr(baseTime, tagOAuth2Session, "i"), userOf(users), clientID, baseTime, recent, sessions)}
}

// upstreamLoginsRows: 2n upstream logins; the even ones never completed
// (no browser session), the odd ones completed into a browser session.
func upstreamLoginsRows(n int) []string {
	total := 2 * n
	users, insertUsers := usersOf(total)
	browser := ulidExpr("c", tagUserSession, "i")
	return []string{insertUsers, insertProvider,
		fmt.Sprintf(`INSERT INTO user_sessions (user_session_id, user_id, user_agent, created_at, last_active_at)
		SELECT %s, %s, 'bench', c, %s FROM %s WHERE i %% 2 = 1`, browser, userOf(users), recent, rowsOf(total)),
		fmt.Sprintf(`INSERT INTO upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id, upstream_oauth_provider_id,
			user_session_id, state, nonce, created_at, completed_at)
		SELECT %s, %s, CASE WHEN i %% 2 = 1 THEN %s END, 'state_' || i, 'nonce', c, CASE WHEN i %% 2 = 1 THEN c END FROM %s`,
			ulidExpr("c", tagUpstreamSession, "i"), providerID, browser, rowsOf(total)),
	}
}

// upstreamLinksRows: 2n upstream links; the even ones never attached to a
// user, each with the upstream login that made it; the odd ones a user's.
func upstreamLinksRows(n int) []string {
	total := 2 * n
	users, insertUsers := usersOf(total)
	link := ulidExpr("c", tagUpstreamLink, "i")
	return []string{insertUsers, insertProvider,
		fmt.Sprintf(`INSERT INTO upstream_oauth_links (upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject, created_at)
		SELECT %s, %s, CASE WHEN i %% 2 = 1 THEN %s END, 'sub_' || i, c FROM %s`, link, providerID, userOf(users), rowsOf(total)),
		fmt.Sprintf(`INSERT INTO upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id, upstream_oauth_provider_id,
			upstream_oauth_link_id, state, created_at, completed_at)
		SELECT %s, %s, %s, 'state_' || i, c, c FROM %s WHERE i %% 2 = 0`, ulidExpr("c", tagUpstreamSession, "i"), providerID, link, rowsOf(total)),
	}
}

// accessTokensRows returns the builder of 2n OAuth 2.0 access tokens with
// those revoked_at and expires_at (SQL over rowsOf's columns), each paired
// with a refresh token.
func accessTokensRows(revoked, expires string) func(n int) []string {
	return func(n int) []string {
		total := 2 * n
		sessions, stmts := oauth2SessionsOf(total)
		access := ulidExpr("c", tagOAuth2AccessToken, "i")
		return append(stmts,
			fmt.Sprintf(`INSERT INTO oauth2_access_tokens (oauth2_access_token_id, oauth2_session_id, access_token, created_at, revoked_at, expires_at)
			SELECT %s, %s, 'mat_' || i, c, %s, %s FROM %s`, access, parentID(tagOAuth2Session, sessions), revoked, expires, rowsOf(total)),
			fmt.Sprintf(`INSERT INTO oauth2_refresh_tokens (oauth2_refresh_token_id, oauth2_session_id, oauth2_access_token_id, refresh_token, created_at)
			SELECT %s, %s, %s, 'mar_' || i, c FROM %s`, ulidExpr("c", tagOAuth2RefreshToken, "i"), parentID(tagOAuth2Session, sessions), access, rowsOf(total)))
	}
}

// revokedRefreshTokensRows: 2n OAuth 2.0 refresh tokens, the even ones
// revoked before the horizon, the odd ones in the last hour.
func revokedRefreshTokensRows(n int) []string {
	total := 2 * n
	sessions, stmts := oauth2SessionsOf(total)
	return append(stmts, fmt.Sprintf(`INSERT INTO oauth2_refresh_tokens (oauth2_refresh_token_id, oauth2_session_id, refresh_token, created_at, revoked_at)
	SELECT %s, %s, 'mar_' || i, c, %s FROM %s`, ulidExpr("c", tagOAuth2RefreshToken, "i"), parentID(tagOAuth2Session, sessions), staleOr(fresh), rowsOf(total)))
}

// consumedRefreshTokensRows: n rotations of OAuth 2.0 refresh tokens: the
// odd token consumed before the horizon into the even one that follows it,
// consumed in the last hour.
func consumedRefreshTokensRows(n int) []string {
	total := 2 * n
	sessions, stmts := oauth2SessionsOf(total)
	return append(stmts, fmt.Sprintf(`INSERT INTO oauth2_refresh_tokens (oauth2_refresh_token_id, oauth2_session_id, refresh_token, created_at,
		consumed_at, next_oauth2_refresh_token_id)
	SELECT %s, %s, 'mar_' || i, c, %s, CASE WHEN i %% 2 = 1 THEN %s END FROM %s`,
		ulidExpr("c", tagOAuth2RefreshToken, "i"), parentID(tagOAuth2Session, sessions), predecessorStaleOr(fresh),
		nextRowID(total, tagOAuth2RefreshToken), rowsOf(total)))
}

// registrationsRows: 2n registrations, the even ones (created before the
// horizon) each with its email authentication and that one's code.
func registrationsRows(n int) []string {
	rows := agedRowsOf(2 * n)
	auth := ulidExpr("a", tagEmailAuthentication, "i")
	registration := ulidExpr("a", tagUserRegistration, "i")
	return []string{
		fmt.Sprintf(`INSERT INTO user_registrations (user_registration_id, username, ip_address, user_agent, created_at, email_authentication_id)
		SELECT %s, 'reg_' || i, '192.0.2.1', 'bench', a, CASE WHEN i %% 2 = 0 THEN %s END FROM %s`, registration, auth, rows),
		fmt.Sprintf(`INSERT INTO user_email_authentications (user_email_authentication_id, email, user_registration_id, created_at)
		SELECT %s, 'reg_' || i || '@example.com', %s, a FROM %s WHERE i %% 2 = 0`, auth, registration, rows),
		emailCodes(rows),
	}
}

// emailAuthenticationsRows: 2n email authentications, the even ones
// (created before the horizon) each with a code.
func emailAuthenticationsRows(n int) []string {
	rows := agedRowsOf(2 * n)
	return []string{
		fmt.Sprintf(`INSERT INTO user_email_authentications (user_email_authentication_id, email, created_at)
		SELECT %s, 'user_' || i || '@example.com', a FROM %s`, ulidExpr("a", tagEmailAuthentication, "i"), rows),
		emailCodes(rows),
	}
}

// emailCodes inserts a code for each even email authentication of rows.
func emailCodes(rows string) string {
	return fmt.Sprintf(`INSERT INTO user_email_authentication_codes (user_email_authentication_code_id, user_email_authentication_id, code, created_at, expires_at)
	SELECT %s, %s, '123456', a, a + interval '10 minutes' FROM %s WHERE i %% 2 = 0`,
		ulidExpr("a", tagEmailAuthenticationCode, "i"), ulidExpr("a", tagEmailAuthentication, "i"), rows)
}

// authorizationGrantsRows: 2n authorization-code grants of one client.
func authorizationGrantsRows(n int) []string {
	return []string{insertClient, fmt.Sprintf(`INSERT INTO oauth2_authorization_grants (oauth2_authorization_grant_id, oauth2_client_id,
		authorization_code, redirect_uri, scope, created_at, response_mode, response_type_code, response_type_id_token)
	SELECT %s, %s, 'code_' || i, 'https://client.example/cb', 'openid', a, 'query', true, false FROM %s`,
		ulidExpr("a", tagAuthorizationGrant, "i"), clientID, agedRowsOf(2*n))}
}

// deviceCodeGrantsRows: 2n device-code grants of one client.
func deviceCodeGrantsRows(n int) []string {
	return []string{insertClient, fmt.Sprintf(`INSERT INTO oauth2_device_code_grant (oauth2_device_code_grant_id, oauth2_client_id, scope,
		device_code, user_code, created_at, expires_at, ip_address, user_agent)
	SELECT %s, %s, 'openid', 'device_' || i, 'U' || i, a, a + interval '10 minutes', '192.0.2.1', 'bench' FROM %s`,
		ulidExpr("a", tagDeviceCodeGrant, "i"), clientID, agedRowsOf(2*n))}
}

// recoverySessionsRows: 2n account-recovery sessions, the even ones (created
// before the horizon) each with a ticket for the email of a user.
func recoverySessionsRows(n int) []string {
	total := 2 * n
	users, insertUsers := usersOf(total)
	rows := agedRowsOf(total)
	session := ulidExpr("a", tagRecoverySession, "i")
	return []string{insertUsers,
		fmt.Sprintf(`INSERT INTO user_emails (user_email_id, user_id, email, created_at)
		SELECT %s, %s, 'user_' || i || '@example.com', %s FROM generate_series(1::bigint, %d) AS i`,
			ulidExpr(baseTime, tagUserEmail, "i"), ulidExpr(baseTime, tagUser, "i"), baseTime, users),
		fmt.Sprintf(`INSERT INTO user_recovery_sessions (user_recovery_session_id, email, user_agent, ip_address, locale, created_at)
		SELECT %s, 'user_' || (i %% %d + 1) || '@example.com', 'bench', '192.0.2.1', 'en', a FROM %s`, session, users, rows),
		fmt.Sprintf(`INSERT INTO user_recovery_tickets (user_recovery_ticket_id, user_recovery_session_id, user_email_id, ticket, created_at, expires_at)
		SELECT %s, %s, %s, 'ticket_' || i, a, a + interval '10 minutes' FROM %s WHERE i %% 2 = 0`,
			ulidExpr("a", tagRecoveryTicket, "i"), session, parentID(tagUserEmail, users), rows),
	}
}

// oauth2IPsRows: 2n live OAuth 2.0 sessions holding an IP, the even ones
// last active before the horizon.
func oauth2IPsRows(n int) []string {
	total := 2 * n
	users, insertUsers := usersOf(total)
	return []string{insertUsers, insertClient, fmt.Sprintf(`INSERT INTO oauth2_sessions (oauth2_session_id, user_id, oauth2_client_id, scope_list,
		created_at, last_active_at, last_active_ip)
	SELECT %s, %s, %s, '{openid}', c, %s, '192.0.2.1' FROM %s`,
		ulidExpr("c", tagOAuth2Session, "i"), userOf(users), clientID, staleOr(recent), rowsOf(total))}
}

// compatIPsRows: 2n live compat sessions holding an IP, the even ones last
// active before the horizon.
func compatIPsRows(n int) []string {
	total := 2 * n
	users, insertUsers := usersOf(total)
	return []string{insertUsers, fmt.Sprintf(`INSERT INTO compat_sessions (compat_session_id, user_id, device_id, created_at, last_active_at, last_active_ip)
	SELECT %s, %s, 'DEVICE' || i, c, %s, '192.0.2.1' FROM %s`,
		ulidExpr("c", tagCompatSession, "i"), userOf(users), staleOr(recent), rowsOf(total))}
}

// personalSessionsRows returns the builder of the users and 2n personal
// sessions (owned and used by a user) with those revoked_at, last_active_at
// and last_active_ip (SQL over rowsOf's columns).
func personalSessionsRows(revoked, lastActive, ip string) func(n int) ([]string, int) {
	return func(n int) ([]string, int) {
		total := 2 * n
		users, insertUsers := usersOf(total)
		return []string{insertUsers, fmt.Sprintf(`INSERT INTO personal_sessions (personal_session_id, owner_user_id, actor_user_id, human_name, scope_list,
			created_at, revoked_at, last_active_at, last_active_ip)
		SELECT %s, %[2]s, %[2]s, 'bench ' || i, '{urn:matrix:client:api:*}', c, %s, %s, %s FROM %s`,
			ulidExpr("c", tagPersonalSession, "i"), userOf(users), revoked, lastActive, ip, rowsOf(total))}, total
	}
}

// personalIPsRows: 2n live personal sessions holding an IP, the even ones
// last active before the horizon.
func personalIPsRows(n int) []string {
	stmts, _ := personalSessionsRows("NULL", staleOr(recent), "'192.0.2.1'")(n)
	return stmts
}

// revokedPersonalSessionsRows: 2n personal sessions, the even ones revoked
// before the horizon, each with its (revoked) token, the odd ones since,
// without one: in MAS's schema nothing indexes all the tokens by session,
// so the foreign key's check of each session deleted reads every token.
func revokedPersonalSessionsRows(n int) []string {
	stmts, total := personalSessionsRows(staleOr(recent), "c", "NULL")(n)
	return append(stmts, fmt.Sprintf(`INSERT INTO personal_access_tokens (personal_access_token_id, personal_session_id, access_token_sha256, created_at, revoked_at)
	SELECT %s, %s, sha256(('mpt_' || i)::bytea), c, c + f FROM %s WHERE i %% 2 = 0`,
		ulidExpr("c", tagPersonalAccessToken, "i"), ulidExpr("c", tagPersonalSession, "i"), rowsOf(total)))
}

// revokedPersonalTokensRows: 2n personal access tokens of live personal
// sessions (one per 10 tokens), the even ones revoked before the horizon,
// the odd ones since.
func revokedPersonalTokensRows(n int) []string {
	total := 2 * n
	users, insertUsers := usersOf(total)
	sessions := max(1, total/10)
	return []string{insertUsers,
		fmt.Sprintf(`INSERT INTO personal_sessions (personal_session_id, owner_user_id, actor_user_id, human_name, scope_list, created_at, last_active_at)
		SELECT %s, %[2]s, %[2]s, 'bench ' || i, '{urn:matrix:client:api:*}', %s, %s FROM generate_series(1::bigint, %d) AS i`,
			ulidExpr(baseTime, tagPersonalSession, "i"), userOf(users), baseTime, recent, sessions),
		fmt.Sprintf(`INSERT INTO personal_access_tokens (personal_access_token_id, personal_session_id, access_token_sha256, created_at, revoked_at)
		SELECT %s, %s, sha256(('mpt_' || i)::bytea), c, %s FROM %s`,
			ulidExpr("c", tagPersonalAccessToken, "i"), parentID(tagPersonalSession, sessions), staleOr(recent), rowsOf(total)),
	}
}

// policyDataRows: n + DefaultKeepPolicyData versions of the policy data.
func policyDataRows(n int) []string {
	return []string{fmt.Sprintf(`INSERT INTO policy_data (policy_data_id, created_at, data)
	SELECT %s, c, jsonb_build_object('version', i, 'data', repeat('x', 200)) FROM %s`,
		ulidExpr("c", tagPolicyData, "i"), rowsOf(n+cleanup.DefaultKeepPolicyData))}
}

// ssoLoginsRows: 2n compat SSO logins; the even ones abandoned (no compat
// session), the odd ones fulfilled and exchanged into a compat session.
func ssoLoginsRows(n int) []string {
	total := 2 * n
	users, insertUsers := usersOf(total)
	session := ulidExpr("c", tagCompatSession, "i")
	return []string{insertUsers,
		fmt.Sprintf(`INSERT INTO compat_sessions (compat_session_id, user_id, device_id, created_at, last_active_at)
		SELECT %s, %s, 'DEVICE' || i, c, %s FROM %s WHERE i %% 2 = 1`, session, userOf(users), recent, rowsOf(total)),
		fmt.Sprintf(`INSERT INTO compat_sso_logins (compat_sso_login_id, login_token, redirect_uri, created_at, compat_session_id, fulfilled_at, exchanged_at)
		SELECT %s, 'login_' || i, 'https://client.example/sso', c, CASE WHEN i %% 2 = 1 THEN %s END,
			CASE WHEN i %% 2 = 1 THEN c END, CASE WHEN i %% 2 = 1 THEN c END FROM %s`,
			ulidExpr("c", tagCompatSSOLogin, "i"), session, rowsOf(total)),
	}
}

// lostQueueJobsRows: 2n queue jobs created before the horizon: the odd
// ones lost (their worker, shut down, died running them), each retried by
// the even one that follows it, completed.
func lostQueueJobsRows(n int) []string {
	total := 2 * n
	return []string{
		fmt.Sprintf(`INSERT INTO queue_workers (queue_worker_id, registered_at, last_seen_at, shutdown_at) VALUES (%[1]s, %[2]s, %[2]s, %[2]s)`, workerID, baseTime),
		fmt.Sprintf(`INSERT INTO queue_jobs (queue_job_id, queue_name, status, created_at, started_at, started_by, completed_at, attempt, next_attempt_id)
		SELECT %s, 'email', CASE WHEN i %% 2 = 1 THEN 'lost' ELSE 'completed' END::queue_job_status, c, c, %s,
			CASE WHEN i %% 2 = 0 THEN c END, 1 - i %% 2, CASE WHEN i %% 2 = 1 THEN %s END FROM %s`,
			ulidExpr("c", tagQueueJob, "i"), workerID, nextRowID(total, tagQueueJob), rowsOf(total)),
	}
}

// queueWorkersRows: 2n queue workers: the even ones unseen since before the
// horizon (1 in 2 of them shut down), the odd ones live, 1 in 5 of those
// running a job.
func queueWorkersRows(n int) []string {
	total := 2 * n
	worker := ulidExpr("c", tagQueueWorker, "i")
	return []string{
		fmt.Sprintf(`INSERT INTO queue_workers (queue_worker_id, registered_at, last_seen_at, shutdown_at)
		SELECT %s, c, %s, CASE WHEN i %% 4 = 0 THEN c + f END FROM %s`, worker, staleOr(recent), rowsOf(total)),
		fmt.Sprintf(`INSERT INTO queue_jobs (queue_job_id, queue_name, status, created_at, started_at, started_by, attempt)
		SELECT %[1]s, 'email', 'running', %[2]s, %[2]s, %[3]s, 0 FROM %[4]s WHERE i %% 10 = 1`, ulidExpr(recent, tagQueueJob, "i"), recent, worker, rowsOf(total)),
	}
}

// expireRows: 2n live sessions of n users, each user's pair of rows (2k-1,
// 2k) spread over the compat, OAuth 2.0 and browser sessions (row i's kind
// is i mod 3); the even one inactive since before the horizon. So each user
// has one inactive session, and the job schedules one sync-devices job per
// user of an inactive compat or OAuth 2.0 session, as the single statement.
func expireRows(n int) []string {
	total := 2 * n
	user := ulidExpr(baseTime, tagUser, "((i + 1) / 2)")
	from := fmt.Sprintf("%s WHERE i %% 3 = ", rowsOf(total))
	return []string{
		fmt.Sprintf(`INSERT INTO users (user_id, username, created_at)
		SELECT %s, 'user_' || i, %s FROM generate_series(1::bigint, %d) AS i`, ulidExpr(baseTime, tagUser, "i"), baseTime, n),
		insertClient,
		fmt.Sprintf(`INSERT INTO compat_sessions (compat_session_id, user_id, device_id, created_at, last_active_at, last_active_ip)
		SELECT %s, %s, 'DEVICE' || i, c, %s, '192.0.2.1' FROM %s0`, ulidExpr("c", tagCompatSession, "i"), user, staleOr(recent), from),
		fmt.Sprintf(`INSERT INTO oauth2_sessions (oauth2_session_id, user_id, oauth2_client_id, scope_list, created_at, last_active_at, last_active_ip)
		SELECT %s, %s, %s, '{openid}', c, %s, '192.0.2.1' FROM %s1`, ulidExpr("c", tagOAuth2Session, "i"), user, clientID, staleOr(recent), from),
		fmt.Sprintf(`INSERT INTO user_sessions (user_session_id, user_id, user_agent, created_at, last_active_at, last_active_ip)
		SELECT %s, %s, 'bench', c, %s, '192.0.2.1' FROM %s2`, ulidExpr("c", tagUserSession, "i"), user, staleOr(recent), from),
	}
}

// ulidText is SQL for the uuid expr as a ULID string (26 characters of
// Crockford's base 32), as ulid.ULID.String writes it: the 128 bits, after
// two zero bits, in groups of 5.
func ulidText(expr string) string {
	return fmt.Sprintf(`(SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substring(b.bits FROM k * 5 + 1 FOR 5)::int + 1, 1), '' ORDER BY k)
		FROM (SELECT B'00' || ('x' || replace((%s)::text, '-', ''))::bit(128) AS bits) AS b, generate_series(0, 25) AS k)`, expr)
}

// benchNowSQL is benchNow as an SQL timestamptz: the time the expired
// sessions finish at and their sync-devices jobs are created at.
var benchNowSQL = fmt.Sprintf("timestamptz '%s'", benchNow.UTC().Format(time.RFC3339Nano))

// expireCandidates are the CTEs of the sessions expire-inactive-sessions
// finishes (as storage/postgres's expireQuery), each `kind` the statement
// that SQL (a FROM or an UPDATE ... SET finished_at = ...) makes of
// `table WHERE candidates`, returning user_id and the session's id.
func expireCandidates(kind func(table, idColumn, where string) string) string {
	const inactive = "finished_at IS NULL AND last_active_at < $1"
	return fmt.Sprintf(`compat AS (%s), oauth2 AS (%s), browser AS (%s)`,
		kind("compat_sessions", "compat_session_id", inactive),
		kind("oauth2_sessions", "oauth2_session_id", inactive+
			" AND user_id IS NOT NULL AND oauth2_client_id IN (SELECT oauth2_client_id FROM oauth2_clients WHERE NOT is_static)"),
		kind("user_sessions", "user_session_id", inactive))
}

// expireSingle is the single statement of expire-inactive-sessions: finish
// every inactive session, and schedule for each user of a finished compat
// or OAuth 2.0 session one sync-devices job as cleanup.ScheduleSyncDevices
// does (its payload, and due a minute later plus 10 s per user before it in
// a page of 100, in the order of their IDs); it yields one row per session
// finished.
var expireSingle = `
WITH ` + expireCandidates(func(table, idColumn, where string) string {
	return fmt.Sprintf(`UPDATE %s SET finished_at = %s WHERE %s RETURNING user_id, %s AS id`, table, benchNowSQL, where, idColumn)
}) + `, synced AS (
	SELECT user_id, row_number() OVER (ORDER BY user_id) AS n
	FROM (SELECT user_id FROM compat UNION SELECT user_id FROM oauth2) AS s
), scheduled AS (
	INSERT INTO queue_jobs (queue_job_id, queue_name, payload, metadata, created_at, status, scheduled_at, attempt)
	SELECT ` + ulidExpr(benchNowSQL, tagQueueJob, "n") + `, 'sync-devices', jsonb_build_object('user_id', ` + ulidText("user_id") + `), '{}',
		` + benchNowSQL + `, 'scheduled', ` + benchNowSQL + ` + interval '1 minute' + ((n - 1) % 100) * interval '10 seconds', 0
	FROM synced
)
SELECT 1 FROM compat UNION ALL SELECT 1 FROM oauth2 UNION ALL SELECT 1 FROM browser`

// expirePending counts the sessions expire-inactive-sessions has left to
// finish, plus what is wrong with the sync-devices jobs of those it
// finished: users of finished compat and OAuth 2.0 sessions without a job
// naming them (their ULID, as the library writes it), and jobs more than
// such users. On the template nothing is finished, so it counts the
// candidates; after a run it must be 0. The users without a job are an
// anti-join: NOT IN over the jobs becomes a scan of every job per user when
// their hash table does not fit in work_mem, as it did not at 500 000.
var expirePending = `
WITH ` + expireCandidates(func(table, idColumn, where string) string {
	return fmt.Sprintf(`SELECT user_id, %s AS id FROM %s WHERE %s`, idColumn, table, where)
}) + `, synced AS (
	SELECT user_id FROM compat_sessions WHERE finished_at = ` + benchNowSQL + `
	UNION SELECT user_id FROM oauth2_sessions WHERE finished_at = ` + benchNowSQL + `
), named AS (
	SELECT ` + ulidText("user_id") + ` AS user_id FROM synced
), jobs AS (
	SELECT payload ->> 'user_id' AS user_id FROM queue_jobs WHERE queue_name = 'sync-devices'
)
SELECT (SELECT count(*) FROM compat) + (SELECT count(*) FROM oauth2) + (SELECT count(*) FROM browser)
	+ (SELECT count(*) FROM named WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.user_id = named.user_id))
	+ abs((SELECT count(*) FROM jobs) - (SELECT count(*) FROM synced))`
