-- Step 9: fill user_session_id for the authentications made before the trigger.
UPDATE upstream_oauth_authorization_sessions AS s
SET user_session_id = a.user_session_id
FROM user_session_authentications AS a
WHERE a.upstream_oauth_authorization_session_id = s.upstream_oauth_authorization_session_id
  AND s.user_session_id IS NULL;
