ALTER TABLE compat_sessions
    VALIDATE CONSTRAINT compat_sessions_user_session_id_fkey;
