-- masstore:no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth2_authorization_grants_user_session_id_idx
    ON oauth2_authorization_grants (user_session_id);
