package cleanup_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/postgres"
)

const (
	expireJob = "expire-inactive-sessions"
	ttl       = 24 * time.Hour
)

func expireOpts(o cleanup.Options) cleanup.Options {
	o.Retention = map[string]time.Duration{expireJob: ttl}
	return o
}

// expireWorld is the table of JOBS.md for expire-inactive-sessions, around
// the threshold now - TTL: which sessions must finish and which must stay.
type expireWorld struct {
	*world
	u1, u2, u3 *storage.User
	// finish and stay read the finished_at of the sessions that must
	// finish (compat of u1, u2, u1; OAuth 2.0 of u3; browser of u3) and of
	// those that must stay active.
	finish, stay      []func() *time.Time
	alreadyFinished   *storage.CompatSession
	alreadyFinishedAt time.Time
}

func newExpireWorld(t *testing.T, store storage.Store) *expireWorld {
	w := &expireWorld{world: newWorld(t, store)}
	ctx := w.ctx
	threshold := testNow.Add(-ttl)
	old := threshold.Add(-time.Second)
	recent := threshold.Add(time.Second)
	w.clock.Set(testNow.Add(-10 * days))
	static, err := store.OAuth2Clients().AddStatic(ctx, w.clock, "static", []string{"https://static.example/"})
	require.NoError(t, err)
	w.u1, w.u2, w.u3 = w.user(), w.user(), w.user()

	compat := func(u *storage.User, at *time.Time) *storage.CompatSession {
		s, err := store.CompatSessions().Add(ctx, w.clock, u, w.name("DEVICE"), nil, false)
		require.NoError(t, err)
		if at != nil {
			require.NoError(t, store.CompatSessions().RecordActivity(ctx, storage.FixedClock(*at), s.ID, netip.MustParseAddr("192.0.2.7")))
		}
		return s
	}
	oauth := func(client *storage.OAuth2Client, u *storage.User, at *time.Time) *storage.OAuth2Session {
		s, err := store.OAuth2Sessions().Add(ctx, w.clock, client, u, nil, []string{"openid"})
		require.NoError(t, err)
		if at != nil {
			require.NoError(t, store.OAuth2Sessions().RecordActivity(ctx, storage.FixedClock(*at), s.ID, netip.Addr{}))
		}
		return s
	}
	browser := func(u *storage.User, at *time.Time) *storage.UserSession {
		s, err := store.UserSessions().Add(ctx, w.clock, u, "Firefox")
		require.NoError(t, err)
		if at != nil {
			require.NoError(t, store.UserSessions().RecordActivity(ctx, storage.FixedClock(*at), s.ID, netip.Addr{}))
		}
		return s
	}
	compatFinished := func(s *storage.CompatSession) func() *time.Time {
		return func() *time.Time {
			got, err := store.CompatSessions().Lookup(ctx, s.ID)
			require.NoError(t, err)
			return got.FinishedAt
		}
	}
	oauthFinished := func(s *storage.OAuth2Session) func() *time.Time {
		return func() *time.Time {
			got, err := store.OAuth2Sessions().Lookup(ctx, s.ID)
			require.NoError(t, err)
			return got.FinishedAt
		}
	}
	browserFinished := func(s *storage.UserSession) func() *time.Time {
		return func() *time.Time {
			got, err := store.UserSessions().Lookup(ctx, s.ID)
			require.NoError(t, err)
			return got.FinishedAt
		}
	}

	// Finish: active, last active a second before the threshold. u1 has two
	// compat sessions, u2 one between them (so the page's users are u1, u2).
	w.finish = []func() *time.Time{
		compatFinished(compat(w.u1, &old)), compatFinished(compat(w.u2, &old)), compatFinished(compat(w.u1, &old)),
		oauthFinished(oauth(w.client, w.u3, &old)),
		browserFinished(browser(w.u3, &old)),
	}

	// Stay: last active exactly at or after the threshold, never active,
	// a static client's, without a user, or already finished.
	w.stay = []func() *time.Time{
		compatFinished(compat(w.u2, &threshold)), compatFinished(compat(w.u2, &recent)), compatFinished(compat(w.u2, nil)),
		oauthFinished(oauth(static, w.u2, &old)), oauthFinished(oauth(w.client, nil, &old)),
		oauthFinished(oauth(w.client, w.u2, &threshold)), oauthFinished(oauth(w.client, w.u2, nil)),
		browserFinished(browser(w.u2, &threshold)), browserFinished(browser(w.u2, &recent)), browserFinished(browser(w.u2, nil)),
	}

	w.alreadyFinished = compat(w.u3, &old)
	w.clock.Set(old.Add(time.Minute))
	w.alreadyFinishedAt = storage.Now(w.clock)
	_, err = store.CompatSessions().Finish(ctx, w.clock, w.alreadyFinished)
	require.NoError(t, err)
	w.clock.Set(testNow)
	return w
}

// syncJobs promotes and reserves every sync-devices job due by `by`.
func (w *world) syncJobs(by time.Time) []*storage.Job {
	w.t.Helper()
	clock := storage.FixedClock(by)
	_, err := w.store.Queue().PromoteScheduled(w.ctx, clock, 1000)
	require.NoError(w.t, err)
	worker, err := w.store.Queue().RegisterWorker(w.ctx, clock)
	require.NoError(w.t, err)
	jobs, err := w.store.Queue().Reserve(w.ctx, clock, worker, []string{"sync-devices"}, 1000)
	require.NoError(w.t, err)
	return jobs
}

func userPayload(t *testing.T, j *storage.Job) ulid.ULID {
	t.Helper()
	var p map[string]string
	require.NoError(t, json.Unmarshal(j.Payload, &p))
	require.Len(t, p, 1, "the payload is {\"user_id\": ...} and nothing else")
	id, err := ulid.ParseStrict(p["user_id"])
	require.NoError(t, err)
	return id
}

func TestExpireInactiveSessions(t *testing.T) {
	t.Parallel()

	t.Run("FinishesExactlyTheSessionsJOBSmdNames", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newExpireWorld(t, store)
			r, err := cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, expireOpts(cleanup.Options{}))
			require.NoError(t, err)
			require.True(t, r.Finished())
			require.Equal(t, len(w.finish), r.Affected)
			require.Equal(t, testNow.Add(-ttl), r.Horizon)
			for i, finished := range w.finish {
				got := finished()
				require.NotNil(t, got, "session %d must be finished", i)
				require.Equal(t, testNow, *got, "finished at the run's time")
			}
			for i, finished := range w.stay {
				require.Nil(t, finished(), "session %d must stay active", i)
			}
			got, err := store.CompatSessions().Lookup(w.ctx, w.alreadyFinished.ID)
			require.NoError(t, err)
			require.Equal(t, w.alreadyFinishedAt, *got.FinishedAt, "an ended session keeps its end")

			// A second run finds nothing.
			r, err = cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, expireOpts(cleanup.Options{}))
			require.NoError(t, err)
			require.Zero(t, r.Affected)
		})
	})

	t.Run("SchedulesOneSyncDevicesJobPerUserAsMASDoes", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newExpireWorld(t, store)
			_, err := cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, expireOpts(cleanup.Options{}))
			require.NoError(t, err)

			require.Empty(t, w.syncJobs(testNow.Add(time.Minute-time.Microsecond)), "scheduled, not due before now + 1 minute")
			jobs := w.syncJobs(testNow.Add(time.Hour))
			// The compat page's users are u1 then u2 (u1's two sessions make
			// one job); the OAuth 2.0 page's, u3; browser sessions make none.
			want := []struct {
				user ulid.ULID
				at   time.Time
			}{
				{w.u1.ID, testNow.Add(time.Minute)},
				{w.u2.ID, testNow.Add(time.Minute + 10*time.Second)},
				{w.u3.ID, testNow.Add(time.Minute)},
			}
			require.Len(t, jobs, len(want))
			got := map[ulid.ULID]time.Time{}
			for _, j := range jobs {
				require.Equal(t, "sync-devices", j.Queue)
				require.Equal(t, testNow, j.CreatedAt)
				got[userPayload(t, j)] = *j.ScheduledAt
			}
			for _, x := range want {
				require.Contains(t, got, x.user)
				require.Equal(t, x.at, got[x.user])
			}
		})
	})

	t.Run("PagesOfAHundredSpaceTheirJobsFromTheStart", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			old := testNow.Add(-ttl - time.Hour)
			w.clock.Set(old.Add(-time.Hour))
			var users []ulid.ULID
			for range 150 {
				u := w.user()
				s, err := store.CompatSessions().Add(w.ctx, w.clock, u, w.name("D"), nil, false)
				require.NoError(t, err)
				require.NoError(t, store.CompatSessions().RecordActivity(w.ctx, storage.FixedClock(old), s.ID, netip.Addr{}))
				users = append(users, u.ID)
			}
			w.clock.Set(testNow)
			// The batch size asked for is larger: the job keeps MAS's pages.
			r, err := cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, expireOpts(cleanup.Options{BatchSize: 1000}))
			require.NoError(t, err)
			require.Equal(t, 150, r.Affected)
			at := map[ulid.ULID]time.Time{}
			for _, j := range w.syncJobs(testNow.Add(time.Hour)) {
				at[userPayload(t, j)] = *j.ScheduledAt
			}
			require.Len(t, at, 150)
			for i, u := range users {
				step := i % 100 // the 101st user starts the second page
				require.Equal(t, testNow.Add(time.Minute+time.Duration(step)*10*time.Second), at[u], "user %d", i)
			}
		})
	})

	t.Run("NoSyncDevicesSchedulesNothing", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newExpireWorld(t, store)
			opts := expireOpts(cleanup.Options{InactiveSessions: cleanup.InactiveSessions{SyncDevices: cleanup.NoSyncDevices}})
			r, err := cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, opts)
			require.NoError(t, err)
			require.Equal(t, len(w.finish), r.Affected)
			require.Empty(t, w.syncJobs(testNow.Add(time.Hour)))
		})
	})

	t.Run("AHostHookRunsInTheBatchTransaction", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newExpireWorld(t, store)
			var seen [][]ulid.ULID
			failing := errors.New("homeserver unreachable")
			hook := func(ctx context.Context, tx storage.Repository, now time.Time, users []ulid.ULID) error {
				require.Equal(t, testNow, now)
				seen = append(seen, users)
				// What the hook writes is part of the batch: it goes when
				// the batch rolls back.
				_, err := tx.Queue().Enqueue(ctx, storage.FixedClock(now), "host-sync", nil)
				require.NoError(t, err)
				return failing
			}
			opts := expireOpts(cleanup.Options{InactiveSessions: cleanup.InactiveSessions{SyncDevices: hook}})
			r, err := cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, opts)
			require.ErrorIs(t, err, failing)
			require.Equal(t, cleanup.StoppedFailed, r.Stopped)
			require.Equal(t, [][]ulid.ULID{{w.u1.ID, w.u2.ID}}, seen, "the first page's users, in order, once each")
			for i, finished := range w.finish {
				require.Nil(t, finished(), "session %d: the failed batch rolled back", i)
			}
			worker, err := store.Queue().RegisterWorker(w.ctx, w.clock)
			require.NoError(t, err)
			jobs, err := store.Queue().Reserve(w.ctx, w.clock, worker, []string{"host-sync"}, 10)
			require.NoError(t, err)
			require.Empty(t, jobs, "the hook's job rolled back with the batch")
		})
	})

	t.Run("EachKindCanBeLeftAlone", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			kinds cleanup.InactiveSessions
			left  func(w *expireWorld) []int // indexes into w.finish that stay
		}{
			{"Compat", cleanup.InactiveSessions{SkipCompat: true}, func(*expireWorld) []int { return []int{0, 1, 2} }},
			{"OAuth2", cleanup.InactiveSessions{SkipOAuth2: true}, func(*expireWorld) []int { return []int{3} }},
			{"Browser", cleanup.InactiveSessions{SkipBrowser: true}, func(*expireWorld) []int { return []int{4} }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				eachBackend(t, func(t *testing.T, store storage.Store) {
					w := newExpireWorld(t, store)
					_, err := cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, expireOpts(cleanup.Options{InactiveSessions: tc.kinds}))
					require.NoError(t, err)
					left := map[int]bool{}
					for _, i := range tc.left(w) {
						left[i] = true
					}
					for i, finished := range w.finish {
						require.Equal(t, left[i], finished() == nil, "session %d", i)
					}
				})
			})
		}
	})

	t.Run("IsOffUntilGivenATTLWithinMASBounds", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newExpireWorld(t, store)
			reports, err := cleanup.RunAll(w.ctx, store, w.clock, cleanup.Options{})
			require.NoError(t, err)
			for _, r := range reports {
				require.NotEqual(t, expireJob, r.Job, "RunAll leaves it out")
			}
			for i, finished := range w.finish {
				require.Nil(t, finished(), "session %d", i)
			}
			_, err = cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, cleanup.Options{})
			require.ErrorIs(t, err, cleanup.ErrInvalidOptions)
			require.ErrorContains(t, err, "expire-inactive-sessions is off")
			for _, bad := range []time.Duration{cleanup.MinInactiveSessionTTL - time.Second, cleanup.MaxInactiveSessionTTL + time.Second} {
				_, err = cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock,
					cleanup.Options{Retention: map[string]time.Duration{expireJob: bad}})
				require.ErrorIs(t, err, cleanup.ErrInvalidOptions, bad.String())
				require.ErrorContains(t, err, fmt.Sprintf("retention %s of expire-inactive-sessions out of range [10m0s, 2160h0m0s]", bad))
			}
			for i, finished := range w.finish {
				require.Nil(t, finished(), "session %d: nothing ran", i)
			}
			// The bounds themselves are allowed.
			for _, ok := range []time.Duration{cleanup.MinInactiveSessionTTL, cleanup.MaxInactiveSessionTTL} {
				require.NoError(t, cleanup.Validate(w.clock, cleanup.Options{Retention: map[string]time.Duration{expireJob: ok}}))
			}
		})
	})

	t.Run("DryRunFinishesNothingAndSchedulesNothing", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newExpireWorld(t, store)
			r, err := cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, expireOpts(cleanup.Options{DryRun: true}))
			require.NoError(t, err)
			require.Equal(t, len(w.finish), r.Affected)
			for i, finished := range w.finish {
				require.Nil(t, finished(), "session %d", i)
			}
			require.Empty(t, w.syncJobs(testNow.Add(time.Hour)))
		})
	})
}

// On PostgreSQL, the sync-devices rows are what MAS itself inserts.
func TestExpireInactiveSessionsQueueRowsOnPostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.Migrated(t)
	store := postgres.New(db.DB)
	w := newExpireWorld(t, store)
	_, err := cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, expireOpts(cleanup.Options{}))
	require.NoError(t, err)

	type row struct {
		Queue       string    `db:"queue_name"`
		Payload     string    `db:"payload"`
		Metadata    string    `db:"metadata"`
		Status      string    `db:"status"`
		ScheduledAt time.Time `db:"scheduled_at"`
	}
	var rows []row
	require.NoError(t, db.DB.Select(&rows, `
		SELECT queue_name, payload::text, metadata::text, status::text, scheduled_at
		FROM queue_jobs ORDER BY scheduled_at, payload->>'user_id' = $1 DESC`, w.u1.ID.String()))
	require.Len(t, rows, 3)
	wantAt := []time.Time{testNow.Add(time.Minute), testNow.Add(time.Minute), testNow.Add(time.Minute + 10*time.Second)}
	wantUser := []ulid.ULID{w.u1.ID, w.u3.ID, w.u2.ID}
	for i, r := range rows {
		require.Equal(t, "sync-devices", r.Queue)
		require.JSONEq(t, fmt.Sprintf(`{"user_id": %q}`, wantUser[i]), r.Payload)
		require.Equal(t, "{}", r.Metadata)
		require.Equal(t, "scheduled", r.Status)
		require.True(t, wantAt[i].Equal(r.ScheduledAt), "row %d at %s", i, r.ScheduledAt)
	}
}
