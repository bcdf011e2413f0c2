-- Step 3: deleting a refresh token nulls the link from its predecessor.
ALTER TABLE oauth2_refresh_tokens
    DROP CONSTRAINT oauth2_refresh_tokens_next_oauth2_refresh_token_id_fkey;
ALTER TABLE oauth2_refresh_tokens
    ADD CONSTRAINT oauth2_refresh_tokens_next_oauth2_refresh_token_id_fkey
    FOREIGN KEY (next_oauth2_refresh_token_id)
    REFERENCES oauth2_refresh_tokens(oauth2_refresh_token_id)
    ON DELETE SET NULL NOT VALID;
