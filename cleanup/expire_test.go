package cleanup_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
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

// inactiveCompatSessions starts, in ID order, a compat session of each of
// users (a user once per time it is named) at the clock's time, last active
// an hour before the horizon of a run at testNow.
func (w *world) inactiveCompatSessions(users ...*storage.User) {
	w.t.Helper()
	old := storage.FixedClock(testNow.Add(-ttl - time.Hour))
	for _, u := range users {
		s, err := w.store.CompatSessions().Add(w.ctx, w.clock, u, w.name("DEVICE"), nil, false)
		require.NoError(w.t, err)
		require.NoError(w.t, w.store.CompatSessions().RecordActivity(w.ctx, old, s.ID, netip.Addr{}))
	}
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
			// One batch of 150 (the batch size is 1000), whose due times
			// restart every 100 users as MAS's pages' do.
			r, err := cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, expireOpts(cleanup.Options{BatchSize: 1000}))
			require.NoError(t, err)
			require.Equal(t, 150, r.Affected)
			require.Equal(t, 3, r.Batches, "one batch a kind of session")
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

	t.Run("ABatchExaminesUpToItsLimitNotAPageOfAHundred", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			opts    func(sw *fakeStopwatch) cleanup.Options
			limits  []int // of the compat batches
			scanned []int
		}{
			{"Fixed1000", func(*fakeStopwatch) cleanup.Options { return cleanup.Options{BatchSize: 1000} },
				[]int{1000}, []int{250}},
			{"Fixed70", func(*fakeStopwatch) cleanup.Options { return cleanup.Options{BatchSize: 70} },
				[]int{70, 70, 70, 70}, []int{70, 70, 70, 40}},
			// Each batch takes 10ms of a 100ms target: the size doubles,
			// past MAS's page of 100.
			{"Adaptive", func(sw *fakeStopwatch) cleanup.Options {
				return cleanup.Options{BatchSize: 50, TargetBatchDuration: 100 * time.Millisecond, Stopwatch: sw,
					InactiveSessions: cleanup.InactiveSessions{SyncDevices: func(ctx context.Context, tx storage.Repository, now time.Time, users []ulid.ULID) error {
						sw.advance(10 * time.Millisecond)
						return cleanup.ScheduleSyncDevices(ctx, tx, now, users)
					}}}
			}, []int{50, 100, 200}, []int{50, 100, 100}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				eachBackend(t, func(t *testing.T, store storage.Store) {
					w := newWorld(t, store)
					w.clock.Set(testNow.Add(-ttl - 2*time.Hour))
					var users, sessions []*storage.User
					for range 25 {
						users = append(users, w.user())
					}
					for i := range 250 {
						sessions = append(sessions, users[i%len(users)])
					}
					w.inactiveCompatSessions(sessions...)
					w.clock.Set(testNow)
					opts := tc.opts(&fakeStopwatch{})
					var batches []cleanup.BatchInfo
					opts.OnBatch = func(b cleanup.BatchInfo) { batches = append(batches, b) }
					r, err := cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, expireOpts(opts))
					require.NoError(t, err)
					require.Equal(t, 250, r.Affected)
					var limits, scanned []int
					for _, b := range batches {
						require.LessOrEqual(t, b.Scanned, b.Limit, "batch %d examined more than its limit", b.Number)
						if b.Scanned > 0 {
							limits, scanned = append(limits, b.Limit), append(scanned, b.Scanned)
						}
					}
					require.Equal(t, tc.limits, limits)
					require.Equal(t, tc.scanned, scanned)
					require.Len(t, w.syncJobs(testNow.Add(time.Hour)), len(users)*len(tc.scanned), "one job per user per batch")
				})
			})
		}
	})

	t.Run("OneSyncDevicesJobPerUserPerBatch", func(t *testing.T) {
		type due struct {
			user ulid.ULID
			at   time.Time
		}
		at := func(step int) time.Time { return testNow.Add(time.Minute + time.Duration(step)*10*time.Second) }
		jobs := func(w *world) []due {
			var got []due
			for _, j := range w.syncJobs(testNow.Add(time.Hour)) {
				require.Equal(w.t, "sync-devices", j.Queue)
				got = append(got, due{userPayload(w.t, j), *j.ScheduledAt})
			}
			return got
		}

		t.Run("UsersRepeatInABatch", func(t *testing.T) {
			eachBackend(t, func(t *testing.T, store storage.Store) {
				w := newWorld(t, store)
				w.clock.Set(testNow.Add(-ttl - 2*time.Hour))
				u1, u2, u3 := w.user(), w.user(), w.user()
				w.inactiveCompatSessions(u1, u2, u1, u3, u1, u2)
				w.clock.Set(testNow)
				// Batches of 3: u1, u2, u1, then u3, u1, u2.
				r, err := cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, expireOpts(cleanup.Options{BatchSize: 3}))
				require.NoError(t, err)
				require.Equal(t, 6, r.Affected)
				require.ElementsMatch(t, []due{
					{u1.ID, at(0)}, {u2.ID, at(1)},
					{u3.ID, at(0)}, {u1.ID, at(1)}, {u2.ID, at(2)},
				}, jobs(w))
			})
		})

		t.Run("ABatchOfMoreThanAHundredUsers", func(t *testing.T) {
			eachBackend(t, func(t *testing.T, store storage.Store) {
				w := newWorld(t, store)
				w.clock.Set(testNow.Add(-ttl - 2*time.Hour))
				var users []*storage.User
				for range 250 {
					users = append(users, w.user())
				}
				// Each user's two sessions are 250 apart: in one batch of
				// 1000, yet in different pages of 100.
				w.inactiveCompatSessions(append(slices.Clone(users), users...)...)
				w.clock.Set(testNow)
				r, err := cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, expireOpts(cleanup.Options{BatchSize: 1000}))
				require.NoError(t, err)
				require.Equal(t, 500, r.Affected)
				var want []due
				for i, u := range users {
					want = append(want, due{u.ID, at(i % 100)})
				}
				require.ElementsMatch(t, want, jobs(w), "exactly one job per user, due as in MAS's pages")
			})
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

// On PostgreSQL, a batch's sync-devices jobs are one INSERT, whatever its
// number of users: a statement trigger on queue_jobs counts the INSERTs.
func TestExpireInactiveSessionsSchedulesABatchInOneStatementOnPostgres(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		batchSize, statements int
	}{
		{1000, 2}, // the compat batch, the OAuth 2.0 batch
		{100, 4},  // compat: 100, 100, 50; OAuth 2.0: 30
	} {
		t.Run(fmt.Sprint(tc.batchSize), func(t *testing.T) {
			t.Parallel()
			db := pgtest.Migrated(t)
			countInserts(t, db.DB)
			store := postgres.New(db.DB)
			w := newWorld(t, store)
			w.clock.Set(testNow.Add(-ttl - 2*time.Hour))
			var users []*storage.User
			for range 250 {
				users = append(users, w.user())
			}
			w.inactiveCompatSessions(users...)
			old := storage.FixedClock(testNow.Add(-ttl - time.Hour))
			for _, u := range users[:30] {
				s, err := store.OAuth2Sessions().Add(w.ctx, w.clock, w.client, u, nil, []string{"openid"})
				require.NoError(t, err)
				require.NoError(t, store.OAuth2Sessions().RecordActivity(w.ctx, old, s.ID, netip.Addr{}))
			}
			w.clock.Set(testNow)
			before := inserts(t, db.DB)
			r, err := cleanup.Run(w.ctx, mustJob(t, expireJob), store, w.clock, expireOpts(cleanup.Options{BatchSize: tc.batchSize}))
			require.NoError(t, err)
			require.Equal(t, 280, r.Affected)
			require.Equal(t, tc.statements, inserts(t, db.DB)-before, "INSERTs into queue_jobs")
			var jobs int
			require.NoError(t, db.DB.Get(&jobs, `SELECT count(*) FROM queue_jobs WHERE queue_name = 'sync-devices'`))
			require.Equal(t, 280, jobs)
		})
	}

	t.Run("ABadPayloadAddsNone", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Migrated(t)
		q := postgres.New(db.DB).Queue()
		clock := storage.FixedClock(testNow)
		n, err := q.ScheduleJobs(context.Background(), clock, "sync-devices", []storage.ScheduledJob{
			{Payload: json.RawMessage(`{"user_id": "a"}`), At: testNow}, {Payload: json.RawMessage(`{`), At: testNow},
		})
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
		require.ErrorContains(t, err, "job 1")
		require.Zero(t, n)
		_, err = q.ScheduleJobs(context.Background(), clock, "", []storage.ScheduledJob{{At: testNow}})
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
		var jobs int
		require.NoError(t, db.DB.Get(&jobs, `SELECT count(*) FROM queue_jobs`))
		require.Zero(t, jobs)
	})
}

// countInserts makes db count the INSERT statements into queue_jobs (see
// inserts), until the test ends.
func countInserts(t *testing.T, db *sqlx.DB) {
	t.Helper()
	_, err := db.Exec(`
		CREATE TABLE test_queue_job_inserts (n int NOT NULL);
		CREATE FUNCTION test_count_queue_job_inserts() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN INSERT INTO test_queue_job_inserts VALUES (1); RETURN NULL; END $$;
		CREATE TRIGGER test_count_queue_job_inserts AFTER INSERT ON queue_jobs
			FOR EACH STATEMENT EXECUTE FUNCTION test_count_queue_job_inserts();`)
	require.NoError(t, err)
	t.Cleanup(func() {
		// Before the database goes back to pgtest's pool with its schema.
		_, err := db.Exec(`
			DROP TRIGGER test_count_queue_job_inserts ON queue_jobs;
			DROP FUNCTION test_count_queue_job_inserts();
			DROP TABLE test_queue_job_inserts;`)
		require.NoError(t, err)
	})
}

// inserts is how many INSERT statements into queue_jobs ran since
// countInserts.
func inserts(t *testing.T, db *sqlx.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.Get(&n, `SELECT count(*) FROM test_queue_job_inserts`))
	return n
}
