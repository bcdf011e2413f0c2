package cleanup_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/robfig/cron/v3"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
)

// fakeRepo satisfies storage.Repository for jobs whose method ignores it.
type fakeRepo struct{ storage.Repository }

// candidates is a fake table: IDs 1..n, each deletable once.
type candidates struct {
	mu      sync.Mutex
	ids     []ulid.ULID
	deleted map[ulid.ULID]int
	calls   int
	fail    error
}

func newCandidates(n int) *candidates {
	c := &candidates{deleted: map[ulid.ULID]int{}}
	for i := 1; i <= n; i++ {
		var id ulid.ULID
		id[12], id[13], id[14], id[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		c.ids = append(c.ids, id)
	}
	return c
}

func (c *candidates) clean(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.fail != nil {
		return storage.Batch{}, c.fail
	}
	b := storage.Batch{Cursor: after}
	i := sort.Search(len(c.ids), func(i int) bool { return c.ids[i].Compare(after.ID) > 0 })
	for ; i < len(c.ids) && b.Scanned < limit; i++ {
		c.deleted[c.ids[i]]++
		b.Scanned++
		b.Affected++
		b.Cursor = storage.Cursor{ID: c.ids[i]}
	}
	return b, nil
}

func (c *candidates) job() cleanup.Job {
	j, _ := cleanup.Lookup("cleanup-queue-jobs")
	j.Method = func(storage.Repository) storage.CleanupFunc { return c.clean }
	return j
}

var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestRun(t *testing.T) {
	t.Parallel()
	clock := storage.NewTestClock(testNow)

	t.Run("TenThousandCandidatesInBatchesOfHundred", func(t *testing.T) {
		t.Parallel()
		c := newCandidates(10000)
		var batches []cleanup.BatchInfo
		r, err := cleanup.Run(context.Background(), c.job(), fakeRepo{}, clock, cleanup.Options{
			BatchSize: 100,
			OnBatch:   func(b cleanup.BatchInfo) { batches = append(batches, b) },
		})
		require.NoError(t, err)
		require.Equal(t, 101, r.Batches, "100 full batches and one short")
		require.Len(t, batches, 101)
		for i, b := range batches[:100] {
			require.Equal(t, 100, b.Affected, "batch %d", i+1)
			require.Equal(t, i+1, b.Number)
		}
		require.Equal(t, 0, batches[100].Scanned)
		require.Equal(t, 10000, r.Affected)
		require.Len(t, c.deleted, 10000)
		for id, n := range c.deleted {
			require.Equal(t, 1, n, "row %s counted %d times", id, n)
		}
		require.True(t, r.Finished())
		require.Equal(t, testNow.Add(-30*24*time.Hour), r.Horizon)
		require.Equal(t, c.ids[9999], r.Cursor.ID)
	})

	t.Run("ShortBatchEndsTheRun", func(t *testing.T) {
		t.Parallel()
		c := newCandidates(250)
		r, err := cleanup.Run(context.Background(), c.job(), fakeRepo{}, clock, cleanup.Options{BatchSize: 100})
		require.NoError(t, err)
		require.Equal(t, 3, r.Batches)
		require.Equal(t, 250, r.Affected)
	})

	t.Run("DefaultBatchSizeIsAThousand", func(t *testing.T) {
		t.Parallel()
		c := newCandidates(2500)
		r, err := cleanup.Run(context.Background(), c.job(), fakeRepo{}, clock, cleanup.Options{})
		require.NoError(t, err)
		require.Equal(t, 3, r.Batches)
	})

	t.Run("AdaptiveBatchSizeGrowsWhileFastAndShrinksWhenSlow", func(t *testing.T) {
		t.Parallel()
		// A batch takes 1ms per 100 rows, so the 50ms target is 5000 rows.
		run := func(start int) []int {
			c := newCandidates(100000)
			sw := &fakeStopwatch{}
			var limits []int
			job := c.job()
			job.Method = func(storage.Repository) storage.CleanupFunc {
				return func(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
					sw.advance(time.Duration(limit) * 10 * time.Microsecond)
					return c.clean(ctx, after, before, limit)
				}
			}
			r, err := cleanup.Run(context.Background(), job, fakeRepo{}, clock, cleanup.Options{
				BatchSize: start, TargetBatchDuration: 50 * time.Millisecond, Stopwatch: sw,
				OnBatch: func(b cleanup.BatchInfo) { limits = append(limits, b.Limit) },
			})
			require.NoError(t, err)
			require.Equal(t, 100000, r.Affected)
			require.Len(t, c.deleted, 100000)
			return limits
		}
		// Grows in proportion, at most doubling, while under 3/4 of the
		// target: doubles up to 3200 (32ms), then to 3200*50/32 = 5000
		// rather than past the target, and holds there at 50ms.
		require.Equal(t, []int{100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000}, run(100)[:9])
		// 20000 rows take 200ms: at most halve (10000, 100ms), then 5000.
		require.Equal(t, []int{20000, 10000, 5000, 5000}, run(20000)[:4])
	})

	t.Run("MaxBatches", func(t *testing.T) {
		t.Parallel()
		c := newCandidates(1000)
		r, err := cleanup.Run(context.Background(), c.job(), fakeRepo{}, clock, cleanup.Options{BatchSize: 10, MaxBatches: 3})
		require.NoError(t, err)
		require.Equal(t, cleanup.StoppedMaxBatches, r.Stopped)
		require.Equal(t, 30, r.Affected)
		require.Len(t, c.deleted, 30)
	})

	t.Run("MaxRowsShrinksTheLastBatch", func(t *testing.T) {
		t.Parallel()
		c := newCandidates(1000)
		r, err := cleanup.Run(context.Background(), c.job(), fakeRepo{}, clock, cleanup.Options{BatchSize: 10, MaxRows: 25})
		require.NoError(t, err)
		require.Equal(t, cleanup.StoppedMaxRows, r.Stopped)
		require.Equal(t, 25, r.Affected)
		require.Len(t, c.deleted, 25)
	})

	t.Run("MaxDurationStopsBetweenBatches", func(t *testing.T) {
		t.Parallel()
		c := newCandidates(1000)
		sw := &fakeStopwatch{}
		r, err := cleanup.Run(context.Background(), c.job(), fakeRepo{}, clock, cleanup.Options{
			BatchSize: 10, MaxDuration: 5 * time.Second, Stopwatch: sw,
			OnBatch: func(cleanup.BatchInfo) { sw.advance(2 * time.Second) },
		})
		require.NoError(t, err)
		require.Equal(t, cleanup.StoppedMaxDuration, r.Stopped)
		require.Equal(t, 3, r.Batches, "2s, 4s: go on; 6s: stop")
		require.Equal(t, 30, r.Affected)
	})

	t.Run("CancellationKeepsFinishedBatchesAndRerunCompletes", func(t *testing.T) {
		t.Parallel()
		c := newCandidates(100)
		ctx, cancel := context.WithCancel(context.Background())
		r, err := cleanup.Run(ctx, c.job(), fakeRepo{}, clock, cleanup.Options{
			BatchSize: 10,
			OnBatch: func(b cleanup.BatchInfo) {
				if b.Number == 3 {
					cancel()
				}
			},
		})
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, cleanup.StoppedCancelled, r.Stopped)
		require.Equal(t, 3, r.Batches)
		require.Len(t, c.deleted, 30)

		c.ids = c.ids[30:] // what the first run deleted is gone
		r, err = cleanup.Run(context.Background(), c.job(), fakeRepo{}, clock, cleanup.Options{BatchSize: 10})
		require.NoError(t, err)
		require.Equal(t, 70, r.Affected)
		require.Len(t, c.deleted, 100)
	})

	t.Run("CancellationDuringPause", func(t *testing.T) {
		t.Parallel()
		c := newCandidates(100)
		ctx, cancel := context.WithCancel(context.Background())
		r, err := cleanup.Run(ctx, c.job(), fakeRepo{}, clock, cleanup.Options{
			BatchSize: 10, Pause: time.Hour,
			OnBatch: func(cleanup.BatchInfo) { cancel() },
		})
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, cleanup.StoppedCancelled, r.Stopped)
		require.Equal(t, 1, r.Batches)
	})

	t.Run("StopFinishesTheBatchInFlight", func(t *testing.T) {
		t.Parallel()
		c := newCandidates(100)
		stopCh := make(chan struct{})
		r, err := cleanup.Run(context.Background(), c.job(), fakeRepo{}, clock, cleanup.Options{
			BatchSize: 10,
			Stop:      stopCh,
			OnBatch: func(b cleanup.BatchInfo) {
				if b.Number == 2 {
					close(stopCh)
				}
			},
		})
		require.NoError(t, err)
		require.Equal(t, cleanup.StoppedRequested, r.Stopped)
		require.Equal(t, 2, r.Batches)
		require.Len(t, c.deleted, 20)
	})

	t.Run("FailedBatchNamesJobAndBatch", func(t *testing.T) {
		t.Parallel()
		c := newCandidates(10)
		c.fail = errors.New("boom")
		r, err := cleanup.Run(context.Background(), c.job(), fakeRepo{}, clock, cleanup.Options{})
		require.ErrorContains(t, err, "cleanup-queue-jobs: batch 1: boom")
		require.Equal(t, cleanup.StoppedFailed, r.Stopped)
	})

	t.Run("AFailedJobDoesNotStopTheOthers", func(t *testing.T) {
		t.Parallel()
		bad, good := newCandidates(10), newCandidates(10)
		bad.fail = errors.New("boom")
		var told []cleanup.Report
		var events []string
		var horizons []time.Time
		reports, err := cleanup.RunJobs(context.Background(), []cleanup.Job{bad.job(), good.job()}, fakeRepo{}, clock, cleanup.Options{
			OnJobStart: func(j cleanup.Job, horizon time.Time) {
				events = append(events, "start")
				horizons = append(horizons, horizon)
			},
			OnBatch: func(cleanup.BatchInfo) { events = append(events, "batch") },
			OnJob: func(r cleanup.Report) {
				events = append(events, "end")
				told = append(told, r)
			},
		})
		require.ErrorContains(t, err, "boom")
		require.Len(t, reports, 2)
		require.Equal(t, reports, told, "OnJob hears of each job as it ends")
		require.Equal(t, []string{"start", "end", "start", "batch", "end"}, events, "OnJobStart comes before the job's first batch")
		require.Equal(t, []time.Time{reports[0].Horizon, reports[1].Horizon}, horizons)
		require.Equal(t, 10, reports[1].Affected)
	})

	t.Run("DryRunNeedsAStore", func(t *testing.T) {
		t.Parallel()
		c := newCandidates(10)
		_, err := cleanup.Run(context.Background(), c.job(), fakeRepo{}, clock, cleanup.Options{DryRun: true})
		require.ErrorIs(t, err, cleanup.ErrDryRunNeedsStore)
		require.Zero(t, c.calls)
	})
}

type fakeStopwatch struct {
	mu  sync.Mutex
	now time.Duration
}

func (s *fakeStopwatch) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now += d
}

func (s *fakeStopwatch) Start() func() time.Duration {
	s.mu.Lock()
	start := s.now
	s.mu.Unlock()
	return func() time.Duration {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.now - start
	}
}

func TestInvalidInputIsRefusedBeforeAnythingRuns(t *testing.T) {
	t.Parallel()
	known := storage.NewTestClock(testNow)
	for _, tc := range []struct {
		name  string
		repo  storage.Repository
		clock storage.Clock
		opts  cleanup.Options
		want  string
	}{
		{"BatchSizeNegative", fakeRepo{}, known, cleanup.Options{BatchSize: -1}, "batch size -1 out of range 1..100000"},
		{"BatchSizeTooLarge", fakeRepo{}, known, cleanup.Options{BatchSize: 100001}, "batch size 100001 out of range"},
		{"RetentionZero", fakeRepo{}, known, cleanup.Options{Retention: map[string]time.Duration{"cleanup-queue-jobs": 0}}, "retention 0s of cleanup-queue-jobs out of range"},
		{"RetentionNegative", fakeRepo{}, known, cleanup.Options{Retention: map[string]time.Duration{"cleanup-queue-jobs": -time.Hour}}, "retention -1h0m0s of cleanup-queue-jobs"},
		{"RetentionAbsurd", fakeRepo{}, known, cleanup.Options{Retention: map[string]time.Duration{"cleanup-queue-jobs": 200 * 365 * 24 * time.Hour}}, "out of range"},
		{"RetentionOfUnknownJob", fakeRepo{}, known, cleanup.Options{Retention: map[string]time.Duration{"cleanup-everything": time.Hour}}, `unknown cleanup job "cleanup-everything" (known: expire-inactive-sessions, cleanup-finished-compat-sessions,`},
		{"WindowSizeNegative", fakeRepo{}, known, cleanup.Options{WindowSize: -1}, "window size -1 out of range 0..1000000"},
		{"WindowSizeTooLarge", fakeRepo{}, known, cleanup.Options{WindowSize: 1000001}, "window size 1000001 out of range"},
		{"NegativeLimits", fakeRepo{}, known, cleanup.Options{MaxBatches: -1, MaxRows: -2, MaxDuration: -time.Second, Pause: -time.Second}, "max batches -1 is negative"},
		{"NilRepository", nil, known, cleanup.Options{}, "repository is nil"},
		{"NilClock", fakeRepo{}, nil, cleanup.Options{}, "clock is nil"},
		{"ZeroTimeClock", fakeRepo{}, storage.NewTestClock(time.Time{}), cleanup.Options{}, "clock reads the zero time"},
		{"FarFutureClock", fakeRepo{}, storage.NewTestClock(time.Date(5000, 1, 1, 0, 0, 0, 0, time.UTC)), cleanup.Options{}, "clock reads 5000-01-01T00:00:00Z, outside 2000..2999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCandidates(10)
			_, err := cleanup.Run(context.Background(), c.job(), tc.repo, tc.clock, tc.opts)
			require.ErrorIs(t, err, cleanup.ErrInvalidOptions)
			require.ErrorContains(t, err, tc.want)
			require.Zero(t, c.calls, "nothing may run")
			require.Empty(t, c.deleted)
		})
	}
}

func TestJobTable(t *testing.T) {
	t.Parallel()

	t.Run("MASHasTwentyJobsInBackchannelSafeOrder", func(t *testing.T) {
		jobs := cleanup.Jobs()
		require.Len(t, jobs, 20)
		pos := map[string]int{}
		for i, j := range jobs {
			require.True(t, j.FromMAS, j.Name)
			pos[j.Name] = i
		}
		require.Less(t, pos["cleanup-finished-compat-sessions"], pos["cleanup-finished-user-sessions"])
		require.Less(t, pos["cleanup-finished-oauth2-sessions"], pos["cleanup-finished-user-sessions"])
		require.Less(t, pos["cleanup-finished-user-sessions"], pos["cleanup-upstream-oauth-sessions"])
		require.Less(t, pos["cleanup-upstream-oauth-sessions"], pos["cleanup-upstream-oauth-links"])
	})

	t.Run("EveryJobIsComplete", func(t *testing.T) {
		seen := map[string]bool{}
		for _, j := range cleanup.AllJobs() {
			require.False(t, seen[j.Name], "duplicate %s", j.Name)
			seen[j.Name] = true
			require.Regexp(t, `^(cleanup|prune|expire)-[a-z0-9-]+$`, j.Name)
			require.NotEmpty(t, j.Description, j.Name)
			if j.Steps == nil {
				require.Positive(t, j.Retention, j.Name)
				require.NotNil(t, j.Method, j.Name)
			} else {
				require.Nil(t, j.Method, j.Name)
			}
			_, err := cronParser.Parse(j.Cadence)
			require.NoError(t, err, j.Name)
			require.NotEmpty(t, j.Tables, j.Name)
			switch j.Effect {
			case cleanup.Finishes:
				require.Equal(t, "expire-inactive-sessions", j.Name)
			case cleanup.ClearsIPs:
				require.Contains(t, j.Description, "the IP address", j.Name)
				require.Len(t, j.Tables, 1, j.Name)
			default:
				require.Equal(t, cleanup.Deletes, j.Effect, j.Name)
				require.NotContains(t, j.Description, "the IP address", j.Name)
			}
		}
		require.Len(t, cleanup.ExtraJobs(), 6)
		for _, j := range cleanup.ExtraJobs() {
			require.False(t, j.FromMAS, j.Name)
		}
	})

	t.Run("SelectKeepsDependencyOrder", func(t *testing.T) {
		jobs, err := cleanup.Select("cleanup-upstream-oauth-sessions", "cleanup-finished-compat-sessions")
		require.NoError(t, err)
		require.Equal(t, "cleanup-finished-compat-sessions", jobs[0].Name)
		require.Equal(t, "cleanup-upstream-oauth-sessions", jobs[1].Name)
		_, err = cleanup.Select("cleanup-nothing")
		require.ErrorContains(t, err, `unknown cleanup job "cleanup-nothing"`)
		all, err := cleanup.Select()
		require.NoError(t, err)
		require.Len(t, all, 26)
	})
}

// cronParser reads cadences as the janitor does: five fields, or six with
// seconds first.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

func expireWithMinimumTTL(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (cleanup.Report, error) {
	return cleanup.ExpireInactiveSessions(ctx, repo, clock, cleanup.MinInactiveSessionTTL, batchSize)
}

func TestShortcutsNameRealJobs(t *testing.T) {
	t.Parallel()
	shortcuts := []func(context.Context, storage.Repository, storage.Clock, int) (cleanup.Report, error){
		cleanup.FinishedCompatSessions, cleanup.FinishedOAuth2Sessions, cleanup.FinishedUserSessions,
		cleanup.UpstreamOAuthSessions, cleanup.UpstreamOAuthLinks, cleanup.RevokedOAuthAccessTokens,
		cleanup.ExpiredOAuthAccessTokens, cleanup.RevokedOAuthRefreshTokens, cleanup.ConsumedOAuthRefreshTokens,
		cleanup.UserRegistrations, cleanup.OAuthAuthorizationGrants, cleanup.OAuthDeviceCodeGrants,
		cleanup.UserRecoverySessions, cleanup.UserEmailAuthentications, cleanup.InactiveOAuth2SessionIPs,
		cleanup.InactiveCompatSessionIPs, cleanup.InactiveUserSessionIPs, cleanup.QueueJobs,
		cleanup.PruneStalePolicyData, expireWithMinimumTTL,
		cleanup.AbandonedCompatSSOLogins, cleanup.LostQueueJobs, cleanup.StaleQueueWorkers,
		cleanup.RevokedPersonalSessions, cleanup.RevokedPersonalAccessTokens, cleanup.InactivePersonalSessionIPs,
	}
	require.Len(t, shortcuts, len(cleanup.AllJobs()))
	names := map[string]bool{}
	for i, run := range shortcuts {
		// A nil repository stops the run before anything happens, after the
		// name was resolved.
		r, err := run(context.Background(), nil, storage.NewTestClock(testNow), 10)
		require.ErrorIs(t, err, cleanup.ErrInvalidOptions, fmt.Sprint(i))
		require.NotContains(t, err.Error(), "unknown cleanup job")
		names[r.Job] = true
	}
	require.Len(t, names, len(shortcuts), "each shortcut runs a different job")
}
