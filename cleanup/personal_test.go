package cleanup_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
)

// personal starts a personal session of a new user, issued a token.
func (w *world) personal() (*storage.PersonalSession, *storage.PersonalAccessToken) {
	w.t.Helper()
	u := w.user()
	s, err := w.store.PersonalSessions().Add(w.ctx, w.clock, storage.PersonalSessionOwner{User: u}, u, w.name("bot"), []string{"urn:matrix:client:api:*"})
	require.NoError(w.t, err)
	tok, err := w.store.PersonalSessions().AddAccessToken(w.ctx, w.clock, s, w.name("mpt"), 0)
	require.NoError(w.t, err)
	return s, tok
}

func (w *world) personalExists(s *storage.PersonalSession) bool {
	return w.exists(func() error { _, err := w.store.PersonalSessions().Lookup(w.ctx, s.ID); return err })
}

func (w *world) personalTokenExists(t *storage.PersonalAccessToken) bool {
	return w.exists(func() error { _, err := w.store.PersonalSessions().LookupAccessToken(w.ctx, t.ID); return err })
}

// The three personal-session jobs at their retention edge: a row one second
// past it goes, one a second short of it stays.
func TestPersonalSessionJobs(t *testing.T) {
	t.Parallel()
	const retention = 30 * days
	past, short := testNow.Add(-retention-time.Second), testNow.Add(-retention+time.Second)

	t.Run("RevokedSessionsGoWithTheirTokens", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			w.clock.Set(past.Add(-time.Hour))
			gone, goneTok := w.personal()
			kept, keptTok := w.personal()
			live, liveTok := w.personal()
			_, err := store.PersonalSessions().Revoke(w.ctx, storage.FixedClock(past), gone)
			require.NoError(t, err)
			_, err = store.PersonalSessions().Revoke(w.ctx, storage.FixedClock(short), kept)
			require.NoError(t, err)
			w.clock.Set(testNow)

			r, err := cleanup.RevokedPersonalSessions(w.ctx, store, w.clock, 10)
			require.NoError(t, err)
			require.Equal(t, 1, r.Affected)
			require.False(t, w.personalExists(gone))
			require.False(t, w.personalTokenExists(goneTok), "its token went with it")
			require.True(t, w.personalExists(kept))
			require.True(t, w.personalTokenExists(keptTok))
			require.True(t, w.personalExists(live), "a session not revoked stays")
			require.True(t, w.personalTokenExists(liveTok))
		})
	})

	t.Run("RevokedTokensGoTheirSessionStays", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			w.clock.Set(past.Add(-time.Hour))
			s, old := w.personal()
			_, err := store.PersonalSessions().RevokeAccessToken(w.ctx, storage.FixedClock(past), old)
			require.NoError(t, err)
			// An expired token that is not revoked is not this job's; the
			// token it replaced, revoked then, is.
			other, _ := w.personal()
			expired, err := store.PersonalSessions().AddAccessToken(w.ctx, w.clock, other, "mpt-expired", time.Second)
			require.NoError(t, err)
			w.clock.Set(short)
			// Issuing a new token revokes the live one, at the issue time.
			recent, err := store.PersonalSessions().AddAccessToken(w.ctx, w.clock, s, "mpt-recent", 0)
			require.NoError(t, err)
			current, err := store.PersonalSessions().AddAccessToken(w.ctx, w.clock, s, "mpt-current", time.Hour)
			require.NoError(t, err)
			w.clock.Set(testNow)

			r, err := cleanup.RevokedPersonalAccessTokens(w.ctx, store, w.clock, 10)
			require.NoError(t, err)
			require.Equal(t, 2, r.Affected, "the old token, and the first token of other, revoked when mpt-expired was issued")
			require.False(t, w.personalTokenExists(old))
			require.True(t, w.personalTokenExists(recent), "revoked a second short of the horizon")
			require.True(t, w.personalTokenExists(current))
			require.True(t, w.personalTokenExists(expired))
			require.True(t, w.personalExists(s))
		})
	})

	t.Run("InactiveIPsAreCleared", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			w.clock.Set(past.Add(-time.Hour))
			stale, _ := w.personal()
			fresh, _ := w.personal()
			ip := netip.MustParseAddr("2001:db8::7")
			require.NoError(t, store.PersonalSessions().RecordActivity(w.ctx, storage.FixedClock(past), stale.ID, ip))
			require.NoError(t, store.PersonalSessions().RecordActivity(w.ctx, storage.FixedClock(short), fresh.ID, ip))
			w.clock.Set(testNow)

			audit := func() int {
				reports, err := cleanup.AuditIPs(w.ctx, store, w.clock, cleanup.Options{})
				require.NoError(t, err)
				for _, a := range reports {
					if a.Table == "personal_sessions" {
						require.Equal(t, "last_active_ip", a.Column)
						require.Equal(t, "cleanup-inactive-personal-session-ips", a.Job)
						return a.Stale
					}
				}
				t.Fatal("the privacy audit does not cover personal_sessions")
				return 0
			}
			require.Equal(t, 1, audit())
			r, err := cleanup.InactivePersonalSessionIPs(w.ctx, store, w.clock, 10)
			require.NoError(t, err)
			require.Equal(t, 1, r.Affected)
			require.Zero(t, audit())
			got, err := store.PersonalSessions().Lookup(w.ctx, stale.ID)
			require.NoError(t, err)
			require.False(t, got.LastActiveIP.IsValid())
			require.Equal(t, past, *got.LastActiveAt, "only the IP goes")
			got, err = store.PersonalSessions().Lookup(w.ctx, fresh.ID)
			require.NoError(t, err)
			require.Equal(t, ip, got.LastActiveIP)
		})
	})
}
