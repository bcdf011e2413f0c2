package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
)

// loadCompatSessions adds a user with n compat sessions finished long
// before scenarioNow (cleanup-finished-compat-sessions deletes them) and n
// live ones last active long before it, with an IP address
// (cleanup-inactive-compat-session-ips clears it). The finished ones have no
// IP: the two jobs never lock each other's rows.
func loadCompatSessions(t *testing.T, db *pgtest.Database, n int) {
	t.Helper()
	_, err := db.DB.Exec(fmt.Sprintf(`
		INSERT INTO users (user_id, username, created_at) VALUES ('01890000-0000-0000-0000-000000000001', 'metrics', '2026-01-01Z');
		INSERT INTO compat_sessions (compat_session_id, user_id, device_id, created_at, finished_at, last_active_at, last_active_ip)
		SELECT gen_random_uuid(), '01890000-0000-0000-0000-000000000001', 'D' || i, '2026-03-01Z',
			CASE WHEN i %% 2 = 0 THEN timestamptz '2026-04-01Z' END, '2026-04-01Z',
			CASE WHEN i %% 2 = 1 THEN inet '192.0.2.1' END
		FROM generate_series(1, %d) i`, 2*n))
	require.NoError(t, err)
}

// The counters of /metrics are the rows the jobs deleted and cleared, as
// count(*) sees them, scraped while the jobs run and after.
func TestMetricsCountWhatChanged(t *testing.T) {
	t.Parallel()
	db := pgtest.Migrated(t)
	const n = 3000
	loadCompatSessions(t, db, n)
	count := func(where string) (c int) {
		require.NoError(t, db.DB.Get(&c, `SELECT count(*) FROM compat_sessions WHERE `+where))
		return c
	}
	finishedBefore, ipsBefore := count("finished_at IS NOT NULL"), count("last_active_ip IS NOT NULL")
	const del, clear = "cleanup-finished-compat-sessions", "cleanup-inactive-compat-session-ips"

	// --every ticks on the multiples of its interval: the replica starts
	// just after one, so that the first scrape comes before the first tick.
	bin := buildJanitor(t)
	const every = 4 * time.Second
	time.Sleep(time.Until(time.Now().Truncate(every).Add(every + 50*time.Millisecond)))
	r := startReplica(t, bin, "run", "--database-url", db.URL, "--now", scenarioNow,
		"--job", del, "--job", clear, "--every", every.String(), "--metrics-addr", "127.0.0.1:0",
		"--batch-size", "100", "--target-batch-duration", "0", "--window-size", "0", "--pause", "50ms")
	base := r.opsURL()

	// Before the first tick every series exists, at zero.
	m := scrape(t, base)
	require.Contains(t, m, "masstore_janitor_rows_affected_total")
	require.Contains(t, m, "go_goroutines", "the Go collector is on")
	require.Contains(t, m, "process_resident_memory_bytes", "the process collector is on")
	require.Zero(t, value(m, "masstore_janitor_rows_affected_total", "cleanup_job", del, "kind", "deleted"))

	// During: the deleting job is in flight.
	r.waitFor(`msg="job started" job=` + del)
	r.waitFor(`msg=progress job=` + del + `|msg="job done" job=` + del)
	during := scrape(t, base)
	deleted := value(during, "masstore_janitor_rows_affected_total", "cleanup_job", del, "kind", "deleted")
	if r.count(`msg="job done" job=`+del) == 0 {
		require.Equal(t, 1.0, value(during, "masstore_janitor_running", "cleanup_job", del))
	}
	require.Equal(t, float64(finishedBefore-count("finished_at IS NOT NULL")), deleted,
		"the counter is what count(*) lost, batch by batch")
	require.Equal(t, float64(n), value(during, "masstore_janitor_backlog_rows", "cleanup_job", del)+deleted, "the backlog goes down as rows go")

	// After both jobs ran.
	r.waitFor(`msg="job done" job=` + del)
	r.waitFor(`msg="job done" job=` + clear)
	after := scrape(t, base)
	require.Equal(t, float64(finishedBefore-count("finished_at IS NOT NULL")), value(after, "masstore_janitor_rows_affected_total", "cleanup_job", del, "kind", "deleted"))
	require.Equal(t, float64(n), value(after, "masstore_janitor_rows_affected_total", "cleanup_job", del, "kind", "deleted"))
	require.Equal(t, float64(ipsBefore-count("last_active_ip IS NOT NULL")), value(after, "masstore_janitor_rows_affected_total", "cleanup_job", clear, "kind", "cleared"))
	require.Equal(t, float64(n), value(after, "masstore_janitor_rows_affected_total", "cleanup_job", clear, "kind", "cleared"))
	require.Equal(t, 0.0, value(after, "masstore_janitor_running", "cleanup_job", del))
	require.Zero(t, value(after, "masstore_janitor_backlog_rows", "cleanup_job", del))
	require.Zero(t, value(after, "masstore_janitor_errors_total", "cleanup_job", del))
	require.GreaterOrEqual(t, value(after, "masstore_janitor_batches_total", "cleanup_job", del), float64(n/100))
	require.Equal(t, value(after, "masstore_janitor_batches_total", "cleanup_job", del), value(after, "masstore_janitor_batch_duration_seconds", "cleanup_job", del),
		"one duration observed per batch")
	require.Positive(t, value(after, "masstore_janitor_last_success_timestamp_seconds", "cleanup_job", del))
	require.Zero(t, value(after, "masstore_janitor_rows_skipped_total", "cleanup_job", del), "no finished session is kept")

	require.NoError(t, r.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, r.cmd.Wait())
}

// A replica that leaves a job to another stops exporting its backlog, so
// that across replicas the one that ran the job last is the only figure.
func TestSkippedRunDropsTheBacklog(t *testing.T) {
	t.Parallel()
	m := newMetrics()
	const job = "cleanup-queue-jobs"
	backlog := func() (n int) {
		families, err := m.registry.Gather()
		require.NoError(t, err)
		for _, f := range families {
			if f.GetName() == metricPrefix+"backlog_rows" || f.GetName() == metricPrefix+"backlog_estimated" {
				n += len(f.GetMetric())
			}
		}
		return n
	}
	m.setBacklog(job, 12, true)
	require.Equal(t, 2, backlog())
	m.runSkipped(job, "done")
	require.Zero(t, backlog())
	m.setBacklog(job, 3, false)
	require.Equal(t, 2, backlog())
}
