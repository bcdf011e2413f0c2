package storagetest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// requireJob checks got against want, comparing payloads as JSON documents.
func requireJob(t *testing.T, want, got *storage.Job) {
	t.Helper()
	require.NotNil(t, got)
	requireJSON(t, string(want.Payload), got.Payload)
	w, g := *want, *got
	w.Payload, g.Payload = nil, nil
	require.Equal(t, w, g)
}

// requireJobs checks got against want, in order.
func requireJobs(t *testing.T, want, got []*storage.Job) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		requireJob(t, want[i], got[i])
	}
}

// lookupJob re-reads a job.
func lookupJob(t *testing.T, b bundle, id ulid.ULID) *storage.Job {
	t.Helper()
	j, err := b.store.Queue().LookupJob(b.ctx, id)
	require.NoError(t, err)
	return j
}

func testQueue(t *testing.T, f Factory) {
	t.Parallel()
	t.Run("Workers", func(t *testing.T) { testQueueWorkers(t, f) })
	t.Run("Leader", func(t *testing.T) { testQueueLeader(t, f) })
	t.Run("Jobs", func(t *testing.T) { testQueueJobs(t, f) })
	t.Run("Reserve", func(t *testing.T) { testQueueReserve(t, f) })
	t.Run("Retry", func(t *testing.T) { testQueueRetry(t, f) })
	t.Run("Schedules", func(t *testing.T) { testQueueSchedules(t, f) })
}

// workerShutdown: ShutdownWorker, which sets ShutdownAt.
var workerShutdown = stampCase[storage.Worker]{
	op:    "Shutdown",
	field: "ShutdownAt",
	start: func(t *testing.T, b bundle) *storage.Worker { return mustWorker(t, b.store, b.clock) },
	apply: func(b bundle, w *storage.Worker) (*storage.Worker, error) {
		return b.store.Queue().ShutdownWorker(b.ctx, b.clock, w)
	},
	lookup: func(b bundle, w *storage.Worker) (*storage.Worker, error) {
		return b.store.Queue().LookupWorker(b.ctx, w.ID)
	},
	stamp:   func(w *storage.Worker) **time.Time { return &w.ShutdownAt },
	unknown: func(t *testing.T, b bundle) *storage.Worker { return &storage.Worker{ID: unknownID(b.clock)} },
}

func testQueueWorkers(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("RegisterReturnsStoredWorker", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		w, err := b.store.Queue().RegisterWorker(b.ctx, b.clock)
		require.NoError(t, err)
		requireNewID(t, b.clock, w.ID)
		require.Equal(t, &storage.Worker{ID: w.ID, RegisteredAt: Epoch, LastSeenAt: Epoch}, w)
		got, err := b.store.Queue().LookupWorker(b.ctx, w.ID)
		require.NoError(t, err)
		require.Equal(t, w, got)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		clock := oddClock()
		w := mustWorker(t, b.store, clock)
		_, err := b.store.Queue().ShutdownWorker(b.ctx, clock, w)
		require.NoError(t, err)

		want := storage.Timestamp(oddInstant)
		got, err := b.store.Queue().LookupWorker(b.ctx, w.ID)
		require.NoError(t, err)
		require.Equal(t, &storage.Worker{ID: w.ID, RegisteredAt: want, LastSeenAt: want, ShutdownAt: &want}, got)
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustWorker(t, b.store, b.clock)

		_, err := b.store.Queue().LookupWorker(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("HeartbeatUpdatesLastSeen", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		w := mustWorker(t, b.store, b.clock)
		b.clock.Advance(time.Minute)

		seen, err := b.store.Queue().Heartbeat(b.ctx, b.clock, w)
		require.NoError(t, err)
		require.Equal(t, &storage.Worker{ID: w.ID, RegisteredAt: Epoch, LastSeenAt: storage.Now(b.clock)}, seen)
		got, err := b.store.Queue().LookupWorker(b.ctx, w.ID)
		require.NoError(t, err)
		require.Equal(t, seen, got)
	})

	t.Run("HeartbeatShutDownIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		w := mustWorker(t, b.store, b.clock)
		_, err := b.store.Queue().ShutdownWorker(b.ctx, b.clock, w)
		require.NoError(t, err)
		b.clock.Advance(time.Minute)

		_, err = b.store.Queue().Heartbeat(b.ctx, b.clock, w)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		got, err := b.store.Queue().LookupWorker(b.ctx, w.ID)
		require.NoError(t, err)
		require.Equal(t, Epoch, got.LastSeenAt)
	})

	t.Run("HeartbeatUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.Queue().Heartbeat(b.ctx, b.clock, &storage.Worker{ID: unknownID(b.clock)})
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	workerShutdown.run(t, f)

	t.Run("ShutdownMarksRunningJobsLost", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		w := mustWorker(t, b.store, b.clock)
		other := mustWorker(t, b.store, b.clock)
		running := mustRunningJob(t, b.store, b.clock, w)
		done, err := b.store.Queue().CompleteJob(b.ctx, b.clock, mustRunningJob(t, b.store, b.clock, w))
		require.NoError(t, err)
		othersJob := mustRunningJob(t, b.store, b.clock, other)
		waiting := mustJob(t, b.store, b.clock, unique("queue"))
		b.clock.Advance(time.Minute)

		_, err = b.store.Queue().ShutdownWorker(b.ctx, b.clock, w)
		require.NoError(t, err)
		lost := *running
		lost.Status = storage.JobLost
		requireJob(t, &lost, lookupJob(t, b, running.ID))
		requireJob(t, done, lookupJob(t, b, done.ID))
		requireJob(t, othersJob, lookupJob(t, b, othersJob.ID))
		requireJob(t, waiting, lookupJob(t, b, waiting.ID))
	})
}

func testQueueJobs(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("EnqueueReturnsStoredJob", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		j, err := b.store.Queue().Enqueue(b.ctx, b.clock, "emails", json.RawMessage(`{"to": "alice", "n": [1, 2]}`))
		require.NoError(t, err)
		requireNewID(t, b.clock, j.ID)
		requireJob(t, &storage.Job{
			ID: j.ID, Queue: "emails", Payload: json.RawMessage(`{"n":[1,2],"to":"alice"}`),
			Status: storage.JobAvailable, CreatedAt: Epoch, Attempt: 0,
		}, j)
		requireJob(t, j, lookupJob(t, b, j.ID))
	})

	t.Run("EnqueueNilPayloadIsEmptyObject", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		j, err := b.store.Queue().Enqueue(b.ctx, b.clock, "q", nil)
		require.NoError(t, err)
		requireJSON(t, `{}`, j.Payload)
		requireJSON(t, `{}`, lookupJob(t, b, j.ID).Payload)
	})

	t.Run("ScheduleJobReturnsStoredJob", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		when := Epoch.Add(time.Hour)
		require.NoError(t, b.store.Queue().SetupSchedules(b.ctx, []string{"cleanup-x"}))

		j, err := b.store.Queue().ScheduleJob(b.ctx, b.clock, "cleanup", json.RawMessage(`{"job":"x"}`), when, "cleanup-x")
		require.NoError(t, err)
		requireNewID(t, b.clock, j.ID)
		requireJob(t, &storage.Job{
			ID: j.ID, Queue: "cleanup", Payload: json.RawMessage(`{"job":"x"}`), Status: storage.JobScheduled,
			CreatedAt: Epoch, ScheduledAt: &when, ScheduleName: "cleanup-x", Attempt: 0,
		}, j)
		requireJob(t, j, lookupJob(t, b, j.ID))
	})

	t.Run("ScheduleJobsAddsAllOrNone", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		q := b.store.Queue()
		n, err := q.ScheduleJobs(b.ctx, b.clock, "sync", []storage.ScheduledJob{
			{Payload: json.RawMessage(`{"user_id":"a"}`), At: Epoch.Add(time.Minute)},
			{At: Epoch.Add(2 * time.Minute)},
		})
		require.NoError(t, err)
		require.Equal(t, 2, n)
		_, err = q.ScheduleJobs(b.ctx, b.clock, "sync", []storage.ScheduledJob{
			{Payload: json.RawMessage(`{"user_id":"b"}`), At: Epoch}, {Payload: json.RawMessage(`{`), At: Epoch},
		})
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
		require.ErrorContains(t, err, "job 1")

		later := storage.NewTestClock(Epoch.Add(time.Hour))
		promoted, err := q.PromoteScheduled(b.ctx, later, 10)
		require.NoError(t, err)
		require.Equal(t, 2, promoted, "the two jobs of the first call, none of the refused ones")
		w, err := q.RegisterWorker(b.ctx, later)
		require.NoError(t, err)
		jobs, err := q.Reserve(b.ctx, later, w, []string{"sync"}, 10)
		require.NoError(t, err)
		require.Len(t, jobs, 2)
		require.JSONEq(t, `{"user_id":"a"}`, string(jobs[0].Payload))
		require.JSONEq(t, `{}`, string(jobs[1].Payload), "a nil payload is {}")
		require.Equal(t, Epoch.Add(time.Minute), *jobs[0].ScheduledAt)
	})

	t.Run("EnqueueInvalidJSONIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.Queue().Enqueue(b.ctx, b.clock, "q", json.RawMessage(`{"unterminated"`))
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("EmptyQueueNameIsInvalid", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		q := b.store.Queue()
		_, err := q.Enqueue(b.ctx, b.clock, "", nil)
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
		require.ErrorContains(t, err, "empty queue name")
		_, err = q.ScheduleJob(b.ctx, b.clock, "", nil, Epoch, "")
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
		require.ErrorContains(t, err, "empty queue name")
		for _, jobs := range [][]storage.ScheduledJob{{{At: Epoch}}, nil} {
			_, err = q.ScheduleJobs(b.ctx, b.clock, "", jobs)
			require.ErrorIs(t, err, storage.ErrInvalidArgument)
			require.ErrorContains(t, err, "empty queue name")
		}
		n, err := q.PromoteScheduled(b.ctx, storage.NewTestClock(Epoch.Add(time.Hour)), 10)
		require.NoError(t, err)
		require.Zero(t, n, "no refused job was added")
	})

	t.Run("ScheduleJobUnknownScheduleIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		require.NoError(t, b.store.Queue().SetupSchedules(b.ctx, []string{"known"}))

		_, err := b.store.Queue().ScheduleJob(b.ctx, b.clock, "q", nil, Epoch, "unknown")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		clock := oddClock()
		w := mustWorker(t, b.store, clock)
		j, err := b.store.Queue().CompleteJob(b.ctx, clock, mustRunningJob(t, b.store, clock, w))
		require.NoError(t, err)
		s, err := b.store.Queue().ScheduleJob(b.ctx, clock, "q", nil, oddInstant.Add(time.Hour), "")
		require.NoError(t, err)

		want := storage.Timestamp(oddInstant)
		got := lookupJob(t, b, j.ID)
		require.Equal(t, want, got.CreatedAt)
		require.Equal(t, &want, got.StartedAt)
		require.Equal(t, &want, got.CompletedAt)
		require.Equal(t, ptr(want.Add(time.Hour)), lookupJob(t, b, s.ID).ScheduledAt)
	})

	t.Run("LookupUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustJob(t, b.store, b.clock, "q")

		_, err := b.store.Queue().LookupJob(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("CompleteSetsCompletedAt", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		j := mustRunningJob(t, b.store, b.clock, mustWorker(t, b.store, b.clock))
		b.clock.Advance(time.Second)

		done, err := b.store.Queue().CompleteJob(b.ctx, b.clock, j)
		require.NoError(t, err)
		want := *j
		want.Status, want.CompletedAt = storage.JobCompleted, at(b.clock)
		requireJob(t, &want, done)
		requireJob(t, &want, lookupJob(t, b, j.ID))
	})

	t.Run("CompleteNotRunningIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		waiting := mustJob(t, b.store, b.clock, "q")
		done, err := b.store.Queue().CompleteJob(b.ctx, b.clock, mustRunningJob(t, b.store, b.clock, mustWorker(t, b.store, b.clock)))
		require.NoError(t, err)
		b.clock.Advance(time.Second)

		_, err = b.store.Queue().CompleteJob(b.ctx, b.clock, waiting)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		_, err = b.store.Queue().CompleteJob(b.ctx, b.clock, done)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		requireJob(t, waiting, lookupJob(t, b, waiting.ID))
		requireJob(t, done, lookupJob(t, b, done.ID))
	})

	t.Run("FailRecordsReason", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		j := mustRunningJob(t, b.store, b.clock, mustWorker(t, b.store, b.clock))
		b.clock.Advance(time.Second)

		failed, err := b.store.Queue().FailJob(b.ctx, b.clock, j, "smtp: 421 try later")
		require.NoError(t, err)
		want := *j
		want.Status, want.FailedAt, want.FailedReason = storage.JobFailed, at(b.clock), "smtp: 421 try later"
		requireJob(t, &want, failed)
		requireJob(t, &want, lookupJob(t, b, j.ID))
	})

	t.Run("FailNotRunningIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		waiting := mustJob(t, b.store, b.clock, "q")
		failed, err := b.store.Queue().FailJob(b.ctx, b.clock, mustRunningJob(t, b.store, b.clock, mustWorker(t, b.store, b.clock)), "first")
		require.NoError(t, err)

		_, err = b.store.Queue().FailJob(b.ctx, b.clock, waiting, "no")
		require.ErrorIs(t, err, storage.ErrInvalidState)
		_, err = b.store.Queue().FailJob(b.ctx, b.clock, failed, "second")
		require.ErrorIs(t, err, storage.ErrInvalidState)
		requireJob(t, waiting, lookupJob(t, b, waiting.ID))
		requireJob(t, failed, lookupJob(t, b, failed.ID))
	})

	t.Run("PromoteScheduledOnlyDueJobs", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		early, err := b.store.Queue().ScheduleJob(b.ctx, b.clock, "q", nil, Epoch.Add(time.Hour-time.Microsecond), "")
		require.NoError(t, err)
		onTime, err := b.store.Queue().ScheduleJob(b.ctx, b.clock, "q", nil, Epoch.Add(time.Hour), "")
		require.NoError(t, err)
		late, err := b.store.Queue().ScheduleJob(b.ctx, b.clock, "q", nil, Epoch.Add(time.Hour+time.Microsecond), "")
		require.NoError(t, err)
		waiting := mustJob(t, b.store, b.clock, "q")
		b.clock.Advance(time.Hour)

		n, err := b.store.Queue().PromoteScheduled(b.ctx, b.clock, 10)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		for _, j := range []*storage.Job{early, onTime} {
			want := *j
			want.Status = storage.JobAvailable
			requireJob(t, &want, lookupJob(t, b, j.ID))
		}
		requireJob(t, late, lookupJob(t, b, late.ID))
		requireJob(t, waiting, lookupJob(t, b, waiting.ID))

		b.clock.Advance(time.Microsecond)
		n, err = b.store.Queue().PromoteScheduled(b.ctx, b.clock, 10)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, storage.JobAvailable, lookupJob(t, b, late.ID).Status)
	})

	t.Run("PromoteScheduledRespectsLimit", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		for range 3 {
			_, err := b.store.Queue().ScheduleJob(b.ctx, b.clock, "q", nil, Epoch, "")
			require.NoError(t, err)
		}

		for _, want := range []int{2, 1, 0} {
			n, err := b.store.Queue().PromoteScheduled(b.ctx, b.clock, 2)
			require.NoError(t, err)
			require.Equal(t, want, n)
		}
	})

	t.Run("PromoteScheduledLimitBelowOneIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.Queue().PromoteScheduled(b.ctx, b.clock, 0)
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("ConcurrentEnqueueKeepsEveryJob", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		var mu sync.Mutex
		ids := map[ulid.ULID]bool{}

		errs := concurrently(16, func(int) error {
			for range 5 {
				j, err := b.store.Queue().Enqueue(b.ctx, b.clock, "q", nil)
				if err != nil {
					return err
				}
				mu.Lock()
				ids[j.ID] = true
				mu.Unlock()
			}
			return nil
		})
		for _, err := range errs {
			require.NoError(t, err)
		}
		require.Len(t, ids, 80)
		for id := range ids {
			require.Equal(t, storage.JobAvailable, lookupJob(t, b, id).Status)
		}
	})
}

func testQueueReserve(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("ReserveSkipsOtherQueuesAndOrdersOldestFirst", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		w := mustWorker(t, b.store, b.clock)
		var want []*storage.Job
		var others []*storage.Job
		for i := range 9 {
			j := mustJob(t, b.store, b.clock, []string{"a", "c", "b"}[i%3])
			if j.Queue == "c" {
				others = append(others, j)
			} else {
				want = append(want, j)
			}
			b.clock.Advance(time.Millisecond)
		}
		scheduled, err := b.store.Queue().ScheduleJob(b.ctx, b.clock, "a", nil, Epoch, "")
		require.NoError(t, err)
		b.clock.Advance(time.Minute)

		got, err := b.store.Queue().Reserve(b.ctx, b.clock, w, []string{"b", "a"}, 10)
		require.NoError(t, err)
		for i, j := range want {
			r := *j
			r.Status, r.StartedAt, r.StartedBy = storage.JobRunning, at(b.clock), w.ID
			want[i] = &r
		}
		requireJobs(t, want, got)
		for _, j := range want {
			requireJob(t, j, lookupJob(t, b, j.ID))
		}
		for _, j := range others {
			requireJob(t, j, lookupJob(t, b, j.ID))
		}
		requireJob(t, scheduled, lookupJob(t, b, scheduled.ID))
	})

	t.Run("ReserveTakesAtMostN", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		w := mustWorker(t, b.store, b.clock)
		var ids []ulid.ULID
		for range 5 {
			ids = append(ids, mustJob(t, b.store, b.clock, "q").ID)
			b.clock.Advance(time.Millisecond)
		}

		for _, want := range [][]ulid.ULID{ids[0:2], ids[2:4], ids[4:5], nil} {
			got, err := b.store.Queue().Reserve(b.ctx, b.clock, w, []string{"q"}, 2)
			require.NoError(t, err)
			var gotIDs []ulid.ULID
			for _, j := range got {
				gotIDs = append(gotIDs, j.ID)
			}
			require.Equal(t, want, gotIDs)
		}
	})

	t.Run("ReserveNBelowOneIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		w := mustWorker(t, b.store, b.clock)
		j := mustJob(t, b.store, b.clock, "q")

		_, err := b.store.Queue().Reserve(b.ctx, b.clock, w, []string{"q"}, 0)
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
		requireJob(t, j, lookupJob(t, b, j.ID))
	})

	t.Run("ReservePromotedJob", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		w := mustWorker(t, b.store, b.clock)
		j, err := b.store.Queue().ScheduleJob(b.ctx, b.clock, "q", nil, Epoch.Add(time.Minute), "")
		require.NoError(t, err)
		got, err := b.store.Queue().Reserve(b.ctx, b.clock, w, []string{"q"}, 1)
		require.NoError(t, err)
		require.Empty(t, got, "a scheduled job is not available")
		b.clock.Advance(time.Minute)
		_, err = b.store.Queue().PromoteScheduled(b.ctx, b.clock, 1)
		require.NoError(t, err)

		got, err = b.store.Queue().Reserve(b.ctx, b.clock, w, []string{"q"}, 1)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, j.ID, got[0].ID)
	})

	t.Run("ConcurrentReserveNeverSharesAJob", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		const jobs, workers = 60, 8
		for range jobs {
			mustJob(t, b.store, b.clock, "q")
		}
		var ws []*storage.Worker
		for range workers {
			ws = append(ws, mustWorker(t, b.store, b.clock))
		}
		taken := make([][]*storage.Job, workers)

		errs := concurrently(workers, func(i int) error {
			for {
				got, err := b.store.Queue().Reserve(b.ctx, b.clock, ws[i], []string{"q"}, 3)
				if err != nil || len(got) == 0 {
					return err
				}
				taken[i] = append(taken[i], got...)
			}
		})
		seen := map[ulid.ULID]bool{}
		for i, err := range errs {
			require.NoError(t, err)
			for _, j := range taken[i] {
				require.False(t, seen[j.ID], "job %s reserved twice", j.ID)
				seen[j.ID] = true
				require.Equal(t, ws[i].ID, lookupJob(t, b, j.ID).StartedBy)
			}
		}
		require.Len(t, seen, jobs)
	})

	t.Run("ConcurrentCompleteHasOneWinner", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		j := mustRunningJob(t, b.store, b.clock, mustWorker(t, b.store, b.clock))

		errs := concurrently(16, func(int) error {
			_, err := b.store.Queue().CompleteJob(b.ctx, b.clock, j)
			return err
		})
		requireOneWinner(t, errs, storage.ErrInvalidState)
	})
}

func testQueueRetry(t *testing.T, f Factory) {
	t.Parallel()

	// failed returns a store bundle and a job that ran and failed.
	failed := func(t *testing.T) (bundle, *storage.Job) {
		t.Helper()
		b := setup(t, f)
		j, err := b.store.Queue().FailJob(b.ctx, b.clock, mustRunningJob(t, b.store, b.clock, mustWorker(t, b.store, b.clock)), "boom")
		require.NoError(t, err)
		return b, j
	}

	t.Run("RetryLinksNextAttempt", func(t *testing.T) {
		t.Parallel()
		b, j := failed(t)
		b.clock.Advance(time.Second)

		next, err := b.store.Queue().RetryJob(b.ctx, b.clock, j, 5*time.Minute)
		require.NoError(t, err)
		requireNewID(t, b.clock, next.ID)
		require.NotEqual(t, j.ID, next.ID)
		requireJob(t, &storage.Job{
			ID: next.ID, Queue: j.Queue, Payload: j.Payload, Status: storage.JobScheduled,
			CreatedAt: storage.Now(b.clock), ScheduledAt: ptr(storage.Now(b.clock).Add(5 * time.Minute)),
			Attempt: j.Attempt + 1, ScheduleName: j.ScheduleName,
		}, next)
		requireJob(t, next, lookupJob(t, b, next.ID))
		want := *j
		want.NextAttemptID = next.ID
		requireJob(t, &want, lookupJob(t, b, j.ID))
	})

	t.Run("RetryWithoutDelayIsAvailable", func(t *testing.T) {
		t.Parallel()
		b, j := failed(t)

		next, err := b.store.Queue().RetryJob(b.ctx, b.clock, j, 0)
		require.NoError(t, err)
		requireJob(t, &storage.Job{
			ID: next.ID, Queue: j.Queue, Payload: j.Payload, Status: storage.JobAvailable,
			CreatedAt: Epoch, Attempt: j.Attempt + 1, ScheduleName: j.ScheduleName,
		}, next)
		requireJob(t, next, lookupJob(t, b, next.ID))
	})

	t.Run("RetryLostJob", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		w := mustWorker(t, b.store, b.clock)
		j := mustRunningJob(t, b.store, b.clock, w)
		_, err := b.store.Queue().ShutdownWorker(b.ctx, b.clock, w)
		require.NoError(t, err)

		next, err := b.store.Queue().RetryJob(b.ctx, b.clock, lookupJob(t, b, j.ID), time.Minute)
		require.NoError(t, err)
		require.Equal(t, j.Attempt+1, next.Attempt)
		require.Equal(t, next.ID, lookupJob(t, b, j.ID).NextAttemptID)
	})

	t.Run("RetryTwiceIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b, j := failed(t)
		next, err := b.store.Queue().RetryJob(b.ctx, b.clock, j, time.Minute)
		require.NoError(t, err)

		_, err = b.store.Queue().RetryJob(b.ctx, b.clock, j, time.Minute)
		require.ErrorIs(t, err, storage.ErrInvalidState)
		require.Equal(t, next.ID, lookupJob(t, b, j.ID).NextAttemptID)
	})

	t.Run("RetryRunningOrCompletedIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		w := mustWorker(t, b.store, b.clock)
		running := mustRunningJob(t, b.store, b.clock, w)
		done, err := b.store.Queue().CompleteJob(b.ctx, b.clock, mustRunningJob(t, b.store, b.clock, w))
		require.NoError(t, err)

		for _, j := range []*storage.Job{running, done} {
			_, err := b.store.Queue().RetryJob(b.ctx, b.clock, j, time.Minute)
			require.ErrorIs(t, err, storage.ErrInvalidState, string(j.Status))
			requireJob(t, j, lookupJob(t, b, j.ID))
		}
	})

	t.Run("RetryUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.Queue().RetryJob(b.ctx, b.clock, &storage.Job{ID: unknownID(b.clock), Queue: "q", Status: storage.JobFailed}, time.Minute)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})
}

func testQueueSchedules(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("SetupCreatesSchedulesListedByName", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		require.NoError(t, b.store.Queue().SetupSchedules(b.ctx, []string{"beta", "alpha", "gamma"}))
		got, err := b.store.Queue().ListSchedules(b.ctx)
		require.NoError(t, err)
		require.Equal(t, []*storage.Schedule{{Name: "alpha"}, {Name: "beta"}, {Name: "gamma"}}, got)
	})

	t.Run("RecordScheduledRemembersJob", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		require.NoError(t, b.store.Queue().SetupSchedules(b.ctx, []string{"a", "b"}))
		j, err := b.store.Queue().ScheduleJob(b.ctx, b.clock, "q", nil, Epoch.Add(time.Hour), "a")
		require.NoError(t, err)
		b.clock.Advance(time.Second)

		require.NoError(t, b.store.Queue().RecordScheduled(b.ctx, b.clock, "a", j))
		got, err := b.store.Queue().ListSchedules(b.ctx)
		require.NoError(t, err)
		require.Equal(t, []*storage.Schedule{{Name: "a", LastScheduledAt: at(b.clock), LastScheduledJobID: j.ID}, {Name: "b"}}, got)
	})

	t.Run("SetupAgainKeepsRecords", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		require.NoError(t, b.store.Queue().SetupSchedules(b.ctx, []string{"a"}))
		j, err := b.store.Queue().ScheduleJob(b.ctx, b.clock, "q", nil, Epoch.Add(time.Hour), "a")
		require.NoError(t, err)
		require.NoError(t, b.store.Queue().RecordScheduled(b.ctx, b.clock, "a", j))

		require.NoError(t, b.store.Queue().SetupSchedules(b.ctx, []string{"a", "b"}))
		got, err := b.store.Queue().ListSchedules(b.ctx)
		require.NoError(t, err)
		require.Equal(t, []*storage.Schedule{{Name: "a", LastScheduledAt: &Epoch, LastScheduledJobID: j.ID}, {Name: "b"}}, got)
	})

	t.Run("RecordScheduledUnknownNameIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		require.NoError(t, b.store.Queue().SetupSchedules(b.ctx, []string{"a"}))
		j := mustJob(t, b.store, b.clock, "q")

		err := b.store.Queue().RecordScheduled(b.ctx, b.clock, "nope", j)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})
}
