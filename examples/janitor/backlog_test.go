package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/internal/pgtest"
)

// backlogJSON is what backlog --json prints.
type backlogJSON struct {
	Now  time.Time     `json:"now"`
	Jobs []jsonBacklog `json:"jobs"`
}

// backlog runs backlog --json and returns its jobs by name.
func backlog(t *testing.T, args ...string) map[string]jsonBacklog {
	t.Helper()
	code, out, errOut := janitor(t, nil, append([]string{"backlog", "--json"}, args...)...)
	require.Equal(t, exitOK, code, errOut)
	var b backlogJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&b), out)
	jobs := map[string]jsonBacklog{}
	for _, j := range b.Jobs {
		jobs[j.Job] = j
	}
	return jobs
}

// backlogTable runs backlog without --json and returns its rows by job:
// the columns after JOB.
func backlogTable(t *testing.T, args ...string) map[string][]string {
	t.Helper()
	code, out, errOut := janitor(t, nil, append([]string{"backlog"}, args...)...)
	require.Equal(t, exitOK, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, []string{"JOB", "DUE", "OLDEST", "LAST", "RUN", "ETA"}, strings.Fields(lines[0]))
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f[1:]
	}
	return rows
}

// The backlog counts the rows a job's next run affects: on the scenario, job
// by job in the order a run takes them, the backlog read just before the job
// runs (as run does for its metrics) equals the job's report. Without a run
// recorded there is no rate and no ETA; after one the run log gives the
// rate, and the job is caught up.
func TestBacklogIsWhatTheNextRunAffects(t *testing.T) {
	t.Parallel()
	db := pgtest.Migrated(t)
	for _, q := range []string{scenarioSQL, masMainSQL} {
		_, err := db.DB.Exec(q)
		require.NoError(t, err)
	}
	args := []string{"--now", scenarioNow, "--database-url", db.URL}
	now, err := time.Parse(time.RFC3339, scenarioNow)
	require.NoError(t, err)

	all := backlog(t, args...)
	require.Len(t, all, len(cleanup.AllJobs())-1, "one line per selected job; expire-inactive-sessions is off")
	table := backlogTable(t, args...)
	require.Equal(t, []string{"1", "52d0h", "never", "unknown"}, table["cleanup-finished-compat-sessions"],
		"finished 2026-04-10: 52 days before now")
	require.Equal(t, []string{"0", "-", "never", "caught", "up"}, table["cleanup-revoked-oauth-refresh-tokens"])
	require.EqualValues(t, 2, all["cleanup-revoked-personal-access-tokens"].Due,
		"each job counts as if it ran now, alone: the token of the revoked personal session too")

	ran := 0
	for _, j := range cleanup.AllJobs() {
		want, selected := wantAffected[j.Name]
		if !selected {
			continue
		}
		ran++
		jobArgs := append([]string{"--job", j.Name}, args...)
		b := backlog(t, jobArgs...)[j.Name]
		require.EqualValues(t, want, b.Due, j.Name)
		require.False(t, b.Estimated, j.Name)
		require.Nil(t, b.LastRun, "%s: no run recorded yet", j.Name)
		if b.Due == 0 {
			require.Nil(t, b.Oldest, j.Name)
			require.NotNil(t, b.ETASeconds, j.Name)
			require.Zero(t, *b.ETASeconds, "%s: nothing due is caught up", j.Name)
		} else {
			require.NotNil(t, b.Oldest, j.Name)
			require.True(t, b.Oldest.Before(now), "%s: the oldest due row %s is past its horizon", j.Name, b.Oldest)
			require.InDelta(t, now.Sub(*b.Oldest).Seconds(), *b.OldestAgeSeconds, 0.001, j.Name)
			require.Nil(t, b.ETASeconds, "%s: no rate, no ETA", j.Name)
		}

		code, out, errOut := janitor(t, nil, append([]string{"run", "--once", "--json"}, jobArgs...)...)
		require.Equal(t, exitOK, code, errOut)
		r := parseReports(t, out)[j.Name]
		require.EqualValues(t, b.Due, r.Affected, "%s: the backlog is what the run affected", j.Name)

		after := backlog(t, jobArgs...)[j.Name]
		require.Zero(t, after.Due, j.Name)
		require.NotNil(t, after.LastRun, "%s: the run is recorded", j.Name)
		require.EqualValues(t, r.Affected, after.LastRun.Affected, j.Name)
		require.NotNil(t, after.ETASeconds, j.Name)
		require.Zero(t, *after.ETASeconds, j.Name)
	}
	require.Equal(t, len(wantAffected), ran)
	require.Equal(t, kept(t, db), remaining(t, db), "job by job, the run left what a whole run leaves")

	row := backlogTable(t, args...)["cleanup-finished-compat-sessions"]
	require.Equal(t, "0", row[0])
	require.Equal(t, "rows/s", row[3], row)
	require.Equal(t, []string{"caught", "up"}, row[4:])
}

// With rows due and a rate recorded, the ETA is the due rows at that rate,
// rounded up to a second.
func TestBacklogETAIsTheDueRowsAtTheLastRate(t *testing.T) {
	t.Parallel()
	db := pgtest.Migrated(t)
	const job = "cleanup-finished-compat-sessions"
	args := []string{"--job", job, "--now", scenarioNow, "--database-url", db.URL}
	code, _, errOut := janitor(t, nil, append([]string{"run", "--once"}, args...)...)
	require.Equal(t, exitOK, code, errOut)

	loadCompatSessions(t, db, 45) // 45 due
	_, err := db.DB.Exec(`UPDATE masstore_janitor_runs SET affected = 10, duration_ms = 1000 WHERE job = $1`, job)
	require.NoError(t, err)

	b := backlog(t, args...)[job]
	require.EqualValues(t, 45, b.Due)
	require.Equal(t, 10.0, b.LastRun.RowsPerSecond)
	require.NotNil(t, b.ETASeconds)
	require.Equal(t, 5.0, *b.ETASeconds, "45 rows at 10 rows/s, rounded up")
	require.Equal(t, []string{"45", "61d0h", "10", "rows/s", "5s"}, backlogTable(t, args...)[job])
}

func TestBacklogUsageErrors(t *testing.T) {
	t.Parallel()
	requireUsageErrors(t, "backlog", []usageCase{
		{"unknown job", []string{"--job", "no-such-job"}, `"no-such-job"`},
		{"zero bound", []string{"--exact-within", "0s"}, "--exact-within 0s: want a positive duration"},
		{"negative bound", []string{"--exact-within", "-1s"}, "--exact-within -1s: want a positive duration"},
		{"bad bound", []string{"--exact-within", "soon"}, `"soon"`},
		{"bad now", []string{"--now", "yesterday"}, `"yesterday"`},
		{"extra argument", []string{"extra"}, `janitor backlog: unexpected argument "extra"`},
	})
	t.Run("unreachable database", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := janitor(t, nil, "backlog", "--database-url", unreachableDatabase)
		require.Equal(t, exitFailure, code)
		require.Contains(t, errOut, "janitor backlog: connect to postgres://u:xxxxx@127.0.0.1:1/db")
		require.Empty(t, out)
	})
}
