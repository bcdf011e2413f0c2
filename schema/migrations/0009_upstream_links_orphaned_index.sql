-- masstore:no-transaction
-- Step 5
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_upstream_oauth_links_orphaned
    ON upstream_oauth_links (upstream_oauth_link_id) WHERE user_id IS NULL;
