-- Step 10: a browser session that still has compat sessions cannot be deleted,
-- so the back-channel logout walk never loses them.
ALTER TABLE compat_sessions
    DROP CONSTRAINT compat_sessions_user_session_id_fkey;
ALTER TABLE compat_sessions
    ADD CONSTRAINT compat_sessions_user_session_id_fkey
    FOREIGN KEY (user_session_id) REFERENCES user_sessions(user_session_id) NOT VALID;
