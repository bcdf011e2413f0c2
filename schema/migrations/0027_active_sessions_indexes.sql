-- masstore:no-transaction
-- Step 16
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth2_sessions_active_user_client_idx
    ON oauth2_sessions (user_id, oauth2_client_id) WHERE finished_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth2_sessions_active_client_idx
    ON oauth2_sessions (oauth2_client_id) WHERE finished_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS compat_sessions_active_user_idx
    ON compat_sessions (user_id) WHERE finished_at IS NULL;
