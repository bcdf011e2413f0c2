package cleanup_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
)

const days = 24 * time.Hour

// world is a small server for one scenario.
type world struct {
	t      *testing.T
	ctx    context.Context
	store  storage.Store
	clock  *storage.TestClock
	client *storage.OAuth2Client
	n      int
}

func newWorld(t *testing.T, store storage.Store) *world {
	w := &world{t: t, ctx: context.Background(), store: store, clock: storage.NewTestClock(testNow)}
	var err error
	w.client, err = store.OAuth2Clients().Add(w.ctx, w.clock, "client", []string{"https://app.example/"})
	require.NoError(t, err)
	return w
}

func (w *world) name(prefix string) string {
	w.n++
	return fmt.Sprintf("%s-%d", prefix, w.n)
}

func (w *world) user() *storage.User {
	u, err := w.store.Users().Add(w.ctx, w.clock, w.name("user"))
	require.NoError(w.t, err)
	return u
}

func (w *world) browser(u *storage.User) *storage.UserSession {
	s, err := w.store.UserSessions().Add(w.ctx, w.clock, u, "Firefox")
	require.NoError(w.t, err)
	require.NoError(w.t, w.store.UserSessions().RecordActivity(w.ctx, w.clock, s.ID, netip.MustParseAddr("192.0.2.1")))
	return s
}

func (w *world) compat(u *storage.User, b *storage.UserSession) *storage.CompatSession {
	s, err := w.store.CompatSessions().Add(w.ctx, w.clock, u, w.name("DEVICE"), b, false)
	require.NoError(w.t, err)
	at, err := w.store.CompatSessions().AddAccessToken(w.ctx, w.clock, s, w.name("cat"), 0)
	require.NoError(w.t, err)
	_, err = w.store.CompatSessions().AddRefreshToken(w.ctx, w.clock, s, at, w.name("crt"))
	require.NoError(w.t, err)
	return s
}

func (w *world) oauth(u *storage.User, b *storage.UserSession) *storage.OAuth2Session {
	s, err := w.store.OAuth2Sessions().Add(w.ctx, w.clock, w.client, u, b, []string{"openid"})
	require.NoError(w.t, err)
	at, err := w.store.OAuth2Tokens().AddAccessToken(w.ctx, w.clock, s, w.name("at"), time.Hour)
	require.NoError(w.t, err)
	_, err = w.store.OAuth2Tokens().AddRefreshToken(w.ctx, w.clock, s, at, w.name("rt"))
	require.NoError(w.t, err)
	return s
}

// runAll runs every job as a host's scheduler would, and checks none failed.
func (w *world) runAll(opts cleanup.Options) map[string]int {
	reports, err := cleanup.RunAll(w.ctx, w.store, w.clock, opts)
	require.NoError(w.t, err)
	out := map[string]int{}
	for _, r := range reports {
		require.True(w.t, r.Finished(), r.Job)
		out[r.Job] = r.Affected
	}
	return out
}

func (w *world) exists(lookup func() error) bool {
	err := lookup()
	if err == nil {
		return true
	}
	require.ErrorIs(w.t, err, storage.ErrNotFound)
	return false
}

func (w *world) browserExists(s *storage.UserSession) bool {
	return w.exists(func() error { _, err := w.store.UserSessions().Lookup(w.ctx, s.ID); return err })
}

func (w *world) compatExists(s *storage.CompatSession) bool {
	return w.exists(func() error { _, err := w.store.CompatSessions().Lookup(w.ctx, s.ID); return err })
}

func (w *world) oauthExists(s *storage.OAuth2Session) bool {
	return w.exists(func() error { _, err := w.store.OAuth2Sessions().Lookup(w.ctx, s.ID); return err })
}

// The MAS scenario set.
func TestMASScenarios(t *testing.T) {
	t.Parallel()

	t.Run("SessionsFinishedLessThan30DaysAgoAreKept", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			u := w.user()
			b := w.browser(u)
			c := w.compat(u, b)
			o := w.oauth(u, b)
			_, err := store.CompatSessions().Finish(w.ctx, w.clock, c)
			require.NoError(t, err)
			_, err = store.OAuth2Sessions().Finish(w.ctx, w.clock, o)
			require.NoError(t, err)
			_, err = store.UserSessions().Finish(w.ctx, w.clock, b)
			require.NoError(t, err)

			w.clock.Advance(30 * days) // exactly at the horizon: not before it
			w.runAll(cleanup.Options{})
			require.True(t, w.compatExists(c))
			require.True(t, w.oauthExists(o))
			require.True(t, w.browserExists(b))
		})
	})

	t.Run("FinishedCompatAndOAuth2SessionsAndTheirBrowserSessionGoAfter31Days", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			u := w.user()
			b := w.browser(u)
			c := w.compat(u, b)
			o := w.oauth(u, b)
			_, err := store.CompatSessions().Finish(w.ctx, w.clock, c)
			require.NoError(t, err)
			_, err = store.OAuth2Sessions().Finish(w.ctx, w.clock, o)
			require.NoError(t, err)
			_, err = store.UserSessions().Finish(w.ctx, w.clock, b)
			require.NoError(t, err)

			w.clock.Advance(31 * days)
			got := w.runAll(cleanup.Options{})
			require.Equal(t, 1, got["cleanup-finished-compat-sessions"])
			require.Equal(t, 1, got["cleanup-finished-oauth2-sessions"])
			require.Equal(t, 1, got["cleanup-finished-user-sessions"], "in the same run, once its children are gone")
			require.False(t, w.compatExists(c))
			require.False(t, w.oauthExists(o))
			require.False(t, w.browserExists(b))
		})
	})

	t.Run("DeactivatedUsersSessionsAreAllGone31DaysAfterDeactivation", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			u := w.user()
			b1, b2 := w.browser(u), w.browser(u)
			c := w.compat(u, b1)
			o := w.oauth(u, b2)
			loose := w.compat(u, nil)
			bystander := w.user()
			other := w.browser(bystander)

			w.clock.Advance(5 * days)
			_, err := store.Users().Deactivate(w.ctx, w.clock, u)
			require.NoError(t, err)
			w.clock.Advance(30 * days)
			w.runAll(cleanup.Options{})
			require.True(t, w.browserExists(b1), "30 days after deactivation: kept")

			w.clock.Advance(1 * days)
			w.runAll(cleanup.Options{})
			for _, s := range []*storage.UserSession{b1, b2} {
				require.False(t, w.browserExists(s))
			}
			require.False(t, w.compatExists(c))
			require.False(t, w.compatExists(loose))
			require.False(t, w.oauthExists(o))
			require.True(t, w.browserExists(other), "another user's active session is untouched")
		})
	})

	t.Run("BrowserSessionWithALiveChildSurvivesAndBackchannelLogoutStillReachesIt", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			up := store.UpstreamOAuth()
			provider, err := up.AddProvider(w.ctx, w.clock, storage.UpstreamOAuthProvider{Issuer: "https://idp.example", ClientID: "c", Scope: "openid", OnBackchannelLogout: storage.LogoutAll})
			require.NoError(t, err)
			u := w.user()
			login, err := up.AddSession(w.ctx, w.clock, provider, w.name("state"), "nonce")
			require.NoError(t, err)
			link, err := up.AddLink(w.ctx, w.clock, provider, "sub-1", u)
			require.NoError(t, err)
			login, err = up.CompleteSession(w.ctx, w.clock, login, link, storage.IDTokenClaims{Sub: "sub-1", Sid: "sid-1"})
			require.NoError(t, err)
			b := w.browser(u)
			_, err = store.UserSessions().AuthenticateWithUpstream(w.ctx, w.clock, b, login)
			require.NoError(t, err)
			c := w.compat(u, b)
			o := w.oauth(u, b)
			_, err = store.UserSessions().Finish(w.ctx, w.clock, b)
			require.NoError(t, err)

			w.clock.Advance(60 * days)
			got := w.runAll(cleanup.Options{})
			require.Zero(t, got["cleanup-finished-user-sessions"])
			require.Zero(t, got["cleanup-upstream-oauth-sessions"])
			require.True(t, w.browserExists(b), "finished 60 days ago, but its children are live")
			require.True(t, w.compatExists(c))
			require.True(t, w.oauthExists(o))
			login, err = up.LookupSession(w.ctx, login.ID)
			require.NoError(t, err)
			require.Equal(t, b.ID, login.UserSessionID)

			report, err := up.BackchannelLogout(w.ctx, w.clock, provider, "sub-1", "")
			require.NoError(t, err)
			require.Contains(t, report.FinishedCompatSessions, c.ID)
			require.Contains(t, report.FinishedOAuth2Sessions, o.ID)

			// 31 days later the whole chain goes, in one run, in order.
			w.clock.Advance(31 * days)
			got = w.runAll(cleanup.Options{})
			require.Equal(t, 1, got["cleanup-finished-compat-sessions"])
			require.Equal(t, 1, got["cleanup-finished-user-sessions"])
			require.Equal(t, 1, got["cleanup-upstream-oauth-sessions"])
			require.False(t, w.browserExists(b))
		})
	})

	t.Run("ActiveSessionsAreNeverTouched", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			u := w.user()
			b := w.browser(u)
			c := w.compat(u, b)
			o := w.oauth(u, b)
			w.clock.Advance(400 * days)
			w.runAll(cleanup.Options{})
			require.True(t, w.browserExists(b))
			require.True(t, w.compatExists(c))
			require.True(t, w.oauthExists(o))
			// Only their stale IP went.
			got, err := store.UserSessions().Lookup(w.ctx, b.ID)
			require.NoError(t, err)
			require.False(t, got.LastActiveIP.IsValid())
			require.Nil(t, got.FinishedAt)
		})
	})
}

func TestCompletedQueueJobNamedByARetryAndAScheduleIsCleaned(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, store storage.Store) {
		w := newWorld(t, store)
		q := store.Queue()
		require.NoError(t, q.SetupSchedules(w.ctx, []string{"nightly"}))
		worker, err := q.RegisterWorker(w.ctx, w.clock)
		require.NoError(t, err)
		first, err := q.ScheduleJob(w.ctx, w.clock, "email", nil, w.clock.Now(), "nightly")
		require.NoError(t, err)
		require.NoError(t, q.RecordScheduled(w.ctx, w.clock, "nightly", first))
		_, err = q.PromoteScheduled(w.ctx, w.clock, 10)
		require.NoError(t, err)
		jobs, err := q.Reserve(w.ctx, w.clock, worker, []string{"email"}, 1)
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		failed, err := q.FailJob(w.ctx, w.clock, jobs[0], "boom")
		require.NoError(t, err)
		retry, err := q.RetryJob(w.ctx, w.clock, failed, 0)
		require.NoError(t, err)
		jobs, err = q.Reserve(w.ctx, w.clock, worker, []string{"email"}, 1)
		require.NoError(t, err)
		require.Equal(t, retry.ID, jobs[0].ID)
		done, err := q.CompleteJob(w.ctx, w.clock, jobs[0])
		require.NoError(t, err)
		require.NoError(t, q.RecordScheduled(w.ctx, w.clock, "nightly", done))
		// The failed first attempt names the completed retry; the schedule too.

		w.clock.Advance(31 * days)
		r, err := cleanup.QueueJobs(w.ctx, store, w.clock, 1)
		require.NoError(t, err)
		require.Equal(t, 2, r.Affected)
		_, err = q.LookupJob(w.ctx, done.ID)
		require.ErrorIs(t, err, storage.ErrNotFound)
		schedules, err := q.ListSchedules(w.ctx)
		require.NoError(t, err)
		require.Len(t, schedules, 1)
		require.Zero(t, schedules[0].LastScheduledJobID)
	})
}
