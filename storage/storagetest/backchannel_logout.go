package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// upstreamLogin is what one login through an upstream provider produced: the
// upstream session, the browser session it authenticated, and a compat and
// an OAuth 2.0 session started from that browser session.
type upstreamLogin struct {
	upstream *storage.UpstreamOAuthSession
	browser  *storage.UserSession
	compat   *storage.CompatSession
	oauth    *storage.OAuth2Session
}

// mustUpstreamLoginWithChildren logs user in through provider with claims
// and starts a compat and an OAuth 2.0 session from the browser session.
func mustUpstreamLoginWithChildren(t *testing.T, b bundle, provider *storage.UpstreamOAuthProvider, user *storage.User, claims storage.IDTokenClaims) upstreamLogin {
	t.Helper()
	browser, upstream := mustUpstreamLogin(t, b.store, b.clock, provider, user, claims)
	return upstreamLogin{
		upstream: upstream,
		browser:  browser,
		compat:   mustCompatSession(t, b.store, b.clock, user, browser),
		oauth:    mustOAuth2Session(t, b.store, b.clock, mustClient(t, b.store, b.clock), user, browser),
	}
}

// sortedIDs returns ids sorted.
func sortedIDs(ids ...ulid.ULID) []ulid.ULID {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b ulid.ULID) int { return a.Compare(b) })
	return ids
}

// requireReport checks got against want field by field (a nil and an empty
// slice are the same), order included.
func requireReport(t *testing.T, want, got *storage.LogoutReport) {
	t.Helper()
	require.NotNil(t, got)
	fields := []struct {
		name      string
		want, got []ulid.ULID
	}{
		{"UpstreamSessions", want.UpstreamSessions, got.UpstreamSessions},
		{"UserSessions", want.UserSessions, got.UserSessions},
		{"FinishedUserSessions", want.FinishedUserSessions, got.FinishedUserSessions},
		{"FinishedCompatSessions", want.FinishedCompatSessions, got.FinishedCompatSessions},
		{"FinishedOAuth2Sessions", want.FinishedOAuth2Sessions, got.FinishedOAuth2Sessions},
	}
	for _, f := range fields {
		if len(f.want) == 0 {
			require.Empty(t, f.got, f.name)
			continue
		}
		require.Equal(t, f.want, f.got, f.name)
	}
}

// requireFinishedAt checks the finished time of each session of l: browser,
// compat and OAuth 2.0 (nil: unfinished).
func requireFinishedAt(t *testing.T, b bundle, l upstreamLogin, browser, compat, oauth *time.Time) {
	t.Helper()
	us, err := b.store.UserSessions().Lookup(b.ctx, l.browser.ID)
	require.NoError(t, err)
	require.Equal(t, browser, us.FinishedAt, "browser session")
	cs, err := b.store.CompatSessions().Lookup(b.ctx, l.compat.ID)
	require.NoError(t, err)
	require.Equal(t, compat, cs.FinishedAt, "compat session")
	os, err := b.store.OAuth2Sessions().Lookup(b.ctx, l.oauth.ID)
	require.NoError(t, err)
	require.Equal(t, oauth, os.FinishedAt, "OAuth 2.0 session")
}

func testBackchannelLogout(t *testing.T, f Factory) {
	t.Parallel()

	claims := storage.IDTokenClaims{Sub: "sub-1", Sid: "sid-1"}

	// Each mode, on one login: the browser session and its children it finishes.
	for _, c := range []struct {
		name              string
		mode              storage.BackchannelLogoutMode
		browser, children bool
	}{
		{"DoNothingOnlyReports", storage.LogoutDoNothing, false, false},
		{"BrowserOnlyFinishesBrowserSessions", storage.LogoutBrowserOnly, true, false},
		{"LogoutAllFinishesChildren", storage.LogoutAll, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, f)
			p := mustProvider(t, b.store, b.clock, c.mode)
			l := mustUpstreamLoginWithChildren(t, b, p, mustUser(t, b.store, b.clock), claims)
			b.clock.Advance(time.Hour)

			report, err := b.store.UpstreamOAuth().BackchannelLogout(b.ctx, b.clock, p, claims.Sub, claims.Sid)
			require.NoError(t, err)
			want := &storage.LogoutReport{UpstreamSessions: []ulid.ULID{l.upstream.ID}, UserSessions: []ulid.ULID{l.browser.ID}}
			var browserAt, childAt *time.Time
			if c.browser {
				want.FinishedUserSessions, browserAt = []ulid.ULID{l.browser.ID}, at(b.clock)
			}
			if c.children {
				want.FinishedCompatSessions, want.FinishedOAuth2Sessions, childAt = []ulid.ULID{l.compat.ID}, []ulid.ULID{l.oauth.ID}, at(b.clock)
			}
			requireReport(t, want, report)
			requireFinishedAt(t, b, l, browserAt, childAt, childAt)
		})
	}

	// Three logins: a (sub-1, sid-1), b (sub-1, sid-2), c (sub-2, sid-1).
	matching := func(t *testing.T) (bundle, *storage.UpstreamOAuthProvider, [3]upstreamLogin) {
		t.Helper()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		u := mustUser(t, b.store, b.clock)
		return b, p, [3]upstreamLogin{
			mustUpstreamLoginWithChildren(t, b, p, u, storage.IDTokenClaims{Sub: "sub-1", Sid: "sid-1"}),
			mustUpstreamLoginWithChildren(t, b, p, u, storage.IDTokenClaims{Sub: "sub-1", Sid: "sid-2"}),
			mustUpstreamLoginWithChildren(t, b, p, u, storage.IDTokenClaims{Sub: "sub-2", Sid: "sid-1"}),
		}
	}
	// reportOf is the logout_all report of logins, all live before.
	reportOf := func(logins ...upstreamLogin) *storage.LogoutReport {
		var r storage.LogoutReport
		for _, l := range logins {
			r.UpstreamSessions = append(r.UpstreamSessions, l.upstream.ID)
			r.UserSessions = append(r.UserSessions, l.browser.ID)
			r.FinishedCompatSessions = append(r.FinishedCompatSessions, l.compat.ID)
			r.FinishedOAuth2Sessions = append(r.FinishedOAuth2Sessions, l.oauth.ID)
		}
		r.UpstreamSessions = sortedIDs(r.UpstreamSessions...)
		r.UserSessions = sortedIDs(r.UserSessions...)
		r.FinishedUserSessions = r.UserSessions
		r.FinishedCompatSessions = sortedIDs(r.FinishedCompatSessions...)
		r.FinishedOAuth2Sessions = sortedIDs(r.FinishedOAuth2Sessions...)
		return &r
	}

	// Which of the three logins of matching a sub and a sid reach: those are
	// reported and finished, the others untouched.
	for _, c := range []struct {
		name     string
		sub, sid string
		reached  []int
		err      error
	}{
		{"MatchesBySubOnly", "sub-1", "", []int{0, 1}, nil},
		{"MatchesBySidOnly", "", "sid-1", []int{0, 2}, nil},
		{"MatchesBySubAndSid", "sub-1", "sid-1", []int{0}, nil},
		{"NeitherSubNorSidIsInvalidArgument", "", "", nil, storage.ErrInvalidArgument},
		{"NoMatchIsEmptyReport", "sub-1", "sid-9", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b, p, logins := matching(t)
			b.clock.Advance(time.Hour)

			report, err := b.store.UpstreamOAuth().BackchannelLogout(b.ctx, b.clock, p, c.sub, c.sid)
			if c.err != nil {
				require.ErrorIs(t, err, c.err)
			} else {
				require.NoError(t, err)
				var reached []upstreamLogin
				for _, i := range c.reached {
					reached = append(reached, logins[i])
				}
				requireReport(t, reportOf(reached...), report)
			}
			for i, l := range logins {
				if slices.Contains(c.reached, i) {
					requireFinishedAt(t, b, l, at(b.clock), at(b.clock), at(b.clock))
				} else {
					requireFinishedAt(t, b, l, nil, nil, nil)
				}
			}
		})
	}

	t.Run("UnknownProviderIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.UpstreamOAuth().BackchannelLogout(b.ctx, b.clock, &storage.UpstreamOAuthProvider{ID: unknownID(b.clock), OnBackchannelLogout: storage.LogoutAll}, "sub-1", "")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("OtherProvidersLoginsUntouched", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		q := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		u := mustUser(t, b.store, b.clock)
		mine := mustUpstreamLoginWithChildren(t, b, p, u, claims)
		theirs := mustUpstreamLoginWithChildren(t, b, q, u, claims)
		b.clock.Advance(time.Hour)

		report, err := b.store.UpstreamOAuth().BackchannelLogout(b.ctx, b.clock, p, claims.Sub, claims.Sid)
		require.NoError(t, err)
		requireReport(t, reportOf(mine), report)
		requireFinishedAt(t, b, theirs, nil, nil, nil)
	})

	t.Run("OtherBrowserSessionsOfTheUserUntouched", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		u := mustUser(t, b.store, b.clock)
		l := mustUpstreamLoginWithChildren(t, b, p, u, claims)
		browser := mustUserSession(t, b.store, b.clock, u)
		_, err := b.store.UserSessions().AuthenticateWithPassword(b.ctx, b.clock, browser, mustPassword(t, b.store, b.clock, u))
		require.NoError(t, err)
		other := upstreamLogin{
			browser: browser,
			compat:  mustCompatSession(t, b.store, b.clock, u, browser),
			oauth:   mustOAuth2Session(t, b.store, b.clock, mustClient(t, b.store, b.clock), u, browser),
		}
		b.clock.Advance(time.Hour)

		report, err := b.store.UpstreamOAuth().BackchannelLogout(b.ctx, b.clock, p, claims.Sub, "")
		require.NoError(t, err)
		requireReport(t, reportOf(l), report)
		requireFinishedAt(t, b, other, nil, nil, nil)
	})

	t.Run("FinishedBrowserSessionStillReachesChildren", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		l := mustUpstreamLoginWithChildren(t, b, p, mustUser(t, b.store, b.clock), claims)
		b.clock.Advance(time.Minute)
		finishedAt := at(b.clock)
		mustFinishUserSession(t, b.store, b.clock, l.browser)
		b.clock.Advance(time.Hour)

		report, err := b.store.UpstreamOAuth().BackchannelLogout(b.ctx, b.clock, p, claims.Sub, "")
		require.NoError(t, err)
		requireReport(t, &storage.LogoutReport{
			UpstreamSessions:       []ulid.ULID{l.upstream.ID},
			UserSessions:           []ulid.ULID{l.browser.ID},
			FinishedCompatSessions: []ulid.ULID{l.compat.ID},
			FinishedOAuth2Sessions: []ulid.ULID{l.oauth.ID},
		}, report)
		requireFinishedAt(t, b, l, finishedAt, at(b.clock), at(b.clock))
	})

	t.Run("AlreadyFinishedChildrenAreNotRepeated", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		l := mustUpstreamLoginWithChildren(t, b, p, mustUser(t, b.store, b.clock), claims)
		mustFinishCompatSession(t, b.store, b.clock, l.compat)
		mustFinishOAuth2Session(t, b.store, b.clock, l.oauth)
		b.clock.Advance(time.Hour)

		report, err := b.store.UpstreamOAuth().BackchannelLogout(b.ctx, b.clock, p, claims.Sub, "")
		require.NoError(t, err)
		requireReport(t, &storage.LogoutReport{
			UpstreamSessions:     []ulid.ULID{l.upstream.ID},
			UserSessions:         []ulid.ULID{l.browser.ID},
			FinishedUserSessions: []ulid.ULID{l.browser.ID},
		}, report)
		requireFinishedAt(t, b, l, at(b.clock), &Epoch, &Epoch)
	})

	t.Run("SecondLogoutFinishesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		l := mustUpstreamLoginWithChildren(t, b, p, mustUser(t, b.store, b.clock), claims)
		_, err := b.store.UpstreamOAuth().BackchannelLogout(b.ctx, b.clock, p, claims.Sub, "")
		require.NoError(t, err)
		b.clock.Advance(time.Hour)

		report, err := b.store.UpstreamOAuth().BackchannelLogout(b.ctx, b.clock, p, claims.Sub, "")
		require.NoError(t, err)
		requireReport(t, &storage.LogoutReport{
			UpstreamSessions: []ulid.ULID{l.upstream.ID},
			UserSessions:     []ulid.ULID{l.browser.ID},
		}, report)
		requireFinishedAt(t, b, l, &Epoch, &Epoch, &Epoch)
	})

	t.Run("UnusedAndIncompleteLoginsReachNoBrowserSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		link := mustLink(t, b.store, b.clock, p, mustUser(t, b.store, b.clock))
		unused := mustCompletedUpstreamSession(t, b.store, b.clock, p, link, claims)
		mustUpstreamSession(t, b.store, b.clock, p) // never came back: no claims

		report, err := b.store.UpstreamOAuth().BackchannelLogout(b.ctx, b.clock, p, claims.Sub, "")
		require.NoError(t, err)
		requireReport(t, &storage.LogoutReport{UpstreamSessions: []ulid.ULID{unused.ID}}, report)
	})

	t.Run("ReportsAreSortedByID", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		u := mustUser(t, b.store, b.clock)
		var logins []upstreamLogin
		var extraCompat, extraOAuth []ulid.ULID
		for i := range 6 {
			// Go back in time on every other login, so that creation order
			// and ID order differ between kinds.
			b.clock.Set(Epoch.Add(time.Duration(i%2*10-i) * time.Minute))
			l := mustUpstreamLoginWithChildren(t, b, p, u, storage.IDTokenClaims{Sub: "sub-1", Sid: unique("sid")})
			logins = append(logins, l)
			b.clock.Set(Epoch.Add(-time.Duration(i) * time.Hour))
			extraCompat = append(extraCompat, mustCompatSession(t, b.store, b.clock, u, l.browser).ID)
			extraOAuth = append(extraOAuth, mustOAuth2Session(t, b.store, b.clock, mustClient(t, b.store, b.clock), u, l.browser).ID)
		}
		want := reportOf(logins...)
		want.FinishedCompatSessions = sortedIDs(append(want.FinishedCompatSessions, extraCompat...)...)
		want.FinishedOAuth2Sessions = sortedIDs(append(want.FinishedOAuth2Sessions, extraOAuth...)...)
		b.clock.Set(Epoch.Add(time.Hour))

		report, err := b.store.UpstreamOAuth().BackchannelLogout(b.ctx, b.clock, p, "sub-1", "")
		require.NoError(t, err)
		requireReport(t, want, report)
	})
}
