package reliability

import (
	"fmt"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
)

const modelDay = 24 * time.Hour

// modelRetentions are the default retentions: clock jumps and overrides land
// on them, a nanosecond or a microsecond off, to hit the horizons exactly.
var (
	modelRetentions = []time.Duration{time.Hour, 7 * modelDay, 30 * modelDay}
	modelNudges     = []time.Duration{0, -time.Microsecond, -time.Nanosecond, time.Nanosecond, time.Microsecond, time.Millisecond}
)

// modelIPJobs maps each IP job to the table it cleans.
var modelIPJobs = map[string]string{
	"cleanup-inactive-user-session-ips":   "user_sessions",
	"cleanup-inactive-compat-session-ips": "compat_sessions",
	"cleanup-inactive-oauth2-session-ips": "oauth2_sessions",
	modelPersonalIPsJob:                   "personal_sessions",
}

// advanceClock moves both clocks by minutes or hours.
func (m *model) advanceClock(t *rapid.T) {
	d := time.Duration(rapid.IntRange(1, 59).Draw(t, "minutes")) * time.Minute
	if rapid.Bool().Draw(t, "hours") {
		d = time.Duration(rapid.IntRange(1, 23).Draw(t, "hours")) * time.Hour
	}
	m.advance(t, d)
}

// advanceClockDays moves both clocks by 1 to 40 days, or by a retention
// nudged by a tick either way.
func (m *model) advanceClockDays(t *rapid.T) {
	var d time.Duration
	if rapid.Bool().Draw(t, "a retention, nudged") {
		d = rapid.SampledFrom(modelRetentions).Draw(t, "retention") + rapid.SampledFrom(modelNudges).Draw(t, "nudge")
	} else {
		d = time.Duration(rapid.IntRange(1, 40).Draw(t, "days")) * modelDay
	}
	m.advance(t, d)
}

func (m *model) advance(t *rapid.T, d time.Duration) {
	for side := range 2 {
		m.clocks[side].Advance(d)
	}
	t.Logf("advance the clocks by %s to %s", d, m.clocks[modelMemory].Now().UTC().Format(time.RFC3339Nano))
}

// drawRetention draws a retention override: a default one nudged; some
// minutes, hours or days, short enough to catch what the sequence just did;
// or one whose horizon falls on a time a row holds (for job, a time the job
// compares, if it has any), or a microsecond off.
func (m *model) drawRetention(t *rapid.T, job string) time.Duration {
	switch rapid.IntRange(0, 4).Draw(t, "retention scale (0 default, 1 minutes, 2 hours, 3 days, 4 a row's age)") {
	case 4:
		if r, ok := m.boundaryRetention(t, job); ok {
			return r
		}
		return time.Minute
	case 0:
		return rapid.SampledFrom(modelRetentions).Draw(t, "retention") + max(0, rapid.SampledFrom(modelNudges).Draw(t, "nudge"))
	case 1:
		return time.Duration(rapid.IntRange(1, 59).Draw(t, "retention (minutes)")) * time.Minute
	case 2:
		return time.Duration(rapid.IntRange(1, 23).Draw(t, "retention (hours)")) * time.Hour
	}
	return time.Duration(rapid.IntRange(1, 40).Draw(t, "retention (days)")) * modelDay
}

// modelJobs are the jobs that clean what the sequences write; RunJob draws
// mostly from them (the others find nothing, as RunAll shows).
var modelJobs = []string{
	"cleanup-finished-compat-sessions", "cleanup-finished-oauth2-sessions", "cleanup-finished-user-sessions",
	"cleanup-upstream-oauth-sessions", "cleanup-upstream-oauth-links",
	"cleanup-revoked-oauth-access-tokens", "cleanup-expired-oauth-access-tokens",
	"cleanup-revoked-oauth-refresh-tokens", "cleanup-consumed-oauth-refresh-tokens",
	"cleanup-inactive-oauth2-session-ips", "cleanup-inactive-compat-session-ips", "cleanup-inactive-user-session-ips",
	modelPersonalSessionsJob, modelPersonalTokensJob, modelPersonalIPsJob,
	modelPolicyJob, modelExpireJob,
}

// runJob runs one job, with a batch size of 1 to 50, often with a retention
// override (always, for an optional job: its time-to-live), sometimes as a
// dry run.
func (m *model) runJob(t *rapid.T) {
	names := modelJobs
	if rapid.IntRange(0, 3).Draw(t, "any job (0)") == 0 {
		names = cleanup.Names()
	}
	job, err := cleanup.Lookup(rapid.SampledFrom(names).Draw(t, "job"))
	require.NoError(t, err)
	opts := m.drawOptions(t)
	if job.Optional || rapid.Bool().Draw(t, "override the retention") {
		opts.Retention = map[string]time.Duration{job.Name: m.jobRetention(t, job.Name)}
	}
	m.runJobs(t, []cleanup.Job{job}, opts)
}

// runJobAtHorizon runs a job whose horizon falls exactly on a time it
// compares, or a microsecond either side: the rows on the horizon must stay,
// those a microsecond older must go.
func (m *model) runJobAtHorizon(t *rapid.T) {
	var jobs []string
	for _, name := range modelJobs {
		if len(m.prev[modelMemory].times(name)) > 0 {
			jobs = append(jobs, name)
		}
	}
	if len(jobs) == 0 {
		t.Skip("no job has a row to put its horizon on")
	}
	job, err := cleanup.Lookup(rapid.SampledFrom(jobs).Draw(t, "job"))
	require.NoError(t, err)
	opts := m.drawOptions(t)
	if r, ok := m.boundaryRetention(t, job.Name); ok && (job.Name != modelExpireJob || modelTTL(r)) {
		opts.Retention = map[string]time.Duration{job.Name: r}
	} else if job.Optional {
		opts.Retention = map[string]time.Duration{job.Name: m.drawTTL(t)}
	}
	m.runJobs(t, []cleanup.Job{job}, opts)
}

// runAll runs every job: with their default retentions and overrides for
// up to three of them, or with one retention for all (but
// expire-inactive-sessions, whose time-to-live has bounds of its own);
// expire-inactive-sessions only when given a time-to-live.
func (m *model) runAll(t *rapid.T) {
	opts := m.drawOptions(t)
	opts.Retention = map[string]time.Duration{}
	if rapid.Bool().Draw(t, "one retention for all") {
		r := m.drawRetention(t, "")
		for _, name := range cleanup.Names() {
			if name != modelExpireJob {
				opts.Retention[name] = r
			}
		}
	} else {
		for range rapid.IntRange(0, 3).Draw(t, "overrides") {
			name := rapid.SampledFrom(cleanup.Names()).Draw(t, "overridden job")
			opts.Retention[name] = m.jobRetention(t, name)
		}
	}
	if _, on := opts.Retention[modelExpireJob]; !on && rapid.Bool().Draw(t, "expire inactive sessions") {
		opts.Retention[modelExpireJob] = m.drawTTL(t)
	}
	m.runJobs(t, cleanup.AllJobs(), opts)
}

// drawOptions draws the options of a run: batch and window sizes, dry or
// not, how many policy data versions to keep (0: 10), and which kinds of
// session expire-inactive-sessions skips.
func (m *model) drawOptions(t *rapid.T) cleanup.Options {
	return cleanup.Options{
		BatchSize:      rapid.IntRange(1, 50).Draw(t, "batch size"),
		WindowSize:     rapid.SampledFrom([]int{0, 1, 3, 100}).Draw(t, "window size"),
		DryRun:         rapid.IntRange(0, 7).Draw(t, "dry run (0)") == 0,
		KeepPolicyData: rapid.IntRange(0, 3).Draw(t, "policy data to keep (0: the default)"),
		InactiveSessions: cleanup.InactiveSessions{
			SkipCompat:  rapid.IntRange(0, 4).Draw(t, "expiry skips compat sessions (0)") == 0,
			SkipOAuth2:  rapid.IntRange(0, 4).Draw(t, "expiry skips OAuth 2.0 sessions (0)") == 0,
			SkipBrowser: rapid.IntRange(0, 4).Draw(t, "expiry skips browser sessions (0)") == 0,
		},
	}
}

// modelReport is what of a cleanup.Report both backends must agree on: all
// but the duration and the cursor's ID (ties on the cursor's time are broken
// by IDs, which differ).
type modelReport struct {
	Job                        string
	Retention                  time.Duration
	Horizon, CursorTime        string
	Affected, Scanned, Batches int
	Stopped                    cleanup.StopReason
	DryRun                     bool
}

// runJobs runs jobs on both sides with opts and requires the same outcome and
// reports. After a real run it requires that running the same jobs again
// affects nothing (a run leaves no candidate behind, and hands sync-devices
// no one), that the IP audit finds no stale IP in the tables of the IP jobs
// that ran, and it remembers their horizons for every later check. A dry run
// must change nothing.
func (m *model) runJobs(t *rapid.T, jobs []cleanup.Job, opts cleanup.Options) {
	settings := fmt.Sprintf("batch size %d, window size %d, retention overrides %v, policy data kept %d, expiry skips %+v, dry run %v",
		opts.BatchSize, opts.WindowSize, opts.Retention, opts.KeepPolicyData, opts.InactiveSessions, opts.DryRun)
	what := fmt.Sprintf("run %s (%s)", jobs[0].Name, settings)
	if len(jobs) > 1 {
		what = fmt.Sprintf("run all %d jobs (%s)", len(jobs), settings)
	}
	m.synced = [2][]modelSync{}
	m.runAndCompare(t, what, jobs, opts)
	if opts.DryRun {
		m.unchanged = true
		return
	}
	m.recordRuns(jobs, opts)
	m.synced = [2][]modelSync{}
	again := m.runAndCompare(t, "again: "+what, jobs, opts)
	for _, r := range again {
		require.Zero(t, r.Affected, "%s affected rows when run again right after a full run", r.Job)
	}
	require.Equal(t, [2][]modelSync{}, m.synced, "sync-devices called when run again right after a full run")
	m.auditIPs(t, jobs, opts)
}

// runAndCompare runs jobs on both sides, each with its own sync-devices hook
// (see syncDevices): both must succeed, with the same reports. (A job that
// fails is a job wedged, whatever the backend.)
func (m *model) runAndCompare(t *rapid.T, what string, jobs []cleanup.Job, opts cleanup.Options) []modelReport {
	var reports [2][]modelReport
	ok := m.both(t, what, func(side int, r storage.Store, c storage.Clock) error {
		o := opts
		o.InactiveSessions.SyncDevices = m.syncDevices(side)
		got, err := cleanup.RunJobs(m.ctx, jobs, r, c, o)
		for _, rep := range got {
			reports[side] = append(reports[side], modelReport{
				Job: rep.Job, Retention: rep.Retention, Horizon: modelTime(rep.Horizon), CursorTime: modelTime(rep.Cursor.Time),
				Affected: rep.Affected, Scanned: rep.Scanned, Batches: rep.Batches, Stopped: rep.Stopped, DryRun: rep.DryRun,
			})
		}
		return err
	})
	require.Equal(t, reports[modelMemory], reports[modelPostgres], "%s: job reports (memory, postgres)", what)
	require.True(t, ok, "%s: failed on both backends", what)
	for _, r := range reports[modelMemory] {
		if r.Scanned > 0 {
			t.Logf("  %s: affected %d, scanned %d, %d batches", r.Job, r.Affected, r.Scanned, r.Batches)
		}
	}
	return reports[modelMemory]
}

// auditIPs runs the privacy audit on both sides right after jobs ran: the
// tables of the IP jobs among them must hold no stale IP.
func (m *model) auditIPs(t *rapid.T, jobs []cleanup.Job, opts cleanup.Options) {
	ran := map[string]bool{}
	for _, j := range jobs {
		ran[j.Name] = true
	}
	var audits [2][]cleanup.IPAudit
	require.True(t, m.both(t, "audit IPs", func(side int, r storage.Store, c storage.Clock) (err error) {
		audits[side], err = cleanup.AuditIPs(m.ctx, r, c, opts)
		return err
	}), "the audit failed on both backends")
	require.Equal(t, len(audits[modelMemory]), len(audits[modelPostgres]))
	for i, a := range audits[modelMemory] {
		require.Equal(t, a.Stale, audits[modelPostgres][i].Stale, "audit of %s.%s (memory, postgres)", a.Table, a.Column)
		table, isIPJob := modelIPJobs[a.Job]
		if !ran[a.Job] {
			continue
		}
		require.Zero(t, a.Stale, "%s.%s holds IPs older than %s right after %s ran", a.Table, a.Column, a.Horizon, a.Job)
		if isIPJob && a.Horizon.After(m.ipHorizons[table]) {
			m.ipHorizons[table] = a.Horizon
		}
	}
}
