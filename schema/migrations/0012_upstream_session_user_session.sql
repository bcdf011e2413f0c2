-- Step 7: an upstream authorization session remembers the browser session it
-- logged into, which is what a back-channel logout follows.
ALTER TABLE upstream_oauth_authorization_sessions
    ADD COLUMN user_session_id uuid;
ALTER TABLE upstream_oauth_authorization_sessions
    ADD CONSTRAINT upstream_oauth_authorization_sessions_user_session_id_fkey
    FOREIGN KEY (user_session_id) REFERENCES user_sessions(user_session_id)
    ON DELETE SET NULL NOT VALID;
