-- A scenario for `janitor run --now 2026-06-01T00:00:00Z`. Every row's ID
-- encodes its creation time (what the ULID-age jobs read); names say whether
-- the row must go ("gone_") or stay ("kept_"), and the table in
-- janitor_e2e_test.go says which job takes it.
CREATE FUNCTION pg_temp.id(created timestamptz, n int) RETURNS uuid LANGUAGE sql AS $$
    SELECT (lpad(to_hex((extract(epoch FROM created) * 1000)::bigint), 12, '0') || lpad(to_hex(n), 20, '0'))::uuid
$$;
CREATE TEMP TABLE ids (name text PRIMARY KEY, id uuid NOT NULL, at timestamptz NOT NULL);
INSERT INTO ids (name, at, id) SELECT name, at, pg_temp.id(at, n) FROM (VALUES
    ('kept_user_alice',            '2026-01-01T00:00:00Z'::timestamptz, 1),
    ('kept_user_bob',              '2026-01-01T00:00:00Z', 2),
    ('gone_us_finished_old',       '2026-04-01T00:00:00Z', 3),
    ('kept_us_finished_old_child', '2026-04-01T00:00:00Z', 4),
    ('kept_us_finished_recent',    '2026-05-20T00:00:00Z', 5),
    ('kept_us_live_stale_ip',      '2026-03-01T00:00:00Z', 6),
    ('gone_cs_finished_old',       '2026-04-01T00:00:00Z', 7),
    ('kept_cs_live_child',         '2026-04-01T00:00:00Z', 8),
    ('gone_cat_of_cs',             '2026-04-01T00:00:00Z', 9),
    ('gone_crt_of_cs',             '2026-04-01T00:00:00Z', 10),
    ('kept_client',                '2026-01-01T00:00:00Z', 11),
    ('gone_os_finished_old',       '2026-04-01T00:00:00Z', 12),
    ('gone_oat_of_os',             '2026-04-01T00:00:00Z', 13),
    ('gone_ort_of_os',             '2026-04-01T00:00:00Z', 14),
    ('kept_os_live',               '2026-05-01T00:00:00Z', 15),
    ('gone_oat_revoked',           '2026-05-01T00:00:00Z', 16),
    ('gone_oat_expired',           '2026-04-01T00:00:00Z', 17),
    ('kept_oat_live',              '2026-05-31T00:00:00Z', 18),
    ('gone_job_completed',         '2026-04-01T00:00:00Z', 19),
    ('gone_job_failed',            '2026-04-01T00:00:00Z', 20),
    ('kept_job_retry_available',   '2026-04-02T00:00:00Z', 21),
    ('kept_job_completed_recent',  '2026-05-25T00:00:00Z', 22),
    ('kept_provider',              '2026-01-01T00:00:00Z', 23),
    ('gone_upstream_orphan',       '2026-05-20T00:00:00Z', 24),
    ('kept_upstream_of_child',     '2026-03-31T00:00:00Z', 25),
    ('kept_link_bob',              '2026-03-31T00:00:00Z', 26),
    ('gone_link_orphan',           '2026-05-20T00:00:00Z', 27),
    ('gone_recovery_old',          '2026-05-20T00:00:00Z', 28),
    ('kept_recovery_recent',       '2026-05-30T00:00:00Z', 29),
    ('gone_registration_old',      '2026-04-20T00:00:00Z', 30),
    ('kept_auth_of_child',         '2026-04-01T00:00:00Z', 31),
    ('gone_grant_old',             '2026-05-01T00:00:00Z', 32)
) AS v(name, at, n);
CREATE FUNCTION pg_temp.i(text) RETURNS uuid LANGUAGE sql AS $$ SELECT id FROM ids WHERE name = $1 $$;

INSERT INTO users (user_id, username, created_at) VALUES
    (pg_temp.i('kept_user_alice'), 'alice', '2026-01-01T00:00:00Z'),
    (pg_temp.i('kept_user_bob'), 'bob', '2026-01-01T00:00:00Z');

INSERT INTO user_sessions (user_session_id, user_id, created_at, finished_at, last_active_at, last_active_ip) VALUES
    (pg_temp.i('gone_us_finished_old'), pg_temp.i('kept_user_alice'), '2026-04-01T00:00:00Z', '2026-04-15T00:00:00Z', '2026-04-15T00:00:00Z', '192.0.2.1'),
    (pg_temp.i('kept_us_finished_old_child'), pg_temp.i('kept_user_bob'), '2026-04-01T00:00:00Z', '2026-04-15T00:00:00Z', '2026-05-31T00:00:00Z', '192.0.2.2'),
    (pg_temp.i('kept_us_finished_recent'), pg_temp.i('kept_user_alice'), '2026-05-20T00:00:00Z', '2026-05-25T00:00:00Z', NULL, NULL),
    (pg_temp.i('kept_us_live_stale_ip'), pg_temp.i('kept_user_alice'), '2026-03-01T00:00:00Z', NULL, '2026-04-01T00:00:00Z', '192.0.2.3');

INSERT INTO compat_sessions (compat_session_id, user_id, user_session_id, device_id, created_at, finished_at, last_active_at, last_active_ip) VALUES
    (pg_temp.i('gone_cs_finished_old'), pg_temp.i('kept_user_alice'), NULL, 'OLDPHONE', '2026-04-01T00:00:00Z', '2026-04-10T00:00:00Z', '2026-04-10T00:00:00Z', '192.0.2.4'),
    (pg_temp.i('kept_cs_live_child'), pg_temp.i('kept_user_bob'), pg_temp.i('kept_us_finished_old_child'), 'BOBPHONE', '2026-04-01T00:00:00Z', NULL, '2026-05-31T00:00:00Z', '192.0.2.5');
INSERT INTO compat_access_tokens (compat_access_token_id, compat_session_id, access_token, created_at) VALUES
    (pg_temp.i('gone_cat_of_cs'), pg_temp.i('gone_cs_finished_old'), 'cat-1', '2026-04-01T00:00:00Z');
INSERT INTO compat_refresh_tokens (compat_refresh_token_id, compat_session_id, compat_access_token_id, refresh_token, created_at) VALUES
    (pg_temp.i('gone_crt_of_cs'), pg_temp.i('gone_cs_finished_old'), pg_temp.i('gone_cat_of_cs'), 'crt-1', '2026-04-01T00:00:00Z');

INSERT INTO oauth2_clients (oauth2_client_id, grant_type_authorization_code, grant_type_refresh_token, created_at) VALUES
    (pg_temp.i('kept_client'), true, true, '2026-01-01T00:00:00Z');
INSERT INTO oauth2_sessions (oauth2_session_id, oauth2_client_id, user_id, user_session_id, scope_list, created_at, finished_at) VALUES
    (pg_temp.i('gone_os_finished_old'), pg_temp.i('kept_client'), pg_temp.i('kept_user_alice'), NULL, '{openid}', '2026-04-01T00:00:00Z', '2026-04-20T00:00:00Z'),
    (pg_temp.i('kept_os_live'), pg_temp.i('kept_client'), pg_temp.i('kept_user_alice'), NULL, '{openid}', '2026-05-01T00:00:00Z', NULL);
INSERT INTO oauth2_access_tokens (oauth2_access_token_id, oauth2_session_id, access_token, created_at, expires_at, revoked_at) VALUES
    (pg_temp.i('gone_oat_of_os'), pg_temp.i('gone_os_finished_old'), 'oat-1', '2026-04-01T00:00:00Z', '2026-05-20T00:00:00Z', NULL),
    (pg_temp.i('gone_oat_revoked'), pg_temp.i('kept_os_live'), 'oat-2', '2026-05-01T00:00:00Z', '2026-06-30T00:00:00Z', '2026-05-31T22:00:00Z'),
    (pg_temp.i('gone_oat_expired'), pg_temp.i('kept_os_live'), 'oat-3', '2026-04-01T00:00:00Z', '2026-04-20T00:00:00Z', NULL),
    (pg_temp.i('kept_oat_live'), pg_temp.i('kept_os_live'), 'oat-4', '2026-05-31T00:00:00Z', '2026-06-01T01:00:00Z', NULL);
INSERT INTO oauth2_refresh_tokens (oauth2_refresh_token_id, oauth2_session_id, oauth2_access_token_id, refresh_token, created_at) VALUES
    (pg_temp.i('gone_ort_of_os'), pg_temp.i('gone_os_finished_old'), pg_temp.i('gone_oat_of_os'), 'ort-1', '2026-04-01T00:00:00Z');
INSERT INTO oauth2_authorization_grants (oauth2_authorization_grant_id, oauth2_client_id, oauth2_session_id, redirect_uri, scope, response_mode, response_type_code, response_type_id_token, created_at) VALUES
    (pg_temp.i('gone_grant_old'), pg_temp.i('kept_client'), pg_temp.i('kept_os_live'), 'https://app.example/', 'openid', 'query', true, false, '2026-05-01T00:00:00Z');

INSERT INTO queue_schedules (schedule_name) VALUES ('nightly');
INSERT INTO queue_jobs (queue_job_id, queue_name, status, created_at, schedule_name, attempt) VALUES
    (pg_temp.i('gone_job_completed'), 'email', 'completed', '2026-04-01T00:00:00Z', 'nightly', 0),
    (pg_temp.i('gone_job_failed'), 'email', 'failed', '2026-04-01T00:00:00Z', NULL, 0),
    (pg_temp.i('kept_job_retry_available'), 'email', 'available', '2026-04-02T00:00:00Z', NULL, 1),
    (pg_temp.i('kept_job_completed_recent'), 'email', 'completed', '2026-05-25T00:00:00Z', NULL, 0);
UPDATE queue_jobs SET next_attempt_id = pg_temp.i('kept_job_retry_available') WHERE queue_job_id = pg_temp.i('gone_job_failed');
UPDATE queue_schedules SET last_scheduled_job_id = pg_temp.i('gone_job_completed');

INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, issuer, scope, client_id, token_endpoint_auth_method, on_backchannel_logout, created_at) VALUES
    (pg_temp.i('kept_provider'), 'https://idp.example', 'openid', 'masstore', 'client_secret_basic', 'logout_all', '2026-01-01T00:00:00Z');
INSERT INTO upstream_oauth_links (upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject, created_at) VALUES
    (pg_temp.i('kept_link_bob'), pg_temp.i('kept_provider'), pg_temp.i('kept_user_bob'), 'bob-sub', '2026-03-31T00:00:00Z'),
    (pg_temp.i('gone_link_orphan'), pg_temp.i('kept_provider'), NULL, 'stranger', '2026-05-20T00:00:00Z');
INSERT INTO upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id, upstream_oauth_provider_id, upstream_oauth_link_id, state, id_token_claims, created_at, completed_at) VALUES
    (pg_temp.i('gone_upstream_orphan'), pg_temp.i('kept_provider'), NULL, 'state-1', NULL, '2026-05-20T00:00:00Z', NULL),
    (pg_temp.i('kept_upstream_of_child'), pg_temp.i('kept_provider'), pg_temp.i('kept_link_bob'), 'state-2', '{"sub": "bob-sub"}', '2026-03-31T00:00:00Z', '2026-03-31T00:00:00Z');
-- The trigger (or the backfill) links the upstream login to the browser session.
INSERT INTO user_session_authentications (user_session_authentication_id, user_session_id, upstream_oauth_authorization_session_id, created_at) VALUES
    (pg_temp.i('kept_auth_of_child'), pg_temp.i('kept_us_finished_old_child'), pg_temp.i('kept_upstream_of_child'), '2026-04-01T00:00:00Z');
UPDATE upstream_oauth_authorization_sessions SET user_session_id = pg_temp.i('kept_us_finished_old_child')
WHERE upstream_oauth_authorization_session_id = pg_temp.i('kept_upstream_of_child');

INSERT INTO user_recovery_sessions (user_recovery_session_id, email, user_agent, ip_address, locale, created_at) VALUES
    (pg_temp.i('gone_recovery_old'), 'alice@example.org', 'curl', '192.0.2.6', 'en', '2026-05-20T00:00:00Z'),
    (pg_temp.i('kept_recovery_recent'), 'bob@example.org', 'curl', '192.0.2.7', 'en', '2026-05-30T00:00:00Z');
INSERT INTO user_registrations (user_registration_id, username, ip_address, created_at) VALUES
    (pg_temp.i('gone_registration_old'), 'carol', '192.0.2.8', '2026-04-20T00:00:00Z');

-- What the test reads back: every named row's table and key.
CREATE TABLE janitor_e2e_ids AS SELECT name, id FROM ids;
