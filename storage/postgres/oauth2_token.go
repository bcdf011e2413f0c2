package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// oauth2Tokens is the storage.OAuth2TokenRepository.
type oauth2Tokens struct{ ext sqlx.ExtContext }

const oauth2AccessTokenColumns = `oauth2_access_token_id, oauth2_session_id, access_token, created_at, expires_at, revoked_at`

func scanOAuth2AccessToken(row rowScanner) (*storage.OAuth2AccessToken, error) {
	var t storage.OAuth2AccessToken
	err := row.Scan(idCol{&t.ID}, idCol{&t.SessionID}, &t.Token, timeCol{&t.CreatedAt},
		nullTimeCol{&t.ExpiresAt}, nullTimeCol{&t.RevokedAt})
	if err != nil {
		return nil, translate(err)
	}
	return &t, nil
}

const oauth2RefreshTokenColumns = `oauth2_refresh_token_id, oauth2_session_id, oauth2_access_token_id, refresh_token,
	created_at, consumed_at, revoked_at, next_oauth2_refresh_token_id`

func scanOAuth2RefreshToken(row rowScanner) (*storage.OAuth2RefreshToken, error) {
	var t storage.OAuth2RefreshToken
	err := row.Scan(idCol{&t.ID}, idCol{&t.SessionID}, idCol{&t.AccessTokenID}, &t.Token,
		timeCol{&t.CreatedAt}, nullTimeCol{&t.ConsumedAt}, nullTimeCol{&t.RevokedAt}, idCol{&t.NextID})
	if err != nil {
		return nil, translate(err)
	}
	return &t, nil
}

// AddAccessToken adds an access token expiring after expiresIn (0: never).
func (r oauth2Tokens) AddAccessToken(ctx context.Context, clock storage.Clock, session *storage.OAuth2Session, token string, expiresIn time.Duration) (*storage.OAuth2AccessToken, error) {
	if session == nil {
		return nil, nilArg("add OAuth 2.0 access token", "session")
	}
	if token == "" {
		return nil, fmt.Errorf("add OAuth 2.0 access token: empty token: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	t := &storage.OAuth2AccessToken{ID: ulidx.New(now), SessionID: session.ID, Token: token, CreatedAt: now, ExpiresAt: expiry(now, expiresIn)}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO oauth2_access_tokens (oauth2_access_token_id, oauth2_session_id, access_token, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`,
		key(t.ID), key(t.SessionID), token, now, timeArg(t.ExpiresAt))
	if err != nil {
		return nil, fmt.Errorf("add access token of OAuth 2.0 session %s: %w", session.ID, translate(err))
	}
	return t, nil
}

// LookupAccessToken returns the access token, or ErrNotFound.
func (r oauth2Tokens) LookupAccessToken(ctx context.Context, id ulid.ULID) (*storage.OAuth2AccessToken, error) {
	t, err := scanOAuth2AccessToken(r.ext.QueryRowxContext(ctx,
		`SELECT `+oauth2AccessTokenColumns+` FROM oauth2_access_tokens WHERE oauth2_access_token_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup OAuth 2.0 access token %s: %w", id, err)
	}
	return t, nil
}

// FindAccessToken returns the access token with that value, or ErrNotFound.
func (r oauth2Tokens) FindAccessToken(ctx context.Context, token string) (*storage.OAuth2AccessToken, error) {
	t, err := scanOAuth2AccessToken(r.ext.QueryRowxContext(ctx,
		`SELECT `+oauth2AccessTokenColumns+` FROM oauth2_access_tokens WHERE access_token = $1`, token))
	if err != nil {
		return nil, fmt.Errorf("find OAuth 2.0 access token: %w", err)
	}
	return t, nil
}

// RevokeAccessToken marks it revoked.
func (r oauth2Tokens) RevokeAccessToken(ctx context.Context, clock storage.Clock, token *storage.OAuth2AccessToken) (*storage.OAuth2AccessToken, error) {
	if token == nil {
		return nil, nilArg("revoke OAuth 2.0 access token", "token")
	}
	t, err := scanOAuth2AccessToken(r.ext.QueryRowxContext(ctx, `
		UPDATE oauth2_access_tokens SET revoked_at = $1
		WHERE oauth2_access_token_id = $2 AND revoked_at IS NULL
		RETURNING `+oauth2AccessTokenColumns, storage.Now(clock), key(token.ID)))
	if err == nil {
		return t, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "oauth2_access_tokens", "oauth2_access_token_id", token.ID, storage.ErrAlreadyFinished)
	}
	return nil, fmt.Errorf("revoke OAuth 2.0 access token %s: %w", token.ID, err)
}

// ExpireAccessToken makes it expire at clock's time, if it would expire later.
func (r oauth2Tokens) ExpireAccessToken(ctx context.Context, clock storage.Clock, token *storage.OAuth2AccessToken) (*storage.OAuth2AccessToken, error) {
	if token == nil {
		return nil, nilArg("expire OAuth 2.0 access token", "token")
	}
	t, err := scanOAuth2AccessToken(r.ext.QueryRowxContext(ctx, `
		UPDATE oauth2_access_tokens
		SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > $1 THEN $1 ELSE expires_at END
		WHERE oauth2_access_token_id = $2
		RETURNING `+oauth2AccessTokenColumns, storage.Now(clock), key(token.ID)))
	if err != nil {
		return nil, fmt.Errorf("expire OAuth 2.0 access token %s: %w", token.ID, err)
	}
	return t, nil
}

// AddRefreshToken adds a refresh token, paired with access when not nil.
func (r oauth2Tokens) AddRefreshToken(ctx context.Context, clock storage.Clock, session *storage.OAuth2Session, access *storage.OAuth2AccessToken, token string) (*storage.OAuth2RefreshToken, error) {
	if session == nil {
		return nil, nilArg("add OAuth 2.0 refresh token", "session")
	}
	if token == "" {
		return nil, fmt.Errorf("add OAuth 2.0 refresh token: empty token: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	t := &storage.OAuth2RefreshToken{ID: ulidx.New(now), SessionID: session.ID, Token: token, CreatedAt: now}
	if access != nil {
		t.AccessTokenID = access.ID
	}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO oauth2_refresh_tokens (oauth2_refresh_token_id, oauth2_session_id, oauth2_access_token_id, refresh_token, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		key(t.ID), key(t.SessionID), ref(t.AccessTokenID), token, now)
	if err != nil {
		return nil, fmt.Errorf("add refresh token of OAuth 2.0 session %s: %w", session.ID, translate(err))
	}
	return t, nil
}

// LookupRefreshToken returns the refresh token, or ErrNotFound.
func (r oauth2Tokens) LookupRefreshToken(ctx context.Context, id ulid.ULID) (*storage.OAuth2RefreshToken, error) {
	t, err := scanOAuth2RefreshToken(r.ext.QueryRowxContext(ctx,
		`SELECT `+oauth2RefreshTokenColumns+` FROM oauth2_refresh_tokens WHERE oauth2_refresh_token_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup OAuth 2.0 refresh token %s: %w", id, err)
	}
	return t, nil
}

// FindRefreshToken returns the refresh token with that value, or ErrNotFound.
func (r oauth2Tokens) FindRefreshToken(ctx context.Context, token string) (*storage.OAuth2RefreshToken, error) {
	t, err := scanOAuth2RefreshToken(r.ext.QueryRowxContext(ctx,
		`SELECT `+oauth2RefreshTokenColumns+` FROM oauth2_refresh_tokens WHERE refresh_token = $1`, token))
	if err != nil {
		return nil, fmt.Errorf("find OAuth 2.0 refresh token: %w", err)
	}
	return t, nil
}

// ConsumeRefreshToken marks it consumed, naming next as its successor.
func (r oauth2Tokens) ConsumeRefreshToken(ctx context.Context, clock storage.Clock, token *storage.OAuth2RefreshToken, next *storage.OAuth2RefreshToken) (*storage.OAuth2RefreshToken, error) {
	if token == nil {
		return nil, nilArg("consume OAuth 2.0 refresh token", "token")
	}
	var nextID ulid.ULID
	if next != nil {
		nextID = next.ID
	}
	t, err := scanOAuth2RefreshToken(r.ext.QueryRowxContext(ctx, `
		UPDATE oauth2_refresh_tokens SET consumed_at = $1, next_oauth2_refresh_token_id = $2
		WHERE oauth2_refresh_token_id = $3 AND consumed_at IS NULL
		RETURNING `+oauth2RefreshTokenColumns, storage.Now(clock), ref(nextID), key(token.ID)))
	if err == nil {
		return t, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "oauth2_refresh_tokens", "oauth2_refresh_token_id", token.ID, storage.ErrAlreadyFinished)
	}
	return nil, fmt.Errorf("consume OAuth 2.0 refresh token %s: %w", token.ID, err)
}

// RevokeRefreshToken marks it revoked.
func (r oauth2Tokens) RevokeRefreshToken(ctx context.Context, clock storage.Clock, token *storage.OAuth2RefreshToken) (*storage.OAuth2RefreshToken, error) {
	if token == nil {
		return nil, nilArg("revoke OAuth 2.0 refresh token", "token")
	}
	t, err := scanOAuth2RefreshToken(r.ext.QueryRowxContext(ctx, `
		UPDATE oauth2_refresh_tokens SET revoked_at = $1
		WHERE oauth2_refresh_token_id = $2 AND revoked_at IS NULL
		RETURNING `+oauth2RefreshTokenColumns, storage.Now(clock), key(token.ID)))
	if err == nil {
		return t, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "oauth2_refresh_tokens", "oauth2_refresh_token_id", token.ID, storage.ErrAlreadyFinished)
	}
	return nil, fmt.Errorf("revoke OAuth 2.0 refresh token %s: %w", token.ID, err)
}

// cleanupAccessTokensQuery deletes access tokens whose column (revoked_at or
// expires_at) is before the horizon, through that column's partial index.
// Refresh tokens paired with them are unlinked by their foreign key.
func cleanupAccessTokensQuery(column string) string {
	return `
WITH candidates AS MATERIALIZED (
	SELECT ctid AS tid, oauth2_access_token_id AS id, ` + column + ` AS t FROM oauth2_access_tokens
	WHERE ` + column + ` IS NOT NULL AND ` + column + ` < $1 AND (` + column + `, oauth2_access_token_id) > ($2, $3)
	ORDER BY ` + column + `, oauth2_access_token_id
	LIMIT $4
	FOR UPDATE SKIP LOCKED
), deleted AS (
	DELETE FROM oauth2_access_tokens WHERE ctid = ANY (ARRAY(SELECT tid FROM candidates))
	RETURNING 1
)` + cleanupResult
}

var (
	cleanupRevokedAccessTokens = cleanupAccessTokensQuery("revoked_at")
	cleanupExpiredAccessTokens = cleanupAccessTokensQuery("expires_at")
)

// CleanupRevokedAccessTokens deletes access tokens revoked before `before`.
func (r oauth2Tokens) CleanupRevokedAccessTokens(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return timeCleanup(ctx, r.ext, "clean up revoked OAuth 2.0 access tokens", cleanupRevokedAccessTokens, after, before, limit)
}

// CleanupExpiredAccessTokens deletes access tokens expired before `before`.
func (r oauth2Tokens) CleanupExpiredAccessTokens(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return timeCleanup(ctx, r.ext, "clean up expired OAuth 2.0 access tokens", cleanupExpiredAccessTokens, after, before, limit)
}

// cleanupRevokedRefreshTokens deletes revoked refresh tokens; a predecessor
// naming one is unlinked by the foreign key.
const cleanupRevokedRefreshTokens = `
WITH candidates AS MATERIALIZED (
	SELECT ctid AS tid, oauth2_refresh_token_id AS id, revoked_at AS t FROM oauth2_refresh_tokens
	WHERE revoked_at IS NOT NULL AND revoked_at < $1 AND (revoked_at, oauth2_refresh_token_id) > ($2, $3)
	ORDER BY revoked_at, oauth2_refresh_token_id
	LIMIT $4
	FOR UPDATE SKIP LOCKED
), deleted AS (
	DELETE FROM oauth2_refresh_tokens WHERE ctid = ANY (ARRAY(SELECT tid FROM candidates))
	RETURNING 1
)` + cleanupResult

// cleanupConsumedRefreshTokens examines consumed refresh tokens and deletes
// those whose successor is none or consumed itself, so that a live rotation
// chain keeps its links. The candidates come from
// oauth_refresh_token_consumed_at_idx, which also holds the successor's ID.
const cleanupConsumedRefreshTokens = `
WITH candidates AS MATERIALIZED (
	SELECT oauth2_refresh_token_id AS id, consumed_at AS t
	FROM oauth2_refresh_tokens
	WHERE consumed_at IS NOT NULL AND consumed_at < $1 AND (consumed_at, oauth2_refresh_token_id) > ($2, $3)
	ORDER BY consumed_at, oauth2_refresh_token_id
	LIMIT $4
), deletable AS MATERIALIZED (
	SELECT rt.ctid AS tid FROM oauth2_refresh_tokens rt
	WHERE rt.oauth2_refresh_token_id = ANY (ARRAY(SELECT id FROM candidates))
	  AND (rt.next_oauth2_refresh_token_id IS NULL
	       OR EXISTS (SELECT 1 FROM oauth2_refresh_tokens n
	                  WHERE n.oauth2_refresh_token_id = rt.next_oauth2_refresh_token_id AND n.consumed_at IS NOT NULL))
	FOR UPDATE OF rt SKIP LOCKED
), deleted AS (
	DELETE FROM oauth2_refresh_tokens WHERE ctid = ANY (ARRAY(SELECT tid FROM deletable))
	RETURNING 1
)` + cleanupResult

// CleanupRevokedRefreshTokens deletes refresh tokens revoked before `before`.
func (r oauth2Tokens) CleanupRevokedRefreshTokens(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return timeCleanup(ctx, r.ext, "clean up revoked OAuth 2.0 refresh tokens", cleanupRevokedRefreshTokens, after, before, limit)
}

// CleanupConsumedRefreshTokens deletes refresh tokens consumed before
// `before` whose successor is none or consumed.
func (r oauth2Tokens) CleanupConsumedRefreshTokens(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return timeCleanup(ctx, r.ext, "clean up consumed OAuth 2.0 refresh tokens", cleanupConsumedRefreshTokens, after, before, limit)
}
