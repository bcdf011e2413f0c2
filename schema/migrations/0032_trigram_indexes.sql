-- masstore:no-transaction
-- Step 17, last part: MAS's trigram search indexes (admin search by
-- username, client name and URI, upstream account name), built without
-- blocking writes on the live tables. They need 0030's pg_trgm.
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_username_trgm_idx
    ON users USING gin (username gin_trgm_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth2_clients_client_name_trgm_idx
    ON oauth2_clients USING gin (client_name gin_trgm_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth2_clients_client_uri_trgm_idx
    ON oauth2_clients USING gin (client_uri gin_trgm_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS upstream_oauth_links_human_account_name_trgm_idx
    ON upstream_oauth_links USING gin (human_account_name gin_trgm_ops);
