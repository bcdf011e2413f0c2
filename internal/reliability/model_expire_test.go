package reliability

import (
	"context"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
)

// expire-inactive-sessions in the model: its time-to-live, the sync-devices
// hook it calls, and what it must have finished (spec/JOBS.md).

const modelExpireJob = "expire-inactive-sessions"

// modelTTL reports whether r is a time-to-live expire-inactive-sessions
// accepts.
func modelTTL(r time.Duration) bool {
	return r >= cleanup.MinInactiveSessionTTL && r <= cleanup.MaxInactiveSessionTTL
}

// drawTTL draws a time-to-live for expire-inactive-sessions: a bound, some
// minutes or days, or one whose horizon falls on the last activity of a
// session (or a microsecond off).
func (m *model) drawTTL(t *rapid.T) time.Duration {
	switch rapid.IntRange(0, 3).Draw(t, "TTL (0 a bound, 1 minutes, 2 days, 3 a session's inactivity)") {
	case 0:
		return rapid.SampledFrom([]time.Duration{cleanup.MinInactiveSessionTTL, cleanup.MaxInactiveSessionTTL}).Draw(t, "TTL bound")
	case 1:
		return time.Duration(rapid.IntRange(10, 24*60).Draw(t, "TTL (minutes)")) * time.Minute
	case 2:
		return time.Duration(rapid.IntRange(1, 90).Draw(t, "TTL (days)")) * modelDay
	}
	if r, ok := m.boundaryRetention(t, modelExpireJob); ok && modelTTL(r) {
		return r
	}
	return cleanup.MinInactiveSessionTTL
}

// jobRetention draws a retention override for job: a time-to-live for
// expire-inactive-sessions, any retention for the others.
func (m *model) jobRetention(t *rapid.T, job string) time.Duration {
	if job == modelExpireJob {
		return m.drawTTL(t)
	}
	return m.drawRetention(t, job)
}

// modelSync is one call of the sync-devices hook: the run's time and the
// users handed to it.
type modelSync struct {
	now   time.Time
	users []ulid.ULID
}

// syncDevices is side's sync-devices hook: it does what MAS does
// (cleanup.ScheduleSyncDevices) and remembers the call in m.synced.
func (m *model) syncDevices(side int) cleanup.SyncDevicesFunc {
	return func(ctx context.Context, tx storage.Repository, now time.Time, users []ulid.ULID) error {
		m.synced[side] = append(m.synced[side], modelSync{now, slices.Clone(users)})
		return cleanup.ScheduleSyncDevices(ctx, tx, now, users)
	}
}

// expireOracle checks, on one side after a step that ran jobs, the sessions
// it finished: only expire-inactive-sessions finishes any, at the run's
// time, exactly the unfinished ones of the kinds it did not skip last active
// before its horizon (OAuth 2.0 sessions only of a user, through a client
// that is not static); and it handed sync-devices, batch by batch, the users
// of the compat and OAuth 2.0 sessions it finished.
func (m *model) expireOracle(t *rapid.T, side int, fail func(string, ...any), run modelRun, ran bool, prev, now *modelSnapshot) {
	o := run.opts.InactiveSessions
	at := modelTime(storage.Timestamp(run.now))
	expires := func(skip bool, lastActive string) bool { return ran && !skip && modelBefore(lastActive, run.horizon) }
	check := func(kind string, i int, was, is string, qualifies bool, lastActive string) {
		switch {
		case was == "" && is != "" && !qualifies:
			fail("%s %d (last active at %q) finished at %s", kind, i, lastActive, is)
		case was == "" && is != "" && is != at:
			fail("%s %d expired at %s, not at the run's time %s", kind, i, is, at)
		case was == "" && is == "" && qualifies:
			fail("%s %d last active at %s left unfinished", kind, i, lastActive)
		}
	}
	var compats, oauths []int
	for i, p := range prev.Compats {
		q := expires(o.SkipCompat, p.LastActive)
		if n, ok := now.Compats[i]; ok {
			check("compat session", i, p.Finished, n.Finished, q, p.LastActive)
		}
		if q && p.Finished == "" {
			compats = append(compats, i)
		}
	}
	for i, p := range prev.OAuths {
		q := expires(o.SkipOAuth2, p.LastActive) && p.User >= 0 && !prev.Clients[p.Client].Static
		if n, ok := now.OAuths[i]; ok {
			check("OAuth 2.0 session", i, p.Finished, n.Finished, q, p.LastActive)
		}
		if q && p.Finished == "" {
			oauths = append(oauths, i)
		}
	}
	for i, p := range prev.Browsers {
		if n, ok := now.Browsers[i]; ok {
			check("browser session", i, p.Finished, n.Finished, expires(o.SkipBrowser, p.LastActive), p.LastActive)
		}
	}
	if !ran {
		return
	}
	want := syncPages(run, compats, func(i int) (ulid.ULID, int) { return m.compats[i].obj[side].ID, prev.Compats[i].User })
	want = append(want, syncPages(run, oauths, func(i int) (ulid.ULID, int) { return m.oauths[i].obj[side].ID, prev.OAuths[i].User })...)
	got := [][]int{}
	for _, call := range run.synced[side] {
		require.True(t, call.now.Equal(run.now), "%s: sync-devices called with time %s, not the run's %s", modelSides[side], modelTime(call.now), modelTime(run.now))
		users := []int{}
		for _, id := range call.users {
			users = append(users, m.logical(t, side, "user", id))
		}
		got = append(got, users)
	}
	require.Equal(t, want, got, "%s: the users handed to sync-devices, batch by batch", modelSides[side])
}

// syncPages returns the users sync-devices must get for one kind's expired
// sessions: the sessions in this side's ID order, a batch at a time (the
// run's batch size, at most 100), each batch's distinct users in the order
// of their first session.
func syncPages(run modelRun, sessions []int, of func(int) (ulid.ULID, int)) [][]int {
	slices.SortFunc(sessions, func(a, b int) int { ia, _ := of(a); ib, _ := of(b); return ia.Compare(ib) })
	size := run.opts.BatchSize
	if size == 0 {
		size = cleanup.DefaultBatchSize
	}
	size = min(size, 100)
	out := [][]int{}
	for len(sessions) > 0 {
		n := min(size, len(sessions))
		users := []int{}
		for _, s := range sessions[:n] {
			if _, u := of(s); !slices.Contains(users, u) {
				users = append(users, u)
			}
		}
		out = append(out, users)
		sessions = sessions[n:]
	}
	return out
}
