-- masstore:no-transaction
-- Step 2: the indexes the OAuth 2.0 token cleanups page through.
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth_access_tokens_revoked_at_idx
    ON oauth2_access_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth_access_tokens_expires_at_idx
    ON oauth2_access_tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth_refresh_tokens_revoked_at_idx
    ON oauth2_refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth_refresh_token_not_consumed_idx
    ON oauth2_refresh_tokens (oauth2_refresh_token_id) WHERE consumed_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth_refresh_token_consumed_at_idx
    ON oauth2_refresh_tokens (consumed_at, next_oauth2_refresh_token_id, oauth2_refresh_token_id)
    WHERE consumed_at IS NOT NULL;
