package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// expireCase is a kind of session ExpireInactive finishes.
type expireCase struct {
	name string // the repository: "CompatSessions"
	run  func(r storage.Repository) storage.ExpireFunc
	// start starts a session of user at the clock's time.
	start func(e *cleanupEnv, user *storage.User) ulid.ULID
	// record records activity of the session at the clock's time.
	record func(e *cleanupEnv, id ulid.ULID)
	// finish finishes the session at the clock's time.
	finish func(e *cleanupEnv, id ulid.ULID)
	// finishedAt re-reads the session's finished time.
	finishedAt func(e *cleanupEnv, id ulid.ULID) *time.Time
	// rules are the kind's own behaviours.
	rules []cleanupRule
}

// expireCaseOf is the expireCase of a kind of session; start starts one of
// user.
func expireCaseOf[T any](c sessionCase[T], run func(r storage.Repository) storage.ExpireFunc, start func(e *cleanupEnv, user *storage.User) *T, rules ...cleanupRule) expireCase {
	lookup := func(e *cleanupEnv, id ulid.ULID) *T {
		e.t.Helper()
		s, err := c.repo(e.store).Lookup(e.ctx, id)
		require.NoError(e.t, err)
		return s
	}
	return expireCase{
		name: c.name,
		run:  run,
		start: func(e *cleanupEnv, user *storage.User) ulid.ULID {
			return c.fields(start(e, user)).id
		},
		record: func(e *cleanupEnv, id ulid.ULID) {
			require.NoError(e.t, c.repo(e.store).RecordActivity(e.ctx, e.clock, id, ipA))
		},
		finish: func(e *cleanupEnv, id ulid.ULID) {
			_, err := c.repo(e.store).Finish(e.ctx, e.clock, lookup(e, id))
			require.NoError(e.t, err)
		},
		finishedAt: func(e *cleanupEnv, id ulid.ULID) *time.Time {
			return *c.fields(lookup(e, id)).finishedAt
		},
		rules: rules,
	}
}

func expireCases() []expireCase {
	return []expireCase{
		expireCaseOf(userSessionCase, func(r storage.Repository) storage.ExpireFunc { return r.UserSessions().ExpireInactive },
			func(e *cleanupEnv, u *storage.User) *storage.UserSession {
				return mustUserSession(e.t, e.store, e.clock, u)
			},
			cleanupRule{"LeavesChildSessionsActive", expireLeavesChildSessions}),
		expireCaseOf(compatSessionCase, func(r storage.Repository) storage.ExpireFunc { return r.CompatSessions().ExpireInactive },
			func(e *cleanupEnv, u *storage.User) *storage.CompatSession {
				return mustCompatSession(e.t, e.store, e.clock, u, nil)
			}),
		expireCaseOf(oauth2SessionCase, func(r storage.Repository) storage.ExpireFunc { return r.OAuth2Sessions().ExpireInactive },
			func(e *cleanupEnv, u *storage.User) *storage.OAuth2Session {
				return mustOAuth2Session(e.t, e.store, e.clock, mustClient(e.t, e.store, e.clock), u, nil)
			},
			cleanupRule{"KeepsSessionsWithoutUser", expireKeepsOAuth2WithoutUser},
			cleanupRule{"KeepsSessionsOfStaticClients", expireKeepsOAuth2OfStaticClient}),
	}
}

func testExpireInactive(t *testing.T, f Factory) {
	t.Parallel()
	for _, loc := range cleanupZones {
		t.Run(loc.String(), func(t *testing.T) {
			t.Parallel()
			for _, c := range expireCases() {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					testExpireCase(t, f, loc, c)
				})
			}
		})
	}
}

// activeAt starts a session of user three hours before the horizon and
// records activity at when; it returns the session.
func (c expireCase) activeAt(e *cleanupEnv, user *storage.User, when time.Time) ulid.ULID {
	e.t.Helper()
	e.set(-3 * time.Hour)
	id := c.start(e, user)
	e.clock.Set(when)
	c.record(e, id)
	return id
}

// expire runs one batch at clock time horizon+1h (with nanoseconds the
// store must drop), before the horizon.
func (c expireCase) expire(e *cleanupEnv, after storage.Cursor, limit int) (storage.Batch, []ulid.ULID) {
	e.t.Helper()
	e.clock.Set(e.horizon.Add(time.Hour + 789*time.Nanosecond))
	b, users, err := c.run(e.store)(e.ctx, e.clock, after, e.horizon, limit)
	require.NoError(e.t, err)
	return b, users
}

// testExpireCase runs the behaviours every kind shares, then its own.
func testExpireCase(t *testing.T, f Factory, loc *time.Location, c expireCase) {
	t.Run("FinishesOnlySessionsLastActiveBeforeThreshold", func(t *testing.T) {
		t.Parallel()
		e := newCleanupEnv(t, f, loc)
		u := mustUser(e.t, e.store, e.clock)
		old := c.activeAt(e, u, e.horizon.Add(-time.Microsecond))
		atThreshold := c.activeAt(e, u, e.horizon)
		later := c.activeAt(e, u, e.horizon.Add(time.Microsecond))
		e.set(-3 * time.Hour)
		never := c.start(e, u)
		done := c.activeAt(e, u, e.horizon.Add(-2*time.Hour))
		e.set(-90 * time.Minute)
		c.finish(e, done)

		b, users := c.expire(e, storage.Cursor{}, 10)
		requireBatch(t, storage.Batch{Affected: 1, Scanned: 1, Cursor: storage.Cursor{ID: old}}, b)
		require.Equal(t, []ulid.ULID{u.ID}, users)
		finished := c.finishedAt(e, old)
		require.Equal(t, at(e.clock), finished, "finished at the clock's time")
		require.Equal(t, time.UTC, finished.Location())
		for name, id := range map[string]ulid.ULID{"at the threshold": atThreshold, "after the threshold": later, "never active": never} {
			require.Nil(t, c.finishedAt(e, id), name)
		}
		require.Equal(t, ptr(storage.Timestamp(e.horizon.Add(-90*time.Minute))), c.finishedAt(e, done), "a finished session keeps its time")
	})

	t.Run("ReturnsDistinctUsersInOrderOfFirstSession", func(t *testing.T) {
		t.Parallel()
		e := newCleanupEnv(t, f, loc)
		u1, u2, u3 := mustUser(e.t, e.store, e.clock), mustUser(e.t, e.store, e.clock), mustUser(e.t, e.store, e.clock)
		// Sessions in ID order: u2, u1, u2, u3 (not a candidate), u1.
		c.activeAt(e, u2, e.horizon.Add(-time.Hour))
		c.activeAt(e, u1, e.horizon.Add(-time.Hour))
		c.activeAt(e, u2, e.horizon.Add(-time.Hour))
		c.activeAt(e, u3, e.horizon.Add(time.Minute))
		c.activeAt(e, u1, e.horizon.Add(-time.Hour))

		b, users := c.expire(e, storage.Cursor{}, 10)
		require.Equal(t, 4, b.Affected)
		require.Equal(t, 4, b.Scanned)
		require.Equal(t, []ulid.ULID{u2.ID, u1.ID}, users)
	})

	t.Run("ResumesFromCursorInIDOrderInBatchesOfLimit", func(t *testing.T) {
		t.Parallel()
		e := newCleanupEnv(t, f, loc)
		ids := make([]ulid.ULID, 5)
		owners := make([]ulid.ULID, 5)
		for i := range ids {
			u := mustUser(e.t, e.store, e.clock)
			owners[i] = u.ID
			// Created in ID order, last active in the reverse order: the
			// batches must follow the IDs.
			e.set(-3*time.Hour + time.Duration(i)*time.Second)
			ids[i] = c.start(e, u)
		}
		for i, id := range ids {
			e.set(-time.Duration(i+1) * time.Minute)
			c.record(e, id)
		}

		var cursor storage.Cursor
		done := 0
		for _, want := range []int{2, 2, 1} {
			b, users := c.expire(e, cursor, 2)
			requireBatch(t, storage.Batch{Affected: want, Scanned: want, Cursor: storage.Cursor{ID: ids[done+want-1]}}, b)
			require.Equal(t, owners[done:done+want], users)
			cursor = b.Cursor
			done += want
			for i, id := range ids {
				require.Equal(t, i >= done, c.finishedAt(e, id) == nil, "session %d after %d", i, done)
			}
		}
		b, users := c.expire(e, cursor, 2)
		requireBatch(t, storage.Batch{Cursor: cursor}, b)
		require.Empty(t, users)
	})

	t.Run("RejectsLimitBelowOne", func(t *testing.T) {
		t.Parallel()
		e := newCleanupEnv(t, f, loc)
		id := c.activeAt(e, mustUser(e.t, e.store, e.clock), e.horizon.Add(-time.Hour))

		for _, limit := range []int{0, -1} {
			_, _, err := c.run(e.store)(e.ctx, e.clock, storage.Cursor{}, e.horizon, limit)
			require.ErrorIs(t, err, storage.ErrInvalidArgument, "limit %d", limit)
		}
		require.Nil(t, c.finishedAt(e, id))
	})

	t.Run("RolledBackLeavesSessionsActive", func(t *testing.T) {
		t.Parallel()
		e := newCleanupEnv(t, f, loc)
		id := c.activeAt(e, mustUser(e.t, e.store, e.clock), e.horizon.Add(-time.Hour))

		err := e.store.Transact(e.ctx, func(ctx context.Context, tx storage.Repository) error {
			b, _, err := c.run(tx)(ctx, e.clock, storage.Cursor{}, e.horizon, 10)
			if err != nil {
				return err
			}
			require.Equal(t, 1, b.Affected)
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		require.Nil(t, c.finishedAt(e, id))
	})

	for _, r := range c.rules {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			r.run(newCleanupEnv(t, f, loc))
		})
	}
}

// requireNothingToExpire runs fn and checks it found no candidate.
func requireNothingToExpire(e *cleanupEnv, fn storage.ExpireFunc) {
	e.t.Helper()
	b, users, err := fn(e.ctx, e.clock, storage.Cursor{}, e.horizon, 10)
	require.NoError(e.t, err)
	requireBatch(e.t, storage.Batch{}, b)
	require.Empty(e.t, users)
}

func expireLeavesChildSessions(e *cleanupEnv) {
	e.set(-3 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	browser := mustUserSession(e.t, e.store, e.clock, u)
	compat := mustCompatSession(e.t, e.store, e.clock, u, browser)
	oauth := mustOAuth2Session(e.t, e.store, e.clock, mustClient(e.t, e.store, e.clock), u, browser)
	e.set(-2 * time.Hour)
	require.NoError(e.t, e.store.UserSessions().RecordActivity(e.ctx, e.clock, browser.ID, ipA))
	e.set(time.Minute)
	require.NoError(e.t, e.store.CompatSessions().RecordActivity(e.ctx, e.clock, compat.ID, ipA))
	require.NoError(e.t, e.store.OAuth2Sessions().RecordActivity(e.ctx, e.clock, oauth.ID, ipA))

	b, _, err := e.store.UserSessions().ExpireInactive(e.ctx, e.clock, storage.Cursor{}, e.horizon, 10)
	require.NoError(e.t, err)
	require.Equal(e.t, 1, b.Affected)
	gotCompat, err := e.store.CompatSessions().Lookup(e.ctx, compat.ID)
	require.NoError(e.t, err)
	require.Nil(e.t, gotCompat.FinishedAt)
	gotOAuth, err := e.store.OAuth2Sessions().Lookup(e.ctx, oauth.ID)
	require.NoError(e.t, err)
	require.Nil(e.t, gotOAuth.FinishedAt)
}

func expireKeepsOAuth2WithoutUser(e *cleanupEnv) {
	e.set(-3 * time.Hour)
	s := mustOAuth2Session(e.t, e.store, e.clock, mustClient(e.t, e.store, e.clock), nil, nil)
	e.set(-2 * time.Hour)
	require.NoError(e.t, e.store.OAuth2Sessions().RecordActivity(e.ctx, e.clock, s.ID, ipA))

	requireNothingToExpire(e, e.store.OAuth2Sessions().ExpireInactive)
	got, err := e.store.OAuth2Sessions().Lookup(e.ctx, s.ID)
	require.NoError(e.t, err)
	require.Nil(e.t, got.FinishedAt)
}

func expireKeepsOAuth2OfStaticClient(e *cleanupEnv) {
	e.set(-3 * time.Hour)
	static := mustStaticClient(e.t, e.store, e.clock)
	require.True(e.t, static.IsStatic)
	s := mustOAuth2Session(e.t, e.store, e.clock, static, mustUser(e.t, e.store, e.clock), nil)
	e.set(-2 * time.Hour)
	require.NoError(e.t, e.store.OAuth2Sessions().RecordActivity(e.ctx, e.clock, s.ID, ipA))

	requireNothingToExpire(e, e.store.OAuth2Sessions().ExpireInactive)
	got, err := e.store.OAuth2Sessions().Lookup(e.ctx, s.ID)
	require.NoError(e.t, err)
	require.Nil(e.t, got.FinishedAt)
}
