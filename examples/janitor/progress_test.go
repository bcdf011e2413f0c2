package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage/postgres"
)

// fakeProgress returns a tracker on a clock the test moves, writing its log
// lines to the returned buffer.
func fakeProgress(t *testing.T) (*tracker, *bytes.Buffer, *time.Time) {
	t.Helper()
	var logs bytes.Buffer
	tr := newTracker(newMetrics(), slog.New(slog.NewTextHandler(&logs, nil)), &bytes.Buffer{}, true)
	require.Nil(t, tr.live, "a buffer is not a terminal")
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tr.now = func() time.Time { return now }
	return tr, &logs, &now
}

// Without a terminal, a job in flight logs its progress at most every 10 s:
// rows so far, rows/s, backlog left.
func TestProgressLogsAtMostEveryTenSeconds(t *testing.T) {
	t.Parallel()
	tr, logs, now := fakeProgress(t)
	job, err := cleanup.Lookup("cleanup-finished-compat-sessions")
	require.NoError(t, err)
	tr.start(job, false, &postgres.Backlog{Due: 1000})
	for range 30 { // a batch of 10 rows every second
		*now = now.Add(time.Second)
		tr.batch(cleanup.BatchInfo{Job: job.Name, Affected: 10, Scanned: 10})
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 3, "30 s of batches: one line at 10, 20 and 30 s\n%s", logs)
	require.Contains(t, lines[0], "msg=progress job=cleanup-finished-compat-sessions rows=100 rows_per_second=10 left=900")
	require.Contains(t, lines[2], "rows=300 rows_per_second=10 left=700")
	tr.done(cleanup.Report{Job: job.Name, Affected: 300})
}

// On a terminal, every batch redraws the job's line; an estimated backlog
// is marked ~, an unmeasured one is unknown.
func TestProgressDrawsALiveLine(t *testing.T) {
	t.Parallel()
	tr, logs, now := fakeProgress(t)
	var screen bytes.Buffer
	tr.live = &screen
	job, err := cleanup.Lookup("cleanup-inactive-user-session-ips")
	require.NoError(t, err)

	tr.start(job, false, &postgres.Backlog{Due: 5000, Estimated: true})
	*now = now.Add(2 * time.Second)
	tr.batch(cleanup.BatchInfo{Job: job.Name, Affected: 400, Scanned: 400})
	require.True(t, strings.HasSuffix(screen.String(), "\r\033[Kcleanup-inactive-user-session-ips: 400 row(s), 200 rows/s, ~4600 left"), "%q", screen.String())
	tr.done(cleanup.Report{Job: job.Name, Affected: 400})
	require.True(t, strings.HasSuffix(screen.String(), "\r\033[K"), "the line is cleared at the end")

	tr.start(job, false, nil)
	*now = now.Add(time.Second)
	tr.batch(cleanup.BatchInfo{Job: job.Name, Affected: 3, Scanned: 3})
	require.True(t, strings.HasSuffix(screen.String(), ": 3 row(s), 3 rows/s, unknown left"), "%q", screen.String())
	require.Empty(t, logs.String(), "a terminal gets the line, not the log")
}
