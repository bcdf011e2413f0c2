package postgres

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// compatSessions is the storage.CompatSessionRepository.
type compatSessions struct{ ext sqlx.ExtContext }

const compatSessionColumns = `compat_session_id, user_id, user_session_id, device_id, is_synapse_admin,
	created_at, finished_at, last_active_at, last_active_ip`

func scanCompatSession(row rowScanner) (*storage.CompatSession, error) {
	var s storage.CompatSession
	err := row.Scan(idCol{&s.ID}, idCol{&s.UserID}, idCol{&s.UserSessionID}, textCol{&s.DeviceID}, &s.IsSynapseAdmin,
		timeCol{&s.CreatedAt}, nullTimeCol{&s.FinishedAt}, nullTimeCol{&s.LastActiveAt}, ipCol{&s.LastActiveIP})
	if err != nil {
		return nil, translate(err)
	}
	return &s, nil
}

const compatAccessTokenColumns = `compat_access_token_id, compat_session_id, access_token, created_at, expires_at`

func scanCompatAccessToken(row rowScanner) (*storage.CompatAccessToken, error) {
	var t storage.CompatAccessToken
	err := row.Scan(idCol{&t.ID}, idCol{&t.SessionID}, &t.Token, timeCol{&t.CreatedAt}, nullTimeCol{&t.ExpiresAt})
	if err != nil {
		return nil, translate(err)
	}
	return &t, nil
}

const compatRefreshTokenColumns = `compat_refresh_token_id, compat_session_id, compat_access_token_id, refresh_token, created_at, consumed_at`

func scanCompatRefreshToken(row rowScanner) (*storage.CompatRefreshToken, error) {
	var t storage.CompatRefreshToken
	err := row.Scan(idCol{&t.ID}, idCol{&t.SessionID}, idCol{&t.AccessTokenID}, &t.Token,
		timeCol{&t.CreatedAt}, nullTimeCol{&t.ConsumedAt})
	if err != nil {
		return nil, translate(err)
	}
	return &t, nil
}

const compatSSOLoginColumns = `compat_sso_login_id, login_token, redirect_uri, created_at, fulfilled_at, exchanged_at,
	compat_session_id, user_session_id`

func scanCompatSSOLogin(row rowScanner) (*storage.CompatSSOLogin, error) {
	var l storage.CompatSSOLogin
	err := row.Scan(idCol{&l.ID}, &l.LoginToken, &l.RedirectURI, timeCol{&l.CreatedAt},
		nullTimeCol{&l.FulfilledAt}, nullTimeCol{&l.ExchangedAt}, idCol{&l.SessionID}, idCol{&l.UserSessionID})
	if err != nil {
		return nil, translate(err)
	}
	return &l, nil
}

// Add starts a compat session for the user, under browser when not nil.
func (r compatSessions) Add(ctx context.Context, clock storage.Clock, user *storage.User, deviceID string, browser *storage.UserSession, isSynapseAdmin bool) (*storage.CompatSession, error) {
	if user == nil {
		return nil, nilArg("add compat session", "user")
	}
	now := storage.Now(clock)
	s := &storage.CompatSession{ID: ulidx.New(now), UserID: user.ID, DeviceID: deviceID, IsSynapseAdmin: isSynapseAdmin, CreatedAt: now}
	if browser != nil {
		s.UserSessionID = browser.ID
	}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO compat_sessions (compat_session_id, user_id, user_session_id, device_id, is_synapse_admin, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		key(s.ID), key(s.UserID), ref(s.UserSessionID), textArg(deviceID), isSynapseAdmin, now)
	if err != nil {
		return nil, fmt.Errorf("add compat session of user %s: %w", user.ID, translate(err))
	}
	return s, nil
}

// Lookup returns the session, or ErrNotFound.
func (r compatSessions) Lookup(ctx context.Context, id ulid.ULID) (*storage.CompatSession, error) {
	s, err := scanCompatSession(r.ext.QueryRowxContext(ctx,
		`SELECT `+compatSessionColumns+` FROM compat_sessions WHERE compat_session_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup compat session %s: %w", id, err)
	}
	return s, nil
}

// Finish marks the session finished.
func (r compatSessions) Finish(ctx context.Context, clock storage.Clock, session *storage.CompatSession) (*storage.CompatSession, error) {
	if session == nil {
		return nil, nilArg("finish compat session", "session")
	}
	s, err := scanCompatSession(r.ext.QueryRowxContext(ctx, `
		UPDATE compat_sessions SET finished_at = $1
		WHERE compat_session_id = $2 AND finished_at IS NULL
		RETURNING `+compatSessionColumns, storage.Now(clock), key(session.ID)))
	if err == nil {
		return s, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "compat_sessions", "compat_session_id", session.ID, storage.ErrAlreadyFinished)
	}
	return nil, fmt.Errorf("finish compat session %s: %w", session.ID, err)
}

// RecordActivity sets the last active time, and the IP when ip is valid.
func (r compatSessions) RecordActivity(ctx context.Context, clock storage.Clock, id ulid.ULID, ip netip.Addr) error {
	return recordActivity(ctx, r.ext, "compat_sessions", "compat_session_id", "compat session", clock, id, ip)
}

// AddAccessToken adds an access token, expiring after expiresIn (0: never).
func (r compatSessions) AddAccessToken(ctx context.Context, clock storage.Clock, session *storage.CompatSession, token string, expiresIn time.Duration) (*storage.CompatAccessToken, error) {
	if session == nil {
		return nil, nilArg("add compat access token", "session")
	}
	if token == "" {
		return nil, fmt.Errorf("add compat access token: empty token: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	t := &storage.CompatAccessToken{ID: ulidx.New(now), SessionID: session.ID, Token: token, CreatedAt: now, ExpiresAt: expiry(now, expiresIn)}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO compat_access_tokens (compat_access_token_id, compat_session_id, access_token, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`,
		key(t.ID), key(t.SessionID), token, now, timeArg(t.ExpiresAt))
	if err != nil {
		return nil, fmt.Errorf("add access token of compat session %s: %w", session.ID, translate(err))
	}
	return t, nil
}

// expiry returns now+in, or nil (never) when in is 0.
func expiry(now time.Time, in time.Duration) *time.Time {
	if in == 0 {
		return nil
	}
	t := storage.Timestamp(now.Add(in))
	return &t
}

// FindAccessToken returns the access token with that value, or ErrNotFound.
func (r compatSessions) FindAccessToken(ctx context.Context, token string) (*storage.CompatAccessToken, error) {
	t, err := scanCompatAccessToken(r.ext.QueryRowxContext(ctx,
		`SELECT `+compatAccessTokenColumns+` FROM compat_access_tokens WHERE access_token = $1`, token))
	if err != nil {
		return nil, fmt.Errorf("find compat access token: %w", err)
	}
	return t, nil
}

// AddRefreshToken adds a refresh token paired with an access token.
func (r compatSessions) AddRefreshToken(ctx context.Context, clock storage.Clock, session *storage.CompatSession, access *storage.CompatAccessToken, token string) (*storage.CompatRefreshToken, error) {
	if session == nil {
		return nil, nilArg("add compat refresh token", "session")
	}
	if access == nil {
		return nil, fmt.Errorf("add compat refresh token: no access token: %w", storage.ErrInvalidArgument)
	}
	if token == "" {
		return nil, fmt.Errorf("add compat refresh token: empty token: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	t := &storage.CompatRefreshToken{ID: ulidx.New(now), SessionID: session.ID, AccessTokenID: access.ID, Token: token, CreatedAt: now}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO compat_refresh_tokens (compat_refresh_token_id, compat_session_id, compat_access_token_id, refresh_token, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		key(t.ID), key(t.SessionID), key(t.AccessTokenID), token, now)
	if err != nil {
		return nil, fmt.Errorf("add refresh token of compat session %s: %w", session.ID, translate(err))
	}
	return t, nil
}

// FindRefreshToken returns the refresh token with that value, or ErrNotFound.
func (r compatSessions) FindRefreshToken(ctx context.Context, token string) (*storage.CompatRefreshToken, error) {
	t, err := scanCompatRefreshToken(r.ext.QueryRowxContext(ctx,
		`SELECT `+compatRefreshTokenColumns+` FROM compat_refresh_tokens WHERE refresh_token = $1`, token))
	if err != nil {
		return nil, fmt.Errorf("find compat refresh token: %w", err)
	}
	return t, nil
}

// ConsumeRefreshToken marks the token consumed.
func (r compatSessions) ConsumeRefreshToken(ctx context.Context, clock storage.Clock, token *storage.CompatRefreshToken) (*storage.CompatRefreshToken, error) {
	if token == nil {
		return nil, nilArg("consume compat refresh token", "token")
	}
	t, err := scanCompatRefreshToken(r.ext.QueryRowxContext(ctx, `
		UPDATE compat_refresh_tokens SET consumed_at = $1
		WHERE compat_refresh_token_id = $2 AND consumed_at IS NULL
		RETURNING `+compatRefreshTokenColumns, storage.Now(clock), key(token.ID)))
	if err == nil {
		return t, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "compat_refresh_tokens", "compat_refresh_token_id", token.ID, storage.ErrAlreadyFinished)
	}
	return nil, fmt.Errorf("consume compat refresh token %s: %w", token.ID, err)
}

// AddSSOLogin starts an SSO login.
func (r compatSessions) AddSSOLogin(ctx context.Context, clock storage.Clock, loginToken, redirectURI string) (*storage.CompatSSOLogin, error) {
	if loginToken == "" {
		return nil, fmt.Errorf("add SSO login: empty login token: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	l := &storage.CompatSSOLogin{ID: ulidx.New(now), LoginToken: loginToken, RedirectURI: redirectURI, CreatedAt: now}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO compat_sso_logins (compat_sso_login_id, login_token, redirect_uri, created_at)
		VALUES ($1, $2, $3, $4)`, key(l.ID), loginToken, redirectURI, now)
	if err != nil {
		return nil, fmt.Errorf("add SSO login: %w", translate(err))
	}
	return l, nil
}

// FindSSOLogin returns the login with that token, or ErrNotFound.
func (r compatSessions) FindSSOLogin(ctx context.Context, loginToken string) (*storage.CompatSSOLogin, error) {
	l, err := scanCompatSSOLogin(r.ext.QueryRowxContext(ctx,
		`SELECT `+compatSSOLoginColumns+` FROM compat_sso_logins WHERE login_token = $1`, loginToken))
	if err != nil {
		return nil, fmt.Errorf("find SSO login: %w", err)
	}
	return l, nil
}

func (r compatSessions) lookupSSOLogin(ctx context.Context, id ulid.ULID) (*storage.CompatSSOLogin, error) {
	l, err := scanCompatSSOLogin(r.ext.QueryRowxContext(ctx,
		`SELECT `+compatSSOLoginColumns+` FROM compat_sso_logins WHERE compat_sso_login_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup SSO login %s: %w", id, err)
	}
	return l, nil
}

// FulfillSSOLogin attaches the compat session the login created and the
// browser session that approved it.
func (r compatSessions) FulfillSSOLogin(ctx context.Context, clock storage.Clock, login *storage.CompatSSOLogin, session *storage.CompatSession, browser *storage.UserSession) (*storage.CompatSSOLogin, error) {
	if login == nil {
		return nil, nilArg("fulfill SSO login", "login")
	}
	if session == nil {
		return nil, fmt.Errorf("fulfill SSO login %s: no compat session: %w", login.ID, storage.ErrInvalidArgument)
	}
	var browserID ulid.ULID
	if browser != nil {
		browserID = browser.ID
	}
	l, err := scanCompatSSOLogin(r.ext.QueryRowxContext(ctx, `
		UPDATE compat_sso_logins SET fulfilled_at = $1, compat_session_id = $2, user_session_id = $3
		WHERE compat_sso_login_id = $4 AND fulfilled_at IS NULL
		RETURNING `+compatSSOLoginColumns,
		storage.Now(clock), key(session.ID), ref(browserID), key(login.ID)))
	if err == nil {
		return l, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "compat_sso_logins", "compat_sso_login_id", login.ID, storage.ErrInvalidState)
	}
	return nil, fmt.Errorf("fulfill SSO login %s: %w", login.ID, err)
}

// ExchangeSSOLogin marks a fulfilled login exchanged.
func (r compatSessions) ExchangeSSOLogin(ctx context.Context, clock storage.Clock, login *storage.CompatSSOLogin) (*storage.CompatSSOLogin, error) {
	if login == nil {
		return nil, nilArg("exchange SSO login", "login")
	}
	l, err := scanCompatSSOLogin(r.ext.QueryRowxContext(ctx, `
		UPDATE compat_sso_logins SET exchanged_at = $1
		WHERE compat_sso_login_id = $2 AND fulfilled_at IS NOT NULL AND exchanged_at IS NULL
		RETURNING `+compatSSOLoginColumns, storage.Now(clock), key(login.ID)))
	if err == nil {
		return l, nil
	}
	if noRows(err) {
		var cur *storage.CompatSSOLogin
		if cur, err = r.lookupSSOLogin(ctx, login.ID); err == nil {
			err = finalOrInvalid(cur.ExchangedAt != nil, "not fulfilled")
		}
	}
	return nil, fmt.Errorf("exchange SSO login %s: %w", login.ID, err)
}

// finishedCompatSessions deletes finished sessions with their refresh
// tokens, access tokens (both NO ACTION) and SSO logins (which would
// otherwise only be unlinked).
var finishedCompatSessions = finishedSessionQueries("compat_sessions", "compat_session_id",
	"compat_refresh_tokens", "compat_access_tokens", "compat_sso_logins")

// CleanupFinished deletes sessions finished before `before`.
func (r compatSessions) CleanupFinished(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return timeCleanup(ctx, r.ext, "clean up finished compat sessions", finishedCompatSessions.batch, after, before, limit)
}

// FinishedWindow reads the candidates of CleanupFinished.
func (r compatSessions) FinishedWindow(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Window, error) {
	return timeWindow(ctx, r.ext, "read finished compat sessions", finishedCompatSessions.window, after, before, limit)
}

// DeleteFinished deletes those of ids that are sessions finished before `before`.
func (r compatSessions) DeleteFinished(ctx context.Context, ids []ulid.ULID, before time.Time) (int, error) {
	return deleteByID(ctx, r.ext, "delete finished compat sessions", finishedCompatSessions.byID, ids, before)
}

// ClearInactiveIPs nulls the IP of sessions last active before `before`.
func (r compatSessions) ClearInactiveIPs(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return timeCleanup(ctx, r.ext, "clear inactive compat session IPs", clearIPsQuery("compat_sessions", "compat_session_id"), after, before, limit)
}

// CountStaleIPs counts sessions holding an IP, last active before `before`.
func (r compatSessions) CountStaleIPs(ctx context.Context, before time.Time) (int, error) {
	return count(ctx, r.ext, "count stale compat session IPs", countStaleIPsQuery("compat_sessions"), storage.Horizon(before))
}

// cleanupAbandonedSSOLogins deletes, by ULID age, SSO logins that never got
// a compat session. Nothing references an SSO login.
var cleanupAbandonedSSOLogins = deleteByULIDAgeQuery("compat_sso_logins", "compat_sso_login_id", "compat_session_id IS NULL")

// CleanupAbandonedSSOLogins deletes SSO logins created before `before` that
// never got a compat session.
func (r compatSessions) CleanupAbandonedSSOLogins(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return ulidAgeCleanup(ctx, r.ext, "clean up abandoned SSO logins", cleanupAbandonedSSOLogins, after, before, limit)
}
