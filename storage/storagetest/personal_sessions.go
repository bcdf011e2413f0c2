package storagetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// personalSessionRevoke: Revoke, which sets RevokedAt.
var personalSessionRevoke = stampCase[storage.PersonalSession]{
	op:    "Revoke",
	field: "RevokedAt",
	start: func(t *testing.T, b bundle) *storage.PersonalSession {
		return mustUserPersonalSession(t, b.store, b.clock)
	},
	apply: func(b bundle, s *storage.PersonalSession) (*storage.PersonalSession, error) {
		return b.store.PersonalSessions().Revoke(b.ctx, b.clock, s)
	},
	lookup: func(b bundle, s *storage.PersonalSession) (*storage.PersonalSession, error) {
		return b.store.PersonalSessions().Lookup(b.ctx, s.ID)
	},
	stamp: func(s *storage.PersonalSession) **time.Time { return &s.RevokedAt },
	unknown: func(t *testing.T, b bundle) *storage.PersonalSession {
		u := mustUser(t, b.store, b.clock)
		return &storage.PersonalSession{ID: unknownID(b.clock), OwnerUserID: u.ID, ActorUserID: u.ID}
	},
}

// personalTokenRevoke: RevokeAccessToken, which sets RevokedAt.
var personalTokenRevoke = stampCase[storage.PersonalAccessToken]{
	op:    "RevokeAccessToken",
	field: "RevokedAt",
	start: func(t *testing.T, b bundle) *storage.PersonalAccessToken {
		_, tok := mustPersonalToken(t, b.store, b.clock, mustUserPersonalSession(t, b.store, b.clock), 0)
		return tok
	},
	apply: func(b bundle, tok *storage.PersonalAccessToken) (*storage.PersonalAccessToken, error) {
		return b.store.PersonalSessions().RevokeAccessToken(b.ctx, b.clock, tok)
	},
	lookup: func(b bundle, tok *storage.PersonalAccessToken) (*storage.PersonalAccessToken, error) {
		return b.store.PersonalSessions().LookupAccessToken(b.ctx, tok.ID)
	},
	stamp: func(tok *storage.PersonalAccessToken) **time.Time { return &tok.RevokedAt },
	unknown: func(t *testing.T, b bundle) *storage.PersonalAccessToken {
		return &storage.PersonalAccessToken{ID: unknownID(b.clock), SessionID: mustUserPersonalSession(t, b.store, b.clock).ID}
	},
}

func testPersonalSessions(t *testing.T, f Factory) {
	t.Parallel()
	t.Run("Sessions", func(t *testing.T) { testPersonalSessionRows(t, f) })
	t.Run("AccessTokens", func(t *testing.T) { testPersonalAccessTokens(t, f) })
}

func testPersonalSessionRows(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddOwnedByUserReturnsStoredSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		owner := mustUser(t, b.store, b.clock)
		actor := mustUser(t, b.store, b.clock)
		b.clock.Advance(time.Second)

		s, err := b.store.PersonalSessions().Add(b.ctx, b.clock, storage.PersonalSessionOwner{User: owner}, actor, "CI bot", []string{"openid", "urn:matrix:client:api:*"})
		require.NoError(t, err)
		requireNewID(t, b.clock, s.ID)
		require.Equal(t, &storage.PersonalSession{
			ID: s.ID, OwnerUserID: owner.ID, ActorUserID: actor.ID, HumanName: "CI bot",
			Scope: []string{"openid", "urn:matrix:client:api:*"}, CreatedAt: storage.Now(b.clock),
		}, s)
		require.False(t, s.LastActiveIP.IsValid())
		got, err := b.store.PersonalSessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, s, got)
	})

	t.Run("AddOwnedByClientReturnsStoredSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		client := mustClient(t, b.store, b.clock)
		actor := mustUser(t, b.store, b.clock)

		s, err := b.store.PersonalSessions().Add(b.ctx, b.clock, storage.PersonalSessionOwner{Client: client}, actor, "admin script", nil)
		require.NoError(t, err)
		requireNewID(t, b.clock, s.ID)
		require.Equal(t, &storage.PersonalSession{
			ID: s.ID, OwnerClientID: client.ID, ActorUserID: actor.ID, HumanName: "admin script",
			Scope: []string{}, CreatedAt: Epoch,
		}, s)
		got, err := b.store.PersonalSessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, s, got)
	})

	t.Run("AddWithoutExactlyOneOwnerIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		client := mustClient(t, b.store, b.clock)

		for name, owner := range map[string]storage.PersonalSessionOwner{
			"none": {},
			"both": {User: u, Client: client},
		} {
			_, err := b.store.PersonalSessions().Add(b.ctx, b.clock, owner, u, "bot", nil)
			require.ErrorIs(t, err, storage.ErrInvalidArgument, name)
		}
		requireNoPersonalSessions(t, b, storage.PersonalSessionOwner{User: u})
		requireNoPersonalSessions(t, b, storage.PersonalSessionOwner{Client: client})
	})

	t.Run("AddWithoutActorOrNameIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		owner := storage.PersonalSessionOwner{User: u}

		_, err := b.store.PersonalSessions().Add(b.ctx, b.clock, owner, nil, "bot", nil)
		require.ErrorIs(t, err, storage.ErrInvalidArgument, "nil actor")
		_, err = b.store.PersonalSessions().Add(b.ctx, b.clock, owner, u, "", nil)
		require.ErrorIs(t, err, storage.ErrInvalidArgument, "empty human name")
		requireNoPersonalSessions(t, b, owner)
	})

	t.Run("AddUnknownOwnerOrActorIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		ghost := &storage.User{ID: unknownID(b.clock), Username: "ghost"}
		ghostClient := &storage.OAuth2Client{ID: unknownID(b.clock)}

		_, err := b.store.PersonalSessions().Add(b.ctx, b.clock, storage.PersonalSessionOwner{User: ghost}, u, "bot", nil)
		require.ErrorIs(t, err, storage.ErrNotFound, "unknown owning user")
		_, err = b.store.PersonalSessions().Add(b.ctx, b.clock, storage.PersonalSessionOwner{Client: ghostClient}, u, "bot", nil)
		require.ErrorIs(t, err, storage.ErrNotFound, "unknown owning client")
		_, err = b.store.PersonalSessions().Add(b.ctx, b.clock, storage.PersonalSessionOwner{User: u}, ghost, "bot", nil)
		require.ErrorIs(t, err, storage.ErrNotFound, "unknown actor")
		requireNoPersonalSessions(t, b, storage.PersonalSessionOwner{User: u})
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		clock := oddClock()
		u := mustUser(t, b.store, clock)
		s := mustPersonalSession(t, b.store, clock, storage.PersonalSessionOwner{User: u}, u)
		require.NoError(t, b.store.PersonalSessions().RecordActivity(b.ctx, clock, s.ID, ipB))
		_, tok := mustPersonalToken(t, b.store, clock, s, time.Hour)
		_, err := b.store.PersonalSessions().Revoke(b.ctx, clock, s)
		require.NoError(t, err)

		want := storage.Timestamp(oddInstant)
		got, err := b.store.PersonalSessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, &storage.PersonalSession{
			ID: s.ID, OwnerUserID: u.ID, ActorUserID: u.ID, HumanName: s.HumanName, Scope: s.Scope,
			CreatedAt: want, RevokedAt: &want, LastActiveAt: &want, LastActiveIP: ipB,
		}, got)
		require.Equal(t, time.UTC, got.CreatedAt.Location())
		gotTok, err := b.store.PersonalSessions().LookupAccessToken(b.ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, want, gotTok.CreatedAt)
		require.Equal(t, ptr(want.Add(time.Hour)), gotTok.ExpiresAt)
		require.Equal(t, &want, gotTok.RevokedAt)
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustUserPersonalSession(t, b.store, b.clock)

		_, err := b.store.PersonalSessions().Lookup(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("ListByOwnerIsOldestFirstWithRevoked", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		other := mustUser(t, b.store, b.clock)
		client := mustClient(t, b.store, b.clock)
		byUser := storage.PersonalSessionOwner{User: u}
		// Made newest first, so that the order cannot be insertion order.
		b.clock.Set(Epoch.Add(2 * time.Hour))
		newest := mustPersonalSession(t, b.store, b.clock, byUser, u)
		b.clock.Set(Epoch.Add(time.Hour))
		middle := mustPersonalSession(t, b.store, b.clock, byUser, other)
		middle, err := b.store.PersonalSessions().Revoke(b.ctx, b.clock, middle)
		require.NoError(t, err)
		b.clock.Set(Epoch)
		oldest := mustPersonalSession(t, b.store, b.clock, byUser, u)
		// Sessions u only acts in, or another owner's, are not u's.
		mustPersonalSession(t, b.store, b.clock, storage.PersonalSessionOwner{User: other}, u)
		ofClient := mustPersonalSession(t, b.store, b.clock, storage.PersonalSessionOwner{Client: client}, u)

		got, err := b.store.PersonalSessions().ListByOwner(b.ctx, byUser)
		require.NoError(t, err)
		require.Equal(t, []*storage.PersonalSession{oldest, middle, newest}, got)
		got, err = b.store.PersonalSessions().ListByOwner(b.ctx, storage.PersonalSessionOwner{Client: client})
		require.NoError(t, err)
		require.Equal(t, []*storage.PersonalSession{ofClient}, got)
		requireNoPersonalSessions(t, b, storage.PersonalSessionOwner{User: mustUser(t, b.store, b.clock)})
	})

	personalSessionRevoke.run(t, f)
	personalSessionRevoke.testConcurrent(t, f)

	t.Run("RevokeRevokesLiveTokenOnly", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustUserPersonalSession(t, b.store, b.clock)
		_, rotated := mustPersonalToken(t, b.store, b.clock, s, 0)
		b.clock.Advance(time.Minute)
		_, live := mustPersonalToken(t, b.store, b.clock, s, 0)
		rotatedAt := storage.Now(b.clock)
		otherSession := mustUserPersonalSession(t, b.store, b.clock)
		otherValue, otherTok := mustPersonalToken(t, b.store, b.clock, otherSession, 0)
		b.clock.Advance(time.Minute)

		_, err := b.store.PersonalSessions().Revoke(b.ctx, b.clock, s)
		require.NoError(t, err)
		require.Equal(t, at(b.clock), lookupPersonalToken(t, b, live.ID).RevokedAt)
		require.Equal(t, &rotatedAt, lookupPersonalToken(t, b, rotated.ID).RevokedAt, "an already revoked token keeps its time")
		require.Equal(t, otherTok, findPersonalToken(t, b, otherValue))
	})

	t.Run("RevokeRolledBackLeavesTokenLive", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustUserPersonalSession(t, b.store, b.clock)
		value, tok := mustPersonalToken(t, b.store, b.clock, s, 0)

		err := b.store.Transact(b.ctx, func(ctx context.Context, tx storage.Repository) error {
			if _, err := tx.PersonalSessions().Revoke(ctx, b.clock, s); err != nil {
				return err
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		got, err := b.store.PersonalSessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, s, got)
		require.Equal(t, tok, findPersonalToken(t, b, value))
	})

	t.Run("RecordActivitySetsTimeAndIP", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustUserPersonalSession(t, b.store, b.clock)
		require.NoError(t, b.store.PersonalSessions().RecordActivity(b.ctx, b.clock, s.ID, ipA))
		b.clock.Advance(time.Minute)
		require.NoError(t, b.store.PersonalSessions().RecordActivity(b.ctx, b.clock, s.ID, ipB))

		want := *s
		want.LastActiveAt, want.LastActiveIP = at(b.clock), ipB
		got, err := b.store.PersonalSessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, &want, got)

		// An invalid IP moves the time and keeps the recorded IP.
		b.clock.Advance(time.Minute)
		require.NoError(t, b.store.PersonalSessions().RecordActivity(b.ctx, b.clock, s.ID, netip.Addr{}))
		want.LastActiveAt = at(b.clock)
		got, err = b.store.PersonalSessions().Lookup(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, &want, got)
	})

	t.Run("RecordActivityUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		err := b.store.PersonalSessions().RecordActivity(b.ctx, b.clock, unknownID(b.clock), ipA)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})
}

func testPersonalAccessTokens(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddStoresOnlySHA256", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustUserPersonalSession(t, b.store, b.clock)
		b.clock.Advance(time.Second)

		tok, err := b.store.PersonalSessions().AddAccessToken(b.ctx, b.clock, s, "mpt_secret", time.Hour)
		require.NoError(t, err)
		requireNewID(t, b.clock, tok.ID)
		now := storage.Now(b.clock)
		require.Equal(t, &storage.PersonalAccessToken{
			ID: tok.ID, SessionID: s.ID, SHA256: sha256.Sum256([]byte("mpt_secret")),
			CreatedAt: now, ExpiresAt: ptr(now.Add(time.Hour)),
		}, tok)
		require.Equal(t, tok, lookupPersonalToken(t, b, tok.ID))
		require.Equal(t, tok, findPersonalToken(t, b, "mpt_secret"))
	})

	t.Run("AddWithoutExpiryNeverExpires", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		value, tok := mustPersonalToken(t, b.store, b.clock, mustUserPersonalSession(t, b.store, b.clock), 0)
		require.Nil(t, tok.ExpiresAt)

		b.clock.Advance(10 * 365 * 24 * time.Hour)
		require.Equal(t, tok, findPersonalToken(t, b, value))
	})

	t.Run("AddRevokesSessionsLiveToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustUserPersonalSession(t, b.store, b.clock)
		firstValue, first := mustPersonalToken(t, b.store, b.clock, s, 0)
		otherValue, other := mustPersonalToken(t, b.store, b.clock, mustUserPersonalSession(t, b.store, b.clock), 0)
		b.clock.Advance(time.Minute)

		secondValue, second := mustPersonalToken(t, b.store, b.clock, s, 0)
		require.Nil(t, second.RevokedAt)
		require.Equal(t, at(b.clock), lookupPersonalToken(t, b, first.ID).RevokedAt)
		requirePersonalTokenRefused(t, b, firstValue, "revoked")
		require.Equal(t, second, findPersonalToken(t, b, secondValue))
		require.Equal(t, other, findPersonalToken(t, b, otherValue), "another session's token stays live")
	})

	t.Run("AddAfterRevokingTheTokenLeavesOldOneAsItWas", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustUserPersonalSession(t, b.store, b.clock)
		_, first := mustPersonalToken(t, b.store, b.clock, s, 0)
		revoked, err := b.store.PersonalSessions().RevokeAccessToken(b.ctx, b.clock, first)
		require.NoError(t, err)
		b.clock.Advance(time.Minute)

		secondValue, second := mustPersonalToken(t, b.store, b.clock, s, 0)
		require.Equal(t, revoked, lookupPersonalToken(t, b, first.ID))
		require.Equal(t, second, findPersonalToken(t, b, secondValue))
	})

	t.Run("AddTakenTokenIsConflictAndKeepsLiveToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		takenValue, _ := mustPersonalToken(t, b.store, b.clock, mustUserPersonalSession(t, b.store, b.clock), 0)
		s := mustUserPersonalSession(t, b.store, b.clock)
		liveValue, live := mustPersonalToken(t, b.store, b.clock, s, 0)
		b.clock.Advance(time.Minute)

		_, err := b.store.PersonalSessions().AddAccessToken(b.ctx, b.clock, s, takenValue, 0)
		require.ErrorIs(t, err, storage.ErrConflict)
		// The failed call revoked nothing: the live token was revoked in the
		// same statement as the insert that failed.
		require.Equal(t, live, findPersonalToken(t, b, liveValue))
		// Its own live token's value is taken too.
		_, err = b.store.PersonalSessions().AddAccessToken(b.ctx, b.clock, s, liveValue, 0)
		require.ErrorIs(t, err, storage.ErrConflict)
		require.Equal(t, live, findPersonalToken(t, b, liveValue))
	})

	t.Run("AddRolledBackKeepsLiveToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustUserPersonalSession(t, b.store, b.clock)
		liveValue, live := mustPersonalToken(t, b.store, b.clock, s, 0)
		b.clock.Advance(time.Minute)

		err := b.store.Transact(b.ctx, func(ctx context.Context, tx storage.Repository) error {
			if _, err := tx.PersonalSessions().AddAccessToken(ctx, b.clock, s, "mpt_rolled_back", 0); err != nil {
				return err
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		require.Equal(t, live, findPersonalToken(t, b, liveValue))
		_, err = b.store.PersonalSessions().FindAccessToken(b.ctx, b.clock, "mpt_rolled_back")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("AddInvalidInputIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustUserPersonalSession(t, b.store, b.clock)
		revoked, err := b.store.PersonalSessions().Revoke(b.ctx, b.clock, mustUserPersonalSession(t, b.store, b.clock))
		require.NoError(t, err)

		_, err = b.store.PersonalSessions().AddAccessToken(b.ctx, b.clock, s, "", 0)
		require.ErrorIs(t, err, storage.ErrInvalidArgument, "empty token")
		_, err = b.store.PersonalSessions().AddAccessToken(b.ctx, b.clock, nil, "mpt_x", 0)
		require.ErrorIs(t, err, storage.ErrInvalidArgument, "nil session")
		_, err = b.store.PersonalSessions().AddAccessToken(b.ctx, b.clock, &storage.PersonalSession{ID: unknownID(b.clock)}, "mpt_x", 0)
		require.ErrorIs(t, err, storage.ErrNotFound, "unknown session")
		// The stale copy says live: the store must check its own state.
		_, err = b.store.PersonalSessions().AddAccessToken(b.ctx, b.clock, &storage.PersonalSession{ID: revoked.ID}, "mpt_x", 0)
		require.ErrorIs(t, err, storage.ErrInvalidState, "revoked session")
		_, err = b.store.PersonalSessions().FindAccessToken(b.ctx, b.clock, "mpt_x")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("ConcurrentAddLeavesOneLiveToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustUserPersonalSession(t, b.store, b.clock)
		mustPersonalToken(t, b.store, b.clock, s, 0)
		const n = 8
		values := make([]string, n)
		for i := range values {
			values[i] = unique("mpt")
		}
		toks := make([]*storage.PersonalAccessToken, n)

		errs := concurrently(n, func(i int) error {
			var err error
			toks[i], err = b.store.PersonalSessions().AddAccessToken(b.ctx, b.clock, s, values[i], 0)
			return err
		})
		live := 0
		for i, err := range errs {
			if err != nil {
				// A backend may refuse a racing issue rather than wait.
				require.ErrorIs(t, err, storage.ErrConflict)
				continue
			}
			if lookupPersonalToken(t, b, toks[i].ID).RevokedAt == nil {
				live++
			}
		}
		require.Equal(t, 1, live, "exactly one token of the session is live")
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustPersonalToken(t, b.store, b.clock, mustUserPersonalSession(t, b.store, b.clock), 0)

		_, err := b.store.PersonalSessions().LookupAccessToken(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("FindUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		value, _ := mustPersonalToken(t, b.store, b.clock, mustUserPersonalSession(t, b.store, b.clock), 0)

		for _, v := range []string{value + "x", value[1:], ""} {
			_, err := b.store.PersonalSessions().FindAccessToken(b.ctx, b.clock, v)
			require.ErrorIs(t, err, storage.ErrNotFound, v)
		}
	})

	t.Run("FindRevokedIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		value, tok := mustPersonalToken(t, b.store, b.clock, mustUserPersonalSession(t, b.store, b.clock), time.Hour)
		_, err := b.store.PersonalSessions().RevokeAccessToken(b.ctx, b.clock, tok)
		require.NoError(t, err)

		requirePersonalTokenRefused(t, b, value, "revoked")
	})

	t.Run("FindExpiredIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		value, tok := mustPersonalToken(t, b.store, b.clock, mustUserPersonalSession(t, b.store, b.clock), time.Hour)

		b.clock.Set(Epoch.Add(time.Hour - time.Microsecond))
		require.Equal(t, tok, findPersonalToken(t, b, value), "one microsecond before it expires")
		b.clock.Set(Epoch.Add(time.Hour))
		requirePersonalTokenRefused(t, b, value, "expired")
		b.clock.Set(Epoch.Add(time.Hour + time.Microsecond))
		requirePersonalTokenRefused(t, b, value, "expired")
		require.Equal(t, tok, lookupPersonalToken(t, b, tok.ID), "an expired token is still there")
	})

	t.Run("FindTokenOfRevokedSessionIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := mustUserPersonalSession(t, b.store, b.clock)
		value, _ := mustPersonalToken(t, b.store, b.clock, s, time.Hour)
		_, err := b.store.PersonalSessions().Revoke(b.ctx, b.clock, s)
		require.NoError(t, err)

		requirePersonalTokenRefused(t, b, value, "session revoked")
	})

	personalTokenRevoke.run(t, f)
	personalTokenRevoke.testConcurrent(t, f)
}

// requireNoPersonalSessions checks that owner has no personal session.
func requireNoPersonalSessions(t *testing.T, b bundle, owner storage.PersonalSessionOwner) {
	t.Helper()
	got, err := b.store.PersonalSessions().ListByOwner(b.ctx, owner)
	require.NoError(t, err)
	require.Empty(t, got)
}

// lookupPersonalToken re-reads a personal access token that must be there.
func lookupPersonalToken(t *testing.T, b bundle, id ulid.ULID) *storage.PersonalAccessToken {
	t.Helper()
	tok, err := b.store.PersonalSessions().LookupAccessToken(b.ctx, id)
	require.NoError(t, err)
	return tok
}

// findPersonalToken finds, at b's clock, a token that must authenticate.
func findPersonalToken(t *testing.T, b bundle, value string) *storage.PersonalAccessToken {
	t.Helper()
	tok, err := b.store.PersonalSessions().FindAccessToken(b.ctx, b.clock, value)
	require.NoError(t, err)
	return tok
}

// requirePersonalTokenRefused checks that, at b's clock, the token may not
// authenticate: ErrInvalidState with a message that says why.
func requirePersonalTokenRefused(t *testing.T, b bundle, value, why string) {
	t.Helper()
	_, err := b.store.PersonalSessions().FindAccessToken(b.ctx, b.clock, value)
	require.ErrorIs(t, err, storage.ErrInvalidState)
	require.False(t, errors.Is(err, storage.ErrNotFound))
	require.ErrorContains(t, err, why)
}
