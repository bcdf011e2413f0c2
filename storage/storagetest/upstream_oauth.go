package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

func testUpstreamOAuth(t *testing.T, f Factory) {
	t.Parallel()
	t.Run("Providers", func(t *testing.T) { testUpstreamProviders(t, f) })
	t.Run("Links", func(t *testing.T) { testUpstreamLinks(t, f) })
	t.Run("Sessions", func(t *testing.T) { testUpstreamSessions(t, f) })
}

func testUpstreamProviders(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddReturnsStoredProvider", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		for _, mode := range []storage.BackchannelLogoutMode{storage.LogoutDoNothing, storage.LogoutBrowserOnly, storage.LogoutAll} {
			in := storage.UpstreamOAuthProvider{
				Issuer: "https://idp.example.org/" + string(mode), HumanName: "IdP", ClientID: "masclient",
				Scope: "openid profile", OnBackchannelLogout: mode,
			}

			p, err := b.store.UpstreamOAuth().AddProvider(b.ctx, b.clock, in)
			require.NoError(t, err)
			requireNewID(t, b.clock, p.ID)
			want := in
			want.ID, want.CreatedAt = p.ID, storage.Now(b.clock)
			require.Equal(t, &want, p)
			got, err := b.store.UpstreamOAuth().LookupProvider(b.ctx, p.ID)
			require.NoError(t, err)
			require.Equal(t, p, got)
			b.clock.Advance(time.Second)
		}
	})

	t.Run("AddInvalidModeIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.UpstreamOAuth().AddProvider(b.ctx, b.clock, storage.UpstreamOAuthProvider{
			Issuer: "https://idp.example.org", ClientID: "c", Scope: "openid", OnBackchannelLogout: "logout_everything",
		})
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
		got, err := b.store.UpstreamOAuth().ListProviders(b.ctx)
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, oddClock(), storage.LogoutAll)

		got, err := b.store.UpstreamOAuth().LookupProvider(b.ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, storage.Timestamp(oddInstant), got.CreatedAt)
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustProvider(t, b.store, b.clock, storage.LogoutAll)

		_, err := b.store.UpstreamOAuth().LookupProvider(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("ListOldestFirst", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		empty, err := b.store.UpstreamOAuth().ListProviders(b.ctx)
		require.NoError(t, err)
		require.Empty(t, empty)
		var want []*storage.UpstreamOAuthProvider
		for range 3 {
			want = append(want, mustProvider(t, b.store, b.clock, storage.LogoutDoNothing))
			b.clock.Advance(time.Millisecond)
		}

		got, err := b.store.UpstreamOAuth().ListProviders(b.ctx)
		require.NoError(t, err)
		require.Equal(t, want, got)
	})
}

func testUpstreamLinks(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddWithUser", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		u := mustUser(t, b.store, b.clock)
		b.clock.Advance(time.Second)

		l, err := b.store.UpstreamOAuth().AddLink(b.ctx, b.clock, p, "sub-1", u)
		require.NoError(t, err)
		requireNewID(t, b.clock, l.ID)
		require.Equal(t, &storage.UpstreamOAuthLink{ID: l.ID, ProviderID: p.ID, UserID: u.ID, Subject: "sub-1", CreatedAt: storage.Now(b.clock)}, l)
		got, err := b.store.UpstreamOAuth().LookupLink(b.ctx, l.ID)
		require.NoError(t, err)
		require.Equal(t, l, got)
		got, err = b.store.UpstreamOAuth().FindLink(b.ctx, p, "sub-1")
		require.NoError(t, err)
		require.Equal(t, l, got)
	})

	t.Run("AddWithoutUser", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)

		l, err := b.store.UpstreamOAuth().AddLink(b.ctx, b.clock, p, "sub-1", nil)
		require.NoError(t, err)
		requireNewID(t, b.clock, l.ID)
		require.Equal(t, &storage.UpstreamOAuthLink{ID: l.ID, ProviderID: p.ID, Subject: "sub-1", CreatedAt: Epoch}, l)
		got, err := b.store.UpstreamOAuth().LookupLink(b.ctx, l.ID)
		require.NoError(t, err)
		require.Equal(t, l, got)
	})

	t.Run("AddLinkedSubjectIsConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		l := mustLink(t, b.store, b.clock, p, nil)

		_, err := b.store.UpstreamOAuth().AddLink(b.ctx, b.clock, p, l.Subject, mustUser(t, b.store, b.clock))
		require.ErrorIs(t, err, storage.ErrConflict)
	})

	t.Run("SameSubjectAtAnotherProvider", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		q := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		lp, err := b.store.UpstreamOAuth().AddLink(b.ctx, b.clock, p, "shared", nil)
		require.NoError(t, err)

		lq, err := b.store.UpstreamOAuth().AddLink(b.ctx, b.clock, q, "shared", nil)
		require.NoError(t, err)
		got, err := b.store.UpstreamOAuth().FindLink(b.ctx, p, "shared")
		require.NoError(t, err)
		require.Equal(t, lp, got)
		got, err = b.store.UpstreamOAuth().FindLink(b.ctx, q, "shared")
		require.NoError(t, err)
		require.Equal(t, lq, got)
	})

	t.Run("AddUnknownProviderIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.UpstreamOAuth().AddLink(b.ctx, b.clock, &storage.UpstreamOAuthProvider{ID: unknownID(b.clock)}, "sub", nil)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("AssociateSetsUser", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		l := mustLink(t, b.store, b.clock, p, nil)
		u := mustUser(t, b.store, b.clock)

		associated, err := b.store.UpstreamOAuth().AssociateLink(b.ctx, l, u)
		require.NoError(t, err)
		want := *l
		want.UserID = u.ID
		require.Equal(t, &want, associated)
		got, err := b.store.UpstreamOAuth().LookupLink(b.ctx, l.ID)
		require.NoError(t, err)
		require.Equal(t, &want, got)
	})

	t.Run("AssociateUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		u := mustUser(t, b.store, b.clock)

		_, err := b.store.UpstreamOAuth().AssociateLink(b.ctx, &storage.UpstreamOAuthLink{ID: unknownID(b.clock), ProviderID: p.ID, Subject: "x"}, u)
		require.ErrorIs(t, err, storage.ErrNotFound)
		l := mustLink(t, b.store, b.clock, p, nil)
		_, err = b.store.UpstreamOAuth().AssociateLink(b.ctx, l, &storage.User{ID: unknownID(b.clock)})
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("LookupAndFindUnknownAreNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		q := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		l := mustLink(t, b.store, b.clock, p, nil)

		_, err := b.store.UpstreamOAuth().LookupLink(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
		_, err = b.store.UpstreamOAuth().FindLink(b.ctx, p, "nobody")
		require.ErrorIs(t, err, storage.ErrNotFound)
		_, err = b.store.UpstreamOAuth().FindLink(b.ctx, q, l.Subject)
		require.ErrorIs(t, err, storage.ErrNotFound, "the subject is linked at another provider")
	})
}

// upstreamSessionConsume: ConsumeSession of a completed upstream login,
// which sets ConsumedAt.
var upstreamSessionConsume = stampCase[storage.UpstreamOAuthSession]{
	op:    "Consume",
	field: "ConsumedAt",
	start: func(t *testing.T, b bundle) *storage.UpstreamOAuthSession {
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		return mustCompletedUpstreamSession(t, b.store, b.clock, p, mustLink(t, b.store, b.clock, p, nil), storage.IDTokenClaims{Sub: "a"})
	},
	apply: func(b bundle, s *storage.UpstreamOAuthSession) (*storage.UpstreamOAuthSession, error) {
		return b.store.UpstreamOAuth().ConsumeSession(b.ctx, b.clock, s)
	},
	lookup: func(b bundle, s *storage.UpstreamOAuthSession) (*storage.UpstreamOAuthSession, error) {
		return b.store.UpstreamOAuth().LookupSession(b.ctx, s.ID)
	},
	stamp: func(s *storage.UpstreamOAuthSession) **time.Time { return &s.ConsumedAt },
}

func testUpstreamSessions(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddReturnsStoredSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		b.clock.Advance(time.Second)

		s, err := b.store.UpstreamOAuth().AddSession(b.ctx, b.clock, p, "state-1", "nonce-1")
		require.NoError(t, err)
		requireNewID(t, b.clock, s.ID)
		require.Equal(t, &storage.UpstreamOAuthSession{ID: s.ID, ProviderID: p.ID, State: "state-1", Nonce: "nonce-1", CreatedAt: storage.Now(b.clock)}, s)
		got, err := b.store.UpstreamOAuth().LookupSession(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, s, got)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		clock := oddClock()
		p := mustProvider(t, b.store, clock, storage.LogoutAll)
		s := mustCompletedUpstreamSession(t, b.store, clock, p, mustLink(t, b.store, clock, p, nil), storage.IDTokenClaims{Sub: "s"})
		_, err := b.store.UpstreamOAuth().ConsumeSession(b.ctx, clock, s)
		require.NoError(t, err)

		want := storage.Timestamp(oddInstant)
		got, err := b.store.UpstreamOAuth().LookupSession(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, want, got.CreatedAt)
		require.Equal(t, &want, got.CompletedAt)
		require.Equal(t, &want, got.ConsumedAt)
	})

	t.Run("AddUsedStateIsConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		s := mustUpstreamSession(t, b.store, b.clock, p)

		_, err := b.store.UpstreamOAuth().AddSession(b.ctx, b.clock, mustProvider(t, b.store, b.clock, storage.LogoutAll), s.State, "other-nonce")
		require.ErrorIs(t, err, storage.ErrConflict)
	})

	t.Run("AddEmptyStateIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.UpstreamOAuth().AddSession(b.ctx, b.clock, mustProvider(t, b.store, b.clock, storage.LogoutAll), "", "nonce")
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("AddUnknownProviderIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.UpstreamOAuth().AddSession(b.ctx, b.clock, &storage.UpstreamOAuthProvider{ID: unknownID(b.clock)}, "state", "nonce")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustUpstreamSession(t, b.store, b.clock, mustProvider(t, b.store, b.clock, storage.LogoutAll))

		_, err := b.store.UpstreamOAuth().LookupSession(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("CompleteRecordsLinkAndClaims", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		l := mustLink(t, b.store, b.clock, p, nil)
		s := mustUpstreamSession(t, b.store, b.clock, p)
		b.clock.Advance(time.Second)

		completed, err := b.store.UpstreamOAuth().CompleteSession(b.ctx, b.clock, s, l, storage.IDTokenClaims{Sub: "sub-1", Sid: "sid-1"})
		require.NoError(t, err)
		want := *s
		want.LinkID, want.Claims, want.CompletedAt = l.ID, &storage.IDTokenClaims{Sub: "sub-1", Sid: "sid-1"}, at(b.clock)
		require.Equal(t, &want, completed)
		got, err := b.store.UpstreamOAuth().LookupSession(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, &want, got)
	})

	t.Run("CompleteTwiceIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		l := mustLink(t, b.store, b.clock, p, nil)
		s := mustUpstreamSession(t, b.store, b.clock, p)
		completed, err := b.store.UpstreamOAuth().CompleteSession(b.ctx, b.clock, s, l, storage.IDTokenClaims{Sub: "a"})
		require.NoError(t, err)
		b.clock.Advance(time.Second)

		_, err = b.store.UpstreamOAuth().CompleteSession(b.ctx, b.clock, s, mustLink(t, b.store, b.clock, p, nil), storage.IDTokenClaims{Sub: "b"})
		require.ErrorIs(t, err, storage.ErrInvalidState)
		got, err := b.store.UpstreamOAuth().LookupSession(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, completed, got)
	})

	upstreamSessionConsume.testSets(t, f)
	upstreamSessionConsume.testTwice(t, f)

	t.Run("ConsumeBeforeCompletionIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustUpstreamSession(t, b.store, b.clock, mustProvider(t, b.store, b.clock, storage.LogoutAll))

		_, err := b.store.UpstreamOAuth().ConsumeSession(b.ctx, b.clock, s)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		got, err := b.store.UpstreamOAuth().LookupSession(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, s, got)
	})

}
