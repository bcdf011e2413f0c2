-- The MAS schema as an identity server of late 2025 had it: the target
-- schema of the 27 tables minus the changes of the migrations that follow.
CREATE TYPE queue_job_status AS ENUM ('available', 'running', 'completed', 'lost', 'failed', 'scheduled');

CREATE TABLE compat_access_tokens (
    compat_access_token_id uuid NOT NULL,
    access_token           text NOT NULL,
    compat_session_id      uuid NOT NULL,
    created_at             timestamp with time zone NOT NULL,
    expires_at             timestamp with time zone,
    CONSTRAINT compat_access_tokens_access_token_unique UNIQUE (access_token),
    CONSTRAINT compat_access_tokens_pkey PRIMARY KEY (compat_access_token_id)
);

CREATE TABLE compat_refresh_tokens (
    compat_refresh_token_id uuid NOT NULL,
    compat_access_token_id  uuid NOT NULL,
    compat_session_id       uuid NOT NULL,
    consumed_at             timestamp with time zone,
    created_at              timestamp with time zone NOT NULL,
    refresh_token           text NOT NULL,
    CONSTRAINT compat_refresh_tokens_pkey PRIMARY KEY (compat_refresh_token_id),
    CONSTRAINT compat_refresh_tokens_refresh_token_unique UNIQUE (refresh_token)
);

CREATE TABLE compat_sessions (
    compat_session_id uuid NOT NULL,
    created_at        timestamp with time zone NOT NULL,
    device_id         text,
    finished_at       timestamp with time zone,
    human_name        text,
    is_synapse_admin  boolean NOT NULL DEFAULT false,
    last_active_at    timestamp with time zone,
    last_active_ip    inet,
    user_agent        text,
    user_id           uuid NOT NULL,
    user_session_id   uuid,
    CONSTRAINT compat_sessions_pkey PRIMARY KEY (compat_session_id)
);

CREATE TABLE compat_sso_logins (
    compat_sso_login_id uuid NOT NULL,
    compat_session_id   uuid,
    created_at          timestamp with time zone NOT NULL,
    exchanged_at        timestamp with time zone,
    fulfilled_at        timestamp with time zone,
    login_token         text NOT NULL,
    redirect_uri        text NOT NULL,
    user_session_id     uuid,
    CONSTRAINT compat_sessions_login_token_unique UNIQUE (login_token),
    CONSTRAINT compat_sso_logins_pkey PRIMARY KEY (compat_sso_login_id)
);

CREATE TABLE oauth2_access_tokens (
    oauth2_access_token_id uuid NOT NULL,
    access_token           text NOT NULL,
    created_at             timestamp with time zone NOT NULL,
    expires_at             timestamp with time zone,
    first_used_at          timestamp with time zone,
    oauth2_session_id      uuid NOT NULL,
    revoked_at             timestamp with time zone,
    CONSTRAINT oauth2_access_tokens_pkey PRIMARY KEY (oauth2_access_token_id),
    CONSTRAINT oauth2_access_tokens_unique UNIQUE (access_token)
);

CREATE TABLE oauth2_authorization_grants (
    oauth2_authorization_grant_id uuid NOT NULL,
    authorization_code            text,
    cancelled_at                  timestamp with time zone,
    code_challenge                text,
    code_challenge_method         text,
    created_at                    timestamp with time zone NOT NULL,
    exchanged_at                  timestamp with time zone,
    fulfilled_at                  timestamp with time zone,
    locale                        text,
    login_hint                    text,
    nonce                         text,
    oauth2_client_id              uuid NOT NULL,
    oauth2_session_id             uuid,
    redirect_uri                  text NOT NULL,
    response_mode                 text NOT NULL,
    response_type_code            boolean NOT NULL,
    response_type_id_token        boolean NOT NULL,
    scope                         text NOT NULL,
    state                         text,
    CONSTRAINT oauth2_authorization_grants_authorization_code_unique UNIQUE (authorization_code),
    CONSTRAINT oauth2_authorization_grants_pkey PRIMARY KEY (oauth2_authorization_grant_id)
);

CREATE TABLE oauth2_clients (
    oauth2_client_id                uuid NOT NULL,
    application_type                text,
    client_name                     text,
    client_uri                      text,
    contacts                        text[] NOT NULL DEFAULT '{}'::text[],
    created_at                      timestamp with time zone,
    encrypted_client_secret         text,
    grant_type_authorization_code   boolean NOT NULL,
    grant_type_client_credentials   boolean NOT NULL DEFAULT false,
    grant_type_device_code          boolean NOT NULL DEFAULT false,
    grant_type_refresh_token        boolean NOT NULL,
    id_token_signed_response_alg    text,
    initiate_login_uri              text,
    is_static                       boolean NOT NULL DEFAULT false,
    jwks                            jsonb,
    jwks_uri                        text,
    logo_uri                        text,
    metadata_digest                 text,
    policy_uri                      text,
    redirect_uris                   text[] NOT NULL DEFAULT '{}'::text[],
    token_endpoint_auth_method      text,
    token_endpoint_auth_signing_alg text,
    tos_uri                         text,
    userinfo_signed_response_alg    text,
    CONSTRAINT oauth2_clients_metadata_digest_key UNIQUE (metadata_digest),
    CONSTRAINT oauth2_clients_pkey PRIMARY KEY (oauth2_client_id)
);

CREATE TABLE oauth2_device_code_grant (
    oauth2_device_code_grant_id uuid NOT NULL,
    created_at                  timestamp with time zone NOT NULL,
    device_code                 text NOT NULL,
    exchanged_at                timestamp with time zone,
    expires_at                  timestamp with time zone NOT NULL,
    fulfilled_at                timestamp with time zone,
    ip_address                  inet,
    oauth2_client_id            uuid NOT NULL,
    oauth2_session_id           uuid,
    rejected_at                 timestamp with time zone,
    scope                       text NOT NULL,
    user_agent                  text,
    user_code                   text NOT NULL,
    user_session_id             uuid,
    CONSTRAINT oauth2_device_code_grant_device_code_key UNIQUE (device_code),
    CONSTRAINT oauth2_device_code_grant_pkey PRIMARY KEY (oauth2_device_code_grant_id),
    CONSTRAINT oauth2_device_code_grant_user_code_key UNIQUE (user_code)
);

CREATE TABLE oauth2_refresh_tokens (
    oauth2_refresh_token_id      uuid NOT NULL,
    consumed_at                  timestamp with time zone,
    created_at                   timestamp with time zone NOT NULL,
    next_oauth2_refresh_token_id uuid,
    oauth2_access_token_id       uuid,
    oauth2_session_id            uuid NOT NULL,
    refresh_token                text NOT NULL,
    revoked_at                   timestamp with time zone,
    CONSTRAINT oauth2_refresh_tokens_pkey PRIMARY KEY (oauth2_refresh_token_id),
    CONSTRAINT oauth2_refresh_tokens_unique UNIQUE (refresh_token)
);

CREATE TABLE oauth2_sessions (
    oauth2_session_id uuid NOT NULL,
    created_at        timestamp with time zone NOT NULL,
    finished_at       timestamp with time zone,
    human_name        text,
    last_active_at    timestamp with time zone,
    last_active_ip    inet,
    oauth2_client_id  uuid NOT NULL,
    scope_list        text[] NOT NULL,
    user_agent        text,
    user_id           uuid,
    user_session_id   uuid,
    CONSTRAINT oauth2_sessions_pkey PRIMARY KEY (oauth2_session_id)
);

CREATE TABLE queue_jobs (
    queue_job_id    uuid NOT NULL,
    attempt         integer NOT NULL DEFAULT 0,
    completed_at    timestamp with time zone,
    created_at      timestamp with time zone NOT NULL,
    failed_at       timestamp with time zone,
    failed_reason   text,
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    next_attempt_id uuid,
    payload         jsonb NOT NULL DEFAULT '{}'::jsonb,
    queue_name      text NOT NULL,
    schedule_name   text,
    scheduled_at    timestamp with time zone,
    started_at      timestamp with time zone,
    started_by      uuid,
    status          queue_job_status NOT NULL DEFAULT 'available'::queue_job_status,
    CONSTRAINT queue_jobs_pkey PRIMARY KEY (queue_job_id)
);

CREATE TABLE queue_schedules (
    schedule_name         text NOT NULL,
    last_scheduled_at     timestamp with time zone,
    last_scheduled_job_id uuid,
    CONSTRAINT queue_schedules_pkey PRIMARY KEY (schedule_name)
);

CREATE TABLE queue_workers (
    queue_worker_id uuid NOT NULL,
    last_seen_at    timestamp with time zone NOT NULL,
    registered_at   timestamp with time zone NOT NULL,
    shutdown_at     timestamp with time zone,
    CONSTRAINT queue_workers_pkey PRIMARY KEY (queue_worker_id)
);

CREATE TABLE upstream_oauth_authorization_sessions (
    upstream_oauth_authorization_session_id uuid NOT NULL,
    code_challenge_verifier                 text,
    completed_at                            timestamp with time zone,
    consumed_at                             timestamp with time zone,
    created_at                              timestamp with time zone NOT NULL,
    extra_callback_parameters               jsonb,
    id_token                                text,
    id_token_claims                         jsonb,
    nonce                                   text,
    state                                   text NOT NULL,
    unlinked_at                             timestamp with time zone,
    upstream_oauth_link_id                  uuid,
    upstream_oauth_provider_id              uuid NOT NULL,
    userinfo                                jsonb,
    CONSTRAINT upstream_oauth_authorization_sessions_pkey PRIMARY KEY (upstream_oauth_authorization_session_id),
    CONSTRAINT upstream_oauth_authorization_sessions_state_unique UNIQUE (state)
);

CREATE TABLE upstream_oauth_links (
    upstream_oauth_link_id     uuid NOT NULL,
    created_at                 timestamp with time zone NOT NULL,
    human_account_name         text,
    subject                    text NOT NULL,
    upstream_oauth_provider_id uuid NOT NULL,
    user_id                    uuid,
    CONSTRAINT upstream_oauth_links_pkey PRIMARY KEY (upstream_oauth_link_id),
    CONSTRAINT upstream_oauth_links_subject_unique UNIQUE (upstream_oauth_provider_id, subject)
);

CREATE TABLE upstream_oauth_providers (
    upstream_oauth_provider_id      uuid NOT NULL,
    additional_parameters           jsonb,
    authorization_endpoint_override text,
    brand_name                      text,
    claims_imports                  jsonb NOT NULL DEFAULT '{}'::jsonb,
    client_id                       text NOT NULL,
    created_at                      timestamp with time zone NOT NULL,
    disabled_at                     timestamp with time zone,
    discovery_mode                  text NOT NULL DEFAULT 'oidc'::text,
    encrypted_client_secret         text,
    fetch_userinfo                  boolean NOT NULL DEFAULT false,
    forward_login_hint              boolean NOT NULL DEFAULT false,
    human_name                      text,
    id_token_signed_response_alg    text NOT NULL DEFAULT 'RS256'::text,
    issuer                          text,
    jwks_uri_override               text,
    on_backchannel_logout           text NOT NULL DEFAULT 'do_nothing'::text,
    pkce_mode                       text NOT NULL DEFAULT 'auto'::text,
    response_mode                   text DEFAULT 'query'::text,
    scope                           text NOT NULL,
    token_endpoint_auth_method      text NOT NULL,
    token_endpoint_override         text,
    token_endpoint_signing_alg      text,
    ui_order                        integer NOT NULL DEFAULT 0,
    userinfo_endpoint_override      text,
    userinfo_signed_response_alg    text,
    CONSTRAINT upstream_oauth_providers_pkey PRIMARY KEY (upstream_oauth_provider_id)
);

CREATE TABLE user_email_authentication_codes (
    user_email_authentication_code_id uuid NOT NULL,
    code                              text NOT NULL,
    created_at                        timestamp with time zone NOT NULL,
    expires_at                        timestamp with time zone NOT NULL,
    user_email_authentication_id      uuid NOT NULL,
    CONSTRAINT user_email_authentication_codes_auth_id_code_unique UNIQUE (user_email_authentication_id, code),
    CONSTRAINT user_email_authentication_codes_pkey PRIMARY KEY (user_email_authentication_code_id)
);

CREATE TABLE user_email_authentications (
    user_email_authentication_id uuid NOT NULL,
    completed_at                 timestamp with time zone,
    created_at                   timestamp with time zone NOT NULL,
    email                        text NOT NULL,
    user_registration_id         uuid,
    user_session_id              uuid,
    CONSTRAINT user_email_authentications_pkey PRIMARY KEY (user_email_authentication_id)
);

CREATE TABLE user_emails (
    user_email_id uuid NOT NULL,
    created_at    timestamp with time zone NOT NULL,
    email         text NOT NULL,
    user_id       uuid NOT NULL,
    CONSTRAINT user_emails_pkey PRIMARY KEY (user_email_id)
);

CREATE TABLE user_passwords (
    user_password_id uuid NOT NULL,
    created_at       timestamp with time zone NOT NULL,
    hashed_password  text NOT NULL,
    upgraded_from_id uuid,
    user_id          uuid NOT NULL,
    version          integer NOT NULL,
    CONSTRAINT user_passwords_pkey PRIMARY KEY (user_password_id)
);

CREATE TABLE user_recovery_sessions (
    user_recovery_session_id uuid NOT NULL,
    consumed_at              timestamp with time zone,
    created_at               timestamp with time zone NOT NULL,
    email                    text NOT NULL,
    ip_address               inet,
    locale                   text NOT NULL,
    user_agent               text NOT NULL,
    CONSTRAINT user_recovery_sessions_pkey PRIMARY KEY (user_recovery_session_id)
);

CREATE TABLE user_recovery_tickets (
    user_recovery_ticket_id  uuid NOT NULL,
    created_at               timestamp with time zone NOT NULL,
    expires_at               timestamp with time zone NOT NULL,
    ticket                   text NOT NULL,
    user_email_id            uuid NOT NULL,
    user_recovery_session_id uuid NOT NULL,
    CONSTRAINT user_recovery_tickets_pkey PRIMARY KEY (user_recovery_ticket_id)
);

CREATE TABLE user_registration_tokens (
    user_registration_token_id uuid NOT NULL,
    created_at                 timestamp with time zone NOT NULL,
    expires_at                 timestamp with time zone,
    last_used_at               timestamp with time zone,
    revoked_at                 timestamp with time zone,
    times_used                 integer NOT NULL DEFAULT 0,
    token                      text NOT NULL,
    usage_limit                integer,
    CONSTRAINT user_registration_tokens_pkey PRIMARY KEY (user_registration_token_id),
    CONSTRAINT user_registration_tokens_token_key UNIQUE (token)
);

CREATE TABLE user_registrations (
    user_registration_id       uuid NOT NULL,
    completed_at               timestamp with time zone,
    created_at                 timestamp with time zone NOT NULL,
    display_name               text,
    email_authentication_id    uuid,
    hashed_password            text,
    hashed_password_version    integer,
    ip_address                 inet,
    post_auth_action           jsonb,
    terms_url                  text,
    user_agent                 text,
    user_registration_token_id uuid,
    username                   text NOT NULL,
    CONSTRAINT user_registrations_pkey PRIMARY KEY (user_registration_id)
);

CREATE TABLE user_session_authentications (
    user_session_authentication_id          uuid NOT NULL,
    created_at                              timestamp with time zone NOT NULL,
    upstream_oauth_authorization_session_id uuid,
    user_password_id                        uuid,
    user_session_id                         uuid NOT NULL,
    CONSTRAINT user_session_authentications_pkey PRIMARY KEY (user_session_authentication_id)
);

CREATE TABLE user_sessions (
    user_session_id uuid NOT NULL,
    created_at      timestamp with time zone NOT NULL,
    finished_at     timestamp with time zone,
    last_active_at  timestamp with time zone,
    last_active_ip  inet,
    user_agent      text,
    user_id         uuid NOT NULL,
    CONSTRAINT user_sessions_pkey PRIMARY KEY (user_session_id)
);

CREATE TABLE users (
    user_id           uuid NOT NULL,
    can_request_admin boolean NOT NULL DEFAULT false,
    created_at        timestamp with time zone NOT NULL,
    deactivated_at    timestamp with time zone,
    is_guest          boolean NOT NULL DEFAULT false,
    locked_at         timestamp with time zone,
    username          text NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (user_id),
    CONSTRAINT users_username_unique UNIQUE (username)
);

ALTER TABLE user_passwords ADD CONSTRAINT user_passwords_upgraded_from_id_fkey FOREIGN KEY (upgraded_from_id) REFERENCES user_passwords(user_password_id) ON DELETE SET NULL;
ALTER TABLE user_passwords ADD CONSTRAINT user_passwords_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(user_id);
ALTER TABLE user_emails ADD CONSTRAINT user_emails_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(user_id) ON DELETE CASCADE;
ALTER TABLE user_sessions ADD CONSTRAINT user_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(user_id);
ALTER TABLE user_session_authentications ADD CONSTRAINT user_session_authentications_upstream_oauth_authorization__fkey FOREIGN KEY (upstream_oauth_authorization_session_id) REFERENCES upstream_oauth_authorization_sessions(upstream_oauth_authorization_session_id) ON DELETE SET NULL;
ALTER TABLE user_session_authentications ADD CONSTRAINT user_session_authentications_user_password_id_fkey FOREIGN KEY (user_password_id) REFERENCES user_passwords(user_password_id) ON DELETE SET NULL;
ALTER TABLE user_session_authentications ADD CONSTRAINT user_session_authentications_user_session_id_fkey FOREIGN KEY (user_session_id) REFERENCES user_sessions(user_session_id);
ALTER TABLE compat_sessions ADD CONSTRAINT compat_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(user_id);
ALTER TABLE compat_sessions ADD CONSTRAINT compat_sessions_user_session_id_fkey FOREIGN KEY (user_session_id) REFERENCES user_sessions(user_session_id) ON DELETE SET NULL;
ALTER TABLE compat_sso_logins ADD CONSTRAINT compat_sso_logins_compat_session_id_fkey FOREIGN KEY (compat_session_id) REFERENCES compat_sessions(compat_session_id) ON DELETE SET NULL;
ALTER TABLE compat_sso_logins ADD CONSTRAINT compat_sso_logins_user_session_id_fkey FOREIGN KEY (user_session_id) REFERENCES user_sessions(user_session_id) ON DELETE CASCADE;
ALTER TABLE compat_access_tokens ADD CONSTRAINT compat_access_tokens_compat_session_id_fkey FOREIGN KEY (compat_session_id) REFERENCES compat_sessions(compat_session_id);
ALTER TABLE compat_refresh_tokens ADD CONSTRAINT compat_refresh_tokens_compat_access_token_id_fkey FOREIGN KEY (compat_access_token_id) REFERENCES compat_access_tokens(compat_access_token_id);
ALTER TABLE compat_refresh_tokens ADD CONSTRAINT compat_refresh_tokens_compat_session_id_fkey FOREIGN KEY (compat_session_id) REFERENCES compat_sessions(compat_session_id);
ALTER TABLE oauth2_sessions ADD CONSTRAINT oauth2_sessions_oauth2_client_id_fkey FOREIGN KEY (oauth2_client_id) REFERENCES oauth2_clients(oauth2_client_id);
ALTER TABLE oauth2_sessions ADD CONSTRAINT oauth2_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(user_id) ON DELETE CASCADE;
ALTER TABLE oauth2_sessions ADD CONSTRAINT oauth2_sessions_user_session_id_fkey FOREIGN KEY (user_session_id) REFERENCES user_sessions(user_session_id);
ALTER TABLE oauth2_access_tokens ADD CONSTRAINT oauth2_access_tokens_oauth2_session_id_fkey FOREIGN KEY (oauth2_session_id) REFERENCES oauth2_sessions(oauth2_session_id);
ALTER TABLE oauth2_refresh_tokens ADD CONSTRAINT oauth2_access_tokens_oauth2_session_id_fkey FOREIGN KEY (oauth2_session_id) REFERENCES oauth2_sessions(oauth2_session_id);
ALTER TABLE oauth2_refresh_tokens ADD CONSTRAINT oauth2_refresh_tokens_next_oauth2_refresh_token_id_fkey FOREIGN KEY (next_oauth2_refresh_token_id) REFERENCES oauth2_refresh_tokens(oauth2_refresh_token_id);
ALTER TABLE oauth2_refresh_tokens ADD CONSTRAINT oauth2_refresh_tokens_oauth2_access_token_id_fkey FOREIGN KEY (oauth2_access_token_id) REFERENCES oauth2_access_tokens(oauth2_access_token_id) ON DELETE SET NULL;
ALTER TABLE oauth2_authorization_grants ADD CONSTRAINT tbl_oauth2_client_fkey FOREIGN KEY (oauth2_client_id) REFERENCES oauth2_clients(oauth2_client_id);
ALTER TABLE oauth2_authorization_grants ADD CONSTRAINT tbl_oauth2_session_fkey FOREIGN KEY (oauth2_session_id) REFERENCES oauth2_sessions(oauth2_session_id);
ALTER TABLE upstream_oauth_links ADD CONSTRAINT upstream_oauth_link_user_fkey FOREIGN KEY (user_id) REFERENCES users(user_id);
ALTER TABLE upstream_oauth_links ADD CONSTRAINT upstream_oauth_links_provider_fkey FOREIGN KEY (upstream_oauth_provider_id) REFERENCES upstream_oauth_providers(upstream_oauth_provider_id);
ALTER TABLE upstream_oauth_authorization_sessions ADD CONSTRAINT upstream_oauth_authorization_sessions_link_fkey FOREIGN KEY (upstream_oauth_link_id) REFERENCES upstream_oauth_links(upstream_oauth_link_id);
ALTER TABLE upstream_oauth_authorization_sessions ADD CONSTRAINT upstream_oauth_authorization_sessions_provider_fkey FOREIGN KEY (upstream_oauth_provider_id) REFERENCES upstream_oauth_providers(upstream_oauth_provider_id);
ALTER TABLE oauth2_device_code_grant ADD CONSTRAINT oauth2_device_code_grant_oauth2_client_id_fkey FOREIGN KEY (oauth2_client_id) REFERENCES oauth2_clients(oauth2_client_id) ON DELETE CASCADE;
ALTER TABLE oauth2_device_code_grant ADD CONSTRAINT oauth2_device_code_grant_oauth2_session_id_fkey FOREIGN KEY (oauth2_session_id) REFERENCES oauth2_sessions(oauth2_session_id) ON DELETE CASCADE;
ALTER TABLE oauth2_device_code_grant ADD CONSTRAINT oauth2_device_code_grant_user_session_id_fkey FOREIGN KEY (user_session_id) REFERENCES user_sessions(user_session_id);
ALTER TABLE user_recovery_tickets ADD CONSTRAINT user_recovery_tickets_user_email_id_fkey FOREIGN KEY (user_email_id) REFERENCES user_emails(user_email_id) ON DELETE CASCADE;
ALTER TABLE user_recovery_tickets ADD CONSTRAINT user_recovery_tickets_user_recovery_session_id_fkey FOREIGN KEY (user_recovery_session_id) REFERENCES user_recovery_sessions(user_recovery_session_id) ON DELETE CASCADE;
ALTER TABLE queue_jobs ADD CONSTRAINT queue_jobs_next_attempt_id_fkey FOREIGN KEY (next_attempt_id) REFERENCES queue_jobs(queue_job_id);
ALTER TABLE queue_jobs ADD CONSTRAINT queue_jobs_schedule_name_fkey FOREIGN KEY (schedule_name) REFERENCES queue_schedules(schedule_name);
ALTER TABLE queue_jobs ADD CONSTRAINT queue_jobs_started_by_fkey FOREIGN KEY (started_by) REFERENCES queue_workers(queue_worker_id);
ALTER TABLE queue_schedules ADD CONSTRAINT queue_schedules_last_scheduled_job_id_fkey FOREIGN KEY (last_scheduled_job_id) REFERENCES queue_jobs(queue_job_id);
ALTER TABLE user_email_authentications ADD CONSTRAINT user_email_authentications_user_registration_id_fkey FOREIGN KEY (user_registration_id) REFERENCES user_registrations(user_registration_id) ON DELETE CASCADE;
ALTER TABLE user_email_authentications ADD CONSTRAINT user_email_authentications_user_session_id_fkey FOREIGN KEY (user_session_id) REFERENCES user_sessions(user_session_id) ON DELETE SET NULL;
ALTER TABLE user_email_authentication_codes ADD CONSTRAINT user_email_authentication_cod_user_email_authentication_id_fkey FOREIGN KEY (user_email_authentication_id) REFERENCES user_email_authentications(user_email_authentication_id) ON DELETE CASCADE;
ALTER TABLE user_registrations ADD CONSTRAINT user_registrations_email_authentication_id_fkey FOREIGN KEY (email_authentication_id) REFERENCES user_email_authentications(user_email_authentication_id) ON DELETE SET NULL;
ALTER TABLE user_registrations ADD CONSTRAINT user_registrations_user_registration_token_id_fkey FOREIGN KEY (user_registration_token_id) REFERENCES user_registration_tokens(user_registration_token_id) ON DELETE SET NULL;

CREATE INDEX compat_access_tokens_session_fk ON compat_access_tokens (compat_session_id);
CREATE INDEX compat_refresh_tokens_access_token_fk ON compat_refresh_tokens (compat_access_token_id);
CREATE INDEX compat_refresh_tokens_session_fk ON compat_refresh_tokens (compat_session_id);
CREATE INDEX compat_sessions_last_active_at_idx ON compat_sessions (last_active_at);
CREATE INDEX compat_sessions_user_fk ON compat_sessions (user_id) INCLUDE (last_active_at);
CREATE INDEX compat_sessions_user_session_fk ON compat_sessions (user_session_id);
CREATE INDEX compat_sso_logins_session_fk ON compat_sso_logins (compat_session_id);
CREATE INDEX oauth2_access_tokens_session_fk ON oauth2_access_tokens (oauth2_session_id);
CREATE INDEX oauth2_authorization_grants_client_fk ON oauth2_authorization_grants (oauth2_client_id);
CREATE INDEX oauth2_authorization_grants_session_fk ON oauth2_authorization_grants (oauth2_session_id);
CREATE INDEX oauth2_device_code_grants_client_fk ON oauth2_device_code_grant (oauth2_client_id);
CREATE INDEX oauth2_device_code_grants_session_fk ON oauth2_device_code_grant (oauth2_session_id);
CREATE INDEX oauth2_device_code_grants_user_session_fk ON oauth2_device_code_grant (user_session_id);
CREATE INDEX oauth2_refresh_tokens_access_token_fk ON oauth2_refresh_tokens (oauth2_access_token_id);
CREATE INDEX oauth2_refresh_tokens_next_refresh_token_fk ON oauth2_refresh_tokens (next_oauth2_refresh_token_id);
CREATE INDEX oauth2_refresh_tokens_session_fk ON oauth2_refresh_tokens (oauth2_session_id);
CREATE INDEX oauth2_sessions_client_fk ON oauth2_sessions (oauth2_client_id);
CREATE INDEX oauth2_sessions_last_active_at_idx ON oauth2_sessions (last_active_at);
CREATE INDEX oauth2_sessions_scope_list_idx ON oauth2_sessions USING gin (scope_list);
CREATE INDEX oauth2_sessions_user_fk ON oauth2_sessions (user_id) INCLUDE (last_active_at);
CREATE INDEX oauth2_sessions_user_session_fk ON oauth2_sessions (user_session_id);
CREATE INDEX idx_queue_jobs_status_queue_job_id ON queue_jobs (status, queue_name, queue_job_id);
CREATE INDEX queue_jobs_next_attempt_fk ON queue_jobs (next_attempt_id);
CREATE INDEX queue_jobs_schedule_name_fk ON queue_jobs (schedule_name);
CREATE INDEX queue_jobs_scheduled_at_idx ON queue_jobs (scheduled_at) WHERE (status = 'scheduled'::queue_job_status);
CREATE INDEX queue_jobs_started_by_fk ON queue_jobs (started_by);
CREATE INDEX upstream_oauth_authorization_sessions_link_fk ON upstream_oauth_authorization_sessions (upstream_oauth_link_id);
CREATE INDEX upstream_oauth_authorization_sessions_provider_fk ON upstream_oauth_authorization_sessions (upstream_oauth_provider_id);
CREATE INDEX upstream_oauth_authorization_sessions_sid_sub_idx ON upstream_oauth_authorization_sessions (upstream_oauth_provider_id, ((id_token_claims ->> 'sid'::text)), ((id_token_claims ->> 'sub'::text)));
CREATE INDEX upstream_oauth_authorization_sessions_sub_sid_idx ON upstream_oauth_authorization_sessions (upstream_oauth_provider_id, ((id_token_claims ->> 'sub'::text)), ((id_token_claims ->> 'sid'::text)));
CREATE INDEX upstream_oauth_links_provider_fk ON upstream_oauth_links (upstream_oauth_provider_id);
CREATE INDEX upstream_oauth_links_user_fk ON upstream_oauth_links (user_id);
CREATE INDEX user_email_authentication_codes_authentication_fk ON user_email_authentication_codes (user_email_authentication_id);
CREATE INDEX user_email_authentications_user_registration_fk ON user_email_authentications (user_registration_id);
CREATE INDEX user_email_authentications_user_session_fk ON user_email_authentications (user_session_id);
CREATE INDEX user_emails_email_idx ON user_emails (email);
CREATE INDEX user_emails_lower_email_idx ON user_emails (lower(email));
CREATE INDEX user_emails_user_fk ON user_emails (user_id);
CREATE INDEX user_passwords_user_fk ON user_passwords (user_id);
CREATE INDEX user_recovery_tickets_session_fk ON user_recovery_tickets (user_recovery_session_id);
CREATE INDEX user_recovery_tickets_ticket_idx ON user_recovery_tickets (ticket);
CREATE INDEX user_recovery_tickets_user_email_fk ON user_recovery_tickets (user_email_id);
CREATE INDEX user_registration_tokens_created_at_idx ON user_registration_tokens (created_at);
CREATE INDEX user_registration_tokens_expires_at_idx ON user_registration_tokens (expires_at);
CREATE INDEX user_registration_tokens_last_used_at_idx ON user_registration_tokens (last_used_at);
CREATE INDEX user_registration_tokens_revoked_at_idx ON user_registration_tokens (revoked_at);
CREATE INDEX user_registration_tokens_times_used_idx ON user_registration_tokens (times_used);
CREATE INDEX user_registration_tokens_usage_limit_idx ON user_registration_tokens (usage_limit);
CREATE INDEX user_registrations_email_authentication_fk ON user_registrations (email_authentication_id);
CREATE INDEX user_registrations_user_registration_token_id_fk ON user_registrations (user_registration_token_id);
CREATE INDEX user_session_authentications_upstream_oauth_session_fk ON user_session_authentications (upstream_oauth_authorization_session_id);
CREATE INDEX user_session_authentications_user_password_fk ON user_session_authentications (user_password_id);
CREATE INDEX user_session_authentications_user_session_fk ON user_session_authentications (user_session_id);
CREATE INDEX user_sessions_last_active_at_idx ON user_sessions (last_active_at);
CREATE INDEX user_sessions_user_fk ON user_sessions (user_id) INCLUDE (last_active_at);
CREATE INDEX users_lower_username_idx ON users (lower(username));

CREATE FUNCTION queue_job_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'available' THEN
        PERFORM pg_notify('queue_available', json_build_object('queue', NEW.queue_name)::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER queue_job_notify_trigger
    AFTER INSERT OR UPDATE OF status ON queue_jobs
    FOR EACH ROW EXECUTE FUNCTION queue_job_notify();
