package storagetest

import (
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

func jobCleanup(r storage.Repository) storage.CleanupFunc     { return r.Queue().CleanupJobs }
func lostJobCleanup(r storage.Repository) storage.CleanupFunc { return r.Queue().CleanupLostJobs }
func workerCleanup(r storage.Repository) storage.CleanupFunc  { return r.Queue().CleanupWorkers }

// queueCleanupCases: finished jobs, lost jobs and stale workers.
func queueCleanupCases() []cleanupCase {
	return []cleanupCase{
		{
			name:  "Queue.CleanupJobs",
			run:   jobCleanup,
			order: byULIDAge,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when)
				j := e.completedJob(mustWorker(e.t, e.store, e.clock))
				return func() bool { return e.hasJob(j.ID) }
			},
			rules: []cleanupRule{
				{"DeletesFailedJobs", func(e *cleanupEnv) {
					e.set(-time.Hour)
					j := e.failedJob(mustWorker(e.t, e.store, e.clock))
					require.Equal(e.t, 1, e.batch(jobCleanup(e.store), storage.Cursor{}, 10).Affected)
					require.False(e.t, e.hasJob(j.ID))
				}},
				{"KeepsJobsNeitherCompletedNorFailed", func(e *cleanupEnv) {
					e.set(-time.Hour)
					w := mustWorker(e.t, e.store, e.clock)
					available := mustJob(e.t, e.store, e.clock, unique("queue"))
					running := mustRunningJob(e.t, e.store, e.clock, w)
					scheduled, err := e.store.Queue().ScheduleJob(e.ctx, e.clock, unique("queue"), nil, e.horizon.Add(24*time.Hour), "")
					require.NoError(e.t, err)
					lost := e.lostJob()
					requireUntouched(e, jobCleanup(e.store),
						func() bool { return e.hasJob(available.ID) },
						func() bool { return e.hasJob(running.ID) },
						func() bool { return e.hasJob(scheduled.ID) },
						func() bool { return e.hasJob(lost.ID) })
				}},
				{"AgesJobsByCreationNotCompletion", func(e *cleanupEnv) {
					e.set(-time.Hour)
					j := mustRunningJob(e.t, e.store, e.clock, mustWorker(e.t, e.store, e.clock))
					e.set(time.Hour)
					_, err := e.store.Queue().CompleteJob(e.ctx, e.clock, j)
					require.NoError(e.t, err)
					require.Equal(e.t, 1, e.batch(jobCleanup(e.store), storage.Cursor{}, 10).Affected)
					require.False(e.t, e.hasJob(j.ID))
				}},
			},
		},
		{
			name:  "Queue.CleanupLostJobs",
			run:   lostJobCleanup,
			order: byULIDAge,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when)
				j := e.lostJob()
				return func() bool { return e.hasJob(j.ID) }
			},
			rules: []cleanupRule{{"KeepsJobsNotLost", func(e *cleanupEnv) {
				e.set(-time.Hour)
				w := mustWorker(e.t, e.store, e.clock)
				completed := e.completedJob(w)
				failed := e.failedJob(w)
				running := mustRunningJob(e.t, e.store, e.clock, w)
				available := mustJob(e.t, e.store, e.clock, unique("queue"))
				requireUntouched(e, lostJobCleanup(e.store),
					func() bool { return e.hasJob(completed.ID) },
					func() bool { return e.hasJob(failed.ID) },
					func() bool { return e.hasJob(running.ID) },
					func() bool { return e.hasJob(available.ID) })
			}}},
		},
		{
			name:  "Queue.CleanupWorkers",
			run:   workerCleanup,
			order: byID,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when)
				w := mustWorker(e.t, e.store, e.clock)
				return func() bool { return e.hasWorker(w.ID) }
			},
			rules: []cleanupRule{
				{"KeepsWorkersSeenAtHorizon", func(e *cleanupEnv) {
					e.set(-time.Hour)
					w := mustWorker(e.t, e.store, e.clock)
					e.set(0)
					_, err := e.store.Queue().Heartbeat(e.ctx, e.clock, w)
					require.NoError(e.t, err)
					requireUntouched(e, workerCleanup(e.store), func() bool { return e.hasWorker(w.ID) })
				}},
				{"DeletesWorkersShutDownBeforeHorizon", func(e *cleanupEnv) {
					e.set(-2 * time.Hour)
					w := mustWorker(e.t, e.store, e.clock)
					e.set(-time.Hour)
					_, err := e.store.Queue().ShutdownWorker(e.ctx, e.clock, w)
					require.NoError(e.t, err)
					require.Equal(e.t, 1, e.batch(workerCleanup(e.store), storage.Cursor{}, 10).Affected)
					require.False(e.t, e.hasWorker(w.ID))
				}},
				{"KeepsWorkersNamedByAJob", func(e *cleanupEnv) {
					e.set(-time.Hour)
					w := mustWorker(e.t, e.store, e.clock)
					mustRunningJob(e.t, e.store, e.clock, w)
					requireUntouched(e, workerCleanup(e.store), func() bool { return e.hasWorker(w.ID) })
				}},
				{"SkipsTheLeaderEvenOnceItsLeaseExpiredAndMovesPast", func(e *cleanupEnv) {
					e.set(-time.Hour)
					w := mustWorker(e.t, e.store, e.clock)
					l, err := e.store.Queue().TakeLeadership(e.ctx, e.clock, w, lease)
					require.NoError(e.t, err)
					require.True(e.t, l.ExpiresAt.Before(e.horizon))

					requireSkipped(e, workerCleanup(e.store), func() bool { return e.hasWorker(w.ID) })
					got, err := e.store.Queue().LookupLeader(e.ctx)
					require.NoError(e.t, err)
					require.Equal(e.t, l, got)
				}},
				{"DeletesTheLeaderOnceItShutDown", func(e *cleanupEnv) {
					// Its shutdown released the lease, so nothing names it.
					e.set(-2 * time.Hour)
					w := mustWorker(e.t, e.store, e.clock)
					_, err := e.store.Queue().TakeLeadership(e.ctx, e.clock, w, lease)
					require.NoError(e.t, err)
					e.set(-time.Hour)
					_, err = e.store.Queue().ShutdownWorker(e.ctx, e.clock, w)
					require.NoError(e.t, err)

					require.Equal(e.t, 1, e.batch(workerCleanup(e.store), storage.Cursor{}, 10).Affected)
					require.False(e.t, e.hasWorker(w.ID))
				}},
			},
		},
	}
}
