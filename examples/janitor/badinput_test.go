package main

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/internal/pgtest"
)

// Every bad input is refused with a message that names it, and the data
// stays as it was.
func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	db := pgtest.Migrated(t)
	_, err := db.DB.Exec(scenarioSQL)
	require.NoError(t, err)
	before := remaining(t, db)
	run := []string{"run", "--once", "--now", scenarioNow, "--database-url", db.URL}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"BatchSizeZero", append(run, "--batch-size", "0"), exitUsage, "--batch-size 0 out of range 1..100000"},
		{"BatchSizeNegative", append(run, "--batch-size", "-5"), exitUsage, "--batch-size -5 out of range"},
		{"NegativeRetention", append(run, "--retention", "cleanup-queue-jobs=-1h"), exitUsage, "retention -1h0m0s of cleanup-queue-jobs out of range"},
		{"AbsurdRetention", append(run, "--retention", "cleanup-queue-jobs=1000000d"), exitUsage, `invalid duration "1000000d"`},
		{"AbsurdRetentionInHours", append(run, "--retention", "cleanup-queue-jobs=2000000h"), exitUsage, "retention 2000000h0m0s of cleanup-queue-jobs out of range"},
		{"UnknownJob", append(run, "--job", "cleanup-everything"), exitUsage, `unknown cleanup job "cleanup-everything" (known: expire-inactive-sessions, cleanup-finished-compat-sessions`},
		{"ClockAtTheZeroTime", []string{"run", "--once", "--now", "0001-01-01T00:00:00Z", "--database-url", db.URL}, exitUsage, "clock reads the zero time"},
		{"ClockFarInTheFuture", []string{"run", "--once", "--now", "9999-01-01T00:00:00Z", "--database-url", db.URL}, exitUsage, "clock reads 9999-01-01T00:00:00Z, outside 2000..2999"},
		{"NegativeTargetBatchDuration", append(run, "--target-batch-duration", "-1s"), exitUsage, "target batch duration -1s is negative"},
		{"NegativeWindowSize", append(run, "--window-size", "-1"), exitUsage, "window size -1 out of range 0..1000000"},
		{"HugeWindowSize", append(run, "--window-size", "5000000"), exitUsage, "window size 5000000 out of range"},
		{"MalformedNow", []string{"run", "--once", "--now", "2026-13-45", "--database-url", db.URL}, exitUsage, "want an RFC 3339 time"},
		{"DatabaseThatDoesNotAnswer", []string{"run", "--once", "--now", scenarioNow, "--database-url", "postgres://janitor:hunter2@127.0.0.1:1/mas?sslmode=disable&connect_timeout=2"}, exitFailure, "connect to postgres://janitor:xxxxx@127.0.0.1:1/mas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := janitor(t, nil, tc.args...)
			require.Equal(t, tc.code, code, errOut)
			require.Contains(t, errOut, tc.want)
			require.Empty(t, out, "no report for a run that did not happen")
			require.NotContains(t, errOut, "hunter2")
			require.Equal(t, before, remaining(t, db), "nothing changed")
		})
	}
}

// FuzzRunFlags feeds the janitor's run flags anything: it may refuse, never
// panic.
func FuzzRunFlags(f *testing.F) {
	for _, seed := range []string{
		"--once --json",
		"--job cleanup-queue-jobs --job cleanup-finished-user-sessions",
		"--retention cleanup-queue-jobs=7d --retention =",
		"--retention cleanup-queue-jobs=9999999999999999999d",
		"--now 2026-06-01T00:00:00.999999999+14:00 --batch-size 100000",
		"--max-duration -1s --pause 1h --every 0s",
		"--batch-size 99999999999999999999",
		"-- --once",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cfg, _, err := parseRun(strings.Fields(line), io.Discard)
		if err == nil {
			require.NotEmpty(t, cfg.jobs)
		}
	})
}

// The password of the database URL appears nowhere: not in logs, errors or
// reports. The test server trusts every connection, so the URL's password
// is accepted and ignored.
func TestPasswordNeverShown(t *testing.T) {
	t.Parallel()
	db := pgtest.Migrated(t)
	_, err := db.DB.Exec(scenarioSQL)
	require.NoError(t, err)
	url := strings.Replace(db.URL, "postgres://postgres@", "postgres://postgres:s3cr3t-pw@", 1)
	require.Contains(t, url, "s3cr3t-pw")

	for _, args := range [][]string{
		{"run", "--once", "--json", "--now", scenarioNow, "--database-url", url},
		{"run", "--once", "--dry-run", "--now", scenarioNow, "--database-url", url},
		{"status", "--database-url", url},
		{"verify", "--database-url", url},
		{"migrate", "--database-url", url},
		{"run", "--once", "--database-url", strings.Replace(url, db.Name, "no_such_database", 1)},
	} {
		_, out, errOut := janitor(t, nil, args...)
		require.NotContains(t, out+errOut, "s3cr3t-pw", strings.Join(args[:2], " "))
	}
}

// Without --once the janitor runs the jobs on their schedule until SIGTERM,
// then lets the batch in flight finish and exits 0.
func TestScheduledRunStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	bin := buildJanitor(t)
	db := pgtest.Migrated(t)
	_, err := db.DB.Exec(scenarioSQL)
	require.NoError(t, err)

	cmd := exec.Command(bin, "run", "--every", "200ms", "--json", "--now", scenarioNow, "--database-url", db.URL)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())

	// Wait for a full round of the jobs (expire-inactive-sessions is off),
	// then stop it.
	reports := parseStream(t, stdout, len(cleanup.AllJobs())-1)
	require.Equal(t, 2, reports["cleanup-queue-jobs"].Affected)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error)
	go func() { _, _ = io.Copy(io.Discard, stdout); done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, stderr.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("janitor did not stop after SIGTERM")
	}
	require.Contains(t, stderr.String(), "stopping: finishing the batches in flight")
	// The scheduled jobs run at the same time and skip each other's locked
	// rows (the IP job may hold a finished compat session while the compat
	// cleanup passes it), so one round may leave a stale row for the next:
	// nothing that must stay is gone, and one more run ends where a single
	// run ends.
	require.Subset(t, remaining(t, db), kept(t, db))
	code, _, errOut := runBinary(t, bin, "run", "--once", "--now", scenarioNow, "--database-url", db.URL)
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, kept(t, db), remaining(t, db))
}

// parseStream reads JSON reports until it has seen n distinct jobs.
func parseStream(t *testing.T, r io.Reader, n int) map[string]jsonReport {
	t.Helper()
	got := map[string]jsonReport{}
	sc := bufio.NewScanner(r)
	for len(got) < n && sc.Scan() {
		for job, rep := range parseReports(t, sc.Text()) {
			if _, seen := got[job]; !seen {
				got[job] = rep
			}
		}
	}
	require.Len(t, got, n, "the janitor stopped before every job reported")
	return got
}
