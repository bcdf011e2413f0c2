package storagetest

import (
	"net/netip"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

func revokedAccessTokenCleanup(r storage.Repository) storage.CleanupFunc {
	return r.OAuth2Tokens().CleanupRevokedAccessTokens
}

func expiredAccessTokenCleanup(r storage.Repository) storage.CleanupFunc {
	return r.OAuth2Tokens().CleanupExpiredAccessTokens
}

func revokedRefreshTokenCleanup(r storage.Repository) storage.CleanupFunc {
	return r.OAuth2Tokens().CleanupRevokedRefreshTokens
}

func consumedRefreshTokenCleanup(r storage.Repository) storage.CleanupFunc {
	return r.OAuth2Tokens().CleanupConsumedRefreshTokens
}

func deviceCodeGrantCleanup(r storage.Repository) storage.CleanupFunc {
	return r.OAuth2Grants().CleanupDeviceCodeGrants
}

// tokenSession starts an OAuth 2.0 session of a new client and user.
func (e *cleanupEnv) tokenSession() *storage.OAuth2Session {
	e.t.Helper()
	return mustOAuth2Session(e.t, e.store, e.clock, mustClient(e.t, e.store, e.clock), mustUser(e.t, e.store, e.clock), nil)
}

// tokenCleanupCases: the OAuth 2.0 token and grant cleanups.
func tokenCleanupCases() []cleanupCase {
	return []cleanupCase{
		{
			name: "OAuth2Tokens.CleanupRevokedAccessTokens",
			run:  revokedAccessTokenCleanup,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when.Add(-time.Hour))
				tok := mustAccessToken(e.t, e.store, e.clock, e.tokenSession(), 0)
				e.clock.Set(when)
				_, err := e.store.OAuth2Tokens().RevokeAccessToken(e.ctx, e.clock, tok)
				require.NoError(e.t, err)
				return func() bool { return e.hasAccessToken(tok.ID) }
			},
			rules: []cleanupRule{
				{"KeepsUnrevokedTokens", func(e *cleanupEnv) {
					e.set(-48 * time.Hour)
					tok := mustAccessToken(e.t, e.store, e.clock, e.tokenSession(), time.Hour)
					requireUntouched(e, revokedAccessTokenCleanup(e.store), func() bool { return e.hasAccessToken(tok.ID) })
				}},
				{"UnpairsRefreshToken", func(e *cleanupEnv) {
					requireRefreshTokenUnpaired(e, revokedAccessTokenCleanup, func(tok *storage.OAuth2AccessToken) {
						_, err := e.store.OAuth2Tokens().RevokeAccessToken(e.ctx, e.clock, tok)
						require.NoError(e.t, err)
					})
				}},
			},
		},
		{
			name: "OAuth2Tokens.CleanupExpiredAccessTokens",
			run:  expiredAccessTokenCleanup,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when.Add(-time.Hour))
				tok := mustAccessToken(e.t, e.store, e.clock, e.tokenSession(), time.Hour)
				e.clock.Set(when)
				return func() bool { return e.hasAccessToken(tok.ID) }
			},
			rules: []cleanupRule{
				{"KeepsTokensThatNeverExpire", func(e *cleanupEnv) {
					e.set(-48 * time.Hour)
					tok := mustAccessToken(e.t, e.store, e.clock, e.tokenSession(), 0)
					requireUntouched(e, expiredAccessTokenCleanup(e.store), func() bool { return e.hasAccessToken(tok.ID) })
				}},
				{"UnpairsRefreshToken", func(e *cleanupEnv) {
					requireRefreshTokenUnpaired(e, expiredAccessTokenCleanup, func(tok *storage.OAuth2AccessToken) {
						_, err := e.store.OAuth2Tokens().ExpireAccessToken(e.ctx, e.clock, tok)
						require.NoError(e.t, err)
					})
				}},
			},
		},
		{
			name: "OAuth2Tokens.CleanupRevokedRefreshTokens",
			run:  revokedRefreshTokenCleanup,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when.Add(-time.Hour))
				tok := mustRefreshToken(e.t, e.store, e.clock, e.tokenSession(), nil)
				e.clock.Set(when)
				_, err := e.store.OAuth2Tokens().RevokeRefreshToken(e.ctx, e.clock, tok)
				require.NoError(e.t, err)
				return func() bool { return e.hasRefreshToken(tok.ID) }
			},
			rules: []cleanupRule{
				{"KeepsUnrevokedTokens", func(e *cleanupEnv) {
					e.set(-48 * time.Hour)
					tok := mustRefreshToken(e.t, e.store, e.clock, e.tokenSession(), nil)
					e.set(-47 * time.Hour)
					e.consume(tok, nil)
					requireUntouched(e, revokedRefreshTokenCleanup(e.store), func() bool { return e.hasRefreshToken(tok.ID) })
				}},
				{"UnlinksPredecessor", refreshTokenUnlinksPredecessor},
			},
		},
		{
			name: "OAuth2Tokens.CleanupConsumedRefreshTokens",
			run:  consumedRefreshTokenCleanup,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when.Add(-time.Hour))
				tok := mustRefreshToken(e.t, e.store, e.clock, e.tokenSession(), nil)
				e.clock.Set(when)
				e.consume(tok, nil)
				return func() bool { return e.hasRefreshToken(tok.ID) }
			},
			rules: []cleanupRule{
				{"KeepsTokensNotConsumed", func(e *cleanupEnv) {
					e.set(-48 * time.Hour)
					s := e.tokenSession()
					live := mustRefreshToken(e.t, e.store, e.clock, s, nil)
					revoked := mustRefreshToken(e.t, e.store, e.clock, s, nil)
					_, err := e.store.OAuth2Tokens().RevokeRefreshToken(e.ctx, e.clock, revoked)
					require.NoError(e.t, err)
					requireUntouched(e, consumedRefreshTokenCleanup(e.store),
						func() bool { return e.hasRefreshToken(live.ID) },
						func() bool { return e.hasRefreshToken(revoked.ID) })
				}},
				{"SkipsTokenWhoseSuccessorIsLiveAndMovesPast", func(e *cleanupEnv) {
					e.set(-3 * time.Hour)
					s := e.tokenSession()
					first := mustRefreshToken(e.t, e.store, e.clock, s, nil)
					next := mustRefreshToken(e.t, e.store, e.clock, s, nil)
					e.set(-time.Hour)
					e.consume(first, next)
					requireSkipped(e, consumedRefreshTokenCleanup(e.store), func() bool { return e.hasRefreshToken(first.ID) })
					require.True(e.t, e.hasRefreshToken(next.ID))
				}},
				{"DeletesTokenWhoseSuccessorIsConsumed", func(e *cleanupEnv) {
					e.set(-3 * time.Hour)
					s := e.tokenSession()
					first := mustRefreshToken(e.t, e.store, e.clock, s, nil)
					second := mustRefreshToken(e.t, e.store, e.clock, s, nil)
					e.set(-2 * time.Hour)
					e.consume(first, second)
					third := mustRefreshToken(e.t, e.store, e.clock, s, nil)
					e.set(time.Hour) // second is consumed, but after the horizon
					e.consume(second, third)

					b := e.batch(consumedRefreshTokenCleanup(e.store), storage.Cursor{}, 10)
					require.Equal(e.t, 1, b.Affected)
					require.False(e.t, e.hasRefreshToken(first.ID))
					require.True(e.t, e.hasRefreshToken(second.ID))
					require.True(e.t, e.hasRefreshToken(third.ID))
				}},
				{"DeletesWholeConsumedChain", func(e *cleanupEnv) {
					e.set(-3 * time.Hour)
					s := e.tokenSession()
					first := mustRefreshToken(e.t, e.store, e.clock, s, nil)
					second := mustRefreshToken(e.t, e.store, e.clock, s, nil)
					e.set(-2 * time.Hour)
					e.consume(first, second)
					e.set(-time.Hour)
					e.consume(second, nil)

					b := e.batch(consumedRefreshTokenCleanup(e.store), storage.Cursor{}, 10)
					require.Equal(e.t, 2, b.Affected)
					require.False(e.t, e.hasRefreshToken(first.ID))
					require.False(e.t, e.hasRefreshToken(second.ID))
				}},
			},
		},
		{
			name: "OAuth2Grants.CleanupAuthorizationGrants",
			run: func(r storage.Repository) storage.CleanupFunc {
				return r.OAuth2Grants().CleanupAuthorizationGrants
			},
			order: byULIDAge,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when)
				g := mustAuthorizationGrant(e.t, e.store, e.clock, mustClient(e.t, e.store, e.clock))
				return func() bool { return e.hasAuthorizationGrant(g.ID) }
			},
			rules: []cleanupRule{{"DeletesExchangedGrantKeepsItsSessions", func(e *cleanupEnv) {
				e.set(-time.Hour)
				u := mustUser(e.t, e.store, e.clock)
				browser := mustUserSession(e.t, e.store, e.clock, u)
				client := mustClient(e.t, e.store, e.clock)
				o := mustOAuth2Session(e.t, e.store, e.clock, client, u, browser)
				g, err := e.store.OAuth2Grants().FulfillAuthorizationGrant(e.ctx, e.clock, mustAuthorizationGrant(e.t, e.store, e.clock, client), o, browser)
				require.NoError(e.t, err)
				_, err = e.store.OAuth2Grants().ExchangeAuthorizationGrant(e.ctx, e.clock, g)
				require.NoError(e.t, err)

				require.Equal(e.t, 1, e.batch(e.store.OAuth2Grants().CleanupAuthorizationGrants, storage.Cursor{}, 10).Affected)
				require.False(e.t, e.hasAuthorizationGrant(g.ID))
				require.True(e.t, e.hasOAuth2Session(o.ID))
				require.True(e.t, e.hasUserSession(browser.ID))
			}}},
		},
		deviceCodeGrantCase(),
	}
}

// deviceCodeGrantCase is the device-code grants' cleanup; it also clears what
// their IP audit counts.
func deviceCodeGrantCase() cleanupCase {
	return cleanupCase{
		name:  "OAuth2Grants.CleanupDeviceCodeGrants",
		run:   deviceCodeGrantCleanup,
		order: byULIDAge,
		add: func(e *cleanupEnv, when time.Time) func() bool {
			e.clock.Set(when)
			g := mustDeviceCodeGrant(e.t, e.store, e.clock, mustClient(e.t, e.store, e.clock))
			return func() bool { return e.hasDeviceCodeGrant(g.ID) }
		},
		rules: []cleanupRule{{"DeletesExchangedGrantKeepsItsSessions", func(e *cleanupEnv) {
			e.set(-time.Hour)
			u := mustUser(e.t, e.store, e.clock)
			browser := mustUserSession(e.t, e.store, e.clock, u)
			client := mustClient(e.t, e.store, e.clock)
			g, err := e.store.OAuth2Grants().FulfillDeviceCodeGrant(e.ctx, e.clock, mustDeviceCodeGrant(e.t, e.store, e.clock, client), browser)
			require.NoError(e.t, err)
			o := mustOAuth2Session(e.t, e.store, e.clock, client, u, browser)
			_, err = e.store.OAuth2Grants().ExchangeDeviceCodeGrant(e.ctx, e.clock, g, o)
			require.NoError(e.t, err)

			require.Equal(e.t, 1, e.batch(deviceCodeGrantCleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasDeviceCodeGrant(g.ID))
			require.True(e.t, e.hasOAuth2Session(o.ID))
			require.True(e.t, e.hasUserSession(browser.ID))
		}}},
	}
}

// requireRefreshTokenUnpaired: an access token paired with a refresh token,
// made to qualify by retire an hour before the horizon, is cleaned up by
// cleanup; the refresh token stays, unpaired.
func requireRefreshTokenUnpaired(e *cleanupEnv, cleanup func(storage.Repository) storage.CleanupFunc, retire func(*storage.OAuth2AccessToken)) {
	e.t.Helper()
	e.set(-2 * time.Hour)
	s := e.tokenSession()
	access := mustAccessToken(e.t, e.store, e.clock, s, 24*time.Hour)
	refresh := mustRefreshToken(e.t, e.store, e.clock, s, access)
	require.Equal(e.t, access.ID, refresh.AccessTokenID)
	e.set(-time.Hour)
	retire(access)

	require.Equal(e.t, 1, e.batch(cleanup(e.store), storage.Cursor{}, 10).Affected)
	require.False(e.t, e.hasAccessToken(access.ID))
	require.Zero(e.t, e.getRefreshToken(refresh.ID).AccessTokenID)
}

// refreshTokenUnlinksPredecessor: a revoked refresh token named as successor
// by a consumed one is cleaned up; the predecessor stays, without successor.
func refreshTokenUnlinksPredecessor(e *cleanupEnv) {
	e.set(-3 * time.Hour)
	s := e.tokenSession()
	first := mustRefreshToken(e.t, e.store, e.clock, s, nil)
	second := mustRefreshToken(e.t, e.store, e.clock, s, nil)
	e.set(-2 * time.Hour)
	e.consume(first, second)
	require.Equal(e.t, second.ID, e.getRefreshToken(first.ID).NextID)
	e.set(-time.Hour)
	_, err := e.store.OAuth2Tokens().RevokeRefreshToken(e.ctx, e.clock, second)
	require.NoError(e.t, err)

	require.Equal(e.t, 1, e.batch(revokedRefreshTokenCleanup(e.store), storage.Cursor{}, 10).Affected)
	require.False(e.t, e.hasRefreshToken(second.ID))
	require.Zero(e.t, e.getRefreshToken(first.ID).NextID)
}

// deviceCodeGrantCountCase: the device-code grants' IP audit, cleared by
// their cleanup.
func deviceCodeGrantCountCase() countCase {
	return countCase{
		name: "OAuth2Grants.CountStaleDeviceCodeGrantIPs",
		count: func(r storage.Repository) storage.CountFunc {
			return r.OAuth2Grants().CountStaleDeviceCodeGrantIPs
		},
		clear: deviceCodeGrantCase(),
		addWithoutIP: func(e *cleanupEnv, when time.Time) {
			e.clock.Set(when)
			_, err := e.store.OAuth2Grants().AddDeviceCodeGrant(e.ctx, e.clock, mustClient(e.t, e.store, e.clock),
				"openid", unique("device"), unique("USER"), 10*time.Minute, netip.Addr{}, "curl/8")
			require.NoError(e.t, err)
		},
	}
}
