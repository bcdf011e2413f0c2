package reliability

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/schema"
)

// upgradeMaxStall bounds the writer's longest statement during the upgrade.
// The goal is under a second; CI machines are shared and slow, so the bound
// only catches a migration that blocks writes for the length of a scan.
const upgradeMaxStall = 5 * time.Second

// bulkUpgradeSQL fills a database at the baseline schema with {n} compat
// sessions and {n} queue jobs, and what they reference: a tenth as many
// browser sessions (a third of the compat sessions name one), users, and a
// few upstream logins whose authentications the backfill links.
const bulkUpgradeSQL = `
INSERT INTO users (user_id, username, created_at)
SELECT pg_temp.bulk_id({now} - interval '400 days' + i * interval '1 second', 1, i), 'bulk' || i,
	{now} - interval '400 days' + i * interval '1 second'
FROM generate_series(1, {n} / 100) i;
INSERT INTO user_sessions (user_session_id, user_id, created_at, finished_at, last_active_at, last_active_ip)
SELECT pg_temp.bulk_id(c, 2, i), pg_temp.bulk_id({now} - interval '400 days' + (i % ({n} / 100) + 1) * interval '1 second', 1, i % ({n} / 100) + 1),
	c, CASE WHEN i % 2 = 0 THEN c + interval '1 day' END, c + interval '1 hour', pg_temp.bulk_ip(i)
FROM generate_series(1, {n} / 10) i, LATERAL (SELECT {now} - interval '300 days' + i * interval '1 minute' AS c) x;
INSERT INTO compat_sessions (compat_session_id, user_id, user_session_id, device_id, created_at, finished_at, last_active_at, last_active_ip)
SELECT pg_temp.bulk_id(c, 4, i), pg_temp.bulk_id({now} - interval '400 days' + (i % ({n} / 100) + 1) * interval '1 second', 1, i % ({n} / 100) + 1),
	CASE WHEN i % 3 = 0 THEN pg_temp.bulk_id({now} - interval '300 days' + (i % ({n} / 10) + 1) * interval '1 minute', 2, i % ({n} / 10) + 1) END,
	'D' || i, c, CASE WHEN i % 2 = 0 THEN c + interval '2 days' END, c + interval '1 day',
	CASE WHEN i % 5 <> 0 THEN pg_temp.bulk_ip(i) END
FROM generate_series(1, {n}) i, LATERAL (SELECT {now} - interval '300 days' + i * interval '10 seconds' AS c) x;
INSERT INTO queue_schedules (schedule_name, last_scheduled_at) VALUES ('bulk-nightly', {now} - interval '1 day');
INSERT INTO queue_jobs (queue_job_id, queue_name, payload, status, created_at, schedule_name, completed_at, failed_at, attempt)
SELECT pg_temp.bulk_id(c, 15, i), 'bulk', jsonb_build_object('i', i), s::queue_job_status, c,
	CASE WHEN i % 10 = 0 THEN 'bulk-nightly' END,
	CASE WHEN s = 'completed' THEN c + interval '1 second' END,
	CASE WHEN s = 'failed' THEN c + interval '1 second' END,
	CASE WHEN i % 4 = 2 THEN 1 ELSE 0 END
FROM generate_series(1, {n}) i,
	LATERAL (SELECT {now} - interval '300 days' + i * interval '10 seconds' AS c,
	                (ARRAY['completed', 'failed', 'available', 'completed'])[i % 4 + 1] AS s) x;
-- Every failed job names the job after it (available) as its retry.
UPDATE queue_jobs SET next_attempt_id = pg_temp.bulk_id({now} - interval '300 days' + (i + 1) * interval '10 seconds', 15, i + 1)
FROM generate_series(1, {n} - 1) i
WHERE i % 4 = 1 AND queue_job_id = pg_temp.bulk_id({now} - interval '300 days' + i * interval '10 seconds', 15, i);
UPDATE queue_schedules SET last_scheduled_job_id = pg_temp.bulk_id({now} - interval '300 days' + 10 * interval '10 seconds', 15, 10);
INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, scope, client_id, token_endpoint_auth_method, created_at)
VALUES (pg_temp.bulk_id({now} - interval '400 days', 16, 1), 'openid', 'bulk', 'none', {now} - interval '400 days');
INSERT INTO upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id, upstream_oauth_provider_id, state, created_at)
SELECT pg_temp.bulk_id({now} - interval '10 days' + i * interval '1 second', 18, i), pg_temp.bulk_id({now} - interval '400 days', 16, 1),
	'state-' || i, {now} - interval '10 days' + i * interval '1 second'
FROM generate_series(1, 1000) i;
INSERT INTO user_session_authentications (user_session_authentication_id, user_session_id, upstream_oauth_authorization_session_id, created_at)
SELECT pg_temp.bulk_id({now} - interval '10 days' + i * interval '1 second', 3, i),
	pg_temp.bulk_id({now} - interval '300 days' + i * interval '1 minute', 2, i),
	pg_temp.bulk_id({now} - interval '10 days' + i * interval '1 second', 18, i), {now} - interval '10 days' + i * interval '1 second'
FROM generate_series(1, 500) i;
`

// bulkUUID is pg_temp.bulk_id in Go: the uuid of row n of a bulk table.
func bulkUUID(at time.Time, tag int, n int64) string {
	h := fmt.Sprintf("%012x%04x%016x", at.UnixMilli(), tag, n)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// TestUpgradeUnderLoad upgrades a database at the baseline holding 100 000
// compat sessions and queue jobs (1 000 000 with MASSTORE_RELIABILITY_SCALE=10)
// to the last migration, while a writer inserts and updates compat sessions
// and queue jobs one statement at a time. The upgrade completes, the schema
// verifies, and the writer's longest stall is reported.
//
// It does not run in parallel with the other tests: it measures latency.
func TestUpgradeUnderLoad(t *testing.T) {
	srv := bulkConnect(t)
	db := srv.create(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(bulkScale(t))*5*time.Minute)
	defer cancel()
	m, err := schema.NewMigrator(db.DB.DB)
	require.NoError(t, err)
	require.NoError(t, m.MigrateTo(ctx, 1))
	n := 100000 * bulkScale(t)
	start := time.Now()
	bulkRun(t, db.DB, bulkUpgradeSQL, map[string]string{
		"now": "'" + bulkNow.Format(time.RFC3339) + "'::timestamptz",
		"n":   strconv.Itoa(n),
	})
	_, err = db.DB.ExecContext(ctx, `VACUUM ANALYZE`) // as autovacuum would have
	require.NoError(t, err)
	t.Logf("baseline with %d compat sessions and %d queue jobs, made in %s", n, n, time.Since(start).Round(time.Millisecond))

	w := &upgradeWriter{n: int64(n), migration: "none yet"}
	conn, err := db.DB.DB.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	var writerPID int
	require.NoError(t, conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&writerPID))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		w.run(ctx, conn, stop)
	}()
	obs := &upgradeObserver{}
	go func() {
		defer wg.Done()
		obs.run(ctx, srv, writerPID, w, stop)
	}()
	time.Sleep(200 * time.Millisecond) // the writer's pace before the upgrade

	var timings []string
	migStart := time.Now()
	for _, mig := range schema.Migrations()[1:] {
		w.setMigration(mig.String())
		t0 := time.Now()
		err := m.MigrateTo(ctx, mig.Version)
		require.NoError(t, err)
		timings = append(timings, fmt.Sprintf("%s %s", mig, time.Since(t0).Round(time.Millisecond)))
	}
	migTook := time.Since(migStart)
	w.setMigration("after")
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()

	require.NoError(t, w.err, "the writer failed during the upgrade")
	findings, err := schema.Verify(ctx, db.DB.DB)
	require.NoError(t, err)
	require.Empty(t, findings)

	st := w.stats()
	t.Logf("migrations 0002..%04d took %s:\n  %s", schema.Migrations()[len(schema.Migrations())-1].Version, migTook.Round(time.Millisecond), strings.Join(timings, "\n  "))
	t.Logf("writer: %d statements, p50 %s, p99 %s, longest %s (%s during %s)",
		st.count, st.p50, st.p99, st.max, st.maxStatement, st.maxMigration)
	t.Logf("writer's longest statement per migration:\n  %s", strings.Join(st.perMigration, "\n  "))
	t.Logf("writer's lock waits (sampled every %s): %s", upgradeSampling, obs.summary())
	require.Less(t, st.max, upgradeMaxStall, "a migration blocked the writer")
}

// upgradeWriter inserts and updates compat sessions and queue jobs, one
// statement at a time, timing each.
type upgradeWriter struct {
	n   int64
	err error

	mu        sync.Mutex
	migration string
	samples   []upgradeSample
}

type upgradeSample struct {
	took      time.Duration
	statement string
	migration string
}

func (w *upgradeWriter) setMigration(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.migration = name
}

func (w *upgradeWriter) exec(ctx context.Context, conn *sql.Conn, name, query string, args ...any) bool {
	w.mu.Lock()
	mig := w.migration
	w.mu.Unlock()
	t0 := time.Now()
	_, err := conn.ExecContext(ctx, query, args...)
	took := time.Since(t0)
	if err != nil {
		w.err = fmt.Errorf("%s during %s: %w", name, mig, err)
		return false
	}
	w.mu.Lock()
	w.samples = append(w.samples, upgradeSample{took: took, statement: name, migration: mig})
	w.mu.Unlock()
	return true
}

func (w *upgradeWriter) run(ctx context.Context, conn *sql.Conn, stop <-chan struct{}) {
	user := bulkUUID(bulkNow.Add(-400*24*time.Hour).Add(time.Second), 1, 1)
	at := func(base time.Duration, i int64, step time.Duration) time.Time {
		return bulkNow.Add(-base).Add(time.Duration(i) * step)
	}
	day := 24 * time.Hour
	now := bulkNow
	var lastSession, lastJob string
	for i := int64(1); ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		now = now.Add(time.Millisecond)
		session := ulidx.UUID(ulidx.New(now))
		var browser any
		if i%3 == 0 {
			k := rand.Int64N(w.n/10) + 1
			browser = bulkUUID(at(300*day, k, time.Minute), 2, k)
		}
		k := rand.Int64N(w.n) + 1
		old := bulkUUID(at(300*day, k, 10*time.Second), 4, k)
		job := ulidx.UUID(ulidx.New(now))
		failed := (rand.Int64N(w.n/4-1))*4 + 1 // a failed job: it names a retry
		ok := w.exec(ctx, conn, "insert compat session", `INSERT INTO compat_sessions (compat_session_id, user_id, user_session_id, device_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
			session, user, browser, "W"+strconv.FormatInt(i, 10), now) &&
			w.exec(ctx, conn, "record activity", `UPDATE compat_sessions SET last_active_at = $1, last_active_ip = '192.0.2.1' WHERE compat_session_id = $2`, now, old) &&
			(lastSession == "" || w.exec(ctx, conn, "finish compat session", `UPDATE compat_sessions SET finished_at = $1 WHERE compat_session_id = $2`, now, lastSession)) &&
			w.exec(ctx, conn, "enqueue", `INSERT INTO queue_jobs (queue_job_id, queue_name, payload, status, created_at) VALUES ($1, 'writer', '{}', 'available', $2)`, job, now) &&
			(lastJob == "" || w.exec(ctx, conn, "complete job", `UPDATE queue_jobs SET status = 'completed', completed_at = $1 WHERE queue_job_id = $2`, now, lastJob)) &&
			w.exec(ctx, conn, "link retry", `UPDATE queue_jobs SET next_attempt_id = $1 WHERE queue_job_id = $2`,
				job, bulkUUID(at(300*day, failed, 10*time.Second), 15, failed))
		if !ok {
			return
		}
		lastSession, lastJob = session, job
	}
}

// upgradeSampling is how often the observer looks at the writer's backend.
const upgradeSampling = 2 * time.Millisecond

// upgradeObserver samples the writer's backend in pg_stat_activity, to tell
// a stall waiting for a lock (and who holds it) from one waiting for CPU or
// I/O.
type upgradeObserver struct {
	episodes int
	total    time.Duration
	longest  time.Duration
	what     string // the longest wait: migration, lock, blocker
}

func (o *upgradeObserver) run(ctx context.Context, srv *bulkServer, pid int, w *upgradeWriter, stop <-chan struct{}) {
	var since, last time.Time // first and last sample that saw the wait
	var what string
	end := func() {
		// Samples come late on a busy machine: count from the first to the
		// last sample that saw the wait, plus one period.
		d := last.Sub(since) + upgradeSampling
		o.episodes++
		o.total += d
		if d > o.longest {
			o.longest, o.what = d, what
		}
		since = time.Time{}
	}
	tick := time.NewTicker(upgradeSampling)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var kind, event, blocker sql.NullString
		err := srv.admin.QueryRowContext(ctx, `
			SELECT a.wait_event_type, a.wait_event,
				(SELECT left(regexp_replace(b.query, '\s+', ' ', 'g'), 80) FROM pg_stat_activity b WHERE b.pid = (pg_blocking_pids(a.pid))[1])
			FROM pg_stat_activity a WHERE a.pid = $1`, pid).Scan(&kind, &event, &blocker)
		if err != nil {
			continue
		}
		now := time.Now()
		if kind.String == "Lock" {
			last = now
			if since.IsZero() {
				w.mu.Lock()
				mig := w.migration
				w.mu.Unlock()
				since, what = now, fmt.Sprintf("during %s, %s lock, blocked by %q", mig, event.String, blocker.String)
			}
			continue
		}
		if !since.IsZero() {
			end()
		}
	}
}

func (o *upgradeObserver) summary() string {
	if o.episodes == 0 {
		return "none seen"
	}
	return fmt.Sprintf("%d, %s in all; longest %s %s", o.episodes, o.total.Round(time.Millisecond), o.longest.Round(time.Millisecond), o.what)
}

type upgradeStats struct {
	count                      int
	p50, p99, max              time.Duration
	maxStatement, maxMigration string
	perMigration               []string
}

func (w *upgradeWriter) stats() upgradeStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := upgradeStats{count: len(w.samples)}
	if st.count == 0 {
		return st
	}
	lat := make([]time.Duration, len(w.samples))
	worst := map[string]upgradeSample{}
	var order []string
	for i, s := range w.samples {
		lat[i] = s.took
		if s.took > st.max {
			st.max, st.maxStatement, st.maxMigration = s.took, s.statement, s.migration
		}
		if _, seen := worst[s.migration]; !seen {
			order = append(order, s.migration)
		}
		if s.took >= worst[s.migration].took {
			worst[s.migration] = s
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	st.p50 = lat[len(lat)/2]
	st.p99 = lat[len(lat)*99/100]
	for _, mig := range order {
		st.perMigration = append(st.perMigration, fmt.Sprintf("%s: %s (%s)", mig, worst[mig].took.Round(time.Microsecond), worst[mig].statement))
	}
	return st
}

// TestUpgradeStepsDoNotDeadlockWithTransactions runs each migration that
// swaps a foreign key between two tables while an application transaction
// has written to the referenced table and then writes to the referencing one
// (or to a table referencing the referenced one): the migration must wait for
// the transaction, and neither may fail.
//
// The foreign-key swaps lock the referencing table, then the referenced one
// (to drop its triggers); a transaction holding the referenced table that
// then needs the first one closes a cycle, and PostgreSQL's deadlock detector
// aborts one side after deadlock_timeout.
func TestUpgradeStepsDoNotDeadlockWithTransactions(t *testing.T) {
	t.Parallel()
	srv := bulkConnect(t)
	for _, tc := range []struct {
		name     string
		version  int
		seed     string
		txFirst  string // runs before the migration starts
		txSecond string // runs while the migration waits for the transaction
	}{
		{
			// A worker completes a job and enqueues the next one in one
			// transaction; the INSERT checks queue_jobs.schedule_name against
			// queue_schedules, which 0021 holds while it waits for queue_jobs.
			name: "QueueScheduleLastJob", version: 21,
			seed: `INSERT INTO queue_jobs (queue_job_id, queue_name, status, created_at)
				VALUES ('00000000-0000-0000-0000-0000000000e1', 'q', 'running', now())`,
			txFirst: `UPDATE queue_jobs SET status = 'completed', completed_at = now() WHERE queue_job_id = '00000000-0000-0000-0000-0000000000e1'`,
			txSecond: `INSERT INTO queue_jobs (queue_job_id, queue_name, status, created_at)
				VALUES ('00000000-0000-0000-0000-0000000000e2', 'q', 'available', now())`,
		},
		{
			// What users.Deactivate does in one transaction: browser
			// sessions first, then compat sessions, which 0017 holds while it
			// waits for user_sessions.
			name: "CompatSessionUserSession", version: 17,
			seed: `INSERT INTO users (user_id, username, created_at) VALUES ('00000000-0000-0000-0000-000000000001', 'alice', now());
				INSERT INTO user_sessions (user_session_id, user_id, created_at) VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-000000000001', now());
				INSERT INTO compat_sessions (compat_session_id, user_id, user_session_id, created_at)
				VALUES ('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000a1', now())`,
			txFirst:  `UPDATE user_sessions SET finished_at = now() WHERE user_id = '00000000-0000-0000-0000-000000000001'`,
			txSecond: `UPDATE compat_sessions SET finished_at = now() WHERE user_id = '00000000-0000-0000-0000-000000000001'`,
		},
		{
			// An upstream login completing into a browser session: the
			// session first, then the login, which 0012 holds (it adds a
			// column) while it waits for user_sessions.
			name: "UpstreamSessionUserSession", version: 12,
			seed: `INSERT INTO users (user_id, username, created_at) VALUES ('00000000-0000-0000-0000-000000000001', 'alice', now());
				INSERT INTO user_sessions (user_session_id, user_id, created_at) VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-000000000001', now());
				INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, scope, client_id, token_endpoint_auth_method, created_at)
				VALUES ('00000000-0000-0000-0000-0000000000b1', 'openid', 'client', 'none', now());
				INSERT INTO upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id, upstream_oauth_provider_id, state, created_at)
				VALUES ('00000000-0000-0000-0000-0000000000d1', '00000000-0000-0000-0000-0000000000b1', 'state', now())`,
			txFirst: `UPDATE user_sessions SET last_active_at = now() WHERE user_session_id = '00000000-0000-0000-0000-0000000000a1'`,
			txSecond: `UPDATE upstream_oauth_authorization_sessions SET completed_at = now()
				WHERE upstream_oauth_authorization_session_id = '00000000-0000-0000-0000-0000000000d1'`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			db := srv.create(t, "")
			m, err := schema.NewMigrator(db.DB.DB)
			require.NoError(t, err)
			require.NoError(t, m.MigrateTo(ctx, tc.version-1))
			_, err = db.DB.ExecContext(ctx, tc.seed)
			require.NoError(t, err)

			tx, err := db.DB.BeginTx(ctx, nil)
			require.NoError(t, err)
			defer tx.Rollback() //nolint:errcheck // a no-op after Commit
			_, err = tx.ExecContext(ctx, tc.txFirst)
			require.NoError(t, err)

			migrated := make(chan error, 1)
			go func() { migrated <- m.MigrateTo(ctx, tc.version) }()
			upgradeWaitForLockWait(ctx, t, srv, db.Name)

			_, err = tx.ExecContext(ctx, tc.txSecond)
			require.NoError(t, err, "the application's transaction, while %04d waits for it", tc.version)
			require.NoError(t, tx.Commit())
			require.NoError(t, <-migrated, "migration %04d", tc.version)
		})
	}
}

// upgradeWaitForLockWait waits until a backend of the database waits for a lock.
func upgradeWaitForLockWait(ctx context.Context, t testing.TB, srv *bulkServer, dbName string) {
	t.Helper()
	for ctx.Err() == nil {
		var n int
		require.NoError(t, srv.admin.GetContext(ctx, &n, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, dbName))
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the migration never waited for the transaction")
}
