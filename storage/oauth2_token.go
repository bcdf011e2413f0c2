package storage

import (
	"context"
	"time"

	"github.com/oklog/ulid/v2"
)

// OAuth2AccessToken is an access token of an OAuth 2.0 session.
type OAuth2AccessToken struct {
	ID        ulid.ULID
	SessionID ulid.ULID
	Token     string
	CreatedAt time.Time
	ExpiresAt *time.Time
	RevokedAt *time.Time
}

// OAuth2RefreshToken is a refresh token of an OAuth 2.0 session. Using it
// consumes it and names its successor, forming a rotation chain.
type OAuth2RefreshToken struct {
	ID            ulid.ULID
	SessionID     ulid.ULID
	AccessTokenID ulid.ULID // zero when none
	Token         string
	CreatedAt     time.Time
	ConsumedAt    *time.Time
	RevokedAt     *time.Time
	NextID        ulid.ULID // the successor; zero when none
}

// OAuth2TokenRepository stores OAuth 2.0 access and refresh tokens.
type OAuth2TokenRepository interface {
	// AddAccessToken adds an access token expiring after expiresIn (0: never).
	AddAccessToken(ctx context.Context, clock Clock, session *OAuth2Session, token string, expiresIn time.Duration) (*OAuth2AccessToken, error)
	// LookupAccessToken returns the access token, or ErrNotFound.
	LookupAccessToken(ctx context.Context, id ulid.ULID) (*OAuth2AccessToken, error)
	// FindAccessToken returns the access token with that value, or ErrNotFound.
	FindAccessToken(ctx context.Context, token string) (*OAuth2AccessToken, error)
	// RevokeAccessToken marks it revoked; twice is ErrAlreadyFinished.
	RevokeAccessToken(ctx context.Context, clock Clock, token *OAuth2AccessToken) (*OAuth2AccessToken, error)
	// ExpireAccessToken makes it expire at clock's time, if it would expire
	// later or never.
	ExpireAccessToken(ctx context.Context, clock Clock, token *OAuth2AccessToken) (*OAuth2AccessToken, error)

	// AddRefreshToken adds a refresh token, paired with access when not nil.
	AddRefreshToken(ctx context.Context, clock Clock, session *OAuth2Session, access *OAuth2AccessToken, token string) (*OAuth2RefreshToken, error)
	// LookupRefreshToken returns the refresh token, or ErrNotFound.
	LookupRefreshToken(ctx context.Context, id ulid.ULID) (*OAuth2RefreshToken, error)
	// FindRefreshToken returns the refresh token with that value, or ErrNotFound.
	FindRefreshToken(ctx context.Context, token string) (*OAuth2RefreshToken, error)
	// ConsumeRefreshToken marks it consumed, naming next as its successor
	// (next may be nil); twice is ErrAlreadyFinished.
	ConsumeRefreshToken(ctx context.Context, clock Clock, token *OAuth2RefreshToken, next *OAuth2RefreshToken) (*OAuth2RefreshToken, error)
	// RevokeRefreshToken marks it revoked; twice is ErrAlreadyFinished.
	RevokeRefreshToken(ctx context.Context, clock Clock, token *OAuth2RefreshToken) (*OAuth2RefreshToken, error)

	// CleanupRevokedAccessTokens deletes access tokens revoked before
	// `before`, ordered by (revoked_at, id); refresh tokens paired with them
	// lose the pairing. See CleanupFunc.
	CleanupRevokedAccessTokens(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CleanupExpiredAccessTokens deletes access tokens that expired before
	// `before`, ordered by (expires_at, id). See CleanupFunc.
	CleanupExpiredAccessTokens(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CleanupRevokedRefreshTokens deletes refresh tokens revoked before
	// `before`, ordered by (revoked_at, id); a predecessor naming one loses
	// its successor. See CleanupFunc.
	CleanupRevokedRefreshTokens(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CleanupConsumedRefreshTokens deletes refresh tokens consumed before
	// `before` whose successor is none or itself consumed, ordered by
	// (consumed_at, id); one whose successor is live is skipped, so a live
	// rotation chain is never broken. See CleanupFunc.
	CleanupConsumedRefreshTokens(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
}
