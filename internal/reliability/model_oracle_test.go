package reliability

import (
	"slices"
	"strconv"
	"time"

	"pgregory.net/rapid"

	"github.com/masstore/masstore/cleanup"
)

// The job oracle holds the jobs to their definition (spec/JOBS.md), whatever
// the backend: the differential comparison cannot see a mistake both
// backends share (one in the cleanup engine, say). After a step that ran
// jobs, every row deleted (or IP cleared, or session finished) must have
// qualified for one of them, or gone with a row that did; and no row still
// qualifies for a job that ran. A step that ran no job deletes nothing.

// modelRun is a job a step ran: the run's time, the horizon the model
// expects for it, the options, and (expire-inactive-sessions) the calls of
// each side's sync-devices hook.
type modelRun struct {
	job          string
	now, horizon time.Time
	opts         cleanup.Options
	synced       [2][]modelSync
}

func (r modelRun) String() string {
	return r.job + " to " + modelTime(r.horizon)
}

// recordRuns notes the jobs a step ran (those opts turn on), with their
// horizons computed from the clock and the retentions, for the next check.
func (m *model) recordRuns(jobs []cleanup.Job, opts cleanup.Options) {
	now := m.clocks[modelMemory].Now()
	for _, j := range jobs {
		if !j.On(opts) {
			continue
		}
		r := j.Retention
		if o, ok := opts.Retention[j.Name]; ok {
			r = o
		}
		run := modelRun{job: j.Name, now: now, horizon: now.Add(-r), opts: opts}
		if j.Name == modelExpireJob {
			run.synced = m.synced
		}
		m.ran = append(m.ran, run)
	}
}

// modelParse parses a snapshot time; false for none.
func modelParse(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t, true
}

// modelBefore reports whether the stored time s is strictly before h.
func modelBefore(s string, h time.Time) bool {
	t, ok := modelParse(s)
	return ok && t.Before(h)
}

// modelOlder reports whether a row created at s is older than h by ULID
// age: its ID's millisecond is before h's.
func modelOlder(s string, h time.Time) bool {
	t, ok := modelParse(s)
	return ok && t.Truncate(time.Millisecond).Before(h.Truncate(time.Millisecond))
}

// oracle checks one side's state after a step against the jobs it ran.
func (m *model) oracle(t *rapid.T, side int, prev, now *modelSnapshot) {
	name := modelSides[side]
	runs := map[string]modelRun{}
	for _, r := range m.ran {
		runs[r.job] = r
	}
	ran := func(job string) (time.Time, bool) { r, ok := runs[job]; return r.horizon, ok }
	// qualifies reports whether job ran and s is before its horizon.
	qualifies := func(job, s string) bool { hz, ok := ran(job); return ok && modelBefore(s, hz) }
	older := func(job, s string) bool { hz, ok := ran(job); return ok && modelOlder(s, hz) }
	fail := func(format string, args ...any) {
		t.Fatalf("%s: job oracle (jobs run: %v): "+format, append([]any{name, m.ran}, args...)...)
	}
	gone := func(present bool, was bool) bool { return was && !present }

	// Every deletion is explained.
	for i, p := range prev.Compats {
		if _, ok := now.Compats[i]; !ok && !qualifies("cleanup-finished-compat-sessions", p.Finished) {
			fail("compat session %d deleted, finished at %q", i, p.Finished)
		}
	}
	for i, p := range prev.CompatATs {
		_, ok := now.CompatATs[i]
		if _, alive := now.Compats[p.Session]; !ok && alive {
			fail("compat access token %d deleted without its session", i)
		}
	}
	for i, p := range prev.CompatRTs {
		_, ok := now.CompatRTs[i]
		if _, alive := now.Compats[p.Session]; !ok && alive {
			fail("compat refresh token %d deleted without its session", i)
		}
	}
	for i, p := range prev.OAuths {
		if _, ok := now.OAuths[i]; !ok && !qualifies("cleanup-finished-oauth2-sessions", p.Finished) {
			fail("OAuth 2.0 session %d deleted, finished at %q", i, p.Finished)
		}
	}
	for i, p := range prev.OAuthATs {
		_, ok := now.OAuthATs[i]
		_, sessionAlive := now.OAuths[p.Session]
		if !ok && sessionAlive && !qualifies("cleanup-revoked-oauth-access-tokens", p.Revoked) && !qualifies("cleanup-expired-oauth-access-tokens", p.Expires) {
			fail("OAuth 2.0 access token %d deleted: revoked at %q, expires at %q", i, p.Revoked, p.Expires)
		}
	}
	for i, p := range prev.OAuthRTs {
		_, ok := now.OAuthRTs[i]
		_, sessionAlive := now.OAuths[p.Session]
		if ok || !sessionAlive || qualifies("cleanup-revoked-oauth-refresh-tokens", p.Revoked) {
			continue
		}
		next, nextWas := prev.OAuthRTs[p.Next]
		_, nextIs := now.OAuthRTs[p.Next]
		chainEnds := p.Next < 0 || !nextWas || next.Consumed != "" || gone(nextIs, nextWas)
		if !qualifies("cleanup-consumed-oauth-refresh-tokens", p.Consumed) || !chainEnds {
			fail("OAuth 2.0 refresh token %d deleted: consumed at %q, revoked at %q, successor %d", i, p.Consumed, p.Revoked, p.Next)
		}
	}
	for i, p := range prev.Browsers {
		if _, ok := now.Browsers[i]; ok {
			continue
		}
		if !qualifies("cleanup-finished-user-sessions", p.Finished) {
			fail("browser session %d deleted, finished at %q", i, p.Finished)
		}
		if c := modelChildren(now, i); c != "" {
			fail("browser session %d deleted while %s still points at it", i, c)
		}
	}
	for i, p := range prev.Upstreams {
		if _, ok := now.Upstreams[i]; ok {
			continue
		}
		_, browserAlive := now.Browsers[p.Browser]
		_, linkAlive := now.Links[p.Link]
		orphan := p.Browser < 0 || !browserAlive
		if !(older("cleanup-upstream-oauth-sessions", p.Created) && orphan) && !(p.Link >= 0 && !linkAlive) {
			fail("upstream login %d deleted: created at %q, browser session %d, link %d", i, p.Created, p.Browser, p.Link)
		}
	}
	for i, p := range prev.Links {
		if _, ok := now.Links[i]; !ok && !(p.User < 0 && older("cleanup-upstream-oauth-links", p.Created)) {
			fail("link %d deleted: created at %q, user %d", i, p.Created, p.User)
		}
	}
	modelIPsCleared(fail, "browser session", "cleanup-inactive-user-session-ips", qualifies, prev.Browsers, now.Browsers, func(r modelBrowserRow) (string, string) { return r.LastIP, r.LastActive })
	modelIPsCleared(fail, "compat session", "cleanup-inactive-compat-session-ips", qualifies, prev.Compats, now.Compats, func(r modelCompatRow) (string, string) { return r.LastIP, r.LastActive })
	modelIPsCleared(fail, "OAuth 2.0 session", "cleanup-inactive-oauth2-session-ips", qualifies, prev.OAuths, now.OAuths, func(r modelOAuthRow) (string, string) { return r.LastIP, r.LastActive })

	// Nothing still qualifies for a job that ran.
	for i, r := range now.Compats {
		if qualifies("cleanup-finished-compat-sessions", r.Finished) {
			fail("compat session %d finished at %s left behind", i, r.Finished)
		}
	}
	for i, r := range now.OAuths {
		if qualifies("cleanup-finished-oauth2-sessions", r.Finished) {
			fail("OAuth 2.0 session %d finished at %s left behind", i, r.Finished)
		}
	}
	for i, r := range now.Browsers {
		if qualifies("cleanup-finished-user-sessions", r.Finished) && modelChildren(now, i) == "" {
			fail("browser session %d finished at %s, without children, left behind", i, r.Finished)
		}
	}
	for i, r := range now.Upstreams {
		if r.Browser < 0 && older("cleanup-upstream-oauth-sessions", r.Created) {
			fail("upstream login %d created at %s, without browser session, left behind", i, r.Created)
		}
	}
	for i, r := range now.Links {
		if r.User < 0 && older("cleanup-upstream-oauth-links", r.Created) {
			fail("link %d created at %s, without user, left behind", i, r.Created)
		}
	}
	for i, r := range now.OAuthATs {
		if qualifies("cleanup-revoked-oauth-access-tokens", r.Revoked) || qualifies("cleanup-expired-oauth-access-tokens", r.Expires) {
			fail("OAuth 2.0 access token %d (revoked at %q, expires at %q) left behind", i, r.Revoked, r.Expires)
		}
	}
	for i, r := range now.OAuthRTs {
		next, hasNext := now.OAuthRTs[r.Next]
		chainEnds := r.Next < 0 || (hasNext && next.Consumed != "")
		if qualifies("cleanup-revoked-oauth-refresh-tokens", r.Revoked) || (qualifies("cleanup-consumed-oauth-refresh-tokens", r.Consumed) && chainEnds) {
			fail("OAuth 2.0 refresh token %d (consumed at %q, revoked at %q, successor %d) left behind", i, r.Consumed, r.Revoked, r.Next)
		}
	}
	modelStaleIPs(fail, "browser session", "cleanup-inactive-user-session-ips", qualifies, now.Browsers, func(r modelBrowserRow) (string, string) { return r.LastIP, r.LastActive })
	modelStaleIPs(fail, "compat session", "cleanup-inactive-compat-session-ips", qualifies, now.Compats, func(r modelCompatRow) (string, string) { return r.LastIP, r.LastActive })
	modelStaleIPs(fail, "OAuth 2.0 session", "cleanup-inactive-oauth2-session-ips", qualifies, now.OAuths, func(r modelOAuthRow) (string, string) { return r.LastIP, r.LastActive })

	personalOracle(fail, qualifies, prev, now)
	policy, ok := runs[modelPolicyJob]
	m.policyOracle(side, fail, policy, ok, prev, now)
	expire, ok := runs[modelExpireJob]
	m.expireOracle(t, side, fail, expire, ok, prev, now)
}

// modelChildren names a compat or OAuth 2.0 session of browser session b in
// s, "" when it has none.
func modelChildren(s *modelSnapshot, b int) string {
	for i, c := range s.Compats {
		if c.Browser == b {
			return "compat session " + strconv.Itoa(i)
		}
	}
	for i, o := range s.OAuths {
		if o.Browser == b {
			return "OAuth 2.0 session " + strconv.Itoa(i)
		}
	}
	return ""
}

// modelIPsCleared checks that every IP cleared was stale for its job.
func modelIPsCleared[R any](fail func(string, ...any), kind, job string, qualifies func(job, s string) bool, prev, now map[int]R, ip func(R) (addr, lastActive string)) {
	for i, p := range prev {
		n, ok := now[i]
		if !ok {
			continue
		}
		was, lastActive := ip(p)
		is, _ := ip(n)
		if was != "" && is == "" && !qualifies(job, lastActive) {
			fail("%s %d lost its IP %s, last active at %s", kind, i, was, lastActive)
		}
	}
}

// modelStaleIPs checks that no IP stale for its job is left.
func modelStaleIPs[R any](fail func(string, ...any), kind, job string, qualifies func(job, s string) bool, now map[int]R, ip func(R) (addr, lastActive string)) {
	for i, r := range now {
		if addr, lastActive := ip(r); addr != "" && qualifies(job, lastActive) {
			fail("%s %d keeps IP %s, last active at %s", kind, i, addr, lastActive)
		}
	}
}

// modelNothingDeleted checks, after a step that ran no job, that no row of
// the last check is gone.
func modelNothingDeleted(t *rapid.T, side string, prev, now *modelSnapshot) {
	gone := func(kind string, prev, now []int) {
		for _, i := range prev {
			if !slices.Contains(now, i) {
				t.Fatalf("%s: %s %d deleted by a step that ran no job", side, kind, i)
			}
		}
	}
	gone("browser session", modelKeys(prev.Browsers), modelKeys(now.Browsers))
	gone("compat session", modelKeys(prev.Compats), modelKeys(now.Compats))
	gone("compat access token", modelKeys(prev.CompatATs), modelKeys(now.CompatATs))
	gone("compat refresh token", modelKeys(prev.CompatRTs), modelKeys(now.CompatRTs))
	gone("OAuth 2.0 session", modelKeys(prev.OAuths), modelKeys(now.OAuths))
	gone("OAuth 2.0 access token", modelKeys(prev.OAuthATs), modelKeys(now.OAuthATs))
	gone("OAuth 2.0 refresh token", modelKeys(prev.OAuthRTs), modelKeys(now.OAuthRTs))
	gone("link", modelKeys(prev.Links), modelKeys(now.Links))
	gone("upstream login", modelKeys(prev.Upstreams), modelKeys(now.Upstreams))
	gone("personal session", modelKeys(prev.Personals), modelKeys(now.Personals))
	gone("personal access token", modelKeys(prev.PATs), modelKeys(now.PATs))
	gone("policy data", modelKeys(prev.Policies), modelKeys(now.Policies))
}

func modelKeys[R any](rows map[int]R) []int {
	keys := make([]int, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	return keys
}

// boundaryRetention draws a retention that puts the horizon exactly on a
// time the last check saw, or a microsecond either side of it: one that job
// compares, or any (job "" or no such time); ok is false when there is none.
func (m *model) boundaryRetention(t *rapid.T, job string) (time.Duration, bool) {
	prev := m.prev[modelMemory]
	times := prev.times(job)
	if len(times) == 0 {
		times = prev.times("")
	}
	if len(times) == 0 {
		return 0, false
	}
	at, _ := modelParse(rapid.SampledFrom(times).Draw(t, "horizon at"))
	nudge := rapid.SampledFrom([]time.Duration{-time.Microsecond, 0, time.Microsecond}).Draw(t, "horizon nudge")
	r := m.clocks[modelMemory].Now().Sub(at.Add(nudge))
	return r, r > 0 && r <= cleanup.MaxRetention
}

// times returns the times of s that job compares (every time for ""),
// sorted, without repeats.
func (s *modelSnapshot) times(job string) []string {
	var out []string
	add := func(j string, ts ...string) {
		if job != "" && job != j {
			return
		}
		for _, t := range ts {
			if t != "" {
				out = append(out, t)
			}
		}
	}
	inactive := func(finished, lastActive string) {
		if finished == "" {
			add(modelExpireJob, lastActive)
		}
	}
	for _, r := range s.Browsers {
		add("cleanup-finished-user-sessions", r.Finished)
		add("cleanup-inactive-user-session-ips", r.LastActive)
		inactive(r.Finished, r.LastActive)
	}
	for _, r := range s.Compats {
		add("cleanup-finished-compat-sessions", r.Finished)
		add("cleanup-inactive-compat-session-ips", r.LastActive)
		inactive(r.Finished, r.LastActive)
	}
	for _, r := range s.OAuths {
		add("cleanup-finished-oauth2-sessions", r.Finished)
		add("cleanup-inactive-oauth2-session-ips", r.LastActive)
		inactive(r.Finished, r.LastActive)
	}
	for _, r := range s.Personals {
		add(modelPersonalSessionsJob, r.Revoked)
		add(modelPersonalIPsJob, r.LastActive)
	}
	for _, r := range s.PATs {
		add(modelPersonalTokensJob, r.Revoked)
	}
	for _, created := range s.Policies {
		add(modelPolicyJob, created)
	}
	for _, r := range s.OAuthATs {
		add("cleanup-expired-oauth-access-tokens", r.Expires)
		add("cleanup-revoked-oauth-access-tokens", r.Revoked)
	}
	for _, r := range s.OAuthRTs {
		add("cleanup-consumed-oauth-refresh-tokens", r.Consumed)
		add("cleanup-revoked-oauth-refresh-tokens", r.Revoked)
	}
	for _, r := range s.Links {
		add("cleanup-upstream-oauth-links", r.Created)
	}
	for _, r := range s.Upstreams {
		add("cleanup-upstream-oauth-sessions", r.Created)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
