-- masstore:no-transaction
-- Beyond MAS's schema (schema.Additions): the indexes the personal-session
-- cleanups need; MAS main has none that serves them.
--
-- personal_access_tokens_personal_session_id_idx is partial (live tokens
-- only), so neither the foreign key check of a deleted personal session nor
-- cleanup-revoked-personal-sessions' delete of the session's tokens (all
-- revoked by then) can use it: each scanned the whole token table. A plain
-- index on the referencing column serves both.
CREATE INDEX CONCURRENTLY IF NOT EXISTS masstore_personal_access_tokens_session_idx
    ON personal_access_tokens (personal_session_id);
-- cleanup-revoked-personal-sessions and cleanup-revoked-personal-access-tokens
-- read their candidates WHERE revoked_at IS NOT NULL AND revoked_at < $1
-- AND (revoked_at, id) > ($2, $3) ORDER BY revoked_at, id: the same columns
-- in the same order, so that a batch is one range of the index, unsorted.
CREATE INDEX CONCURRENTLY IF NOT EXISTS masstore_personal_sessions_revoked_idx
    ON personal_sessions (revoked_at, personal_session_id) WHERE revoked_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS masstore_personal_access_tokens_revoked_idx
    ON personal_access_tokens (revoked_at, personal_access_token_id) WHERE revoked_at IS NOT NULL;
-- cleanup-inactive-personal-session-ips reads WHERE last_active_ip IS NOT
-- NULL AND last_active_at IS NOT NULL AND last_active_at < $1 AND
-- (last_active_at, id) > ($2, $3) ORDER BY last_active_at, id.
CREATE INDEX CONCURRENTLY IF NOT EXISTS masstore_personal_sessions_inactive_ips_idx
    ON personal_sessions (last_active_at, personal_session_id)
    WHERE last_active_ip IS NOT NULL AND last_active_at IS NOT NULL;
