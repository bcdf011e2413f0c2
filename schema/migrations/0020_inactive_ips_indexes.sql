-- masstore:no-transaction
-- Step 12
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth2_sessions_inactive_ips_idx
    ON oauth2_sessions (last_active_at)
    WHERE last_active_ip IS NOT NULL AND last_active_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS compat_sessions_inactive_ips_idx
    ON compat_sessions (last_active_at)
    WHERE last_active_ip IS NOT NULL AND last_active_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS user_sessions_inactive_ips_idx
    ON user_sessions (last_active_at)
    WHERE last_active_ip IS NOT NULL AND last_active_at IS NOT NULL;
