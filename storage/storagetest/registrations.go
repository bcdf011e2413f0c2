package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

func testRegistrations(t *testing.T, f Factory) {
	t.Parallel()
	t.Run("Registrations", func(t *testing.T) { testRegistrationFlow(t, f) })
	t.Run("EmailAuthentications", func(t *testing.T) { testEmailAuthentications(t, f) })
}

// registrationComplete: Complete, which sets CompletedAt.
var registrationComplete = stampCase[storage.Registration]{
	op:    "Complete",
	field: "CompletedAt",
	start: func(t *testing.T, b bundle) *storage.Registration { return mustRegistration(t, b.store, b.clock) },
	apply: func(b bundle, r *storage.Registration) (*storage.Registration, error) {
		return b.store.Registrations().Complete(b.ctx, b.clock, r)
	},
	lookup: func(b bundle, r *storage.Registration) (*storage.Registration, error) {
		return b.store.Registrations().Lookup(b.ctx, r.ID)
	},
	stamp: func(r *storage.Registration) **time.Time { return &r.CompletedAt },
	unknown: func(t *testing.T, b bundle) *storage.Registration {
		return &storage.Registration{ID: unknownID(b.clock), Username: "ghost"}
	},
}

func testRegistrationFlow(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddReturnsStoredRegistration", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		r, err := b.store.Registrations().Add(b.ctx, b.clock, "newbie", ipB, "Firefox")
		require.NoError(t, err)
		requireNewID(t, b.clock, r.ID)
		require.Equal(t, &storage.Registration{ID: r.ID, Username: "newbie", IPAddress: ipB, UserAgent: "Firefox", CreatedAt: Epoch}, r)
		got, err := b.store.Registrations().Lookup(b.ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, r, got)
	})

	t.Run("AddEmptyUsernameIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.Registrations().Add(b.ctx, b.clock, "", ipA, "Firefox")
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		clock := oddClock()
		r := mustRegistration(t, b.store, clock)
		_, err := b.store.Registrations().Complete(b.ctx, clock, r)
		require.NoError(t, err)

		want := storage.Timestamp(oddInstant)
		got, err := b.store.Registrations().Lookup(b.ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, want, got.CreatedAt)
		require.Equal(t, &want, got.CompletedAt)
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustRegistration(t, b.store, b.clock)

		_, err := b.store.Registrations().Lookup(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("SetEmailAuthenticationRecordsIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		r := mustRegistration(t, b.store, b.clock)
		auth := mustEmailAuthentication(t, b.store, b.clock, nil, r)

		set, err := b.store.Registrations().SetEmailAuthentication(b.ctx, r, auth)
		require.NoError(t, err)
		want := *r
		want.EmailAuthenticationID = auth.ID
		require.Equal(t, &want, set)
		got, err := b.store.Registrations().Lookup(b.ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, &want, got)
	})

	t.Run("SetUpstreamSessionRecordsIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		r := mustRegistration(t, b.store, b.clock)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		upstream := mustCompletedUpstreamSession(t, b.store, b.clock, p, mustLink(t, b.store, b.clock, p, nil), storage.IDTokenClaims{Sub: "s"})

		set, err := b.store.Registrations().SetUpstreamSession(b.ctx, r, upstream)
		require.NoError(t, err)
		want := *r
		want.UpstreamSessionID = upstream.ID
		require.Equal(t, &want, set)
		got, err := b.store.Registrations().Lookup(b.ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, &want, got)
	})

	t.Run("SetUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		r := mustRegistration(t, b.store, b.clock)
		ghost := &storage.Registration{ID: unknownID(b.clock), Username: "ghost"}
		auth := mustEmailAuthentication(t, b.store, b.clock, nil, r)
		upstream := mustUpstreamSession(t, b.store, b.clock, mustProvider(t, b.store, b.clock, storage.LogoutAll))

		_, err := b.store.Registrations().SetEmailAuthentication(b.ctx, ghost, auth)
		require.ErrorIs(t, err, storage.ErrNotFound)
		_, err = b.store.Registrations().SetEmailAuthentication(b.ctx, r, &storage.EmailAuthentication{ID: unknownID(b.clock)})
		require.ErrorIs(t, err, storage.ErrNotFound)
		_, err = b.store.Registrations().SetUpstreamSession(b.ctx, ghost, upstream)
		require.ErrorIs(t, err, storage.ErrNotFound)
		_, err = b.store.Registrations().SetUpstreamSession(b.ctx, r, &storage.UpstreamOAuthSession{ID: unknownID(b.clock)})
		require.ErrorIs(t, err, storage.ErrNotFound)
		got, err := b.store.Registrations().Lookup(b.ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, r, got)
	})

	registrationComplete.run(t, f)
}

func testEmailAuthentications(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddForBrowserSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		browser := mustUserSession(t, b.store, b.clock, mustUser(t, b.store, b.clock))
		b.clock.Advance(time.Second)

		a, err := b.store.Registrations().AddEmailAuthentication(b.ctx, b.clock, "alice@example.org", browser, nil)
		require.NoError(t, err)
		requireNewID(t, b.clock, a.ID)
		require.Equal(t, &storage.EmailAuthentication{ID: a.ID, Email: "alice@example.org", UserSessionID: browser.ID, CreatedAt: storage.Now(b.clock)}, a)
		got, err := b.store.Registrations().LookupEmailAuthentication(b.ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, a, got)
	})

	t.Run("AddForRegistration", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		r := mustRegistration(t, b.store, b.clock)

		a, err := b.store.Registrations().AddEmailAuthentication(b.ctx, b.clock, "newbie@example.org", nil, r)
		require.NoError(t, err)
		requireNewID(t, b.clock, a.ID)
		require.Equal(t, &storage.EmailAuthentication{ID: a.ID, Email: "newbie@example.org", RegistrationID: r.ID, CreatedAt: Epoch}, a)
		got, err := b.store.Registrations().LookupEmailAuthentication(b.ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, a, got)
	})

	t.Run("AddForBothOrNeitherIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		browser := mustUserSession(t, b.store, b.clock, mustUser(t, b.store, b.clock))
		r := mustRegistration(t, b.store, b.clock)

		_, err := b.store.Registrations().AddEmailAuthentication(b.ctx, b.clock, "a@example.org", browser, r)
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
		_, err = b.store.Registrations().AddEmailAuthentication(b.ctx, b.clock, "a@example.org", nil, nil)
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("AddForUnknownOwnerIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)

		_, err := b.store.Registrations().AddEmailAuthentication(b.ctx, b.clock, "a@example.org", &storage.UserSession{ID: unknownID(b.clock), UserID: u.ID}, nil)
		require.ErrorIs(t, err, storage.ErrNotFound)
		_, err = b.store.Registrations().AddEmailAuthentication(b.ctx, b.clock, "a@example.org", nil, &storage.Registration{ID: unknownID(b.clock)})
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustEmailAuthentication(t, b.store, b.clock, nil, mustRegistration(t, b.store, b.clock))

		_, err := b.store.Registrations().LookupEmailAuthentication(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("AddCodeReturnsCode", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		a := mustEmailAuthentication(t, b.store, b.clock, nil, mustRegistration(t, b.store, b.clock))
		b.clock.Advance(time.Second)

		c, err := b.store.Registrations().AddEmailAuthenticationCode(b.ctx, b.clock, a, "123456", 15*time.Minute)
		require.NoError(t, err)
		requireNewID(t, b.clock, c.ID)
		now := storage.Now(b.clock)
		require.Equal(t, &storage.EmailAuthenticationCode{
			ID: c.ID, AuthenticationID: a.ID, Code: "123456", CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute),
		}, c)
	})

	t.Run("AddUsedCodeIsConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		r := mustRegistration(t, b.store, b.clock)
		a := mustEmailAuthentication(t, b.store, b.clock, nil, r)
		other := mustEmailAuthentication(t, b.store, b.clock, nil, r)
		c := mustEmailCode(t, b.store, b.clock, a)

		_, err := b.store.Registrations().AddEmailAuthenticationCode(b.ctx, b.clock, a, c.Code, time.Hour)
		require.ErrorIs(t, err, storage.ErrConflict)
		_, err = b.store.Registrations().AddEmailAuthenticationCode(b.ctx, b.clock, other, c.Code, time.Hour)
		require.NoError(t, err, "the same code for another authentication")
	})

	t.Run("AddEmptyCodeIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		a := mustEmailAuthentication(t, b.store, b.clock, nil, mustRegistration(t, b.store, b.clock))

		_, err := b.store.Registrations().AddEmailAuthenticationCode(b.ctx, b.clock, a, "", time.Hour)
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("AddCodeUnknownAuthenticationIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.Registrations().AddEmailAuthenticationCode(b.ctx, b.clock, &storage.EmailAuthentication{ID: unknownID(b.clock)}, "123456", time.Hour)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("CompleteWithCodeSetsCompletedAt", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		a := mustEmailAuthentication(t, b.store, b.clock, nil, mustRegistration(t, b.store, b.clock))
		mustEmailCode(t, b.store, b.clock, a)
		c := mustEmailCode(t, b.store, b.clock, a)
		b.clock.Advance(time.Minute)

		completed, err := b.store.Registrations().CompleteEmailAuthentication(b.ctx, b.clock, a, c.Code)
		require.NoError(t, err)
		want := *a
		want.CompletedAt = at(b.clock)
		require.Equal(t, &want, completed)
		got, err := b.store.Registrations().LookupEmailAuthentication(b.ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, &want, got)
	})

	t.Run("CompleteWithOtherCodeIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		r := mustRegistration(t, b.store, b.clock)
		a := mustEmailAuthentication(t, b.store, b.clock, nil, r)
		mustEmailCode(t, b.store, b.clock, a)
		foreign := mustEmailCode(t, b.store, b.clock, mustEmailAuthentication(t, b.store, b.clock, nil, r))

		_, err := b.store.Registrations().CompleteEmailAuthentication(b.ctx, b.clock, a, "000000")
		require.ErrorIs(t, err, storage.ErrNotFound)
		_, err = b.store.Registrations().CompleteEmailAuthentication(b.ctx, b.clock, a, foreign.Code)
		require.ErrorIs(t, err, storage.ErrNotFound, "a code of another authentication")
		got, err := b.store.Registrations().LookupEmailAuthentication(b.ctx, a.ID)
		require.NoError(t, err)
		require.Nil(t, got.CompletedAt)
	})

	t.Run("CompleteWithExpiredCodeIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		a := mustEmailAuthentication(t, b.store, b.clock, nil, mustRegistration(t, b.store, b.clock))
		c := mustEmailCode(t, b.store, b.clock, a)
		b.clock.Advance(2 * time.Hour)

		_, err := b.store.Registrations().CompleteEmailAuthentication(b.ctx, b.clock, a, c.Code)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		got, err := b.store.Registrations().LookupEmailAuthentication(b.ctx, a.ID)
		require.NoError(t, err)
		require.Nil(t, got.CompletedAt)
	})

	t.Run("CompleteTwiceIsAlreadyFinished", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		a := mustEmailAuthentication(t, b.store, b.clock, nil, mustRegistration(t, b.store, b.clock))
		c := mustEmailCode(t, b.store, b.clock, a)
		_, err := b.store.Registrations().CompleteEmailAuthentication(b.ctx, b.clock, a, c.Code)
		require.NoError(t, err)
		b.clock.Advance(time.Minute)

		_, err = b.store.Registrations().CompleteEmailAuthentication(b.ctx, b.clock, a, c.Code)
		require.ErrorIs(t, err, storage.ErrAlreadyFinished)
		got, err := b.store.Registrations().LookupEmailAuthentication(b.ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, &Epoch, got.CompletedAt)
	})
}
