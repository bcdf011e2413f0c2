package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

func testOAuth2(t *testing.T, f Factory) {
	t.Parallel()
	t.Run("Clients", func(t *testing.T) { testOAuth2Clients(t, f) })
	t.Run("Sessions", func(t *testing.T) { testOAuth2Sessions(t, f) })
	t.Run("AccessTokens", func(t *testing.T) { testOAuth2AccessTokens(t, f) })
	t.Run("RefreshTokens", func(t *testing.T) { testOAuth2RefreshTokens(t, f) })
	t.Run("AuthorizationGrants", func(t *testing.T) { testOAuth2AuthorizationGrants(t, f) })
	t.Run("DeviceCodeGrants", func(t *testing.T) { testOAuth2DeviceCodeGrants(t, f) })
}

func testOAuth2Clients(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddReturnsStoredClient", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		uris := []string{"https://a.example.org/cb", "https://b.example.org/cb"}

		c, err := b.store.OAuth2Clients().Add(b.ctx, b.clock, "Element", uris)
		require.NoError(t, err)
		requireNewID(t, b.clock, c.ID)
		require.Equal(t, &storage.OAuth2Client{ID: c.ID, Name: "Element", RedirectURIs: uris, CreatedAt: Epoch}, c)
		got, err := b.store.OAuth2Clients().Lookup(b.ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, c, got)
	})

	t.Run("AddStaticReturnsStaticClient", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		uris := []string{"https://static.example.org/cb"}

		c, err := b.store.OAuth2Clients().AddStatic(b.ctx, b.clock, "synapse-admin", uris)
		require.NoError(t, err)
		requireNewID(t, b.clock, c.ID)
		require.Equal(t, &storage.OAuth2Client{ID: c.ID, Name: "synapse-admin", RedirectURIs: uris, IsStatic: true, CreatedAt: Epoch}, c)
		got, err := b.store.OAuth2Clients().Lookup(b.ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, c, got)
		require.False(t, mustClient(t, b.store, b.clock).IsStatic, "Add registers a client that is not static")
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustClient(t, b.store, b.clock)

		_, err := b.store.OAuth2Clients().Lookup(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})
}

// oauth2SessionCase: OAuth 2.0 sessions.
var oauth2SessionCase = sessionCase[storage.OAuth2Session]{
	name: "OAuth2Sessions",
	repo: func(r storage.Repository) sessionRepo[storage.OAuth2Session] { return r.OAuth2Sessions() },
	start: func(t *testing.T, b bundle) *storage.OAuth2Session {
		return mustOAuth2Session(t, b.store, b.clock, mustClient(t, b.store, b.clock), mustUser(t, b.store, b.clock), nil)
	},
	unknown: func(t *testing.T, b bundle) *storage.OAuth2Session {
		return &storage.OAuth2Session{ID: unknownID(b.clock), ClientID: mustClient(t, b.store, b.clock).ID}
	},
	fields: func(s *storage.OAuth2Session) sessionFields {
		return sessionFields{s.ID, &s.FinishedAt, &s.LastActiveAt, &s.LastActiveIP}
	},
}

func testOAuth2Sessions(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddForUserUnderBrowserSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		client := mustClient(t, b.store, b.clock)
		u := mustUser(t, b.store, b.clock)
		browser := mustUserSession(t, b.store, b.clock, u)
		b.clock.Advance(time.Second)

		s, err := b.store.OAuth2Sessions().Add(b.ctx, b.clock, client, u, browser, []string{"openid", "email"})
		require.NoError(t, err)
		requireNewID(t, b.clock, s.ID)
		require.Equal(t, &storage.OAuth2Session{
			ID: s.ID, ClientID: client.ID, UserID: u.ID, UserSessionID: browser.ID,
			Scope: []string{"openid", "email"}, CreatedAt: storage.Now(b.clock),
		}, s)
		got, err := b.store.OAuth2Sessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, s, got)
	})

	t.Run("AddWithoutUser", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		client := mustClient(t, b.store, b.clock)

		s, err := b.store.OAuth2Sessions().Add(b.ctx, b.clock, client, nil, nil, []string{"urn:mas:admin"})
		require.NoError(t, err)
		requireNewID(t, b.clock, s.ID)
		require.Equal(t, &storage.OAuth2Session{ID: s.ID, ClientID: client.ID, Scope: []string{"urn:mas:admin"}, CreatedAt: Epoch}, s)
		got, err := b.store.OAuth2Sessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, s, got)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		clock := oddClock()
		s := mustOAuth2Session(t, b.store, clock, mustClient(t, b.store, clock), nil, nil)
		require.NoError(t, b.store.OAuth2Sessions().RecordActivity(b.ctx, clock, s.ID, ipA))
		mustFinishOAuth2Session(t, b.store, clock, s)

		want := storage.Timestamp(oddInstant)
		got, err := b.store.OAuth2Sessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, &storage.OAuth2Session{
			ID: s.ID, ClientID: s.ClientID, Scope: s.Scope, CreatedAt: want,
			FinishedAt: &want, LastActiveAt: &want, LastActiveIP: ipA,
		}, got)
	})

	t.Run("AddUnknownClientIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.OAuth2Sessions().Add(b.ctx, b.clock, &storage.OAuth2Client{ID: unknownID(b.clock)}, nil, nil, []string{"openid"})
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustClientSession(t, b)

		_, err := b.store.OAuth2Sessions().Lookup(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	oauth2SessionCase.finish().run(t, f)
	oauth2SessionCase.testRecordActivity(t, f)
}

// mustClientSession starts an OAuth 2.0 session, without user, of a new client.
func mustClientSession(t *testing.T, b bundle) *storage.OAuth2Session {
	t.Helper()
	return mustOAuth2Session(t, b.store, b.clock, mustClient(t, b.store, b.clock), nil, nil)
}

// newClientSession returns a new store bundle and an OAuth 2.0 session in it.
func newClientSession(t *testing.T, f Factory) (bundle, *storage.OAuth2Session) {
	t.Helper()
	b := setup(t, f)
	return b, mustClientSession(t, b)
}

// accessTokenRevoke: RevokeAccessToken, which sets RevokedAt.
var accessTokenRevoke = stampCase[storage.OAuth2AccessToken]{
	op:    "Revoke",
	field: "RevokedAt",
	start: func(t *testing.T, b bundle) *storage.OAuth2AccessToken {
		return mustAccessToken(t, b.store, b.clock, mustClientSession(t, b), time.Hour)
	},
	apply: func(b bundle, tok *storage.OAuth2AccessToken) (*storage.OAuth2AccessToken, error) {
		return b.store.OAuth2Tokens().RevokeAccessToken(b.ctx, b.clock, tok)
	},
	lookup: func(b bundle, tok *storage.OAuth2AccessToken) (*storage.OAuth2AccessToken, error) {
		return b.store.OAuth2Tokens().LookupAccessToken(b.ctx, tok.ID)
	},
	stamp: func(tok *storage.OAuth2AccessToken) **time.Time { return &tok.RevokedAt },
	unknown: func(t *testing.T, b bundle) *storage.OAuth2AccessToken {
		return &storage.OAuth2AccessToken{ID: unknownID(b.clock), SessionID: mustClientSession(t, b).ID, Token: "mat_x"}
	},
}

// refreshTokenRevoke: RevokeRefreshToken, which sets RevokedAt.
var refreshTokenRevoke = stampCase[storage.OAuth2RefreshToken]{
	op:    "Revoke",
	field: "RevokedAt",
	start: func(t *testing.T, b bundle) *storage.OAuth2RefreshToken {
		return mustRefreshToken(t, b.store, b.clock, mustClientSession(t, b), nil)
	},
	apply: func(b bundle, tok *storage.OAuth2RefreshToken) (*storage.OAuth2RefreshToken, error) {
		return b.store.OAuth2Tokens().RevokeRefreshToken(b.ctx, b.clock, tok)
	},
	lookup: func(b bundle, tok *storage.OAuth2RefreshToken) (*storage.OAuth2RefreshToken, error) {
		return b.store.OAuth2Tokens().LookupRefreshToken(b.ctx, tok.ID)
	},
	stamp: func(tok *storage.OAuth2RefreshToken) **time.Time { return &tok.RevokedAt },
}

func testOAuth2AccessTokens(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddExpiring", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)
		b.clock.Advance(time.Second)

		tok, err := b.store.OAuth2Tokens().AddAccessToken(b.ctx, b.clock, s, "mat_abc", 5*time.Minute)
		require.NoError(t, err)
		requireNewID(t, b.clock, tok.ID)
		now := storage.Now(b.clock)
		require.Equal(t, &storage.OAuth2AccessToken{
			ID: tok.ID, SessionID: s.ID, Token: "mat_abc", CreatedAt: now, ExpiresAt: ptr(now.Add(5 * time.Minute)),
		}, tok)
		got, err := b.store.OAuth2Tokens().LookupAccessToken(b.ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, tok, got)
		got, err = b.store.OAuth2Tokens().FindAccessToken(b.ctx, "mat_abc")
		require.NoError(t, err)
		require.Equal(t, tok, got)
	})

	t.Run("AddZeroExpiryNeverExpires", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)

		tok, err := b.store.OAuth2Tokens().AddAccessToken(b.ctx, b.clock, s, "mat_forever", 0)
		require.NoError(t, err)
		require.Equal(t, &storage.OAuth2AccessToken{ID: tok.ID, SessionID: s.ID, Token: "mat_forever", CreatedAt: Epoch}, tok)
		got, err := b.store.OAuth2Tokens().LookupAccessToken(b.ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, tok, got)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)
		clock := oddClock()
		tok := mustAccessToken(t, b.store, clock, s, time.Hour)
		_, err := b.store.OAuth2Tokens().RevokeAccessToken(b.ctx, clock, tok)
		require.NoError(t, err)

		want := storage.Timestamp(oddInstant)
		got, err := b.store.OAuth2Tokens().LookupAccessToken(b.ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, &storage.OAuth2AccessToken{
			ID: tok.ID, SessionID: s.ID, Token: tok.Token, CreatedAt: want, ExpiresAt: ptr(want.Add(time.Hour)), RevokedAt: &want,
		}, got)
	})

	t.Run("AddTakenIsConflict", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)
		tok := mustAccessToken(t, b.store, b.clock, s, 0)

		_, err := b.store.OAuth2Tokens().AddAccessToken(b.ctx, b.clock, s, tok.Token, 0)
		require.ErrorIs(t, err, storage.ErrConflict)
	})

	t.Run("AddEmptyIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)

		_, err := b.store.OAuth2Tokens().AddAccessToken(b.ctx, b.clock, s, "", 0)
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("AddUnknownSessionIsNotFound", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)

		_, err := b.store.OAuth2Tokens().AddAccessToken(b.ctx, b.clock, &storage.OAuth2Session{ID: unknownID(b.clock), ClientID: s.ClientID}, "mat_x", 0)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("LookupAndFindUnknownAreNotFound", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)
		mustAccessToken(t, b.store, b.clock, s, 0)

		_, err := b.store.OAuth2Tokens().LookupAccessToken(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
		_, err = b.store.OAuth2Tokens().FindAccessToken(b.ctx, "mat_nope")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	accessTokenRevoke.run(t, f)

	t.Run("ExpireBringsLaterExpiryForward", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)
		tok := mustAccessToken(t, b.store, b.clock, s, time.Hour)
		b.clock.Advance(time.Minute)

		expired, err := b.store.OAuth2Tokens().ExpireAccessToken(b.ctx, b.clock, tok)
		require.NoError(t, err)
		want := *tok
		want.ExpiresAt = at(b.clock)
		require.Equal(t, &want, expired)
		got, err := b.store.OAuth2Tokens().LookupAccessToken(b.ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, &want, got)
	})

	t.Run("ExpireNeverExpiringSetsExpiry", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)
		tok := mustAccessToken(t, b.store, b.clock, s, 0)
		b.clock.Advance(time.Minute)

		expired, err := b.store.OAuth2Tokens().ExpireAccessToken(b.ctx, b.clock, tok)
		require.NoError(t, err)
		require.Equal(t, at(b.clock), expired.ExpiresAt)
		got, err := b.store.OAuth2Tokens().LookupAccessToken(b.ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, at(b.clock), got.ExpiresAt)
	})

	t.Run("ExpireKeepsEarlierExpiry", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)
		tok := mustAccessToken(t, b.store, b.clock, s, time.Minute)
		b.clock.Advance(time.Hour)

		expired, err := b.store.OAuth2Tokens().ExpireAccessToken(b.ctx, b.clock, tok)
		require.NoError(t, err)
		require.Equal(t, tok, expired)
		got, err := b.store.OAuth2Tokens().LookupAccessToken(b.ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, tok, got)
	})
}

func testOAuth2RefreshTokens(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddPairedWithAccessToken", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)
		access := mustAccessToken(t, b.store, b.clock, s, time.Hour)
		b.clock.Advance(time.Second)

		tok, err := b.store.OAuth2Tokens().AddRefreshToken(b.ctx, b.clock, s, access, "mar_abc")
		require.NoError(t, err)
		requireNewID(t, b.clock, tok.ID)
		require.Equal(t, &storage.OAuth2RefreshToken{
			ID: tok.ID, SessionID: s.ID, AccessTokenID: access.ID, Token: "mar_abc", CreatedAt: storage.Now(b.clock),
		}, tok)
		got, err := b.store.OAuth2Tokens().LookupRefreshToken(b.ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, tok, got)
		got, err = b.store.OAuth2Tokens().FindRefreshToken(b.ctx, "mar_abc")
		require.NoError(t, err)
		require.Equal(t, tok, got)
	})

	t.Run("AddWithoutAccessToken", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)

		tok, err := b.store.OAuth2Tokens().AddRefreshToken(b.ctx, b.clock, s, nil, "mar_alone")
		require.NoError(t, err)
		require.Equal(t, &storage.OAuth2RefreshToken{ID: tok.ID, SessionID: s.ID, Token: "mar_alone", CreatedAt: Epoch}, tok)
		got, err := b.store.OAuth2Tokens().LookupRefreshToken(b.ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, tok, got)
	})

	t.Run("AddTakenIsConflict", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)
		tok := mustRefreshToken(t, b.store, b.clock, s, nil)

		_, err := b.store.OAuth2Tokens().AddRefreshToken(b.ctx, b.clock, s, nil, tok.Token)
		require.ErrorIs(t, err, storage.ErrConflict)
	})

	t.Run("AddEmptyIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)

		_, err := b.store.OAuth2Tokens().AddRefreshToken(b.ctx, b.clock, s, nil, "")
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("LookupAndFindUnknownAreNotFound", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)
		mustRefreshToken(t, b.store, b.clock, s, nil)

		_, err := b.store.OAuth2Tokens().LookupRefreshToken(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
		_, err = b.store.OAuth2Tokens().FindRefreshToken(b.ctx, "mar_nope")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("ConsumeNamesSuccessor", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)
		tok := mustRefreshToken(t, b.store, b.clock, s, mustAccessToken(t, b.store, b.clock, s, 0))
		b.clock.Advance(time.Minute)
		next := mustRefreshToken(t, b.store, b.clock, s, mustAccessToken(t, b.store, b.clock, s, 0))

		consumed, err := b.store.OAuth2Tokens().ConsumeRefreshToken(b.ctx, b.clock, tok, next)
		require.NoError(t, err)
		want := *tok
		want.ConsumedAt, want.NextID = at(b.clock), next.ID
		require.Equal(t, &want, consumed)
		got, err := b.store.OAuth2Tokens().LookupRefreshToken(b.ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, &want, got)
		got, err = b.store.OAuth2Tokens().LookupRefreshToken(b.ctx, next.ID)
		require.NoError(t, err)
		require.Equal(t, next, got)
	})

	t.Run("ConsumeWithoutSuccessor", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)
		tok := mustRefreshToken(t, b.store, b.clock, s, nil)
		b.clock.Advance(time.Minute)

		consumed, err := b.store.OAuth2Tokens().ConsumeRefreshToken(b.ctx, b.clock, tok, nil)
		require.NoError(t, err)
		want := *tok
		want.ConsumedAt = at(b.clock)
		require.Equal(t, &want, consumed)
		got, err := b.store.OAuth2Tokens().LookupRefreshToken(b.ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, &want, got)
	})

	t.Run("ConsumeTwiceIsAlreadyFinished", func(t *testing.T) {
		t.Parallel()
		b, s := newClientSession(t, f)
		tok := mustRefreshToken(t, b.store, b.clock, s, nil)
		next := mustRefreshToken(t, b.store, b.clock, s, nil)
		_, err := b.store.OAuth2Tokens().ConsumeRefreshToken(b.ctx, b.clock, tok, next)
		require.NoError(t, err)
		b.clock.Advance(time.Minute)

		_, err = b.store.OAuth2Tokens().ConsumeRefreshToken(b.ctx, b.clock, tok, mustRefreshToken(t, b.store, b.clock, s, nil))
		require.ErrorIs(t, err, storage.ErrAlreadyFinished)
		got, err := b.store.OAuth2Tokens().LookupRefreshToken(b.ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, &Epoch, got.ConsumedAt)
		require.Equal(t, next.ID, got.NextID)
	})

	refreshTokenRevoke.testSets(t, f)
	refreshTokenRevoke.testTwice(t, f)
}

// authorizationGrantExchange: ExchangeAuthorizationGrant of a fulfilled
// grant, which sets ExchangedAt.
var authorizationGrantExchange = stampCase[storage.OAuth2AuthorizationGrant]{
	op:    "Exchange",
	field: "ExchangedAt",
	start: func(t *testing.T, b bundle) *storage.OAuth2AuthorizationGrant {
		client := mustClient(t, b.store, b.clock)
		u := mustUser(t, b.store, b.clock)
		browser := mustUserSession(t, b.store, b.clock, u)
		g := mustAuthorizationGrant(t, b.store, b.clock, client)
		g, err := b.store.OAuth2Grants().FulfillAuthorizationGrant(b.ctx, b.clock, g, mustOAuth2Session(t, b.store, b.clock, client, u, browser), browser)
		require.NoError(t, err)
		return g
	},
	apply: func(b bundle, g *storage.OAuth2AuthorizationGrant) (*storage.OAuth2AuthorizationGrant, error) {
		return b.store.OAuth2Grants().ExchangeAuthorizationGrant(b.ctx, b.clock, g)
	},
	lookup: func(b bundle, g *storage.OAuth2AuthorizationGrant) (*storage.OAuth2AuthorizationGrant, error) {
		return b.store.OAuth2Grants().LookupAuthorizationGrant(b.ctx, g.ID)
	},
	stamp: func(g *storage.OAuth2AuthorizationGrant) **time.Time { return &g.ExchangedAt },
}

func testOAuth2AuthorizationGrants(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddReturnsStoredGrant", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		client := mustClient(t, b.store, b.clock)
		b.clock.Advance(time.Second)

		g, err := b.store.OAuth2Grants().AddAuthorizationGrant(b.ctx, b.clock, client, "https://a.example.org/cb", "openid email", "code_abc")
		require.NoError(t, err)
		requireNewID(t, b.clock, g.ID)
		require.Equal(t, &storage.OAuth2AuthorizationGrant{
			ID: g.ID, ClientID: client.ID, Code: "code_abc", RedirectURI: "https://a.example.org/cb",
			Scope: "openid email", CreatedAt: storage.Now(b.clock),
		}, g)
		got, err := b.store.OAuth2Grants().LookupAuthorizationGrant(b.ctx, g.ID)
		require.NoError(t, err)
		require.Equal(t, g, got)
	})

	t.Run("AddTakenCodeIsConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		client := mustClient(t, b.store, b.clock)
		g := mustAuthorizationGrant(t, b.store, b.clock, client)

		_, err := b.store.OAuth2Grants().AddAuthorizationGrant(b.ctx, b.clock, client, g.RedirectURI, g.Scope, g.Code)
		require.ErrorIs(t, err, storage.ErrConflict)
	})

	t.Run("AddUnknownClientIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.OAuth2Grants().AddAuthorizationGrant(b.ctx, b.clock, &storage.OAuth2Client{ID: unknownID(b.clock)}, "https://a.example.org/cb", "openid", "code_x")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustAuthorizationGrant(t, b.store, b.clock, mustClient(t, b.store, b.clock))

		_, err := b.store.OAuth2Grants().LookupAuthorizationGrant(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("FulfillRecordsSessions", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		client := mustClient(t, b.store, b.clock)
		u := mustUser(t, b.store, b.clock)
		browser := mustUserSession(t, b.store, b.clock, u)
		g := mustAuthorizationGrant(t, b.store, b.clock, client)
		s := mustOAuth2Session(t, b.store, b.clock, client, u, browser)
		b.clock.Advance(time.Second)

		fulfilled, err := b.store.OAuth2Grants().FulfillAuthorizationGrant(b.ctx, b.clock, g, s, browser)
		require.NoError(t, err)
		want := *g
		want.FulfilledAt, want.SessionID, want.UserSessionID = at(b.clock), s.ID, browser.ID
		require.Equal(t, &want, fulfilled)
		got, err := b.store.OAuth2Grants().LookupAuthorizationGrant(b.ctx, g.ID)
		require.NoError(t, err)
		require.Equal(t, &want, got)
	})

	t.Run("FulfillTwiceIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		client := mustClient(t, b.store, b.clock)
		u := mustUser(t, b.store, b.clock)
		browser := mustUserSession(t, b.store, b.clock, u)
		g := mustAuthorizationGrant(t, b.store, b.clock, client)
		s := mustOAuth2Session(t, b.store, b.clock, client, u, browser)
		_, err := b.store.OAuth2Grants().FulfillAuthorizationGrant(b.ctx, b.clock, g, s, browser)
		require.NoError(t, err)

		_, err = b.store.OAuth2Grants().FulfillAuthorizationGrant(b.ctx, b.clock, g, mustOAuth2Session(t, b.store, b.clock, client, u, browser), browser)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		got, err := b.store.OAuth2Grants().LookupAuthorizationGrant(b.ctx, g.ID)
		require.NoError(t, err)
		require.Equal(t, s.ID, got.SessionID)
	})

	authorizationGrantExchange.testSets(t, f)

	t.Run("ExchangeBeforeFulfilmentIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		g := mustAuthorizationGrant(t, b.store, b.clock, mustClient(t, b.store, b.clock))

		_, err := b.store.OAuth2Grants().ExchangeAuthorizationGrant(b.ctx, b.clock, g)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		got, err := b.store.OAuth2Grants().LookupAuthorizationGrant(b.ctx, g.ID)
		require.NoError(t, err)
		require.Nil(t, got.ExchangedAt)
	})

	authorizationGrantExchange.testTwice(t, f)
}

func testOAuth2DeviceCodeGrants(t *testing.T, f Factory) {
	t.Parallel()

	// approved returns a store bundle, a client, a user's browser session
	// and a grant of the client that the browser session approved.
	approved := func(t *testing.T) (bundle, *storage.OAuth2Client, *storage.UserSession, *storage.OAuth2DeviceCodeGrant) {
		t.Helper()
		b := setup(t, f)
		client := mustClient(t, b.store, b.clock)
		browser := mustUserSession(t, b.store, b.clock, mustUser(t, b.store, b.clock))
		g, err := b.store.OAuth2Grants().FulfillDeviceCodeGrant(b.ctx, b.clock, mustDeviceCodeGrant(t, b.store, b.clock, client), browser)
		require.NoError(t, err)
		return b, client, browser, g
	}

	t.Run("AddReturnsStoredGrant", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		client := mustClient(t, b.store, b.clock)
		b.clock.Advance(time.Second)

		g, err := b.store.OAuth2Grants().AddDeviceCodeGrant(b.ctx, b.clock, client, "openid", "dev_abc", "USER-ABC", 10*time.Minute, ipB, "tv/1.0")
		require.NoError(t, err)
		requireNewID(t, b.clock, g.ID)
		now := storage.Now(b.clock)
		require.Equal(t, &storage.OAuth2DeviceCodeGrant{
			ID: g.ID, ClientID: client.ID, Scope: "openid", DeviceCode: "dev_abc", UserCode: "USER-ABC",
			CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute), IPAddress: ipB, UserAgent: "tv/1.0",
		}, g)
		got, err := b.store.OAuth2Grants().LookupDeviceCodeGrant(b.ctx, g.ID)
		require.NoError(t, err)
		require.Equal(t, g, got)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		clock := oddClock()
		g := mustDeviceCodeGrant(t, b.store, clock, mustClient(t, b.store, clock))

		want := storage.Timestamp(oddInstant)
		got, err := b.store.OAuth2Grants().LookupDeviceCodeGrant(b.ctx, g.ID)
		require.NoError(t, err)
		require.Equal(t, want, got.CreatedAt)
		require.Equal(t, want.Add(10*time.Minute), got.ExpiresAt)
	})

	t.Run("AddTakenCodeIsConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		client := mustClient(t, b.store, b.clock)
		g := mustDeviceCodeGrant(t, b.store, b.clock, client)

		_, err := b.store.OAuth2Grants().AddDeviceCodeGrant(b.ctx, b.clock, client, "openid", g.DeviceCode, unique("USER"), time.Minute, ipA, "tv")
		require.ErrorIs(t, err, storage.ErrConflict, "device code taken")
		_, err = b.store.OAuth2Grants().AddDeviceCodeGrant(b.ctx, b.clock, client, "openid", unique("device"), g.UserCode, time.Minute, ipA, "tv")
		require.ErrorIs(t, err, storage.ErrConflict, "user code taken")
	})

	t.Run("AddEmptyCodeIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		client := mustClient(t, b.store, b.clock)

		_, err := b.store.OAuth2Grants().AddDeviceCodeGrant(b.ctx, b.clock, client, "openid", "", "USER-X", time.Minute, ipA, "tv")
		require.ErrorIs(t, err, storage.ErrInvalidArgument, "empty device code")
		_, err = b.store.OAuth2Grants().AddDeviceCodeGrant(b.ctx, b.clock, client, "openid", "dev_x", "", time.Minute, ipA, "tv")
		require.ErrorIs(t, err, storage.ErrInvalidArgument, "empty user code")
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustDeviceCodeGrant(t, b.store, b.clock, mustClient(t, b.store, b.clock))

		_, err := b.store.OAuth2Grants().LookupDeviceCodeGrant(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("FulfillRecordsBrowserSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		g := mustDeviceCodeGrant(t, b.store, b.clock, mustClient(t, b.store, b.clock))
		browser := mustUserSession(t, b.store, b.clock, mustUser(t, b.store, b.clock))
		b.clock.Advance(time.Second)

		fulfilled, err := b.store.OAuth2Grants().FulfillDeviceCodeGrant(b.ctx, b.clock, g, browser)
		require.NoError(t, err)
		want := *g
		want.FulfilledAt, want.UserSessionID = at(b.clock), browser.ID
		require.Equal(t, &want, fulfilled)
		got, err := b.store.OAuth2Grants().LookupDeviceCodeGrant(b.ctx, g.ID)
		require.NoError(t, err)
		require.Equal(t, &want, got)
	})

	t.Run("FulfillTwiceIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b, _, browser, g := approved(t)
		b.clock.Advance(time.Second)

		_, err := b.store.OAuth2Grants().FulfillDeviceCodeGrant(b.ctx, b.clock, g, browser)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		got, err := b.store.OAuth2Grants().LookupDeviceCodeGrant(b.ctx, g.ID)
		require.NoError(t, err)
		require.Equal(t, g, got)
	})

	t.Run("ExchangeRecordsSession", func(t *testing.T) {
		t.Parallel()
		b, client, browser, g := approved(t)
		u, err := b.store.Users().Lookup(b.ctx, browser.UserID)
		require.NoError(t, err)
		s := mustOAuth2Session(t, b.store, b.clock, client, u, browser)
		b.clock.Advance(time.Second)

		exchanged, err := b.store.OAuth2Grants().ExchangeDeviceCodeGrant(b.ctx, b.clock, g, s)
		require.NoError(t, err)
		want := *g
		want.ExchangedAt, want.SessionID = at(b.clock), s.ID
		require.Equal(t, &want, exchanged)
		got, err := b.store.OAuth2Grants().LookupDeviceCodeGrant(b.ctx, g.ID)
		require.NoError(t, err)
		require.Equal(t, &want, got)
	})

	t.Run("ExchangeBeforeFulfilmentIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		client := mustClient(t, b.store, b.clock)
		g := mustDeviceCodeGrant(t, b.store, b.clock, client)
		s := mustOAuth2Session(t, b.store, b.clock, client, nil, nil)

		_, err := b.store.OAuth2Grants().ExchangeDeviceCodeGrant(b.ctx, b.clock, g, s)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		got, err := b.store.OAuth2Grants().LookupDeviceCodeGrant(b.ctx, g.ID)
		require.NoError(t, err)
		require.Equal(t, g, got)
	})

	t.Run("ExchangeTwiceIsAlreadyFinished", func(t *testing.T) {
		t.Parallel()
		b, client, _, g := approved(t)
		s := mustOAuth2Session(t, b.store, b.clock, client, nil, nil)
		_, err := b.store.OAuth2Grants().ExchangeDeviceCodeGrant(b.ctx, b.clock, g, s)
		require.NoError(t, err)
		b.clock.Advance(time.Second)

		_, err = b.store.OAuth2Grants().ExchangeDeviceCodeGrant(b.ctx, b.clock, g, mustOAuth2Session(t, b.store, b.clock, client, nil, nil))
		require.ErrorIs(t, err, storage.ErrAlreadyFinished)
		got, err := b.store.OAuth2Grants().LookupDeviceCodeGrant(b.ctx, g.ID)
		require.NoError(t, err)
		require.Equal(t, &Epoch, got.ExchangedAt)
		require.Equal(t, s.ID, got.SessionID)
	})
}
