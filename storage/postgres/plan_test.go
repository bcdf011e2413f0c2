package postgres

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// planRows is how many rows each table gets: enough for the planner to
// prefer an index over a sequential scan when the index is selective.
const planRows = 20000

// ulidAt is SQL for a ULID-like uuid whose time is the timestamptz ts;
// g (the generate_series value) keeps the random part distinct.
func ulidAt(ts string) string {
	return `(lpad(to_hex((extract(epoch FROM ` + ts + `) * 1000)::bigint), 12, '0')
		|| substr(md5(random()::text || g::text), 1, 20))::uuid`
}

// planFixture fills every cleaned table with planRows rows of which about
// 1% qualify for its cleanup before planHorizon, and analyzes them.
func planFixture(t *testing.T) *sqlx.DB {
	t.Helper()
	db := pgtest.Migrated(t).DB
	// Row g's time: spread over 100 days ending at the horizon + 99 days,
	// so that the first 1% of rows are older than the horizon.
	at := `('2026-03-01T00:00:00Z'::timestamptz - interval '1 day' + g * interval '432 seconds')`
	old := `(g % 100 = 0)`
	stmts := []string{
		`INSERT INTO users (user_id, username, created_at) VALUES ('01890000-0000-0000-0000-000000000001', 'u', '2026-01-01Z')`,
		`INSERT INTO oauth2_clients (oauth2_client_id, redirect_uris, grant_type_authorization_code, grant_type_refresh_token)
		 VALUES ('01890000-0000-0000-0000-000000000002', '{}', true, true)`,
		`INSERT INTO user_sessions (user_session_id, user_id, created_at, finished_at, last_active_at, last_active_ip)
		 SELECT ` + ulidAt(at) + `, '01890000-0000-0000-0000-000000000001', ` + at + `,
		        CASE WHEN ` + old + ` THEN ` + at + ` END, ` + at + `, '10.0.0.1'
		 FROM generate_series(1, $1) g`,
		`INSERT INTO compat_sessions (compat_session_id, user_id, created_at, finished_at, last_active_at, last_active_ip)
		 SELECT ` + ulidAt(at) + `, '01890000-0000-0000-0000-000000000001', ` + at + `,
		        CASE WHEN ` + old + ` THEN ` + at + ` END, ` + at + `, '10.0.0.1'
		 FROM generate_series(1, $1) g`,
		`INSERT INTO oauth2_sessions (oauth2_session_id, oauth2_client_id, user_id, scope_list, created_at, finished_at, last_active_at, last_active_ip)
		 SELECT ` + ulidAt(at) + `, '01890000-0000-0000-0000-000000000002', '01890000-0000-0000-0000-000000000001', '{}', ` + at + `,
		        CASE WHEN ` + old + ` THEN ` + at + ` END, ` + at + `, '10.0.0.1'
		 FROM generate_series(1, $1) g`,
		`INSERT INTO oauth2_access_tokens (oauth2_access_token_id, oauth2_session_id, access_token, created_at, expires_at, revoked_at)
		 SELECT ` + ulidAt(at) + `, id, 'at' || g, ` + at + `,
		        ` + at + ` + interval '1 hour', CASE WHEN ` + old + ` THEN ` + at + ` END
		 FROM (SELECT oauth2_session_id AS id, row_number() OVER () AS g FROM oauth2_sessions) s`,
		`INSERT INTO oauth2_refresh_tokens (oauth2_refresh_token_id, oauth2_session_id, refresh_token, created_at, consumed_at, revoked_at)
		 SELECT ` + ulidAt(at) + `, id, 'rt' || g, ` + at + `,
		        CASE WHEN ` + old + ` THEN ` + at + ` END, CASE WHEN g % 100 = 1 THEN ` + at + ` END
		 FROM (SELECT oauth2_session_id AS id, row_number() OVER () AS g FROM oauth2_sessions) s`,
		`INSERT INTO compat_access_tokens (compat_access_token_id, compat_session_id, access_token, created_at)
		 SELECT ` + ulidAt(at) + `, id, 'cat' || g, ` + at + `
		 FROM (SELECT compat_session_id AS id, row_number() OVER () AS g FROM compat_sessions) s`,
		`INSERT INTO compat_refresh_tokens (compat_refresh_token_id, compat_session_id, compat_access_token_id, refresh_token, created_at)
		 SELECT ` + ulidAt(at) + `, sid, id, 'crt' || g, ` + at + `
		 FROM (SELECT compat_session_id AS sid, compat_access_token_id AS id, row_number() OVER () AS g FROM compat_access_tokens) s`,
		`INSERT INTO user_session_authentications (user_session_authentication_id, user_session_id, created_at)
		 SELECT ` + ulidAt(at) + `, id, ` + at + `
		 FROM (SELECT user_session_id AS id, row_number() OVER () AS g FROM user_sessions) s`,
		// Every compat and OAuth 2.0 session belongs to a browser session,
		// so that checking a candidate's children has rows to find.
		`UPDATE compat_sessions cs SET user_session_id = us.id
		 FROM (SELECT compat_session_id AS id, row_number() OVER () AS g FROM compat_sessions) c
		 JOIN (SELECT user_session_id AS id, row_number() OVER () AS g FROM user_sessions) us USING (g)
		 WHERE cs.compat_session_id = c.id`,
		`UPDATE oauth2_sessions os SET user_session_id = us.id
		 FROM (SELECT oauth2_session_id AS id, row_number() OVER () AS g FROM oauth2_sessions) o
		 JOIN (SELECT user_session_id AS id, row_number() OVER () AS g FROM user_sessions) us USING (g)
		 WHERE os.oauth2_session_id = o.id`,
		`INSERT INTO user_registrations (user_registration_id, username, created_at)
		 SELECT ` + ulidAt(at) + `, 'r' || g, ` + at + ` FROM generate_series(1, $1) g`,
		`INSERT INTO oauth2_authorization_grants (oauth2_authorization_grant_id, oauth2_client_id, redirect_uri, scope,
		        created_at, response_mode, response_type_code, response_type_id_token)
		 SELECT ` + ulidAt(at) + `, '01890000-0000-0000-0000-000000000002', 'https://x', 'openid', ` + at + `, 'query', true, false
		 FROM generate_series(1, $1) g`,
		`INSERT INTO oauth2_device_code_grant (oauth2_device_code_grant_id, oauth2_client_id, scope, device_code, user_code, created_at, expires_at)
		 SELECT ` + ulidAt(at) + `, '01890000-0000-0000-0000-000000000002', 'openid', 'd' || g, 'u' || g, ` + at + `, ` + at + `
		 FROM generate_series(1, $1) g`,
		`INSERT INTO user_recovery_sessions (user_recovery_session_id, email, user_agent, locale, created_at)
		 SELECT ` + ulidAt(at) + `, 'e@x', 'ua', 'en', ` + at + ` FROM generate_series(1, $1) g`,
		`INSERT INTO user_email_authentications (user_email_authentication_id, email, created_at)
		 SELECT ` + ulidAt(at) + `, 'e@x', ` + at + ` FROM generate_series(1, $1) g`,
		`INSERT INTO compat_sso_logins (compat_sso_login_id, login_token, redirect_uri, created_at)
		 SELECT ` + ulidAt(at) + `, 'l' || g, 'https://x', ` + at + ` FROM generate_series(1, $1) g`,
		`INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, client_id, scope, token_endpoint_auth_method, created_at)
		 VALUES ('01890000-0000-0000-0000-000000000003', 'c', 'openid', 'client_secret_basic', '2026-01-01Z')`,
		`INSERT INTO upstream_oauth_links (upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject, created_at)
		 SELECT ` + ulidAt(at) + `, '01890000-0000-0000-0000-000000000003',
		        CASE WHEN NOT ` + old + ` THEN '01890000-0000-0000-0000-000000000001'::uuid END, 's' || g, ` + at + `
		 FROM generate_series(1, $1) g`,
		`INSERT INTO upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id, upstream_oauth_provider_id,
		        state, created_at, user_session_id)
		 SELECT ` + ulidAt(at) + `, '01890000-0000-0000-0000-000000000003', 'st' || g, ` + at + `,
		        CASE WHEN NOT ` + old + ` THEN (SELECT user_session_id FROM user_sessions LIMIT 1) END
		 FROM generate_series(1, $1) g`,
		// Personal sessions owned by the user, each with one token; the old
		// 1% revoked (session and token), every one holding an IP.
		`INSERT INTO personal_sessions (personal_session_id, owner_user_id, actor_user_id, human_name, scope_list,
		        created_at, revoked_at, last_active_at, last_active_ip)
		 SELECT ` + ulidAt(at) + `, '01890000-0000-0000-0000-000000000001', '01890000-0000-0000-0000-000000000001', 'p' || g, '{}',
		        ` + at + `, CASE WHEN ` + old + ` THEN ` + at + ` END, ` + at + `, '10.0.0.1'
		 FROM generate_series(1, $1) g`,
		`INSERT INTO personal_access_tokens (personal_access_token_id, personal_session_id, access_token_sha256, created_at, revoked_at)
		 SELECT ` + ulidAt("created_at") + `, id, sha256(('pat' || g)::bytea), created_at, revoked_at
		 FROM (SELECT personal_session_id AS id, created_at, revoked_at, row_number() OVER () AS g FROM personal_sessions) s`,
		`INSERT INTO queue_workers (queue_worker_id, registered_at, last_seen_at)
		 SELECT ` + ulidAt(at) + `, ` + at + `, ` + at + ` FROM generate_series(1, 10) g`,
		`INSERT INTO queue_jobs (queue_job_id, queue_name, created_at, status)
		 SELECT ` + ulidAt(at) + `, 'q', ` + at + `, (CASE WHEN g % 3 = 0 THEN 'completed' WHEN g % 3 = 1 THEN 'lost' ELSE 'available' END)::queue_job_status
		 FROM generate_series(1, $1) g`,
	}
	for _, s := range stmts {
		var err error
		if containsParam(s) {
			_, err = db.Exec(s, planRows)
		} else {
			_, err = db.Exec(s)
		}
		require.NoError(t, err, s)
	}
	_, err := db.Exec(`ANALYZE`)
	require.NoError(t, err)
	return db
}

func containsParam(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '$' && s[i+1] == '1' {
			return true
		}
	}
	return false
}

// planNode is the part of EXPLAIN (FORMAT JSON) output the guards read.
type planNode struct {
	NodeType     string `json:"Node Type"`
	RelationName string `json:"Relation Name"`
	IndexName    string `json:"Index Name"`
	// ParentRelationship is "SubPlan" for a plan run once per outer row.
	ParentRelationship string     `json:"Parent Relationship"`
	Plans              []planNode `json:"Plans"`
}

func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// TestCleanupPlans checks that each cleanup's candidates come from the
// intended index and that no part of the statement scans a big table
// sequentially.
func TestCleanupPlans(t *testing.T) {
	t.Parallel()
	db := planFixture(t)
	big := map[string]bool{}
	var names []string
	require.NoError(t, db.Select(&names, `SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND reltuples >= 1000`))
	for _, n := range names {
		big[n] = true
	}
	require.Len(t, big, 19)
	horizon := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	timeArgs := []any{storage.Horizon(horizon), time.Time{}, key(ulidx.Horizon(time.Time{})), 1000}
	ulidArgs := []any{key(ulidx.Horizon(horizon)), key(ulidx.Horizon(time.Time{})), 1000}
	// A delete by ID gets a window's worth of IDs (none of them rows: the
	// plan is what matters).
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = key(ulidx.Horizon(horizon.Add(time.Duration(i) * time.Second)))
	}
	byIDArgs := []any{storage.Horizon(horizon), pq.Array(ids)}

	type planCase struct {
		name, query, table, index string
		args                      []any
	}
	cases := []planCase{
		{"FinishedCompatSessions", finishedCompatSessions.batch, "compat_sessions", "compat_sessions_finished_at_idx", timeArgs},
		{"FinishedOAuth2Sessions", finishedOAuth2Sessions.batch, "oauth2_sessions", "oauth2_sessions_finished_at_idx", timeArgs},
		{"FinishedCompatSessionsWindow", finishedCompatSessions.window, "compat_sessions", "compat_sessions_finished_at_idx", timeArgs},
		{"FinishedOAuth2SessionsWindow", finishedOAuth2Sessions.window, "oauth2_sessions", "oauth2_sessions_finished_at_idx", timeArgs},
		{"FinishedCompatSessionsByID", finishedCompatSessions.byID, "compat_sessions", "compat_sessions_pkey", byIDArgs},
		{"FinishedOAuth2SessionsByID", finishedOAuth2Sessions.byID, "oauth2_sessions", "oauth2_sessions_pkey", byIDArgs},
		{"CompatSessionIPs", clearIPsQuery("compat_sessions", "compat_session_id"), "compat_sessions", "compat_sessions_inactive_ips_idx", timeArgs},
		{"OAuth2SessionIPs", clearIPsQuery("oauth2_sessions", "oauth2_session_id"), "oauth2_sessions", "oauth2_sessions_inactive_ips_idx", timeArgs},
		{"UserSessionIPs", clearIPsQuery("user_sessions", "user_session_id"), "user_sessions", "user_sessions_inactive_ips_idx", timeArgs},
		{"RevokedAccessTokens", cleanupRevokedAccessTokens, "oauth2_access_tokens", "oauth_access_tokens_revoked_at_idx", timeArgs},
		{"ExpiredAccessTokens", cleanupExpiredAccessTokens, "oauth2_access_tokens", "oauth_access_tokens_expires_at_idx", timeArgs},
		{"RevokedRefreshTokens", cleanupRevokedRefreshTokens, "oauth2_refresh_tokens", "oauth_refresh_tokens_revoked_at_idx", timeArgs},
		{"ConsumedRefreshTokens", cleanupConsumedRefreshTokens, "oauth2_refresh_tokens", "oauth_refresh_token_consumed_at_idx", timeArgs},
		{"OrphanedLinks", cleanupOrphanedLinks, "upstream_oauth_links", "idx_upstream_oauth_links_orphaned", ulidArgs},
		{"OrphanedUpstreamSessions", cleanupOrphanedSessions, "upstream_oauth_authorization_sessions", "upstream_oauth_authorization_sessions_orphaned", ulidArgs},
		{"RevokedPersonalSessions", cleanupRevokedPersonalSessions, "personal_sessions", "masstore_personal_sessions_revoked_idx", timeArgs},
		// The batch deletes the candidates' tokens, all revoked: MAS's index
		// on personal_session_id holds only live ones.
		{"RevokedPersonalSessionsTokens", cleanupRevokedPersonalSessions, "personal_access_tokens", "masstore_personal_access_tokens_session_idx", timeArgs},
		// What PostgreSQL runs for each personal session deleted, to check
		// personal_access_tokens_personal_session_id_fkey (ri_triggers.c's
		// query, which EXPLAIN of the delete does not show).
		{"PersonalSessionForeignKey", `SELECT 1 FROM ONLY public.personal_access_tokens x WHERE $1 OPERATOR(pg_catalog.=) personal_session_id FOR KEY SHARE OF x`,
			"personal_access_tokens", "masstore_personal_access_tokens_session_idx", []any{key(ulidx.Horizon(horizon))}},
		{"RevokedPersonalAccessTokens", cleanupRevokedPersonalTokens, "personal_access_tokens", "masstore_personal_access_tokens_revoked_idx", timeArgs},
		{"PersonalSessionIPs", clearIPsQuery("personal_sessions", "personal_session_id"), "personal_sessions", "masstore_personal_sessions_inactive_ips_idx", timeArgs},
	}
	// A cleanup by ULID age reads its bound and deletes its range, full or
	// the tail, through the primary key.
	ulidAge := []struct {
		name         string
		queries      ulidAgeQueries
		table, index string
	}{
		{"Registrations", cleanupRegistrations, "user_registrations", "user_registrations_pkey"},
		{"AuthorizationGrants", cleanupAuthorizationGrants, "oauth2_authorization_grants", "oauth2_authorization_grants_pkey"},
		{"DeviceCodeGrants", cleanupDeviceCodeGrants, "oauth2_device_code_grant", "oauth2_device_code_grant_pkey"},
		{"RecoverySessions", cleanupRecoverySessions, "user_recovery_sessions", "user_recovery_sessions_pkey"},
		{"EmailAuthentications", cleanupEmailAuthentications, "user_email_authentications", "user_email_authentications_pkey"},
		{"Jobs", cleanupFinishedJobs, "queue_jobs", "queue_jobs_pkey"},
		{"LostJobs", cleanupLostJobs, "queue_jobs", "queue_jobs_pkey"},
		{"AbandonedSSOLogins", cleanupAbandonedSSOLogins, "compat_sso_logins", "compat_sso_logins_pkey"},
	}
	bound := key(ulidx.Horizon(horizon.Add(-time.Hour)))
	for _, c := range ulidAge {
		cases = append(cases,
			planCase{c.name + "Bound", c.queries.bound, c.table, c.index, ulidArgs},
			planCase{c.name + "Full", c.queries.full, c.table, c.index, []any{ulidArgs[0], ulidArgs[1], bound, 1}},
			planCase{c.name + "Tail", c.queries.tail, c.table, c.index, []any{ulidArgs[0], ulidArgs[1], 1}})
	}
	// These read their candidates from an index whose columns are the
	// statement's ORDER BY: in order, never sorted (only the batch's last
	// candidate is found by sorting the candidates).
	inOrder := map[string]bool{
		"RevokedPersonalSessions":     true,
		"RevokedPersonalAccessTokens": true,
		"PersonalSessionIPs":          true,
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out []byte
			require.NoError(t, db.QueryRowx(`EXPLAIN (FORMAT JSON) `+c.query, c.args...).Scan(&out))
			var plans []struct {
				Plan planNode `json:"Plan"`
			}
			require.NoError(t, json.Unmarshal(out, &plans))
			usesIndex := false
			plans[0].Plan.walk(func(n planNode) {
				if n.NodeType == "Seq Scan" && big[n.RelationName] {
					require.Fail(t, "sequential scan", "of %s:\n%s", n.RelationName, out)
				}
				if n.RelationName == c.table && n.IndexName == c.index {
					usesIndex = true
				}
				if inOrder[c.name] && (n.NodeType == "Sort" || n.NodeType == "Incremental Sort") {
					for _, child := range n.Plans {
						require.Equal(t, "CTE Scan", child.NodeType, "%s over %s %s:\n%s", n.NodeType, child.NodeType, child.IndexName, out)
					}
				}
			})
			require.True(t, usesIndex, "%s not used:\n%s", c.index, out)
		})
	}

	t.Run("FinishedUserSessions", func(t *testing.T) {
		// In a world where every other browser session is a candidate (the
		// fixture has too few for the planner to care; this world and its
		// statistics are rolled back): at the default batch size, a prefix
		// of the candidates comes from migration 0029's index in ID order,
		// never sorted; at the default and the largest, their children are
		// read in one range of each child index: never a scan of a whole
		// big table, nor a probe per candidate (a nested loop or a sub-plan).
		tx := db.MustBegin()
		defer func() { _ = tx.Rollback() }()
		tx.MustExec(`UPDATE user_sessions u SET finished_at = u.created_at
			FROM (SELECT user_session_id, row_number() OVER (ORDER BY user_session_id) AS n FROM user_sessions) r
			WHERE u.user_session_id = r.user_session_id AND r.n % 2 = 0`)
		tx.MustExec(`ANALYZE user_sessions`)
		for _, limit := range []int{cleanup.DefaultBatchSize, cleanup.MaxBatchSize} {
			var out []byte
			require.NoError(t, tx.QueryRowx(`EXPLAIN (FORMAT JSON) `+cleanupFinishedUserSessions,
				storage.Horizon(horizon.AddDate(1, 0, 0)), key(ulidx.Horizon(time.Time{})), limit).Scan(&out))
			var plans []struct {
				Plan planNode `json:"Plan"`
			}
			require.NoError(t, json.Unmarshal(out, &plans))
			read := map[string]string{
				"compat_sessions": "compat_sessions_user_session_fk",
				"oauth2_sessions": "oauth2_sessions_user_session_fk",
			}
			if limit == cleanup.DefaultBatchSize {
				read["user_sessions"] = "masstore_user_sessions_finished_id_idx"
			}
			plans[0].Plan.walk(func(n planNode) {
				require.False(t, n.NodeType == "Seq Scan" && big[n.RelationName], "limit %d: sequential scan of %s:\n%s", limit, n.RelationName, out)
				require.NotEqual(t, "Nested Loop", n.NodeType, "limit %d:\n%s", limit, out)
				require.NotEqual(t, "SubPlan", n.ParentRelationship, "limit %d:\n%s", limit, out)
				if limit == cleanup.DefaultBatchSize && (n.NodeType == "Sort" || n.NodeType == "Incremental Sort") {
					for _, child := range n.Plans {
						// Only the batch's last candidate is found by sorting them.
						require.Equal(t, "CTE Scan", child.NodeType, "%s over %s %s:\n%s", n.NodeType, child.NodeType, child.IndexName, out)
					}
				}
				if index, ok := read[n.RelationName]; ok && n.IndexName == index {
					delete(read, n.RelationName)
				}
			})
			require.Empty(t, read, "limit %d: not read through these indexes:\n%s", limit, out)
		}
	})
}

// TestBacklogPlans checks that each job's backlog count reads indexes, as
// the job does: never a sequential scan of a big table.
func TestBacklogPlans(t *testing.T) {
	t.Parallel()
	db := planFixture(t)
	big := map[string]bool{}
	var names []string
	require.NoError(t, db.Select(&names, `SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND reltuples >= 1000`))
	for _, n := range names {
		big[n] = true
	}
	horizon := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, j := range backlogJobs {
		rows := j.rows(BacklogOptions{})
		if rows == "" {
			continue
		}
		t.Run(j.name, func(t *testing.T) {
			var arg any = storage.Horizon(horizon)
			if j.ulid {
				arg = key(ulidx.Horizon(horizon))
			}
			var out []byte
			require.NoError(t, db.QueryRowx(`EXPLAIN (FORMAT JSON) SELECT count(*) FROM (`+rows+`) AS due`, arg).Scan(&out))
			var plans []struct {
				Plan planNode `json:"Plan"`
			}
			require.NoError(t, json.Unmarshal(out, &plans))
			plans[0].Plan.walk(func(n planNode) {
				require.False(t, n.NodeType == "Seq Scan" && big[n.RelationName], "sequential scan of %s:\n%s", n.RelationName, out)
			})
		})
	}
}
