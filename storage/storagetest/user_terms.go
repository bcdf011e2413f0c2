package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

const (
	termsV1 = "https://example.org/terms/v1"
	termsV2 = "https://example.org/terms/v2"
)

func testUserTerms(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AcceptReturnsStoredAcceptance", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		b.clock.Advance(time.Second)

		terms, err := b.store.Users().AcceptTerms(b.ctx, b.clock, u, termsV1)
		require.NoError(t, err)
		requireNewID(t, b.clock, terms.ID)
		require.Equal(t, &storage.UserTerms{ID: terms.ID, UserID: u.ID, TermsURL: termsV1, CreatedAt: storage.Now(b.clock)}, terms)
		requireTerms(t, b, u, terms)
	})

	t.Run("AcceptAgainReturnsFirstAcceptance", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		first, err := b.store.Users().AcceptTerms(b.ctx, b.clock, u, termsV1)
		require.NoError(t, err)
		b.clock.Advance(time.Hour)

		again, err := b.store.Users().AcceptTerms(b.ctx, b.clock, u, termsV1)
		require.NoError(t, err)
		require.Equal(t, first, again)
		requireTerms(t, b, u, first)
	})

	t.Run("ListIsInOrderAcceptedPerUser", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		other := mustUser(t, b.store, b.clock)
		accept := func(user *storage.User, url string) *storage.UserTerms {
			terms, err := b.store.Users().AcceptTerms(b.ctx, b.clock, user, url)
			require.NoError(t, err)
			return terms
		}

		// Accepted against alphabetical order, so that order cannot pass
		// for acceptance order.
		v2 := accept(u, termsV2)
		b.clock.Advance(time.Minute)
		othersV2 := accept(other, termsV2)
		v1 := accept(u, termsV1)
		require.NotEqual(t, v2.ID, othersV2.ID)

		requireTerms(t, b, u, v2, v1)
		requireTerms(t, b, other, othersV2)
		requireTerms(t, b, mustUser(t, b.store, b.clock))
	})

	t.Run("AcceptInvalidInputIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)

		_, err := b.store.Users().AcceptTerms(b.ctx, b.clock, u, "")
		require.ErrorIs(t, err, storage.ErrInvalidArgument, "empty URL")
		_, err = b.store.Users().AcceptTerms(b.ctx, b.clock, nil, termsV1)
		require.ErrorIs(t, err, storage.ErrInvalidArgument, "nil user")
		_, err = b.store.Users().AcceptTerms(b.ctx, b.clock, &storage.User{ID: unknownID(b.clock)}, termsV1)
		require.ErrorIs(t, err, storage.ErrNotFound, "unknown user")
		requireTerms(t, b, u)
	})

	t.Run("ConcurrentAcceptKeepsOneAcceptance", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		const n = 8
		got := make([]*storage.UserTerms, n)

		errs := concurrently(n, func(i int) error {
			var err error
			got[i], err = b.store.Users().AcceptTerms(b.ctx, b.clock, u, termsV1)
			return err
		})
		for _, err := range errs {
			require.NoError(t, err)
		}
		terms, err := b.store.Users().ListTerms(b.ctx, u.ID)
		require.NoError(t, err)
		require.Len(t, terms, 1)
		for i := range got {
			require.Equal(t, terms[0], got[i], "call %d", i)
		}
	})
}

// requireTerms checks that user accepted exactly want, in that order.
func requireTerms(t *testing.T, b bundle, user *storage.User, want ...*storage.UserTerms) {
	t.Helper()
	got, err := b.store.Users().ListTerms(b.ctx, user.ID)
	require.NoError(t, err)
	if len(want) == 0 {
		require.Empty(t, got)
		return
	}
	require.Equal(t, want, got)
}

func testUnsupportedThirdPartyIDs(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddReturnsStoredID", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		b.clock.Advance(time.Second)

		id, err := b.store.Users().AddUnsupportedThirdPartyID(b.ctx, b.clock, u, "msisdn", "447700900123")
		require.NoError(t, err)
		require.Equal(t, &storage.UnsupportedThirdPartyID{UserID: u.ID, Medium: "msisdn", Address: "447700900123", CreatedAt: storage.Now(b.clock)}, id)
		requireThirdPartyIDs(t, b, u, id)
	})

	t.Run("ListIsByMediumThenAddressPerUser", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		other := mustUser(t, b.store, b.clock)
		add := func(user *storage.User, medium, address string) *storage.UnsupportedThirdPartyID {
			id, err := b.store.Users().AddUnsupportedThirdPartyID(b.ctx, b.clock, user, medium, address)
			require.NoError(t, err)
			b.clock.Advance(time.Second)
			return id
		}

		m2 := add(u, "msisdn", "447700900222")
		e2 := add(u, "email", "bob@example.org")
		m1 := add(u, "msisdn", "447700900111")
		e1 := add(u, "email", "alice@example.org")
		// The same address may belong to another user too.
		o1 := add(other, "msisdn", "447700900111")

		requireThirdPartyIDs(t, b, u, e1, e2, m1, m2)
		requireThirdPartyIDs(t, b, other, o1)
		requireThirdPartyIDs(t, b, mustUser(t, b.store, b.clock))
	})

	t.Run("AddTakenIsConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		id, err := b.store.Users().AddUnsupportedThirdPartyID(b.ctx, b.clock, u, "msisdn", "447700900123")
		require.NoError(t, err)
		b.clock.Advance(time.Hour)

		_, err = b.store.Users().AddUnsupportedThirdPartyID(b.ctx, b.clock, u, "msisdn", "447700900123")
		require.ErrorIs(t, err, storage.ErrConflict)
		requireThirdPartyIDs(t, b, u, id)
	})

	t.Run("AddInvalidInputIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)

		_, err := b.store.Users().AddUnsupportedThirdPartyID(b.ctx, b.clock, u, "", "447700900123")
		require.ErrorIs(t, err, storage.ErrInvalidArgument, "empty medium")
		_, err = b.store.Users().AddUnsupportedThirdPartyID(b.ctx, b.clock, u, "msisdn", "")
		require.ErrorIs(t, err, storage.ErrInvalidArgument, "empty address")
		_, err = b.store.Users().AddUnsupportedThirdPartyID(b.ctx, b.clock, nil, "msisdn", "447700900123")
		require.ErrorIs(t, err, storage.ErrInvalidArgument, "nil user")
		_, err = b.store.Users().AddUnsupportedThirdPartyID(b.ctx, b.clock, &storage.User{ID: unknownID(b.clock)}, "msisdn", "447700900123")
		require.ErrorIs(t, err, storage.ErrNotFound, "unknown user")
		requireThirdPartyIDs(t, b, u)
	})

	t.Run("DeleteRemovesOnlyThatID", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		other := mustUser(t, b.store, b.clock)
		add := func(user *storage.User, medium, address string) *storage.UnsupportedThirdPartyID {
			id, err := b.store.Users().AddUnsupportedThirdPartyID(b.ctx, b.clock, user, medium, address)
			require.NoError(t, err)
			return id
		}
		add(u, "msisdn", "447700900111")
		kept := add(u, "msisdn", "447700900222")
		othersID := add(other, "msisdn", "447700900111")

		require.NoError(t, b.store.Users().DeleteUnsupportedThirdPartyID(b.ctx, u.ID, "msisdn", "447700900111"))
		requireThirdPartyIDs(t, b, u, kept)
		requireThirdPartyIDs(t, b, other, othersID)

		// Gone now; and one may add it again.
		err := b.store.Users().DeleteUnsupportedThirdPartyID(b.ctx, u.ID, "msisdn", "447700900111")
		require.ErrorIs(t, err, storage.ErrNotFound)
		b.clock.Advance(time.Hour)
		again := add(u, "msisdn", "447700900111")
		require.Equal(t, storage.Now(b.clock), again.CreatedAt)
		requireThirdPartyIDs(t, b, u, again, kept)
	})

	t.Run("DeleteUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		id, err := b.store.Users().AddUnsupportedThirdPartyID(b.ctx, b.clock, u, "msisdn", "447700900123")
		require.NoError(t, err)

		for name, del := range map[string][2]string{
			"other medium":  {"email", "447700900123"},
			"other address": {"msisdn", "447700900124"},
		} {
			err := b.store.Users().DeleteUnsupportedThirdPartyID(b.ctx, u.ID, del[0], del[1])
			require.ErrorIs(t, err, storage.ErrNotFound, name)
		}
		err = b.store.Users().DeleteUnsupportedThirdPartyID(b.ctx, unknownID(b.clock), "msisdn", "447700900123")
		require.ErrorIs(t, err, storage.ErrNotFound, "other user")
		requireThirdPartyIDs(t, b, u, id)
	})
}

// requireThirdPartyIDs checks that user has exactly want, in that order.
func requireThirdPartyIDs(t *testing.T, b bundle, user *storage.User, want ...*storage.UnsupportedThirdPartyID) {
	t.Helper()
	got, err := b.store.Users().ListUnsupportedThirdPartyIDs(b.ctx, user.ID)
	require.NoError(t, err)
	if len(want) == 0 {
		require.Empty(t, got)
		return
	}
	require.Equal(t, want, got)
}
