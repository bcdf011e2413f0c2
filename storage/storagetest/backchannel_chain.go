package storagetest

import (
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

const jobDay = 24 * time.Hour

// retentionJob is a cleanup as the host runs it: the job of JOBS.md, with
// its default retention.
type retentionJob struct {
	name      string
	retention time.Duration
	run       func(r storage.Repository) storage.CleanupFunc
}

// retentionJobs lists the jobs of JOBS.md in its order, which keeps
// back-channel logout working: compat and OAuth 2.0 sessions before browser
// sessions, browser sessions before upstream logins.
func retentionJobs() []retentionJob {
	return []retentionJob{
		{"cleanup-revoked-oauth-access-tokens", time.Hour, revokedAccessTokenCleanup},
		{"cleanup-expired-oauth-access-tokens", 30 * jobDay, expiredAccessTokenCleanup},
		{"cleanup-revoked-oauth-refresh-tokens", time.Hour, revokedRefreshTokenCleanup},
		{"cleanup-consumed-oauth-refresh-tokens", time.Hour, consumedRefreshTokenCleanup},
		{"cleanup-user-registrations", 30 * jobDay, registrationCleanup},
		{"cleanup-finished-compat-sessions", 30 * jobDay, compatSessionCleanup},
		{"cleanup-finished-oauth2-sessions", 30 * jobDay, oauth2SessionCleanup},
		{"cleanup-finished-user-sessions", 30 * jobDay, userSessionCleanup},
		{"cleanup-oauth-authorization-grants", 7 * jobDay, func(r storage.Repository) storage.CleanupFunc {
			return r.OAuth2Grants().CleanupAuthorizationGrants
		}},
		{"cleanup-oauth-device-code-grants", 7 * jobDay, deviceCodeGrantCleanup},
		{"cleanup-user-recovery-sessions", 7 * jobDay, recoveryCleanup},
		{"cleanup-user-email-authentications", 7 * jobDay, emailAuthenticationCleanup},
		{"cleanup-upstream-oauth-sessions", 7 * jobDay, orphanedUpstreamSessionCleanup},
		{"cleanup-upstream-oauth-links", 7 * jobDay, orphanedLinkCleanup},
		{"cleanup-inactive-oauth2-session-ips", 30 * jobDay, ipHolderOf(oauth2SessionCase).clear},
		{"cleanup-inactive-compat-session-ips", 30 * jobDay, ipHolderOf(compatSessionCase).clear},
		{"cleanup-inactive-user-session-ips", 30 * jobDay, ipHolderOf(userSessionCase).clear},
		{"cleanup-queue-jobs", 30 * jobDay, jobCleanup},
	}
}

// runRetentionJobs runs every job to the end, in order, with `before` the
// clock's time minus the job's retention; after, when not nil, is called
// after each job with its name.
func (e *cleanupEnv) runRetentionJobs(after func(name string)) {
	e.t.Helper()
	now := e.clock.Now()
	for _, j := range retentionJobs() {
		e.drain(j.run(e.store), now.Add(-j.retention))
		if after != nil {
			after(j.name)
		}
	}
}

func testBackchannelChainSurvivesCleanup(t *testing.T, f Factory) {
	t.Parallel()
	for _, loc := range cleanupZones {
		t.Run(loc.String(), func(t *testing.T) {
			t.Parallel()
			backchannelChainSurvivesCleanup(newCleanupEnv(t, f, loc))
		})
	}
}

// backchannelChainSurvivesCleanup: a browser session finished long ago that
// still has a live compat session keeps its upstream login through every
// cleanup, so that a back-channel logout still finishes the compat session;
// once that is finished and old, the whole chain goes, child first.
func backchannelChainSurvivesCleanup(e *cleanupEnv) {
	t := e.t
	e.set(-40 * jobDay)
	p := mustProvider(t, e.store, e.clock, storage.LogoutAll)
	u := mustUser(t, e.store, e.clock)
	claims := storage.IDTokenClaims{Sub: unique("sub"), Sid: unique("sid")}
	browser, up := mustUpstreamLogin(t, e.store, e.clock, p, u, claims)
	require.Equal(t, browser.ID, up.UserSessionID)
	compat := mustCompatSession(t, e.store, e.clock, u, browser)
	childless := mustUserSession(t, e.store, e.clock, u)
	e.clock.Advance(time.Hour)
	mustFinishUserSession(t, e.store, e.clock, browser)
	mustFinishUserSession(t, e.store, e.clock, childless)
	e.clock.Advance(31 * jobDay)

	e.runRetentionJobs(nil)
	require.False(t, e.hasUserSession(childless.ID), "a childless browser session finished 31 days ago goes")
	require.True(t, e.hasUserSession(browser.ID), "a browser session with a live compat session stays")
	require.True(t, e.hasCompatSession(compat.ID))
	require.Equal(t, browser.ID, e.getUpstreamSession(up.ID).UserSessionID, "the upstream login stays tied to its browser session")
	require.True(t, e.hasLink(up.LinkID))

	report, err := e.store.UpstreamOAuth().BackchannelLogout(e.ctx, e.clock, p, claims.Sub, "")
	require.NoError(t, err)
	require.Equal(t, []ulid.ULID{up.ID}, report.UpstreamSessions)
	require.Equal(t, []ulid.ULID{browser.ID}, report.UserSessions)
	require.Equal(t, []ulid.ULID{compat.ID}, report.FinishedCompatSessions)
	require.Empty(t, report.FinishedUserSessions, "the browser session was already finished")
	got, err := e.store.CompatSessions().Lookup(e.ctx, compat.ID)
	require.NoError(t, err)
	require.NotNil(t, got.FinishedAt)

	e.clock.Advance(31 * jobDay)
	e.runRetentionJobs(func(name string) {
		switch name {
		case "cleanup-finished-compat-sessions":
			require.False(t, e.hasCompatSession(compat.ID))
			require.True(t, e.hasUserSession(browser.ID))
		case "cleanup-finished-user-sessions":
			require.False(t, e.hasUserSession(browser.ID))
			require.Zero(t, e.getUpstreamSession(up.ID).UserSessionID, "the upstream login is orphaned")
		case "cleanup-upstream-oauth-sessions":
			require.False(t, e.hasUpstreamSession(up.ID))
		}
	})
	require.False(t, e.hasUpstreamSession(up.ID))
	require.True(t, e.hasLink(up.LinkID), "the link belongs to a user")
}
