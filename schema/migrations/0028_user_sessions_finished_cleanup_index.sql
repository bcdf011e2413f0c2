-- masstore:no-transaction
-- Beyond MAS's schema (schema.Additions): the browser-session cleanup reads
-- its candidates in (finished_at, user_session_id) order. With this index
-- that read is index-only and needs no sort, so a candidate that still has a
-- child session costs two index probes and never a heap fetch (BENCHMARKS.md,
-- blocked browser sessions). MAS's user_sessions_finished_at_idx stays.
CREATE INDEX CONCURRENTLY IF NOT EXISTS masstore_user_sessions_finished_idx
    ON user_sessions (finished_at, user_session_id) WHERE finished_at IS NOT NULL;
