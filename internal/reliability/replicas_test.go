package reliability

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/postgres"
)

// replicaCount is how many janitors run at once on one database.
const replicaCount = 4

// TestReplicasAgreeWithASingleRun runs four janitor processes at once on a
// copy of a 200 000-row dataset, and one janitor alone on another copy: the
// four finish, none fails, the rows left are those the single run leaves, and
// their reports add up to its.
func TestReplicasAgreeWithASingleRun(t *testing.T) {
	t.Parallel()
	bin := bulkJanitor(t)
	srv := bulkConnect(t)
	src := srv.migrated(t)
	rows := bulkFillCleanup(t, src.DB, 10000*bulkScale(t))
	dbs := srv.copies(t, src, 2)
	single, replicated := dbs[0], dbs[1]
	t.Logf("dataset: %d rows", rows)

	// Bounded time: a deadlock or a wedged job shows as a kill at the deadline.
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(bulkScale(t))*3*time.Minute)
	defer cancel()

	one := bulkRunJanitor(ctx, t, bin, single.URL)
	require.Equal(t, 0, one.Code, one.Stderr)
	want := bulkReports(t, one.Stdout)
	require.Len(t, want, len(jobsOn(cleanup.Options{})), "a report for every job but the optional ones, off without a retention")
	for job, r := range want {
		require.Nil(t, r.Stopped, job)
	}
	t.Logf("single run: %s", one.Took.Round(time.Millisecond))

	runs := make([]bulkJanitorRun, replicaCount)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			runs[i] = bulkRunJanitor(ctx, t, bin, replicated.URL)
		}()
	}
	close(start)
	wg.Wait()
	require.NoError(t, ctx.Err(), "the replicas did not finish in time: deadlock?")

	got := map[string]int{}
	for i, r := range runs {
		require.Equal(t, 0, r.Code, "replica %d: %s", i, r.Stderr)
		reports := bulkReports(t, r.Stdout)
		require.Len(t, reports, len(want), "replica %d", i)
		for job, rep := range reports {
			require.Nil(t, rep.Stopped, "replica %d, %s", i, job)
			got[job] += rep.Affected
		}
		t.Logf("replica %d: %s", i, r.Took.Round(time.Millisecond))
	}

	t.Run("RowsLeftAreThoseOfASingleRun", func(t *testing.T) {
		require.Empty(t, bulkDiff(bulkDigest(t, single.DB), bulkDigest(t, replicated.DB)))
	})
	t.Run("AffectedCountsAddUpToTheSingleRun", func(t *testing.T) {
		var lines []string
		for job, r := range want {
			require.Equal(t, r.Affected, got[job], job)
			lines = append(lines, job+"="+strconv.Itoa(r.Affected))
		}
		t.Logf("affected: %s", strings.Join(lines, " "))
	})
	t.Run("EveryJobHadWork", func(t *testing.T) {
		for job, r := range want {
			require.Positive(t, r.Affected, job)
		}
	})
}

// TestReplicasLeaveAParentWhoseChildAnotherReplicaDeleted pins down how two
// replicas can end with a row that a single run deletes: replica Q's batch of
// browser sessions locks session C and sees, in its snapshot, C's compat
// session X, which replica R deletes and commits meanwhile; R's own browser
// session batch then skips C, which Q holds. Both runs end without error, and
// C (finished long ago, now childless) stays until the next run. A trigger
// that sleeps on deleting an authentication holds Q's batch open long enough
// to make the interleaving certain.
func TestReplicasLeaveAParentWhoseChildAnotherReplicaDeleted(t *testing.T) {
	t.Parallel()
	srv := bulkConnect(t)
	db := srv.migrated(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := db.DB.ExecContext(ctx, `
		INSERT INTO users (user_id, username, created_at) VALUES ('00000000-0000-0000-0000-000000000001', 'u', '2026-01-01');
		-- D goes in Q's batch and holds it open; C is the parent of X.
		INSERT INTO user_sessions (user_session_id, user_id, created_at, finished_at) VALUES
			('00000000-0000-0000-0000-0000000000d1', '00000000-0000-0000-0000-000000000001', '2026-01-01', '2026-02-01'),
			('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-000000000001', '2026-01-01', '2026-02-02');
		INSERT INTO user_session_authentications (user_session_authentication_id, user_session_id, created_at)
		VALUES ('00000000-0000-0000-0000-0000000000aa', '00000000-0000-0000-0000-0000000000d1', '2026-01-01');
		INSERT INTO compat_sessions (compat_session_id, user_id, user_session_id, created_at, finished_at)
		VALUES ('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000c1', '2026-01-01', '2026-02-01');
		CREATE FUNCTION slow_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN OLD; END $$;
		CREATE TRIGGER slow_delete BEFORE DELETE ON user_session_authentications FOR EACH ROW EXECUTE FUNCTION slow_delete();`)
	require.NoError(t, err)
	store := postgres.New(db.DB)
	clock := storage.NewTestClock(bulkNow)

	// R's compat batch: X deleted, not yet committed.
	r, err := db.DB.BeginTxx(ctx, nil)
	require.NoError(t, err)
	defer r.Rollback() //nolint:errcheck // a no-op after Commit
	deleted, err := cleanup.Run(ctx, mustJob(t, "cleanup-finished-compat-sessions"), postgres.NewRepository(r), clock, cleanup.Options{})
	require.NoError(t, err)
	require.Equal(t, 1, deleted.Affected)

	// Q's browser session batch: its snapshot still has X.
	q := make(chan error, 1)
	var qReport cleanup.Report
	go func() {
		var err error
		qReport, err = cleanup.Run(ctx, mustJob(t, "cleanup-finished-user-sessions"), store, clock, cleanup.Options{})
		q <- err
	}()
	replicaWaitForSleep(ctx, t, srv, db.Name)
	require.NoError(t, r.Commit())
	rReport, err := cleanup.Run(ctx, mustJob(t, "cleanup-finished-user-sessions"), store, clock, cleanup.Options{})
	require.NoError(t, err, "replica R")
	require.NoError(t, <-q, "replica Q")
	t.Logf("Q deleted %d, R deleted %d", qReport.Affected, rReport.Affected)

	var left int
	require.NoError(t, db.DB.GetContext(ctx, &left, `SELECT count(*) FROM user_sessions WHERE user_session_id = '00000000-0000-0000-0000-0000000000c1'`))
	t.Run("NextRunDeletesIt", func(t *testing.T) {
		next, err := cleanup.Run(ctx, mustJob(t, "cleanup-finished-user-sessions"), store, clock, cleanup.Options{})
		require.NoError(t, err)
		require.Equal(t, left, next.Affected)
		var n int
		require.NoError(t, db.DB.GetContext(ctx, &n, `SELECT count(*) FROM user_sessions`))
		require.Zero(t, n)
	})
	t.Run("SameRowsAsASingleRun", func(t *testing.T) {
		// Q decided on a snapshot that still had C's compat session; had Q
		// locked C, R would have skipped it. Only deletable candidates are
		// locked, so R deletes it.
		require.Zero(t, left, "browser session C, childless once R's compat batch committed, is left behind")
	})
}

// jobsOn returns the names of the jobs of AllJobs that opts turn on: what
// the janitor runs.
func jobsOn(opts cleanup.Options) []string {
	var names []string
	for _, j := range cleanup.AllJobs() {
		if j.On(opts) {
			names = append(names, j.Name)
		}
	}
	return names
}

func mustJob(t testing.TB, name string) cleanup.Job {
	t.Helper()
	j, err := cleanup.Lookup(name)
	require.NoError(t, err)
	return j
}

// replicaWaitForSleep waits until a backend of the database sleeps in pg_sleep.
func replicaWaitForSleep(ctx context.Context, t testing.TB, srv *bulkServer, dbName string) {
	t.Helper()
	for ctx.Err() == nil {
		var n int
		require.NoError(t, srv.admin.GetContext(ctx, &n, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event = 'PgSleep'`, dbName))
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the batch never reached the trigger")
}
