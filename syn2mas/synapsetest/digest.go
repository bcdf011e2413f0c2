package synapsetest

import (
	"context"
	"database/sql"
	"fmt"
)

// digestQueries describe each MAS table a migration writes by what does not
// depend on chance: the random part of each ULID is left out (its time part,
// the uuid's first 13 characters, stays) and references are replaced by the
// natural key of the row they point at (a username, a device, a token).
var digestQueries = []struct{ table, rows string }{
	{"users", `SELECT username, left(user_id::text, 13), created_at, locked_at, deactivated_at, can_request_admin, is_guest FROM users`},
	{"user_passwords", `SELECT u.username, left(p.user_password_id::text, 13), p.hashed_password, p.version, p.created_at, p.upgraded_from_id
		FROM user_passwords p JOIN users u USING (user_id)`},
	{"user_emails", `SELECT u.username, left(e.user_email_id::text, 13), e.email, e.created_at FROM user_emails e JOIN users u USING (user_id)`},
	{"user_unsupported_third_party_ids", `SELECT u.username, t.medium, t.address, t.created_at
		FROM user_unsupported_third_party_ids t JOIN users u USING (user_id)`},
	{"upstream_oauth_links", `SELECT u.username, left(l.upstream_oauth_link_id::text, 13), l.upstream_oauth_provider_id, l.subject, l.created_at, l.human_account_name
		FROM upstream_oauth_links l JOIN users u USING (user_id)`},
	{"compat_sessions", `SELECT u.username, coalesce(s.device_id, (SELECT min(access_token) FROM compat_access_tokens a WHERE a.compat_session_id = s.compat_session_id)),
		left(s.compat_session_id::text, 13), s.human_name, s.created_at, s.finished_at, s.is_synapse_admin, s.last_active_at, s.last_active_ip, s.user_agent, s.user_session_id
		FROM compat_sessions s JOIN users u USING (user_id)`},
	{"compat_access_tokens", `SELECT a.access_token, left(a.compat_access_token_id::text, 13), u.username, s.device_id, a.created_at, a.expires_at
		FROM compat_access_tokens a JOIN compat_sessions s USING (compat_session_id) JOIN users u USING (user_id)`},
	{"compat_refresh_tokens", `SELECT r.refresh_token, left(r.compat_refresh_token_id::text, 13), a.access_token, r.compat_session_id = a.compat_session_id, r.created_at, r.consumed_at
		FROM compat_refresh_tokens r JOIN compat_access_tokens a USING (compat_access_token_id)`},
}

// Digest returns, for each MAS table a migration writes, its row count and
// an md5 of its rows as [digestQueries] describe them: two migrations of the
// same Synapse database at the same clock have equal digests, whatever
// random IDs they drew.
func Digest(ctx context.Context, db *sql.DB) (map[string]string, error) {
	out := map[string]string{}
	for _, q := range digestQueries {
		var n int64
		var sum sql.NullString
		err := db.QueryRowContext(ctx, `SELECT count(*), md5(string_agg(r::text, E'\n' ORDER BY r::text COLLATE "C")) FROM (`+q.rows+`) r`).Scan(&n, &sum)
		if err != nil {
			return nil, fmt.Errorf("synapsetest: digest %s: %w", q.table, err)
		}
		out[q.table] = fmt.Sprintf("%d rows, md5 %s", n, sum.String)
	}
	return out, nil
}
