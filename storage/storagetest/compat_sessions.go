package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// compatSessionCase: compat sessions.
var compatSessionCase = sessionCase[storage.CompatSession]{
	name: "CompatSessions",
	repo: func(r storage.Repository) sessionRepo[storage.CompatSession] { return r.CompatSessions() },
	start: func(t *testing.T, b bundle) *storage.CompatSession {
		return mustCompatSession(t, b.store, b.clock, mustUser(t, b.store, b.clock), nil)
	},
	unknown: func(t *testing.T, b bundle) *storage.CompatSession {
		return &storage.CompatSession{ID: unknownID(b.clock), UserID: mustUser(t, b.store, b.clock).ID}
	},
	fields: func(s *storage.CompatSession) sessionFields {
		return sessionFields{s.ID, &s.FinishedAt, &s.LastActiveAt, &s.LastActiveIP}
	},
}

// compatRefreshTokenConsume: ConsumeRefreshToken, which sets ConsumedAt.
var compatRefreshTokenConsume = stampCase[storage.CompatRefreshToken]{
	op:    "ConsumeRefreshToken",
	field: "ConsumedAt",
	start: func(t *testing.T, b bundle) *storage.CompatRefreshToken {
		s := compatSessionCase.start(t, b)
		return mustCompatRefreshToken(t, b.store, b.clock, s, mustCompatAccessToken(t, b.store, b.clock, s, 0))
	},
	apply: func(b bundle, tok *storage.CompatRefreshToken) (*storage.CompatRefreshToken, error) {
		return b.store.CompatSessions().ConsumeRefreshToken(b.ctx, b.clock, tok)
	},
	lookup: func(b bundle, tok *storage.CompatRefreshToken) (*storage.CompatRefreshToken, error) {
		return b.store.CompatSessions().FindRefreshToken(b.ctx, tok.Token)
	},
	stamp: func(tok *storage.CompatRefreshToken) **time.Time { return &tok.ConsumedAt },
}

// ssoLoginExchange: ExchangeSSOLogin of a fulfilled login, which sets
// ExchangedAt.
var ssoLoginExchange = stampCase[storage.CompatSSOLogin]{
	op:    "ExchangeSSOLogin",
	field: "ExchangedAt",
	start: func(t *testing.T, b bundle) *storage.CompatSSOLogin {
		u := mustUser(t, b.store, b.clock)
		browser := mustUserSession(t, b.store, b.clock, u)
		l, err := b.store.CompatSessions().FulfillSSOLogin(b.ctx, b.clock, mustSSOLogin(t, b.store, b.clock), mustCompatSession(t, b.store, b.clock, u, browser), browser)
		require.NoError(t, err)
		return l
	},
	apply: func(b bundle, l *storage.CompatSSOLogin) (*storage.CompatSSOLogin, error) {
		return b.store.CompatSessions().ExchangeSSOLogin(b.ctx, b.clock, l)
	},
	lookup: func(b bundle, l *storage.CompatSSOLogin) (*storage.CompatSSOLogin, error) {
		return b.store.CompatSessions().FindSSOLogin(b.ctx, l.LoginToken)
	},
	stamp: func(l *storage.CompatSSOLogin) **time.Time { return &l.ExchangedAt },
}

func testCompatSessions(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddUnderBrowserSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		browser := mustUserSession(t, b.store, b.clock, u)
		b.clock.Advance(time.Second)

		s, err := b.store.CompatSessions().Add(b.ctx, b.clock, u, "ABCDEF", browser, true)
		require.NoError(t, err)
		requireNewID(t, b.clock, s.ID)
		require.Equal(t, &storage.CompatSession{
			ID: s.ID, UserID: u.ID, UserSessionID: browser.ID, DeviceID: "ABCDEF",
			IsSynapseAdmin: true, CreatedAt: storage.Now(b.clock),
		}, s)
		got, err := b.store.CompatSessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, s, got)
	})

	t.Run("AddWithoutBrowserSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)

		s, err := b.store.CompatSessions().Add(b.ctx, b.clock, u, "GHIJKL", nil, false)
		require.NoError(t, err)
		requireNewID(t, b.clock, s.ID)
		require.Equal(t, &storage.CompatSession{ID: s.ID, UserID: u.ID, DeviceID: "GHIJKL", CreatedAt: Epoch}, s)
		got, err := b.store.CompatSessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, s, got)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		clock := oddClock()
		u := mustUser(t, b.store, clock)
		s := mustCompatSession(t, b.store, clock, u, nil)
		require.NoError(t, b.store.CompatSessions().RecordActivity(b.ctx, clock, s.ID, ipB))
		mustFinishCompatSession(t, b.store, clock, s)
		access := mustCompatAccessToken(t, b.store, clock, s, time.Hour)

		want := storage.Timestamp(oddInstant)
		got, err := b.store.CompatSessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, &storage.CompatSession{
			ID: s.ID, UserID: u.ID, DeviceID: s.DeviceID, CreatedAt: want,
			FinishedAt: &want, LastActiveAt: &want, LastActiveIP: ipB,
		}, got)
		tok, err := b.store.CompatSessions().FindAccessToken(b.ctx, access.Token)
		require.NoError(t, err)
		require.Equal(t, want, tok.CreatedAt)
		require.Equal(t, ptr(want.Add(time.Hour)), tok.ExpiresAt)
	})

	t.Run("AddUnknownUserIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.CompatSessions().Add(b.ctx, b.clock, &storage.User{ID: unknownID(b.clock)}, "D", nil, false)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("AddUnknownBrowserSessionIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)

		_, err := b.store.CompatSessions().Add(b.ctx, b.clock, u, "D", &storage.UserSession{ID: unknownID(b.clock), UserID: u.ID}, false)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustCompatSession(t, b.store, b.clock, mustUser(t, b.store, b.clock), nil)

		_, err := b.store.CompatSessions().Lookup(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	compatSessionCase.finish().run(t, f)
	compatSessionCase.finish().testConcurrent(t, f)
	compatSessionCase.testRecordActivity(t, f)

	t.Run("AddAccessTokenExpiring", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustCompatSession(t, b.store, b.clock, mustUser(t, b.store, b.clock), nil)
		b.clock.Advance(time.Second)

		tok, err := b.store.CompatSessions().AddAccessToken(b.ctx, b.clock, s, "mct_abc", 5*time.Minute)
		require.NoError(t, err)
		requireNewID(t, b.clock, tok.ID)
		now := storage.Now(b.clock)
		require.Equal(t, &storage.CompatAccessToken{
			ID: tok.ID, SessionID: s.ID, Token: "mct_abc", CreatedAt: now, ExpiresAt: ptr(now.Add(5 * time.Minute)),
		}, tok)
		got, err := b.store.CompatSessions().FindAccessToken(b.ctx, "mct_abc")
		require.NoError(t, err)
		require.Equal(t, tok, got)
	})

	t.Run("AddAccessTokenZeroExpiryNeverExpires", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustCompatSession(t, b.store, b.clock, mustUser(t, b.store, b.clock), nil)

		tok, err := b.store.CompatSessions().AddAccessToken(b.ctx, b.clock, s, "mct_forever", 0)
		require.NoError(t, err)
		require.Equal(t, &storage.CompatAccessToken{ID: tok.ID, SessionID: s.ID, Token: "mct_forever", CreatedAt: Epoch}, tok)
		got, err := b.store.CompatSessions().FindAccessToken(b.ctx, "mct_forever")
		require.NoError(t, err)
		require.Equal(t, tok, got)
	})

	t.Run("AddAccessTokenTakenIsConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		tok := mustCompatAccessToken(t, b.store, b.clock, mustCompatSession(t, b.store, b.clock, u, nil), 0)

		_, err := b.store.CompatSessions().AddAccessToken(b.ctx, b.clock, mustCompatSession(t, b.store, b.clock, u, nil), tok.Token, 0)
		require.ErrorIs(t, err, storage.ErrConflict)
	})

	t.Run("AddAccessTokenEmptyIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustCompatSession(t, b.store, b.clock, mustUser(t, b.store, b.clock), nil)

		_, err := b.store.CompatSessions().AddAccessToken(b.ctx, b.clock, s, "", 0)
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("AddAccessTokenUnknownSessionIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)

		_, err := b.store.CompatSessions().AddAccessToken(b.ctx, b.clock, &storage.CompatSession{ID: unknownID(b.clock), UserID: u.ID}, "mct_x", 0)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("FindAccessTokenUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustCompatAccessToken(t, b.store, b.clock, mustCompatSession(t, b.store, b.clock, mustUser(t, b.store, b.clock), nil), 0)

		_, err := b.store.CompatSessions().FindAccessToken(b.ctx, "mct_nope")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("AddRefreshTokenPairsAccessToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustCompatSession(t, b.store, b.clock, mustUser(t, b.store, b.clock), nil)
		access := mustCompatAccessToken(t, b.store, b.clock, s, time.Hour)
		b.clock.Advance(time.Second)

		tok, err := b.store.CompatSessions().AddRefreshToken(b.ctx, b.clock, s, access, "mcr_abc")
		require.NoError(t, err)
		requireNewID(t, b.clock, tok.ID)
		require.Equal(t, &storage.CompatRefreshToken{
			ID: tok.ID, SessionID: s.ID, AccessTokenID: access.ID, Token: "mcr_abc", CreatedAt: storage.Now(b.clock),
		}, tok)
		got, err := b.store.CompatSessions().FindRefreshToken(b.ctx, "mcr_abc")
		require.NoError(t, err)
		require.Equal(t, tok, got)
	})

	t.Run("AddRefreshTokenTakenIsConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustCompatSession(t, b.store, b.clock, mustUser(t, b.store, b.clock), nil)
		tok := mustCompatRefreshToken(t, b.store, b.clock, s, mustCompatAccessToken(t, b.store, b.clock, s, 0))

		_, err := b.store.CompatSessions().AddRefreshToken(b.ctx, b.clock, s, mustCompatAccessToken(t, b.store, b.clock, s, 0), tok.Token)
		require.ErrorIs(t, err, storage.ErrConflict)
	})

	t.Run("AddRefreshTokenEmptyIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustCompatSession(t, b.store, b.clock, mustUser(t, b.store, b.clock), nil)

		_, err := b.store.CompatSessions().AddRefreshToken(b.ctx, b.clock, s, mustCompatAccessToken(t, b.store, b.clock, s, 0), "")
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("FindRefreshTokenUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustCompatSession(t, b.store, b.clock, mustUser(t, b.store, b.clock), nil)
		mustCompatRefreshToken(t, b.store, b.clock, s, mustCompatAccessToken(t, b.store, b.clock, s, 0))

		_, err := b.store.CompatSessions().FindRefreshToken(b.ctx, "mcr_nope")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	compatRefreshTokenConsume.testSets(t, f)
	compatRefreshTokenConsume.testTwice(t, f)

	t.Run("AddSSOLoginReturnsStoredLogin", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		l, err := b.store.CompatSessions().AddSSOLogin(b.ctx, b.clock, "login_abc", "https://app.example.org/cb")
		require.NoError(t, err)
		requireNewID(t, b.clock, l.ID)
		require.Equal(t, &storage.CompatSSOLogin{ID: l.ID, LoginToken: "login_abc", RedirectURI: "https://app.example.org/cb", CreatedAt: Epoch}, l)
		got, err := b.store.CompatSessions().FindSSOLogin(b.ctx, "login_abc")
		require.NoError(t, err)
		require.Equal(t, l, got)
	})

	t.Run("AddSSOLoginTakenTokenIsConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		l := mustSSOLogin(t, b.store, b.clock)

		_, err := b.store.CompatSessions().AddSSOLogin(b.ctx, b.clock, l.LoginToken, "https://other.example.org/cb")
		require.ErrorIs(t, err, storage.ErrConflict)
	})

	t.Run("AddSSOLoginEmptyTokenIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.CompatSessions().AddSSOLogin(b.ctx, b.clock, "", "https://app.example.org/cb")
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("FindSSOLoginUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustSSOLogin(t, b.store, b.clock)

		_, err := b.store.CompatSessions().FindSSOLogin(b.ctx, "login_nope")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("FulfillSSOLoginRecordsSessions", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		browser := mustUserSession(t, b.store, b.clock, u)
		l := mustSSOLogin(t, b.store, b.clock)
		s := mustCompatSession(t, b.store, b.clock, u, browser)
		b.clock.Advance(time.Second)

		fulfilled, err := b.store.CompatSessions().FulfillSSOLogin(b.ctx, b.clock, l, s, browser)
		require.NoError(t, err)
		want := *l
		want.FulfilledAt, want.SessionID, want.UserSessionID = at(b.clock), s.ID, browser.ID
		require.Equal(t, &want, fulfilled)
		got, err := b.store.CompatSessions().FindSSOLogin(b.ctx, l.LoginToken)
		require.NoError(t, err)
		require.Equal(t, &want, got)
	})

	t.Run("FulfillSSOLoginTwiceIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		browser := mustUserSession(t, b.store, b.clock, u)
		l := mustSSOLogin(t, b.store, b.clock)
		s := mustCompatSession(t, b.store, b.clock, u, browser)
		_, err := b.store.CompatSessions().FulfillSSOLogin(b.ctx, b.clock, l, s, browser)
		require.NoError(t, err)

		_, err = b.store.CompatSessions().FulfillSSOLogin(b.ctx, b.clock, l, mustCompatSession(t, b.store, b.clock, u, browser), browser)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		got, err := b.store.CompatSessions().FindSSOLogin(b.ctx, l.LoginToken)
		require.NoError(t, err)
		require.Equal(t, s.ID, got.SessionID)
	})

	t.Run("ExchangeSSOLoginBeforeFulfilmentIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		l := mustSSOLogin(t, b.store, b.clock)

		_, err := b.store.CompatSessions().ExchangeSSOLogin(b.ctx, b.clock, l)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		got, err := b.store.CompatSessions().FindSSOLogin(b.ctx, l.LoginToken)
		require.NoError(t, err)
		require.Nil(t, got.ExchangedAt)
	})

	ssoLoginExchange.testSets(t, f)
	ssoLoginExchange.testTwice(t, f)
}
