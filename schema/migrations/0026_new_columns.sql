-- Step 15: columns MAS added; a constant default needs no table rewrite.
ALTER TABLE upstream_oauth_providers
    ADD COLUMN registration_token_required boolean NOT NULL DEFAULT false;
ALTER TABLE oauth2_authorization_grants
    ADD COLUMN raw_parameters jsonb;
ALTER TABLE oauth2_device_code_grant
    ADD COLUMN locale text;
