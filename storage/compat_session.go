package storage

import (
	"context"
	"net/netip"
	"time"

	"github.com/oklog/ulid/v2"
)

// CompatSession is a session of a client using the legacy Matrix login API.
type CompatSession struct {
	ID             ulid.ULID
	UserID         ulid.ULID
	UserSessionID  ulid.ULID // the browser session it came from; zero when none
	DeviceID       string
	IsSynapseAdmin bool
	CreatedAt      time.Time
	FinishedAt     *time.Time
	LastActiveAt   *time.Time
	LastActiveIP   netip.Addr
}

// CompatAccessToken is an access token of a compat session.
type CompatAccessToken struct {
	ID        ulid.ULID
	SessionID ulid.ULID
	Token     string
	CreatedAt time.Time
	ExpiresAt *time.Time
}

// CompatRefreshToken is a refresh token of a compat session.
type CompatRefreshToken struct {
	ID            ulid.ULID
	SessionID     ulid.ULID
	AccessTokenID ulid.ULID
	Token         string
	CreatedAt     time.Time
	ConsumedAt    *time.Time
}

// CompatSSOLogin is a login through the legacy SSO redirect flow.
type CompatSSOLogin struct {
	ID            ulid.ULID
	LoginToken    string
	RedirectURI   string
	CreatedAt     time.Time
	FulfilledAt   *time.Time
	ExchangedAt   *time.Time
	SessionID     ulid.ULID // the compat session it created; zero until fulfilled
	UserSessionID ulid.ULID // the browser session that fulfilled it
}

// CompatSessionRepository stores compat sessions, their tokens and SSO logins.
type CompatSessionRepository interface {
	// Add starts a compat session for the user, under a browser session when
	// browser is not nil.
	Add(ctx context.Context, clock Clock, user *User, deviceID string, browser *UserSession, isSynapseAdmin bool) (*CompatSession, error)
	// Lookup returns the session, or ErrNotFound.
	Lookup(ctx context.Context, id ulid.ULID) (*CompatSession, error)
	// Finish marks the session finished; finishing twice is ErrAlreadyFinished.
	Finish(ctx context.Context, clock Clock, session *CompatSession) (*CompatSession, error)
	// RecordActivity sets the last active time to clock's and the IP (an
	// invalid ip leaves the recorded one).
	RecordActivity(ctx context.Context, clock Clock, id ulid.ULID, ip netip.Addr) error

	// AddAccessToken adds an access token, expiring after expiresIn (0: never).
	AddAccessToken(ctx context.Context, clock Clock, session *CompatSession, token string, expiresIn time.Duration) (*CompatAccessToken, error)
	// FindAccessToken returns the access token with that value, or ErrNotFound.
	FindAccessToken(ctx context.Context, token string) (*CompatAccessToken, error)
	// AddRefreshToken adds a refresh token paired with an access token.
	AddRefreshToken(ctx context.Context, clock Clock, session *CompatSession, access *CompatAccessToken, token string) (*CompatRefreshToken, error)
	// FindRefreshToken returns the refresh token with that value, or ErrNotFound.
	FindRefreshToken(ctx context.Context, token string) (*CompatRefreshToken, error)
	// ConsumeRefreshToken marks the token consumed; twice is ErrAlreadyFinished.
	ConsumeRefreshToken(ctx context.Context, clock Clock, token *CompatRefreshToken) (*CompatRefreshToken, error)

	// AddSSOLogin starts an SSO login.
	AddSSOLogin(ctx context.Context, clock Clock, loginToken, redirectURI string) (*CompatSSOLogin, error)
	// FindSSOLogin returns the login with that token, or ErrNotFound.
	FindSSOLogin(ctx context.Context, loginToken string) (*CompatSSOLogin, error)
	// FulfillSSOLogin attaches the compat session the login created and the
	// browser session that approved it; twice is ErrInvalidState.
	FulfillSSOLogin(ctx context.Context, clock Clock, login *CompatSSOLogin, session *CompatSession, browser *UserSession) (*CompatSSOLogin, error)
	// ExchangeSSOLogin marks a fulfilled login exchanged; twice is
	// ErrAlreadyFinished, before fulfilment ErrInvalidState.
	ExchangeSSOLogin(ctx context.Context, clock Clock, login *CompatSSOLogin) (*CompatSSOLogin, error)

	// CleanupFinished deletes sessions finished before `before`, ordered by
	// (finished_at, id), with their access tokens, refresh tokens and SSO
	// logins. See CleanupFunc.
	CleanupFinished(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// FinishedWindow reads the candidates of CleanupFinished. See WindowFunc.
	FinishedWindow(ctx context.Context, after Cursor, before time.Time, limit int) (Window, error)
	// DeleteFinished deletes those of ids that are sessions finished before
	// `before`, as CleanupFinished does. See DeleteFunc.
	DeleteFinished(ctx context.Context, ids []ulid.ULID, before time.Time) (int, error)
	// ClearInactiveIPs nulls the IP of sessions last active before `before`,
	// ordered by (last_active_at, id). See CleanupFunc.
	ClearInactiveIPs(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CountStaleIPs counts sessions holding an IP, last active before `before`.
	CountStaleIPs(ctx context.Context, before time.Time) (int, error)
	// ExpireInactive finishes unfinished sessions last active before
	// `before`. See ExpireFunc.
	ExpireInactive(ctx context.Context, clock Clock, after Cursor, before time.Time, limit int) (Batch, []ulid.ULID, error)
	// CleanupAbandonedSSOLogins deletes SSO logins created (ULID age) before
	// `before` that never got a compat session. See CleanupFunc.
	CleanupAbandonedSSOLogins(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
}
