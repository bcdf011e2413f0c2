package memory

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// compatSessions implements storage.CompatSessionRepository.
type compatSessions struct{ repo }

// Add starts a compat session for the user, under a browser session when
// browser is not nil.
func (r compatSessions) Add(ctx context.Context, clock storage.Clock, user *storage.User, deviceID string, browser *storage.UserSession, isSynapseAdmin bool) (*storage.CompatSession, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.CompatSession, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("add compat session: %w", err)
		}
		u, err := mustUser(st, user)
		if err != nil {
			return nil, fmt.Errorf("add compat session: %w", err)
		}
		browserID, err := optUserSession(st, browser)
		if err != nil {
			return nil, fmt.Errorf("add compat session: %w", err)
		}
		s := storage.CompatSession{
			ID: ulidx.New(now), UserID: u.ID, UserSessionID: browserID,
			DeviceID: deviceID, IsSynapseAdmin: isSynapseAdmin, CreatedAt: now,
		}
		if err := st.compatSessions.insert(s.ID, s); err != nil {
			return nil, fmt.Errorf("add compat session: %w", err)
		}
		return cloneCompatSession(s), nil
	})
}

// Lookup returns the session.
func (r compatSessions) Lookup(ctx context.Context, id ulid.ULID) (*storage.CompatSession, error) {
	return query(r.repo, ctx, func(st *state) (*storage.CompatSession, error) {
		s, err := st.compatSessions.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup compat session: %w", err)
		}
		return cloneCompatSession(s), nil
	})
}

// Finish marks the session finished.
func (r compatSessions) Finish(ctx context.Context, clock storage.Clock, session *storage.CompatSession) (*storage.CompatSession, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.CompatSession, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("finish compat session: %w", err)
		}
		s, err := mustCompatSession(st, session)
		if err != nil {
			return nil, fmt.Errorf("finish compat session: %w", err)
		}
		if s.FinishedAt != nil {
			return nil, fmt.Errorf("finish compat session %s: %w", s.ID, storage.ErrAlreadyFinished)
		}
		s.FinishedAt = timeRef(now)
		if err := st.compatSessions.update(s.ID, s); err != nil {
			return nil, fmt.Errorf("finish compat session: %w", err)
		}
		return cloneCompatSession(s), nil
	})
}

// RecordActivity sets the last active time and, when valid, the IP.
func (r compatSessions) RecordActivity(ctx context.Context, clock storage.Clock, id ulid.ULID, ip netip.Addr) error {
	return r.write(ctx, func(st *state) error { return compatSessionActivity.record(st, clock, id, ip) })
}

// AddAccessToken adds an access token, expiring after expiresIn (0: never).
func (r compatSessions) AddAccessToken(ctx context.Context, clock storage.Clock, session *storage.CompatSession, token string, expiresIn time.Duration) (*storage.CompatAccessToken, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.CompatAccessToken, error) {
		const op = "add compat access token"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if token == "" {
			return nil, fmt.Errorf("%s: empty token: %w", op, storage.ErrInvalidArgument)
		}
		s, err := mustCompatSession(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		t := storage.CompatAccessToken{ID: ulidx.New(now), SessionID: s.ID, Token: token, CreatedAt: now, ExpiresAt: expiry(now, expiresIn)}
		if err := st.compatAccess.insert(t.ID, t); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneCompatAccessToken(t), nil
	})
}

// FindAccessToken returns the access token with that value.
func (r compatSessions) FindAccessToken(ctx context.Context, token string) (*storage.CompatAccessToken, error) {
	return query(r.repo, ctx, func(st *state) (*storage.CompatAccessToken, error) {
		t, ok := st.compatAccess.find(uqCompatAccess, token)
		if !ok {
			return nil, fmt.Errorf("find compat access token: %w", storage.ErrNotFound)
		}
		return cloneCompatAccessToken(t), nil
	})
}

// AddRefreshToken adds a refresh token paired with an access token.
func (r compatSessions) AddRefreshToken(ctx context.Context, clock storage.Clock, session *storage.CompatSession, access *storage.CompatAccessToken, token string) (*storage.CompatRefreshToken, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.CompatRefreshToken, error) {
		const op = "add compat refresh token"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if token == "" {
			return nil, fmt.Errorf("%s: empty token: %w", op, storage.ErrInvalidArgument)
		}
		s, err := mustCompatSession(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if access == nil {
			return nil, fmt.Errorf("%s: nil access token: %w", op, storage.ErrInvalidArgument)
		}
		if _, err := st.compatAccess.must(access.ID); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		t := storage.CompatRefreshToken{ID: ulidx.New(now), SessionID: s.ID, AccessTokenID: access.ID, Token: token, CreatedAt: now}
		if err := st.compatRefresh.insert(t.ID, t); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneCompatRefreshToken(t), nil
	})
}

// FindRefreshToken returns the refresh token with that value.
func (r compatSessions) FindRefreshToken(ctx context.Context, token string) (*storage.CompatRefreshToken, error) {
	return query(r.repo, ctx, func(st *state) (*storage.CompatRefreshToken, error) {
		t, ok := st.compatRefresh.find(uqCompatRefresh, token)
		if !ok {
			return nil, fmt.Errorf("find compat refresh token: %w", storage.ErrNotFound)
		}
		return cloneCompatRefreshToken(t), nil
	})
}

// ConsumeRefreshToken marks the token consumed.
func (r compatSessions) ConsumeRefreshToken(ctx context.Context, clock storage.Clock, token *storage.CompatRefreshToken) (*storage.CompatRefreshToken, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.CompatRefreshToken, error) {
		const op = "consume compat refresh token"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if token == nil {
			return nil, fmt.Errorf("%s: nil token: %w", op, storage.ErrInvalidArgument)
		}
		t, err := st.compatRefresh.must(token.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if t.ConsumedAt != nil {
			return nil, fmt.Errorf("%s %s: %w", op, t.ID, storage.ErrAlreadyFinished)
		}
		t.ConsumedAt = timeRef(now)
		if err := st.compatRefresh.update(t.ID, t); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneCompatRefreshToken(t), nil
	})
}

// AddSSOLogin starts an SSO login.
func (r compatSessions) AddSSOLogin(ctx context.Context, clock storage.Clock, loginToken, redirectURI string) (*storage.CompatSSOLogin, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.CompatSSOLogin, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("add SSO login: %w", err)
		}
		if loginToken == "" {
			return nil, fmt.Errorf("add SSO login: empty login token: %w", storage.ErrInvalidArgument)
		}
		l := storage.CompatSSOLogin{ID: ulidx.New(now), LoginToken: loginToken, RedirectURI: redirectURI, CreatedAt: now}
		if err := st.compatSSOLogins.insert(l.ID, l); err != nil {
			return nil, fmt.Errorf("add SSO login: %w", err)
		}
		return cloneSSOLogin(l), nil
	})
}

// FindSSOLogin returns the login with that token.
func (r compatSessions) FindSSOLogin(ctx context.Context, loginToken string) (*storage.CompatSSOLogin, error) {
	return query(r.repo, ctx, func(st *state) (*storage.CompatSSOLogin, error) {
		l, ok := st.compatSSOLogins.find(uqSSOLoginToken, loginToken)
		if !ok {
			return nil, fmt.Errorf("find SSO login: %w", storage.ErrNotFound)
		}
		return cloneSSOLogin(l), nil
	})
}

// FulfillSSOLogin attaches the compat session the login created and the
// browser session that approved it.
func (r compatSessions) FulfillSSOLogin(ctx context.Context, clock storage.Clock, login *storage.CompatSSOLogin, session *storage.CompatSession, browser *storage.UserSession) (*storage.CompatSSOLogin, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.CompatSSOLogin, error) {
		const op = "fulfill SSO login"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		l, err := mustSSOLogin(st, login)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		s, err := mustCompatSession(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		browserID, err := optUserSession(st, browser)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if l.FulfilledAt != nil {
			return nil, fmt.Errorf("%s %s: already fulfilled: %w", op, l.ID, storage.ErrInvalidState)
		}
		l.FulfilledAt, l.SessionID, l.UserSessionID = timeRef(now), s.ID, browserID
		if err := st.compatSSOLogins.update(l.ID, l); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneSSOLogin(l), nil
	})
}

// ExchangeSSOLogin marks a fulfilled login exchanged.
func (r compatSessions) ExchangeSSOLogin(ctx context.Context, clock storage.Clock, login *storage.CompatSSOLogin) (*storage.CompatSSOLogin, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.CompatSSOLogin, error) {
		const op = "exchange SSO login"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		l, err := mustSSOLogin(st, login)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if l.ExchangedAt != nil {
			return nil, fmt.Errorf("%s %s: %w", op, l.ID, storage.ErrAlreadyFinished)
		}
		if l.FulfilledAt == nil {
			return nil, fmt.Errorf("%s %s: not fulfilled: %w", op, l.ID, storage.ErrInvalidState)
		}
		l.ExchangedAt = timeRef(now)
		if err := st.compatSSOLogins.update(l.ID, l); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneSSOLogin(l), nil
	})
}

// CleanupFinished deletes finished sessions with their tokens and SSO logins.
func (r compatSessions) CleanupFinished(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return finishedCompatSessions.batch(r.repo, ctx, after, before, limit)
}

// FinishedWindow reads the candidates of CleanupFinished.
func (r compatSessions) FinishedWindow(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Window, error) {
	return finishedCompatSessions.window(r.repo, ctx, after, before, limit)
}

// DeleteFinished deletes those of ids that are sessions finished before `before`.
func (r compatSessions) DeleteFinished(ctx context.Context, ids []ulid.ULID, before time.Time) (int, error) {
	return finishedCompatSessions.deleteByID(r.repo, ctx, ids, before)
}

// finishedCompatSessions is the cleanup of finished compat sessions.
var finishedCompatSessions = finishedCleanup[storage.CompatSession]{
	what: "compat sessions",
	rows: func(st *state) map[ulid.ULID]storage.CompatSession { return st.compatSessions.rows },
	at:   func(s storage.CompatSession) *time.Time { return s.FinishedAt },
	del:  deleteCompatSessions,
}

// deleteCompatSessions deletes the sessions with their tokens and SSO logins.
func deleteCompatSessions(st *state, doomed []ulid.ULID) error {
	if len(doomed) == 0 {
		return nil
	}
	return st.deleteRows(map[string][]ulid.ULID{
		tCompatSessions:      doomed,
		tCompatAccessTokens:  st.compatAccess.referencing(fkCompatAccessSession, doomed...),
		tCompatRefreshTokens: st.compatRefresh.referencing(fkCompatRefreshSession, doomed...),
		tCompatSSOLogins:     st.compatSSOLogins.referencing(fkSSOLoginCompatSession, doomed...),
	})
}

// ClearInactiveIPs nulls the IP of sessions last active before `before`.
func (r compatSessions) ClearInactiveIPs(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clear inactive compat session IPs", limit, func(st *state) (storage.Batch, error) {
		return compatSessionActivity.clearIPs(st, after, before, limit)
	})
}

// CountStaleIPs counts sessions holding an IP, last active before `before`.
func (r compatSessions) CountStaleIPs(ctx context.Context, before time.Time) (int, error) {
	return r.count(ctx, func(st *state) int { return compatSessionActivity.countStaleIPs(st, before) })
}

// ExpireInactive finishes unfinished sessions last active before `before`.
func (r compatSessions) ExpireInactive(ctx context.Context, clock storage.Clock, after storage.Cursor, before time.Time, limit int) (storage.Batch, []ulid.ULID, error) {
	return r.expire(ctx, clock, "expire inactive compat sessions", limit, func(st *state, now time.Time) (storage.Batch, []ulid.ULID, error) {
		return expireInactive(st.compatSessions, now, after, before, limit,
			func(s *storage.CompatSession) sessionActivity {
				return sessionActivity{&s.FinishedAt, s.LastActiveAt, s.UserID}
			},
			func(storage.CompatSession) bool { return true })
	})
}

// CleanupAbandonedSSOLogins deletes SSO logins created before `before` that
// never got a compat session.
func (r compatSessions) CleanupAbandonedSSOLogins(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up abandoned SSO logins", limit, func(st *state) (storage.Batch, error) {
		cands := byAge(st.compatSSOLogins.rows, after, before, limit, func(l storage.CompatSSOLogin) bool { return l.SessionID.IsZero() })
		return deleteAll(st, tCompatSSOLogins, cands, after)
	})
}

// finishCompatSessions finishes the unfinished sessions match selects and
// returns their IDs.
func (st *state) finishCompatSessions(now time.Time, match func(storage.CompatSession) bool) ([]ulid.ULID, error) {
	return finishWhere(st.compatSessions, now, func(s *storage.CompatSession) **time.Time { return &s.FinishedAt }, match)
}

// mustCompatSession returns the stored row of session.
func mustCompatSession(st *state, session *storage.CompatSession) (storage.CompatSession, error) {
	if session == nil {
		return storage.CompatSession{}, fmt.Errorf("nil compat session: %w", storage.ErrInvalidArgument)
	}
	return st.compatSessions.must(session.ID)
}

// mustSSOLogin returns the stored row of login.
func mustSSOLogin(st *state, login *storage.CompatSSOLogin) (storage.CompatSSOLogin, error) {
	if login == nil {
		return storage.CompatSSOLogin{}, fmt.Errorf("nil SSO login: %w", storage.ErrInvalidArgument)
	}
	return st.compatSSOLogins.must(login.ID)
}

// expiry returns now+in, or nil (never) when in is 0.
func expiry(now time.Time, in time.Duration) *time.Time {
	if in == 0 {
		return nil
	}
	return timeRef(storage.Timestamp(now.Add(in)))
}
