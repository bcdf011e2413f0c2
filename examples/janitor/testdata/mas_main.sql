-- The rows of the six tables MAS main added (upgrade step 17), for the same
-- run as scenario.sql (`--now 2026-06-01T00:00:00Z`), which must run first:
-- it made the users, the client and janitor_e2e_ids. Names say whether a
-- row must go ("gone_") or stay ("kept_").
CREATE OR REPLACE FUNCTION pg_temp.id(created timestamptz, n int) RETURNS uuid LANGUAGE sql AS $$
    SELECT (lpad(to_hex((extract(epoch FROM created) * 1000)::bigint), 12, '0') || lpad(to_hex(n), 20, '0'))::uuid
$$;
INSERT INTO janitor_e2e_ids (name, id) SELECT name, pg_temp.id(at, n) FROM (VALUES
    ('gone_ps_revoked_old',        '2026-03-01T00:00:00Z'::timestamptz, 101),
    ('gone_pat_of_ps_revoked_old', '2026-03-01T00:00:00Z', 102),
    ('kept_ps_revoked_recent',     '2026-03-01T00:00:00Z', 103),
    ('kept_pat_revoked_recent',    '2026-03-01T00:00:00Z', 104),
    ('kept_ps_live_stale_ip',      '2026-03-01T00:00:00Z', 105),
    ('gone_pat_revoked_old',       '2026-03-01T00:00:00Z', 106),
    ('kept_pat_live_expired',      '2026-04-01T00:00:00Z', 107),
    ('kept_ps_of_client',          '2026-03-01T00:00:00Z', 108),
    ('kept_worker_leader',         '2026-03-01T00:00:00Z', 109),
    ('gone_worker_stale',          '2026-03-01T00:00:00Z', 110),
    ('kept_terms_bob',             '2026-03-01T00:00:00Z', 111),
    ('gone_policy_01',             '2026-05-01T00:00:00Z', 112),
    ('gone_policy_02',             '2026-05-02T00:00:00Z', 113),
    ('kept_policy_03',             '2026-05-03T00:00:00Z', 114),
    ('kept_policy_04',             '2026-05-04T00:00:00Z', 115),
    ('kept_policy_05',             '2026-05-05T00:00:00Z', 116),
    ('kept_policy_06',             '2026-05-06T00:00:00Z', 117),
    ('kept_policy_07',             '2026-05-07T00:00:00Z', 118),
    ('kept_policy_08',             '2026-05-08T00:00:00Z', 119),
    ('kept_policy_09',             '2026-05-09T00:00:00Z', 120),
    ('kept_policy_10',             '2026-05-10T00:00:00Z', 121),
    ('kept_policy_11',             '2026-05-11T00:00:00Z', 122),
    ('kept_policy_12',             '2026-05-12T00:00:00Z', 123)
) AS v(name, at, n);
CREATE OR REPLACE FUNCTION pg_temp.i(text) RETURNS uuid LANGUAGE sql AS $$ SELECT id FROM janitor_e2e_ids WHERE name = $1 $$;

INSERT INTO personal_sessions (personal_session_id, owner_user_id, owner_oauth2_client_id, actor_user_id, human_name, scope_list, created_at, revoked_at, last_active_at, last_active_ip) VALUES
    (pg_temp.i('gone_ps_revoked_old'), pg_temp.i('kept_user_bob'), NULL, pg_temp.i('kept_user_bob'), 'old bot', '{urn:matrix:client:api:*}', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', '2026-04-01T00:00:00Z', '192.0.2.20'),
    (pg_temp.i('kept_ps_revoked_recent'), pg_temp.i('kept_user_bob'), NULL, pg_temp.i('kept_user_bob'), 'recent bot', '{urn:matrix:client:api:*}', '2026-03-01T00:00:00Z', '2026-05-20T00:00:00Z', NULL, NULL),
    (pg_temp.i('kept_ps_live_stale_ip'), pg_temp.i('kept_user_alice'), NULL, pg_temp.i('kept_user_alice'), 'live bot', '{urn:matrix:client:api:*}', '2026-03-01T00:00:00Z', NULL, '2026-04-01T00:00:00Z', '192.0.2.21'),
    (pg_temp.i('kept_ps_of_client'), NULL, pg_temp.i('kept_client'), pg_temp.i('kept_user_alice'), 'client bot', '{urn:matrix:client:api:*}', '2026-03-01T00:00:00Z', NULL, NULL, NULL);
-- A personal access token references its session (NO ACTION): the session
-- job deletes it with its session.
INSERT INTO personal_access_tokens (personal_access_token_id, personal_session_id, access_token_sha256, created_at, expires_at, revoked_at) VALUES
    (pg_temp.i('gone_pat_of_ps_revoked_old'), pg_temp.i('gone_ps_revoked_old'), sha256('pat-1'), '2026-03-01T00:00:00Z', NULL, '2026-04-01T00:00:00Z'),
    (pg_temp.i('kept_pat_revoked_recent'), pg_temp.i('kept_ps_revoked_recent'), sha256('pat-2'), '2026-03-01T00:00:00Z', NULL, '2026-05-20T00:00:00Z'),
    (pg_temp.i('gone_pat_revoked_old'), pg_temp.i('kept_ps_live_stale_ip'), sha256('pat-3'), '2026-03-01T00:00:00Z', NULL, '2026-04-01T00:00:00Z'),
    (pg_temp.i('kept_pat_live_expired'), pg_temp.i('kept_ps_live_stale_ip'), sha256('pat-4'), '2026-04-01T00:00:00Z', '2026-04-15T00:00:00Z', NULL);

-- The queue's leader references its worker (NO ACTION): a stale leader stays.
INSERT INTO queue_workers (queue_worker_id, registered_at, last_seen_at) VALUES
    (pg_temp.i('kept_worker_leader'), '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z'),
    (pg_temp.i('gone_worker_stale'), '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z');
INSERT INTO queue_leader (elected_at, expires_at, queue_worker_id) VALUES
    ('2026-03-01T00:00:00Z', '2026-03-01T00:01:00Z', pg_temp.i('kept_worker_leader'));

INSERT INTO user_terms (user_terms_id, user_id, terms_url, created_at) VALUES
    (pg_temp.i('kept_terms_bob'), pg_temp.i('kept_user_bob'), 'https://example.org/terms', '2026-03-01T00:00:00Z');
INSERT INTO user_unsupported_third_party_ids (user_id, medium, address, created_at) VALUES
    (pg_temp.i('kept_user_bob'), 'msisdn', '447700900000', '2026-03-01T00:00:00Z');

INSERT INTO policy_data (policy_data_id, created_at, data)
SELECT id, '2026-05-01T00:00:00Z', jsonb_build_object('version', name) FROM janitor_e2e_ids WHERE name LIKE '%_policy_%';
