package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// lease is the queue leader's lease in these tests.
const lease = 30 * time.Second

func testQueueLeader(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("LookupWithoutLeaderIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustWorker(t, b.store, b.clock)

		_, err := b.store.Queue().LookupLeader(b.ctx)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("TakeWithoutLeaderElectsWorker", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		w := mustWorker(t, b.store, b.clock)
		b.clock.Advance(time.Second)

		l := takeLeadership(t, b, w)
		now := storage.Now(b.clock)
		require.Equal(t, &storage.Leader{WorkerID: w.ID, ElectedAt: now, ExpiresAt: now.Add(lease)}, l)
		require.Equal(t, l, lookupLeader(t, b))
	})

	t.Run("TakeAgainExtendsLeaseKeepsElection", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		w := mustWorker(t, b.store, b.clock)
		takeLeadership(t, b, w)
		b.clock.Advance(20 * time.Second)

		l := takeLeadership(t, b, w)
		require.Equal(t, &storage.Leader{WorkerID: w.ID, ElectedAt: Epoch, ExpiresAt: storage.Now(b.clock).Add(lease)}, l)
		require.Equal(t, l, lookupLeader(t, b))
	})

	t.Run("TakeWhileAnothersLeaseIsLiveReturnsThatLeader", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		leader := mustWorker(t, b.store, b.clock)
		other := mustWorker(t, b.store, b.clock)
		held := takeLeadership(t, b, leader)

		b.clock.Set(Epoch.Add(lease - time.Microsecond))
		require.Equal(t, held, takeLeadership(t, b, other))
		require.Equal(t, held, lookupLeader(t, b))
	})

	t.Run("TakeOnceAnothersLeaseExpiredElectsWorker", func(t *testing.T) {
		t.Parallel()
		for name, d := range map[string]time.Duration{"AtExpiry": 0, "AfterExpiry": time.Microsecond} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				b := setup(t, f)
				old := mustWorker(t, b.store, b.clock)
				next := mustWorker(t, b.store, b.clock)
				takeLeadership(t, b, old)

				b.clock.Set(Epoch.Add(lease + d))
				l := takeLeadership(t, b, next)
				now := storage.Now(b.clock)
				require.Equal(t, &storage.Leader{WorkerID: next.ID, ElectedAt: now, ExpiresAt: now.Add(lease)}, l)
				require.Equal(t, l, lookupLeader(t, b))
				// The old leader now finds the new one in place.
				require.Equal(t, l, takeLeadership(t, b, old))
			})
		}
	})

	t.Run("LookupReturnsExpiredLeader", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		l := takeLeadership(t, b, mustWorker(t, b.store, b.clock))

		b.clock.Advance(time.Hour)
		require.Equal(t, l, lookupLeader(t, b))
	})

	t.Run("TakeByShutDownWorkerIsInvalidState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		leader := mustWorker(t, b.store, b.clock)
		takeLeadership(t, b, leader)
		gone := mustWorker(t, b.store, b.clock)
		for _, w := range []*storage.Worker{leader, gone} {
			_, err := b.store.Queue().ShutdownWorker(b.ctx, b.clock, w)
			require.NoError(t, err)
		}

		for _, w := range []*storage.Worker{leader, gone} {
			_, err := b.store.Queue().TakeLeadership(b.ctx, b.clock, w, lease)
			require.ErrorIs(t, err, storage.ErrInvalidState)
		}
	})

	t.Run("ShutdownOfTheLeaderReleasesItsLease", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		leader := mustWorker(t, b.store, b.clock)
		other := mustWorker(t, b.store, b.clock)
		next := mustWorker(t, b.store, b.clock)
		held := takeLeadership(t, b, leader)
		b.clock.Advance(time.Second)

		// Another worker's shutdown leaves the lease alone.
		_, err := b.store.Queue().ShutdownWorker(b.ctx, b.clock, other)
		require.NoError(t, err)
		require.Equal(t, held, lookupLeader(t, b))

		// The leader's frees it at once: next is elected well before
		// the lease would have expired.
		_, err = b.store.Queue().ShutdownWorker(b.ctx, b.clock, leader)
		require.NoError(t, err)
		_, err = b.store.Queue().LookupLeader(b.ctx)
		require.ErrorIs(t, err, storage.ErrNotFound)
		now := storage.Now(b.clock)
		require.Equal(t, &storage.Leader{WorkerID: next.ID, ElectedAt: now, ExpiresAt: now.Add(lease)}, takeLeadership(t, b, next))
	})

	t.Run("TakeWithLeaseBelowOneSecondIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		w := mustWorker(t, b.store, b.clock)

		for _, d := range []time.Duration{time.Second - time.Microsecond, 0, -time.Second} {
			_, err := b.store.Queue().TakeLeadership(b.ctx, b.clock, w, d)
			require.ErrorIs(t, err, storage.ErrInvalidArgument, "lease %s", d)
		}
		_, err := b.store.Queue().LookupLeader(b.ctx)
		require.ErrorIs(t, err, storage.ErrNotFound)
		l, err := b.store.Queue().TakeLeadership(b.ctx, b.clock, w, time.Second)
		require.NoError(t, err)
		require.Equal(t, Epoch.Add(time.Second), l.ExpiresAt)
	})

	t.Run("TakeByUnknownWorkerIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.Queue().TakeLeadership(b.ctx, b.clock, &storage.Worker{ID: unknownID(b.clock)}, lease)
		require.ErrorIs(t, err, storage.ErrNotFound)
		_, err = b.store.Queue().TakeLeadership(b.ctx, b.clock, nil, lease)
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		clock := oddClock()

		l, err := b.store.Queue().TakeLeadership(b.ctx, clock, mustWorker(t, b.store, clock), lease)
		require.NoError(t, err)
		want := storage.Timestamp(oddInstant)
		require.Equal(t, want, l.ElectedAt)
		require.Equal(t, storage.Timestamp(oddInstant.Add(lease)), l.ExpiresAt)
		got := lookupLeader(t, b)
		require.Equal(t, l, got)
		require.Equal(t, time.UTC, got.ExpiresAt.Location())
	})

	t.Run("ConcurrentTakeElectsOneLeader", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		const n = 8
		workers := make([]*storage.Worker, n)
		for i := range workers {
			workers[i] = mustWorker(t, b.store, b.clock)
		}
		leaders := make([]*storage.Leader, n)

		errs := concurrently(n, func(i int) error {
			var err error
			leaders[i], err = b.store.Queue().TakeLeadership(b.ctx, b.clock, workers[i], lease)
			return err
		})
		for _, err := range errs {
			require.NoError(t, err)
		}
		l := lookupLeader(t, b)
		for i := range leaders {
			require.Equal(t, l, leaders[i], "worker %d", i)
		}
	})
}

// takeLeadership has w take the queue's leadership for lease.
func takeLeadership(t *testing.T, b bundle, w *storage.Worker) *storage.Leader {
	t.Helper()
	l, err := b.store.Queue().TakeLeadership(b.ctx, b.clock, w, lease)
	require.NoError(t, err)
	return l
}

// lookupLeader returns the queue's leader, which must be there.
func lookupLeader(t *testing.T, b bundle) *storage.Leader {
	t.Helper()
	l, err := b.store.Queue().LookupLeader(b.ctx)
	require.NoError(t, err)
	return l
}
