-- Step 17: the six tables MAS main added since January 2026, with MAS's
-- names for every constraint and index. They are new and empty, so their
-- indexes are built here, in the transaction, not concurrently.

-- Personal sessions: long-lived sessions for scripts and bots, owned by a
-- user or by an OAuth 2.0 client (exactly one), acting as actor_user_id.
CREATE TABLE personal_sessions (
    personal_session_id    uuid NOT NULL,
    owner_user_id          uuid,
    owner_oauth2_client_id uuid,
    actor_user_id          uuid NOT NULL,
    human_name             text NOT NULL,
    scope_list             text[] NOT NULL,
    created_at             timestamp with time zone NOT NULL,
    revoked_at             timestamp with time zone,
    last_active_at         timestamp with time zone,
    last_active_ip         inet,
    CONSTRAINT personal_sessions_pkey PRIMARY KEY (personal_session_id),
    CONSTRAINT personal_sessions_owner_user_id_fkey FOREIGN KEY (owner_user_id) REFERENCES users(user_id),
    CONSTRAINT personal_sessions_owner_oauth2_client_id_fkey FOREIGN KEY (owner_oauth2_client_id) REFERENCES oauth2_clients(oauth2_client_id),
    CONSTRAINT personal_sessions_actor_user_id_fkey FOREIGN KEY (actor_user_id) REFERENCES users(user_id),
    CONSTRAINT personal_sessions_exactly_one_owner CHECK ((owner_user_id IS NULL) <> (owner_oauth2_client_id IS NULL))
);
CREATE INDEX personal_sessions_owner_user_id_idx
    ON personal_sessions (owner_user_id) WHERE owner_user_id IS NOT NULL;
CREATE INDEX personal_sessions_owner_oauth2_client_id_idx
    ON personal_sessions (owner_oauth2_client_id) WHERE owner_oauth2_client_id IS NOT NULL;
CREATE INDEX personal_sessions_actor_user_id_idx
    ON personal_sessions (actor_user_id);

-- Their tokens: only the SHA-256 of a token is stored; at most one token of
-- a session is not revoked.
CREATE TABLE personal_access_tokens (
    personal_access_token_id uuid NOT NULL,
    personal_session_id      uuid NOT NULL,
    access_token_sha256      bytea NOT NULL,
    created_at               timestamp with time zone NOT NULL,
    expires_at               timestamp with time zone,
    revoked_at               timestamp with time zone,
    CONSTRAINT personal_access_tokens_pkey PRIMARY KEY (personal_access_token_id),
    CONSTRAINT personal_access_tokens_personal_session_id_fkey FOREIGN KEY (personal_session_id) REFERENCES personal_sessions(personal_session_id),
    CONSTRAINT personal_access_tokens_access_token_sha256_key UNIQUE (access_token_sha256),
    CONSTRAINT personal_access_tokens_access_token_sha256_check CHECK (octet_length(access_token_sha256) = 32)
);
CREATE UNIQUE INDEX personal_access_tokens_personal_session_id_idx
    ON personal_access_tokens (personal_session_id) WHERE revoked_at IS NULL;

-- Versions of the dynamic policy data; the newest is in force.
CREATE TABLE policy_data (
    policy_data_id uuid NOT NULL,
    created_at     timestamp with time zone NOT NULL,
    data           jsonb NOT NULL,
    CONSTRAINT policy_data_pkey PRIMARY KEY (policy_data_id)
);

-- The queue's leader lease: at most one row. Unlogged, as in MAS: a lease
-- needs no crash safety.
CREATE UNLOGGED TABLE queue_leader (
    active          boolean NOT NULL DEFAULT true,
    elected_at      timestamp with time zone NOT NULL,
    expires_at      timestamp with time zone NOT NULL,
    queue_worker_id uuid NOT NULL,
    CONSTRAINT queue_leader_active CHECK (active IS TRUE),
    CONSTRAINT queue_leader_active_key UNIQUE (active),
    CONSTRAINT queue_leader_queue_worker_id_fkey FOREIGN KEY (queue_worker_id) REFERENCES queue_workers(queue_worker_id)
);

-- The terms-of-service URLs each user accepted, once per URL.
CREATE TABLE user_terms (
    user_terms_id uuid NOT NULL,
    user_id       uuid NOT NULL,
    terms_url     text NOT NULL,
    created_at    timestamp with time zone NOT NULL,
    CONSTRAINT user_terms_pkey PRIMARY KEY (user_terms_id),
    CONSTRAINT user_terms_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(user_id) ON DELETE CASCADE,
    CONSTRAINT user_terms_user_id_terms_url_key UNIQUE (user_id, terms_url)
);
CREATE INDEX user_terms_user_fk ON user_terms (user_id);

-- Third-party IDs other than e-mail (phone numbers...) kept from Synapse.
CREATE TABLE user_unsupported_third_party_ids (
    user_id    uuid NOT NULL,
    medium     text NOT NULL,
    address    text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT user_unsupported_third_party_ids_pkey PRIMARY KEY (user_id, medium, address),
    CONSTRAINT user_unsupported_third_party_ids_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(user_id) ON DELETE CASCADE
);
