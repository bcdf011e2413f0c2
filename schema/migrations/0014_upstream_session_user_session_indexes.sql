-- masstore:no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS upstream_oauth_authorization_sessions_user_session_id_idx
    ON upstream_oauth_authorization_sessions (user_session_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS upstream_oauth_authorization_sessions_orphaned
    ON upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id)
    WHERE user_session_id IS NULL;
