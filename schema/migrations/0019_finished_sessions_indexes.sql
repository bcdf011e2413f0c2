-- masstore:no-transaction
-- Step 11
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth2_sessions_finished_at_idx
    ON oauth2_sessions (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS user_sessions_finished_at_idx
    ON user_sessions (finished_at) WHERE finished_at IS NOT NULL;
