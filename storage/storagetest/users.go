package storagetest

import (
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// userLock: Lock, which sets LockedAt (and again keeps the first time).
var userLock = stampCase[storage.User]{
	op:    "Lock",
	field: "LockedAt",
	start: func(t *testing.T, b bundle) *storage.User { return mustUser(t, b.store, b.clock) },
	apply: func(b bundle, u *storage.User) (*storage.User, error) {
		return b.store.Users().Lock(b.ctx, b.clock, u)
	},
	lookup: func(b bundle, u *storage.User) (*storage.User, error) { return b.store.Users().Lookup(b.ctx, u.ID) },
	stamp:  func(u *storage.User) **time.Time { return &u.LockedAt },
	unknown: func(t *testing.T, b bundle) *storage.User {
		return &storage.User{ID: unknownID(b.clock), Username: "ghost"}
	},
}

// userDeactivate: Deactivate, which sets DeactivatedAt.
var userDeactivate = stampCase[storage.User]{
	op:    "Deactivate",
	field: "DeactivatedAt",
	start: userLock.start,
	apply: func(b bundle, u *storage.User) (*storage.User, error) {
		return b.store.Users().Deactivate(b.ctx, b.clock, u)
	},
	lookup:  userLock.lookup,
	stamp:   func(u *storage.User) **time.Time { return &u.DeactivatedAt },
	unknown: userLock.unknown,
}

func testUsers(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddReturnsStoredUser", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		u, err := b.store.Users().Add(b.ctx, b.clock, "alice")
		require.NoError(t, err)
		requireNewID(t, b.clock, u.ID)
		require.Equal(t, &storage.User{ID: u.ID, Username: "alice", CreatedAt: Epoch}, u)

		got, err := b.store.Users().Lookup(b.ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, u, got)
		got, err = b.store.Users().FindByUsername(b.ctx, "alice")
		require.NoError(t, err)
		require.Equal(t, u, got)
	})

	t.Run("NewIDEncodesCreationTime", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		first := mustUser(t, b.store, b.clock)
		b.clock.Advance(48 * time.Hour)
		second := mustUser(t, b.store, b.clock)

		requireNewID(t, b.clock, second.ID)
		require.Equal(t, Epoch.Add(48*time.Hour), second.CreatedAt)
		require.Equal(t, ulid.Timestamp(Epoch), first.ID.Time())
		require.Equal(t, Epoch, first.CreatedAt)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		clock := oddClock()

		u := mustUser(t, b.store, clock)
		u, err := b.store.Users().Lock(b.ctx, clock, u)
		require.NoError(t, err)

		want := storage.Timestamp(oddInstant)
		require.Equal(t, Epoch.Add(123456*time.Microsecond), want)
		require.Equal(t, want, u.CreatedAt)
		require.Equal(t, &want, u.LockedAt)
		got, err := b.store.Users().Lookup(b.ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, want, got.CreatedAt)
		require.Equal(t, &want, got.LockedAt)
		require.Equal(t, time.UTC, got.CreatedAt.Location())
	})

	t.Run("AddEmptyUsernameIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.Users().Add(b.ctx, b.clock, "")
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("AddTakenUsernameIsConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)

		_, err := b.store.Users().Add(b.ctx, b.clock, u.Username)
		require.ErrorIs(t, err, storage.ErrConflict)
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustUser(t, b.store, b.clock)

		_, err := b.store.Users().Lookup(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("FindByUsernameIsExact", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		_, err := b.store.Users().Add(b.ctx, b.clock, "bob")
		require.NoError(t, err)

		for _, name := range []string{"Bob", "bo", "bob ", "nobody"} {
			_, err := b.store.Users().FindByUsername(b.ctx, name)
			require.ErrorIs(t, err, storage.ErrNotFound, name)
		}
	})

	userLock.testSets(t, f)

	t.Run("LockTwiceKeepsFirstTime", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		first, err := b.store.Users().Lock(b.ctx, b.clock, u)
		require.NoError(t, err)
		b.clock.Advance(time.Hour)

		second, err := b.store.Users().Lock(b.ctx, b.clock, u)
		require.NoError(t, err)
		require.Equal(t, first, second)
		got, err := b.store.Users().Lookup(b.ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, &Epoch, got.LockedAt)
	})

	t.Run("LockDeactivatedIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		_, err := b.store.Users().Deactivate(b.ctx, b.clock, u)
		require.NoError(t, err)

		_, err = b.store.Users().Lock(b.ctx, b.clock, u)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		got, err := b.store.Users().Lookup(b.ctx, u.ID)
		require.NoError(t, err)
		require.Nil(t, got.LockedAt)
	})

	userLock.testUnknown(t, f)

	t.Run("DeactivateFinishesAllSessions", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		client := mustClient(t, b.store, b.clock)
		u := mustUser(t, b.store, b.clock)
		browser := mustUserSession(t, b.store, b.clock, u)
		compat := mustCompatSession(t, b.store, b.clock, u, browser)
		loose := mustCompatSession(t, b.store, b.clock, u, nil)
		oauth := mustOAuth2Session(t, b.store, b.clock, client, u, browser)
		done := mustFinishUserSession(t, b.store, b.clock, mustUserSession(t, b.store, b.clock, u))
		other := mustUser(t, b.store, b.clock)
		otherBrowser := mustUserSession(t, b.store, b.clock, other)
		otherCompat := mustCompatSession(t, b.store, b.clock, other, otherBrowser)
		otherOAuth := mustOAuth2Session(t, b.store, b.clock, client, other, otherBrowser)
		b.clock.Advance(time.Hour)

		deactivated, err := b.store.Users().Deactivate(b.ctx, b.clock, u)
		require.NoError(t, err)
		require.Equal(t, &storage.User{ID: u.ID, Username: u.Username, CreatedAt: Epoch, DeactivatedAt: at(b.clock)}, deactivated)
		got, err := b.store.Users().Lookup(b.ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, deactivated, got)

		now := at(b.clock)
		us, err := b.store.UserSessions().Lookup(b.ctx, browser.ID)
		require.NoError(t, err)
		require.Equal(t, now, us.FinishedAt)
		us, err = b.store.UserSessions().Lookup(b.ctx, done.ID)
		require.NoError(t, err)
		require.Equal(t, &Epoch, us.FinishedAt, "an already finished session keeps its time")
		for _, id := range []*storage.CompatSession{compat, loose} {
			cs, err := b.store.CompatSessions().Lookup(b.ctx, id.ID)
			require.NoError(t, err)
			require.Equal(t, now, cs.FinishedAt)
		}
		os, err := b.store.OAuth2Sessions().Lookup(b.ctx, oauth.ID)
		require.NoError(t, err)
		require.Equal(t, now, os.FinishedAt)

		us, err = b.store.UserSessions().Lookup(b.ctx, otherBrowser.ID)
		require.NoError(t, err)
		require.Nil(t, us.FinishedAt)
		cs, err := b.store.CompatSessions().Lookup(b.ctx, otherCompat.ID)
		require.NoError(t, err)
		require.Nil(t, cs.FinishedAt)
		os, err = b.store.OAuth2Sessions().Lookup(b.ctx, otherOAuth.ID)
		require.NoError(t, err)
		require.Nil(t, os.FinishedAt)
	})

	userDeactivate.testTwice(t, f)
	userDeactivate.testUnknown(t, f)

	t.Run("AddEmailReturnsEmail", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)

		e, err := b.store.Users().AddEmail(b.ctx, b.clock, u, "alice@example.org")
		require.NoError(t, err)
		requireNewID(t, b.clock, e.ID)
		require.Equal(t, &storage.UserEmail{ID: e.ID, UserID: u.ID, Email: "alice@example.org", CreatedAt: Epoch}, e)
	})

	t.Run("AddEmailUnknownUserIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.Users().AddEmail(b.ctx, b.clock, &storage.User{ID: unknownID(b.clock)}, "ghost@example.org")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("AddPasswordReturnsPassword", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)

		p, err := b.store.Users().AddPassword(b.ctx, b.clock, u, "$argon2id$v=19$abc", 2)
		require.NoError(t, err)
		requireNewID(t, b.clock, p.ID)
		require.Equal(t, &storage.UserPassword{ID: p.ID, UserID: u.ID, HashedPassword: "$argon2id$v=19$abc", Version: 2, CreatedAt: Epoch}, p)
	})

	t.Run("AddPasswordUnknownUserIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.Users().AddPassword(b.ctx, b.clock, &storage.User{ID: unknownID(b.clock)}, "$argon2id$x", 1)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("ConcurrentAddOfOneUsernameHasOneWinner", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		errs := concurrently(16, func(int) error {
			_, err := b.store.Users().Add(b.ctx, b.clock, "carol")
			return err
		})
		requireOneWinner(t, errs, storage.ErrConflict)
		_, err := b.store.Users().FindByUsername(b.ctx, "carol")
		require.NoError(t, err)
	})
}
