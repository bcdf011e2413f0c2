-- Step 8: a new authentication through an upstream login links that login to
-- the browser session, so back-channel logout can find it.
CREATE FUNCTION upstream_oauth_authorization_sessions_insert_trigger() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.upstream_oauth_authorization_session_id IS NOT NULL THEN
        UPDATE upstream_oauth_authorization_sessions
        SET user_session_id = NEW.user_session_id
        WHERE upstream_oauth_authorization_session_id = NEW.upstream_oauth_authorization_session_id
          AND user_session_id IS NULL;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER upstream_oauth_authorization_sessions_insert_trigger
    AFTER INSERT ON user_session_authentications
    FOR EACH ROW EXECUTE FUNCTION upstream_oauth_authorization_sessions_insert_trigger();
