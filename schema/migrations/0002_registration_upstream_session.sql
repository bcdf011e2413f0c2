-- Step 1: a registration remembers the upstream login it came from.
ALTER TABLE user_registrations
    ADD COLUMN upstream_oauth_authorization_session_id uuid;
ALTER TABLE user_registrations
    ADD CONSTRAINT user_registrations_upstream_oauth_authorization_session_id_fkey
    FOREIGN KEY (upstream_oauth_authorization_session_id)
    REFERENCES upstream_oauth_authorization_sessions(upstream_oauth_authorization_session_id)
    ON DELETE SET NULL NOT VALID;
