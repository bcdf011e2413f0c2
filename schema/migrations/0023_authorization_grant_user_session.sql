-- Step 14
ALTER TABLE oauth2_authorization_grants
    ADD COLUMN user_session_id uuid;
ALTER TABLE oauth2_authorization_grants
    ADD CONSTRAINT oauth2_authorization_grants_user_session_id_fkey
    FOREIGN KEY (user_session_id) REFERENCES user_sessions(user_session_id)
    ON DELETE SET NULL NOT VALID;
