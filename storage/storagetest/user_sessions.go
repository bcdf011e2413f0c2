package storagetest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// userSessionCase: browser sessions.
var userSessionCase = sessionCase[storage.UserSession]{
	name: "UserSessions",
	repo: func(r storage.Repository) sessionRepo[storage.UserSession] { return r.UserSessions() },
	start: func(t *testing.T, b bundle) *storage.UserSession {
		return mustUserSession(t, b.store, b.clock, mustUser(t, b.store, b.clock))
	},
	unknown: func(t *testing.T, b bundle) *storage.UserSession {
		return &storage.UserSession{ID: unknownID(b.clock), UserID: mustUser(t, b.store, b.clock).ID}
	},
	fields: func(s *storage.UserSession) sessionFields {
		return sessionFields{s.ID, &s.FinishedAt, &s.LastActiveAt, &s.LastActiveIP}
	},
}

func testUserSessions(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddReturnsStoredSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		b.clock.Advance(time.Second)

		s, err := b.store.UserSessions().Add(b.ctx, b.clock, u, "Firefox")
		require.NoError(t, err)
		requireNewID(t, b.clock, s.ID)
		require.Equal(t, &storage.UserSession{ID: s.ID, UserID: u.ID, UserAgent: "Firefox", CreatedAt: storage.Now(b.clock)}, s)
		require.False(t, s.LastActiveIP.IsValid())
		got, err := b.store.UserSessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, s, got)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		clock := oddClock()
		u := mustUser(t, b.store, clock)
		s := mustUserSession(t, b.store, clock, u)
		require.NoError(t, b.store.UserSessions().RecordActivity(b.ctx, clock, s.ID, ipA))
		mustFinishUserSession(t, b.store, clock, s)

		want := storage.Timestamp(oddInstant)
		got, err := b.store.UserSessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, &storage.UserSession{
			ID: s.ID, UserID: u.ID, UserAgent: s.UserAgent, CreatedAt: want,
			FinishedAt: &want, LastActiveAt: &want, LastActiveIP: ipA,
		}, got)
	})

	t.Run("AddUnknownUserIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.UserSessions().Add(b.ctx, b.clock, &storage.User{ID: unknownID(b.clock)}, "Firefox")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustUserSession(t, b.store, b.clock, mustUser(t, b.store, b.clock))

		_, err := b.store.UserSessions().Lookup(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("ListByUserOldestFirstIncludesFinished", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		other := mustUser(t, b.store, b.clock)
		var want []*storage.UserSession
		for range 3 {
			want = append(want, mustUserSession(t, b.store, b.clock, u))
			mustUserSession(t, b.store, b.clock, other)
			b.clock.Advance(time.Millisecond)
		}
		want[1] = mustFinishUserSession(t, b.store, b.clock, want[1])

		got, err := b.store.UserSessions().ListByUser(b.ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, want, got)
	})

	t.Run("ListByUserWithoutSessionsIsEmpty", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		mustUserSession(t, b.store, b.clock, mustUser(t, b.store, b.clock))

		got, err := b.store.UserSessions().ListByUser(b.ctx, u.ID)
		require.NoError(t, err)
		require.Empty(t, got)
	})

	userSessionCase.finish().run(t, f)
	userSessionCase.finish().testConcurrent(t, f)
	userSessionCase.testRecordActivity(t, f)

	t.Run("RecordActivityInvalidIPKeepsRecordedOne", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustUserSession(t, b.store, b.clock, mustUser(t, b.store, b.clock))
		require.NoError(t, b.store.UserSessions().RecordActivity(b.ctx, b.clock, s.ID, ipA))
		b.clock.Advance(time.Minute)

		require.NoError(t, b.store.UserSessions().RecordActivity(b.ctx, b.clock, s.ID, netip.Addr{}))
		got, err := b.store.UserSessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, at(b.clock), got.LastActiveAt)
		require.Equal(t, ipA, got.LastActiveIP)
	})

	t.Run("AuthenticateWithPasswordRecordsAuthentication", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		p := mustPassword(t, b.store, b.clock, u)
		s := mustUserSession(t, b.store, b.clock, u)
		b.clock.Advance(time.Second)

		a, err := b.store.UserSessions().AuthenticateWithPassword(b.ctx, b.clock, s, p)
		require.NoError(t, err)
		requireNewID(t, b.clock, a.ID)
		require.Equal(t, &storage.Authentication{ID: a.ID, UserSessionID: s.ID, UserPasswordID: p.ID, CreatedAt: storage.Now(b.clock)}, a)
		got, err := b.store.UserSessions().ListAuthentications(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, []*storage.Authentication{a}, got)
	})

	t.Run("AuthenticateFinishedSessionIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		p := mustPassword(t, b.store, b.clock, u)
		provider := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		upstream := mustCompletedUpstreamSession(t, b.store, b.clock, provider, mustLink(t, b.store, b.clock, provider, u), storage.IDTokenClaims{Sub: "s"})
		s := mustUserSession(t, b.store, b.clock, u)
		mustFinishUserSession(t, b.store, b.clock, s)

		_, err := b.store.UserSessions().AuthenticateWithPassword(b.ctx, b.clock, s, p)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		_, err = b.store.UserSessions().AuthenticateWithUpstream(b.ctx, b.clock, s, upstream)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		got, err := b.store.UserSessions().ListAuthentications(b.ctx, s.ID)
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("AuthenticateUnknownSessionIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		p := mustPassword(t, b.store, b.clock, u)

		_, err := b.store.UserSessions().AuthenticateWithPassword(b.ctx, b.clock, &storage.UserSession{ID: unknownID(b.clock), UserID: u.ID}, p)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("AuthenticateWithUpstreamLinksUpstreamSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		provider := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		upstream := mustCompletedUpstreamSession(t, b.store, b.clock, provider, mustLink(t, b.store, b.clock, provider, u), storage.IDTokenClaims{Sub: "s", Sid: "x"})
		s := mustUserSession(t, b.store, b.clock, u)
		b.clock.Advance(time.Second)

		a, err := b.store.UserSessions().AuthenticateWithUpstream(b.ctx, b.clock, s, upstream)
		require.NoError(t, err)
		requireNewID(t, b.clock, a.ID)
		require.Equal(t, &storage.Authentication{ID: a.ID, UserSessionID: s.ID, UpstreamSessionID: upstream.ID, CreatedAt: storage.Now(b.clock)}, a)
		got, err := b.store.UpstreamOAuth().LookupSession(b.ctx, upstream.ID)
		require.NoError(t, err)
		want := *upstream
		want.UserSessionID = s.ID
		require.Equal(t, &want, got)
		auths, err := b.store.UserSessions().ListAuthentications(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, []*storage.Authentication{a}, auths)
	})

	t.Run("AuthenticateWithUnknownUpstreamIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustUserSession(t, b.store, b.clock, mustUser(t, b.store, b.clock))
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		completed := b.clock.Now()

		_, err := b.store.UserSessions().AuthenticateWithUpstream(b.ctx, b.clock, s, &storage.UpstreamOAuthSession{
			ID: unknownID(b.clock), ProviderID: p.ID, State: "x", CompletedAt: &completed, Claims: &storage.IDTokenClaims{Sub: "s"},
		})
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("AuthenticateWithUpstreamKeepsFirstLink", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		provider := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		first, upstream := mustUpstreamLogin(t, b.store, b.clock, provider, u, storage.IDTokenClaims{Sub: "s"})
		second := mustUserSession(t, b.store, b.clock, u)

		_, err := b.store.UserSessions().AuthenticateWithUpstream(b.ctx, b.clock, second, upstream)
		require.NoError(t, err)
		got, err := b.store.UpstreamOAuth().LookupSession(b.ctx, upstream.ID)
		require.NoError(t, err)
		require.Equal(t, first.ID, got.UserSessionID)
	})

	t.Run("ListAuthenticationsOldestFirst", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		p := mustPassword(t, b.store, b.clock, u)
		provider := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		upstream := mustCompletedUpstreamSession(t, b.store, b.clock, provider, mustLink(t, b.store, b.clock, provider, u), storage.IDTokenClaims{Sub: "s"})
		s := mustUserSession(t, b.store, b.clock, u)
		other := mustUserSession(t, b.store, b.clock, u)
		var want []*storage.Authentication
		for range 2 {
			a, err := b.store.UserSessions().AuthenticateWithPassword(b.ctx, b.clock, s, p)
			require.NoError(t, err)
			want = append(want, a)
			_, err = b.store.UserSessions().AuthenticateWithPassword(b.ctx, b.clock, other, p)
			require.NoError(t, err)
			b.clock.Advance(time.Millisecond)
		}
		a, err := b.store.UserSessions().AuthenticateWithUpstream(b.ctx, b.clock, s, upstream)
		require.NoError(t, err)
		want = append(want, a)

		got, err := b.store.UserSessions().ListAuthentications(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, want, got)
	})
}
