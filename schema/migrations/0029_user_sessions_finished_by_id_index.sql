-- masstore:no-transaction
-- Beyond MAS's schema (schema.Additions), replacing 0028's index: the
-- browser-session cleanup reads its candidates in ID order, so that a batch
-- finds the children of all of them in one range of each child index
-- (compat_sessions_user_session_fk, oauth2_sessions_user_session_fk) rather
-- than by one probe each (BENCHMARKS.md, blocked browser sessions). With
-- finished_at included, reading the candidates is index-only.
CREATE INDEX CONCURRENTLY IF NOT EXISTS masstore_user_sessions_finished_id_idx
    ON user_sessions (user_session_id) INCLUDE (finished_at) WHERE finished_at IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS masstore_user_sessions_finished_idx;
