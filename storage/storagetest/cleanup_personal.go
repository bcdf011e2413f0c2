package storagetest

import (
	"context"
	"net/netip"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

func revokedPersonalSessionCleanup(r storage.Repository) storage.CleanupFunc {
	return r.PersonalSessions().CleanupRevoked
}

func revokedPersonalTokenCleanup(r storage.Repository) storage.CleanupFunc {
	return r.PersonalSessions().CleanupRevokedAccessTokens
}

func (e *cleanupEnv) hasPersonalSession(id ulid.ULID) bool {
	_, err := e.store.PersonalSessions().Lookup(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasPersonalToken(id ulid.ULID) bool {
	_, err := e.store.PersonalSessions().LookupAccessToken(e.ctx, id)
	return e.present(err)
}

// personalToken issues s a token at the clock's time, expiring after
// expiresIn (0: never).
func (e *cleanupEnv) personalToken(s *storage.PersonalSession, expiresIn time.Duration) *storage.PersonalAccessToken {
	e.t.Helper()
	_, tok := mustPersonalToken(e.t, e.store, e.clock, s, expiresIn)
	return tok
}

// revokePersonalSession revokes s at the clock's time.
func (e *cleanupEnv) revokePersonalSession(s *storage.PersonalSession) {
	e.t.Helper()
	_, err := e.store.PersonalSessions().Revoke(e.ctx, e.clock, s)
	require.NoError(e.t, err)
}

// personalCleanupCases: revoked personal sessions and access tokens (the IP
// clearing is among the session cleanups, see personalIPHolder).
func personalCleanupCases() []cleanupCase {
	return []cleanupCase{
		{
			name: "PersonalSessions.CleanupRevoked",
			run:  revokedPersonalSessionCleanup,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when.Add(-time.Hour))
				s := mustUserPersonalSession(e.t, e.store, e.clock)
				e.clock.Set(when)
				e.revokePersonalSession(s)
				return func() bool { return e.hasPersonalSession(s.ID) }
			},
			rules: []cleanupRule{
				{"KeepsSessionsNotRevokedWhateverTheirTokens", func(e *cleanupEnv) {
					e.set(-48 * time.Hour)
					s := mustUserPersonalSession(e.t, e.store, e.clock)
					tok := e.personalToken(s, time.Hour)
					e.set(-47 * time.Hour)
					require.NoError(e.t, e.store.PersonalSessions().RecordActivity(e.ctx, e.clock, s.ID, ipA))

					requireUntouched(e, revokedPersonalSessionCleanup(e.store),
						func() bool { return e.hasPersonalSession(s.ID) },
						func() bool { return e.hasPersonalToken(tok.ID) })
				}},
				{"DeletesItsAccessTokens", func(e *cleanupEnv) {
					e.set(-3 * time.Hour)
					s := mustUserPersonalSession(e.t, e.store, e.clock)
					rotated := e.personalToken(s, 0)
					e.set(-2 * time.Hour)
					live := e.personalToken(s, time.Hour)
					other := mustUserPersonalSession(e.t, e.store, e.clock)
					otherTok := e.personalToken(other, 0)
					e.set(-time.Hour)
					e.revokePersonalSession(s)

					require.Equal(e.t, 1, e.batch(revokedPersonalSessionCleanup(e.store), storage.Cursor{}, 10).Affected)
					require.False(e.t, e.hasPersonalSession(s.ID))
					require.False(e.t, e.hasPersonalToken(rotated.ID))
					require.False(e.t, e.hasPersonalToken(live.ID))
					require.True(e.t, e.hasPersonalSession(other.ID))
					require.True(e.t, e.hasPersonalToken(otherTok.ID))
				}},
			},
		},
		{
			name: "PersonalSessions.CleanupRevokedAccessTokens",
			run:  revokedPersonalTokenCleanup,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when.Add(-time.Hour))
				tok := e.personalToken(mustUserPersonalSession(e.t, e.store, e.clock), 0)
				e.clock.Set(when)
				_, err := e.store.PersonalSessions().RevokeAccessToken(e.ctx, e.clock, tok)
				require.NoError(e.t, err)
				return func() bool { return e.hasPersonalToken(tok.ID) }
			},
			rules: []cleanupRule{
				{"KeepsTokensNotRevokedEvenExpired", func(e *cleanupEnv) {
					e.set(-48 * time.Hour)
					tok := e.personalToken(mustUserPersonalSession(e.t, e.store, e.clock), time.Hour)
					requireUntouched(e, revokedPersonalTokenCleanup(e.store), func() bool { return e.hasPersonalToken(tok.ID) })
				}},
				{"DeletesTokensRevokedByANewToken", func(e *cleanupEnv) {
					e.set(-2 * time.Hour)
					s := mustUserPersonalSession(e.t, e.store, e.clock)
					first := e.personalToken(s, 0)
					e.set(-time.Hour)
					second := e.personalToken(s, 0)

					require.Equal(e.t, 1, e.batch(revokedPersonalTokenCleanup(e.store), storage.Cursor{}, 10).Affected)
					require.False(e.t, e.hasPersonalToken(first.ID))
					require.True(e.t, e.hasPersonalToken(second.ID))
				}},
				{"KeepsTheSession", func(e *cleanupEnv) {
					e.set(-2 * time.Hour)
					s := mustUserPersonalSession(e.t, e.store, e.clock)
					tok := e.personalToken(s, 0)
					e.set(-time.Hour)
					e.revokePersonalSession(s)

					require.Equal(e.t, 1, e.batch(revokedPersonalTokenCleanup(e.store), storage.Cursor{}, 10).Affected)
					require.False(e.t, e.hasPersonalToken(tok.ID))
					require.True(e.t, e.hasPersonalSession(s.ID))
				}},
			},
		},
	}
}

// personalIPHolder: the personal sessions, whose last active IP MAS never
// clears (JOBS.md, "Beyond MAS: personal sessions").
func personalIPHolder() ipHolder {
	return ipHolder{
		name:  "PersonalSessions",
		clear: func(r storage.Repository) storage.CleanupFunc { return r.PersonalSessions().ClearInactiveIPs },
		count: func(r storage.Repository) storage.CountFunc { return r.PersonalSessions().CountStaleIPs },
		start: func(e *cleanupEnv) ulid.ULID { return mustUserPersonalSession(e.t, e.store, e.clock).ID },
		record: func(r storage.Repository) func(context.Context, storage.Clock, ulid.ULID, netip.Addr) error {
			return r.PersonalSessions().RecordActivity
		},
		activity: func(e *cleanupEnv, id ulid.ULID) (*time.Time, netip.Addr) {
			s, err := e.store.PersonalSessions().Lookup(e.ctx, id)
			require.NoError(e.t, err)
			return s.LastActiveAt, s.LastActiveIP
		},
	}
}
