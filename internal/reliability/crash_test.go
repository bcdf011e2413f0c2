package reliability

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
)

// crashApp is the application_name the crashed janitors connect with, to
// find their backends in pg_stat_activity.
const crashApp = "masstore-crash-test"

// TestCrashLeavesNoHalfDeletedBatch interrupts the janitor mid-run, by
// SIGKILL and by terminating its backend mid-batch: no batch is ever seen
// half done, and a rerun ends where an uninterrupted run ends.
func TestCrashLeavesNoHalfDeletedBatch(t *testing.T) {
	t.Parallel()
	bin := bulkJanitor(t)
	srv := bulkConnect(t)
	src := srv.migrated(t)
	bulkFillCleanup(t, src.DB, 5000*bulkScale(t))
	pristine := crashChildren(t, src.DB)
	dbs := srv.copies(t, src, 4)

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(bulkScale(t))*3*time.Minute)
	t.Cleanup(cancel) // the parallel subtests run after this function returns
	ref := bulkRunJanitor(ctx, t, bin, dbs[0].URL)
	require.Equal(t, 0, ref.Code, ref.Stderr)
	want := bulkDigest(t, dbs[0].DB)
	var wantCompat int
	require.NoError(t, dbs[0].DB.Get(&wantCompat, `SELECT count(*) FROM compat_sessions`))

	// rerun finishes the interrupted run and compares it with the reference.
	rerun := func(t *testing.T, db *pgtest.Database) {
		r := bulkRunJanitor(ctx, t, bin, db.URL)
		require.Equal(t, 0, r.Code, r.Stderr)
		require.Empty(t, bulkDiff(want, bulkDigest(t, db.DB)), "the rerun ends where an uninterrupted run ends")
	}

	t.Run("SIGKILL", func(t *testing.T) {
		t.Parallel()
		db := dbs[1]
		p := crashStart(ctx, t, bin, srv.url(t, db.Name, "application_name", crashApp), "--batch-size", "10")
		require.True(t, crashWaitForProgress(t, p, db.DB, 300), "the janitor ended before it could be killed")
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		err := p.wait()
		var exitErr *exec.ExitError
		require.ErrorAs(t, err, &exitErr)
		require.True(t, exitErr.Sys().(syscall.WaitStatus).Signaled(), "killed by a signal")

		// The backend may still be running the batch in flight: check at
		// once, and again when it is gone.
		crashCheck(t, db.DB, pristine)
		crashWaitForBackends(t, srv, db.Name)
		crashCheck(t, db.DB, pristine)
		var left int
		require.NoError(t, db.DB.Get(&left, `SELECT count(*) FROM compat_sessions`))
		require.Greater(t, left, wantCompat, "the kill interrupted the compat session cleanup")
		rerun(t, db)
	})

	t.Run("TerminatedBackend", func(t *testing.T) {
		t.Parallel()
		db := dbs[2]
		p := crashStart(ctx, t, bin, srv.url(t, db.Name, "application_name", crashApp), "--batch-size", "200")
		require.True(t, crashWaitForProgress(t, p, db.DB, 1000), "the janitor ended before its backend could be terminated")
		query := crashTerminateMidBatch(t, srv, db.Name, p)
		require.NotEmpty(t, query, "no cleanup statement caught in flight")
		t.Logf("terminated the backend running: %.100s", strings.Join(strings.Fields(query), " "))

		err := p.wait()
		r := bulkJanitorResult(t, err, p.stdout.String(), p.stderr.String(), 0)
		requireCleanExit(t, r)
		if r.Code == 0 {
			// lib/pq reports the FATAL error as driver.ErrBadConn, and
			// database/sql replays the statement on a new connection: the
			// batch, rolled back by the termination, simply runs again.
			t.Logf("the janitor replayed the terminated batch and finished")
			for job, rep := range bulkReports(t, r.Stdout) {
				require.Nil(t, rep.Stopped, job)
			}
		}
		crashCheck(t, db.DB, pristine)
		rerun(t, db)
	})

	t.Run("BackendsKeepDying", func(t *testing.T) {
		t.Parallel()
		db := dbs[3]
		p := crashStart(ctx, t, bin, srv.url(t, db.Name, "application_name", crashApp), "--batch-size", "200")
		require.True(t, crashWaitForProgress(t, p, db.DB, 1000), "the janitor ended before its backends could be terminated")
		// Refuse new connections to the database, then terminate every
		// backend of the janitor as it shows: the replays of database/sql
		// cannot reconnect, so they fail too. (Terminating alone was not
		// enough: under load a replay could reconnect between two rounds.)
		allow := func(on bool) {
			_, err := srv.admin.Exec(fmt.Sprintf("ALTER DATABASE %s WITH ALLOW_CONNECTIONS %t", pq.QuoteIdentifier(db.Name), on))
			require.NoError(t, err)
		}
		allow(false)
		end := time.Now().Add(30 * time.Second)
		for time.Now().Before(end) && p.running() {
			_, err := srv.admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`, db.Name, crashApp)
			require.NoError(t, err)
			time.Sleep(time.Millisecond)
		}
		r := bulkJanitorResult(t, p.wait(), p.stdout.String(), p.stderr.String(), 0)
		allow(true)
		t.Logf("janitor exit %d, stderr:\n%s", r.Code, r.Stderr)
		requireCleanExit(t, r)
		require.Equal(t, 1, r.Code, "the janitor reports the failed batches")
		crashCheck(t, db.DB, pristine)
		rerun(t, db)
	})
}

// requireCleanExit asserts that the janitor ended by itself, without a panic,
// and that a failure names the failed job and batch.
func requireCleanExit(t testing.TB, r bulkJanitorRun) {
	t.Helper()
	require.Contains(t, []int{0, 1}, r.Code, r.Stderr)
	require.NotContains(t, r.Stderr, "panic")
	require.NotContains(t, r.Stderr, "goroutine ")
	if r.Code != 0 {
		require.Regexp(t, `janitor run: .*cleanup-[a-z0-9-]+: batch \d+: `, r.Stderr)
	}
}

// crashParents are the rows whose cleanup deletes other rows with them, each
// with the statement counting, for every such row finished long ago, what
// goes with it. Only their own job deletes those rows.
var crashParents = map[string]string{
	"compat_sessions": `
		SELECT s.compat_session_id::text,
			(SELECT count(*) FROM compat_access_tokens c WHERE c.compat_session_id = s.compat_session_id)
			+ (SELECT count(*) FROM compat_refresh_tokens c WHERE c.compat_session_id = s.compat_session_id)
			+ (SELECT count(*) FROM compat_sso_logins c WHERE c.compat_session_id = s.compat_session_id)
		FROM compat_sessions s WHERE s.finished_at < $1`,
	"oauth2_sessions": `
		SELECT s.oauth2_session_id::text,
			(SELECT count(*) FROM oauth2_access_tokens c WHERE c.oauth2_session_id = s.oauth2_session_id)
			+ (SELECT count(*) FROM oauth2_refresh_tokens c WHERE c.oauth2_session_id = s.oauth2_session_id)
		FROM oauth2_sessions s WHERE s.finished_at < $1`,
	"user_sessions": `
		SELECT s.user_session_id::text,
			(SELECT count(*) FROM user_session_authentications c WHERE c.user_session_id = s.user_session_id)
		FROM user_sessions s WHERE s.finished_at < $1`,
}

// crashOrphans counts rows whose parent is gone: none may ever exist.
const crashOrphans = `
SELECT (SELECT count(*) FROM compat_access_tokens c WHERE NOT EXISTS (SELECT 1 FROM compat_sessions s WHERE s.compat_session_id = c.compat_session_id))
	+ (SELECT count(*) FROM compat_refresh_tokens c WHERE NOT EXISTS (SELECT 1 FROM compat_sessions s WHERE s.compat_session_id = c.compat_session_id))
	+ (SELECT count(*) FROM oauth2_access_tokens c WHERE NOT EXISTS (SELECT 1 FROM oauth2_sessions s WHERE s.oauth2_session_id = c.oauth2_session_id))
	+ (SELECT count(*) FROM oauth2_refresh_tokens c WHERE NOT EXISTS (SELECT 1 FROM oauth2_sessions s WHERE s.oauth2_session_id = c.oauth2_session_id))
	+ (SELECT count(*) FROM user_session_authentications c WHERE NOT EXISTS (SELECT 1 FROM user_sessions s WHERE s.user_session_id = c.user_session_id))`

// crashChildren returns, per parent table, how many rows go with each parent
// finished long ago (before any retention's horizon).
func crashChildren(t testing.TB, db *sqlx.DB) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	tx, err := db.BeginTxx(context.Background(), nil)
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck // read only
	_, err = tx.Exec(`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`)
	require.NoError(t, err)
	for table, query := range crashParents {
		rows, err := tx.Query(query, bulkNow.AddDate(0, 0, -30))
		require.NoError(t, err)
		m := map[string]int{}
		for rows.Next() {
			var id string
			var n int
			require.NoError(t, rows.Scan(&id, &n))
			m[id] = n
		}
		require.NoError(t, rows.Err())
		rows.Close()
		out[table] = m
	}
	return out
}

// crashCheck asserts, on one snapshot, that no batch is half done: every
// parent still there has all that goes with it, and nothing is left whose
// parent is gone.
func crashCheck(t testing.TB, db *sqlx.DB, pristine map[string]map[string]int) {
	t.Helper()
	now := crashChildren(t, db)
	for table, parents := range now {
		for id, n := range parents {
			require.Equal(t, pristine[table][id], n, "%s %s lost some of what goes with it, not all", table, id)
		}
	}
	var orphans int
	require.NoError(t, db.Get(&orphans, crashOrphans))
	require.Zero(t, orphans, "rows whose session is gone")
}

// crashProc is a janitor running in the background.
type crashProc struct {
	cmd            *exec.Cmd
	stdout, stderr strings.Builder
	done           chan struct{}
	err            error
}

func crashStart(ctx context.Context, t testing.TB, bin, dbURL string, extra ...string) *crashProc {
	t.Helper()
	p := &crashProc{cmd: bulkJanitorCommand(ctx, bin, dbURL, extra...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	require.NoError(t, p.cmd.Start())
	go func() {
		defer close(p.done)
		p.err = p.cmd.Wait()
	}()
	return p
}

// running reports whether the janitor still runs.
func (p *crashProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// wait waits for the janitor to end and returns what Wait returned.
func (p *crashProc) wait() error {
	<-p.done
	return p.err
}

// crashWaitForProgress waits until at least n compat sessions are gone (some
// batches committed) and reports true, or false if the janitor ended first.
func crashWaitForProgress(t testing.TB, p *crashProc, db *sqlx.DB, n int) bool {
	t.Helper()
	var start int
	require.NoError(t, db.Get(&start, `SELECT count(*) FROM compat_sessions`))
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && p.running() {
		var left int
		require.NoError(t, db.Get(&left, `SELECT count(*) FROM compat_sessions`))
		if start-left >= n {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.False(t, p.running(), "the janitor made no progress in a minute")
	t.Logf("janitor ended early: %s", p.stderr.String())
	return false
}

// crashTerminateMidBatch terminates the janitor's backend while it runs a
// cleanup statement, and returns that statement.
func crashTerminateMidBatch(t testing.TB, srv *bulkServer, dbName string, p *crashProc) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && p.running() {
		var hit []struct {
			Query      string `db:"query"`
			Terminated bool   `db:"terminated"`
		}
		err := srv.admin.Select(&hit, `
			SELECT query, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
			WHERE datname = $1 AND application_name = $2 AND state = 'active' AND query LIKE '%WITH candidates%'`,
			dbName, crashApp)
		require.NoError(t, err)
		for _, h := range hit {
			if h.Terminated {
				return h.Query
			}
		}
	}
	return ""
}

// crashWaitForBackends waits until the killed janitor's backends are gone.
func crashWaitForBackends(t testing.TB, srv *bulkServer, dbName string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var n int
		require.NoError(t, srv.admin.Get(&n, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`, dbName, crashApp))
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the killed janitor's backends are still there after a minute")
}
