-- The Synapse tables the syn2mas checks read, as Synapse's own schema
-- (synapse/storage/schema/main/full_schemas) declares them for PostgreSQL.

CREATE TABLE users (
    name text,
    password_hash text,
    creation_ts bigint,
    admin smallint DEFAULT 0 NOT NULL,
    upgrade_ts bigint,
    is_guest smallint DEFAULT 0 NOT NULL,
    appservice_id text,
    consent_version text,
    consent_server_notice_sent text,
    user_type text,
    deactivated smallint DEFAULT 0 NOT NULL,
    shadow_banned boolean,
    consent_ts bigint,
    approved boolean,
    locked boolean DEFAULT false NOT NULL,
    suspended boolean DEFAULT false NOT NULL,
    CONSTRAINT users_name_key UNIQUE (name)
);

CREATE TABLE user_threepids (
    user_id text NOT NULL,
    medium text NOT NULL,
    address text NOT NULL,
    validated_at bigint NOT NULL,
    added_at bigint NOT NULL,
    CONSTRAINT medium_address UNIQUE (medium, address)
);
CREATE INDEX user_threepids_user_id ON user_threepids (user_id);

CREATE TABLE user_external_ids (
    auth_provider text NOT NULL,
    external_id text NOT NULL,
    user_id text NOT NULL,
    CONSTRAINT user_external_ids_auth_provider_external_id_key UNIQUE (auth_provider, external_id)
);
CREATE INDEX user_external_ids_user_id_idx ON user_external_ids (user_id);
