package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/internal/pgtest"
)

// /readyz: ready on a migrated database; not ready, saying why, on an
// empty one and once the database is gone. /healthz stays ok.
func TestReadiness(t *testing.T) {
	t.Parallel()

	t.Run("EmptyDatabase", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		srv := httptest.NewServer(opsHandler(newMetrics(), readiness(db.DB.DB, cleanup.AllJobs(), db.URL)))
		defer srv.Close()
		code, body := get(t, srv.URL+"/readyz")
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Regexp(t, `^not ready: the database is not safe for the jobs: (type|table) \w+ is missing.* \(and \d+ more; run 'janitor verify'\)\n$`, body)
		code, body = get(t, srv.URL+"/healthz")
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "ok\n", body)
	})

	t.Run("MigratedThenGone", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Migrated(t)
		r := startReplica(t, buildJanitor(t), "run", "--database-url", db.URL, "--metrics-addr", "127.0.0.1:0")
		base := r.opsURL()
		code, body := get(t, base+"/readyz")
		require.Equal(t, http.StatusOK, code, body)
		require.Equal(t, "ready\n", body)

		// A table the jobs need goes: not ready, naming it.
		_, err := db.DB.Exec(`ALTER TABLE compat_sso_logins DROP CONSTRAINT compat_sso_logins_compat_session_id_fkey`)
		require.NoError(t, err)
		code, body = get(t, base+"/readyz")
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Contains(t, body, "not ready: the database is not safe for the jobs: ")
		require.Contains(t, body, "compat_sso_logins_compat_session_id_fkey")

		// The database goes away.
		admin, err := sqlx.Open("postgres", pgtest.AdminURL(t))
		require.NoError(t, err)
		defer admin.Close()
		_, err = admin.Exec(fmt.Sprintf("DROP DATABASE %s WITH (FORCE)", pq.QuoteIdentifier(db.Name)))
		require.NoError(t, err)
		code, body = get(t, base+"/readyz")
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Regexp(t, `^not ready: database unreachable: pq: database "\w+" does not exist \(3D000\)\n$`, body)
		code, _ = get(t, base+"/healthz")
		require.Equal(t, http.StatusOK, code, "the process is alive")
	})
}

// ticks returns, per tick, how many "job done" lines the replicas logged
// for job.
func ticks(job string, replicas ...*replica) map[string]int {
	out := map[string]int{}
	re := regexp.MustCompile(`msg="job done" job=` + job + ` .* tick=(\S+)`)
	for _, r := range replicas {
		for _, l := range r.log() {
			if m := re.FindStringSubmatch(l); m != nil {
				out[m[1]]++
			}
		}
	}
	return out
}

// seen returns the ticks a replica logged for job, run or skipped.
func seen(r *replica, job string) map[string]bool {
	out := map[string]bool{}
	re := regexp.MustCompile(`msg="job (?:done|skipped[^"]*)" job=` + job + ` .*tick=(\S+)`)
	for _, l := range r.log() {
		if m := re.FindStringSubmatch(l); m != nil {
			out[m[1]] = true
		}
	}
	return out
}

// Two replicas on one database: each job runs once per tick in all, the
// other replica skips it; the metrics agree with the logs.
func TestReplicasRunEachJobOncePerTick(t *testing.T) {
	t.Parallel()
	db := pgtest.Migrated(t)
	bin := buildJanitor(t)
	jobs := []string{"cleanup-queue-jobs", "cleanup-user-registrations"}
	args := []string{"run", "--database-url", db.URL, "--every", "1s", "--metrics-addr", "127.0.0.1:0", "--job", jobs[0], "--job", jobs[1]}
	a, b := startReplica(t, bin, args...), startReplica(t, bin, args...)
	urlA, urlB := a.opsURL(), b.opsURL()

	deadline := time.Now().Add(30 * time.Second)
	for len(ticks(jobs[0], a, b)) < 6 || len(ticks(jobs[1], a, b)) < 6 {
		require.True(t, time.Now().Before(deadline), "six ticks in 30 s")
		time.Sleep(100 * time.Millisecond)
	}
	ma, mb := scrape(t, urlA), scrape(t, urlB)
	for _, job := range jobs {
		done := ticks(job, a, b)
		for tick, n := range done {
			require.Equal(t, 1, n, "%s ran %d times for tick %s", job, n, tick)
		}
		// Every tick both replicas saw, one of them ran.
		both := 0
		seenA, seenB := seen(a, job), seen(b, job)
		for tick := range seenA {
			if seenB[tick] {
				both++
				require.Equal(t, 1, done[tick], "%s at %s", job, tick)
			}
		}
		require.GreaterOrEqual(t, both, 4, "the replicas shared ticks")
		require.Positive(t, a.count(`msg="job skipped.* job=`+job)+b.count(`msg="job skipped.* job=`+job), "one replica skipped")

		// runs_total counts the runs each replica did; those it skipped are
		// runs_skipped_total. The scrape came after the log lines it is
		// compared with, and a later tick may have come in between.
		runs := value(ma, "masstore_janitor_runs_total", "cleanup_job", job) + value(mb, "masstore_janitor_runs_total", "cleanup_job", job)
		require.GreaterOrEqual(t, runs, float64(len(done)))
		require.LessOrEqual(t, runs, float64(len(done)+2))
		require.Zero(t, value(ma, "masstore_janitor_errors_total", "cleanup_job", job)+value(mb, "masstore_janitor_errors_total", "cleanup_job", job))
	}
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, b.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, a.cmd.Wait())
	require.NoError(t, b.cmd.Wait())
}

// SIGKILL of the replica running a job: its lock goes with its
// connection, and the other replica takes the job at the next tick.
func TestKilledLockHolderLetsTheOtherRun(t *testing.T) {
	t.Parallel()
	db := pgtest.Migrated(t)
	loadCompatSessions(t, db, 400)
	bin := buildJanitor(t)
	const job = "cleanup-finished-compat-sessions"
	// 40 batches with 200 ms pauses: one run lasts about 8 s, four ticks.
	args := []string{"run", "--database-url", db.URL, "--now", scenarioNow, "--every", "2s", "--job", job,
		"--batch-size", "10", "--window-size", "0", "--target-batch-duration", "0", "--pause", "200ms"}
	a, b := startReplica(t, bin, args...), startReplica(t, bin, args...)

	started := `msg="job started" job=` + job + ` tick=(\S+)`
	var holder, other *replica
	for deadline := time.Now().Add(30 * time.Second); holder == nil; time.Sleep(20 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "a replica starts the job")
		switch {
		case a.count(started) > 0:
			holder, other = a, b
		case b.count(started) > 0:
			holder, other = b, a
		}
	}
	first := holder.waitFor(started)[1]
	other.waitFor(`msg="job skipped: another replica is running it" job=` + job + `.* reason=locked`)
	require.Zero(t, other.count(started), "the other replica waits while the holder runs")

	require.NoError(t, holder.cmd.Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	<-holder.ended
	next := other.waitFor(started)[1]
	require.Greater(t, next, first, "a later tick")
	tickAt, err := time.Parse(time.RFC3339, next)
	require.NoError(t, err)
	require.Less(t, tickAt.Sub(killed), 2*time.Second+time.Second, "the first tick after the kill")

	other.waitFor(`msg="job done" job=` + job)
	var left int
	require.NoError(t, db.DB.Get(&left, `SELECT count(*) FROM compat_sessions WHERE finished_at IS NOT NULL`))
	require.Zero(t, left, "the survivor finished the job")
	var locks int
	require.NoError(t, db.DB.GetContext(context.Background(), &locks, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted`))
	require.LessOrEqual(t, locks, 1, "no lock survives its replica")
}

// The lock key is stable: replicas of different builds agree on it.
func TestJobLockKeyIsStable(t *testing.T) {
	t.Parallel()
	require.Equal(t, int64(jobLockKey("cleanup-queue-jobs")), jobLockKey("cleanup-queue-jobs"))
	keys := map[int64]string{}
	for _, j := range cleanup.AllJobs() {
		k := jobLockKey(j.Name)
		require.NotContains(t, keys, k, "%s and %s share a key", j.Name, keys[k])
		keys[k] = j.Name
	}
	names := make([]string, 0, len(keys))
	for _, n := range keys {
		names = append(names, n)
	}
	sort.Strings(names)
	require.Len(t, names, len(cleanup.AllJobs()))
}
